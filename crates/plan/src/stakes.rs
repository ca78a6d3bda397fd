//! Cassandra data a plan would destroy. The schemas say which kinds host datacenters (a
//! Kubernetes cluster, its node pool) and which are datacenters; the data that exists is what
//! state records. A change is marked when it replaces or deletes what hosts a recorded
//! datacenter, replaces or deletes a datacenter, or changes one in a way its volumes cannot
//! follow: another storage class, a smaller size, a rack in another zone.

use ringform_core::schema::{CassandraData, KindSchema, Schemas};
use ringform_core::{Address, Attributes, UNKNOWN_TEXT, Value};
use ringform_state::Snapshot;
use serde::{Deserialize, Serialize};

use crate::{Action, Change};

/// How every reason that the datacenter itself goes (deleted, removed, made again) begins,
/// which is what may strand a keyspace's replicas.
const DATACENTER_GOES: &str = "the datacenter is";

/// One datacenter's data that a change would destroy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtStake {
    pub datacenter: String,
    /// The Kubernetes cluster it runs in, as the topology names it.
    pub cluster: String,
    pub nodes: i64,
    /// Each node's volume, e.g. `100Gi of gp3`.
    pub storage: String,
    /// What destroys it, one sentence each.
    pub because: Vec<String>,
}

/// Marks every change in `changes` that destroys Cassandra data recorded in `state`, and
/// returns why the plan may not be carried out at all: keyspaces whose every replica is in
/// datacenters it removes while others stay.
pub(crate) fn mark(changes: &mut [Change], state: &Snapshot, schemas: &Schemas) -> Vec<String> {
    let recorded: Vec<&Attributes> = state
        .iter()
        .filter_map(|record| Some((schemas.get(record.address.kind())?, &record.inputs)))
        .flat_map(|(schema, inputs)| datacenters(schema, inputs))
        .collect();
    if recorded.is_empty() {
        return Vec::new();
    }
    let successors = successors(changes, schemas);
    for change in changes.iter_mut().filter(|c| c.action != Action::NoOp) {
        if let Some(successor) = successors.iter().find(|(old, _)| *old == change.address).map(|(_, new)| new) {
            change.reason = format!(
                "replaced by {successor}, made first: Cassandra's pods move to it one rack at a time, then this goes"
            );
        } else if let Some(schema) = schemas.get(change.address.kind()) {
            change.at_stake = at_stake(change, schema, &recorded);
        }
    }
    stranded_keyspaces(changes, state, schemas, &recorded)
}

/// The Kubernetes cluster a hosting object's address names: `<kind>.<cluster>[/<pool>]`.
fn hosted_cluster(address: &Address) -> &str {
    address.name().split('/').next().unwrap_or_default()
}

/// (deleted, created) pairs of node pools that take over from one another: the same kind in
/// the same cluster and the same subnets (so zones, so volumes, stay). The new one is made
/// before the old one goes, so nothing is lost.
fn successors(changes: &[Change], schemas: &Schemas) -> Vec<(Address, Address)> {
    let hosts = |c: &&Change| schemas.get(c.address.kind()).is_some_and(|s| s.cassandra_data == CassandraData::Hosts);
    let same_zones = |old: &Change, new: &Change| {
        let subnets = |attributes: &Option<Attributes>| attributes.as_ref().and_then(|a| a.get("subnet_ids")).cloned();
        let schema = schemas.get(old.address.kind());
        match (subnets(&old.before), subnets(&new.after), schema) {
            (Some(a), Some(b), Some(schema)) => schema.same_input("subnet_ids", &a, &b),
            _ => false,
        }
    };
    let mut pairs = Vec::new();
    for old in changes.iter().filter(hosts).filter(|c| c.action == Action::Delete) {
        let new = changes.iter().filter(hosts).find(|new| {
            new.action == Action::Create
                && new.address.kind() == old.address.kind()
                && hosted_cluster(&new.address) == hosted_cluster(&old.address)
                && same_zones(old, new)
        });
        if let Some(new) = new {
            pairs.push((old.address.clone(), new.address.clone()));
        }
    }
    pairs
}

