//! The fake Kubernetes API server driven over real HTTP by a deliberately dumb client (one
//! request per connection, raw HTTP/1.1), so the tests see exactly what goes over the wire;
//! [`kubectl`] runs the real kubectl against it.

mod api;
mod controllers;
mod kubectl;
mod watches;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use serde_json::Value;

use super::FakeKube;

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

fn send(
    kube: &FakeKube,
    method: &str,
    target: &str,
    content_type: &str,
    body: &[u8],
    token: Option<&str>,
) -> TcpStream {
    let mut stream = TcpStream::connect(kube.endpoint().trim_start_matches("http://")).expect("connect");
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: kube\r\nConnection: close\r\nUser-Agent: testclient/1.0\r\n{auth}Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body)).expect("send");
    stream
}

/// One request with the right token; `content_type` says how `body` is encoded.
pub(super) fn raw(
    kube: &FakeKube,
    method: &str,
    target: &str,
    content_type: &str,
    body: &[u8],
    token: Option<&str>,
) -> Response {
    let mut stream = send(kube, method, target, content_type, body, token);
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).expect("receive");
    let text = String::from_utf8(bytes).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("a header block");
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("status line");
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.to_string(), v.trim().to_string())).collect();
    let body = if body.is_empty() { Value::Null } else { serde_json::from_str(body).expect("a JSON body") };
    Response { status, headers, body }
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
    let stream = send(kube, "GET", target, "application/json", b"", Some(&kube.token()));
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
