//! Each Cassandra pod's Management API on port 8080, answered through the pod proxy
//! (`/<cluster>/api/v1/namespaces/<ns>/pods/<pod>:8080/proxy/<path>`, query passed on) as
//! management-api-for-apache-cassandra v0.1.125 (commit 7a2b61f8) answers it; paths, bodies and
//! codes from its management-api-server resources:
//!
//! | request | answer |
//! | --- | --- |
//! | `GET api/v0/metadata/endpoints` | 200 `{"entity": [gossip endpoint states]}` (see `ring.rs`) |
//! | `GET api/v0/metadata/localdc` | 200, the datacenter's name (text) |
//! | `GET api/v0/probes/liveness`, `…/readiness` | 200 `OK` |
//! | `GET api/v0/ops/keyspace[?keyspaceName=ks]` | 200 `["system", "system_schema", "system_auth", …]`, or just `ks` if it exists (KeyspaceOpsResources.list) |
//! | `GET api/v0/ops/keyspace/replication?keyspaceName=ks` | 200 `{"class": "org.apache.cassandra.locator.NetworkTopologyStrategy", "dc1": "3"}`; 400 without a name; 404 `Get keyspace replication failed. Keyspace 'ks' does not exist.` |
//! | `POST api/v0/ops/keyspace/create` `{"keyspace_name": "ks", "replication_settings": [{"dc_name": "dc1", "replication_factor": 3}]}` | 200 `OK` (`CREATE KEYSPACE IF NOT EXISTS` with NetworkTopologyStrategy); 400 without a name or settings; 500 with Cassandra's refusal (see `cassandra/schema.rs`) |
//! | `POST api/v0/ops/keyspace/alter`, same body | 200 `OK` (the whole replication replaced); 400; 500 with Cassandra's refusal |
//! | `POST api/v1/ops/node/rebuild?src_dc=dc1` | 202, the job's id (text) (v1/NodeOpsResources.rebuild) |
//! | `POST api/v1/ops/node/decommission?force=true` | 202, the job's id (v1/NodeOpsResources.decommission) |
//! | `GET api/v0/ops/executor/job?job_id=…` | 200 `{"id", "type", "status": "WAITING"/"COMPLETED"/"ERROR", "submit_time", "end_time", "error", "status_changes"}`; 404 `{}` for a job this node does not know (K8OperatorResources.getJobStatus) |
//!
//! A known path asked with another method is 405, anything else 404, as JAX-RS answers. Text
//! answers are `text/plain`. The pod must exist (404 from the API server otherwise) and be
//! Ready on port 8080 (503, as the proxy says when nothing listens). Simplified: a body that
//! is not the JSON above is a 400 with a short message (RESTEasy's own wording is not
//! reproduced); the blocking v0 `decommission` and the other operations are not served.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Deserialize;
use serde_json::{Value, json};

use super::cassandra::JobKind;
use super::errors::{KubeError, json_response};
use super::ring;
use super::server::State;
use crate::http::{Body, Request, Response};

/// The node a request reached.
struct Caller {
    cluster: String,
    namespace: String,
    pod: String,
    host_id: String,
    datacenter: String,
}

