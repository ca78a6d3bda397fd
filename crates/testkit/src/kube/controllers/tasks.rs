//! cass-operator's CassandraTask controller (control.k8ssandra.io/v1alpha1; cass-operator
//! v1.32.0, internal/controllers/control/cassandratask_controller.go and jobs.go, unchanged
//! from v1.30.2, which k8ssandra-operator v1.32.5 installs), for the `rebuild` command, only
//! while cass-operator runs in the cluster.
//!
//! A task for `spec.datacenter` (its namespace defaulting to the task's) starts once no other
//! task of that datacenter is active (`concurrencyPolicy` Forbid, the default): it gets the
//! datacenter's labels, `control.k8ssandra.io/status: active`, the datacenter as controlling
//! owner, `status.startTime` and `active: 1`, then the `Running` condition. It runs on every
//! pod of the datacenter, rack by rack (racks and pods in name order), at most
//! `maxConcurrentPods` (default 1) at once in a rack: `POST /api/v1/ops/node/rebuild?src_dc=…`
//! through the Management API, the job id in `status.podStatuses[pod]` (`status` RUNNING,
//! `jobId`, `startTime`), then the job polled: COMPLETED makes the pod COMPLETED; ERROR, under
//! `restartPolicy` OnFailure (the default), sends it back to WAITING until it has failed
//! `retries` (default 1) more times, and then makes it ERROR with the job's error. When every
//! pod is done: `status.completionTime` (set also when pods failed), `active: 0`,
//! `succeeded`/`failed` pod counts, conditions `Complete` True and `Running` False, and
//! `Failed` True with message "N pods failed during processing" if any did; the status label
//! becomes `completed`.
//!
//! Simplified: `scheduledTime` is not waited for, finished tasks are never deleted (the real
//! one deletes them a day later, `ttlSecondsAfterFinished`), other commands and tasks with more
//! than one job are left alone (the real one runs them, or refuses the latter with an error).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::cassandra::{Datacenter, GROUP, RACK_LABEL, REACT, cass_operator_available, host_id};
use super::{Controller, Plan, Write, deleting, get, key, list, merge};
use crate::kube::cassandra::{Change, JobKind};
use crate::kube::ring;
use crate::kube::server::State;
use crate::kube::store::{ObjectKey, now};

const STATUS_LABEL: &str = "control.k8ssandra.io/status";
/// How often a running task asks its pods' jobs how they are (`JobRunningRequeue`).
const POLL: Duration = Duration::from_secs(10);

pub(in crate::kube) struct Tasks;

impl Controller for Tasks {
    fn watches(&self, key: &ObjectKey) -> bool {
        key.group == "control.k8ssandra.io" && key.plural == "cassandratasks"
    }

    fn plan(&self, state: &State, cluster: &str, at: &ObjectKey, task: &Value) -> Plan {
        if !cass_operator_available(state, cluster) || deleting(task) || !task["status"]["completionTime"].is_null() {
            return None;
        }
        let (dc_key, dc_object) = target(state, cluster, at, task)?;
        let dc = Datacenter::of(&dc_key, dc_object);
        let [job] = task["spec"]["jobs"].as_array()?.as_slice() else { return None };
        if job["command"] != "rebuild" {
            return None;
        }
        let source = job["args"]["source_datacenter"].as_str().map(str::to_string);
        if task["metadata"]["labels"][STATUS_LABEL] != "active" {
            if others_active(state, cluster, at, &dc) {
                return None;
            }
            return Some((REACT, vec![activate(cluster, at, task, dc_object, &dc)]));
        }
        Some((POLL, Run { state, cluster, at, task, dc: &dc, source }.round()))
    }
}

/// The task's datacenter.
fn target<'s>(state: &'s State, cluster: &str, at: &ObjectKey, task: &Value) -> Option<(ObjectKey, &'s Value)> {
    let reference = &task["spec"]["datacenter"];
    let namespace = reference["namespace"].as_str().filter(|n| !n.is_empty()).unwrap_or(&at.namespace);
    let dc_key = key(GROUP, "cassandradatacenters", namespace, reference["name"].as_str()?);
    let object = get(state, cluster, &dc_key)?;
    Some((dc_key, object))
}

