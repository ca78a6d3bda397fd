//! The Management API's async jobs on one node, rebuild and decommission, as its agent runs them
//! (management-api-for-apache-cassandra v0.1.125: util/JobExecutor.java, util/Job.java,
//! NodeOpsProvider.java): each gets a random UUID, runs on the node's single job thread (so a
//! node's jobs queue), and is WAITING, then COMPLETED or ERROR with the message of what
//! Cassandra threw, as `java.lang.…Exception: message` (the CompletionException's).
//!
//! What Cassandra 4.1 does in them (StorageService.rebuild, StorageService.decommission,
//! RangeStreamer):
//! - rebuild from `src_dc` refuses a datacenter that has no node in the ring
//!   (`IllegalArgumentException: Provided datacenter 'x' is not a valid datacenter, available
//!   datacenters are: dc1,dc2`), and a keyspace replicated to the node's datacenter but not to
//!   the source, when it has more than one replica in all (`IllegalStateException: Unable to find
//!   sufficient sources for streaming range … in keyspace ks`); it then streams, and the node
//!   holds each keyspace replicated to its datacenter that the source (or, without `src_dc`,
//!   any datacenter) holds. A stream that fails ends `RuntimeException: Error while rebuilding
//!   node: Stream failed` (see [`FakeKube::fail_rebuilds`](crate::kube::FakeKube::fail_rebuilds)).
//! - decommission refuses the ring's last normal node (`UnsupportedOperationException: no other
//!   normal nodes in the ring; decommission would be pointless`) and, unless forced, a node
//!   whose leaving would leave a keyspace with no more nodes than replicas in its datacenter
//!   (SimpleStrategy: in the ring) (`UnsupportedOperationException: Not enough live nodes to
//!   maintain replication factor in keyspace ks (RF = 3, N = 3). Perform a forceful decommission
//!   to ignore.`). Otherwise the node is LEAVING while it streams its data away, then LEFT,
//!   holding nothing: a datacenter whose last node leaves while a keyspace still names it keeps
//!   that replication with no copy behind it.
//!
//! Each takes a simulated minute per node (scaled like the controllers). Simplified: refusals
//! are judged when the job is submitted rather than when it starts; jobs are kept for the
//! node's life (the agent's cache keeps the last 1000).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Cassandra, Happened, Mode};
use crate::kube::ring::now_millis;

/// Streaming one node's data, in or out.
const STREAMING: Duration = Duration::from_secs(60);

/// What a job does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(in crate::kube) enum JobKind {
    /// `nodetool rebuild [src_dc]`.
    Rebuild { source: Option<String> },
    /// `nodetool decommission [--force]`.
    Decommission { force: bool },
}

pub(super) struct Job {
    id: String,
    pub host_id: String,
    kind: JobKind,
    submitted_ms: u64,
    submitted: Instant,
    due: Instant,
    state: JobState,
}

enum JobState {
    /// Streaming; `failure` is how it will end, if badly.
    Running {
        failure: Option<String>,
    },
    Done {
        error: Option<String>,
    },
}

impl Cassandra {
    /// Starts `kind` as job `id` on node `host` (nothing when Cassandra does not know it).
    pub fn submit(&mut self, host: &str, id: String, kind: JobKind, at: Instant) {
        let Some(member) = self.nodes.get(host) else { return };
        let (node, dc) = (member.pod.clone(), member.place.2.clone());
        let refusal = match &kind {
            JobKind::Rebuild { source } => self.rebuild_refusal(host, source.as_deref()),
            JobKind::Decommission { force } => self.decommission_refusal(host, *force),
        };
        self.log_for(host, at, started(&kind, &dc, &node));
        let submitted_ms = now_millis();
        let Some(error) = refusal else {
            let failure = self.injected_failure(&kind, &dc);
            if matches!(kind, JobKind::Decommission { .. }) {
                self.set_mode(host, Mode::Leaving);
            }
            // The agent runs a node's jobs one after the other.
            let queued = self.jobs.iter().filter(|j| j.host_id == host && j.running()).map(|j| j.due).max();
            let duration = STREAMING.mul_f64(self.time_scale.max(0.0));
            let due = queued.map_or(at, |q| q.max(at)) + duration;
            let state = JobState::Running { failure };
            self.jobs.push(Job { id, host_id: host.to_string(), kind, submitted_ms, submitted: at, due, state });
            return;
        };
        self.log_for(host, at, finished(&kind, &dc, &node, Some(error.clone())));
        let state = JobState::Done { error: Some(error) };
        self.jobs.push(Job { id, host_id: host.to_string(), kind, submitted_ms, submitted: at, due: at, state });
    }

