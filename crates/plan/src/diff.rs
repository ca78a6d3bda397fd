//! Desired graph × state snapshot → plan.

use std::collections::HashMap;

use ringform_core::inputs;
use ringform_core::schema::{KindSchema, Schemas};
use ringform_core::{Address, Attributes};
use ringform_graph::ResourceGraph;
use ringform_state::Snapshot;

use crate::{Action, Change, Plan};

/// Diffs `graph` against `state`. Resources are visited dependencies first, so whether a
/// referenced output is known is decided by what happens to the resource it comes from:
/// outputs of resources that stay (or change in place) come from state, outputs of resources
/// being created or replaced are unknown until apply. Each kind's schema says what forces a
/// replacement, how values compare, and which inputs are secret.
pub fn plan(graph: &ResourceGraph, state: &Snapshot, topology_hash: String, schemas: &Schemas) -> Plan {
    let order = graph.topological_order();
    // Index into `changes` of each resource planned so far.
    let mut planned: HashMap<&Address, usize> = HashMap::with_capacity(order.len());
    // Deletions (records the graph no longer has) are few: they grow the vector when there are
    // any, rather than every plan reserving room for the whole state twice over.
    let mut changes: Vec<Change> = Vec::with_capacity(order.len());
    for address in order {
        let Some(resource) = graph.get(address) else { continue };
        let lookup = |reference: &ringform_core::Reference| {
            let change = &changes[*planned.get(&reference.address)?];
            let stays = matches!(change.action, Action::NoOp | Action::Update);
            let recorded = stays.then(|| state.get(&reference.address)?.outputs.get(&reference.output)).flatten();
            // An output named like an input echoes it (a namespace's `name`), so it is known
            // as soon as that input is.
            let echoed = || change.after.as_ref()?.get(&reference.output).filter(|v| v.is_known());
            recorded.or_else(echoed).cloned()
        };
        let mut after: Attributes = resource.attributes.iter().map(|(k, v)| (k.clone(), v.resolve(&lookup))).collect();
        let schema = schemas.get(address.kind());
        if let Some(schema) = schema {
            KindSchema::seal(schema.inputs, &mut after);
        }
        let change = match state.get(address) {
            None => Change {
                address: address.clone(),
                action: Action::Create,
                before: None,
                after: Some(after),
                changed: Vec::new(),
                replace_because: Vec::new(),
                reason: "not in state yet".into(),
                at_stake: Vec::new(),
            },
            Some(record) => compare(address, schema, &record.inputs, after),
        };
        planned.insert(address, changes.len());
        changes.push(change);
    }
    for record in state.iter().filter(|r| !graph.contains(&r.address)) {
        changes.push(Change {
            address: record.address.clone(),
            action: Action::Delete,
            before: Some(record.inputs.clone()),
            after: None,
            changed: Vec::new(),
            replace_because: Vec::new(),
            reason: "no longer in the topology".into(),
            at_stake: Vec::new(),
        });
    }
    let refusals = crate::stakes::mark(&mut changes, state, schemas);
    sort(&mut changes, schemas);
    Plan { lineage: state.lineage, serial: state.serial, topology_hash, changes, refusals }
}

/// Orders changes the way the providers declare their kinds (a VPC before its subnets), then
/// by name.
fn sort(changes: &mut [Change], schemas: &Schemas) {
    changes.sort_unstable_by(|a, b| {
        (schemas.rank(a.address.kind()), &a.address).cmp(&(schemas.rank(b.address.kind()), &b.address))
    });
}

/// A plan deleting every record in `state` (or only `targets` and what depends on them).
pub fn plan_destroy(state: &Snapshot, targets: &[Address], topology_hash: String, schemas: &Schemas) -> Plan {
    let mut doomed: std::collections::HashSet<&Address> = targets.iter().collect();
    if !targets.is_empty() {
        // Whatever references a doomed object must go first, so it is doomed too.
        let mut grew = true;
        while grew {
            grew = false;
            for record in state.iter() {
                if !doomed.contains(&record.address) && record.dependencies.iter().any(|d| doomed.contains(d)) {
                    doomed.insert(&record.address);
                    grew = true;
                }
            }
        }
    }
    let mut changes: Vec<Change> = state
        .iter()
        .filter(|r| targets.is_empty() || doomed.contains(&r.address))
        .map(|record| Change {
            address: record.address.clone(),
            action: Action::Delete,
            before: Some(record.inputs.clone()),
            after: None,
            changed: Vec::new(),
            replace_because: Vec::new(),
            reason: "destroy".into(),
            at_stake: Vec::new(),
        })
        .collect();
    let refusals = crate::stakes::mark(&mut changes, state, schemas);
    sort(&mut changes, schemas);
    Plan { lineage: state.lineage, serial: state.serial, topology_hash, changes, refusals }
}

