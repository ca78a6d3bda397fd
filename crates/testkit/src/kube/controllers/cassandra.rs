//! cass-operator: a CassandraDatacenter gets, within seconds, cass-operator's finalizer, its
//! Services (`<cluster>-seed-service`, `<cluster>-<dc>-service`, `<cluster>-<dc>-all-pods-service`,
//! `<cluster>-<dc>-additional-seed-service`, with EndpointSlices `…-ipv4`/`-ipv6`/`-fqdn` for
//! `additionalSeeds`), and per rack a StatefulSet `<cluster>-<dc>-<rack>-sts` with its Pods
//! `…-sts-<i>` and their claims `server-data-<pod>`, named and labelled as cass-operator does.
//! The pods require the nodes their rack's `nodeAffinityLabels` (over the datacenter's) name,
//! and, unless `allowMultipleNodesPerWorker`, a worker without another Cassandra pod
//! (pod anti-affinity on the cluster, datacenter and rack labels, topology
//! `kubernetes.io/hostname`), as cass-operator v1.30.2–v1.32.0 builds its pod template
//! (construct_podtemplatespec.go `buildAffinity`); a cluster with Nodes schedules them
//! accordingly (`scheduler.rs`). Once every claim is Bound (and every pod scheduled, in a
//! cluster with Nodes), Cassandra starts: after about two and a half minutes per rack the
//! Pods are Running and Ready with addresses from the cluster's pod range
//! (`10.<200 + n>.0.0/16` for the n-th cluster made), the first pods of each rack are labelled
//! seeds (three per datacenter, one per rack beyond three racks, split over the racks), and the
//! datacenter is Ready; its nodes seed a Cassandra ring or join the one their seeds reach (see
//! `cassandra/`); a node's host id is its data volume's (its claim's uid). Once Ready, the
//! datacenter gets its PodDisruptionBudget `<dc>-pdb` (`minAvailable` size − 1; see
//! `budget`). A pod of a started node that goes (evicted, deleted, its worker gone) is made
//! again under its name, as its StatefulSet would, scheduled, and started again on its volume
//! within a minute (cass-operator's fast path for bootstrapped nodes, see `restart`); the
//! datacenter stays Ready meanwhile. Deleting it removes its Pods, StatefulSets, Services,
//! EndpointSlices, budget and (unless annotated `cassandra.datastax.com/delete-pvc: "false"`)
//! claims, then the finalizer, and the datacenter leaves its ring; annotated
//! `cassandra.datastax.com/decommission-on-delete` (whatever the value), its nodes are
//! decommissioned one by one first (see `decommission`).
//! Only while a `cass-operator-controller-manager` Deployment is Available in the cluster.
//! Its CassandraTasks are `tasks.rs`. Not modelled: scaling a running datacenter down,
//! the free-space check before a decommission, rolling restarts beyond one wait, per-node
//! start-up order, the superuser Secret cass-operator generates, the StatefulSets' status
//! following their pods, a rack's own `affinity` and the pod template's.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Value, json};

use super::disruption::scaled;
use super::{Controller, Plan, Write, deleting, deployment_available, get, has_condition, key, list, merge};
use crate::kube::cassandra::{Change, JobKind, Mode, Started, StartedNode};
use crate::kube::server::State;
use crate::kube::store::{ObjectKey, now};
use crate::kube::{nodes, ring};

pub(in crate::kube) const GROUP: &str = "cassandra.datastax.com";
const FINALIZER: &str = "finalizer.cassandra.datastax.com";
pub(in crate::kube) const CLUSTER_LABEL: &str = "cassandra.datastax.com/cluster";
pub(in crate::kube) const DATACENTER_LABEL: &str = "cassandra.datastax.com/datacenter";
pub(in crate::kube) const RACK_LABEL: &str = "cassandra.datastax.com/rack";
pub(in crate::kube) const SEED_LABEL: &str = "cassandra.datastax.com/seed-node";
const STATE_LABEL: &str = "cassandra.datastax.com/node-state";
/// Present (whatever its value), deleting the datacenter decommissions its nodes first.
pub(in crate::kube) const DECOMMISSION_ON_DELETE: &str = "cassandra.datastax.com/decommission-on-delete";
const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "cass-operator");
/// What cass-operator takes to make the objects of a datacenter.
pub(super) const REACT: Duration = Duration::from_secs(3);
/// Bootstrapping Cassandra on one rack's nodes.
const START_PER_RACK: Duration = Duration::from_secs(150);
/// Starting Cassandra again on the data a node already has: no bootstrap, its commit log
/// replayed, its volume attached to the new worker.
const RESTART: Duration = Duration::from_secs(60);
/// Present (whatever its value), cass-operator makes no PodDisruptionBudget (and deletes its own).
const DISABLE_PDB: &str = "cassandra.datastax.com/disable-pdb-creation";

/// Whether cass-operator runs in `cluster`.
pub(in crate::kube) fn cass_operator_available(state: &State, cluster: &str) -> bool {
    deployment_available(state, cluster, |k, _| k.name == "cass-operator-controller-manager")
}

/// One CassandraDatacenter as cass-operator reads it.
#[derive(Clone)]
pub(in crate::kube) struct Datacenter {
    pub namespace: String,
    /// `spec.clusterName`: the Cassandra cluster's name.
    pub cluster_name: String,
    /// The name Cassandra knows: `spec.datacenterName`, else the object's name.
    pub name: String,
    /// The object's name cleaned for resource names.
    resource_name: String,
    /// Label values of the cluster and datacenter.
    cluster_label: String,
    datacenter_label: String,
    racks: Vec<Rack>,
    /// Not `allowMultipleNodesPerWorker`: no two Cassandra pods on one worker node.
    one_per_worker: bool,
    pub server_version: String,
    /// The system keyspaces' replication its JVM options ask the Management API agent for.
    system_replication: Option<BTreeMap<String, u32>>,
    /// `-Dcassandra.allow_alter_rf_during_range_movement=true` among its JVM options.
    allow_alter_rf: bool,
}

