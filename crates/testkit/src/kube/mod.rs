//! A fake Kubernetes API server: one port on 127.0.0.1 serves any number of clusters
//! (`/<cluster>/api/...`, `/<cluster>/apis/...`), over plain HTTP and over HTTPS (client-go
//! sends no token over plain HTTP), closely enough for the real `kubectl` and kube-rs's client
//! and watcher to run against it unchanged. A cluster springs into existence on first use with
//! what a fresh EKS cluster holds (namespaces `default`, `kube-system`, `kube-public`; CoreDNS's
//! `coredns` ConfigMap and `kube-dns` Service; StorageClass `gp2`; the VPC CNI's `aws-node`
//! DaemonSet, applied by field manager `eks`, and its `ENIConfig` CRD), or, made with
//! [`FakeKube::add_cluster_of`] and [`Flavor::Aks`], what a fresh AKS cluster holds (CoreDNS
//! importing the `coredns-custom` ConfigMap; `default`, `managed-csi`, `managed-csi-premium`…).
//! Every request needs a bearer token: the server's own, or, for one cluster, the token a
//! service-account token Secret of that cluster holds (so a kubeconfig made from such a Secret
//! works as it would against the real cluster).
//!
//! Served: discovery (the per-group documents, and the OpenAPI v3 index kubectl reads to leave
//! field validation to the server); the built-in types (see `resources.rs`) and those of every
//! applied CustomResourceDefinition, whose custom resources are validated against its
//! `openAPIV3Schema`; get, list and watch with label and field selectors; create, replace
//! (resourceVersion conflicts), JSON merge patch, JSON patch and server-side apply with per-manager field
//! ownership and conflicts; the `status` subresource; finalizers and namespace deletion; errors
//! as `Status` objects; a Pod's `eviction`, which honours PodDisruptionBudgets (see
//! `eviction.rs`); the pod proxy, behind which Cassandra pods answer as the Management API
//! (see `management.rs`): the ring as gossip tells it (`ring.rs`), and Cassandra's own state —
//! keyspaces and their replication, which datacenters hold their data, rebuild and decommission
//! jobs (`cassandra/`). Tests read and change the stored objects behind the clients' backs
//! (drift; also `GET /__objects`), count requests from the log, arm faults (Conflict,
//! throttling, watches that drop), cut the network between clusters ([`FakeKube::partition`]),
//! add and remove node pools as a cloud does ([`FakeKube::add_node_pool`],
//! [`FakeKube::remove_node_pool`]; see `nodes.rs`), read a ring's keyspaces
//! ([`FakeKube::keyspaces`]) and what happened to it, in order ([`FakeKube::cassandra_events`],
//! and the fewest nodes of a datacenter ever up at once, [`FakeKube::fewest_up`]), create
//! keyspaces as an application would ([`FakeKube::create_keyspace`]) and make rebuilds fail
//! ([`FakeKube::fail_rebuilds`]).
//!
//! Simulated controllers (see `controllers.rs`) act after the real durations times the
//! options' time scale: Deployments become Available (once the Secrets they mount exist);
//! service-account token Secrets get their token; cert-manager readies Issuers and issues
//! Certificates; claims bind when their StorageClass exists (in a cluster with Nodes, to a
//! disk in the zone of the node their first Pod is scheduled to); in a cluster with Nodes,
//! Pods are scheduled onto them by node affinity, pod anti-affinity, their volumes' zones and
//! cordons (in one without, Pods run unscheduled, as they always did here);
//! PodDisruptionBudgets' status follows their Pods; LoadBalancer Services get a
//! hostname (EKS), which the fake's DNS server resolves ([`FakeKube::dns_server`]), or an IP
//! (AKS); CoreDNS reads AKS's `coredns-custom` only when it restarts
//! ([`FakeKube::coredns_config`]); cass-operator brings
//! CassandraDatacenters up, gives them a PodDisruptionBudget, starts a node again whose Pod
//! went (on its volume, so the same node, wherever the Pod lands), decommissions them on
//! delete when they are annotated so, and runs CassandraTask rebuilds; the k8ssandra-operator
//! control plane loads ClientConfigs when it
//! (re)starts and brings a K8ssandraCluster's datacenters up, in order, in the clusters their
//! contexts reach on this server, replicates keyspaces to them and rebuilds those added, and
//! decommissions those removed. The operators' validating webhooks (see `admission.rs`)
//! judge writes once their configurations are applied.
//!
//! Simplifications against a real API server: lists are atomic for field ownership except
//! those of built-in pod templates merged by `name` (see `fields.rs`), strategic merge patches
//! are taken as merge patches, protobuf bodies are refused (415),
//! lists come in one page, built-in types are not
//! validated, custom resources get no defaults and no CEL rules, there are no admission
//! webhooks but the operators' own, no garbage collection of owned objects, no `scale`
//! subresource, no kubelet (a Pod deleted goes at once; Pods bound to a Node that goes stay),
//! and `kubectl get` gets objects rather than server-side tables (its columns are NAME and
//! AGE). Each controller's module says what it leaves out.

