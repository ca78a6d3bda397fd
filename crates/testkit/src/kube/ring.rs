//! The Cassandra ring as its nodes gossip it: who is in it and who is up, what the
//! Management API's `GET api/v0/metadata/endpoints` answers (see `management.rs`) and what
//! cass-operator reads.
//!
//! The nodes are the Pods of every CassandraDatacenter of every cluster of this server. A node
//! knows the started nodes of its gossip group: datacenters of the same Cassandra cluster name
//! joined through seeds — sharing a namespace (and so the seed Service), or one's
//! additional-seed EndpointSlices holding an address of the other's pods. A node it knows is
//! up (`IS_ALIVE` true) unless it is not Ready, it has left the ring, or its cluster and the
//! asking node's are partitioned ([`FakeKube::partition`](super::FakeKube::partition)). Its
//! `STATUS` is `NORMAL`, `LEAVING` while it decommissions and `LEFT` once it has (until its Pod
//! goes), as Cassandra's gossip says it (see `cassandra/`): `nodetool status` would say UN,
//! UL, and nothing. The nodes of a datacenter deleted without a decommission stay listed, down
//! (DN), while another datacenter of their ring runs (see `cassandra/`). Simplified: a partition
//! hides nothing (gossip remembers nodes it once saw), and seeds join whether or not a
//! partition stood between them at the time; but groups follow the seeds as they are now, so
//! a datacenter whose additional seeds no longer name an address of the other's pods (its
//! seed pods moved to other workers, and other addresses) no longer sees it.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::cassandra::Mode;
use super::controllers::{host_id, nodes_of};
use super::server::State;

/// A datacenter: (cluster, namespace, Cassandra datacenter name).
pub(super) type Place = (String, String, String);

/// One Cassandra node: a Pod of a CassandraDatacenter.
pub(super) struct Node {
    pub cluster: String,
    pub pod: Value,
    pub place: Place,
    pub cluster_name: String,
    pub version: String,
    seed_service: String,
    host_id: String,
}

impl Node {
    pub fn ip(&self) -> &str {
        self.pod["status"]["podIP"].as_str().unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.pod["metadata"]["name"].as_str().unwrap_or_default()
    }

    /// Cassandra's host id: kept on the node's data volume, whichever Pod mounts it (see
    /// `controllers::host_id`).
    pub fn host_id(&self) -> &str {
        &self.host_id
    }

    pub fn started(&self) -> bool {
        self.pod["status"]["conditions"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
    }

    pub fn is(&self, cluster: &str, namespace: &str, pod: &str) -> bool {
        self.cluster == cluster && self.place.1 == namespace && self.name() == pod
    }
}

/// Every Cassandra node of every cluster.
pub(super) fn nodes(state: &State) -> Vec<Node> {
    nodes_of(state)
        .into_iter()
        .map(|(cluster, pod, dc)| Node {
            host_id: host_id(state, &cluster, &dc.namespace, pod["metadata"]["name"].as_str().unwrap_or_default()),
            place: (cluster.clone(), dc.namespace.clone(), dc.name.clone()),
            seed_service: dc.additional_seed_service(),
            cluster_name: dc.cluster_name,
            version: dc.server_version,
            cluster,
            pod,
        })
        .collect()
}

/// The gossip endpoint states `me` holds: the running nodes it knows, then those of its ring
/// whose Pods went without a decommission (down).
pub(super) fn endpoints(state: &State, nodes: &[Node], me: &Node) -> Vec<Value> {
    let running: Vec<Value> = known(state, nodes, me)
        .map(|n| {
            let mode = state.cassandra.mode(n.host_id());
            Endpoint {
                dc: &n.place.2,
                rack: n.pod["metadata"]["labels"]["cassandra.datastax.com/rack"].as_str().unwrap_or_default(),
                ip: n.ip(),
                host_id: n.host_id(),
                alive: n.started() && mode != Mode::Left && !partitioned(state, &me.cluster, &n.cluster),
                local: n.ip() == me.ip(),
                cluster_name: &n.cluster_name,
                version: &n.version,
                mode,
            }
            .to_json()
        })
        .collect();
    let down = state.cassandra.down_nodes(me.host_id());
    let down = down.iter().map(|d| {
        let (dc, rack, ip, host_id, version) = (&d.datacenter, &d.rack, &d.ip, &d.host_id, &d.version);
        let cluster_name = &me.cluster_name;
        Endpoint { dc, rack, ip, host_id, alive: false, local: false, cluster_name, version, mode: Mode::Normal }
            .to_json()
    });
    running.into_iter().chain(down).collect()
}

/// One node's gossip state as the Management API lists it.
struct Endpoint<'a> {
    dc: &'a str,
    rack: &'a str,
    ip: &'a str,
    host_id: &'a str,
    alive: bool,
    local: bool,
    cluster_name: &'a str,
    version: &'a str,
    mode: Mode,
}