fn others_active(state: &State, cluster: &str, at: &ObjectKey, dc: &Datacenter) -> bool {
    let labels = dc.labels(None);
    list(state, cluster, &at.group, &at.plural, Some(&at.namespace)).into_iter().any(|(k, t)| {
        let theirs = &t["metadata"]["labels"];
        k != at
            && theirs[STATUS_LABEL] == "active"
            && labels.as_object().is_some_and(|l| l.iter().all(|(name, value)| theirs[name] == *value))
    })
}

/// Starting the run: labels, owner, start time.
fn activate(cluster: &str, at: &ObjectKey, task: &Value, dc_object: &Value, dc: &Datacenter) -> Write {
    let mut labels = dc.labels(None);
    labels[STATUS_LABEL] = "active".into();
    let owner = json!({ "apiVersion": "cassandra.datastax.com/v1beta1", "kind": "CassandraDatacenter", "name": dc_object["metadata"]["name"],
        "uid": dc_object["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true });
    let status = json!({ "startTime": now(), "active": 1, "conditions": conditions(task, &[("Running", "True", "")]) });
    merge(cluster, at, json!({ "metadata": { "labels": labels, "ownerReferences": [owner] }, "status": status }))
}

/// One reconcile of a running rebuild task.
struct Run<'a> {
    state: &'a State,
    cluster: &'a str,
    at: &'a ObjectKey,
    task: &'a Value,
    dc: &'a Datacenter,
    source: Option<String>,
}

impl Run<'_> {
    /// `processRack` over the racks in order, stopping at the first not done; the task
    /// completes when all are.
    fn round(&self) -> Vec<Write> {
        let mut statuses = self.task["status"]["podStatuses"].as_object().cloned().unwrap_or_default();
        let mut writes = Vec::new();
        let (mut completed, mut failed) = (0, 0);
        let mut done = true;
        for rack in self.racks() {
            let outcome = self.rack(&rack, &mut statuses, &mut writes);
            completed += outcome.completed;
            failed += outcome.failed;
            if !outcome.done {
                done = false;
                break;
            }
        }
        let mut status = json!({ "podStatuses": statuses, "succeeded": completed, "failed": failed });
        let mut patch = json!({});
        if done {
            let message = format!("{failed} pods failed during processing");
            let mut settled = vec![("Complete", "True", ""), ("Running", "False", "")];
            if failed > 0 {
                settled.push(("Failed", "True", &message));
            }
            status["conditions"] = conditions(self.task, &settled);
            status["completionTime"] = now().into();
            status["active"] = 0.into();
            patch["metadata"] = json!({ "labels": { STATUS_LABEL: "completed" } });
        }
        patch["status"] = status;
        writes.push(merge(self.cluster, self.at, patch));
        writes
    }

    /// The datacenter's pods by rack, as (name, host id), racks and pods in name order.
    fn racks(&self) -> Vec<Vec<(String, String)>> {
        let mut racks: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        let pods = list(self.state, self.cluster, "", "pods", Some(&self.dc.namespace));
        for (k, pod) in pods.into_iter().filter(|(_, p)| self.dc.owns(p)) {
            let rack = pod["metadata"]["labels"][RACK_LABEL].as_str().unwrap_or_default();
            let host = host_id(self.state, self.cluster, &k.namespace, &k.name);
            racks.entry(rack.to_string()).or_default().push((k.name.clone(), host));
        }
        racks
            .into_values()
            .map(|mut pods| {
                pods.sort();
                pods
            })
            .collect()
    }

    /// `checkRackCompletion` then starting pods up to the rack's limit.
    fn rack(
        &self,
        pods: &[(String, String)],
        statuses: &mut Map<String, Value>,
        writes: &mut Vec<Write>,
    ) -> RackOutcome {
        let mut outcome = RackOutcome { completed: 0, failed: 0, done: false };
        let mut running = 0;
        for (pod, host) in pods {
            let Some(status) = statuses.get_mut(pod) else { continue };
            match status["status"].as_str().unwrap_or_default() {
                "COMPLETED" => outcome.completed += 1,
                "ERROR" => outcome.failed += 1,
                "RUNNING" => match self.poll(host, status) {
                    Polled::Completed => outcome.completed += 1,
                    Polled::Failed => outcome.failed += 1,
                    Polled::Running => running += 1,
                    Polled::Unknown => {
                        statuses.insert(pod.clone(), Value::Null);
                    }
                    Polled::Retry => {}
                },
                _ => {}
            }
        }
        let remaining = pods.len() - (outcome.completed + outcome.failed);
        let limit = self.task["spec"]["maxConcurrentPods"].as_u64().map_or(1, |n| n as usize);
        if running >= limit || (remaining > 0 && remaining == running) {
            return outcome;
        }
        let waiting = pods.iter().filter(|(pod, _)| {
            let status = statuses.get(pod).map(|s| s["status"].clone()).unwrap_or(Value::Null);
            status.is_null() || status == "WAITING"
        });
        for (pod, host) in waiting.take(limit - running).cloned().collect::<Vec<_>>() {
            if let Some(started) = self.start(&host, statuses.get(&pod)) {
                writes.push(started.0);
                statuses.insert(pod, started.1);
            }
        }
        outcome.done = remaining == 0;
        outcome
    }

    /// The pod's rebuild job, asked on its node; `status` updated as `podFailedHandling` does.
    fn poll(&self, host: &str, status: &mut Value) -> Polled {
        let id = status["jobId"].as_str().unwrap_or_default();
        let Some(job) = self.state.cassandra.job(host, id) else { return Polled::Unknown };
        match job["status"].as_str() {
            Some("COMPLETED") => {
                status["status"] = "COMPLETED".into();
                status["completionTime"] = now().into();
                Polled::Completed
            }
            Some("ERROR") => {
                let retries = status["retries"].as_u64().unwrap_or(0);
                if retries < self.max_retries() {
                    status["status"] = "WAITING".into();
                    status["retries"] = (retries + 1).into();
                    // Emptied, and so left out as `omitempty` leaves them out.
                    status["jobId"] = Value::Null;
                    status["error"] = Value::Null;
                    return Polled::Retry;
                }
                status["status"] = "ERROR".into();
                status["error"] = job["error"].clone();
                status["completionTime"] = now().into();
                Polled::Failed
            }
            _ => Polled::Running,
        }
    }

    fn max_retries(&self) -> u64 {
        if self.task["spec"]["restartPolicy"] == "Never" {
            return 0;
        }
        self.task["spec"]["retries"].as_u64().unwrap_or(1)
    }

    /// The rebuild asked of a pod's node, and the pod's new status; `None` while its
    /// Management API does not answer.
    fn start(&self, host: &str, status: Option<&Value>) -> Option<(Write, Value)> {
        let nodes = ring::nodes(self.state);
        nodes.iter().find(|n| n.host_id() == host && n.started())?;
        let id = uuid::Uuid::new_v4().to_string();
        let mut status = status.cloned().filter(|s| !s.is_null()).unwrap_or_else(|| json!({}));
        status["status"] = "RUNNING".into();
        status["jobId"] = id.clone().into();
        if status["startTime"].is_null() {
            status["startTime"] = now().into();
        }
        let job = JobKind::Rebuild { source: self.source.clone() };
        Some((Write::Cassandra(Change::Submit { host_id: host.to_string(), id, job }), status))
    }
}

struct RackOutcome {
    completed: usize,
    failed: usize,
    done: bool,
}

enum Polled {
    Completed,
    Failed,
    /// Failed, to be tried again.
    Retry,
    Running,
    /// The node knows no such job: the pod starts over.
    Unknown,
}

/// The task's conditions with these (type, status, message) set, as `SetCondition` sets them.
fn conditions(task: &Value, set: &[(&str, &str, &str)]) -> Value {
    let mut conditions = task["status"]["conditions"].as_array().cloned().unwrap_or_default();
    for (kind, status, message) in set {
        conditions.retain(|c| c["type"] != *kind);
        let mut condition = json!({ "type": kind, "reason": kind, "status": status, "lastTransitionTime": now() });
        if !message.is_empty() {
            condition["message"] = (*message).into();
        }
        conditions.push(condition);
    }
    Value::Array(conditions)
}