mod admission;
mod cassandra;
mod controllers;
mod crd;
mod defaults;
mod discovery;
mod dns;
mod errors;
mod eviction;
mod fields;
mod handlers;
mod management;
mod nodes;
mod patch;
mod resources;
mod ring;
mod routes;
mod selectors;
mod server;
mod store;
mod tls;
mod watch;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, MutexGuard};
use std::time::Instant;

use serde_json::Value;

use crate::http::Server;
use dns::DnsServer;
use server::Shared;
use store::ObjectKey;

pub use cassandra::{CassandraEvent, Happened, Keyspace, Replication};

/// A CQL keyspace statement sent through a node: (Cassandra, host, keyspace, factors, when).
type SchemaChange = fn(&mut cassandra::Cassandra, &str, &str, &BTreeMap<String, u32>, Instant) -> Result<(), String>;
pub use crd::fixture_violations;
pub use defaults::{AKS_COREFILE, EKS_COREFILE};

/// Which cloud's fresh cluster a cluster starts as: its CoreDNS configuration and StorageClasses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Flavor {
    /// EKS: the `coredns` ConfigMap with EKS's Corefile; StorageClass `gp2` only; the VPC
    /// CNI's `aws-node` DaemonSet and `ENIConfig` CRD.
    #[default]
    Eks,
    /// AKS: `coredns` importing the `coredns-custom` ConfigMap; StorageClasses `default`,
    /// `managed-csi`, `managed-csi-premium`, `azurefile-csi`, `azurefile-csi-premium`.
    Aks,
}

/// How to start a [`FakeKube`].
#[derive(Clone, Debug, Default)]
pub struct FakeKubeOptions {
    /// The bearer token the server accepts; a random one when `None`.
    pub token: Option<String>,
    /// The port on 127.0.0.1; 0 (the default) picks a free one.
    pub port: u16,
    /// Simulated durations (a Deployment's rollout) are multiplied by this: 0 (the default)
    /// makes them instant, 1 takes as long as a real cluster, 0.01 a hundredth of it.
    pub time_scale: f64,
}

/// Why a [`FakeKube`] could not start, or a test's out-of-band write was refused.
#[derive(Debug, thiserror::Error)]
pub enum FakeKubeError {
    #[error("cannot start the fake Kubernetes API server: {0}")]
    Io(#[from] std::io::Error),
    #[error("`{0}` is not a cluster name: use a DNS label (lower-case letters, digits, '-')")]
    ClusterName(String),
    #[error("cluster {cluster} serves no kind {kind} in {api_version}")]
    UnknownKind { cluster: String, api_version: String, kind: String },
    #[error("the object has no metadata.name")]
    NoName,
    #[error("no Cassandra ring is named {0}")]
    NoRing(String),
    #[error("Cassandra refused: {0}")]
    Cassandra(String),
}

/// One request the server answered, in arrival order.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// The path as sent, cluster prefix included.
    pub path: String,
    /// The decoded query parameters.
    pub query: BTreeMap<String, String>,
    /// The status the server answered with (200 for a watch, however it ended).
    pub status: u16,
}

/// A stored object with the cluster it is in; `GET /__objects` lists these as
/// `[{"cluster": "east", "object": {...}}]`.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredObject {
    pub cluster: String,
    pub object: Value,
}

/// What the next matching requests meet instead of an answer (see [`FakeKube::inject`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// 409 with a `Conflict` Status.
    Conflict,
    /// 429 `TooManyRequests` with `Retry-After`.
    Throttle { retry_after_secs: u64 },
    /// A watch (only watch requests match) whose stream ends after this many events.
    DropWatchAfter { events: usize },
}

/// Names one object for the inspection API: `("apps/v1", "Deployment", Some("ns"), "web")`.
pub type ObjectRef<'a> = (&'a str, &'a str, Option<&'a str>, &'a str);