    /// When the next running job ends.
    pub fn next_job_due(&self) -> Option<Instant> {
        self.jobs.iter().filter(|j| j.running()).map(|j| j.due).min()
    }

    /// Ends the running job due first, if it is due by `now`; returns when it was due.
    pub fn finish_job(&mut self, now: Instant) -> Option<Instant> {
        let index = (0..self.jobs.len())
            .filter(|&i| self.jobs[i].running() && self.jobs[i].due <= now)
            .min_by_key(|&i| self.jobs[i].due)?;
        let job = &mut self.jobs[index];
        let JobState::Running { failure } = &mut job.state else { return None };
        let error = failure.take();
        job.state = JobState::Done { error: error.clone() };
        let (host, kind, due) = (job.host_id.clone(), job.kind.clone(), job.due);
        if error.is_none() {
            self.carry_out(&host, &kind);
        }
        if let Some(member) = self.nodes.get(&host) {
            let what = finished(&kind, &member.place.2, &member.pod, error);
            self.log_for(&host, due, what);
        }
        Some(due)
    }

    /// A job as `GET /api/v0/ops/executor/job?job_id=…` answers it on node `host`.
    pub fn job(&self, host: &str, id: &str) -> Option<Value> {
        let job = self.jobs.iter().find(|j| j.host_id == host && j.id == id)?;
        let (status, end_ms, error) = match &job.state {
            JobState::Running { .. } => ("WAITING", 0, None),
            JobState::Done { error: None } => ("COMPLETED", job.end_ms(), None),
            JobState::Done { error: Some(error) } => ("ERROR", job.end_ms(), Some(error)),
        };
        let kind = match job.kind {
            JobKind::Rebuild { .. } => "rebuild",
            JobKind::Decommission { .. } => "decommission",
        };
        Some(json!({
            "id": job.id, "type": kind, "status": status,
            // Jackson writes both times as strings (ToStringSerializer).
            "submit_time": job.submitted_ms.to_string(), "end_time": end_ms.to_string(),
            "error": error, "status_changes": [],
        }))
    }

    /// Whether a decommission job was ever started on node `host`.
    pub fn decommission_started(&self, host: &str) -> bool {
        self.jobs.iter().any(|j| j.host_id == host && matches!(j.kind, JobKind::Decommission { .. }))
    }

    fn rebuild_refusal(&self, host: &str, source: Option<&str>) -> Option<String> {
        let (ring, member) = self.ring_of_node(host)?;
        let known = self.datacenters(ring);
        if let Some(source) = source.filter(|s| !known.contains(*s)) {
            let available: Vec<&str> = known.iter().map(String::as_str).collect();
            return Some(format!(
                "java.lang.IllegalArgumentException: Provided datacenter '{source}' is not a valid datacenter, available datacenters are: {}",
                available.join(",")
            ));
        }
        let dc = &member.place.2;
        let unsourced = ring
            .keyspaces
            .iter()
            .find(|(_, r)| r.factor_in(dc) > 0 && source.is_some_and(|s| r.factor_in(s) == 0) && r.total() > 1);
        unsourced.map(|(keyspace, _)| {
            format!(
                "java.lang.IllegalStateException: Unable to find sufficient sources for streaming range (-9223372036854775808,-3074457345618258603] in keyspace {keyspace}"
            )
        })
    }

