//! The k8ssandra-operator control plane (a Deployment whose pods have
//! `K8SSANDRA_CONTROL_PLANE=true`). It reads ClientConfigs only when it starts: a start annotates
//! each with hashes of its spec and its kubeconfig Secret (`k8ssandra.io/resource-hash`,
//! `k8ssandra.io/secret-hash`) and fails — the Deployment stays unavailable — while one cannot be
//! loaded (Secret or its `kubeconfig` key missing, no context of the ClientConfig's name). A
//! running operator whose ClientConfigs differ from those hashes exits and starts again. The
//! loaded contexts are those whose ClientConfig carries the hashes.
//!
//! A K8ssandraCluster gets the operator's finalizer; then, for each datacenter in order, the
//! cluster its `k8sContext` names (empty: this one; otherwise the ClientConfig's kubeconfig,
//! whose server must be this fake server, `…/<cluster>`, and whose token that cluster accepts)
//! gets the superuser Secret (replicated; generated first when `superuserSecretRef` is not
//! given), the EndpointSlice of the other datacenters' seed pods, and the CassandraDatacenter;
//! the next datacenter waits until that one is Ready. `status.datacenters[dc]` mirrors each
//! datacenter's status; once all are Ready the `CassandraInitialized` condition is set and
//! `status.error` is `None`. Deleting it deletes its datacenters first. Not modelled: Reaper,
//! Medusa, Stargate, telemetry, system keyspace replication, the `config` translation.

use std::time::Duration;

use serde_json::{Value, json};

use super::cassandra::{self, CLUSTER_LABEL, DATACENTER_LABEL, SEED_LABEL, clean_label, cleanup};
use super::{
    Controller, Plan, Write, base64, deleting, deployment_available, digest, env, get, has_condition, key, list, merge,
};
use crate::kube::server::State;
use crate::kube::store::{ObjectKey, now};

pub(in crate::kube) const RESOURCE_HASH: &str = "k8ssandra.io/resource-hash";
pub(in crate::kube) const SECRET_HASH: &str = "k8ssandra.io/secret-hash";
const FINALIZER: &str = "k8ssandracluster.k8ssandra.io/finalizer";
const CONFIGS: (&str, &str) = ("config.k8ssandra.io", "clientconfigs");
/// How soon the operator's reconcile loop comes round again.
const REQUEUE: Duration = Duration::from_secs(2);

pub(in crate::kube) fn is_control_plane(deployment: &Value) -> bool {
    env(deployment, "K8SSANDRA_CONTROL_PLANE") == Some("true")
}

pub(in crate::kube) fn control_plane_available(state: &State, cluster: &str) -> bool {
    deployment_available(state, cluster, |_, d| is_control_plane(d))
}

/// The hashes a start records on a ClientConfig; `None` when its Secret does not exist.
fn hashes(state: &State, cluster: &str, config: &ObjectKey, object: &Value) -> Option<(String, String)> {
    let secret = get(
        state,
        cluster,
        &key("", "secrets", &config.namespace, object["spec"]["kubeConfigSecret"]["name"].as_str()?),
    )?;
    Some((digest(&object["spec"]), digest(&secret["data"])))
}

fn recorded(object: &Value) -> (Option<&str>, Option<&str>) {
    let annotations = &object["metadata"]["annotations"];
    (annotations[RESOURCE_HASH].as_str(), annotations[SECRET_HASH].as_str())
}

/// Whether a running control plane has ClientConfigs it did not load.
pub(in crate::kube) fn must_restart(state: &State, cluster: &str, deployment: &Value) -> bool {
    is_control_plane(deployment)
        && list(state, cluster, CONFIGS.0, CONFIGS.1, None).into_iter().any(|(k, o)| {
            let now = hashes(state, cluster, k, o);
            now.as_ref().map(|(a, b)| (Some(a.as_str()), Some(b.as_str()))) != Some(recorded(o))
        })
}

/// What a start writes (the hashes on every ClientConfig), or `None` when it fails.
pub(in crate::kube) fn load(state: &State, cluster: &str) -> Option<Vec<Write>> {
    let mut writes = Vec::new();
    for (k, object) in list(state, cluster, CONFIGS.0, CONFIGS.1, None) {
        let (spec_hash, secret_hash) = hashes(state, cluster, k, object)?;
        kubeconfig_context(state, cluster, k, object).ok()?;
        let annotations =
            json!({ "metadata": { "annotations": { RESOURCE_HASH: spec_hash, SECRET_HASH: secret_hash } } });
        writes.push(merge(cluster, k, annotations));
    }
    Some(writes)
}