/// One rack of a datacenter: its nodes and seeds (split as cass-operator splits them) and the
/// node labels its pods require (`rackNodeAffinitylabels`: the datacenter's
/// `nodeAffinityLabels` with the rack's over them).
#[derive(Clone)]
struct Rack {
    name: String,
    nodes: usize,
    seeds: usize,
    node_labels: BTreeMap<String, String>,
}

impl Datacenter {
    pub fn of(at: &ObjectKey, object: &Value) -> Datacenter {
        let spec = &object["spec"];
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let cluster_name = text(&spec["clusterName"]);
        let default_rack = [json!({ "name": "default" })];
        let listed = spec["racks"].as_array().filter(|r| !r.is_empty()).map_or(&default_rack[..], Vec::as_slice);
        let size = spec["size"].as_u64().unwrap_or(0) as usize;
        // Three seeds per datacenter; all nodes when fewer; one per rack beyond three racks.
        let seeds = if size < 3 { size } else { 3.max(listed.len()) };
        let (nodes, seeds) = (split(size, listed.len()), split(seeds, listed.len()));
        let labels = |v: &Value| -> BTreeMap<String, String> {
            v.as_object().into_iter().flatten().map(|(k, v)| (k.clone(), text(v))).collect()
        };
        let racks = listed.iter().zip(nodes).zip(seeds).map(|((rack, nodes), seeds)| {
            let mut node_labels = labels(&spec["nodeAffinityLabels"]);
            node_labels.extend(labels(&rack["nodeAffinityLabels"]));
            Rack { name: text(&rack["name"]), nodes, seeds, node_labels }
        });
        let options = jvm_options(&spec["config"]);
        Datacenter {
            namespace: at.namespace.clone(),
            cluster_label: clean_label(&cluster_name),
            datacenter_label: clean_label(&at.name),
            resource_name: cleanup(&at.name),
            name: spec["datacenterName"].as_str().filter(|n| !n.is_empty()).unwrap_or(&at.name).to_string(),
            cluster_name,
            racks: racks.collect(),
            one_per_worker: spec["allowMultipleNodesPerWorker"] != true,
            server_version: text(&spec["serverVersion"]),
            system_replication: system_replication(&options),
            allow_alter_rf: options.contains(&"-Dcassandra.allow_alter_rf_during_range_movement=true"),
        }
    }

    /// Where its nodes are, as the ring knows datacenters.
    fn place(&self, cluster: &str) -> ring::Place {
        (cluster.to_string(), self.namespace.clone(), self.name.clone())
    }

    fn prefix(&self) -> String {
        format!("{}-{}", cleanup(&self.cluster_name), self.resource_name)
    }

    pub fn additional_seed_service(&self) -> String {
        format!("{}-additional-seed-service", self.prefix())
    }

    fn statefulset(&self, rack: &str) -> String {
        format!("{}-{}-sts", self.prefix(), cleanup_subdomain(rack))
    }

    pub(super) fn labels(&self, rack: Option<&str>) -> Value {
        let mut labels = json!({ CLUSTER_LABEL: self.cluster_label, DATACENTER_LABEL: self.datacenter_label, MANAGED_BY.0: MANAGED_BY.1 });
        if let Some(rack) = rack {
            labels[RACK_LABEL] = clean_label(rack).into();
        }
        labels
    }

    /// Whether `object` (a Pod, claim, Service…) belongs to this datacenter.
    pub(super) fn owns(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        labels[CLUSTER_LABEL] == self.cluster_label.as_str()
            && labels[DATACENTER_LABEL] == self.datacenter_label.as_str()
    }

    /// (rack, pod name) of every pod, rack by rack.
    fn pods(&self) -> Vec<(&Rack, String)> {
        let mut pods = Vec::new();
        for rack in &self.racks {
            pods.extend((0..rack.nodes).map(|i| (rack, format!("{}-{i}", self.statefulset(&rack.name)))));
        }
        pods
    }

    /// A pod's rack and its place in it.
    fn rack_of(&self, pod: &str) -> Option<(&Rack, usize)> {
        let in_rack = |r: &&Rack| {
            let ordinal = pod.strip_prefix(&self.statefulset(&r.name)).and_then(|rest| rest.strip_prefix('-'));
            ordinal.is_some_and(|n| n.parse::<usize>().is_ok())
        };
        Some((self.racks.iter().find(in_rack)?, ordinal(pod)))
    }

    /// The pod template's affinity (`buildAffinity`): the rack's node labels required, and,
    /// unless `allowMultipleNodesPerWorker`, no other pod with cass-operator's cluster,
    /// datacenter and rack labels on the same worker. A rack's or the pod template's own
    /// affinity is not merged in.
    fn affinity(&self, rack: &Rack) -> Value {
        let mut affinity = json!({});
        if !rack.node_labels.is_empty() {
            let expressions: Vec<Value> =
                rack.node_labels.iter().map(|(k, v)| json!({ "key": k, "operator": "In", "values": [v] })).collect();
            affinity["nodeAffinity"] = json!({ "requiredDuringSchedulingIgnoredDuringExecution": { "nodeSelectorTerms": [{ "matchExpressions": expressions }] } });
        }
        if self.one_per_worker {
            let exists = |key: &str| json!({ "key": key, "operator": "Exists" });
            let selector =
                json!({ "matchExpressions": [exists(CLUSTER_LABEL), exists(DATACENTER_LABEL), exists(RACK_LABEL)] });
            affinity["podAntiAffinity"] = json!({ "requiredDuringSchedulingIgnoredDuringExecution": [{ "labelSelector": selector, "topologyKey": "kubernetes.io/hostname" }] });
        }
        affinity
    }
}

