//! Cassandra itself (cass-operator is `controllers/cassandra.rs`), as far as growing and
//! shrinking a ring across datacenters needs it. Per ring — the datacenters of one Cassandra
//! cluster name that joined through seeds (see `ring.rs`) — its keyspaces and their
//! replication (`schema.rs`); per node (by host id, its data volume's) its mode (normal, leaving,
//! left), which keyspaces' data it holds, and the Management API's async jobs, rebuild and
//! decommission (`jobs.rs`); and a log of what happened, in order, for tests to assert on.
//!
//! A ring is seeded when the first datacenter of a gossip group starts: it gets the system
//! keyspaces `system_auth`, `system_distributed` and `system_traces` with the replication
//! Cassandra 4.x gives them, SimpleStrategy with 1, 3 and 2 replicas (apache/cassandra,
//! CassandraRelevantProperties `SYSTEM_AUTH_DEFAULT_RF` "1", `SYSTEM_DISTRIBUTED_DEFAULT_RF`
//! "3", `SYSTEM_TRACES_DEFAULT_RF` "2"), unless the datacenter's JVM options carry the
//! Management API agent's override, `-Dcassandra.system_distributed_replication=dc1:3,…` or
//! the `…_replication_dc_names` / `…_replication_per_dc` pair (factors 1 to 5), which makes
//! all three NetworkTopologyStrategy with those factors (management-api-for-apache-cassandra
//! v0.1.125, SystemDistributedReplicationInterceptor.java; k8ssandra-operator v1.32.5 gives
//! its first datacenter `-Dcassandra.system_distributed_replication=<dc>:<min(3, size)>`,
//! pkg/cassandra/config.go). cass-operator itself sets no replication (v1.32.0 has no code for
//! it). Later datacenters join the ring: their nodes bootstrap and so hold, from the start,
//! every keyspace whose replication names their datacenter.
//!
//! A node holds a keyspace's data when its datacenter was in the keyspace's replication when
//! the keyspace was created or when the node bootstrapped, or once it has been rebuilt from a
//! datacenter that holds it; a datacenter holds it when all its nodes do. Taking a datacenter
//! out of a keyspace's replication drops its copy; a decommissioned node holds nothing.
//! Simplified: there are no token ranges — a SimpleStrategy keyspace counts as held by the
//! datacenter that seeded the ring (and its new nodes), not by datacenters that join later
//! (they get a share of it, not a copy, until rebuilt); there is no repair (raising a factor or
//! changing the strategy keeps what was held); a ring's members are fixed when they join (rings
//! that meet after both were seeded are not merged, and a datacenter stays in its ring if its
//! seeds are taken away later).
//!
//! A datacenter deleted without its nodes leaving the ring leaves them in it, down, for as long
//! as another datacenter of the ring runs: Cassandra still counts that datacenter (it must stay
//! in `system_auth`'s replication, and may be named in others) and the others' gossip lists its
//! nodes DN; they hold nothing anyone can read.
//!
//! A node whose Pod goes (evicted, deleted, its worker gone) or stops being Ready is down (DN)
//! until a Pod of the same name mounting the same volume is Ready again — the same node, with
//! its host id and data, maybe at another address on another worker (`processes.rs`).

mod jobs;
mod processes;
mod schema;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

pub use schema::{Keyspace, Replication};

pub(super) use jobs::JobKind;
pub(super) use processes::observe;

use super::ring::{self, Place};
use super::server::State;

/// Cassandra's state across every ring of the server.
pub(super) struct Cassandra {
    time_scale: f64,
    rings: Vec<Ring>,
    /// The id the next ring gets.
    next_ring: u64,
    /// By host id.
    nodes: BTreeMap<String, Member>,
    jobs: Vec<jobs::Job>,
    events: Vec<CassandraEvent>,
    /// How many nodes each datacenter of each ring (by cluster name) had when it was first
    /// Ready: where [`Cassandra::fewest_up`] starts counting.
    started_with: BTreeMap<(String, String), usize>,
    /// How many of a datacenter's next rebuilds fail (see [`FakeKube::fail_rebuilds`](super::FakeKube::fail_rebuilds)).
    failing_rebuilds: BTreeMap<String, u32>,
}

/// One ring: the datacenters with nodes running in it, and its schema.
struct Ring {
    id: u64,
    cluster_name: String,
    members: BTreeSet<Place>,
    keyspaces: BTreeMap<String, Replication>,
}

/// One node as Cassandra knows it.
struct Member {
    ring: u64,
    place: Place,
    pod: String,
    ip: String,
    rack: String,
    version: String,
    /// Its Pod went without a decommission: the others' gossip keeps it, down, until
    /// `nodetool removenode` (not modelled).
    down: bool,
    /// `-Dcassandra.allow_alter_rf_during_range_movement=true` among its JVM options.
    allow_alter_rf: bool,
    mode: Mode,
    holds: BTreeSet<String>,
}

