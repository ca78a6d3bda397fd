//! Watches: newline-delimited `{"type", "object"}` events streamed from a task on the server's
//! runtime. A watch starts with the current objects as ADDED events (when no resourceVersion
//! or `0` is given, and with a closing BOOKMARK marked `k8s.io/initial-events-end` for
//! `sendInitialEvents=true`), or with the cluster's history after the given resourceVersion —
//! an ERROR event with a 410 `Expired` Status when that history is forgotten. It then follows
//! every change until `timeoutSeconds`, the client hangs up, or a test-armed fault drops it.
//! With a selector, an object that comes into or leaves the selection is ADDED or DELETED.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::errors::KubeError;
use super::resources::ResourceType;
use super::selectors::Selector;
use super::server::{Shared, State, lock};
use super::store::{Cluster, Event, EventType};
use crate::http::{Body, Response};

pub(super) struct Options {
    pub cluster: String,
    pub t: ResourceType,
    pub namespace: Option<String>,
    pub selector: Selector,
    pub bookmarks: bool,
    pub initial_events_end: bool,
    pub timeout: Option<Duration>,
    /// Close the stream after this many events (a fault armed by a test).
    pub drop_after: Option<usize>,
}

impl Options {
    /// The event this watch sends for a change, if any: a modified object that came into the
    /// selection is ADDED, one that left it is DELETED, as the real server has it.
    fn translate(&self, e: &Event) -> Option<Value> {
        if !self.t.is(&e.key.group, &e.key.plural) || self.namespace.as_deref().is_some_and(|ns| ns != e.key.namespace)
        {
            return None;
        }
        let now = self.selector.matches(&e.object);
        let before = e.previous.as_ref().is_some_and(|p| self.selector.matches(p));
        let kind = match (e.r#type, before, now) {
            (EventType::Modified, false, true) => "ADDED",
            (EventType::Modified, true, false) => "DELETED",
            (kind, _, true) => kind.as_str(),
            _ => return None,
        };
        Some(event(kind, &e.object))
    }

    fn bookmark(&self, revision: u64, initial_end: bool) -> Value {
        let mut metadata = json!({ "resourceVersion": revision.to_string() });
        if initial_end {
            metadata["annotations"] = json!({ "k8s.io/initial-events-end": "true" });
        }
        let object = json!({ "kind": self.t.kind, "apiVersion": self.t.api_version(), "metadata": metadata });
        event("BOOKMARK", &object)
    }
}

fn event(kind: &str, object: &Value) -> Value {
    json!({ "type": kind, "object": object })
}

/// Starts a watch of `cluster` after `since` (`None`: from the current objects).
pub(super) fn start(shared: &Shared, cluster: &Cluster, options: Options, since: Option<u64>) -> Response {
    let mut first = Vec::new();
    let cursor = match since {
        Some(revision) if cluster.events_after(revision).is_none() => {
            let message = format!("too old resource version: {revision} ({})", cluster.revision());
            first.push(event("ERROR", &KubeError::new(410, "Expired", message).status()));
            None
        }
        Some(revision) => Some(revision),
        None => {
            let current = cluster.list(&options.t.group, &options.t.plural, options.namespace.as_deref());
            first.extend(current.filter(|(_, o)| options.selector.matches(o)).map(|(_, o)| event("ADDED", o)));
            if options.initial_events_end {
                first.push(options.bookmark(cluster.revision(), true));
            }
            Some(cluster.revision())
        }
    };
    let (sender, receiver) = mpsc::channel(256);
    let stream = Stream { sender, sent: 0, drop_after: options.drop_after };
    let changes = Changes { sender: shared.changes.clone(), receiver: shared.changes.subscribe() };
    tokio::spawn(follow(shared.state.clone(), changes, options, first, cursor, stream));
    Response {
        status: 200,
        headers: vec![("Content-Type", "application/json".to_string())],
        body: Body::Stream(receiver),
    }
}

struct Stream {
    sender: mpsc::Sender<Vec<u8>>,
    sent: usize,
    drop_after: Option<usize>,
}

impl Stream {
    /// Sends one event; false when the watch is over (client gone, or the fault's count reached).
    async fn send(&mut self, event: &Value) -> bool {
        if self.drop_after.is_some_and(|n| self.sent >= n) {
            return false;
        }
        let mut line = serde_json::to_vec(event).unwrap_or_default();
        line.push(b'\n');
        self.sent += 1;
        self.sender.send(line).await.is_ok() && self.drop_after.is_none_or(|n| self.sent < n)
    }
}

/// The server's change counter: watched, and bumped when controllers act on a watch's wake-up.
struct Changes {
    sender: Arc<tokio::sync::watch::Sender<u64>>,
    receiver: tokio::sync::watch::Receiver<u64>,
}

async fn follow(
    state: Arc<Mutex<State>>,
    mut changes: Changes,
    options: Options,
    first: Vec<Value>,
    cursor: Option<u64>,
    mut stream: Stream,
) {
    for event in &first {
        if !stream.send(event).await {
            return;
        }
    }
    let Some(mut cursor) = cursor else { return };
    let deadline = options.timeout.map(|t| Instant::now() + t);
    loop {
        changes.receiver.borrow_and_update();
        let (events, next_due) = {
            let mut state = lock(&state);
            if state.settle() {
                changes.sender.send_modify(|n| *n += 1);
                changes.receiver.borrow_and_update();
            }
            let Some(cluster) = state.clusters.get(&options.cluster) else { return };
            let Some(events) = cluster.events_after(cursor) else { return };
            let events: Vec<Value> = events.filter_map(|e| options.translate(e)).collect();
            cursor = cluster.revision();
            (events, state.next_due())
        };
        for event in &events {
            if !stream.send(event).await {
                return;
            }
        }
        let timed_out = async {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        let controllers_due = async {
            match next_due {
                Some(due) => tokio::time::sleep_until(Instant::from_std(due)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            changed = changes.receiver.changed() => if changed.is_err() { return },
            () = controllers_due => {}
            () = timed_out => {
                if options.bookmarks {
                    stream.send(&options.bookmark(cursor, false)).await;
                }
                return;
            }
            () = stream.sender.closed() => return,
        }
    }
}
