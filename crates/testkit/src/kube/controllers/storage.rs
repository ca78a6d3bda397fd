//! Volumes: a PersistentVolumeClaim is Pending at once, and Bound after a provisioning delay
//! if its StorageClass (or the default one, when it names none) exists; with a class whose
//! binding mode is `WaitForFirstConsumer`, only once a Pod mounts the claim. A claim naming a
//! class that does not exist stays Pending forever, as on a real cluster (an EKS cluster has
//! no `gp3` class until someone makes one). Every existing class provisions: CSI drivers and
//! PersistentVolume objects are not modelled.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Controller, Plan, get, key, list, merge};
use crate::kube::server::State;
use crate::kube::store::ObjectKey;

/// Creating and attaching a cloud disk.
const PROVISION: Duration = Duration::from_secs(10);

pub(in crate::kube) struct Claims;

impl Controller for Claims {
    fn watches(&self, key: &ObjectKey) -> bool {
        key.group.is_empty() && key.plural == "persistentvolumeclaims"
    }

    fn plan(&self, state: &State, cluster: &str, at: &ObjectKey, object: &Value) -> Plan {
        match object["status"]["phase"].as_str() {
            Some("Bound") => return None,
            None => {
                return Some((Duration::ZERO, vec![merge(cluster, at, json!({ "status": { "phase": "Pending" } }))]));
            }
            Some(_) => {}
        }
        let class = class(state, cluster, object)?;
        let waits = class["volumeBindingMode"] == "WaitForFirstConsumer";
        if waits && !consumed(state, cluster, at) {
            return None;
        }
        let provisioner = class["provisioner"].clone();
        let bound = json!({
            "metadata": { "annotations": {
                "pv.kubernetes.io/bind-completed": "yes",
                "pv.kubernetes.io/bound-by-controller": "yes",
                "volume.kubernetes.io/storage-provisioner": provisioner,
            }},
            "spec": { "volumeName": format!("pvc-{}", object["metadata"]["uid"].as_str().unwrap_or_default()), "storageClassName": class["metadata"]["name"] },
            "status": {
                "phase": "Bound",
                "accessModes": object["spec"]["accessModes"],
                "capacity": { "storage": object["spec"]["resources"]["requests"]["storage"] },
            },
        });
        Some((PROVISION, vec![merge(cluster, at, bound)]))
    }
}

/// The claim's StorageClass: the one it names, else the default one.
fn class<'s>(state: &'s State, cluster: &str, claim: &Value) -> Option<&'s Value> {
    match claim["spec"]["storageClassName"].as_str() {
        Some(name) => get(state, cluster, &key("storage.k8s.io", "storageclasses", "", name)),
        None => list(state, cluster, "storage.k8s.io", "storageclasses", None)
            .into_iter()
            .map(|(_, c)| c)
            .find(|c| c["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"),
    }
}

/// Whether a Pod mounts the claim.
fn consumed(state: &State, cluster: &str, claim: &ObjectKey) -> bool {
    list(state, cluster, "", "pods", Some(&claim.namespace)).into_iter().any(|(_, pod)| {
        pod["spec"]["volumes"]
            .as_array()
            .is_some_and(|v| v.iter().any(|v| v["persistentVolumeClaim"]["claimName"] == claim.name.as_str()))
    })
}