/// A node's part in the ring, as gossip tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    Normal,
    Leaving,
    Left,
}

/// Something that happened to a Cassandra ring, with when and in which ring (by cluster name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CassandraEvent {
    /// When it happened on the fake's clock: a controller's action is logged at the simulated
    /// time it was due, however late a request noticed it.
    pub at: Instant,
    pub cluster_name: String,
    pub what: Happened,
}

/// What happened; `node` is a Pod's name, `datacenter` Cassandra's name for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Happened {
    /// The first datacenter of a ring started and created the system keyspaces.
    RingSeeded {
        datacenter: String,
    },
    /// A datacenter's nodes bootstrapped into an existing ring.
    DatacenterJoined {
        datacenter: String,
    },
    /// cass-operator made the CassandraDatacenter Ready (its nodes all started).
    DatacenterReady {
        datacenter: String,
    },
    KeyspaceCreated {
        keyspace: String,
        replication: Replication,
    },
    ReplicationChanged {
        keyspace: String,
        replication: Replication,
    },
    /// `source` is the `src_dc` asked for; none streams from any datacenter.
    RebuildStarted {
        datacenter: String,
        node: String,
        source: Option<String>,
    },
    RebuildCompleted {
        datacenter: String,
        node: String,
        source: Option<String>,
    },
    RebuildFailed {
        datacenter: String,
        node: String,
        source: Option<String>,
        error: String,
    },
    DecommissionStarted {
        datacenter: String,
        node: String,
    },
    /// The node left the ring (gossip says LEFT); its data streamed to the others.
    NodeDecommissioned {
        datacenter: String,
        node: String,
    },
    DecommissionFailed {
        datacenter: String,
        node: String,
        error: String,
    },
    /// cass-operator let the CassandraDatacenter go: it is no longer part of the ring.
    DatacenterDeleted {
        datacenter: String,
    },
    /// A running node's process stopped without leaving the ring — its Pod went or stopped
    /// being Ready: the others see it down (DN).
    NodeStopped {
        datacenter: String,
        node: String,
    },
    /// A stopped node started again with its data, its Pod Ready on worker node `on` (the
    /// Node's name; empty in a cluster without Nodes): the others see it up again.
    NodeStarted {
        datacenter: String,
        node: String,
        on: String,
    },
}

/// What a controller does to Cassandra (see `Write::Cassandra`).
pub(super) enum Change {
    /// A datacenter's nodes started: it seeds a ring or joins the one its seeds reach.
    Started(Started),
    /// k8ssandra-operator's EnsureKeyspaceReplication through a node of `place`: the keyspace
    /// created with that NetworkTopologyStrategy replication, or altered to it.
    Replicate { place: Place, keyspace: String, replication: BTreeMap<String, u32> },
    /// A Management API job started on a node (as cass-operator calls it).
    Submit { host_id: String, id: String, job: JobKind },
    /// A CassandraDatacenter is gone: its nodes are no longer part of its ring.
    Deleted { place: Place },
}

pub(super) struct Started {
    pub place: Place,
    pub cluster_name: String,
    pub version: String,
    /// The system keyspaces' replication the datacenter's JVM options ask for, if they do.
    pub system_replication: Option<BTreeMap<String, u32>>,
    pub allow_alter_rf: bool,
    pub nodes: Vec<StartedNode>,
}

/// One node of a datacenter that started.
pub(super) struct StartedNode {
    pub host_id: String,
    pub pod: String,
    pub ip: String,
    pub rack: String,
}

/// A node the ring remembers although its Pod is gone.
pub(super) struct DownNode {
    pub datacenter: String,
    pub rack: String,
    pub ip: String,
    pub host_id: String,
    pub version: String,
}

/// Carries out a controller's change, at the simulated time `at`.
pub(super) fn apply(state: &mut State, change: Change, at: Instant) {
    match change {
        Change::Started(started) => {
            let group = group_of(state, &started.place);
            state.cassandra.start(started, &group, at);
        }
        Change::Replicate { place, keyspace, replication } => {
            // The controller checked it against the ring when it planned; should the ring have
            // changed since, Cassandra refuses and the controller's next round sees it.
            if let Some(host) = state.cassandra.coordinator(&place) {
                let _refused = state.cassandra.ensure_replication(&host, &keyspace, &replication, at);
            }
        }
        Change::Submit { host_id, id, job } => state.cassandra.submit(&host_id, id, job, at),
        Change::Deleted { place } => state.cassandra.forget(&place, at),
    }
}