pub(in crate::kube) struct Datacenters;

impl Controller for Datacenters {
    fn watches(&self, key: &ObjectKey) -> bool {
        key.group == GROUP && key.plural == "cassandradatacenters"
    }

    fn plan(&self, state: &State, cluster: &str, at: &ObjectKey, object: &Value) -> Plan {
        if !cass_operator_available(state, cluster) {
            return None;
        }
        let dc = Datacenter::of(at, object);
        if deleting(object) {
            return remove(state, cluster, at, object, &dc);
        }
        let made: Vec<Write> = make(state, cluster, at, object, &dc).into_iter().filter(|w| state.changes(w)).collect();
        if !made.is_empty() {
            return Some((REACT, made));
        }
        if let Some(restarting) = restart(state, cluster, at, object, &dc) {
            return restarting;
        }
        start(state, cluster, at, object, &dc)
    }
}

/// The objects cass-operator makes that do not exist yet, the additional-seed EndpointSlices
/// in step with `additionalSeeds`, its finalizer, and progress Updating while it makes pods.
fn make(state: &State, cluster: &str, at: &ObjectKey, object: &Value, dc: &Datacenter) -> Vec<Write> {
    let mut writes = Vec::new();
    let mut created = Vec::new();
    let mut create = |key: ObjectKey, object: Value| {
        if get(state, cluster, &key).is_none() {
            created.push(merge(cluster, &key, object));
        }
    };
    let ns = dc.namespace.as_str();
    let service = |name: String, labels: Value, selector: Value| {
        let spec = if selector.is_null() {
            json!({ "type": "ClusterIP", "clusterIP": "None", "publishNotReadyAddresses": true })
        } else {
            json!({ "type": "ClusterIP", "clusterIP": "None", "selector": selector, "ports": [
                { "name": "native", "port": 9042, "targetPort": 9042 },
                { "name": "mgmt-api", "port": 8080, "targetPort": 8080 },
            ]})
        };
        (
            key("", "services", ns, &name),
            json!({ "apiVersion": "v1", "kind": "Service", "metadata": { "name": name, "namespace": ns, "labels": labels }, "spec": spec }),
        )
    };
    let cluster_labels = json!({ CLUSTER_LABEL: dc.cluster_label, MANAGED_BY.0: MANAGED_BY.1 });
    let dc_selector = json!({ CLUSTER_LABEL: dc.cluster_label, DATACENTER_LABEL: dc.datacenter_label });
    let services = [
        service(
            format!("{}-seed-service", cleanup(&dc.cluster_name)),
            cluster_labels,
            json!({ CLUSTER_LABEL: dc.cluster_label, SEED_LABEL: "true" }),
        ),
        service(format!("{}-service", dc.prefix()), dc.labels(None), dc_selector.clone()),
        service(format!("{}-all-pods-service", dc.prefix()), dc.labels(None), dc_selector),
        service(dc.additional_seed_service(), dc.labels(None), Value::Null),
    ];
    for (key, service) in services {
        create(key, service);
    }
    let seeds: Vec<&str> =
        object["spec"]["additionalSeeds"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    for (kind, addresses) in address_types(&seeds) {
        let name = format!("{}-{}", dc.additional_seed_service(), kind.to_lowercase());
        let slice = key("discovery.k8s.io", "endpointslices", ns, &name);
        if addresses.is_empty() {
            writes.push(Write::Delete { cluster: cluster.into(), key: slice });
            continue;
        }
        let mut labels = dc.labels(None);
        labels["kubernetes.io/service-name"] = dc.additional_seed_service().into();
        labels["endpointslice.kubernetes.io/managed-by"] = "cass-operator".into();
        writes.push(merge(
            cluster,
            &slice,
            json!({ "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": { "name": name, "namespace": ns, "labels": labels },
                    "addressType": kind, "endpoints": [{ "addresses": addresses }] }),
        ));
    }
    let claim_spec = &object["spec"]["storageConfig"]["cassandraDataVolumeClaimSpec"];
    for rack in &dc.racks {
        let name = dc.statefulset(&rack.name);
        let labels = dc.labels(Some(&rack.name));
        create(
            key("apps", "statefulsets", ns, &name),
            json!({ "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": { "name": name, "namespace": ns, "labels": labels },
                    "spec": { "replicas": rack.nodes, "serviceName": format!("{}-all-pods-service", dc.prefix()), "podManagementPolicy": "Parallel",
                              "selector": { "matchLabels": labels }, "template": { "metadata": { "labels": labels }, "spec": { "affinity": dc.affinity(rack) } } },
                    "status": { "replicas": rack.nodes, "readyReplicas": 0 } }),
        );
    }
    for (rack, pod) in dc.pods() {
        let claim = format!("server-data-{pod}");
        create(
            key("", "persistentvolumeclaims", ns, &claim),
            json!({ "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": { "name": claim, "namespace": ns, "labels": dc.labels(Some(&rack.name)) }, "spec": claim_spec }),
        );
        // The StatefulSet controller's Pod, made again under the same name whenever it goes.
        let mut labels = dc.labels(Some(&rack.name));
        labels[STATE_LABEL] = "Ready-to-Start".into();
        labels["statefulset.kubernetes.io/pod-name"] = pod.clone().into();
        let pod_key = key("", "pods", ns, &pod);
        let pod_object = json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "name": pod, "namespace": ns, "labels": labels },
                    "spec": { "hostname": pod, "subdomain": format!("{}-all-pods-service", dc.prefix()), "affinity": dc.affinity(rack),
                              "containers": [{ "name": "cassandra", "image": format!("k8ssandra/cass-management-api:{}", dc.server_version),
                                               "ports": [{ "name": "native", "containerPort": 9042 }, { "name": "internode", "containerPort": 7000 }, { "name": "mgmt-api-http", "containerPort": 8080 }] }],
                              "volumes": [{ "name": "server-data", "persistentVolumeClaim": { "claimName": claim } }] },
                    "status": { "phase": "Pending" } });
        if object["status"]["nodeStatuses"][&pod].is_null() {
            create(pod_key, pod_object);
        } else if get(state, cluster, &pod_key).is_none() {
            // A bootstrapped node's pod gone: the StatefulSet controller makes it again, which
            // is no progress of cass-operator's.
            writes.push(merge(cluster, &pod_key, pod_object));
        }
    }
    writes.extend(budget(cluster, at, object, dc));
    let finalizers = object["metadata"]["finalizers"].as_array().cloned().unwrap_or_default();
    let progress = &object["status"]["cassandraOperatorProgress"];
    if !finalizers.iter().any(|f| f == FINALIZER) || progress.is_null() || !created.is_empty() {
        let mut finalizers = finalizers;
        finalizers.retain(|f| f != FINALIZER);
        finalizers.push(FINALIZER.into());
        let progress = if created.is_empty() { progress.as_str().unwrap_or("Updating") } else { "Updating" };
        let mut status = json!({ "cassandraOperatorProgress": progress });
        if object["status"]["nodeStatuses"].is_null() {
            status["nodeStatuses"] = json!({});
        }
        writes.push(merge(cluster, at, json!({ "metadata": { "finalizers": finalizers }, "status": status })));
    }
    created.extend(writes);
    created
}

