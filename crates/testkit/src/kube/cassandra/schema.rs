//! Keyspaces and their replication, and what Cassandra 4.1 refuses when a keyspace is created
//! or altered with NetworkTopologyStrategy, the only strategy the Management API speaks
//! (apache/cassandra 4.1: cql3/statements/schema/AlterSchemaStatement.java,
//! AlterKeyspaceStatement.java, CreateKeyspaceStatement.java; locator/NetworkTopologyStrategy.java,
//! AbstractReplicationStrategy.java):
//! - a local keyspace: "System keyspace 'system' is not user-modifiable";
//! - a bad name: "Keyspace name must not be empty, more than 48 characters long, or contain
//!   non-alphanumeric-underscore characters (got '…')";
//! - factors of 0 are dropped, and none left is "Configuration for at least one datacenter must
//!   be present";
//! - a datacenter without nodes in the ring: "Unrecognized strategy option {dc9} passed to
//!   NetworkTopologyStrategy for keyspace ks";
//! - from 4.1, a `system_auth` replication leaving out a datacenter that has nodes: "Following
//!   datacenters have active nodes and must be present in replication options for keyspace
//!   system_auth: \[dc2\]";
//! - altering a keyspace that does not exist: "Keyspace 'ks' doesn't exist" (creating one that
//!   exists does nothing: the Management API creates `IF NOT EXISTS`);
//! - altering while another node is leaving the ring, unless the coordinator runs with
//!   `-Dcassandra.allow_alter_rf_during_range_movement=true` (k8ssandra-operator sets it):
//!   "Cannot alter RF while some endpoints are not in normal state (no range movements):
//!   \[/10.201.0.10:7000\]".
//!
//! An alter replaces the whole replication (datacenters left out are dropped, as
//! `NetworkTopologyStrategy.prepareOptions` does without `replication_factor`). A factor above a
//! datacenter's node count is allowed: Cassandra only warns the client.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use super::{Cassandra, Happened, Mode};

/// The replicated system keyspaces, with their default SimpleStrategy factors.
pub(super) const SYSTEM_KEYSPACES: [(&str, u32); 3] =
    [("system_auth", 1), ("system_distributed", 3), ("system_traces", 2)];
/// The keyspaces local to each node (LocalStrategy), which every node lists too.
const LOCAL_KEYSPACES: [&str; 2] = ["system", "system_schema"];
const NAME_LENGTH: usize = 48;
const SIMPLE: &str = "org.apache.cassandra.locator.SimpleStrategy";
const NETWORK_TOPOLOGY: &str = "org.apache.cassandra.locator.NetworkTopologyStrategy";
const LOCAL: &str = "org.apache.cassandra.locator.LocalStrategy";

/// How a keyspace is replicated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replication {
    /// SimpleStrategy: `factor` replicas around the whole ring, whatever their datacenters.
    Simple { factor: u32 },
    /// NetworkTopologyStrategy: replicas per datacenter.
    NetworkTopology(BTreeMap<String, u32>),
}

impl Replication {
    /// NetworkTopologyStrategy with these (datacenter, factor) pairs.
    pub fn per_datacenter(factors: &[(&str, u32)]) -> Replication {
        Replication::NetworkTopology(factors.iter().map(|(dc, rf)| (dc.to_string(), *rf)).collect())
    }

    /// As `system_schema.keyspaces` holds it and the Management API answers it: the class and
    /// the factors, all strings.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        let (class, mut map) = match self {
            Replication::Simple { factor } => {
                (SIMPLE, BTreeMap::from([("replication_factor".to_string(), factor.to_string())]))
            }
            Replication::NetworkTopology(factors) => {
                (NETWORK_TOPOLOGY, factors.iter().map(|(dc, rf)| (dc.clone(), rf.to_string())).collect())
            }
        };
        map.insert("class".into(), class.into());
        map
    }

    pub(super) fn replicates_to(&self, dc: &str) -> bool {
        match self {
            Replication::Simple { .. } => true,
            Replication::NetworkTopology(factors) => factors.contains_key(dc),
        }
    }

    /// The replicas `dc` holds: SimpleStrategy's count against every datacenter.
    pub(super) fn factor_in(&self, dc: &str) -> u32 {
        match self {
            Replication::Simple { factor } => *factor,
            Replication::NetworkTopology(factors) => factors.get(dc).copied().unwrap_or(0),
        }
    }

    pub(super) fn total(&self) -> u32 {
        match self {
            Replication::Simple { factor } => *factor,
            Replication::NetworkTopology(factors) => factors.values().sum(),
        }
    }
}