/// Keyspaces left with no replica by removing datacenters while others stay, as the ring's
/// keyspaces were last seen (output `keyspaces` of the datacenter kinds).
fn stranded_keyspaces(
    changes: &[Change],
    state: &Snapshot,
    schemas: &Schemas,
    recorded: &[&Attributes],
) -> Vec<String> {
    let removed: Vec<&str> = changes
        .iter()
        .flat_map(|c| &c.at_stake)
        .filter(|s| s.because.iter().any(|b| b.starts_with(DATACENTER_GOES)))
        .map(|s| s.datacenter.as_str())
        .collect();
    let stays = recorded.iter().any(|dc| !removed.contains(&text(dc, "name")));
    if removed.is_empty() || !stays {
        return Vec::new();
    }
    let mut stranded = Vec::new();
    let views =
        state.iter().filter(|r| schemas.get(r.address.kind()).is_some_and(|s| s.cassandra_data != CassandraData::None));
    for record in views {
        let Some(Value::Map(keyspaces)) = record.outputs.get("keyspaces") else { continue };
        for (keyspace, replication) in keyspaces {
            let Value::Map(factors) = replication else { continue };
            let holders: Vec<&str> =
                factors.iter().filter(|(_, f)| f.as_int().is_some_and(|f| f > 0)).map(|(dc, _)| dc.as_str()).collect();
            let message = format!(
                "keyspace `{keyspace}` has replicas only in {}, which this plan removes: replicate it to a \
                 datacenter that stays (or drop it) first",
                holders.join(", ")
            );
            let only_removed = !holders.is_empty() && holders.iter().all(|dc| removed.contains(dc));
            if only_removed && !factors.contains_key("replication_factor") && !stranded.contains(&message) {
                stranded.push(message);
            }
        }
    }
    stranded
}