type Handler = fn(&mut State, &Caller, &Request<'_>) -> Response;

const ROUTES: &[(&str, &str, Handler)] = &[
    ("GET", "api/v0/metadata/endpoints", endpoints),
    ("GET", "api/v0/metadata/localdc", local_datacenter),
    ("GET", "api/v0/probes/liveness", ok),
    ("GET", "api/v0/probes/readiness", ok),
    ("GET", "api/v0/ops/keyspace", keyspaces),
    ("GET", "api/v0/ops/keyspace/replication", replication),
    ("POST", "api/v0/ops/keyspace/create", create),
    ("POST", "api/v0/ops/keyspace/alter", alter),
    ("POST", "api/v1/ops/node/rebuild", rebuild),
    ("POST", "api/v1/ops/node/decommission", decommission),
    ("GET", "api/v0/ops/executor/job", job),
];

/// What the Management API of `pod` answers `request` for `path` (after `proxy/`).
pub(super) fn proxy(
    state: &mut State,
    (cluster, namespace, pod, port): (&str, &str, &str, &str),
    path: &str,
    request: &Request<'_>,
) -> Result<Response, KubeError> {
    let exists =
        state.clusters.get(cluster).is_some_and(|c| c.list("", "pods", Some(namespace)).any(|(k, _)| k.name == pod));
    if !exists {
        return Err(KubeError::new(404, "NotFound", format!("pods \"{pod}\" not found")));
    }
    let nodes = ring::nodes(state);
    let me = nodes.iter().find(|n| n.is(cluster, namespace, pod));
    let Some(me) = me.filter(|n| n.started() && port == "8080") else {
        let message = format!("error trying to reach service: dial tcp {pod}:{port}: connect: connection refused");
        return Err(KubeError::new(503, "ServiceUnavailable", message));
    };
    let caller = Caller {
        cluster: cluster.into(),
        namespace: namespace.into(),
        pod: pod.into(),
        host_id: me.host_id().into(),
        datacenter: me.place.2.clone(),
    };
    let path = path.trim_matches('/');
    let routed = ROUTES.iter().filter(|(_, p, _)| *p == path);
    let Some((_, _, handler)) = routed.clone().find(|(method, ..)| *method == request.method) else {
        let known = routed.count() > 0;
        return Ok(if known { text(405, "HTTP 405 Method Not Allowed") } else { text(404, "HTTP 404 Not Found") });
    };
    let response = handler(state, &caller, request);
    if request.method != "GET" {
        // The controllers that read Cassandra (k8ssandra-operator, CassandraTasks) look again.
        state.resync(Instant::now());
    }
    Ok(response)
}

fn endpoints(state: &mut State, caller: &Caller, _: &Request<'_>) -> Response {
    let nodes = ring::nodes(state);
    let entity = match nodes.iter().find(|n| n.is(&caller.cluster, &caller.namespace, &caller.pod)) {
        Some(me) => ring::endpoints(state, &nodes, me),
        None => Vec::new(),
    };
    json_response(200, &json!({ "entity": entity }))
}

fn local_datacenter(_: &mut State, caller: &Caller, _: &Request<'_>) -> Response {
    text(200, &caller.datacenter)
}

fn ok(_: &mut State, _: &Caller, _: &Request<'_>) -> Response {
    text(200, "OK")
}

fn keyspaces(state: &mut State, caller: &Caller, request: &Request<'_>) -> Response {
    let wanted = request.query.get("keyspaceName").filter(|k| !k.trim().is_empty());
    let names: Vec<String> = state
        .cassandra
        .keyspace_names(&caller.host_id)
        .into_iter()
        .filter(|name| wanted.is_none_or(|w| w == name))
        .collect();
    json_response(200, &json!(names))
}

fn replication(state: &mut State, caller: &Caller, request: &Request<'_>) -> Response {
    let Some(keyspace) = request.query.get("keyspaceName").filter(|k| !k.trim().is_empty()) else {
        return text(400, "Get keyspace replication failed. Non-empty 'keyspaceName' must be provided");
    };
    match state.cassandra.replication_map(&caller.host_id, keyspace) {
        Some(replication) => json_response(200, &json!(replication)),
        None => text(404, &format!("Get keyspace replication failed. Keyspace '{keyspace}' does not exist.")),
    }
}

/// `CreateOrAlterKeyspaceRequest`.
#[derive(Deserialize)]
struct KeyspaceRequest {
    keyspace_name: Option<String>,
    #[serde(default)]
    replication_settings: Vec<ReplicationSetting>,
}

#[derive(Deserialize)]
struct ReplicationSetting {
    dc_name: String,
    replication_factor: u32,
}

fn create(state: &mut State, caller: &Caller, request: &Request<'_>) -> Response {
    change_keyspace(state, caller, request, "Keyspace creation failed.", |cassandra, host, keyspace, factors| {
        cassandra.create_keyspace(host, keyspace, factors, Instant::now())
    })
}

fn alter(state: &mut State, caller: &Caller, request: &Request<'_>) -> Response {
    change_keyspace(state, caller, request, "Altering Keyspace failed.", |cassandra, host, keyspace, factors| {
        cassandra.alter_keyspace(host, keyspace, factors, Instant::now())
    })
}

type KeyspaceChange = fn(&mut super::cassandra::Cassandra, &str, &str, &BTreeMap<String, u32>) -> Result<(), String>;

/// A create or an alter: the body checked as KeyspaceOpsResources checks it (`failed` starts
/// its 400 messages), then the statement through the node.
fn change_keyspace(
    state: &mut State,
    caller: &Caller,
    request: &Request<'_>,
    failed: &str,
    change: KeyspaceChange,
) -> Response {
    let body: KeyspaceRequest = match serde_json::from_slice(request.body) {
        Ok(body) => body,
        Err(error) => return text(400, &format!("Unable to process JSON: {error}")),
    };
    let Some(keyspace) = body.keyspace_name.filter(|k| !k.trim().is_empty()) else {
        return text(400, &format!("{failed} Non-empty 'keyspace_name' must be provided"));
    };
    if body.replication_settings.is_empty() {
        return text(400, &format!("{failed} 'replication_settings' must be provided"));
    }
    let factors = body.replication_settings.into_iter().map(|s| (s.dc_name, s.replication_factor)).collect();
    match change(&mut state.cassandra, &caller.host_id, &keyspace, &factors) {
        Ok(()) => text(200, "OK"),
        Err(refusal) => text(500, &refusal),
    }
}

fn rebuild(state: &mut State, caller: &Caller, request: &Request<'_>) -> Response {
    let source = request.query.get("src_dc").cloned();
    start_job(state, caller, JobKind::Rebuild { source })
}

fn decommission(state: &mut State, caller: &Caller, request: &Request<'_>) -> Response {
    // JAX-RS reads a boolean query parameter as `Boolean.valueOf`.
    let force = request.query.get("force").is_some_and(|f| f.eq_ignore_ascii_case("true"));
    start_job(state, caller, JobKind::Decommission { force })
}

fn start_job(state: &mut State, caller: &Caller, kind: JobKind) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    state.cassandra.submit(&caller.host_id, id.clone(), kind, Instant::now());
    text(202, &id)
}

fn job(state: &mut State, caller: &Caller, request: &Request<'_>) -> Response {
    let id = request.query.get("job_id").map(String::as_str).unwrap_or_default();
    match state.cassandra.job(&caller.host_id, id) {
        Some(job) => json_response(200, &job),
        None => json_response(404, &Value::Object(serde_json::Map::new())),
    }
}

fn text(status: u16, body: &str) -> Response {
    Response {
        status,
        headers: vec![("Content-Type", "text/plain".to_string())],
        body: Body::Full(body.as_bytes().to_vec()),
    }
}