impl Endpoint<'_> {
    fn to_json(&self) -> Value {
        let token =
            i64::from_str_radix(&super::controllers::digest(&Value::from(self.host_id))[..15], 16).unwrap_or_default();
        let status = match self.mode {
            Mode::Normal => format!("NORMAL,{token}"),
            Mode::Leaving => format!("LEAVING,{token}"),
            // Gossip keeps a left node's state for three days, with that expiry.
            Mode::Left => format!("LEFT,{token},{}", now_millis() + 3 * 24 * 3600 * 1000),
        };
        json!({
            "DC": self.dc,
            "RACK": self.rack,
            "ENDPOINT_IP": self.ip,
            "HOST_ID": self.host_id,
            "IS_ALIVE": self.alive.to_string(),
            "IS_LOCAL": self.local.to_string(),
            "CLUSTER_NAME": self.cluster_name,
            "RELEASE_VERSION": self.version,
            "STATUS": status,
            "STATUS_WITH_PORT": status,
            "NATIVE_ADDRESS_AND_PORT": format!("{}:9042", self.ip),
            "RPC_ADDRESS": self.ip,
            "PARTITIONER": "org.apache.cassandra.dht.Murmur3Partitioner",
        })
    }
}

/// The datacenters of the endpoints `me` sees alive and NORMAL: how cass-operator tells
/// whether a datacenter is the ring's only one.
pub(super) fn alive_datacenters(state: &State, nodes: &[Node], me: &Node) -> BTreeSet<String> {
    endpoints(state, nodes, me)
        .into_iter()
        .filter(|e| e["IS_ALIVE"] == "true" && e["STATUS"].as_str().is_some_and(|s| s.starts_with("NORMAL")))
        .filter_map(|e| e["DC"].as_str().map(str::to_string))
        .collect()
}

/// The started nodes of `me`'s gossip group.
fn known<'n>(state: &State, nodes: &'n [Node], me: &Node) -> impl Iterator<Item = &'n Node> {
    let group = group(state, nodes, me);
    let cluster_name = me.cluster_name.clone();
    nodes.iter().filter(move |n| group.contains(&n.place) && n.cluster_name == cluster_name && n.started())
}

/// The datacenters `me` gossips with: its own, and those joined to it through seeds.
pub(super) fn group(state: &State, nodes: &[Node], me: &Node) -> BTreeSet<Place> {
    let mut group = BTreeSet::from([me.place.clone()]);
    loop {
        let before = group.len();
        for a in nodes.iter().filter(|n| n.cluster_name == me.cluster_name) {
            for b in nodes.iter().filter(|n| n.cluster_name == me.cluster_name && n.place != a.place) {
                let joined = (a.place.0 == b.place.0 && a.place.1 == b.place.1)
                    || seeds(state, a).contains(b.ip())
                    || seeds(state, b).contains(a.ip());
                if joined && group.contains(&a.place) && !b.ip().is_empty() {
                    group.insert(b.place.clone());
                }
            }
        }
        if group.len() == before {
            return group;
        }
    }
}

/// The addresses in the additional-seed EndpointSlices of a node's datacenter.
fn seeds(state: &State, node: &Node) -> BTreeSet<String> {
    let Some(cluster) = state.clusters.get(&node.cluster) else { return BTreeSet::new() };
    cluster
        .list("discovery.k8s.io", "endpointslices", Some(&node.place.1))
        .filter(|(_, s)| s["metadata"]["labels"]["kubernetes.io/service-name"] == node.seed_service.as_str())
        .flat_map(|(_, s)| s["endpoints"].as_array().cloned().unwrap_or_default())
        .flat_map(|e| e["addresses"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect()
}

fn partitioned(state: &State, a: &str, b: &str) -> bool {
    let pair = if a <= b { (a.to_string(), b.to_string()) } else { (b.to_string(), a.to_string()) };
    state.partitions.contains(&pair)
}

/// Milliseconds since the epoch, as Cassandra and the Management API give times.
pub(super) fn now_millis() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}