fn compare(address: &Address, schema: Option<&KindSchema>, before: &Attributes, after: Attributes) -> Change {
    let changed = inputs::changed(schema, before, &after);
    let forcing: Vec<String> =
        changed.iter().filter(|k| schema.is_some_and(|s| s.forces_replacement(k))).cloned().collect();
    let (action, reason) = if changed.is_empty() {
        (Action::NoOp, String::new())
    } else if forcing.is_empty() {
        (Action::Update, format!("{} changed", quoted_list(&changed)))
    } else {
        let verb = if forcing.len() == 1 { "forces" } else { "force" };
        (Action::Replace, format!("{} {verb} replacement", quoted_list(&forcing)))
    };
    Change {
        address: address.clone(),
        action,
        // Unchanged resources don't keep a second copy of their attributes: before is after.
        before: (action != Action::NoOp).then(|| before.clone()),
        after: Some(after),
        changed,
        replace_because: forcing,
        reason,
        at_stake: Vec::new(),
    }
}

fn quoted_list<S: AsRef<str>>(names: &[S]) -> String {
    names.iter().map(|n| format!("`{}`", n.as_ref())).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringform_core::Value;
    use ringform_graph::Resource;
    use ringform_schema::{aws, kubernetes};
    use ringform_state::Record;

    fn address(text: &str) -> Address {
        text.parse().unwrap()
    }

    fn graph(resources: Vec<(&str, Attributes)>) -> ResourceGraph {
        ResourceGraph::from_resources(
            resources.into_iter().map(|(a, attributes)| Resource { address: address(a), attributes }).collect(),
        )
        .unwrap()
    }

    fn vpc(cidr: &str) -> Attributes {
        [("region".to_owned(), Value::from("eu-west-1")), ("cidr_block".to_owned(), cidr.into())].into()
    }

    fn subnet() -> Attributes {
        [
            ("vpc_id".to_owned(), Value::reference(&address("aws_vpc.a"), "id")),
            ("cidr_block".into(), "10.0.0.0/24".into()),
        ]
        .into()
    }

    fn record(a: &str, inputs: Attributes, outputs: Attributes) -> Record {
        Record::new(address(a), Some("id".into()), inputs, outputs)
    }

    /// State after applying a VPC 10.0.0.0/16 (id vpc-1) and a subnet in it.
    fn applied_vpc_and_subnet() -> Snapshot {
        let outputs: Attributes = [("id".to_owned(), Value::from("vpc-1"))].into();
        let mut applied_subnet = subnet();
        applied_subnet.insert("vpc_id".into(), "vpc-1".into());
        Snapshot::empty().with(record("aws_vpc.a", vpc("10.0.0.0/16"), outputs)).with(record(
            "aws_subnet.a",
            applied_subnet,
            Attributes::new(),
        ))
    }

    fn action_of(plan: &Plan, a: &str) -> Action {
        plan.changes.iter().find(|c| c.address == address(a)).unwrap().action
    }

    #[test]
    fn empty_state_creates_everything_with_unknown_references() {
        let plan = plan(
            &graph(vec![("aws_vpc.a", vpc("10.0.0.0/16")), ("aws_subnet.a", subnet())]),
            &Snapshot::empty(),
            "h".into(),
            &ringform_schema::all(),
        );
        assert_eq!(action_of(&plan, "aws_vpc.a"), Action::Create);
        let subnet = plan.changes.iter().find(|c| c.address.kind() == aws::SUBNET).unwrap();
        assert_eq!(subnet.after.as_ref().unwrap()["vpc_id"], Value::Unknown);
        assert_eq!(plan.summary(), crate::Summary { add: 2, change: 0, destroy: 0, data_loss: 0 });
    }

    #[test]
    fn matching_state_is_a_no_op_with_references_resolved_from_outputs() {
        let state = applied_vpc_and_subnet();
        let plan = plan(
            &graph(vec![("aws_vpc.a", vpc("10.0.0.0/16")), ("aws_subnet.a", subnet())]),
            &state,
            "h".into(),
            &ringform_schema::all(),
        );
        assert!(!plan.has_changes(), "{plan:#?}");
    }

    #[test]
    fn replacing_a_dependency_makes_references_unknown_and_names_the_attribute() {
        let state = applied_vpc_and_subnet();
        let plan = plan(
            &graph(vec![("aws_vpc.a", vpc("10.1.0.0/16")), ("aws_subnet.a", subnet())]),
            &state,
            "h".into(),
            &ringform_schema::all(),
        );
        let vpc_change = &plan.changes[0];
        assert_eq!(vpc_change.action, Action::Replace);
        assert_eq!(vpc_change.replace_because, ["cidr_block"]);
        assert_eq!(vpc_change.reason, "`cidr_block` forces replacement");
        // The subnet's vpc_id is unknown now, and vpc_id forces a new subnet.
        assert_eq!(action_of(&plan, "aws_subnet.a"), Action::Replace);
    }

    #[test]
    fn an_output_named_like_a_known_input_is_known_at_plan_time() {
        let namespace: Attributes = [("name".to_owned(), Value::from("cassandra"))].into();
        let secret: Attributes = [
            ("namespace".to_owned(), Value::reference(&address("k8s_namespace.a/cassandra"), "name")),
            ("uid".to_owned(), Value::reference(&address("k8s_namespace.a/cassandra"), "uid")),
        ]
        .into();
        let desired = graph(vec![("k8s_namespace.a/cassandra", namespace), ("k8s_secret.a/s", secret)]);
        let plan = plan(&desired, &Snapshot::empty(), "h".into(), &ringform_schema::all());
        let after =
            plan.changes.iter().find(|c| c.address.kind() == kubernetes::SECRET).unwrap().after.clone().unwrap();
        assert_eq!(after["namespace"], Value::from("cassandra"));
        assert_eq!(after["uid"], Value::Unknown);
    }

    /// Refresh stores what a read saw, outputs too: a load balancer AWS gave other addresses
    /// makes the stub domains forwarding to it update, though neither's inputs drifted.
    #[test]
    fn a_dependency_whose_outputs_moved_makes_its_users_update() {
        let endpoint: Attributes = [("service_type".to_owned(), Value::from("LoadBalancer"))].into();
        let ips = |ips: &[&str]| -> Attributes { [("ips".to_owned(), Value::from(ips.to_vec()))].into() };
        let stubs = |to: Value| -> Attributes {
            [("stub_domains".to_owned(), Value::from_iter([("b.svc.cluster.local", to)]))].into()
        };
        let desired = graph(vec![
            ("kube_dns_endpoint.b/kube-dns", endpoint.clone()),
            (
                "coredns_stub_domains.a/coredns",
                stubs(Value::reference(&address("kube_dns_endpoint.b/kube-dns"), "ips")),
            ),
        ]);
        let state = |now: &[&str]| {
            Snapshot::empty().with(record("kube_dns_endpoint.b/kube-dns", endpoint.clone(), ips(now))).with(record(
                "coredns_stub_domains.a/coredns",
                stubs(Value::from(vec!["10.1.0.4"])),
                Attributes::new(),
            ))
        };
        let schemas = ringform_schema::all();
        assert!(!plan(&desired, &state(&["10.1.0.4"]), "h".into(), &schemas).has_changes());

        let moved = plan(&desired, &state(&["10.1.0.6"]), "h".into(), &schemas);
        assert_eq!(action_of(&moved, "kube_dns_endpoint.b/kube-dns"), Action::NoOp);
        assert_eq!(action_of(&moved, "coredns_stub_domains.a/coredns"), Action::Update);
    }

    #[test]
    fn in_place_change_is_an_update() {
        let node_group = |size: i64| -> Attributes { [("desired_size".to_owned(), Value::Int(size))].into() };
        let state = Snapshot::empty().with(record("aws_eks_node_group.a", node_group(3), Attributes::new()));
        let plan =
            plan(&graph(vec![("aws_eks_node_group.a", node_group(5))]), &state, "h".into(), &ringform_schema::all());
        assert_eq!(plan.changes[0].action, Action::Update);
        assert_eq!(plan.changes[0].reason, "`desired_size` changed");
        assert_eq!(plan.summary(), crate::Summary { add: 0, change: 1, destroy: 0, data_loss: 0 });
    }

    #[test]
    fn destroy_with_a_target_takes_its_dependents_along() {
        let mut subnet = record("aws_subnet.a", subnet(), Attributes::new());
        subnet.dependencies = vec![address("aws_vpc.a")];
        let state = Snapshot::empty()
            .with(record("aws_vpc.a", vpc("10.0.0.0/16"), Attributes::new()))
            .with(record("aws_vpc.b", vpc("10.1.0.0/16"), Attributes::new()))
            .with(subnet);
        let plan = plan_destroy(&state, &[address("aws_vpc.a")], "h".into(), &ringform_schema::all());
        let doomed: Vec<String> = plan.changes.iter().map(|c| c.address.to_string()).collect();
        assert_eq!(doomed, ["aws_vpc.a", "aws_subnet.a"]);
        assert_eq!(plan_destroy(&state, &[], "h".into(), &ringform_schema::all()).summary().destroy, 3);
    }

    #[test]
    fn state_without_a_resource_in_the_graph_is_deleted() {
        let state = Snapshot::empty().with(record("aws_vpc.gone", vpc("10.0.0.0/16"), Attributes::new()));
        let plan = plan(&graph(vec![]), &state, "h".into(), &ringform_schema::all());
        assert_eq!(plan.changes[0].action, Action::Delete);
        assert_eq!(plan.summary().destroy, 1);
    }

    #[test]
    fn secrets_compare_by_value_and_stay_secret() {
        let key = address("generated_secret.k");
        let outputs: Attributes = [("value".to_owned(), Value::secret("s3cret".into()))].into();
        let connection = |v: Value| -> Attributes { [("shared_key".to_owned(), v)].into() };
        let state = Snapshot::empty().with(record("generated_secret.k", Attributes::new(), outputs)).with(record(
            "azure_vpn_connection.a~b",
            connection(Value::secret("s3cret".into())),
            Attributes::new(),
        ));
        let desired = graph(vec![
            ("generated_secret.k", Attributes::new()),
            ("azure_vpn_connection.a~b", connection(Value::secret(Value::reference(&key, "value")))),
        ]);
        let plan = plan(&desired, &state, "h".into(), &ringform_schema::all());
        assert!(!plan.has_changes(), "{plan:#?}");
    }
}