/// The datacenters gossiping with `place`'s nodes.
fn group_of(state: &State, place: &Place) -> BTreeSet<Place> {
    let nodes = ring::nodes(state);
    let me = nodes.iter().find(|n| n.place == *place);
    me.map_or_else(|| BTreeSet::from([place.clone()]), |me| ring::group(state, &nodes, me))
}

impl Cassandra {
    pub fn new(time_scale: f64) -> Cassandra {
        Cassandra {
            time_scale,
            rings: Vec::new(),
            next_ring: 0,
            nodes: BTreeMap::new(),
            jobs: Vec::new(),
            events: Vec::new(),
            started_with: BTreeMap::new(),
            failing_rebuilds: BTreeMap::new(),
        }
    }

    /// Whether a controller's change would change anything.
    pub fn changes(&self, change: &Change) -> bool {
        match change {
            // A datacenter made again on the volumes of one deleted comes back with its nodes.
            Change::Started(started) => {
                self.ring_of(&started.place).is_none()
                    || started.nodes.iter().any(|n| !self.nodes.contains_key(&n.host_id))
            }
            Change::Replicate { place, keyspace, replication } => self.ring_of(place).is_some_and(|ring| {
                ring.keyspaces.get(keyspace) != Some(&Replication::NetworkTopology(replication.clone()))
            }),
            Change::Submit { .. } => true,
            Change::Deleted { place } => self.ring_of(place).is_some(),
        }
    }

    /// Whether Cassandra knows node `host_id` as a member of a ring that has not left it.
    pub fn knows(&self, host_id: &str) -> bool {
        self.nodes.get(host_id).is_some_and(|m| m.mode != Mode::Left)
    }

    /// A node's mode; one Cassandra never heard of (not started yet) is normal.
    pub fn mode(&self, host_id: &str) -> Mode {
        self.nodes.get(host_id).map_or(Mode::Normal, |m| m.mode)
    }

    /// Every keyspace of the first ring named `cluster_name` that replicates (the local
    /// `system` and `system_schema` aside), with the datacenters holding its data.
    pub fn keyspaces(&self, cluster_name: &str) -> BTreeMap<String, Keyspace> {
        let Some(ring) = self.rings.iter().find(|r| r.cluster_name == cluster_name) else { return BTreeMap::new() };
        ring.keyspaces
            .iter()
            .map(|(name, replication)| {
                let held_in = self.datacenters(ring).into_iter().filter(|dc| self.holds(ring, dc, name)).collect();
                (name.clone(), Keyspace { replication: replication.clone(), held_in })
            })
            .collect()
    }

    pub fn events(&self) -> &[CassandraEvent] {
        &self.events
    }

    pub fn fail_rebuilds(&mut self, datacenter: &str, times: u32) {
        self.failing_rebuilds.insert(datacenter.to_string(), times);
    }

    /// A node of the first ring named `cluster_name` to send a statement through.
    pub fn any_node(&self, cluster_name: &str) -> Option<String> {
        let ring = self.rings.iter().find(|r| r.cluster_name == cluster_name)?;
        ring.members.iter().find_map(|place| self.coordinator(place))
    }

    /// A running normal node of `place`'s datacenter.
    pub fn coordinator(&self, place: &Place) -> Option<String> {
        let normal = |m: &Member| m.place == *place && m.mode == Mode::Normal && !m.down;
        self.nodes.iter().find(|(_, m)| normal(m)).map(|(host, _)| host.clone())
    }

    /// The nodes of `host`'s ring whose Pods went without a decommission.
    pub fn down_nodes(&self, host: &str) -> Vec<DownNode> {
        let Some((ring, _)) = self.ring_of_node(host) else { return Vec::new() };
        self.members(ring)
            .filter(|(_, m)| m.down)
            .map(|(host_id, m)| DownNode {
                datacenter: m.place.2.clone(),
                rack: m.rack.clone(),
                ip: m.ip.clone(),
                host_id: host_id.clone(),
                version: m.version.clone(),
            })
            .collect()
    }