fn context_name(config: &ObjectKey, object: &Value) -> String {
    object["spec"]["contextName"].as_str().filter(|c| !c.is_empty()).unwrap_or(&config.name).to_string()
}

/// The contexts the control plane of `cluster` loaded when it started.
pub(in crate::kube) fn loaded_contexts(state: &State, cluster: &str) -> Vec<String> {
    list(state, cluster, CONFIGS.0, CONFIGS.1, None)
        .into_iter()
        .filter(|(_, o)| recorded(o).0.is_some())
        .map(|(k, o)| context_name(k, o))
        .collect()
}

/// The (server URL, token) of the ClientConfig's context in its kubeconfig Secret.
fn kubeconfig_context(
    state: &State,
    cluster: &str,
    config: &ObjectKey,
    object: &Value,
) -> Result<(String, String), String> {
    let secret_name = object["spec"]["kubeConfigSecret"]["name"].as_str().unwrap_or_default();
    let secret = get(state, cluster, &key("", "secrets", &config.namespace, secret_name))
        .ok_or_else(|| format!("secrets \"{secret_name}\" not found"))?;
    let encoded = secret["data"]["kubeconfig"].as_str().ok_or("secret is missing required kubeconfig property")?;
    let text = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|e| e.to_string())?
    };
    let kubeconfig: Value = serde_yaml_ng::from_slice(&text).map_err(|e| e.to_string())?;
    let name = context_name(config, object);
    let named = |list: &str, name: &Value| {
        kubeconfig[list].as_array().and_then(|items| items.iter().find(|i| i["name"] == *name)).cloned()
    };
    let context = named("contexts", &name.clone().into())
        .ok_or_else(|| format!("context was not found for specified context: {name}"))?;
    let server =
        named("clusters", &context["context"]["cluster"]).map(|c| c["cluster"]["server"].clone()).unwrap_or_default();
    let token = named("users", &context["context"]["user"]).map(|u| u["user"]["token"].clone()).unwrap_or_default();
    Ok((server.as_str().unwrap_or_default().to_string(), token.as_str().unwrap_or_default().to_string()))
}

/// The cluster of this fake server a datacenter's `k8sContext` reaches from `cluster`.
fn target(state: &State, cluster: &str, context: &str) -> Result<String, String> {
    if context.is_empty() {
        return Ok(cluster.to_string());
    }
    let (config, object) = list(state, cluster, CONFIGS.0, CONFIGS.1, None)
        .into_iter()
        .find(|(k, o)| recorded(o).0.is_some() && context_name(k, o) == context)
        .ok_or_else(|| format!("No known client for context-name {context}"))?;
    let (server, token) = kubeconfig_context(state, cluster, config, object)?;
    let unreachable = || format!("k8sContext {context}: {server} is not reachable from the control plane");
    let rest = server.strip_prefix("https://").or_else(|| server.strip_prefix("http://")).ok_or_else(unreachable)?;
    let (host, path) = rest.split_once('/').ok_or_else(unreachable)?;
    let port = state.host.rsplit_once(':').map(|(_, p)| p).unwrap_or_default();
    if host != state.host && host != format!("localhost:{port}") {
        return Err(unreachable());
    }
    let target = path.trim_end_matches('/');
    let accepted =
        state.clusters.get(target).is_some_and(|c| token == state.token || super::tokens::accepts(c, &token));
    if accepted { Ok(target.to_string()) } else { Err(format!("k8sContext {context}: Unauthorized")) }
}

pub(in crate::kube) struct Clusters;

impl Controller for Clusters {
    fn watches(&self, key: &ObjectKey) -> bool {
        key.group == "k8ssandra.io" && key.plural == "k8ssandraclusters"
    }

    fn plan(&self, state: &State, cluster: &str, at: &ObjectKey, object: &Value) -> Plan {
        if !control_plane_available(state, cluster) {
            return None;
        }
        let writes =
            if deleting(object) { remove(state, cluster, at, object) } else { reconcile(state, cluster, at, object) };
        Some((REQUEUE, writes))
    }
}

/// The datacenters of the K8ssandraCluster: (name, namespace, k8sContext, template).
fn datacenters<'v>(at: &ObjectKey, object: &'v Value) -> Vec<(String, String, String, &'v Value)> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    object["spec"]["cassandra"]["datacenters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|dc| {
            let namespace = dc["metadata"]["namespace"].as_str().filter(|n| !n.is_empty()).unwrap_or(&at.namespace);
            (text(&dc["metadata"]["name"]), namespace.to_string(), text(&dc["k8sContext"]), dc)
        })
        .collect()
}

