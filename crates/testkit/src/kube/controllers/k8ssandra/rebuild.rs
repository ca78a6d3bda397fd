//! k8ssandra-operator rebuilding a datacenter added to a running cluster
//! (controllers/k8ssandra/datacenters.go `checkRebuildAnnotation`, `reconcileDcRebuild`,
//! `getSourceDatacenterName`, `newRebuildTask`, `taskFinished`; v1.32.5). A datacenter that the
//! status does not know yet, in a cluster whose status knows another, gets the annotation
//! `k8ssandra.io/rebuild-dc: <dc>` before its CassandraDatacenter is made (so the second
//! datacenter of a new cluster is rebuilt too). Once it is Ready and its keyspaces replicated
//! (`schemas.rs`), a CassandraTask `<dc>-rebuild` in its namespace and cluster, labelled
//! `k8ssandra.io/rebuild-nodes: <size>`, rebuilds it from `spec.cassandra.rebuild.sourceDc`
//! (else the deprecated annotation `k8ssandra.io/rebuild-src-dc`, else the first other Ready
//! datacenter), `maxConcurrentPods` from `rebuild.maxConcurrentRebuilds` (0: all at once). The
//! round waits until the task's succeeded and failed pods add up to that label, then removes
//! the annotation, whether pods failed or not (the operator does not look).

use serde_json::{Value, json};

use super::{Dc, Flow, RESOURCE_HASH, Round};
use crate::kube::controllers::{digest, get, key, merge, status_has_condition};
use crate::kube::crd;
use crate::kube::store::{ObjectKey, now};

pub(super) const REBUILD_DC: &str = "k8ssandra.io/rebuild-dc";
const REBUILD_SOURCE: &str = "k8ssandra.io/rebuild-src-dc";
const REBUILD_NODES: &str = "k8ssandra.io/rebuild-nodes";

/// `checkRebuildAnnotation`.
pub(super) fn mark_if_added(round: &mut Round<'_>, dc: &Dc<'_>) {
    let added = round.status(&dc.name).is_none() && round.statuses.values().any(|s| !s.is_null());
    if added && round.annotation(REBUILD_DC) != Some(dc.name.as_str()) {
        round.annotations.insert(REBUILD_DC.into(), dc.name.clone().into());
    }
}

/// `reconcileDcRebuild` for the Ready datacenter `dc` (its object `actual`).
pub(super) fn reconcile(
    round: &mut Round<'_>,
    dcs: &[Dc<'_>],
    dc: &Dc<'_>,
    target: &str,
    actual: &Value,
) -> Result<Flow, String> {
    let source = source(round, dcs, dc)?;
    let name = format!("{}-rebuild", dc.name);
    let task_key = key("control.k8ssandra.io", "cassandratasks", &dc.namespace, &name);
    if let Some(task) = get(round.state, target, &task_key) {
        if !finished(task, &task_key)? {
            return Ok(Flow::Stop);
        }
        round.annotations.insert(REBUILD_DC.into(), Value::Null);
        return Ok(Flow::Next);
    }
    let served = round.state.clusters.get(target).is_some_and(|c| {
        crd::served_types(c).iter().any(|t| t.group == "control.k8ssandra.io" && t.kind == "CassandraTask")
    });
    if !served {
        return Err("no matches for kind \"CassandraTask\" in version \"control.k8ssandra.io/v1alpha1\"".into());
    }
    let task = new_task(round.object, dc, &name, &source, &actual["spec"]["size"]);
    round.writes.push(merge(target, &task_key, task));
    Ok(Flow::Stop)
}

/// `getSourceDatacenterName`.
fn source(round: &Round<'_>, dcs: &[Dc<'_>], dc: &Dc<'_>) -> Result<String, String> {
    let ready: Vec<String> = dcs
        .iter()
        .filter(|d| round.status(&d.name).is_some_and(|s| status_has_condition(&s["cassandra"], "Ready")))
        .map(Dc::cassandra_name)
        .collect();
    let configured = round.object["spec"]["cassandra"]["rebuild"]["sourceDc"].as_str().filter(|s| !s.is_empty());
    let asked = configured.or_else(|| round.annotation(REBUILD_SOURCE)).filter(|s| !s.is_empty());
    if let Some(asked) = asked {
        if asked == dc.cassandra_name() {
            return Err("rebuild error: src dc and target dc cannot be the same".into());
        }
        return ready.into_iter().find(|r| r == asked).ok_or_else(|| "rebuild error: src dc must a ready dc".into());
    }
    // As the operator does it: Cassandra's names against the object's name.
    let first_other = ready.iter().find(|r| **r != dc.name).cloned();
    first_other.ok_or_else(|| {
        format!(
            "rebuild error: unable to determine src dc for target dc ({}) from dc list ({})",
            dc.name,
            ready.join(" ")
        )
    })
}

/// `newRebuildTask`.
fn new_task(object: &Value, dc: &Dc<'_>, name: &str, source: &str, size: &Value) -> Value {
    let mut spec = json!({
        "datacenter": { "namespace": dc.namespace, "name": dc.name },
        "scheduledTime": now(),
        "jobs": [{ "name": name, "command": "rebuild", "args": { "source_datacenter": source } }],
    });
    if let Some(concurrent) = object["spec"]["cassandra"]["rebuild"]["maxConcurrentRebuilds"].as_i64() {
        spec["maxConcurrentPods"] = if concurrent == 0 { i64::MAX } else { concurrent }.into();
    }
    let nodes = size.as_u64().unwrap_or(0).to_string();
    json!({
        "apiVersion": "control.k8ssandra.io/v1alpha1", "kind": "CassandraTask",
        "metadata": { "name": name, "namespace": dc.namespace, "labels": { REBUILD_NODES: nodes },
                      "annotations": { RESOURCE_HASH: digest(&spec) } },
        "spec": spec,
    })
}

/// `taskFinished`: every node of the label succeeded or failed.
fn finished(task: &Value, at: &ObjectKey) -> Result<bool, String> {
    let label = task["metadata"]["labels"][REBUILD_NODES].as_str().ok_or_else(|| {
        format!("rebuild task {}/{} is missing required label {REBUILD_NODES}", at.namespace, at.name)
    })?;
    let nodes: u64 = label.parse().map_err(|_| {
        format!("failed to parse label {REBUILD_NODES} value for rebuild task {}/{}", at.namespace, at.name)
    })?;
    let status = &task["status"];
    Ok(nodes == status["succeeded"].as_u64().unwrap_or(0) + status["failed"].as_u64().unwrap_or(0))
}
