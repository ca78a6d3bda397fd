//! Volumes: a PersistentVolumeClaim is Pending at once, and Bound after a provisioning delay
//! if its StorageClass (or the default one, when it names none) exists; with a class whose
//! binding mode is `WaitForFirstConsumer`, only once a Pod mounts the claim — in a cluster
//! with Nodes, once the scheduler has picked the Pod's node and annotated the claim
//! `volume.kubernetes.io/selected-node` (see `scheduler.rs`). A claim naming a class that
//! does not exist stays Pending forever, as on a real cluster (an EKS cluster has no `gp3`
//! class until someone makes one). Every existing class provisions; CSI drivers are not
//! modelled.
//!
//! In a cluster with Nodes a cloud disk is zonal: the claim's PersistentVolume `pvc-<uid>`
//! (reclaim policy Delete, bound to the claim by `claimRef`) is made in the zone of the
//! selected node and says so in its `nodeAffinity` (`topology.kubernetes.io/zone In [zone]`),
//! which keeps every Pod mounting the claim in that zone; it goes once its claim is gone.
//! Simplified: an `Immediate` claim's disk is made in the first zone (by name) with a Ready
//! node, where a real provisioner picks any; the drivers' own topology keys
//! (`topology.ebs.csi.aws.com/zone`, `topology.disk.csi.azure.com/zone`) are not used. In a
//! cluster without Nodes no PersistentVolume objects are made.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Controller, Plan, Write, deleting, get, key, list, merge};
use crate::kube::nodes::{self, ZONE_LABEL};
use crate::kube::server::State;
use crate::kube::store::ObjectKey;

/// Creating and attaching a cloud disk, or deleting one.
const PROVISION: Duration = Duration::from_secs(10);
/// What the scheduler writes on a claim it waits for: the node the Pod will run on.
pub(in crate::kube) const SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";

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
        let waits = waits_for_consumer(class);
        if nodes::of(state, cluster).is_empty() {
            if waits && !consumed(state, cluster, at) {
                return None;
            }
            return Some((PROVISION, vec![merge(cluster, at, bound(object, class))]));
        }
        let zone = if waits { selected_zone(state, cluster, object)? } else { first_zone(state, cluster)? };
        let volume = volume_name(object);
        let disk = merge(cluster, &key("", "persistentvolumes", "", &volume), zonal_volume(at, object, class, &zone));
        Some((PROVISION, vec![merge(cluster, at, bound(object, class)), disk]))
    }
}

/// A claim's PersistentVolume as the claim names it once bound.
fn volume_name(claim: &Value) -> String {
    format!("pvc-{}", claim["metadata"]["uid"].as_str().unwrap_or_default())
}

/// What binding writes on a claim.
fn bound(claim: &Value, class: &Value) -> Value {
    json!({
        "metadata": { "annotations": {
            "pv.kubernetes.io/bind-completed": "yes",
            "pv.kubernetes.io/bound-by-controller": "yes",
            "volume.kubernetes.io/storage-provisioner": class["provisioner"],
        }},
        "spec": { "volumeName": volume_name(claim), "storageClassName": class["metadata"]["name"] },
        "status": {
            "phase": "Bound",
            "accessModes": claim["spec"]["accessModes"],
            "capacity": { "storage": claim["spec"]["resources"]["requests"]["storage"] },
        },
    })
}

/// The PersistentVolume a CSI provisioner makes for a claim: a disk in `zone`.
fn zonal_volume(at: &ObjectKey, claim: &Value, class: &Value, zone: &str) -> Value {
    let term = json!({ "matchExpressions": [{ "key": ZONE_LABEL, "operator": "In", "values": [zone] }] });
    json!({
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": { "name": volume_name(claim), "annotations": { "pv.kubernetes.io/provisioned-by": class["provisioner"] } },
        "spec": {
            "capacity": { "storage": claim["spec"]["resources"]["requests"]["storage"] },
            "accessModes": claim["spec"]["accessModes"],
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": class["metadata"]["name"],
            "claimRef": { "apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": at.namespace, "name": at.name, "uid": claim["metadata"]["uid"] },
            "nodeAffinity": { "required": { "nodeSelectorTerms": [term] } },
        },
        "status": { "phase": "Bound" },
    })
}

pub(in crate::kube) fn waits_for_consumer(class: &Value) -> bool {
    class["volumeBindingMode"] == "WaitForFirstConsumer"
}

/// The zone of the node the scheduler selected for the claim's first consumer, once it has.
fn selected_zone(state: &State, cluster: &str, claim: &Value) -> Option<String> {
    let node = get(state, cluster, &nodes::key(claim["metadata"]["annotations"][SELECTED_NODE].as_str()?))?;
    node["metadata"]["labels"][ZONE_LABEL].as_str().map(str::to_string)
}

/// The first zone, by name, with a Ready node.
fn first_zone(state: &State, cluster: &str) -> Option<String> {
    let ready = nodes::of(state, cluster).into_iter().filter(|n| nodes::ready(n));
    ready.filter_map(|n| n["metadata"]["labels"][ZONE_LABEL].as_str().map(str::to_string)).min()
}

/// Disks whose claim is gone are deleted with their PersistentVolume (reclaim policy Delete).
pub(in crate::kube) struct Volumes;

impl Controller for Volumes {
    fn watches(&self, key: &ObjectKey) -> bool {
        key.group.is_empty() && key.plural == "persistentvolumes"
    }

    fn plan(&self, state: &State, cluster: &str, at: &ObjectKey, volume: &Value) -> Plan {
        let claim_ref = &volume["spec"]["claimRef"];
        let claim_key =
            key("", "persistentvolumeclaims", claim_ref["namespace"].as_str()?, claim_ref["name"].as_str()?);
        let claimed = get(state, cluster, &claim_key).is_some_and(|c| c["metadata"]["uid"] == claim_ref["uid"]);
        let released = !claimed && !deleting(volume) && volume["spec"]["persistentVolumeReclaimPolicy"] == "Delete";
        released.then(|| (PROVISION, vec![Write::Delete { cluster: cluster.into(), key: at.clone() }]))
    }
}

/// The claim's StorageClass: the one it names, else the default one.
pub(in crate::kube) fn class<'s>(state: &'s State, cluster: &str, claim: &Value) -> Option<&'s Value> {
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