/// Additional seeds by EndpointSlice address type.
fn address_types<'a>(seeds: &[&'a str]) -> Vec<(&'static str, Vec<&'a str>)> {
    let mut types: Vec<(&'static str, Vec<&'a str>)> = vec![("IPv4", vec![]), ("IPv6", vec![]), ("FQDN", vec![])];
    for seed in seeds {
        let slot = match seed.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(_)) => 0,
            Ok(std::net::IpAddr::V6(_)) => 1,
            Err(_) => 2,
        };
        types[slot].1.push(seed);
    }
    types
}

/// Cassandra starting once every claim is Bound (and, in a cluster with Nodes, every Pod
/// scheduled): the Pods Running and Ready with addresses, seeds labelled, the datacenter Ready.
fn start(state: &State, cluster: &str, at: &ObjectKey, object: &Value, dc: &Datacenter) -> Plan {
    let ns = dc.namespace.as_str();
    let pods = dc.pods();
    let stored: Vec<&Value> =
        pods.iter().filter_map(|(_, pod)| get(state, cluster, &key("", "pods", ns, pod))).collect();
    let ready = stored.iter().all(|p| has_condition(p, "Ready"))
        && has_condition(object, "Ready")
        && object["status"]["observedGeneration"] == object["metadata"]["generation"];
    if ready || stored.len() != pods.len() || !stored.iter().all(|p| can_start(state, cluster, p)) {
        return None;
    }
    let mut addresses = free_addresses(state, cluster);
    let mut writes = Vec::new();
    let mut statuses = serde_json::Map::new();
    let mut started = Vec::new();
    for rack in &dc.racks {
        for (i, (_, pod)) in pods.iter().filter(|(r, _)| r.name == rack.name).enumerate() {
            let pod_key = key("", "pods", ns, pod);
            let ip = get(state, cluster, &pod_key)
                .and_then(|p| p["status"]["podIP"].as_str())
                .map(str::to_string)
                .unwrap_or_else(|| addresses.next().unwrap_or_default());
            let host_id = host_id(state, cluster, ns, pod);
            writes.push(merge(cluster, &pod_key, running(dc, rack, i, &ip)));
            statuses.insert(pod.clone(), node_status(&host_id, &ip, rack));
            started.push(StartedNode { host_id, pod: pod.clone(), ip, rack: clean_label(&rack.name) });
        }
        let nodes = rack.nodes;
        writes.push(merge(
            cluster,
            &key("apps", "statefulsets", ns, &dc.statefulset(&rack.name)),
            json!({ "status": { "replicas": nodes, "readyReplicas": nodes, "currentReplicas": nodes, "updatedReplicas": nodes } }),
        ));
    }
    let condition = |kind: &str| json!({ "type": kind, "status": "True", "reason": "", "message": "", "lastTransitionTime": now() });
    writes.push(merge(
        cluster,
        at,
        json!({ "status": {
            "cassandraOperatorProgress": "Ready",
            "observedGeneration": object["metadata"]["generation"],
            "conditions": [condition("Healthy"), condition("Valid"), condition("Initialized"), condition("Ready")],
            "lastServerNodeStarted": now(),
            "usersUpserted": now(),
            "superUserUpserted": now(),
            "nodeStatuses": statuses,
        }}),
    ));
    writes.push(Write::Cassandra(Change::Started(Started {
        place: dc.place(cluster),
        cluster_name: dc.cluster_name.clone(),
        version: dc.server_version.clone(),
        system_replication: dc.system_replication.clone(),
        allow_alter_rf: dc.allow_alter_rf,
        nodes: started,
    })));
    Some((START_PER_RACK * dc.racks.len() as u32, writes))
}

