//! What every connection shares: the clusters, Cassandra's state, the request log, the faults
//! armed by tests and the compiled CRD schemas behind one mutex (handlers are synchronous and never hold it across
//! an await), and a counter bumped on every change that wakes the watches.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use jsonschema::Validator;
use serde_json::Value;

use super::cassandra::{self, Cassandra};
use super::controllers::Write;
use super::errors::KubeError;
use super::store::{Cluster, ObjectKey};
use super::{Fault, Flavor, RecordedRequest, StoredObject, controllers, crd, handlers, patch};
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

/// A controller due to act on an object, if its generation is still this one by then and it
/// still has something to do.
struct Scheduled {
    cluster: String,
    key: ObjectKey,
    generation: Value,
    due: Instant,
}

pub(super) struct State {
    /// `127.0.0.1:PORT`: how kubeconfigs name this server.
    pub host: String,
    /// The token every cluster accepts.
    pub token: String,
    pub clusters: BTreeMap<String, Cluster>,
    /// Pairs of clusters (in name order) between which no packet passes.
    pub partitions: BTreeSet<(String, String)>,
    /// What a process of a cluster read when it last started (see [`Write::Started`]).
    pub started: BTreeMap<(String, &'static str), serde_json::Value>,
    /// The cloud's DNS records of the load balancers it made for EKS Services: host name →
    /// addresses (see [`Write::LoadBalancer`]).
    pub load_balancers: BTreeMap<String, Vec<Ipv4Addr>>,
    /// What the Cassandra nodes of every cluster know: rings, keyspaces, jobs.
    pub cassandra: Cassandra,
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
            host: endpoint.trim_start_matches("http://").to_string(),
            token: token.clone(),
            clusters: BTreeMap::new(),
            partitions: BTreeSet::new(),
            started: BTreeMap::new(),
            load_balancers: BTreeMap::new(),
            cassandra: Cassandra::new(time_scale),
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

    /// The state with what the controllers were due to do done, as every client sees it.
    pub fn settled(&self) -> MutexGuard<'_, State> {
        let mut state = self.lock();
        if state.settle() {
            self.changed();
        }
        state
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
    /// The cluster of that name, created fresh (EKS-like) on first use.
    pub fn cluster(&mut self, name: &str) -> &mut Cluster {
        self.cluster_of(name, Flavor::Eks)
    }

    /// The cluster of that name, created fresh with the objects of `flavor` on first use.
    pub fn cluster_of(&mut self, name: &str, flavor: Flavor) -> &mut Cluster {
        let index = self.clusters.len();
        let started = &mut self.started;
        self.clusters.entry(name.to_string()).or_insert_with(|| {
            let cluster = Cluster::new(flavor, index);
            // CoreDNS started with the cluster's default configuration.
            started.insert((name.to_string(), "coredns"), controllers::coredns_read(&cluster));
            cluster
        })
    }

    /// Lets Cassandra see which of its nodes' Pods run, then schedules every controller that
    /// has work to do and is not yet scheduled for it, as if it had noticed at `since` (a
    /// write's time, or the time a controller's action was due).
    pub fn resync(&mut self, since: Instant) {
        cassandra::observe(self, since);
        let mut found = Vec::new();
        for (name, cluster) in &self.clusters {
            for (key, object) in cluster.iter() {
                let Some(controller) = controllers::controller(key) else { continue };
                let generation = &object["metadata"]["generation"];
                let pending =
                    self.scheduled.iter().any(|s| s.cluster == *name && s.key == *key && s.generation == *generation);
                if pending {
                    continue;
                }
                if let Some((delay, _)) = self.plan(controller, name, key, object) {
                    let due = since + delay.mul_f64(self.time_scale.max(0.0));
                    found.push(Scheduled {
                        cluster: name.clone(),
                        key: key.clone(),
                        generation: generation.clone(),
                        due,
                    });
                }
            }
        }
        self.scheduled.extend(found);
    }

    /// What a controller would write about an object, and after how long; `None` when none of
    /// it would change anything.
    fn plan(
        &self,
        controller: &dyn controllers::Controller,
        cluster: &str,
        key: &ObjectKey,
        object: &serde_json::Value,
    ) -> Option<(std::time::Duration, Vec<Write>)> {
        let (delay, writes) = controller.plan(self, cluster, key, object)?;
        let writes: Vec<Write> = writes.into_iter().filter(|w| self.changes(w)).collect();
        (!writes.is_empty()).then_some((delay, writes))
    }

    /// Whether a write would change anything.
    pub fn changes(&self, write: &Write) -> bool {
        match write {
            Write::Merge { cluster, key, object } => {
                let Some(current) = self.clusters.get(cluster).and_then(|c| c.get(key)) else { return true };
                let mut merged = current.clone();
                patch::merge_patch(&mut merged, object);
                merged != *current
            }
            Write::Delete { cluster, key } => self
                .clusters
                .get(cluster)
                .and_then(|c| c.get(key))
                .is_some_and(|o| o["metadata"]["deletionTimestamp"].is_null()),
            Write::Started { cluster, process, read } => self.started.get(&(cluster.clone(), *process)) != Some(read),
            Write::LoadBalancer { host, addresses } => self.load_balancers.get(host) != Some(addresses),
            Write::Cassandra(change) => self.cassandra.changes(change),
        }
    }

    /// Carries out a controller's write, due at `at`, as the API server would store it.
    fn write(&mut self, write: Write, at: Instant) {
        match write {
            Write::Merge { cluster, key, object } => {
                let cluster = self.cluster(&cluster);
                let mut merged = cluster.get(&key).cloned().unwrap_or_else(|| serde_json::json!({}));
                patch::merge_patch(&mut merged, &object);
                cluster.put(key, merged);
            }
            Write::Delete { cluster, key } => {
                let Some(cluster) = self.clusters.get_mut(&cluster) else { return };
                if let Some(object) = cluster.get(&key).cloned() {
                    handlers::mark_deleted(cluster, key, object);
                }
            }
            Write::Started { cluster, process, read } => {
                self.started.insert((cluster, process), read);
            }
            Write::LoadBalancer { host, addresses } => {
                self.load_balancers.insert(host, addresses);
            }
            Write::Cassandra(change) => cassandra::apply(self, change, at),
        }
    }

    /// Lets the controllers and Cassandra's jobs whose time has come act, earliest first, each
    /// seeing what those before it did; returns whether anything changed.
    pub fn settle(&mut self) -> bool {
        let now = Instant::now();
        let mut changed = false;
        // A bound on the rounds, should a controller never be content.
        for _ in 0..100_000 {
            // Ties go in object order, so that the same requests always meet the same state
            // (the scheduler binds Pods created together in name order).
            let next = (0..self.scheduled.len()).filter(|&i| self.scheduled[i].due <= now).min_by(|&a, &b| {
                let (a, b) = (&self.scheduled[a], &self.scheduled[b]);
                (a.due, &a.cluster, &a.key).cmp(&(b.due, &b.cluster, &b.key))
            });
            let job_first = self
                .cassandra
                .next_job_due()
                .is_some_and(|job| job <= now && next.is_none_or(|i| job < self.scheduled[i].due));
            if job_first {
                if let Some(due) = self.cassandra.finish_job(now) {
                    changed = true;
                    self.resync(due);
                }
                continue;
            }
            let Some(next) = next else { break };
            let s = self.scheduled.swap_remove(next);
            let Some(controller) = controllers::controller(&s.key) else { continue };
            let Some(object) = self.clusters.get(&s.cluster).and_then(|c| c.get(&s.key)).cloned() else { continue };
            if object["metadata"]["generation"] != s.generation {
                continue;
            }
            if let Some((_, writes)) = self.plan(controller, &s.cluster, &s.key, &object) {
                for write in writes {
                    self.write(write, s.due);
                }
                changed = true;
                self.resync(s.due);
            }
        }
        changed
    }

    /// When the next controller or Cassandra job is due to act.
    pub fn next_due(&self) -> Option<Instant> {
        self.scheduled.iter().map(|s| s.due).chain(self.cassandra.next_job_due()).min()
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
