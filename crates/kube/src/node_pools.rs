//! `cassandra_node_pool`: a cluster's Cassandra pods run on its current node pool. When the
//! pool is replaced (another instance type is another pool, made before the old one goes), the
//! pods move over one at a time, rack by rack: the old pool's nodes are cordoned, a pod is
//! evicted (the eviction API, so the datacenter's PodDisruptionBudget has its say), its
//! StatefulSet makes it again on a new node in its zone, where its volume is, and the next one
//! goes only once it is Ready and Up/Normal again. No moment has more than one node of a
//! datacenter down. It is no object of its own: applying it moves what is not yet moved, so
//! a rerun after a kill carries on.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{EvictParams, Patch, PatchParams};
use ringform_core::provider::{Applied, ProviderError};
use ringform_core::{Address, Attributes, Inputs};
use serde_json::Value;

use crate::cluster::{Cluster, ObjectRef};
use crate::error::{KubeResult, api_error};
use crate::management::Node;
use crate::settings::KubeSettings;
use crate::wait;

/// How long a Cassandra node takes to start again on a new machine with its volume.
const RESTART_WAIT: Duration = Duration::from_secs(20 * 60);
/// How often gossip is asked whether the datacenter is all Up/Normal again.
const ASK_EVERY: Duration = Duration::from_secs(5);
/// cass-operator's labels on Cassandra pods.
const CLUSTER_LABEL: &str = "cassandra.datastax.com/cluster";
const DATACENTER_LABEL: &str = "cassandra.datastax.com/datacenter";
const RACK_LABEL: &str = "cassandra.datastax.com/rack";

/// Moves every Cassandra pod not on a node of pool `pool` (nodes labelled `pool_label`) there.
pub async fn apply(
    cluster: &Cluster,
    settings: &KubeSettings,
    address: &Address,
    inputs: &Attributes,
) -> KubeResult<Applied> {
    let inputs = Inputs::new(address, inputs);
    let (label, pool) = (inputs.str("pool_label")?, inputs.str("pool")?);
    let nodes = cluster.list("v1", "Node", None, "").await?;
    let pool_of = |node: &str| -> Option<&str> {
        let found = nodes.iter().find(|n| n["metadata"]["name"] == node)?;
        found["metadata"]["labels"][label].as_str()
    };
    let pods = cluster.list("v1", "Pod", None, CLUSTER_LABEL).await?;
    let stranded: Vec<&Value> = pods
        .iter()
        .filter(|p| p["spec"]["nodeName"].as_str().is_some_and(|node| pool_of(node) != Some(pool)))
        .collect();
    if !stranded.is_empty() {
        cordon_others(cluster, &nodes, label, pool).await?;
        for pod in by_rack(&stranded) {
            move_one(cluster, settings, pod, label, pool).await?;
        }
    }
    let id = format!("node-pool/{pool}");
    Ok(Applied { provider_id: id.clone(), outputs: [("id".to_owned(), id.into())].into() })
}

/// The pods rack by rack (datacenter, rack, name), so a rack's nodes move together.
fn by_rack<'a>(pods: &[&'a Value]) -> Vec<&'a Value> {
    let mut sorted: BTreeMap<(String, String, String), &Value> = BTreeMap::new();
    for pod in pods {
        let labels = &pod["metadata"]["labels"];
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        sorted
            .insert((text(&labels[DATACENTER_LABEL]), text(&labels[RACK_LABEL]), text(&pod["metadata"]["name"])), pod);
    }
    sorted.into_values().collect()
}

/// Marks every node outside `pool` unschedulable (`kubectl cordon`): what leaves them lands on
/// the new pool.
async fn cordon_others(cluster: &Cluster, nodes: &[Value], label: &str, pool: &str) -> KubeResult<()> {
    let api: Api<k8s_openapi::api::core::v1::Node> = Api::all(cluster.client().clone());
    for node in nodes.iter().filter(|n| n["metadata"]["labels"][label].as_str() != Some(pool)) {
        if node["spec"]["unschedulable"] == true {
            continue;
        }
        let name = node["metadata"]["name"].as_str().unwrap_or_default();
        let patch = serde_json::json!({"spec": {"unschedulable": true}});
        api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| api_error(format!("cluster {}: cordoning node {name}", cluster.name), e))?;
    }
    Ok(())
}

