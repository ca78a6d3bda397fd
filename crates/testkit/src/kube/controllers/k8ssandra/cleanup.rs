//! k8ssandra-operator removing a datacenter that left the K8ssandraCluster's spec but is still
//! in its status (controllers/k8ssandra/cleanup.go `checkDcDeletion`, `deleteDc`;
//! pkg/k8ssandra/util.go `GetDatacenterForDecommission`; v1.32.5), one at a time:
//! `status.datacenters[dc].decommissionProgress` becomes `UpdatingReplication`; once no user
//! keyspace replicates to it (checked in `schemas.rs`; the operator does not alter them) it is
//! `Decommissioning`: the CassandraDatacenter is annotated
//! `cassandra.datastax.com/decommission-on-delete: "true"`, loses the operator's finalizer and
//! is deleted, and the operator waits while its `Decommission` condition is True (cass-operator
//! decommissions its nodes). Once it is gone its status entry goes, and the round goes on.

use serde_json::{Value, json};

use super::{Dc, FINALIZER, Flow, Round, target};
use crate::kube::controllers::cassandra::{DECOMMISSION_ON_DELETE, GROUP};
use crate::kube::controllers::{Write, has_condition, list, merge};
use crate::kube::store::ObjectKey;

pub(super) const UPDATING_REPLICATION: &str = "UpdatingReplication";
pub(super) const DECOMMISSIONING: &str = "Decommissioning";
const PROGRESS: &str = "decommissionProgress";

/// `checkDcDeletion`, before any datacenter is reconciled.
pub(super) fn check_deletion(round: &mut Round<'_>, dcs: &[Dc<'_>]) -> Result<Flow, String> {
    let Some(name) = removed(round, dcs) else { return Ok(Flow::Next) };
    match progress(round, &name) {
        "" => {
            set_progress(round, &name, UPDATING_REPLICATION);
            Ok(Flow::Next)
        }
        UPDATING_REPLICATION => Ok(Flow::Next),
        _ => delete(round, &name),
    }
}

/// The removed datacenter whose replication is being checked, if one is.
pub(super) fn updating_replication(round: &Round<'_>) -> Option<String> {
    round.statuses.keys().find(|name| progress(round, name) == UPDATING_REPLICATION).cloned()
}

pub(super) fn set_progress(round: &mut Round<'_>, name: &str, to: &str) {
    if let Some(status) = round.statuses.get_mut(name).filter(|s| !s.is_null()) {
        status[PROGRESS] = to.into();
    }
}

/// Cassandra's name for a removed datacenter: its `datacenterName`, else its name.
pub(super) fn cassandra_name(round: &Round<'_>, name: &str) -> Result<String, String> {
    let found = find(round, name)?;
    let named = found.and_then(|(_, _, dc)| dc["spec"]["datacenterName"].as_str().filter(|n| !n.is_empty()));
    Ok(named.unwrap_or(name).to_string())
}

/// `GetDatacenterForDecommission`: a datacenter in the status but not the spec, one already
/// being decommissioned first.
fn removed(round: &Round<'_>, dcs: &[Dc<'_>]) -> Option<String> {
    let removed: Vec<&String> = round
        .statuses
        .keys()
        .filter(|name| round.status(name).is_some() && !dcs.iter().any(|dc| dc.name == **name))
        .collect();
    let started = removed.iter().find(|name| !progress(round, name).is_empty());
    started.or(removed.first()).map(|name| name.to_string())
}

fn progress<'r>(round: &'r Round<'_>, name: &str) -> &'r str {
    round.status(name).and_then(|s| s[PROGRESS].as_str()).unwrap_or_default()
}

/// `findDcForDeletion`: the datacenter's object, in the cluster its status's context reaches.
fn find<'s>(round: &Round<'s>, name: &str) -> Result<Option<(String, &'s ObjectKey, &'s Value)>, String> {
    let context = round.status(name).and_then(|s| s["contextName"].as_str()).unwrap_or_default();
    let target = target(round.state, round.cluster, context)?;
    let owned = |dc: &Value| {
        let labels = &dc["metadata"]["labels"];
        labels["k8ssandra.io/cluster-name"] == round.at.name.as_str()
            && labels["k8ssandra.io/cluster-namespace"] == round.at.namespace.as_str()
    };
    let found = list(round.state, &target, GROUP, "cassandradatacenters", None)
        .into_iter()
        .find(|(k, dc)| k.name == name && owned(dc));
    Ok(found.map(|(k, dc)| (target, k, dc)))
}

/// `deleteDc`.
fn delete(round: &mut Round<'_>, name: &str) -> Result<Flow, String> {
    let Some((target, key, dc)) = find(round, name)? else {
        round.statuses.insert(name.to_string(), Value::Null);
        return Ok(Flow::Next);
    };
    if has_condition(dc, "Decommission") {
        return Ok(Flow::Stop);
    }
    let mut finalizers = dc["metadata"]["finalizers"].as_array().cloned().unwrap_or_default();
    finalizers.retain(|f| f != FINALIZER);
    let marked = json!({ "metadata": { "annotations": { DECOMMISSION_ON_DELETE: "true" }, "finalizers": finalizers } });
    round.writes.push(merge(&target, key, marked));
    round.writes.push(Write::Delete { cluster: target, key: key.clone() });
    Ok(Flow::Stop)
}
