//! k8ssandra-operator's keyspace replication (controllers/k8ssandra/schemas.go `checkSchemas`,
//! v1.32.5), sent through the Management API of the Ready datacenter the round is at:
//! - `system_auth`, `system_distributed` and `system_traces` get up to three replicas in each
//!   Initialized datacenter (`updateReplicationOfSystemKeyspaces`), except while a datacenter is
//!   being removed from a Cassandra 4 cluster (4.1 wants `system_auth` replicas in a datacenter
//!   until it is gone);
//! - while a removed datacenter is `UpdatingReplication`, no user keyspace may still replicate
//!   to it, or the round fails "cannot decommission DC dc2: keyspace ks still has replicas on
//!   it" (`checkUserKeyspacesReplicationForDecommission`: the operator checks, it never alters
//!   them); then the datacenter goes on to `Decommissioning`;
//! - the datacenter being added (`k8ssandra.io/rebuild-dc`) gets, in each user keyspace, the
//!   factor the `k8ssandra.io/dc-replication` annotation gives it (`{"dc2": {"ks": 3}}`, which
//!   must name every user keyspace for each datacenter it lists) (`updateUserKeyspacesReplication`).
//!
//! Each keyspace is created if missing, else altered if its replication differs
//! (`EnsureKeyspaceReplication`); one Cassandra refuses fails the round with "CALL alter
//! keyspaces ks failed on all datacenter dc1 pods" or "CALL create keyspace ks failed on all
//! datacenter dc1 pods" (pkg/cassandra/management.go).

use std::collections::BTreeMap;

use serde_json::Value;

use super::rebuild::REBUILD_DC;
use super::{Dc, Flow, Round, cleanup, replication_of};
use crate::kube::cassandra::Change;
use crate::kube::controllers::Write;

/// `api.SystemKeyspaces`.
const SYSTEM_KEYSPACES: [&str; 3] = ["system_traces", "system_distributed", "system_auth"];
/// `getInternalKeyspaces` less Stargate's and Reaper's, which are not modelled.
const INTERNAL_KEYSPACES: [&str; 4] = ["system", "system_schema", "system_views", "system_virtual_schema"];
const DC_REPLICATION: &str = "k8ssandra.io/dc-replication";

/// `checkSchemas` for a Ready datacenter.
pub(super) fn check(round: &mut Round<'_>, dcs: &[Dc<'_>], dc: &Dc<'_>, target: &str) -> Result<Flow, String> {
    let through = Through::new(round, dc, target)?;
    system_keyspaces(round, dcs, &through)?;
    if let Some(removed) = cleanup::updating_replication(round) {
        let decommissioned = cleanup::cassandra_name(round, &removed)?;
        no_replicas_left(round, &through, &decommissioned)?;
        cleanup::set_progress(round, &removed, cleanup::DECOMMISSIONING);
        return Ok(Flow::Stop);
    }
    if round.annotation(REBUILD_DC) == Some(dc.name.as_str()) {
        user_keyspaces(round, dcs, dc, &through)?;
    }
    Ok(Flow::Next)
}

/// The datacenter whose nodes the statements go through.
struct Through {
    place: (String, String, String),
    host: String,
    /// The CassandraDatacenter's name, as the errors give it.
    name: String,
}

impl Through {
    fn new(round: &Round<'_>, dc: &Dc<'_>, target: &str) -> Result<Through, String> {
        let place = (target.to_string(), dc.namespace.clone(), dc.cassandra_name());
        let host = round
            .state
            .cassandra
            .coordinator(&place)
            .ok_or_else(|| format!("CALL list keyspaces  failed on all datacenter {} pods", dc.name))?;
        Ok(Through { place, host, name: dc.name.clone() })
    }
}

fn system_keyspaces(round: &mut Round<'_>, dcs: &[Dc<'_>], through: &Through) -> Result<(), String> {
    let removing = round.statuses.values().filter(|s| !s.is_null()).count() > dcs.len();
    if removing && cassandra_4(round.object) {
        return Ok(());
    }
    let replication = replication_of(round.initialized(dcs));
    for keyspace in SYSTEM_KEYSPACES {
        ensure(round, through, keyspace, &replication)?;
    }
    Ok(())
}

/// Whether the cluster runs Cassandra 4 or later (not DSE).
fn cassandra_4(object: &Value) -> bool {
    let cassandra = &object["spec"]["cassandra"];
    let major = cassandra["serverVersion"].as_str().and_then(|v| v.split('.').next()?.parse::<u32>().ok());
    cassandra["serverType"].as_str().unwrap_or("cassandra") == "cassandra" && major.is_some_and(|m| m >= 4)
}