/// A running fake Kubernetes API server. Dropping it shuts the server down.
///
/// ```no_run
/// use ringform_testkit::kube::FakeKube;
///
/// let kube = FakeKube::start_for_test();
/// // A client points at one cluster: `http://127.0.0.1:PORT/east`, with the bearer token.
/// let (server, token) = (kube.cluster_url("east"), kube.token());
/// # let _ = (server, token);
/// std::fs::write("kubeconfig", kube.kubeconfig(&["east", "west"])).unwrap();
/// // … run the client …
/// let corefile = kube.get("east", ("v1", "ConfigMap", Some("kube-system"), "coredns")).unwrap();
/// # let _ = corefile;
/// assert_eq!(kube.count_requests("PATCH", "/east/"), 0);
/// ```
pub struct FakeKube {
    shared: Arc<Shared>,
    server: Server,
    dns: DnsServer,
}

impl FakeKube {
    /// Starts serving on 127.0.0.1, plain HTTP and HTTPS on one port, and DNS (UDP and TCP)
    /// on another (see [`dns_server`](Self::dns_server)).
    pub fn start(options: FakeKubeOptions) -> Result<FakeKube, FakeKubeError> {
        let token = options.token.unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        let (server, shared) = Server::start("fake-kube", options.port, Some(tls::config()?), |endpoint| {
            Shared::new(endpoint, token, options.time_scale)
        })?;
        let dns = DnsServer::start(shared.clone())?;
        Ok(FakeKube { shared, server, dns })
    }

    /// Starts with the default options; panics, saying why, when it cannot.
    pub fn start_for_test() -> FakeKube {
        FakeKube::start(FakeKubeOptions::default()).unwrap_or_else(|error| panic!("{error}"))
    }

    /// `http://127.0.0.1:PORT`: the base of every cluster's URL, and of `GET /__objects`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// `https://127.0.0.1:PORT`: the same port over TLS; clients trust [`ca`](Self::ca).
    pub fn https_endpoint(&self) -> String {
        format!("https://{}", self.server.addr)
    }

    /// `http://127.0.0.1:PORT/<cluster>`: one cluster's API, for clients that send their token
    /// over plain HTTP (kube-rs does; kubectl does not, see [`kubeconfig`](Self::kubeconfig)).
    pub fn cluster_url(&self, cluster: &str) -> String {
        format!("{}/{cluster}", self.endpoint())
    }

    /// `127.0.0.1:PORT`: the DNS server (UDP and TCP) that resolves the host names of EKS
    /// load balancers, as a VPC's resolver would; what `RINGFORM_KUBE_DNS_SERVER` names.
    pub fn dns_server(&self) -> String {
        self.dns.addr.to_string()
    }

    /// The addresses the DNS server answers for `host` (an EKS load balancer's host name, one
    /// address per zone); `None` when it answers NXDOMAIN.
    pub fn resolve(&self, host: &str) -> Option<Vec<Ipv4Addr>> {
        controllers::resolve(&self.settled(), host)
    }

    /// Gives the load balancer named `host` other addresses, as AWS may (drift); returns them,
    /// or `None` when no load balancer has that name.
    pub fn move_load_balancer(&self, host: &str) -> Option<Vec<Ipv4Addr>> {
        controllers::move_load_balancer(&mut self.settled(), host)
    }