fn cluster_name(at: &ObjectKey, object: &Value) -> String {
    object["spec"]["cassandra"]["clusterName"].as_str().filter(|n| !n.is_empty()).unwrap_or(&at.name).to_string()
}

fn reconcile(state: &State, cluster: &str, at: &ObjectKey, object: &Value) -> Vec<Write> {
    let mut writes = Vec::new();
    let finalizers = object["metadata"]["finalizers"].as_array().cloned().unwrap_or_default();
    if !finalizers.iter().any(|f| f == FINALIZER) {
        let mut finalizers = finalizers;
        finalizers.push(FINALIZER.into());
        writes.push(merge(cluster, at, json!({ "metadata": { "finalizers": finalizers } })));
    }
    let cassandra = &object["spec"]["cassandra"];
    let name = cluster_name(at, object);
    let superuser = cassandra["superuserSecretRef"]["name"]
        .as_str()
        .map_or_else(|| format!("{}-superuser", cleanup(&name)), str::to_string);
    let source = key("", "secrets", &at.namespace, &superuser);
    let secret = match get(state, cluster, &source) {
        Some(secret) => secret.clone(),
        None if cassandra["superuserSecretRef"].is_null() => {
            let password: String = uuid::Uuid::new_v4().simple().to_string();
            let generated = json!({ "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": { "name": superuser, "namespace": at.namespace },
                "data": { "username": base64(superuser.as_bytes()), "password": base64(password.as_bytes()) } });
            writes.push(merge(cluster, &source, generated));
            return writes;
        }
        None => return status_error(writes, cluster, at, &format!("secrets \"{superuser}\" not found")),
    };
    let dcs = datacenters(at, object);
    let mut targets = Vec::new();
    for (_, _, context, _) in &dcs {
        match target(state, cluster, context) {
            Ok(target) => targets.push(target),
            Err(error) => return status_error(writes, cluster, at, &error),
        }
    }
    // The seed pods of every datacenter, found by label in each one's cluster.
    let seeds: Vec<(String, String)> = dcs
        .iter()
        .zip(&targets)
        .flat_map(|((dc, ns, _, _), target)| {
            list(state, target, "", "pods", Some(ns))
                .into_iter()
                .filter(|(_, p)| {
                    let labels = &p["metadata"]["labels"];
                    labels[CLUSTER_LABEL] == clean_label(&name).as_str()
                        && labels[DATACENTER_LABEL] == dc.as_str()
                        && labels[SEED_LABEL] == "true"
                })
                .filter_map(|(_, p)| Some((dc.clone(), p["status"]["podIP"].as_str()?.to_string())))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut statuses = object["status"]["datacenters"].as_object().cloned().unwrap_or_default();
    let mut all_ready = true;
    for (index, ((dc_name, ns, context, template), target)) in dcs.iter().zip(&targets).enumerate() {
        if get(state, target, &key("", "namespaces", "", ns)).is_none() {
            return status_error(writes, cluster, at, &format!("namespaces \"{ns}\" not found"));
        }
        let replica = key("", "secrets", ns, &superuser);
        if (target.as_str(), ns.as_str()) != (cluster, at.namespace.as_str()) {
            let copy = json!({ "apiVersion": "v1", "kind": "Secret", "type": secret["type"],
                "metadata": { "name": superuser, "namespace": ns, "labels": { "k8ssandra.io/cluster-name": at.name, "k8ssandra.io/cluster-namespace": at.namespace } },
                "data": secret["data"] });
            writes.push(merge(target, &replica, copy));
        }
        let mut desired = datacenter(at, object, &name, dc_name, ns, template, &superuser, index);
        let dc = cassandra::Datacenter::of(&key(cassandra::GROUP, "cassandradatacenters", ns, dc_name), &desired);
        let others: Vec<&str> = seeds.iter().filter(|(d, _)| d != dc_name).map(|(_, ip)| ip.as_str()).collect();
        if !others.is_empty() {
            let slice = format!("{}-{}-ipv4", at.name, dc.additional_seed_service());
            writes.push(merge(
                target,
                &key("discovery.k8s.io", "endpointslices", ns, &slice),
                json!({ "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                    "metadata": { "name": slice, "namespace": ns, "labels": {
                        CLUSTER_LABEL: clean_label(&name), DATACENTER_LABEL: clean_label(dc_name),
                        "kubernetes.io/service-name": dc.additional_seed_service(),
                        "endpointslice.kubernetes.io/managed-by": "k8ssandra-operator" } },
                    "addressType": "IPv4", "endpoints": [{ "addresses": others }] }),
            ));
        }
        let dc_key = key(cassandra::GROUP, "cassandradatacenters", ns, dc_name);
        if let Some(actual) = get(state, target, &dc_key) {
            // cass-operator's finalizer stays.
            let mut finalizers = actual["metadata"]["finalizers"].as_array().cloned().unwrap_or_default();
            if !finalizers.iter().any(|f| f == FINALIZER) {
                finalizers.push(FINALIZER.into());
            }
            desired["metadata"]["finalizers"] = finalizers.into();
        }
        // Created, or brought to the K8ssandraCluster's spec; the next one waits until it is Ready.
        writes.push(merge(target, &dc_key, desired));
        let Some(actual) = get(state, target, &dc_key) else {
            all_ready = false;
            break;
        };
        statuses.insert(dc_name.clone(), json!({ "contextName": context, "cassandra": actual["status"] }));
        if !(has_condition(actual, "Ready") && actual["status"]["cassandraOperatorProgress"] == "Ready") {
            all_ready = false;
            break;
        }
    }
    let mut status = json!({ "datacenters": statuses, "error": "None" });
    if all_ready {
        status["observedGeneration"] = object["metadata"]["generation"].clone();
        if !has_condition(object, "CassandraInitialized") {
            status["conditions"] =
                json!([{ "type": "CassandraInitialized", "status": "True", "lastTransitionTime": now() }]);
        }
    }
    writes.push(merge(cluster, at, json!({ "status": status })));
    writes
}

