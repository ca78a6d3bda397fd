//! Simulated controllers: what a cluster (and the operators installed in it) does by itself
//! once a simulated delay, scaled by [`FakeKubeOptions::time_scale`](super::FakeKubeOptions),
//! has passed. Each controller looks at one object and the state around it (any cluster) and
//! plans the writes the real controller would make, and how long it would take. After every
//! write the state schedules each object whose controller has work to do; when that is due the
//! controller plans again and its writes are stored, as the API server would store them. The
//! state applies what is due, earliest first, before it answers anything, and watches wake when
//! the next one is due, so no client can tell that nothing ran in between. Controllers are
//! level-triggered: a plan is empty once the object is where the controller wants it, and a
//! plan is dropped if the object's generation changed since it was scheduled.
//!
//! Served: Deployments become Available once the Secrets and ConfigMaps their pods mount exist
//! (`tokens`: service-account token Secrets; `certificates`: cert-manager; `storage`: PVCs
//! and their volumes; `scheduler`: Pods onto Nodes; `disruption`: PodDisruptionBudgets'
//! status; `load_balancers`: the cloud's load balancers for Services of type LoadBalancer;
//! `cassandra`: cass-operator's CassandraDatacenters; `tasks`: its CassandraTasks;
//! `k8ssandra`: the k8ssandra-operator control plane's ClientConfigs and K8ssandraClusters).

mod cassandra;
mod certificates;
mod disruption;
mod k8ssandra;
mod load_balancers;
mod scheduler;
mod storage;
mod tasks;
mod tokens;

use std::time::Duration;

use serde_json::{Value, json};

use super::server::State;
use super::store::{Cluster, ObjectKey, now};

pub(super) use cassandra::{host_id, nodes_of};
pub(super) use disruption::{allowed_condition, budgets_of};
pub(super) use k8ssandra::loaded_contexts;
pub(super) use load_balancers::{move_load_balancer, resolve};
pub(super) use tokens::accepts;

/// What a controller stores: `object` merged into the stored one (JSON merge patch; created if
/// absent), a deletion as a client's (finalizers hold it), what a process read when it
/// started, the DNS record of a load balancer the cloud made, or what it did to Cassandra
/// through its nodes (those three kept by the server, not objects).
pub(super) enum Write {
    Merge { cluster: String, key: ObjectKey, object: Value },
    Delete { cluster: String, key: ObjectKey },
    Started { cluster: String, process: &'static str, read: Value },
    LoadBalancer { host: String, addresses: Vec<std::net::Ipv4Addr> },
    Cassandra(super::cassandra::Change),
}

/// How long the real controller takes, and what it writes then; `None` when it has nothing to do.
pub(super) type Plan = Option<(Duration, Vec<Write>)>;

pub(super) trait Controller: Sync {
    /// Whether this controller looks after objects stored under `key`.
    fn watches(&self, key: &ObjectKey) -> bool;
    /// What it would do about `object` (stored under `key` in `cluster`), given everything else.
    fn plan(&self, state: &State, cluster: &str, key: &ObjectKey, object: &Value) -> Plan;
}

pub(super) fn controller(key: &ObjectKey) -> Option<&'static dyn Controller> {
    const CONTROLLERS: &[&dyn Controller] = &[
        &Deployments,
        &tokens::Tokens,
        &certificates::Certificates,
        &certificates::Issuers,
        &storage::Claims,
        &storage::Volumes,
        &scheduler::Scheduler,
        &disruption::Budgets,
        &load_balancers::LoadBalancers,
        &cassandra::Datacenters,
        &tasks::Tasks,
        &k8ssandra::Clusters,
    ];
    CONTROLLERS.iter().copied().find(|c| c.watches(key))
}

/// About what a small Deployment takes to roll out on a real cluster.
const ROLLOUT: Duration = Duration::from_secs(10);
/// What a Deployment's pod takes to come back after its process exits.
const RESTART: Duration = Duration::from_secs(5);

struct Deployments;

impl Controller for Deployments {
    fn watches(&self, key: &ObjectKey) -> bool {
        key.group == "apps" && key.plural == "deployments"
    }

    fn plan(&self, state: &State, cluster: &str, key: &ObjectKey, object: &Value) -> Plan {
        if deleting(object) {
            return None;
        }
        let observed = object["status"]["observedGeneration"] == object["metadata"]["generation"];
        if observed && available(object) {
            // The k8ssandra control plane exits when its ClientConfigs change, to load them.
            let restart = k8ssandra::must_restart(state, cluster, object);
            return restart.then(|| (Duration::from_secs(1), vec![merge(cluster, key, unavailable(object))]));
        }
        if !mounts_exist(state, cluster, &key.namespace, object) {
            return None;
        }
        let mut writes = vec![merge(cluster, key, rolled_out(object))];
        if (key.namespace.as_str(), key.name.as_str()) == ("kube-system", "coredns") {
            writes.push(Write::Started {
                cluster: cluster.into(),
                process: "coredns",
                read: coredns_read(state.clusters.get(cluster)?),
            });
        }
        if k8ssandra::is_control_plane(object) {
            // It starts only if it can load every ClientConfig; otherwise it crash-loops.
            writes.extend(k8ssandra::load(state, cluster)?);
        }
        Some((if observed { RESTART } else { ROLLOUT }, writes))
    }
}

