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
//! the next datacenter waits until that one is Ready and done with. Every datacenter runs with
//! `-Dcassandra.allow_alter_rf_during_range_movement=true`; the first also with
//! `-Dcassandra.system_distributed_replication=<dc>:<min(3, size)>`, which makes the Management
//! API agent create the system keyspaces so (recorded in the annotation
//! `k8ssandra.io/initial-system-replication`, `{"dc1":3}`). Once a datacenter is Ready the
//! operator sets keyspaces' replication through its nodes (`k8ssandra/schemas.rs`) and
//! rebuilds it if it was added to a running cluster (`k8ssandra/rebuild.rs`); a datacenter taken
//! out of the spec is decommissioned and deleted first (`k8ssandra/cleanup.rs`).
//! `status.datacenters[dc]` mirrors each datacenter's status; once every datacenter is done
//! with, the `CassandraInitialized` condition is set; `status.error` is the round's error, else
//! `None`. Deleting the K8ssandraCluster deletes its datacenters first (without decommission).
//! Not modelled: Reaper, Medusa, Stargate, telemetry, the `config` translation, the
//! `k8ssandra.io/autoupdate-spec` gate (datacenters are always brought to the spec), schema
//! agreement (always agreed).

mod cleanup;
mod rebuild;
mod schemas;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::cassandra::{self, CLUSTER_LABEL, DATACENTER_LABEL, SEED_LABEL, clean_label, cleanup};
use super::{
    Controller, Plan, Write, base64, deleting, deployment_available, digest, env, get, has_condition, key, list, merge,
    status_has_condition,
};
use crate::kube::server::State;
use crate::kube::store::{ObjectKey, now};

pub(in crate::kube) const RESOURCE_HASH: &str = "k8ssandra.io/resource-hash";
pub(in crate::kube) const SECRET_HASH: &str = "k8ssandra.io/secret-hash";
const FINALIZER: &str = "k8ssandracluster.k8ssandra.io/finalizer";
const INITIAL_SYSTEM_REPLICATION: &str = "k8ssandra.io/initial-system-replication";
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
        let writes = if deleting(object) {
            remove(state, cluster, at, object)
        } else {
            Round::new(state, cluster, at, object).reconcile()
        };
        Some((REQUEUE, writes))
    }
}

/// One datacenter of a K8ssandraCluster's spec.
struct Dc<'v> {
    /// The CassandraDatacenter's name.
    name: String,
    namespace: String,
    context: String,
    template: &'v Value,
}

impl Dc<'_> {
    /// Cassandra's name for it (`CassDcName`): `datacenterName`, else the object's name.
    fn cassandra_name(&self) -> String {
        self.template["datacenterName"].as_str().filter(|n| !n.is_empty()).unwrap_or(&self.name).to_string()
    }

    fn size(&self) -> u64 {
        self.template["size"].as_u64().unwrap_or(0)
    }

    fn key(&self) -> ObjectKey {
        key(cassandra::GROUP, "cassandradatacenters", &self.namespace, &self.name)
    }
}

/// The datacenters of the K8ssandraCluster, in its order.
fn datacenters<'v>(at: &ObjectKey, object: &'v Value) -> Vec<Dc<'v>> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    object["spec"]["cassandra"]["datacenters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|dc| {
            let namespace = dc["metadata"]["namespace"].as_str().filter(|n| !n.is_empty()).unwrap_or(&at.namespace);
            Dc {
                name: text(&dc["metadata"]["name"]),
                namespace: namespace.to_string(),
                context: text(&dc["k8sContext"]),
                template: dc,
            }
        })
        .collect()
}

fn cluster_name(at: &ObjectKey, object: &Value) -> String {
    object["spec"]["cassandra"]["clusterName"].as_str().filter(|n| !n.is_empty()).unwrap_or(&at.name).to_string()
}

/// Whether a reconcile goes on to the next step or stops here (to be requeued).
#[derive(PartialEq, Eq)]
enum Flow {
    Next,
    Stop,
}

/// One reconcile of a K8ssandraCluster (k8ssandracluster_controller.go `reconcile`, then its
/// status patch): the writes it makes and the status it leaves.
struct Round<'a> {
    state: &'a State,
    cluster: &'a str,
    at: &'a ObjectKey,
    object: &'a Value,
    writes: Vec<Write>,
    /// `status.datacenters` as the round leaves it; `null` deletes an entry.
    statuses: Map<String, Value>,
    /// The annotations the round sets; `null` removes one.
    annotations: Map<String, Value>,
}