    fn start(&mut self, started: Started, group: &BTreeSet<Place>, at: Instant) {
        let Started { place, cluster_name, version, system_replication, allow_alter_rf, nodes } = started;
        let existing = self.rings.iter().position(|r| {
            r.cluster_name == cluster_name && (r.members.contains(&place) || !r.members.is_disjoint(group))
        });
        let index = existing.unwrap_or_else(|| {
            self.next_ring += 1;
            self.rings.push(Ring::seeded(self.next_ring, &cluster_name, system_replication));
            self.rings.len() - 1
        });
        let ring = &mut self.rings[index];
        let dc = place.2.clone();
        if ring.members.insert(place.clone()) {
            let joined = if existing.is_some() {
                Happened::DatacenterJoined { datacenter: dc.clone() }
            } else {
                Happened::RingSeeded { datacenter: dc.clone() }
            };
            self.log(at, &cluster_name, joined);
        }
        let holds = self.bootstrapped(index, &place, existing.is_none());
        let ring = self.rings[index].id;
        self.started_with.entry((cluster_name.clone(), dc.clone())).or_insert(nodes.len());
        for StartedNode { host_id, pod, ip, rack } in nodes {
            let member = Member {
                ring,
                place: place.clone(),
                pod,
                ip,
                rack,
                version: version.clone(),
                down: false,
                allow_alter_rf,
                mode: Mode::Normal,
                holds: holds.clone(),
            };
            self.nodes.entry(host_id).or_insert(member);
        }
        self.log(at, &cluster_name, Happened::DatacenterReady { datacenter: dc });
    }

    /// A datacenter's object is gone: its nodes that left the ring go, the others stay in it,
    /// down; a ring with no datacenter running goes, as nothing remembers it.
    fn forget(&mut self, place: &Place, at: Instant) {
        let Some(index) = self.rings.iter().position(|r| r.members.contains(place)) else { return };
        let ring = &mut self.rings[index];
        ring.members.remove(place);
        let (id, cluster_name) = (ring.id, ring.cluster_name.clone());
        if ring.members.is_empty() {
            self.rings.remove(index);
            self.nodes.retain(|_, m| m.ring != id);
        } else {
            self.nodes.retain(|_, m| m.place != *place || m.mode != Mode::Left);
            self.nodes.values_mut().filter(|m| m.place == *place).for_each(|m| m.down = true);
        }
        let nodes = &self.nodes;
        self.jobs.retain(|j| nodes.contains_key(&j.host_id));
        self.log(at, &cluster_name, Happened::DatacenterDeleted { datacenter: place.2.clone() });
    }

    fn log(&mut self, at: Instant, cluster_name: &str, what: Happened) {
        self.events.push(CassandraEvent { at, cluster_name: cluster_name.to_string(), what });
    }

    fn ring_of(&self, place: &Place) -> Option<&Ring> {
        self.rings.iter().find(|r| r.members.contains(place))
    }

    /// The ring a node is in, with the node.
    fn ring_of_node(&self, host_id: &str) -> Option<(&Ring, &Member)> {
        let member = self.nodes.get(host_id)?;
        Some((self.rings.iter().find(|r| r.id == member.ring)?, member))
    }

    /// The ring's nodes that have not left it, down ones included.
    fn members<'c>(&'c self, ring: &'c Ring) -> impl Iterator<Item = (&'c String, &'c Member)> {
        self.nodes.iter().filter(move |(_, m)| m.ring == ring.id && m.mode != Mode::Left)
    }

    /// The datacenters with nodes in the ring, down or not: those Cassandra accepts in a
    /// replication.
    fn datacenters(&self, ring: &Ring) -> BTreeSet<String> {
        self.members(ring).map(|(_, m)| m.place.2.clone()).collect()
    }

    /// The keyspaces a new node of `place` holds once it has bootstrapped into ring `index`:
    /// those replicated to its datacenter, and the SimpleStrategy ones its datacenter holds (a
    /// new datacenter gets only a share of those); all of them in a ring it `seeds`.
    fn bootstrapped(&self, index: usize, place: &Place, seeds: bool) -> BTreeSet<String> {
        let ring = &self.rings[index];
        let dc = &place.2;
        ring.keyspaces
            .iter()
            .filter(|(name, replication)| match replication {
                Replication::Simple { .. } => seeds || self.holds(ring, dc, name),
                Replication::NetworkTopology(factors) => factors.contains_key(dc),
            })
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Whether `dc` has nodes running in the ring and all of them hold `keyspace`'s data.
    fn holds(&self, ring: &Ring, dc: &str, keyspace: &str) -> bool {
        let mut nodes = self.members(ring).filter(|(_, m)| m.place.2 == dc && !m.down).peekable();
        nodes.peek().is_some() && nodes.all(|(_, m)| m.holds.contains(keyspace))
    }
}

impl Ring {
    /// A new ring with the system keyspaces, replicated as the JVM options ask or by default.
    fn seeded(id: u64, cluster_name: &str, system_replication: Option<BTreeMap<String, u32>>) -> Ring {
        let keyspaces = schema::SYSTEM_KEYSPACES
            .iter()
            .map(|(name, factor)| {
                let replication = system_replication
                    .clone()
                    .map_or(Replication::Simple { factor: *factor }, Replication::NetworkTopology);
                (name.to_string(), replication)
            })
            .collect();
        Ring { id, cluster_name: cluster_name.to_string(), members: BTreeSet::new(), keyspaces }
    }
}