/// A keyspace of a ring, as [`FakeKube::keyspaces`](crate::kube::FakeKube::keyspaces) shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keyspace {
    pub replication: Replication,
    /// The datacenters all of whose nodes hold the keyspace's data.
    pub held_in: BTreeSet<String>,
}

/// A schema change Cassandra accepted, not yet carried out.
pub(in crate::kube) struct Statement {
    ring: usize,
    keyspace: String,
    replication: Replication,
    created: bool,
}

impl Cassandra {
    /// What `GET api/v0/ops/keyspace` lists on a node: the local keyspaces, then the ring's.
    pub fn keyspace_names(&self, host: &str) -> Vec<String> {
        let ring = self.ring_of_node(host).map(|(ring, _)| ring);
        let replicated = ring.into_iter().flat_map(|r| r.keyspaces.keys().cloned());
        LOCAL_KEYSPACES.iter().map(|name| name.to_string()).chain(replicated).collect()
    }

    /// A keyspace's replication as a node reads it.
    pub fn replication_map(&self, host: &str, keyspace: &str) -> Option<BTreeMap<String, String>> {
        if LOCAL_KEYSPACES.contains(&keyspace) {
            return Some(BTreeMap::from([("class".to_string(), LOCAL.to_string())]));
        }
        self.ring_of_node(host)?.0.keyspaces.get(keyspace).map(Replication::to_map)
    }

    /// `CREATE KEYSPACE IF NOT EXISTS … NetworkTopologyStrategy` through node `host`: the
    /// nodes of the datacenters it names hold it (every write reaches them).
    pub fn create_keyspace(
        &mut self,
        host: &str,
        keyspace: &str,
        factors: &BTreeMap<String, u32>,
        at: Instant,
    ) -> Result<(), String> {
        self.run(self.create_statement(host, keyspace, factors), at)
    }

    /// `ALTER KEYSPACE … NetworkTopologyStrategy` through node `host`.
    pub fn alter_keyspace(
        &mut self,
        host: &str,
        keyspace: &str,
        factors: &BTreeMap<String, u32>,
        at: Instant,
    ) -> Result<(), String> {
        self.run(self.alter_statement(host, keyspace, factors).map(Some), at)
    }

    /// k8ssandra-operator's EnsureKeyspaceReplication through `host`.
    pub fn ensure_replication(
        &mut self,
        host: &str,
        keyspace: &str,
        factors: &BTreeMap<String, u32>,
        at: Instant,
    ) -> Result<(), String> {
        self.run(self.ensure_statement(host, keyspace, factors), at)
    }

    /// Carries out what a statement's check allowed, if anything: Cassandra's refusal is `Err`.
    fn run(&mut self, statement: Result<Option<Statement>, String>, at: Instant) -> Result<(), String> {
        if let Some(statement) = statement? {
            self.execute(statement, at);
        }
        Ok(())
    }

    /// What EnsureKeyspaceReplication sends: nothing when the keyspace is already replicated
    /// so, else a create or an alter; `Err` is Cassandra's refusal.
    pub fn ensure_statement(
        &self,
        host: &str,
        keyspace: &str,
        factors: &BTreeMap<String, u32>,
    ) -> Result<Option<Statement>, String> {
        let (ring, _) = self.ring_of_node(host).ok_or_else(not_connected)?;
        match ring.keyspaces.get(keyspace) {
            None => self.create_statement(host, keyspace, factors),
            Some(current) if *current == Replication::NetworkTopology(factors.clone()) => Ok(None),
            Some(_) => self.alter_statement(host, keyspace, factors).map(Some),
        }
    }

    fn create_statement(
        &self,
        host: &str,
        keyspace: &str,
        factors: &BTreeMap<String, u32>,
    ) -> Result<Option<Statement>, String> {
        modifiable(keyspace)?;
        valid_name(keyspace)?;
        let ring = self.ring_index(host)?;
        if self.rings[ring].keyspaces.contains_key(keyspace) {
            return Ok(None);
        }
        let replication = self.validate(ring, host, keyspace, factors)?;
        Ok(Some(Statement { ring, keyspace: keyspace.to_string(), replication, created: true }))
    }

    fn alter_statement(
        &self,
        host: &str,
        keyspace: &str,
        factors: &BTreeMap<String, u32>,
    ) -> Result<Statement, String> {
        modifiable(keyspace)?;
        let ring = self.ring_index(host)?;
        if !self.rings[ring].keyspaces.contains_key(keyspace) {
            return Err(format!("Keyspace '{keyspace}' doesn't exist"));
        }
        let replication = self.validate(ring, host, keyspace, factors)?;
        self.no_range_movements(ring, host)?;
        Ok(Statement { ring, keyspace: keyspace.to_string(), replication, created: false })
    }