impl<'a> Round<'a> {
    fn new(state: &'a State, cluster: &'a str, at: &'a ObjectKey, object: &'a Value) -> Round<'a> {
        let statuses = object["status"]["datacenters"].as_object().cloned().unwrap_or_default();
        Round { state, cluster, at, object, writes: Vec::new(), statuses, annotations: Map::new() }
    }

    fn reconcile(mut self) -> Vec<Write> {
        let finalizers = self.object["metadata"]["finalizers"].as_array().cloned().unwrap_or_default();
        if !finalizers.iter().any(|f| f == FINALIZER) {
            let mut finalizers = finalizers;
            finalizers.push(FINALIZER.into());
            self.writes.push(merge(self.cluster, self.at, json!({ "metadata": { "finalizers": finalizers } })));
        }
        let outcome = self.datacenters();
        self.finish(outcome)
    }

    /// `reconcileDatacenters`: `Ok(true)` once every datacenter is reconciled.
    fn datacenters(&mut self) -> Result<bool, String> {
        let Some(superuser) = self.superuser()? else { return Ok(false) };
        let dcs = datacenters(self.at, self.object);
        let targets =
            dcs.iter().map(|dc| target(self.state, self.cluster, &dc.context)).collect::<Result<Vec<_>, _>>()?;
        if cleanup::check_deletion(self, &dcs)? == Flow::Stop {
            return Ok(false);
        }
        let system = self.initial_system_replication(&dcs);
        let seeds = self.seeds(&dcs, &targets);
        for (index, target) in targets.iter().enumerate() {
            if self.datacenter(&dcs, index, target, &superuser, &system, &seeds)? == Flow::Stop {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The superuser Secret's name and content; `None` when it was just generated.
    fn superuser(&mut self) -> Result<Option<(String, Value)>, String> {
        let cassandra = &self.object["spec"]["cassandra"];
        let name = cluster_name(self.at, self.object);
        let superuser = cassandra["superuserSecretRef"]["name"]
            .as_str()
            .map_or_else(|| format!("{}-superuser", cleanup(&name)), str::to_string);
        let source = key("", "secrets", &self.at.namespace, &superuser);
        match get(self.state, self.cluster, &source) {
            Some(secret) => Ok(Some((superuser, secret.clone()))),
            None if cassandra["superuserSecretRef"].is_null() => {
                let password: String = uuid::Uuid::new_v4().simple().to_string();
                let generated = json!({ "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                    "metadata": { "name": superuser, "namespace": self.at.namespace },
                    "data": { "username": base64(superuser.as_bytes()), "password": base64(password.as_bytes()) } });
                self.writes.push(merge(self.cluster, &source, generated));
                Ok(None)
            }
            None => Err(format!("secrets \"{superuser}\" not found")),
        }
    }

    /// `checkInitialSystemReplication`: the first datacenter's system keyspaces' replication,
    /// kept in an annotation once computed (only the first datacenter: Cassandra 4.1 writes the
    /// superuser with EACH_QUORUM, so no datacenter may be named before it exists).
    fn initial_system_replication(&mut self, dcs: &[Dc<'_>]) -> BTreeMap<String, u32> {
        let recorded = self.object["metadata"]["annotations"][INITIAL_SYSTEM_REPLICATION].as_str();
        if let Some(replication) = recorded.and_then(|r| serde_json::from_str(r).ok()) {
            return replication;
        }
        let replication = replication_of(dcs.iter().take(1));
        self.annotations.insert(INITIAL_SYSTEM_REPLICATION.into(), json!(replication).to_string().into());
        replication
    }

    /// The seed pods of every datacenter, found by label in each one's cluster: (dc, address).
    fn seeds(&self, dcs: &[Dc<'_>], targets: &[String]) -> Vec<(String, String)> {
        let name = cluster_name(self.at, self.object);
        dcs.iter()
            .zip(targets)
            .flat_map(|(dc, target)| {
                list(self.state, target, "", "pods", Some(&dc.namespace))
                    .into_iter()
                    .filter(|(_, p)| {
                        let labels = &p["metadata"]["labels"];
                        labels[CLUSTER_LABEL] == clean_label(&name).as_str()
                            && labels[DATACENTER_LABEL] == dc.name.as_str()
                            && labels[SEED_LABEL] == "true"
                    })
                    .filter_map(|(_, p)| Some((dc.name.clone(), p["status"]["podIP"].as_str()?.to_string())))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// One datacenter: its Secret and seeds, the CassandraDatacenter made or brought to spec;
    /// once it is Ready, its keyspaces' replication and, if it was added, its rebuild. The next
    /// datacenter waits for all that.
    fn datacenter(
        &mut self,
        dcs: &[Dc<'_>],
        index: usize,
        target: &str,
        (superuser, secret): &(String, Value),
        system: &BTreeMap<String, u32>,
        seeds: &[(String, String)],
    ) -> Result<Flow, String> {
        let dc = &dcs[index];
        let ns = dc.namespace.as_str();
        if get(self.state, target, &key("", "namespaces", "", ns)).is_none() {
            return Err(format!("namespaces \"{ns}\" not found"));
        }
        if (target, ns) != (self.cluster, self.at.namespace.as_str()) {
            let copy = json!({ "apiVersion": "v1", "kind": "Secret", "type": secret["type"],
                "metadata": { "name": superuser, "namespace": ns, "labels": { "k8ssandra.io/cluster-name": self.at.name, "k8ssandra.io/cluster-namespace": self.at.namespace } },
                "data": secret["data"] });
            self.writes.push(merge(target, &key("", "secrets", ns, superuser), copy));
        }
        let mut desired = self.desired_datacenter(dc, superuser, (index == 0).then_some(system));
        self.seed_slice(dc, target, seeds, &desired);
        rebuild::mark_if_added(self, dc);
        let dc_key = dc.key();
        if let Some(actual) = get(self.state, target, &dc_key) {
            // cass-operator's finalizer stays.
            let mut finalizers = actual["metadata"]["finalizers"].as_array().cloned().unwrap_or_default();
            if !finalizers.iter().any(|f| f == FINALIZER) {
                finalizers.push(FINALIZER.into());
            }
            desired["metadata"]["finalizers"] = finalizers.into();
        }
        // Created, or brought to the K8ssandraCluster's spec.
        self.writes.push(merge(target, &dc_key, desired));
        let Some(actual) = get(self.state, target, &dc_key) else { return Ok(Flow::Stop) };
        self.statuses.insert(dc.name.clone(), json!({ "contextName": dc.context, "cassandra": actual["status"] }));
        let ready = has_condition(actual, "Ready") && actual["status"]["cassandraOperatorProgress"] == "Ready";
        if !ready || actual["metadata"]["generation"] != actual["status"]["observedGeneration"] {
            return Ok(Flow::Stop);
        }
        if schemas::check(self, dcs, dc, target)? == Flow::Stop {
            return Ok(Flow::Stop);
        }
        if self.annotation(rebuild::REBUILD_DC) == Some(dc.name.as_str()) {
            return rebuild::reconcile(self, dcs, dc, target, actual);
        }
        Ok(Flow::Next)
    }

    /// The EndpointSlice of the other datacenters' seeds, for this one's additional seeds.
    fn seed_slice(&mut self, dc: &Dc<'_>, target: &str, seeds: &[(String, String)], desired: &Value) {
        let others: Vec<&str> = seeds.iter().filter(|(d, _)| *d != dc.name).map(|(_, ip)| ip.as_str()).collect();
        if others.is_empty() {
            return;
        }
        let name = cluster_name(self.at, self.object);
        let service = cassandra::Datacenter::of(&dc.key(), desired).additional_seed_service();
        let slice = format!("{}-{service}-ipv4", self.at.name);
        self.writes.push(merge(
            target,
            &key("discovery.k8s.io", "endpointslices", &dc.namespace, &slice),
            json!({ "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": { "name": slice, "namespace": dc.namespace, "labels": {
                    CLUSTER_LABEL: clean_label(&name), DATACENTER_LABEL: clean_label(&dc.name),
                    "kubernetes.io/service-name": service,
                    "endpointslice.kubernetes.io/managed-by": "k8ssandra-operator" } },
                "addressType": "IPv4", "endpoints": [{ "addresses": others }] }),
        ));
    }

    /// The CassandraDatacenter k8ssandra-operator makes of one datacenter template: the first
    /// (`system`: its system keyspaces' replication) creates the system keyspaces, the others
    /// skip user creation.
    fn desired_datacenter(&self, dc: &Dc<'_>, superuser: &str, system: Option<&BTreeMap<String, u32>>) -> Value {
        let cassandra = &self.object["spec"]["cassandra"];
        let template = dc.template;
        let or_cluster =
            |field: &str| if template[field].is_null() { cassandra[field].clone() } else { template[field].clone() };
        let mut spec = json!({
            "clusterName": cluster_name(self.at, self.object),
            "serverType": cassandra["serverType"].as_str().unwrap_or("cassandra"),
            "serverVersion": or_cluster("serverVersion"),
            "size": template["size"],
            "racks": template["racks"],
            "storageConfig": or_cluster("storageConfig"),
            "superuserSecretName": superuser,
            "config": { "cassandra-env-sh": { "additional-jvm-opts": jvm_options(system) } },
        });
        if let Some(name) = template["datacenterName"].as_str() {
            spec["datacenterName"] = name.into();
        }
        if let Some(seeds) = cassandra["additionalSeeds"].as_array() {
            spec["additionalSeeds"] = seeds.clone().into();
        }
        let mut annotations = json!({});
        if system.is_none() {
            annotations["cassandra.datastax.com/skip-user-creation"] = "true".into();
        }
        json!({
            "apiVersion": "cassandra.datastax.com/v1beta1",
            "kind": "CassandraDatacenter",
            "metadata": {
                "name": dc.name,
                "namespace": dc.namespace,
                "labels": { "k8ssandra.io/cluster-name": self.at.name, "k8ssandra.io/cluster-namespace": self.at.namespace, "app.kubernetes.io/part-of": "k8ssandra" },
                "annotations": annotations,
                "finalizers": [FINALIZER],
            },
            "spec": spec,
        })
    }

    /// An annotation of the K8ssandraCluster as this round leaves it.
    fn annotation(&self, name: &str) -> Option<&str> {
        match self.annotations.get(name) {
            Some(set) => set.as_str(),
            None => self.object["metadata"]["annotations"][name].as_str(),
        }
    }

    /// The status of a datacenter as this round leaves it, if it has one.
    fn status(&self, dc: &str) -> Option<&Value> {
        self.statuses.get(dc).filter(|s| !s.is_null())
    }

    /// The spec's datacenters whose CassandraDatacenter has been Initialized
    /// (`GetInitializedDatacenters`).
    fn initialized<'d, 'v>(&self, dcs: &'d [Dc<'v>]) -> impl Iterator<Item = &'d Dc<'v>> {
        let initialized: Vec<bool> = dcs
            .iter()
            .map(|dc| self.status(&dc.name).is_some_and(|s| status_has_condition(&s["cassandra"], "Initialized")))
            .collect();
        dcs.iter().zip(initialized).filter(|(_, initialized)| *initialized).map(|(dc, _)| dc)
    }

    /// The status patch, the error (`None` when there is none), and `CassandraInitialized`
    /// once every datacenter was reconciled.
    fn finish(mut self, outcome: Result<bool, String>) -> Vec<Write> {
        let mut status = json!({ "datacenters": self.statuses, "error": "None" });
        match outcome {
            Ok(true) => {
                status["observedGeneration"] = self.object["metadata"]["generation"].clone();
                if !has_condition(self.object, "CassandraInitialized") {
                    status["conditions"] =
                        json!([{ "type": "CassandraInitialized", "status": "True", "lastTransitionTime": now() }]);
                }
            }
            Ok(false) => {}
            Err(error) => status["error"] = error.into(),
        }
        if !self.annotations.is_empty() {
            self.writes.push(merge(self.cluster, self.at, json!({ "metadata": { "annotations": self.annotations } })));
        }
        self.writes.push(merge(self.cluster, self.at, json!({ "status": status })));
        self.writes
    }
}

/// `ComputeReplicationFromDatacenters(3, …)`: up to three replicas in each datacenter.
fn replication_of<'d, 'v: 'd>(dcs: impl Iterator<Item = &'d Dc<'v>>) -> BTreeMap<String, u32> {
    dcs.map(|dc| (dc.cassandra_name(), u32::try_from(dc.size().min(3)).unwrap_or(3))).collect()
}

/// The JVM options k8ssandra-operator gives a Cassandra 4 datacenter: altering replication
/// while nodes move is allowed (a Stargate workaround, set on all), and the first datacenter
/// creates the system keyspaces with the initial replication (pkg/cassandra/config.go,
/// `ApplySystemReplication`, `AllowAlterRfDuringRangeMovement`; each prepends its option).
fn jvm_options(system: Option<&BTreeMap<String, u32>>) -> Vec<String> {
    let mut options = vec!["-Dcassandra.allow_alter_rf_during_range_movement=true".to_string()];
    if let Some(system) = system {
        let factors: Vec<String> = system.iter().map(|(dc, rf)| format!("{dc}:{rf}")).collect();
        options.push(format!("-Dcassandra.system_distributed_replication={}", factors.join(",")));
    }
    options
}

/// Deleting a K8ssandraCluster: its datacenters go first, then its finalizer.
fn remove(state: &State, cluster: &str, at: &ObjectKey, object: &Value) -> Vec<Write> {
    let mut writes = Vec::new();
    let mut remaining = false;
    for dc in datacenters(at, object) {
        let Ok(target) = target(state, cluster, &dc.context) else { continue };
        let dc_key = dc.key();
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
