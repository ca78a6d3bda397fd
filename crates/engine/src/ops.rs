//! A plan turned into the operations the executor runs, with the order they must run in and
//! a priority: the longest expected time from the operation to the end of the run.

use std::collections::HashMap;
use std::time::Duration;

use ringform_core::schema::Schemas;
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

/// How long `op` on a `kind` object takes in a real cloud, as its provider's schema says; used
/// only to start the operations on the longest remaining chain first. A kind no schema declares
/// (it cannot be applied anyway) counts as a few seconds.
pub fn expected_duration(schemas: &Schemas, kind: Kind, op: OpKind) -> Duration {
    let Some(schema) = schemas.get(kind) else { return Duration::from_secs(5) };
    match op {
        OpKind::Create => schema.durations.create,
        OpKind::Update => schema.durations.update,
        OpKind::Delete => schema.durations.delete,
    }
}

/// The operations of `plan`. Replacements delete the old object before creating the new one;
/// creates and updates follow what they reference (the graph); deletes go the other way, after
/// everything that referenced the object (as recorded in state) is deleted, or updated to stop
/// referencing it.
pub(crate) fn operations(plan: &Plan, graph: &ResourceGraph, state: &Snapshot, schemas: &Schemas) -> Vec<Op> {
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
            expected: expected_duration(schemas, address.kind(), kind),
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
    // Updates that stop referencing an object being deleted, and the delete: added last, where
    // they close no cycle.
    let mut let_go = Vec::new();
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
                // What stays must let go of what goes before it goes (a K8ssandraCluster drops
                // a datacenter before that datacenter's cluster and ClientConfig are deleted).
                // Not for replacements: their new object is created after the old one is gone.
                // A kind whose schema says so lets go only once the object is gone (system
                // keyspaces keep a datacenter until its nodes have left).
                if op.kind == OpKind::Update {
                    let after = schemas.get(op.address.kind()).is_some_and(|s| s.updates_after_deletes);
                    let recorded = state.get(&op.address).map(|r| r.dependencies.as_slice()).unwrap_or_default();
                    for dependency in recorded.iter().filter(|d| !index.contains_key(&(*d, OpKind::Create))) {
                        if let Some(&j) = index.get(&(dependency, OpKind::Delete)) {
                            let_go.push(if after { (j, i) } else { (i, j) });
                        }
                    }
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
        link(&mut ops, before, after);
    }
    for (before, after) in let_go {
        if !reaches(&ops, after, before) {
            link(&mut ops, before, after);
        }
    }
    set_priorities(&mut ops);
    ops
}

/// Makes `after` wait for `before`.
fn link(ops: &mut [Op], before: usize, after: usize) {
    if before != after && !ops[after].waits_for.contains(&before) {
        ops[after].waits_for.push(before);
        ops[before].dependents.push(after);
    }
}

/// Whether `to` waits, directly or not, for `from`.
fn reaches(ops: &[Op], from: usize, to: usize) -> bool {
    let mut seen = vec![false; ops.len()];
    let mut stack = vec![from];
    while let Some(i) = stack.pop() {
        if i == to {
            return true;
        }
        if !std::mem::replace(&mut seen[i], true) {
            stack.extend(ops[i].dependents.iter().copied());
        }
    }
    false
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

#[cfg(test)]
mod tests {
    use ringform_core::Value;
    use ringform_graph::Resource;
    use ringform_state::Record;

    use super::*;

    fn address(text: &str) -> Address {
        text.parse().unwrap()
    }

    fn attributes(pairs: &[(&str, Value)]) -> Attributes {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    /// Applied: a VPC in eu-west-1, a subnet in it, a security group referencing the subnet.
    fn state() -> Snapshot {
        let record = |at: &str, inputs: Attributes, dependencies: &[&str]| {
            let id = format!("{at}-id");
            let mut record =
                Record::new(address(at), Some(id.clone()), inputs, attributes(&[("id", Value::from(id.as_str()))]));
            record.dependencies = dependencies.iter().map(|d| address(d)).collect();
            record
        };
        Snapshot::empty()
            .with(record("aws_vpc.a", attributes(&[("region", "eu-west-1".into())]), &[]))
            .with(record("aws_subnet.a", attributes(&[("vpc", "aws_vpc.a-id".into())]), &["aws_vpc.a"]))
            .with(record(
                "aws_security_group.a",
                attributes(&[("subnet", "aws_subnet.a-id".into())]),
                &["aws_subnet.a"],
            ))
    }

    /// The operations for a graph without the subnet, where the security group references the
    /// VPC instead, and the VPC is in `region`.
    fn operations_without_the_subnet(region: &str) -> Vec<Op> {
        let vpc = address("aws_vpc.a");
        let graph = ResourceGraph::from_resources(vec![
            Resource { address: vpc.clone(), attributes: attributes(&[("region", region.into())]) },
            Resource {
                address: address("aws_security_group.a"),
                attributes: attributes(&[("vpc", Value::reference(&vpc, "id"))]),
            },
        ])
        .unwrap();
        let state = state();
        let schemas = ringform_schema::all();
        operations(&ringform_plan::plan(&graph, &state, String::new(), &schemas), &graph, &state, &schemas)
    }

    fn find(ops: &[Op], at: &str, kind: OpKind) -> usize {
        ops.iter().position(|op| op.address == address(at) && op.kind == kind).unwrap()
    }

    fn is_acyclic(ops: &[Op]) -> bool {
        let mut waiting: Vec<usize> = ops.iter().map(|op| op.waits_for.len()).collect();
        let mut ready: Vec<usize> = (0..ops.len()).filter(|&i| waiting[i] == 0).collect();
        let mut done = 0;
        while let Some(i) = ready.pop() {
            done += 1;
            for &d in &ops[i].dependents {
                waiting[d] -= 1;
                if waiting[d] == 0 {
                    ready.push(d);
                }
            }
        }
        done == ops.len()
    }

    #[test]
    fn an_update_that_lets_go_of_a_deleted_object_runs_before_the_delete() {
        let ops = operations_without_the_subnet("eu-west-1");
        assert_eq!(ops.len(), 2);
        let update = find(&ops, "aws_security_group.a", OpKind::Update);
        let delete = find(&ops, "aws_subnet.a", OpKind::Delete);
        assert_eq!(ops[delete].waits_for, [update]);
        assert!(ops[update].priority > ops[delete].priority);
    }

    #[test]
    fn letting_go_never_closes_a_cycle() {
        // The VPC is replaced: the subnet's delete comes before the VPC's, the VPC's create
        // before the update, so the update cannot also come before the subnet's delete.
        let ops = operations_without_the_subnet("us-east-1");
        assert_eq!(ops.len(), 4);
        assert!(is_acyclic(&ops));
        let update = find(&ops, "aws_security_group.a", OpKind::Update);
        let create = find(&ops, "aws_vpc.a", OpKind::Create);
        let subnet_delete = find(&ops, "aws_subnet.a", OpKind::Delete);
        let vpc_delete = find(&ops, "aws_vpc.a", OpKind::Delete);
        assert_eq!(ops[update].waits_for, [create]);
        assert_eq!(ops[create].waits_for, [vpc_delete]);
        assert_eq!(ops[vpc_delete].waits_for, [subnet_delete]);
    }
}
