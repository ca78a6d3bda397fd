//! The fake Kubernetes API server driven over real HTTP by the deliberately dumb [`client`], so
//! the tests see exactly what goes over the wire; [`kubectl`] runs the real kubectl against it.

mod api;
mod controllers;
mod datacenters;
mod dns;
mod kubectl;
mod lists;
mod management;
mod nodes;
mod operators;
mod watches;

use std::io::{BufRead, BufReader};

use serde::Deserialize;
use serde_json::Value;

use super::FakeKube;
use crate::http::client;

pub(super) struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Asserts the status and, for errors, that the body is a `Status` with this reason.
    #[track_caller]
    pub fn expect(self, status: u16, reason: &str) -> Response {
        let got = self.body["reason"].as_str().unwrap_or_default();
        assert_eq!((self.status, got), (status, reason), "body: {}", self.body);
        if status >= 400 {
            assert_eq!(
                (self.body["kind"].as_str(), self.body["code"].as_u64()),
                (Some("Status"), Some(u64::from(status)))
            );
        }
        self
    }

    #[track_caller]
    pub fn ok(self) -> Value {
        assert!(self.status < 300, "status {}: {}", self.status, self.body);
        self.body
    }
}

/// A namespaced CRD serving `kind` (plural: lower-case with `s`) in `group`/`version` with a
/// status subresource, and the schema of `tests/fixtures/crds/<fixture>.schema.json` if given.
pub(super) fn crd(group: &str, version: &str, kind: &str, fixture: Option<&str>) -> Value {
    let schema = match fixture {
        Some(name) => {
            let path = crate::fixtures_dir().join(format!("crds/{name}.schema.json"));
            serde_json::from_str(&std::fs::read_to_string(&path).expect("the fixture")).expect("JSON")
        }
        None => serde_json::json!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true }),
    };
    let singular = kind.to_lowercase();
    let plural = format!("{singular}s");
    serde_json::json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": { "name": format!("{plural}.{group}") },
        "spec": {
            "group": group,
            "names": { "kind": kind, "listKind": format!("{kind}List"), "plural": plural, "singular": singular },
            "scope": "Namespaced",
            "versions": [{ "name": version, "served": true, "storage": true, "schema": { "openAPIV3Schema": schema }, "subresources": { "status": {} } }]
        }
    })
}

/// The CassandraTask CRD as cass-operator v1.32.0 installs it, taken from the install manifest
/// ringform embeds (`crates/kube/manifests/cass-operator-v1.32.0-cluster.yaml`).
pub(super) fn cassandra_task_crd() -> Value {
    static CRD: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    CRD.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../kube/manifests/cass-operator-v1.32.0-cluster.yaml");
        let text = std::fs::read_to_string(path).expect("the cass-operator manifest");
        serde_yaml_ng::Deserializer::from_str(&text)
            .filter_map(|document| Value::deserialize(document).ok())
            .find(|o| {
                o["kind"] == "CustomResourceDefinition"
                    && o["metadata"]["name"] == "cassandratasks.control.k8ssandra.io"
            })
            .expect("the CassandraTask CRD")
    })
    .clone()
}

/// Waits (up to 5 s) until `done`, and says how long that took.
#[track_caller]
pub(super) fn wait_for(what: &str, mut done: impl FnMut() -> bool) -> std::time::Duration {
    let started = std::time::Instant::now();
    while !done() {
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{what}: not within 5 s");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    started.elapsed()
}

/// One request with `token`; `content_type` says how `body` is encoded.
pub(super) fn raw(
    kube: &FakeKube,
    method: &str,
    target: &str,
    content_type: &str,
    body: &[u8],
    token: Option<&str>,
) -> Response {
    let authorization = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", content_type), ("User-Agent", "testclient/1.0")];
    headers.extend(authorization.as_deref().map(|a| ("Authorization", a)));
    let answer = client::request(&kube.endpoint(), method, target, &headers, body);
    let body =
        if answer.body.is_empty() { Value::Null } else { serde_json::from_str(&answer.body).expect("a JSON body") };
    Response { status: answer.status, headers: answer.headers, body }
}

pub(super) fn call(kube: &FakeKube, method: &str, target: &str, body: Option<&Value>) -> Response {
    let body = body.map(|b| serde_json::to_vec(b).expect("JSON")).unwrap_or_default();
    raw(kube, method, target, "application/json", &body, Some(&kube.token()))
}

/// A server-side apply of a JSON body by `manager`; `extra` is appended to the query.
pub(super) fn apply(kube: &FakeKube, target: &str, manager: &str, extra: &str, body: &Value) -> Response {
    let target = format!("{target}?fieldManager={manager}{extra}");
    let body = serde_json::to_vec(body).expect("JSON");
    raw(kube, "PATCH", &target, "application/apply-patch+yaml", &body, Some(&kube.token()))
}

/// A watch's events, read until the server ends the stream (give it `timeoutSeconds` or a
/// fault that drops it) or `limit` events came.
pub(super) fn watch(kube: &FakeKube, target: &str, limit: usize) -> Vec<Value> {
    let authorization = format!("Bearer {}", kube.token());
    let stream = client::send(&kube.endpoint(), "GET", target, &[("Authorization", &authorization)], b"");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).expect("a read timeout");
    let mut events = Vec::new();
    // Each event is one chunk of the chunked body: its own line, between the chunk sizes.
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { break };
        if line.starts_with('{') {
            events.push(serde_json::from_str(&line).expect("a JSON event"));
            if events.len() == limit {
                break;
            }
        }
    }
    events
}