    /// The replication Cassandra makes of `factors`, or why it refuses them.
    fn validate(
        &self,
        ring: usize,
        host: &str,
        keyspace: &str,
        factors: &BTreeMap<String, u32>,
    ) -> Result<Replication, String> {
        let factors: BTreeMap<String, u32> =
            factors.iter().filter(|(_, rf)| **rf > 0).map(|(k, v)| (k.clone(), *v)).collect();
        if factors.is_empty() {
            return Err("Configuration for at least one datacenter must be present".into());
        }
        let known = self.datacenters(&self.rings[ring]);
        if let Some(unknown) = factors.keys().find(|dc| !known.contains(*dc)) {
            return Err(format!(
                "Unrecognized strategy option {{{unknown}}} passed to NetworkTopologyStrategy for keyspace {keyspace}"
            ));
        }
        let version = self.nodes.get(host).map_or("", |m| m.version.as_str());
        if keyspace == "system_auth" && at_least_4_1(version) {
            let missing: Vec<&str> = known.iter().filter(|dc| !factors.contains_key(*dc)).map(String::as_str).collect();
            if !missing.is_empty() {
                return Err(format!(
                    "Following datacenters have active nodes and must be present in replication options for keyspace system_auth: [{}]",
                    missing.join(", ")
                ));
            }
        }
        Ok(Replication::NetworkTopology(factors))
    }

    fn no_range_movements(&self, ring: usize, host: &str) -> Result<(), String> {
        if self.nodes.get(host).is_some_and(|m| m.allow_alter_rf) {
            return Ok(());
        }
        let moving: Vec<String> = self
            .members(&self.rings[ring])
            .filter(|(other, m)| *other != host && m.mode == Mode::Leaving)
            .map(|(_, m)| format!("/{}:7000", m.ip))
            .collect();
        if moving.is_empty() {
            return Ok(());
        }
        Err(format!(
            "Cannot alter RF while some endpoints are not in normal state (no range movements): [{}]",
            moving.join(", ")
        ))
    }

    fn execute(&mut self, statement: Statement, at: Instant) {
        let Statement { ring, keyspace, replication, created } = statement;
        let previous = self.rings[ring].keyspaces.insert(keyspace.clone(), replication.clone());
        if previous.as_ref() == Some(&replication) {
            return;
        }
        let id = self.rings[ring].id;
        for member in self.nodes.values_mut().filter(|m| m.ring == id && m.mode != Mode::Left) {
            let replicated = replication.replicates_to(&member.place.2);
            if created && replicated {
                member.holds.insert(keyspace.clone());
            } else if !replicated {
                member.holds.remove(&keyspace);
            }
        }
        let what = if created {
            Happened::KeyspaceCreated { keyspace, replication }
        } else {
            Happened::ReplicationChanged { keyspace, replication }
        };
        let cluster_name = self.rings[ring].cluster_name.clone();
        self.log(at, &cluster_name, what);
    }

    fn ring_index(&self, host: &str) -> Result<usize, String> {
        let ring = self.nodes.get(host).ok_or_else(not_connected)?.ring;
        self.rings.iter().position(|r| r.id == ring).ok_or_else(not_connected)
    }
}

/// What the Management API says when Cassandra does not answer it.
fn not_connected() -> String {
    "Internal connection to Cassandra closed".into()
}

fn modifiable(keyspace: &str) -> Result<(), String> {
    if LOCAL_KEYSPACES.contains(&keyspace) {
        return Err(format!("System keyspace '{keyspace}' is not user-modifiable"));
    }
    Ok(())
}

/// `SchemaConstants.isValidName`: 1 to 48 word characters.
fn valid_name(keyspace: &str) -> Result<(), String> {
    let valid = !keyspace.is_empty()
        && keyspace.len() <= NAME_LENGTH
        && keyspace.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        return Ok(());
    }
    Err(format!(
        "Keyspace name must not be empty, more than {NAME_LENGTH} characters long, or contain non-alphanumeric-underscore characters (got '{keyspace}')"
    ))
}

/// Whether a `serverVersion` such as `4.1.5` is 4.1 or later.
fn at_least_4_1(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (4, 1)
}

#[cfg(test)]
mod tests {
    use super::{at_least_4_1, valid_name};

    #[test]
    fn names_and_versions_are_read_as_cassandra_reads_them() {
        assert!(valid_name("orders_2024").is_ok());
        assert!(valid_name("bad-name").is_err());
        assert!(valid_name(&"k".repeat(49)).is_err());
        assert!(at_least_4_1("4.1.5") && at_least_4_1("5.0.2"));
        assert!(!at_least_4_1("4.0.13") && !at_least_4_1("3.11.17"));
    }
}