fn status_error(mut writes: Vec<Write>, cluster: &str, at: &ObjectKey, error: &str) -> Vec<Write> {
    writes.push(merge(cluster, at, json!({ "status": { "error": error } })));
    writes
}

/// The CassandraDatacenter k8ssandra-operator makes of one datacenter template.
#[allow(clippy::too_many_arguments)]
fn datacenter(
    at: &ObjectKey,
    object: &Value,
    cluster_name: &str,
    name: &str,
    namespace: &str,
    template: &Value,
    superuser: &str,
    index: usize,
) -> Value {
    let cassandra = &object["spec"]["cassandra"];
    let or_cluster =
        |field: &str| if template[field].is_null() { cassandra[field].clone() } else { template[field].clone() };
    let mut spec = json!({
        "clusterName": cluster_name,
        "serverType": cassandra["serverType"].as_str().unwrap_or("cassandra"),
        "serverVersion": or_cluster("serverVersion"),
        "size": template["size"],
        "racks": template["racks"],
        "storageConfig": or_cluster("storageConfig"),
        "superuserSecretName": superuser,
    });
    if let Some(name) = template["datacenterName"].as_str() {
        spec["datacenterName"] = name.into();
    }
    if let Some(seeds) = cassandra["additionalSeeds"].as_array() {
        spec["additionalSeeds"] = seeds.clone().into();
    }
    let mut annotations = json!({});
    if index > 0 {
        annotations["cassandra.datastax.com/skip-user-creation"] = "true".into();
    }
    json!({
        "apiVersion": "cassandra.datastax.com/v1beta1",
        "kind": "CassandraDatacenter",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": { "k8ssandra.io/cluster-name": at.name, "k8ssandra.io/cluster-namespace": at.namespace, "app.kubernetes.io/part-of": "k8ssandra" },
            "annotations": annotations,
            "finalizers": [FINALIZER],
        },
        "spec": spec,
    })
}

/// Deleting a K8ssandraCluster: its datacenters go first, then its finalizer.
fn remove(state: &State, cluster: &str, at: &ObjectKey, object: &Value) -> Vec<Write> {
    let mut writes = Vec::new();
    let mut remaining = false;
    for (dc, ns, context, _) in datacenters(at, object) {
        let Ok(target) = target(state, cluster, &context) else { continue };
        let dc_key = key(cassandra::GROUP, "cassandradatacenters", &ns, &dc);
        let Some(actual) = get(state, &target, &dc_key) else { continue };
        remaining = true;
        writes.push(Write::Delete { cluster: target.clone(), key: dc_key.clone() });
        // Its own finalizer goes at once; cass-operator's holds the datacenter until it is emptied.
        let mut finalizers = actual["metadata"]["finalizers"].as_array().cloned().unwrap_or_default();
        finalizers.retain(|f| f != FINALIZER);
        writes.push(merge(&target, &dc_key, json!({ "metadata": { "finalizers": finalizers } })));
    }
    if !remaining {
        let mut finalizers = object["metadata"]["finalizers"].as_array().cloned().unwrap_or_default();
        finalizers.retain(|f| f != FINALIZER);
        writes.push(merge(cluster, at, json!({ "metadata": { "finalizers": finalizers } })));
    }
    writes
}