/// Evicts `pod` and waits until it runs again, Ready, on a node of `pool`, and Cassandra there
/// is Up/Normal.
async fn move_one(cluster: &Cluster, settings: &KubeSettings, pod: &Value, label: &str, pool: &str) -> KubeResult<()> {
    let target = ObjectRef::of(pod)?;
    let namespace = target.namespace.clone().unwrap_or_default();
    // Read before evicting: with no new node to go to, the pod would only be taken down.
    let nodes: Vec<String> = cluster
        .list("v1", "Node", None, &format!("{label}={pool}"))
        .await?
        .iter()
        .filter_map(|n| n["metadata"]["name"].as_str().map(str::to_owned))
        .collect();
    if nodes.is_empty() {
        return Err(ProviderError::retryable(format!(
            "cluster {}: no node of pool {pool} has joined the cluster yet",
            cluster.name
        )));
    }
    let api: Api<Pod> = Api::namespaced(cluster.client().clone(), &namespace);
    // 429: the disruption budget does not allow it now (another node is down); retried.
    let what = format!("cluster {}: evicting {target}", cluster.name);
    api.evict(&target.name, &EvictParams::default()).await.map_err(|e| api_error(&what, e))?;
    let old_uid = pod["metadata"]["uid"].clone();
    let on_new_pool = move |p: &Value| {
        p["metadata"]["uid"] != old_uid
            && p["spec"]["nodeName"].as_str().is_some_and(|n| nodes.iter().any(|m| m == n))
            && wait::has_condition(p, "Ready")
    };
    let what = format!("run again, Ready, on a node of pool {pool}");
    wait::until(cluster, &target, &what, on_new_pool, settings.timeout(RESTART_WAIT)).await?;
    let datacenter = pod["metadata"]["labels"][DATACENTER_LABEL].as_str().unwrap_or_default();
    up_normal(cluster, settings, &namespace, datacenter, &target.name).await
}

/// Waits until every node of the datacenter is Up/Normal as one of its pods sees it. Gossip
/// has no watch: it is asked again every few seconds, as cass-operator asks it.
async fn up_normal(
    cluster: &Cluster,
    settings: &KubeSettings,
    namespace: &str,
    datacenter: &str,
    pod: &str,
) -> KubeResult<()> {
    let deadline = tokio::time::Instant::now() + settings.timeout(RESTART_WAIT);
    loop {
        let down = match Node::of(cluster, namespace, datacenter).await {
            Ok(node) => not_up_normal(&node.endpoints().await?, datacenter),
            Err(_) => vec!["(no node Ready to ask)".to_owned()],
        };
        if down.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(ProviderError::retryable(format!(
                "cluster {}: after moving {pod}, datacenter {datacenter} still has nodes not Up/Normal: {}",
                cluster.name,
                down.join(", ")
            ))
            .with_hint(format!(
                "see `ringform status`, and `kubectl --context {} -n {namespace} get pods -o wide`",
                cluster.name
            )));
        }
        tokio::time::sleep(settings.timeout(ASK_EVERY)).await;
    }
}

/// The addresses of the datacenter's nodes that gossip does not show alive and NORMAL.
fn not_up_normal(endpoints: &Value, datacenter: &str) -> Vec<String> {
    let states = endpoints["entity"].as_array().into_iter().flatten().filter(|s| s["DC"] == datacenter);
    states
        .filter(|s| !(s["IS_ALIVE"] == "true" && s["STATUS"].as_str().is_some_and(|t| t.starts_with("NORMAL"))))
        .filter_map(|s| s["ENDPOINT_IP"].as_str().map(str::to_owned))
        .collect()
}
