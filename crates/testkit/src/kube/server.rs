//! What every connection shares: the clusters, the request log, the faults armed by tests and
//! the compiled CRD schemas behind one mutex (handlers are synchronous and never hold it across
//! an await), and a counter bumped on every change that wakes the watches.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use jsonschema::Validator;
use serde_json::Value;

use super::errors::KubeError;
use super::store::Cluster;
use super::{Fault, RecordedRequest, crd, handlers};
use crate::http;

pub(super) struct Shared {
    pub endpoint: String,
    pub token: String,
    pub state: Arc<Mutex<State>>,
    changes: tokio::sync::watch::Sender<u64>,
}

/// A fault armed by a test: the next `remaining` requests whose path contains `fragment`.
struct Armed {
    fragment: String,
    remaining: u32,
    fault: Fault,
}

#[derive(Default)]
pub(super) struct State {
    pub clusters: BTreeMap<String, Cluster>,
    pub requests: Vec<RecordedRequest>,
    faults: Vec<Armed>,
    /// Keyed by CRD uid, generation and version.
    validators: HashMap<String, Arc<Validator>>,
}

impl Shared {
    pub fn new(endpoint: String, token: String) -> Shared {
        Shared { endpoint, token, state: Arc::default(), changes: tokio::sync::watch::Sender::new(0) }
    }

    /// The state, even after a handler panicked while holding it: a test fake must keep serving.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Wakes the watches: something may have changed.
    pub fn changed(&self) {
        self.changes.send_modify(|n| *n += 1);
    }

    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }
}

pub(super) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl State {
    /// The cluster of that name, created fresh on first use.
    pub fn cluster(&mut self, name: &str) -> &mut Cluster {
        self.clusters.entry(name.to_string()).or_insert_with(Cluster::new)
    }

    pub fn arm(&mut self, fragment: &str, times: u32, fault: Fault) {
        self.faults.push(Armed { fragment: fragment.to_string(), remaining: times, fault });
    }

    /// The fault the request meets, if one is armed for its path; watch faults only for watches.
    pub fn take_fault(&mut self, path: &str, watch: bool) -> Option<Fault> {
        let armed = self.faults.iter_mut().find(|a| {
            a.remaining > 0 && path.contains(&a.fragment) && (watch || !matches!(a.fault, Fault::DropWatchAfter { .. }))
        })?;
        armed.remaining -= 1;
        let fault = armed.fault.clone();
        self.faults.retain(|a| a.remaining > 0);
        Some(fault)
    }

    /// The compiled schema of one version of a CRD; `None` when the version has no schema.
    pub fn validator(&mut self, crd: &Value, version: &str) -> Option<Result<Arc<Validator>, String>> {
        let schema = crd::version_schema(crd, version)?;
        let metadata = &crd["metadata"];
        let key = format!("{}/{}/{version}", metadata["uid"], metadata["generation"]);
        if let Some(validator) = self.validators.get(&key) {
            return Some(Ok(validator.clone()));
        }
        Some(crd::compile(schema).map(|validator| {
            let validator = Arc::new(validator);
            self.validators.insert(key, validator.clone());
            validator
        }))
    }
}

impl http::Service for Shared {
    fn handle(&self, request: &http::Request<'_>) -> http::Response {
        let response = handlers::handle(self, request);
        self.lock().requests.push(RecordedRequest {
            method: request.method.to_string(),
            path: request.path.to_string(),
            query: request.query.clone(),
            status: response.status,
        });
        if request.method != "GET" {
            self.changed();
        }
        response
    }

    fn failure(&self, message: &str) -> http::Response {
        KubeError::new(500, "InternalError", message).into_response()
    }
}