    /// The certificate (PEM) of the CA that signed the server's certificate.
    pub fn ca(&self) -> &'static str {
        tls::CA
    }

    /// The token requests must carry as `Authorization: Bearer <token>`.
    pub fn token(&self) -> String {
        self.shared.token.clone()
    }

    /// A kubeconfig (YAML) with one context per cluster, named after it (the first is
    /// current), over HTTPS with the fake's [`ca`](Self::ca): client-go only sends credentials
    /// over TLS, so this is the one kubectl works with (kube-rs works with it too).
    pub fn kubeconfig(&self, clusters: &[&str]) -> String {
        use base64::Engine;
        let ca = base64::engine::general_purpose::STANDARD.encode(tls::CA);
        let mut text = String::from("apiVersion: v1\nkind: Config\nclusters:\n");
        for c in clusters {
            text += &format!(
                "- name: {c}\n  cluster:\n    server: {}/{c}\n    certificate-authority-data: {ca}\n",
                self.https_endpoint()
            );
        }
        text += "users:\n- name: fake-kube\n  user:\n";
        // A JSON string is a YAML scalar, whatever the token holds.
        text += &format!("    token: {}\ncontexts:\n", Value::from(self.token()));
        for c in clusters {
            text += &format!("- name: {c}\n  context:\n    cluster: {c}\n    user: fake-kube\n");
        }
        text + &format!("current-context: {}\n", clusters.first().copied().unwrap_or_default())
    }

    /// Creates an EKS-like cluster with its default objects unless it exists; clients create
    /// one on first use anyway.
    pub fn add_cluster(&self, cluster: &str) -> Result<(), FakeKubeError> {
        self.add_cluster_of(cluster, Flavor::Eks)
    }

    /// Creates a cluster of `flavor` with its default objects unless it exists (whatever its
    /// flavour). Its pods get addresses from `10.<200 + n>.0.0/16` for the n-th cluster made.
    pub fn add_cluster_of(&self, cluster: &str, flavor: Flavor) -> Result<(), FakeKubeError> {
        if !routes::valid_cluster(cluster) {
            return Err(FakeKubeError::ClusterName(cluster.to_string()));
        }
        self.shared.lock().cluster_of(cluster, flavor);
        Ok(())
    }

    /// Creates every cluster of `topology` as its cloud makes it: EKS-like on AWS, AKS-like on
    /// Azure.
    pub fn add_clusters_of(&self, topology: &ringform_topology::Topology) -> Result<(), FakeKubeError> {
        for cluster in &topology.clusters {
            let flavor = match cluster.provider.value {
                ringform_topology::Cloud::Aws => Flavor::Eks,
                ringform_topology::Cloud::Azure => Flavor::Aks,
            };
            self.add_cluster_of(&cluster.name.value, flavor)?;
        }
        Ok(())
    }

    /// The configuration CoreDNS of `cluster` runs with: the data of its `coredns` ConfigMap
    /// and, on AKS, `coredns-custom`. EKS's Corefile has the `reload` plugin, so that is what
    /// the ConfigMap holds now; AKS imports `coredns-custom` only when CoreDNS starts, so that
    /// is what it held at the last restart of the `coredns` Deployment (`kubectl rollout
    /// restart`) or at the cluster's creation.
    pub fn coredns_config(&self, cluster: &str) -> Option<Value> {
        let state = self.settled();
        let c = state.clusters.get(cluster)?;
        match c.flavor {
            Flavor::Eks => Some(controllers::coredns_read(c)),
            Flavor::Aks => state.started.get(&(cluster.to_string(), "coredns")).cloned(),
        }
    }

    /// Adds node pool `pool` to `cluster` (made, EKS-like, if it does not exist) as its cloud
    /// would: for each `(zone, count)`, `count` Ready Nodes of `instance_type` in `zone`, named
    /// and labelled as the cluster's flavour names them (`ip-10-….<region>.compute.internal`
    /// with `eks.amazonaws.com/nodegroup: <pool>` on EKS, `aks-<pool>-…-vmss00000<n>` with
    /// `kubernetes.azure.com/agentpool: <pool>` on AKS; see `nodes.rs`). From its first Node
    /// on, a cluster schedules its Pods onto them. Returns the new Nodes' names.
    pub fn add_node_pool(
        &self,
        cluster: &str,
        pool: &str,
        instance_type: &str,
        zones: &[(&str, usize)],
    ) -> Result<Vec<String>, FakeKubeError> {
        let mut state = self.add_and_lock(cluster)?;
        let made = nodes::pool(state.cluster(cluster), pool, instance_type, zones);
        let names = made.iter().map(|(key, _)| key.name.clone()).collect();
        for (key, node) in made {
            state.cluster(cluster).put(key, node);
        }
        self.after_change(state);
        Ok(names)
    }

    /// Takes node pool `pool` out of `cluster` as its cloud deletes a node group: the Pods on
    /// its Nodes are deleted (their StatefulSets make them again, to be scheduled elsewhere if
    /// they can be), then the Nodes. Returns the names of the Nodes removed.
    pub fn remove_node_pool(&self, cluster: &str, pool: &str) -> Vec<String> {
        let mut state = self.settled();
        let Some(c) = state.clusters.get_mut(cluster) else { return Vec::new() };
        let removed = nodes::remove_pool(c, pool);
        self.after_change(state);
        removed
    }

    /// The fewest nodes of Cassandra datacenter `datacenter` that were up at the same moment
    /// since it was first Ready, from what happened to its ring
    /// ([`FakeKube::cassandra_events`]): the nodes it started with, less each `NodeStopped` and
    /// `NodeDecommissioned`, plus each `NodeStarted`, until it is deleted. A rolling move of a
    /// datacenter of `size` nodes that never has two down at once keeps it at `size - 1`.
    /// `None` if the datacenter was never Ready.
    pub fn fewest_up(&self, datacenter: &str) -> Option<usize> {
        self.settled().cassandra.fewest_up(datacenter)
    }

    /// Cuts the network between two clusters: their Cassandra nodes see each other down.
    pub fn partition(&self, a: &str, b: &str) {
        self.shared.lock().partitions.insert(pair(a, b));
    }

    /// Undoes [`partition`](Self::partition).
    pub fn heal(&self, a: &str, b: &str) {
        self.shared.lock().partitions.remove(&pair(a, b));
    }

    /// The next `times` rebuilds of a node of Cassandra datacenter `datacenter` (of any ring)
    /// fail as a broken stream fails them: the Management API's job ends in ERROR with
    /// `java.lang.RuntimeException: Error while rebuilding node: Stream failed`. Each node's
    /// rebuild counts once: a CassandraTask rebuilding a three-node datacenter makes three, and
    /// by default retries a failed pod once.
    pub fn fail_rebuilds(&self, datacenter: &str, times: u32) {
        self.shared.lock().cassandra.fail_rebuilds(datacenter, times);
    }

    /// The replicated keyspaces of the Cassandra ring named `cluster_name` (the first seeded,
    /// should rings share a name), with their replication and the datacenters holding their
    /// data; empty when there is no such ring.
    pub fn keyspaces(&self, cluster_name: &str) -> BTreeMap<String, Keyspace> {
        self.settled().cassandra.keyspaces(cluster_name)
    }

    /// Creates a keyspace in ring `cluster_name` as an application would, with
    /// NetworkTopologyStrategy `replication` (datacenter, factor): Cassandra checks it as a
    /// `CREATE KEYSPACE` (a datacenter must have nodes in the ring), and the datacenters named
    /// hold its data, the application's writes having reached them all.
    pub fn create_keyspace(
        &self,
        cluster_name: &str,
        keyspace: &str,
        replication: &[(&str, u32)],
    ) -> Result<(), FakeKubeError> {
        self.change_keyspace(cluster_name, keyspace, replication, cassandra::Cassandra::create_keyspace)
    }

    /// Alters a keyspace of ring `cluster_name` as an operator would in `cqlsh`:
    /// NetworkTopologyStrategy with exactly `replication`, checked as an `ALTER KEYSPACE`.
    pub fn alter_keyspace(
        &self,
        cluster_name: &str,
        keyspace: &str,
        replication: &[(&str, u32)],
    ) -> Result<(), FakeKubeError> {
        self.change_keyspace(cluster_name, keyspace, replication, cassandra::Cassandra::alter_keyspace)
    }

    /// A keyspace created or altered through one node (`create_keyspace`, `alter_keyspace`).
    fn change_keyspace(
        &self,
        cluster_name: &str,
        keyspace: &str,
        replication: &[(&str, u32)],
        change: SchemaChange,
    ) -> Result<(), FakeKubeError> {
        let mut state = self.settled();
        let host = state.cassandra.any_node(cluster_name).ok_or_else(|| FakeKubeError::NoRing(cluster_name.into()))?;
        let factors = replication.iter().map(|(dc, rf)| (dc.to_string(), *rf)).collect();
        change(&mut state.cassandra, &host, keyspace, &factors, Instant::now()).map_err(FakeKubeError::Cassandra)?;
        state.resync(Instant::now());
        Ok(())
    }

    /// What happened to the Cassandra rings (seeded, joined, Ready, replication changed,
    /// rebuilds, decommissions, datacenters deleted), in order.
    pub fn cassandra_events(&self) -> Vec<CassandraEvent> {
        self.settled().cassandra.events().to_vec()
    }

    /// The clusters that exist, by name.
    pub fn clusters(&self) -> Vec<String> {
        self.shared.lock().clusters.keys().cloned().collect()
    }

    /// Every object of every cluster (what `GET /__objects` answers).
    pub fn all_objects(&self) -> Vec<StoredObject> {
        self.settled().all_objects()
    }

    /// Every object in one cluster (none if it does not exist).
    pub fn objects(&self, cluster: &str) -> Vec<Value> {
        let state = self.settled();
        state.clusters.get(cluster).map(|c| c.iter().map(|(_, o)| o.clone()).collect()).unwrap_or_default()
    }

    /// One stored object, as a GET would answer it.
    pub fn get(&self, cluster: &str, object: ObjectRef<'_>) -> Option<Value> {
        let state = self.settled();
        let c = state.clusters.get(cluster)?;
        c.get(&key(c, cluster, object).ok()?).cloned()
    }

    /// Creates or replaces an object behind the clients' backs (no validation, no field
    /// ownership); the server sets uid, resourceVersion and generation, and watches see it.
    pub fn put(&self, cluster: &str, object: Value) -> Result<Value, FakeKubeError> {
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let kind = object["kind"].as_str().unwrap_or_default();
        let name = object["metadata"]["name"].as_str().ok_or(FakeKubeError::NoName)?;
        let namespace = object["metadata"]["namespace"].as_str();
        let mut state = self.add_and_lock(cluster)?;
        let key = key(state.cluster(cluster), cluster, (api_version, kind, namespace, name))?;
        let stored = state.cluster(cluster).put(key.clone(), object);
        state.resync(Instant::now());
        drop(state);
        self.shared.changed();
        Ok(stored)
    }

    /// Edits a stored object behind the clients' backs (drift). Returns whether it exists.
    pub fn edit(&self, cluster: &str, object: ObjectRef<'_>, edit: impl FnOnce(&mut Value)) -> bool {
        let mut state = self.settled();
        let Some(c) = state.clusters.get_mut(cluster) else { return false };
        let Ok(key) = key(c, cluster, object) else { return false };
        let Some(mut value) = c.get(&key).cloned() else { return false };
        edit(&mut value);
        c.put(key.clone(), value);
        state.resync(Instant::now());
        drop(state);
        self.shared.changed();
        true
    }

    /// Removes an object at once, finalizers or not. Returns whether it existed.
    pub fn delete(&self, cluster: &str, object: ObjectRef<'_>) -> bool {
        let mut state = self.settled();
        let Some(c) = state.clusters.get_mut(cluster) else { return false };
        let Ok(key) = key(c, cluster, object) else { return false };
        let removed = c.remove(&key).is_some();
        state.resync(Instant::now());
        drop(state);
        self.shared.changed();
        removed
    }

    /// Forgets a cluster's event history: watches resuming from an earlier resourceVersion get
    /// 410 Gone and must list again.
    pub fn compact(&self, cluster: &str) {
        if let Some(c) = self.shared.lock().clusters.get_mut(cluster) {
            c.compact();
        }
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Forgets the request log (not the objects).
    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// How many `method` requests had a path containing `path_fragment`.
    pub fn count_requests(&self, method: &str, path_fragment: &str) -> usize {
        let state = self.shared.lock();
        state
            .requests
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path.contains(path_fragment))
            .count()
    }

    /// The next `times` requests whose path contains `path_fragment` meet `fault`.
    pub fn inject(&self, path_fragment: &str, times: u32, fault: Fault) {
        self.shared.lock().arm(path_fragment, times, fault);
    }

    /// After a change behind the clients' backs: the controllers look again, watches wake.
    fn after_change(&self, mut state: MutexGuard<'_, server::State>) {
        state.resync(Instant::now());
        drop(state);
        self.shared.changed();
    }

    fn add_and_lock(&self, cluster: &str) -> Result<MutexGuard<'_, server::State>, FakeKubeError> {
        self.add_cluster(cluster)?;
        Ok(self.settled())
    }

    /// The state with what the controllers were due to do done, as every request sees it.
    fn settled(&self) -> MutexGuard<'_, server::State> {
        self.shared.settled()
    }
}

impl std::fmt::Debug for FakeKube {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeKube").field("endpoint", &self.endpoint()).finish_non_exhaustive()
    }
}

fn pair(a: &str, b: &str) -> (String, String) {
    if a <= b { (a.to_string(), b.to_string()) } else { (b.to_string(), a.to_string()) }
}

/// Where an object named by apiVersion, kind, namespace and name is stored.
fn key(
    c: &store::Cluster,
    cluster: &str,
    (api_version, kind, namespace, name): ObjectRef<'_>,
) -> Result<ObjectKey, FakeKubeError> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let types = crd::served_types(c);
    let t = types.iter().find(|t| t.group == group && t.version == version && t.kind == kind).ok_or_else(|| {
        FakeKubeError::UnknownKind {
            cluster: cluster.to_string(),
            api_version: api_version.to_string(),
            kind: kind.to_string(),
        }
    })?;
    let namespace = if t.namespaced { namespace.unwrap_or("default") } else { "" };
    Ok(ObjectKey {
        group: t.group.clone(),
        plural: t.plural.clone(),
        namespace: namespace.to_string(),
        name: name.to_string(),
    })
}
