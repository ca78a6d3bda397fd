//! A plan turned into the operations the executor runs, with the order they must run in and
//! a priority: the longest expected time from the operation to the end of the run.

use std::collections::HashMap;
use std::time::Duration;

use ringform_core::{Address, Attributes, Kind};
use ringform_graph::ResourceGraph;
use ringform_plan::{Action, Plan};
use ringform_state::Snapshot;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    Create,
    Update,
    Delete,
}

impl OpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Create => "create",
            OpKind::Update => "update",
            OpKind::Delete => "delete",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Op {
    pub address: Address,
    pub kind: OpKind,
    /// Desired attributes, references unresolved (create and update only).
    pub desired: Option<Attributes>,
    /// What the resource references, recorded in state for a later destroy.
    pub references: Vec<Address>,
    /// Operations that must finish before this one starts.
    pub waits_for: Vec<usize>,
    /// Operations that wait for this one.
    pub dependents: Vec<usize>,
    pub expected: Duration,
    /// Expected time from this operation's start to the end of the run, along its longest chain.
    pub priority: Duration,
}

/// Rough wall-clock times of real cloud operations, used only to start the operations on the
/// longest remaining chain first (a 45-minute VPN gateway before a one-second route).
pub fn expected_duration(kind: Kind, op: OpKind) -> Duration {
    let minutes = |m: u64| Duration::from_secs(m * 60);
    match (kind, op) {
        (Kind::AzureVpnGateway, OpKind::Create | OpKind::Delete) => minutes(45),
        (Kind::AwsEksCluster, OpKind::Create) => minutes(15),
        (Kind::AwsEksCluster, _) => minutes(10),
        (Kind::AzureAksCluster, _) => minutes(10),
        (Kind::AwsEksNodeGroup, _) => minutes(5),
        (Kind::AwsTransitGateway | Kind::AwsVpnGateway | Kind::AwsVpnConnection, _) => minutes(5),
        (Kind::AzureVpnConnection | Kind::CassandraDatacenter | Kind::K8ssandraCluster, _) => minutes(3),
        (Kind::AwsVpcPeering | Kind::AwsVpcPeeringAccepter | Kind::AzureVnetPeering, _) => Duration::from_secs(10),
        (Kind::AwsRoute | Kind::AwsSecurityGroupRule | Kind::GeneratedSecret, _) => Duration::from_secs(1),
        _ => Duration::from_secs(5),
    }
}

/// The operations of `plan`. Replacements delete the old object before creating the new one;
/// creates and updates follow what they reference (the graph); deletes go the other way, after
/// everything that referenced the object (as recorded in state) is deleted.
pub(crate) fn operations(plan: &Plan, graph: &ResourceGraph, state: &Snapshot) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut index: HashMap<(&Address, OpKind), usize> = HashMap::new();
    let push = |ops: &mut Vec<Op>, address: &Address, kind: OpKind| {
        let desired = (kind != OpKind::Delete).then(|| graph.get(address).map(|r| r.attributes.clone())).flatten();
        let references = graph.dependencies(address).cloned().collect();
        ops.push(Op {
            address: address.clone(),
            kind,
            desired,
            references,
            waits_for: Vec::new(),
            dependents: Vec::new(),
            expected: expected_duration(address.kind(), kind),
            priority: Duration::ZERO,
        });
        ops.len() - 1
    };
    for change in &plan.changes {
        let kinds: &[OpKind] = match change.action {
            Action::NoOp => &[],
            Action::Create => &[OpKind::Create],
            Action::Update => &[OpKind::Update],
            Action::Replace => &[OpKind::Delete, OpKind::Create],
            Action::Delete => &[OpKind::Delete],
        };
        for &kind in kinds {
            let i = push(&mut ops, &change.address, kind);
            index.insert((&change.address, kind), i);
        }
    }
    let mut edges = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        match op.kind {
            OpKind::Create | OpKind::Update => {
                for dependency in &op.references {
                    for kind in [OpKind::Create, OpKind::Update] {
                        if let Some(&j) = index.get(&(dependency, kind)) {
                            edges.push((j, i));
                        }
                    }
                }
                if let Some(&j) = index.get(&(&op.address, OpKind::Delete)) {
                    edges.push((j, i));
                }
            }
            OpKind::Delete => {
                let recorded = state.get(&op.address).map(|r| r.dependencies.as_slice()).unwrap_or_default();
                for dependency in recorded {
                    if let Some(&j) = index.get(&(dependency, OpKind::Delete)) {
                        edges.push((i, j));
                    }
                }
            }
        }
    }
    for (before, after) in edges {
        if before != after && !ops[after].waits_for.contains(&before) {
            ops[after].waits_for.push(before);
            ops[before].dependents.push(after);
        }
    }
    set_priorities(&mut ops);
    ops
}

/// Longest expected chain from each operation to the end, computed dependents first.
fn set_priorities(ops: &mut [Op]) {
    let mut remaining: Vec<usize> = ops.iter().map(|op| op.dependents.len()).collect();
    let mut stack: Vec<usize> = (0..ops.len()).filter(|&i| remaining[i] == 0).collect();
    while let Some(i) = stack.pop() {
        let tail = ops[i].dependents.iter().map(|&d| ops[d].priority).max().unwrap_or_default();
        ops[i].priority = ops[i].expected + tail;
        for j in ops[i].waits_for.clone() {
            remaining[j] -= 1;
            if remaining[j] == 0 {
                stack.push(j);
            }
        }
    }
}