/// cass-operator's fast path for nodes that bootstrapped before (`startBootstrappedNodes`):
/// a pod of the datacenter's `status.nodeStatuses` whose node Cassandra knows but that is not
/// Ready — made again after it went — is started as soon as it can be (see [`can_start`]),
/// all such pods at once, after [`RESTART`]: Running and Ready at a new address, labelled as
/// before, its node status updated. Cassandra sees the node back (see `cassandra/`). `None`
/// when no pod waits for that (the datacenter then starts as a whole, if it must); `Some(None)`
/// while those that wait cannot start yet.
fn restart(state: &State, cluster: &str, at: &ObjectKey, object: &Value, dc: &Datacenter) -> Option<Plan> {
    let ns = dc.namespace.as_str();
    let statuses = &object["status"]["nodeStatuses"];
    let stopped: Vec<(&ObjectKey, &Value)> = list(state, cluster, "", "pods", Some(ns))
        .into_iter()
        .filter(|(k, p)| dc.owns(p) && !statuses[&k.name].is_null() && !has_condition(p, "Ready") && !deleting(p))
        .filter(|(k, _)| state.cassandra.knows(&host_id(state, cluster, ns, &k.name)))
        .collect();
    if stopped.is_empty() {
        return None;
    }
    let previous: BTreeSet<&str> = stopped.iter().filter_map(|(k, _)| statuses[&k.name]["ip"].as_str()).collect();
    let mut addresses = free_addresses(state, cluster).filter(|ip| !previous.contains(ip.as_str()));
    let mut writes = Vec::new();
    for (pod_key, _) in stopped.into_iter().filter(|(_, p)| can_start(state, cluster, p)) {
        let Some((rack, index)) = dc.rack_of(&pod_key.name) else { continue };
        let ip = addresses.next().unwrap_or_default();
        let status = node_status(&host_id(state, cluster, ns, &pod_key.name), &ip, rack);
        writes.push(merge(cluster, pod_key, running(dc, rack, index, &ip)));
        writes.push(merge(
            cluster,
            at,
            json!({ "status": { "nodeStatuses": { pod_key.name.clone(): status }, "lastServerNodeStarted": now() } }),
        ));
    }
    Some((!writes.is_empty()).then_some((RESTART, writes)))
}

/// Whether Cassandra can start in a pod: its data claim is Bound and, in a cluster with
/// Nodes, the pod is on one.
fn can_start(state: &State, cluster: &str, pod: &Value) -> bool {
    let (namespace, name) = (
        pod["metadata"]["namespace"].as_str().unwrap_or_default(),
        pod["metadata"]["name"].as_str().unwrap_or_default(),
    );
    let claim = get(state, cluster, &key("", "persistentvolumeclaims", namespace, &format!("server-data-{name}")));
    claim.is_some_and(|c| c["status"]["phase"] == "Bound")
        && (pod["spec"]["nodeName"].is_string() || nodes::of(state, cluster).is_empty())
}

/// A pod whose Cassandra runs: Running and Ready at `ip`, labelled Started, and a seed if it
/// is among the first `seeds` of its rack.
fn running(dc: &Datacenter, rack: &Rack, index: usize, ip: &str) -> Value {
    let seed = if index < rack.seeds { json!("true") } else { Value::Null };
    let condition = |kind: &str| json!({ "type": kind, "status": "True", "lastTransitionTime": now() });
    json!({
        "metadata": { "labels": { STATE_LABEL: "Started", SEED_LABEL: seed } },
        "status": {
            "phase": "Running", "podIP": ip, "podIPs": [{ "ip": ip }], "startTime": now(),
            "conditions": [condition("PodScheduled"), condition("Initialized"), condition("ContainersReady"), condition("Ready")],
            "containerStatuses": [{ "name": "cassandra", "ready": true, "started": true, "restartCount": 0, "image": format!("k8ssandra/cass-management-api:{}", dc.server_version) }],
        },
    })
}

/// A node's entry in the datacenter's `status.nodeStatuses`.
fn node_status(host_id: &str, ip: &str, rack: &Rack) -> Value {
    json!({ "hostID": host_id, "ip": ip, "rack": rack.name })
}

