//! The operators' validating webhooks, called by the server as a real one calls them: only once
//! their ValidatingWebhookConfiguration is stored, and failing the write (500, as the real
//! server does with `failurePolicy: Fail`) while no Available Deployment backs the webhook's
//! Service. A refusal is a 403 whose message is the webhook's own:
//! `admission webhook "vk8ssandracluster.kb.io" denied the request: …`.
//!
//! Checked: cass-operator's `vcassandradatacenter.kb.io` refuses a change of `spec.clusterName`
//! or `spec.datacenterName`; k8ssandra-operator's `vk8ssandracluster.kb.io` refuses a
//! `k8sContext` its control plane has not loaded, a datacenter without `storageConfig`
//! (neither its own nor the cluster's), adding and removing datacenters in one update, and a
//! change of `spec.cassandra.clusterName`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::controllers::{available, loaded_contexts};
use super::errors::KubeError;
use super::resources::ResourceType;
use super::server::State;

/// Reviews a create (`current` is `None`) or update of `object` in `cluster`.
pub(super) fn review(
    state: &State,
    cluster: &str,
    t: &ResourceType,
    current: Option<&Value>,
    object: &Value,
) -> Result<(), KubeError> {
    let (name, refusal) = if t.is("cassandra.datastax.com", "cassandradatacenters") {
        ("vcassandradatacenter.kb.io", current.and_then(|c| datacenter_update(c, object)))
    } else if t.is("k8ssandra.io", "k8ssandraclusters") {
        ("vk8ssandracluster.kb.io", k8ssandra_cluster(state, cluster, current, object))
    } else {
        return Ok(());
    };
    let Some(c) = state.clusters.get(cluster) else { return Ok(()) };
    let webhook = c
        .list("admissionregistration.k8s.io", "validatingwebhookconfigurations", None)
        .flat_map(|(_, config)| config["webhooks"].as_array().cloned().unwrap_or_default())
        .find(|w| w["name"] == name);
    let Some(webhook) = webhook else { return Ok(()) };
    let service = &webhook["clientConfig"]["service"];
    let (namespace, service_name) =
        (service["namespace"].as_str().unwrap_or_default(), service["name"].as_str().unwrap_or_default());
    let selector = c
        .list("", "services", Some(namespace))
        .find(|(k, _)| k.name == service_name)
        .and_then(|(_, s)| s["spec"]["selector"].as_object().cloned());
    let served = selector.is_some_and(|selector| {
        c.list("apps", "deployments", Some(namespace)).any(|(_, d)| {
            let labels = &d["spec"]["template"]["metadata"]["labels"];
            available(d) && selector.iter().all(|(k, v)| labels[k] == *v)
        })
    });
    if !served {
        let path = webhook["clientConfig"]["service"]["path"].as_str().unwrap_or_default();
        return Err(KubeError::new(
            500,
            "InternalError",
            format!(
                "Internal error occurred: failed calling webhook \"{name}\": failed to call webhook: Post \"https://{service_name}.{namespace}.svc:443{path}?timeout=10s\": no endpoints available for service \"{service_name}\""
            ),
        ));
    }
    match refusal {
        Some(message) => {
            Err(KubeError::forbidden(format!("admission webhook \"{name}\" denied the request: {message}")))
        }
        None => Ok(()),
    }
}

fn datacenter_update(current: &Value, object: &Value) -> Option<String> {
    let rejected = |action: &str| Some(format!("CassandraDatacenter write rejected, attempted to {action}"));
    if current["spec"]["clusterName"] != object["spec"]["clusterName"] {
        return rejected("change clusterName");
    }
    if current["spec"]["datacenterName"] != object["spec"]["datacenterName"] {
        return rejected("change datacenterName");
    }
    None
}

fn k8ssandra_cluster(state: &State, cluster: &str, current: Option<&Value>, object: &Value) -> Option<String> {
    let cassandra = &object["spec"]["cassandra"];
    let loaded = loaded_contexts(state, cluster);
    for dc in cassandra["datacenters"].as_array().into_iter().flatten() {
        let context = dc["k8sContext"].as_str().unwrap_or_default();
        if !context.is_empty() && !loaded.iter().any(|c| c == context) {
            return Some(format!(
                "unable to find k8sContext {context} from ClientConfigs: No known client for context-name {context}"
            ));
        }
        if dc["storageConfig"].is_null() && cassandra["storageConfig"].is_null() {
            return Some("storageConfig must be defined at cluster level or dc level".into());
        }
    }
    let current = current?;
    let names = |o: &Value| -> BTreeSet<String> {
        o["spec"]["cassandra"]["datacenters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|dc| dc["metadata"]["name"].as_str().map(str::to_string))
            .collect()
    };
    let (before, after) = (names(current), names(object));
    if !before.is_subset(&after) && !after.is_subset(&before) {
        return Some(
            "renaming, as well as adding and removing DCs at the same time is prohibited as it can cause data loss"
                .into(),
        );
    }
    if current["spec"]["cassandra"]["clusterName"] != cassandra["clusterName"] {
        return Some("cluster name can not be changed".into());
    }
    None
}