/// `EnsureKeyspaceReplication`: a create or an alter when needed, or Cassandra's refusal.
fn ensure(
    round: &mut Round<'_>,
    through: &Through,
    keyspace: &str,
    factors: &BTreeMap<String, u32>,
) -> Result<(), String> {
    let cassandra = &round.state.cassandra;
    let exists = cassandra.replication_map(&through.host, keyspace).is_some();
    match cassandra.ensure_statement(&through.host, keyspace, factors) {
        Ok(None) => Ok(()),
        Ok(Some(_)) => {
            let change = Change::Replicate {
                place: through.place.clone(),
                keyspace: keyspace.into(),
                replication: factors.clone(),
            };
            round.writes.push(Write::Cassandra(change));
            Ok(())
        }
        Err(_) if exists => {
            Err(format!("CALL alter keyspaces {keyspace} failed on all datacenter {} pods", through.name))
        }
        Err(_) => Err(format!("CALL create keyspace {keyspace} failed on all datacenter {} pods", through.name)),
    }
}

fn user_keyspaces_of(round: &Round<'_>, through: &Through) -> Vec<String> {
    let internal = |name: &str| SYSTEM_KEYSPACES.contains(&name) || INTERNAL_KEYSPACES.contains(&name);
    round.state.cassandra.keyspace_names(&through.host).into_iter().filter(|name| !internal(name)).collect()
}

/// A keyspace's factors per datacenter, as `getKeyspaceReplication` reads them.
fn factors_of(round: &Round<'_>, through: &Through, keyspace: &str) -> BTreeMap<String, u32> {
    let replication = round.state.cassandra.replication_map(&through.host, keyspace).unwrap_or_default();
    replication.into_iter().filter(|(k, _)| k != "class").filter_map(|(dc, rf)| Some((dc, rf.parse().ok()?))).collect()
}

fn no_replicas_left(round: &Round<'_>, through: &Through, decommissioned: &str) -> Result<(), String> {
    for keyspace in user_keyspaces_of(round, through) {
        if factors_of(round, through, &keyspace).contains_key(decommissioned) {
            return Err(format!(
                "cannot decommission DC {decommissioned}: keyspace {keyspace} still has replicas on it"
            ));
        }
    }
    Ok(())
}

/// `updateUserKeyspacesReplication` for the datacenter being added.
fn user_keyspaces(round: &mut Round<'_>, dcs: &[Dc<'_>], dc: &Dc<'_>, through: &Through) -> Result<(), String> {
    let Some(text) = round.annotation(DC_REPLICATION) else { return Ok(()) };
    let replication = parse_replication(text)?;
    let users = user_keyspaces_of(round, through);
    if replication.values().any(|keyspaces| users.iter().any(|ks| !keyspaces.contains_key(ks))) {
        return Err(format!("the {DC_REPLICATION} annotation must include all user keyspaces for each specified DC"));
    }
    // Only datacenters already in the ring: Cassandra refuses the others.
    let deployed = round.initialized(dcs).any(|d| d.name == dc.name);
    let Some(factors) = replication.get(&dc.cassandra_name()).filter(|_| deployed) else { return Ok(()) };
    for keyspace in users {
        let Some(rf) = factors.get(&keyspace).copied().filter(|rf| *rf > 0) else { continue };
        let mut wanted = factors_of(round, through, &keyspace);
        wanted.insert(dc.cassandra_name(), rf);
        ensure(round, through, &keyspace, &wanted)?;
    }
    Ok(())
}

/// `ParseReplication`: `{"dc": {"keyspace": replicas}}`.
fn parse_replication(text: &str) -> Result<BTreeMap<String, BTreeMap<String, u32>>, String> {
    let parsed: BTreeMap<String, Value> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    parsed
        .into_iter()
        .map(|(dc, keyspaces)| {
            let keyspaces = keyspaces.as_object().ok_or("failed to parse replication")?;
            let factors = keyspaces
                .iter()
                .map(|(ks, n)| {
                    let n = n.as_f64().ok_or("failed to parse replication")?;
                    if n < 0.0 {
                        return Err("invalid replication");
                    }
                    Ok((ks.clone(), n as u32))
                })
                .collect::<Result<BTreeMap<_, _>, _>>()?;
            Ok((dc, factors))
        })
        .collect::<Result<_, &str>>()
        .map_err(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::parse_replication;

    #[test]
    fn the_dc_replication_annotation_is_parsed_as_the_operator_parses_it() {
        let parsed = parse_replication(r#"{"dc2": {"orders": 3, "users": 1}}"#).expect("parsed");
        assert_eq!(parsed["dc2"]["orders"], 3);
        assert_eq!(parse_replication(r#"{"dc2": 3}"#), Err("failed to parse replication".into()));
        assert_eq!(parse_replication(r#"{"dc2": {"orders": -1}}"#), Err("invalid replication".into()));
    }
}
