//! What every connection shares: the clusters, the request log, the faults armed by tests and
//! the compiled CRD schemas behind one mutex (handlers are synchronous and never hold it across
//! an await), and a counter bumped on every change that wakes the watches.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use jsonschema::Validator;
use serde_json::Value;

use super::errors::KubeError;
use super::store::{Cluster, ObjectKey};
use super::{Fault, RecordedRequest, StoredObject, controllers, crd, handlers};
use crate::http;

pub(super) struct Shared {
    pub endpoint: String,
    pub token: String,
    pub state: Arc<Mutex<State>>,
    pub changes: Arc<tokio::sync::watch::Sender<u64>>,
}

/// A fault armed by a test: the next `remaining` requests whose path contains `fragment`.
struct Armed {
    fragment: String,
    remaining: u32,
    fault: Fault,
}

/// A controller due to act on an object, if its generation is still this one by then.
struct Scheduled {
    cluster: String,
    key: ObjectKey,
    generation: Value,
    due: Instant,
}

pub(super) struct State {
    pub clusters: BTreeMap<String, Cluster>,
    pub requests: Vec<RecordedRequest>,
    faults: Vec<Armed>,
    /// Keyed by CRD uid, generation and version.
    validators: HashMap<String, Arc<Validator>>,
    time_scale: f64,
    scheduled: Vec<Scheduled>,
}

impl Shared {
    pub fn new(endpoint: String, token: String, time_scale: f64) -> Shared {
        let state = State {
            clusters: BTreeMap::new(),
            requests: Vec::new(),
            faults: Vec::new(),
            validators: HashMap::new(),
            time_scale,
            scheduled: Vec::new(),
        };
        let changes = Arc::new(tokio::sync::watch::Sender::new(0));
        Shared { endpoint, token, state: Arc::new(Mutex::new(state)), changes }
    }

    /// The state, even after a handler panicked while holding it: a test fake must keep serving.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Wakes the watches: something may have changed.
    pub fn changed(&self) {
        self.changes.send_modify(|n| *n += 1);
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

    /// Schedules the controller of an object just written, if its type has one with work to do.
    pub fn schedule(&mut self, cluster: &str, key: &ObjectKey) {
        let Some(controller) = controllers::controller(key) else { return };
        let Some(object) = self.clusters.get(cluster).and_then(|c| c.get(key)) else { return };
        let Some(delay) = controller.delay(object) else { return };
        let due = Instant::now() + delay.mul_f64(self.time_scale.max(0.0));
        let generation = object["metadata"]["generation"].clone();
        self.scheduled.push(Scheduled { cluster: cluster.to_string(), key: key.clone(), generation, due });
    }

    /// Lets the controllers whose time has come act; returns whether any object changed.
    pub fn settle(&mut self) -> bool {
        let now = Instant::now();
        let (due, later): (Vec<Scheduled>, Vec<Scheduled>) = self.scheduled.drain(..).partition(|s| s.due <= now);
        self.scheduled = later;
        let mut changed = false;
        for s in due {
            let (Some(controller), Some(cluster)) =
                (controllers::controller(&s.key), self.clusters.get_mut(&s.cluster))
            else {
                continue;
            };
            let Some(mut object) = cluster.get(&s.key).cloned() else { continue };
            if object["metadata"]["generation"] == s.generation && controller.delay(&object).is_some() {
                controller.reconcile(&mut object);
                cluster.put(s.key, object);
                changed = true;
            }
        }
        changed
    }

    /// When the next controller is due to act.
    pub fn next_due(&self) -> Option<Instant> {
        self.scheduled.iter().map(|s| s.due).min()
    }

    /// Every object of every cluster, by cluster.
    pub fn all_objects(&self) -> Vec<StoredObject> {
        let each = |(name, cluster): (&String, &Cluster)| {
            cluster.iter().map(|(_, o)| StoredObject { cluster: name.clone(), object: o.clone() }).collect::<Vec<_>>()
        };
        self.clusters.iter().flat_map(each).collect()
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