/// The datacenters an object of `schema`'s kind with `inputs` is (one, a list, or none).
fn datacenters<'a>(schema: &KindSchema, inputs: &'a Attributes) -> Vec<&'a Attributes> {
    match schema.cassandra_data {
        CassandraData::Datacenter => vec![inputs],
        CassandraData::Datacenters => match inputs.get("datacenters") {
            Some(Value::List(items)) => items
                .iter()
                .filter_map(|item| match item {
                    Value::Map(dc) => Some(dc),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        },
        CassandraData::None | CassandraData::Hosts => Vec::new(),
    }
}

fn at_stake(change: &Change, schema: &KindSchema, recorded: &[&Attributes]) -> Vec<AtStake> {
    let before = change.before.as_ref().map(|b| datacenters(schema, b)).unwrap_or_default();
    let after = change.after.as_ref().map(|a| datacenters(schema, a)).unwrap_or_default();
    match (schema.cassandra_data, change.action) {
        (CassandraData::Hosts, Action::Replace | Action::Delete) => {
            let cluster = hosted_cluster(&change.address);
            let because = match change.action {
                Action::Replace => format!("{} is replaced: its nodes and their volumes go first", change.address),
                _ => format!("{} is deleted, with its nodes and their volumes", change.address),
            };
            let hosted = recorded.iter().filter(|dc| text(dc, "cluster") == cluster);
            hosted.map(|dc| stake(dc, vec![because.clone()])).collect()
        }
        (CassandraData::Datacenter | CassandraData::Datacenters, Action::Delete) => {
            before.iter().map(|dc| stake(dc, vec![format!("{DATACENTER_GOES} deleted, with its volumes")])).collect()
        }
        (CassandraData::Datacenter | CassandraData::Datacenters, Action::Replace) => {
            let because = format!("{DATACENTER_GOES} made again, empty ({})", change.reason);
            before.iter().map(|dc| stake(dc, vec![because.clone()])).collect()
        }
        (CassandraData::Datacenter | CassandraData::Datacenters, Action::Update) => before
            .iter()
            .filter_map(|old| match after.iter().find(|new| text(new, "name") == text(old, "name")) {
                None => Some(stake(old, vec![format!("{DATACENTER_GOES} removed, with its volumes")])),
                Some(new) => {
                    let damage = damage(old, new);
                    (!damage.is_empty()).then(|| stake(old, damage))
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn stake(dc: &Attributes, because: Vec<String>) -> AtStake {
    AtStake {
        datacenter: text(dc, "name").to_owned(),
        cluster: text(dc, "cluster").to_owned(),
        nodes: dc.get("size").and_then(Value::as_int).unwrap_or(0),
        storage: format!("{} of {}", text(dc, "storage_size"), text(dc, "storage_class")),
        because,
    }
}

/// What a datacenter's volumes cannot follow from `old` to `new`, one sentence each.
fn damage(old: &Attributes, new: &Attributes) -> Vec<String> {
    let mut damage = Vec::new();
    let (old_class, new_class) = (text(old, "storage_class"), text(new, "storage_class"));
    if old_class != new_class {
        damage.push(format!("storage class `{old_class}` → `{new_class}`: volumes cannot change class"));
    }
    let (old_size, new_size) = (text(old, "storage_size"), text(new, "storage_size"));
    let shrinks = match (bytes(old_size), bytes(new_size)) {
        (Some(old), Some(new)) => new < old,
        // A size that is not a quantity (or not known yet) may be smaller.
        _ => old_size != new_size,
    };
    if shrinks {
        damage.push(format!("storage `{old_size}` → `{new_size}`: volumes cannot shrink"));
    }
    for (rack, old_zone) in racks(old) {
        if let Some((_, new_zone)) = racks(new).into_iter().find(|(r, _)| *r == rack)
            && new_zone != old_zone
        {
            damage.push(format!(
                "rack `{rack}` moves from `{old_zone}` to `{new_zone}`: its volumes stay in `{old_zone}`"
            ));
        }
    }
    damage
}

/// A datacenter's racks as (name, zone).
fn racks(dc: &Attributes) -> Vec<(&str, &str)> {
    let Some(Value::List(racks)) = dc.get("racks") else { return Vec::new() };
    racks
        .iter()
        .filter_map(|rack| match rack {
            Value::Map(rack) => Some((text(rack, "name"), text(rack, "zone"))),
            _ => None,
        })
        .collect()
}

/// A text attribute as shown; what is not known yet reads as such.
fn text<'a>(attributes: &'a Attributes, key: &str) -> &'a str {
    match attributes.get(key) {
        Some(Value::String(text)) => text,
        Some(Value::Unknown | Value::Reference(_)) => UNKNOWN_TEXT,
        _ => "",
    }
}

/// A Kubernetes quantity (`100Gi`, `500G`, `1.5Ti`) in bytes.
fn bytes(quantity: &str) -> Option<f64> {
    let split = quantity.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(quantity.len());
    let (number, suffix) = quantity.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match suffix {
        "" => 1.0,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        _ => return None,
    };
    Some(number * scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{plan, plan_destroy};
    use ringform_core::Address;
    use ringform_graph::{Resource, ResourceGraph};
    use ringform_state::Record;

    fn address(text: &str) -> Address {
        text.parse().unwrap()
    }

    fn attributes(pairs: &[(&str, Value)]) -> Attributes {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    fn rack(name: &str, zone: &str) -> Value {
        Value::from_iter([("name", Value::from(name)), ("zone", zone.into())])
    }

    fn datacenter(size: i64, class: &str, storage: &str, zone: &str) -> Attributes {
        attributes(&[
            ("cluster", "eu".into()),
            ("name", "dc-eu".into()),
            ("size", Value::Int(size)),
            ("racks", Value::from(vec![rack("r1", zone)])),
            ("storage_class", class.into()),
            ("storage_size", storage.into()),
        ])
    }

    fn eks(region: &str) -> Attributes {
        attributes(&[("region", region.into())])
    }

    const DC: &str = "cassandra_datacenter.eu/dc-eu";

    /// State after applying an EKS cluster `eu` in eu-west-1 holding 3 nodes of 100Gi gp3.
    fn applied() -> Snapshot {
        let record =
            |a: &str, inputs: Attributes| Record::new(address(a), Some("id".into()), inputs, Attributes::new());
        Snapshot::empty()
            .with(record("aws_eks_cluster.eu", eks("eu-west-1")))
            .with(record(DC, datacenter(3, "gp3", "100Gi", "eu-west-1a")))
    }

    fn planned(cluster: Attributes, dc: Attributes) -> crate::Plan {
        let graph = ResourceGraph::from_resources(vec![
            Resource { address: address("aws_eks_cluster.eu"), attributes: cluster },
            Resource { address: address(DC), attributes: dc },
        ])
        .unwrap();
        plan(&graph, &applied(), "h".into(), &ringform_schema::all())
    }

    fn stakes(plan: &crate::Plan) -> Vec<(String, String)> {
        let of =
            |c: &Change| c.at_stake.iter().map(|s| (c.address.to_string(), s.because.join("; "))).collect::<Vec<_>>();
        plan.changes.iter().flat_map(of).collect()
    }

    #[test]
    fn replacing_the_cluster_that_hosts_a_datacenter_names_its_data() {
        let plan = planned(eks("eu-north-1"), datacenter(3, "gp3", "100Gi", "eu-west-1a"));
        let change = plan.changes.iter().find(|c| c.address == address("aws_eks_cluster.eu")).unwrap();
        assert_eq!(
            change.at_stake,
            [AtStake {
                datacenter: "dc-eu".into(),
                cluster: "eu".into(),
                nodes: 3,
                storage: "100Gi of gp3".into(),
                because: vec!["aws_eks_cluster.eu is replaced: its nodes and their volumes go first".into()],
            }]
        );
        assert_eq!(plan.summary().data_loss, 1);
        assert_eq!(plan.data_loss().count(), 1);
    }

    #[test]
    fn volumes_that_cannot_follow_a_change_are_at_stake_and_growth_is_not() {
        let grown = planned(eks("eu-west-1"), datacenter(5, "gp3", "200Gi", "eu-west-1a"));
        assert!(grown.has_changes());
        assert_eq!(stakes(&grown), []);

        let moved = planned(eks("eu-west-1"), datacenter(3, "gp2", "50Gi", "eu-west-1b"));
        assert_eq!(
            stakes(&moved),
            [(
                DC.to_owned(),
                "storage class `gp3` → `gp2`: volumes cannot change class; storage `100Gi` → `50Gi`: volumes cannot \
                 shrink; rack `r1` moves from `eu-west-1a` to `eu-west-1b`: its volumes stay in `eu-west-1a`"
                    .to_owned()
            )]
        );
        // 0.5Ti is more than 100Gi, though a smaller number.
        let larger = planned(eks("eu-west-1"), datacenter(3, "gp3", "0.5Ti", "eu-west-1a"));
        assert_eq!(stakes(&larger), []);
    }

    #[test]
    fn a_datacenter_removed_from_a_list_is_at_stake_and_one_added_is_not() {
        let dc = |name: &str| {
            let mut dc = datacenter(3, "gp3", "100Gi", "eu-west-1a");
            dc.insert("name".into(), name.into());
            Value::Map(dc)
        };
        let cluster = |dcs: Vec<Value>| attributes(&[("datacenters", Value::from(dcs))]);
        let state = Snapshot::empty().with(Record::new(
            address("k8ssandra_cluster.ring"),
            Some("id".into()),
            cluster(vec![dc("a"), dc("b")]),
            Attributes::new(),
        ));
        let plan_for = |dcs: Vec<Value>| {
            let graph = ResourceGraph::from_resources(vec![Resource {
                address: address("k8ssandra_cluster.ring"),
                attributes: cluster(dcs),
            }])
            .unwrap();
            plan(&graph, &state, "h".into(), &ringform_schema::all())
        };
        assert_eq!(stakes(&plan_for(vec![dc("a"), dc("b"), dc("c")])), []);
        let shrunk = plan_for(vec![dc("a")]);
        let change = &shrunk.changes[0];
        assert_eq!(change.at_stake.len(), 1);
        assert_eq!(change.at_stake[0].datacenter, "b");
        assert_eq!(change.at_stake[0].because, ["the datacenter is removed, with its volumes"]);
    }

    #[test]
    fn destroying_everything_destroys_every_datacenter_once_per_change() {
        let plan = plan_destroy(&applied(), &[], "h".into(), &ringform_schema::all());
        assert_eq!(plan.summary().data_loss, 2, "{plan:#?}");
    }

    #[test]
    fn a_plan_without_datacenters_in_state_marks_nothing() {
        let state = Snapshot::empty().with(Record::new(
            address("aws_eks_cluster.eu"),
            None,
            eks("eu-west-1"),
            Attributes::new(),
        ));
        let plan = plan_destroy(&state, &[], "h".into(), &ringform_schema::all());
        assert_eq!(plan.summary().data_loss, 0);
    }

    /// Removing dc-b (its record deleted) strands `orders`, held only there, but not `users`,
    /// held in dc-a too, nor anything when the whole ring goes.
    #[test]
    fn removing_the_only_datacenter_holding_a_keyspace_is_refused() {
        let keyspaces = Value::from_iter([
            ("orders", Value::from_iter([("dc-b", Value::Int(3))])),
            ("users", Value::from_iter([("dc-a", Value::Int(3)), ("dc-b", Value::Int(3))])),
            ("system_traces", Value::from_iter([("replication_factor", Value::Int(2))])),
        ]);
        let dc = |name: &str| {
            let mut inputs = datacenter(3, "gp3", "100Gi", "eu-west-1a");
            inputs.insert("name".into(), name.into());
            let outputs = attributes(&[("keyspaces", keyspaces.clone())]);
            Record::new(address(&format!("cassandra_datacenter.eu/{name}")), Some("id".into()), inputs, outputs)
        };
        let state = Snapshot::empty().with(dc("dc-a")).with(dc("dc-b"));
        let only_a = ResourceGraph::from_resources(vec![Resource {
            address: address("cassandra_datacenter.eu/dc-a"),
            attributes: state.get(&address("cassandra_datacenter.eu/dc-a")).unwrap().inputs.clone(),
        }])
        .unwrap();
        let plan = plan(&only_a, &state, "h".into(), &ringform_schema::all());
        assert_eq!(
            plan.refusals,
            ["keyspace `orders` has replicas only in dc-b, which this plan removes: replicate it to a datacenter \
              that stays (or drop it) first"]
        );
        assert!(plan_destroy(&state, &[], "h".into(), &ringform_schema::all()).refusals.is_empty());
    }

    /// Another instance type is another node group in the same subnets: made first, and the old
    /// one's deletion destroys nothing. In other subnets (zones), it does.
    #[test]
    fn a_node_group_taking_over_in_the_same_zones_is_no_loss() {
        let group = |subnets: &[&str]| {
            attributes(&[("region", "eu-west-1".into()), ("subnet_ids", Value::from(subnets.to_vec()))])
        };
        let state = applied().with(Record::new(
            address("aws_eks_node_group.eu/m5.xlarge"),
            Some("eu:cassandra-m5-xlarge".into()),
            group(&["subnet-a", "subnet-b"]),
            Attributes::new(),
        ));
        let plan_with = |subnets: &[&str]| {
            let graph = ResourceGraph::from_resources(vec![
                Resource { address: address("aws_eks_cluster.eu"), attributes: eks("eu-west-1") },
                Resource { address: address(DC), attributes: datacenter(3, "gp3", "100Gi", "eu-west-1a") },
                Resource { address: address("aws_eks_node_group.eu/m6i.xlarge"), attributes: group(subnets) },
            ])
            .unwrap();
            plan(&graph, &state, "h".into(), &ringform_schema::all())
        };
        let moved = plan_with(&["subnet-b", "subnet-a"]);
        let old = moved.changes.iter().find(|c| c.address == address("aws_eks_node_group.eu/m5.xlarge")).unwrap();
        assert_eq!(old.action, Action::Delete);
        assert!(old.at_stake.is_empty());
        assert!(old.reason.starts_with("replaced by aws_eks_node_group.eu/m6i.xlarge, made first"), "{}", old.reason);
        assert_eq!(moved.summary().data_loss, 0);

        let elsewhere = plan_with(&["subnet-c"]);
        assert_eq!(elsewhere.summary().data_loss, 1, "{elsewhere:#?}");
    }

    #[test]
    fn quantities_compare_in_bytes() {
        assert_eq!(bytes("100Gi"), Some(100.0 * 1024f64.powi(3)));
        assert!(bytes("1.5Ti") > bytes("1000Gi"));
        assert!(bytes("500G") < bytes("500Gi"));
        assert_eq!(bytes("lots"), None);
        assert_eq!(bytes("10Xi"), None);
    }
}
