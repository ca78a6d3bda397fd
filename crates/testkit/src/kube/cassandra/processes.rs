//! Cassandra's processes as Pods come and go. A node is up while a Ready Pod of its name in
//! its datacenter's namespace mounts its volume (whose claim's uid is its host id, see
//! `controllers::host_id`); when that Pod goes or stops being Ready the node stops — its
//! gossip state stays and the others list it down (DN) — and when a Pod of that name is Ready
//! again on the volume, the same node is back, with its host id and data, at the Pod's new
//! address and on the Pod's worker. Both moments are logged at the simulated time they
//! happen (`NodeStopped`, `NodeStarted`), which is what [`Cassandra::fewest_up`] counts.
//! Nodes that left the ring are not watched.

use std::time::Instant;

use super::{Cassandra, Happened, Member, Mode};
use crate::kube::controllers::{deleting, has_condition, host_id};
use crate::kube::server::State;
use crate::kube::store::ObjectKey;

/// What Cassandra sees of its processes at `at`, after a change to the Pods.
pub(in crate::kube) fn observe(state: &mut State, at: Instant) {
    let seen: Vec<(String, Option<Running>)> = state
        .cassandra
        .nodes
        .iter()
        .filter(|(_, m)| m.mode != Mode::Left)
        .map(|(host, m)| (host.clone(), running(state, host, m)))
        .collect();
    for (host, running) in seen {
        state.cassandra.notice(&host, running, at);
    }
}

/// Where a node's process runs: its Pod's address and worker node.
struct Running {
    ip: String,
    on: String,
}

/// The Ready Pod running node `host`, if one does.
fn running(state: &State, host: &str, member: &Member) -> Option<Running> {
    let (cluster, namespace, _) = &member.place;
    let key = ObjectKey {
        group: String::new(),
        plural: "pods".into(),
        namespace: namespace.clone(),
        name: member.pod.clone(),
    };
    let pod = state.clusters.get(cluster)?.get(&key)?;
    let ours = host_id(state, cluster, namespace, &member.pod) == host;
    (ours && has_condition(pod, "Ready") && !deleting(pod)).then(|| Running {
        ip: pod["status"]["podIP"].as_str().unwrap_or_default().to_string(),
        on: pod["spec"]["nodeName"].as_str().unwrap_or_default().to_string(),
    })
}

impl Cassandra {
    /// Node `host` is seen running (or not): logged when that changes.
    fn notice(&mut self, host: &str, running: Option<Running>, at: Instant) {
        let Some(member) = self.nodes.get_mut(host) else { return };
        let was_up = !member.down;
        member.down = running.is_none();
        let (datacenter, node) = (member.place.2.clone(), member.pod.clone());
        let what = match running {
            Some(Running { ip, on }) => {
                member.ip = ip;
                if was_up {
                    return;
                }
                Happened::NodeStarted { datacenter, node, on }
            }
            None if was_up => Happened::NodeStopped { datacenter, node },
            None => return,
        };
        self.log_for(host, at, what);
    }

    /// The fewest nodes of `datacenter` (of the first ring it was Ready in) that were up at
    /// once since it was first Ready: the nodes it started with, less those the log says
    /// stopped (`NodeStopped`) or left the ring (`NodeDecommissioned`), plus those that came
    /// back (`NodeStarted`), until the datacenter is deleted. `None` if it was never Ready.
    pub fn fewest_up(&self, datacenter: &str) -> Option<usize> {
        let ready = Happened::DatacenterReady { datacenter: datacenter.to_string() };
        let first = self.events.iter().position(|e| e.what == ready)?;
        let ring = &self.events[first].cluster_name;
        let mut up = *self.started_with.get(&(ring.clone(), datacenter.to_string()))?;
        let mut fewest = up;
        for event in self.events[first..].iter().filter(|e| e.cluster_name == *ring) {
            match &event.what {
                Happened::NodeStopped { datacenter: dc, .. } | Happened::NodeDecommissioned { datacenter: dc, .. }
                    if dc == datacenter =>
                {
                    up = up.saturating_sub(1);
                }
                Happened::NodeStarted { datacenter: dc, .. } if dc == datacenter => up += 1,
                Happened::DatacenterDeleted { datacenter: dc } if dc == datacenter => break,
                _ => {}
            }
            fewest = fewest.min(up);
        }
        Some(fewest)
    }
}