    fn decommission_refusal(&self, host: &str, force: bool) -> Option<String> {
        let (ring, member) = self.ring_of_node(host)?;
        let refused = |message: String| Some(format!("java.lang.UnsupportedOperationException: {message}"));
        if member.mode == Mode::Left {
            return refused("local node is not a member of the token ring yet".into());
        }
        let normal: Vec<_> = self.members(ring).filter(|(_, m)| m.mode == Mode::Normal).map(|(_, m)| m).collect();
        if normal.len() < 2 {
            return refused("no other normal nodes in the ring; decommission would be pointless".into());
        }
        if force {
            return None;
        }
        let dc = &member.place.2;
        ring.keyspaces.iter().find_map(|(keyspace, replication)| {
            let rf = replication.factor_in(dc);
            let n = match replication {
                super::Replication::Simple { .. } => normal.len(),
                super::Replication::NetworkTopology(_) => normal.iter().filter(|m| m.place.2 == *dc).count(),
            };
            (n <= rf as usize).then(|| {
                format!(
                    "java.lang.UnsupportedOperationException: Not enough live nodes to maintain replication factor in keyspace {keyspace} (RF = {rf}, N = {n}). Perform a forceful decommission to ignore."
                )
            })
        })
    }

    /// How a stream that is about to start will end, if a test asked it to fail.
    fn injected_failure(&mut self, kind: &JobKind, dc: &str) -> Option<String> {
        let JobKind::Rebuild { .. } = kind else { return None };
        let left = self.failing_rebuilds.get_mut(dc).filter(|n| **n > 0)?;
        *left -= 1;
        Some("java.lang.RuntimeException: Error while rebuilding node: Stream failed".into())
    }

    /// What a job that ended well did to the node.
    fn carry_out(&mut self, host: &str, kind: &JobKind) {
        match kind {
            JobKind::Rebuild { source } => {
                let streamed = self.streamed(host, source.as_deref());
                if let Some(member) = self.nodes.get_mut(host) {
                    member.holds.extend(streamed);
                }
            }
            JobKind::Decommission { .. } => {
                self.set_mode(host, Mode::Left);
                if let Some(member) = self.nodes.get_mut(host) {
                    member.holds.clear();
                }
            }
        }
    }

    /// The keyspaces a rebuild of `host` from `source` (else from anywhere) gets data for.
    fn streamed(&self, host: &str, source: Option<&str>) -> Vec<String> {
        let Some((ring, member)) = self.ring_of_node(host) else { return Vec::new() };
        let sources: Vec<String> = match source {
            Some(source) => vec![source.to_string()],
            None => self.datacenters(ring).into_iter().collect(),
        };
        ring.keyspaces
            .iter()
            .filter(|(name, r)| {
                r.replicates_to(&member.place.2)
                    && sources.iter().any(|dc| r.replicates_to(dc) && self.holds(ring, dc, name))
            })
            .map(|(name, _)| name.clone())
            .collect()
    }

    fn set_mode(&mut self, host: &str, mode: Mode) {
        if let Some(member) = self.nodes.get_mut(host) {
            member.mode = mode;
        }
    }

    /// Logs in the ring of node `host`.
    pub(super) fn log_for(&mut self, host: &str, at: Instant, what: Happened) {
        let cluster_name = self.ring_of_node(host).map(|(ring, _)| ring.cluster_name.clone()).unwrap_or_default();
        self.log(at, &cluster_name, what);
    }
}

impl Job {
    fn running(&self) -> bool {
        matches!(self.state, JobState::Running { .. })
    }

    fn end_ms(&self) -> u64 {
        let took = self.due.saturating_duration_since(self.submitted);
        self.submitted_ms + u64::try_from(took.as_millis()).unwrap_or(u64::MAX)
    }
}

fn started(kind: &JobKind, dc: &str, node: &str) -> Happened {
    let (datacenter, node) = (dc.to_string(), node.to_string());
    match kind {
        JobKind::Rebuild { source } => Happened::RebuildStarted { datacenter, node, source: source.clone() },
        JobKind::Decommission { .. } => Happened::DecommissionStarted { datacenter, node },
    }
}

fn finished(kind: &JobKind, dc: &str, node: &str, error: Option<String>) -> Happened {
    let (datacenter, node) = (dc.to_string(), node.to_string());
    match (kind, error) {
        (JobKind::Rebuild { source }, None) => Happened::RebuildCompleted { datacenter, node, source: source.clone() },
        (JobKind::Rebuild { source }, Some(error)) => {
            Happened::RebuildFailed { datacenter, node, source: source.clone(), error }
        }
        (JobKind::Decommission { .. }, None) => Happened::NodeDecommissioned { datacenter, node },
        (JobKind::Decommission { .. }, Some(error)) => Happened::DecommissionFailed { datacenter, node, error },
    }
}