fn rolled_out(object: &Value) -> Value {
    let replicas = object["spec"]["replicas"].as_i64().unwrap_or(1);
    json!({ "status": {
        "observedGeneration": object["metadata"]["generation"],
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
        "unavailableReplicas": null,
        "conditions": [
            condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
            condition("Progressing", "True", "NewReplicaSetAvailable", "ReplicaSet has successfully progressed."),
        ],
    }})
}

fn unavailable(object: &Value) -> Value {
    let replicas = object["spec"]["replicas"].as_i64().unwrap_or(1);
    json!({ "status": {
        "readyReplicas": 0,
        "availableReplicas": 0,
        "unavailableReplicas": replicas,
        "conditions": [
            condition("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability."),
            condition("Progressing", "True", "NewReplicaSetAvailable", "ReplicaSet has successfully progressed."),
        ],
    }})
}

/// Whether every Secret and ConfigMap the pod template mounts (and does not mark optional)
/// exists: without them the pods never leave ContainerCreating.
fn mounts_exist(state: &State, cluster: &str, namespace: &str, object: &Value) -> bool {
    let volumes = object["spec"]["template"]["spec"]["volumes"].as_array().cloned().unwrap_or_default();
    volumes.iter().all(|v| {
        let (plural, source, name) = if v["secret"].is_object() {
            ("secrets", &v["secret"], &v["secret"]["secretName"])
        } else if v["configMap"].is_object() {
            ("configmaps", &v["configMap"], &v["configMap"]["name"])
        } else {
            return true;
        };
        source["optional"] == true
            || get(state, cluster, &key("", plural, namespace, name.as_str().unwrap_or_default())).is_some()
    })
}

/// What CoreDNS reads when it starts: the data of the `coredns` ConfigMap and, on AKS, of
/// `coredns-custom` (which it imports only then).
pub(super) fn coredns_read(cluster: &Cluster) -> Value {
    let mut read = serde_json::Map::new();
    for name in ["coredns", "coredns-custom"] {
        if let Some(map) = cluster.get(&key("", "configmaps", "kube-system", name)) {
            read.extend(map["data"].as_object().cloned().unwrap_or_default());
        }
    }
    Value::Object(read)
}

pub(super) fn key(group: &str, plural: &str, namespace: &str, name: &str) -> ObjectKey {
    ObjectKey { group: group.into(), plural: plural.into(), namespace: namespace.into(), name: name.into() }
}

pub(super) fn get<'s>(state: &'s State, cluster: &str, key: &ObjectKey) -> Option<&'s Value> {
    state.clusters.get(cluster)?.get(key)
}

/// The objects of one type in one cluster, in one namespace or all.
pub(super) fn list<'s>(
    state: &'s State,
    cluster: &str,
    group: &'s str,
    plural: &'s str,
    namespace: Option<&'s str>,
) -> Vec<(&'s ObjectKey, &'s Value)> {
    state.clusters.get(cluster).map(|c| c.list(group, plural, namespace).collect()).unwrap_or_default()
}

fn merge(cluster: &str, key: &ObjectKey, object: Value) -> Write {
    Write::Merge { cluster: cluster.into(), key: key.clone(), object }
}

pub(super) fn deleting(object: &Value) -> bool {
    !object["metadata"]["deletionTimestamp"].is_null()
}

/// Whether `object`'s conditions hold `kind` with status True.
pub(super) fn has_condition(object: &Value, kind: &str) -> bool {
    status_has_condition(&object["status"], kind)
}

/// Whether a status's conditions hold `kind` with status True.
pub(super) fn status_has_condition(status: &Value, kind: &str) -> bool {
    status["conditions"].as_array().is_some_and(|c| c.iter().any(|c| c["type"] == kind && c["status"] == "True"))
}

pub(super) fn available(deployment: &Value) -> bool {
    has_condition(deployment, "Available")
}

/// Whether some Deployment of `cluster` that `matches` is Available.
pub(super) fn deployment_available(state: &State, cluster: &str, matches: impl Fn(&ObjectKey, &Value) -> bool) -> bool {
    list(state, cluster, "apps", "deployments", None)
        .into_iter()
        .any(|(k, d)| matches(k, d) && available(d) && !deleting(d))
}

/// `conditions` (an object's list) with `condition` in place of the one of its type, or
/// added; when it keeps its status, it keeps when it last changed, as controllers do.
pub(super) fn set_condition(conditions: &Value, mut condition: Value) -> Value {
    let mut conditions = conditions.as_array().cloned().unwrap_or_default();
    match conditions.iter_mut().find(|c| c["type"] == condition["type"]) {
        Some(old) => {
            if old["status"] == condition["status"] {
                condition["lastTransitionTime"] = old["lastTransitionTime"].clone();
            }
            *old = condition;
        }
        None => conditions.push(condition),
    }
    Value::Array(conditions)
}

fn condition(kind: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({ "type": kind, "status": status, "reason": reason, "message": message, "lastUpdateTime": now(), "lastTransitionTime": now() })
}

/// The containers' environment variable `name` of a Deployment's pod template.
fn env<'v>(deployment: &'v Value, name: &str) -> Option<&'v str> {
    deployment["spec"]["template"]["spec"]["containers"]
        .as_array()?
        .iter()
        .flat_map(|c| c["env"].as_array().into_iter().flatten())
        .find(|e| e["name"] == name)?["value"]
        .as_str()
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A stable digest of a value, as hex (the operators hash specs to notice changes).
pub(super) fn digest(value: &Value) -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    value.to_string().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}