/// Cassandra's host id for the node in a pod: made when the node first bootstrapped and kept
/// on its data volume (`system.local`), so the uid of the pod's claim `server-data-<pod>`,
/// whichever Pod mounts it now; empty without a claim.
pub(in crate::kube) fn host_id(state: &State, cluster: &str, namespace: &str, pod: &str) -> String {
    get(state, cluster, &key("", "persistentvolumeclaims", namespace, &format!("server-data-{pod}")))
        .and_then(|c| c["metadata"]["uid"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// cass-operator's PodDisruptionBudget `<dc>-pdb` (`newPodDisruptionBudgetForDatacenter`),
/// made once the datacenter is Ready (`CheckDcPodDisruptionBudget` comes after its pods are)
/// and kept as the spec says, or deleted when the datacenter is annotated
/// `cassandra.datastax.com/disable-pdb-creation`: the datacenter's pods selected by their
/// cluster and datacenter labels, `minAvailable` size − 1, or, with `maxUnavailable`, size
/// less that (of the largest rack's nodes, at most all of them).
fn budget(cluster: &str, at: &ObjectKey, object: &Value, dc: &Datacenter) -> Option<Write> {
    let name = format!("{}-pdb", at.name);
    let budget_key = key("policy", "poddisruptionbudgets", &at.namespace, &name);
    if object["metadata"]["annotations"].get(DISABLE_PDB).is_some() {
        return Some(Write::Delete { cluster: cluster.into(), key: budget_key });
    }
    if !has_condition(object, "Ready") {
        return None;
    }
    let selector = json!({ CLUSTER_LABEL: dc.cluster_label, DATACENTER_LABEL: dc.datacenter_label });
    let budget = json!({ "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": { "name": name, "namespace": at.namespace, "labels": dc.labels(None) },
        "spec": { "selector": { "matchLabels": selector }, "minAvailable": min_available(&object["spec"], dc) } });
    Some(merge(cluster, &budget_key, budget))
}

fn min_available(spec: &Value, dc: &Datacenter) -> i64 {
    let size = spec["size"].as_i64().unwrap_or(0);
    let largest = dc.racks.iter().map(|r| r.nodes).max().unwrap_or(0) as i64;
    if spec["maxUnavailable"].is_null() {
        return size - 1;
    }
    // An unreadable value leaves the default, as cass-operator does.
    scaled(&spec["maxUnavailable"], largest).map_or(size - 1, |unavailable| size - unavailable.min(largest))
}

/// The addresses of the cluster's pod range no Pod has, lowest first.
fn free_addresses(state: &State, cluster: &str) -> impl Iterator<Item = String> {
    let used: BTreeSet<String> = list(state, cluster, "", "pods", None)
        .into_iter()
        .filter_map(|(_, p)| p["status"]["podIP"].as_str().map(str::to_string))
        .collect();
    let second = 200 + state.clusters.get(cluster).map_or(0, |c| c.index) % 56;
    (10..65_534u32).map(move |n| format!("10.{second}.{}.{}", n / 256, n % 256)).filter(move |ip| !used.contains(ip))
}

/// Deleting a datacenter: its nodes decommissioned first when it is annotated so, then
/// everything cass-operator made goes.
fn remove(state: &State, cluster: &str, at: &ObjectKey, object: &Value, dc: &Datacenter) -> Plan {
    let annotated = object["metadata"]["annotations"].get(DECOMMISSION_ON_DELETE).is_some();
    match annotated.then(|| decommission(state, cluster, at, object, dc)) {
        Some(Some(decommissioning)) => decommissioning,
        _ => delete_all(state, cluster, at, object, dc),
    }
}

/// cass-operator's decommission of a deleted datacenter (ProcessDeletion, DecommissionNodes,
/// CheckDecommissioningNodes): only if its nodes see another datacenter alive in the ring (else
/// it waits for ever) it sets the `Decommission` condition, then, one node at a time, the
/// last pod of the rack with most nodes to spare gets `ScalingDown`, a forced decommission
/// through the Management API and the node-state label `Decommissioning`; once gossip says
/// the node LEFT, its pod and claim go and its StatefulSet shrinks. `None` once no pod is left.
fn decommission(state: &State, cluster: &str, at: &ObjectKey, object: &Value, dc: &Datacenter) -> Option<Plan> {
    let pods: Vec<(&ObjectKey, &Value)> =
        list(state, cluster, "", "pods", Some(&dc.namespace)).into_iter().filter(|(_, p)| dc.owns(p)).collect();
    if pods.is_empty() {
        return None;
    }
    if !has_condition(object, "Decommission") {
        return Some(begin_decommission(state, cluster, at, object, &pods));
    }
    if let Some((pod_key, pod)) = pods.iter().find(|(_, p)| p["metadata"]["labels"][STATE_LABEL] == DECOMMISSIONING) {
        let host = &host_id(state, cluster, &dc.namespace, &pod_key.name);
        return Some(match state.cassandra.mode(host) {
            Mode::Left => Some((REACT, remove_pod(state, cluster, at, dc, (pod_key, pod), &pods))),
            Mode::Leaving => None,
            // Asked again unless a job was ever started there: one that failed stalls the
            // deletion here, where cass-operator would ask every few seconds for ever.
            Mode::Normal => (!state.cassandra.decommission_started(host)).then(|| (REACT, vec![leave(host)])),
        });
    }
    // Pods in no rack of the spec leave cass-operator stuck, and the deletion with it.
    let Some((pod_key, _)) = next_to_leave(dc, &pods) else { return Some(None) };
    let label = json!({ "metadata": { "labels": { STATE_LABEL: DECOMMISSIONING } } });
    let scaling_down = json!({ "status": { "conditions": with_condition(object, "ScalingDown") } });
    let host = host_id(state, cluster, &dc.namespace, &pod_key.name);
    Some(Some((REACT, vec![leave(&host), merge(cluster, pod_key, label), merge(cluster, at, scaling_down)])))
}

const DECOMMISSIONING: &str = "Decommissioning";

/// The forced decommission cass-operator asks a node for.
fn leave(host: &str) -> Write {
    let id = uuid::Uuid::new_v4().to_string();
    Write::Cassandra(Change::Submit { host_id: host.into(), id, job: JobKind::Decommission { force: true } })
}

/// Progress Updating, and the `Decommission` condition if the ring has other datacenters.
fn begin_decommission(
    state: &State,
    cluster: &str,
    at: &ObjectKey,
    object: &Value,
    pods: &[(&ObjectKey, &Value)],
) -> Plan {
    let nodes = ring::nodes(state);
    let seen = pods
        .iter()
        .find_map(|(k, _)| {
            let host = host_id(state, cluster, &k.namespace, &k.name);
            nodes.iter().find(|n| n.host_id() == host && n.started())
        })
        .map(|me| ring::alive_datacenters(state, &nodes, me))
        .unwrap_or_default();
    let mut status = json!({ "cassandraOperatorProgress": "Updating" });
    if seen.len() > 1 {
        status["conditions"] = with_condition(object, "Decommission");
    }
    Some((REACT, vec![merge(cluster, at, json!({ "status": status }))]))
}

/// The object's conditions with `kind` set True.
fn with_condition(object: &Value, kind: &str) -> Value {
    let mut conditions = object["status"]["conditions"].as_array().cloned().unwrap_or_default();
    conditions.retain(|c| c["type"] != kind);
    conditions
        .push(json!({ "type": kind, "status": "True", "reason": "", "message": "", "lastTransitionTime": now() }));
    Value::Array(conditions)
}

/// `CalculateRackInfoForDecomm`: the first rack holding more pods than an even split of one
/// node fewer gives it, and its pod with the highest ordinal.
fn next_to_leave<'p>(dc: &Datacenter, pods: &[(&'p ObjectKey, &'p Value)]) -> Option<(&'p ObjectKey, &'p Value)> {
    let rack_of = |pod: &Value| pod["metadata"]["labels"][RACK_LABEL].as_str().unwrap_or_default().to_string();
    let desired = split(pods.len() - 1, dc.racks.len());
    let (rack, _) = dc
        .racks
        .iter()
        .zip(desired)
        .map(|(rack, want)| (clean_label(&rack.name), want))
        .find(|(rack, want)| pods.iter().filter(|(_, p)| rack_of(p) == *rack).count() > *want)?;
    pods.iter().filter(|(_, p)| rack_of(p) == rack).max_by_key(|(k, _)| ordinal(&k.name)).copied()
}

fn ordinal(pod: &str) -> usize {
    pod.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// A node that left the ring: its pod and claim go, its StatefulSet and the node statuses
/// shrink.
fn remove_pod(
    state: &State,
    cluster: &str,
    at: &ObjectKey,
    dc: &Datacenter,
    (pod_key, pod): (&ObjectKey, &Value),
    pods: &[(&ObjectKey, &Value)],
) -> Vec<Write> {
    let ns = dc.namespace.as_str();
    let rack = &pod["metadata"]["labels"][RACK_LABEL];
    let left = pods.iter().filter(|(k, p)| *k != pod_key && p["metadata"]["labels"][RACK_LABEL] == *rack).count();
    let claim = key("", "persistentvolumeclaims", ns, &format!("server-data-{}", pod_key.name));
    let mut writes = vec![
        Write::Delete { cluster: cluster.into(), key: pod_key.clone() },
        Write::Delete { cluster: cluster.into(), key: claim },
        merge(cluster, at, json!({ "status": { "nodeStatuses": { pod_key.name.clone(): null } } })),
    ];
    let statefulset = list(state, cluster, "apps", "statefulsets", Some(ns))
        .into_iter()
        .find(|(_, s)| dc.owns(s) && s["metadata"]["labels"][RACK_LABEL] == *rack);
    if let Some((sts_key, _)) = statefulset {
        let replicas = json!({ "spec": { "replicas": left }, "status": { "replicas": left, "readyReplicas": left, "currentReplicas": left, "updatedReplicas": left } });
        writes.push(merge(cluster, sts_key, replicas));
    }
    writes
}

/// What cass-operator deletes with a datacenter, then its finalizer: the datacenter leaves
/// its ring.
fn delete_all(state: &State, cluster: &str, at: &ObjectKey, object: &Value, dc: &Datacenter) -> Plan {
    let keep_claims = object["metadata"]["annotations"]["cassandra.datastax.com/delete-pvc"] == "false";
    let mut writes = Vec::new();
    let owned = [
        ("policy", "poddisruptionbudgets"),
        ("", "pods"),
        ("apps", "statefulsets"),
        ("", "services"),
        ("discovery.k8s.io", "endpointslices"),
        ("", "persistentvolumeclaims"),
    ];
    for (group, plural) in owned {
        if plural == "persistentvolumeclaims" && keep_claims {
            continue;
        }
        for (key, _) in list(state, cluster, group, plural, Some(&dc.namespace)).into_iter().filter(|(_, o)| dc.owns(o))
        {
            writes.push(Write::Delete { cluster: cluster.into(), key: key.clone() });
        }
    }
    // The seed service is the cluster's: it goes with the last datacenter of that cluster.
    let others = list(state, cluster, GROUP, "cassandradatacenters", Some(&dc.namespace))
        .into_iter()
        .any(|(k, o)| k != at && o["spec"]["clusterName"] == dc.cluster_name.as_str());
    if !others {
        let seed_service = key("", "services", &dc.namespace, &format!("{}-seed-service", cleanup(&dc.cluster_name)));
        writes.push(Write::Delete { cluster: cluster.into(), key: seed_service });
    }
    let mut finalizers = object["metadata"]["finalizers"].as_array().cloned().unwrap_or_default();
    finalizers.retain(|f| f != FINALIZER);
    writes.push(merge(cluster, at, json!({ "metadata": { "finalizers": finalizers } })));
    writes.push(Write::Cassandra(Change::Deleted { place: dc.place(cluster) }));
    Some((REACT, writes))
}

/// `SplitRacks`: `n` spread over `racks`, the first racks taking the remainder.
fn split(n: usize, racks: usize) -> Vec<usize> {
    (0..racks).map(|i| n / racks + usize::from(i < n % racks)).collect()
}

/// `CleanupForKubernetes`: a DNS-1035 label as is, else lower-cased, `_` as `-`, and only the
/// runs that make valid labels kept.
pub(in crate::kube) fn cleanup(input: &str) -> String {
    let valid = input.len() <= 63
        && input.starts_with(|c: char| c.is_ascii_lowercase())
        && !input.ends_with('-')
        && input.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        return input.to_string();
    }
    runs(
        &input.to_lowercase().replace('_', "-"),
        |c| c.is_ascii_lowercase(),
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
    )
}

/// `CleanupSubdomain`, for rack names (approximated: runs of DNS-1123 subdomain characters).
fn cleanup_subdomain(input: &str) -> String {
    let word = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    runs(&input.to_lowercase().replace('_', "-"), word, |c| word(c) || c == '-' || c == '.')
}

/// `CleanLabelValue`: spaces dropped, runs of label characters kept.
pub(in crate::kube) fn clean_label(input: &str) -> String {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    runs(&input.replace(' ', ""), alnum, |c| alnum(c) || matches!(c, '-' | '_' | '.'))
}

/// The concatenated runs that start with a `first` character, go on over `inner` characters
/// and end (trimmed back) on an alphanumeric one, as Go's `FindAllString` finds them.
fn runs(input: &str, first: impl Fn(char) -> bool, inner: impl Fn(char) -> bool) -> String {
    let mut out = String::new();
    let mut rest = input;
    while let Some(start) = rest.find(&first) {
        let run: String = rest[start..].chars().take_while(|&c| inner(c)).collect();
        out.push_str(run.trim_end_matches(|c: char| !c.is_ascii_alphanumeric()));
        rest = &rest[start + run.len().max(1)..];
    }
    out
}

/// The `additional-jvm-opts` of every section of a CassandraDatacenter's `spec.config`
/// (`cassandra-env-sh`, `jvm-server-options`…): the system properties Cassandra starts with.
fn jvm_options(config: &Value) -> Vec<&str> {
    config
        .as_object()
        .into_iter()
        .flat_map(|sections| sections.values())
        .flat_map(|section| section["additional-jvm-opts"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect()
}

/// The system keyspaces' replication the options ask the Management API agent for:
/// `-Dcassandra.system_distributed_replication=dc1:3,dc2:3`, else the
/// `…_replication_dc_names` and `…_replication_per_dc` pair; the agent ignores factors outside
/// 1 to 5.
fn system_replication(options: &[&str]) -> Option<BTreeMap<String, u32>> {
    let property =
        |name: &str| options.iter().rev().find_map(|o| o.strip_prefix("-D")?.strip_prefix(name)?.strip_prefix('='));
    let factor = |text: &str| text.trim().parse::<u32>().ok().filter(|rf| (1..=5).contains(rf));
    let pairs: BTreeMap<String, u32> = property("cassandra.system_distributed_replication")
        .into_iter()
        .flat_map(|value| value.split(','))
        .filter_map(|pair| pair.split_once(':').and_then(|(dc, rf)| Some((dc.trim().to_string(), factor(rf)?))))
        .collect();
    if !pairs.is_empty() {
        return Some(pairs);
    }
    let per_dc = factor(property("cassandra.system_distributed_replication_per_dc")?)?;
    let names = property("cassandra.system_distributed_replication_dc_names")?;
    Some(names.split(',').map(|dc| (dc.trim().to_string(), per_dc)).collect())
}

/// Every Cassandra node of every cluster: (cluster, Pod, the datacenter it belongs to).
pub(in crate::kube) fn nodes_of(state: &State) -> Vec<(String, Value, Datacenter)> {
    let mut nodes = Vec::new();
    for (name, c) in &state.clusters {
        for (at, object) in c.list(GROUP, "cassandradatacenters", None) {
            let dc = Datacenter::of(at, object);
            for (_, pod) in c.list("", "pods", Some(&at.namespace)).filter(|(_, p)| dc.owns(p)) {
                nodes.push((name.clone(), pod.clone(), dc.clone()));
            }
        }
    }
    nodes
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{clean_label, cleanup, split, system_replication};

    #[test]
    fn names_are_cleaned_and_nodes_split_as_cass_operator_does() {
        assert_eq!(cleanup("Demo_Cluster"), "demo-cluster");
        assert_eq!(cleanup("dc1"), "dc1");
        assert_eq!(cleanup("1st DC"), "stdc");
        assert_eq!(clean_label("My Cluster"), "MyCluster");
        assert_eq!(split(7, 3), [3, 2, 2]);
        assert_eq!(split(3, 3), [1, 1, 1]);
    }

    #[test]
    fn the_system_replication_override_is_read_as_the_management_api_agent_reads_it() {
        let factors =
            |pairs: &[(&str, u32)]| pairs.iter().map(|(dc, rf)| (dc.to_string(), *rf)).collect::<BTreeMap<_, _>>();
        let pairs = ["-Xmx1G", "-Dcassandra.system_distributed_replication=dc1:3, dc2:9,dc3:1"];
        assert_eq!(system_replication(&pairs), Some(factors(&[("dc1", 3), ("dc3", 1)])));
        let named = [
            "-Dcassandra.system_distributed_replication_dc_names=dc1,dc2",
            "-Dcassandra.system_distributed_replication_per_dc=2",
        ];
        assert_eq!(system_replication(&named), Some(factors(&[("dc1", 2), ("dc2", 2)])));
        assert_eq!(system_replication(&["-Dcassandra.system_distributed_replication_per_dc=3"]), None);
        assert_eq!(system_replication(&[]), None);
    }
}
