//! The Cassandra ring as its nodes see it, answered through the pod proxy
//! (`/<cluster>/api/v1/namespaces/<ns>/pods/<pod>:8080/proxy/<path>`) as the Management API on
//! port 8080 would: `GET api/v0/metadata/endpoints` (the gossip endpoint states, what
//! cass-operator reads), `api/v0/metadata/localdc`, `api/v0/probes/liveness` and `readiness`.
//!
//! The nodes are the Pods of every CassandraDatacenter of every cluster of this server. A node
//! knows the started nodes of its gossip group: datacenters of the same Cassandra cluster name
//! joined through seeds — sharing a namespace (and so the seed Service), or one's
//! additional-seed EndpointSlices holding an address of the other's pods. A node it knows is
//! up (`IS_ALIVE` true, `STATUS` NORMAL: `nodetool status` would say UN) unless it is not
//! Ready or its cluster and the asking node's are partitioned
//! ([`FakeKube::partition`](super::FakeKube::partition)). Simplified: a partition hides
//! nothing (gossip remembers nodes it once saw), and seeds join whether or not a partition
//! stood between them at the time.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::controllers::nodes_of;
use super::errors::{KubeError, json_response};
use super::server::State;
use crate::http::{Body, Response};

/// A datacenter: (cluster, namespace, Cassandra datacenter name).
type Place = (String, String, String);

struct Node {
    cluster: String,
    pod: Value,
    place: Place,
    cluster_name: String,
    version: String,
    seed_service: String,
}

impl Node {
    fn ip(&self) -> &str {
        self.pod["status"]["podIP"].as_str().unwrap_or_default()
    }

    fn started(&self) -> bool {
        self.pod["status"]["conditions"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
    }
}

/// What the Management API of `pod` answers for `path` (after `proxy/`).
pub(super) fn proxy(
    state: &State,
    cluster: &str,
    namespace: &str,
    pod: &str,
    port: &str,
    path: &str,
) -> Result<Response, KubeError> {
    let nodes: Vec<Node> = nodes_of(state)
        .into_iter()
        .map(|(cluster, pod, dc)| Node {
            place: (cluster.clone(), dc.namespace.clone(), dc.name.clone()),
            seed_service: dc.additional_seed_service(),
            cluster_name: dc.cluster_name,
            version: dc.server_version,
            cluster,
            pod,
        })
        .collect();
    let exists =
        state.clusters.get(cluster).is_some_and(|c| c.list("", "pods", Some(namespace)).any(|(k, _)| k.name == pod));
    if !exists {
        return Err(KubeError::new(404, "NotFound", format!("pods \"{pod}\" not found")));
    }
    let me = nodes.iter().find(|n| n.cluster == cluster && n.place.1 == namespace && n.pod["metadata"]["name"] == pod);
    let Some(me) = me.filter(|n| n.started() && port == "8080") else {
        let message = format!("error trying to reach service: dial tcp {pod}:{port}: connect: connection refused");
        return Err(KubeError::new(503, "ServiceUnavailable", message));
    };
    let text = |status: u16, body: &str| Response {
        status,
        headers: vec![("Content-Type", "text/plain".to_string())],
        body: Body::Full(body.as_bytes().to_vec()),
    };
    Ok(match path.trim_matches('/') {
        "api/v0/metadata/endpoints" => json_response(200, &json!({ "entity": endpoints(state, &nodes, me) })),
        "api/v0/metadata/localdc" => text(200, &me.place.2),
        "api/v0/probes/liveness" | "api/v0/probes/readiness" => text(200, "OK"),
        _ => text(404, "HTTP 404 Not Found"),
    })
}

/// The gossip endpoint states `me` holds.
fn endpoints(state: &State, nodes: &[Node], me: &Node) -> Vec<Value> {
    let group = group(state, nodes, me);
    nodes
        .iter()
        .filter(|n| group.contains(&n.place) && n.cluster_name == me.cluster_name && n.started())
        .map(|n| {
            let alive = n.started() && !partitioned(state, &me.cluster, &n.cluster);
            let token = i64::from_str_radix(&super::controllers::digest(&n.pod["metadata"]["uid"])[..15], 16)
                .unwrap_or_default();
            let status = format!("NORMAL,{token}");
            json!({
                "DC": n.place.2,
                "RACK": n.pod["metadata"]["labels"]["cassandra.datastax.com/rack"],
                "ENDPOINT_IP": n.ip(),
                "HOST_ID": n.pod["metadata"]["uid"],
                "IS_ALIVE": alive.to_string(),
                "IS_LOCAL": (n.ip() == me.ip()).to_string(),
                "CLUSTER_NAME": n.cluster_name,
                "RELEASE_VERSION": n.version,
                "STATUS": status,
                "STATUS_WITH_PORT": status,
                "NATIVE_ADDRESS_AND_PORT": format!("{}:9042", n.ip()),
                "RPC_ADDRESS": n.ip(),
                "PARTITIONER": "org.apache.cassandra.dht.Murmur3Partitioner",
            })
        })
        .collect()
}

/// The datacenters `me` gossips with: its own, and those joined to it through seeds.
fn group(state: &State, nodes: &[Node], me: &Node) -> BTreeSet<Place> {
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
