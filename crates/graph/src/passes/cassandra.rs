//! Cassandra itself: the superuser Secret with a generated password, then either one
//! K8ssandraCluster on the control plane listing every datacenter, or one CassandraDatacenter
//! per datacenter whose additional seeds are the seed pods of the datacenters before it.

use ringform_core::{Address, Value};
use ringform_schema as kinds;
use ringform_topology::{Cassandra, CassandraMode, Cloud, Datacenter, Keyspace};

use super::kubernetes::{add_in, dns_ready, namespace, operator, operator_namespace, storage_class};
use crate::builder::{Builder, attrs, output};

pub(super) fn datacenters(b: &mut Builder) {
    let Some(cassandra) = &b.topology.cassandra else { return };
    b.from(&cassandra.cluster_name.span);
    let password = b.add(kinds::local::GENERATED_SECRET, "cassandra/superuser", attrs! { "length" => 24i64 });
    let up = match cassandra.mode.value {
        CassandraMode::K8ssandraOperator => k8ssandra_cluster(b, cassandra, &password).into_iter().collect(),
        CassandraMode::CassOperatorSeeds => seeded_datacenters(b, cassandra, &password),
    };
    node_pools(b, cassandra, &up);
    let keyspaces = keyspaces(b, cassandra, &up);
    if cassandra.mode.value == CassandraMode::CassOperatorSeeds {
        rebuilds(b, cassandra, &keyspaces);
    }
}

/// The keyspaces ringform keeps (the system ones, and those the topology declares) at the
/// replication the topology gives them, asked of the first datacenter's nodes once every
/// datacenter in `up` (resources whose `id` means their datacenters are up) is.
fn keyspaces(b: &mut Builder, cassandra: &Cassandra, up: &[Address]) -> Vec<Address> {
    let Some(Value::Map(ring)) = ring_access(b, cassandra) else { return Vec::new() };
    let datacenters: Vec<Value> = up.iter().map(|dc| output(dc, "id")).collect();
    let system = cassandra.system_keyspaces().into_iter().map(|k| (kinds::kubernetes::SYSTEM_KEYSPACE, k));
    let declared = cassandra.keyspaces.iter().map(|k| (kinds::kubernetes::KEYSPACE, k.clone()));
    let mut addresses = Vec::new();
    for (kind, keyspace) in system.chain(declared) {
        let mut attributes = ring.clone();
        attributes.insert("keyspace".into(), keyspace.name.value.as_str().into());
        attributes.insert("replication".into(), replication(&keyspace));
        attributes.insert("datacenters".into(), datacenters.clone().into());
        b.from(&keyspace.name.span);
        addresses.push(b.add(kind, &keyspace.name.value, attributes));
    }
    addresses
}

/// On each EKS cluster hosting a datacenter, Cassandra's pods run on the node group of the
/// topology's instance type: when that changes, the new group is made, the pods move to it
/// rack by rack, then the old group goes. (AKS changes a pool's VM size only by replacing the
/// cluster, which plans name as data loss.)
fn node_pools(b: &mut Builder, cassandra: &Cassandra, up: &[Address]) {
    let datacenters: Vec<Value> = up.iter().map(|dc| output(dc, "id")).collect();
    let mut done: Vec<&str> = Vec::new();
    for dc in &cassandra.datacenters {
        let Some(c) = b.topology.cluster(&dc.cluster.value) else { continue };
        if c.provider.value != Cloud::Aws || done.contains(&c.name.value.as_str()) {
            continue;
        }
        done.push(&c.name.value);
        let nodes = b.address(
            kinds::aws::EKS_NODE_GROUP,
            &super::aws::node_group_name(&c.name.value, &c.node_pool.machine_type.value),
        );
        add_in(
            b,
            kinds::kubernetes::NODE_POOL,
            c,
            "cassandra",
            attrs! {
                "pool_label" => EKS_NODE_GROUP_LABEL,
                "pool" => output(&nodes, "node_group_name"),
                "datacenters" => datacenters.clone(),
            },
        );
    }
}

/// The label EKS puts on a node group's nodes, naming it.
const EKS_NODE_GROUP_LABEL: &str = "eks.amazonaws.com/nodegroup";

/// `{datacenter: factor}`.
fn replication(keyspace: &Keyspace) -> Value {
    Value::from_iter(keyspace.replication.iter().map(|r| (r.datacenter.value.clone(), r.factor.value.into())))
}

/// How to ask the ring something: a node of the first datacenter (`cluster`, `kubernetes`,
/// `namespace`, `datacenter`).
fn ring_access(b: &mut Builder, cassandra: &Cassandra) -> Option<Value> {
    let first = cassandra.datacenters.first()?;
    let c = b.topology.cluster(&first.cluster.value)?;
    Some(Value::from_iter([
        ("cluster", Value::from(c.name.value.as_str())),
        ("kubernetes", super::kubernetes::access(b, c)),
        ("namespace", first.namespace.value.as_str().into()),
        ("datacenter", first.name.value.as_str().into()),
    ]))
}

/// Every datacenter after the first streams the data it now replicates from the first one,
/// once the keyspaces include it: a datacenter added to a live ring starts empty.
fn rebuilds(b: &mut Builder, cassandra: &Cassandra, keyspaces: &[Address]) {
    let Some((first, rest)) = cassandra.datacenters.split_first() else { return };
    let keyspaces: Vec<Value> = keyspaces.iter().map(|k| output(k, "id")).collect();
    for dc in rest {
        let Some(c) = b.topology.cluster(&dc.cluster.value) else { continue };
        let ns = namespace(b, &dc.cluster.value, &dc.namespace.value);
        add_in(
            b,
            kinds::kubernetes::REBUILD,
            c,
            &dc.name.value,
            attrs! {
                "namespace" => output(&ns, "name"),
                "datacenter" => dc.name.value.as_str(),
                "source" => first.name.value.as_str(),
                "keyspaces" => keyspaces.clone(),
            },
        );
    }
}

/// The Secret the operator(s) read the superuser's credentials from.
fn superuser_secret(b: &mut Builder, cassandra: &Cassandra, cluster: &str, ns: &str, password: &Address) -> Address {
    let Some(c) = b.topology.cluster(cluster) else { return b.address(kinds::kubernetes::SECRET, "missing") };
    let ns_address = namespace(b, cluster, ns);
    add_in(
        b,
        kinds::kubernetes::SECRET,
        c,
        &format!("{ns}/superuser"),
        attrs! {
            "namespace" => output(&ns_address, "name"),
            "name" => cassandra.superuser_secret.value.as_str(),
            "data" => Value::from_iter([
                ("username", Value::from(format!("{}-superuser", cassandra.cluster_name.value))),
                ("password", Value::secret(output(password, "value"))),
            ]),
        },
    )
}

/// What every datacenter spec shares, whichever operator reads it.
fn datacenter_spec(b: &mut Builder, dc: &Datacenter) -> ringform_core::Attributes {
    let ns = namespace(b, &dc.cluster.value, &dc.namespace.value);
    let racks: Vec<Value> = dc
        .racks
        .iter()
        .map(|r| {
            Value::from_iter([("name", Value::from(r.name.value.as_str())), ("zone", r.zone.value.as_str().into())])
        })
        .collect();
    let storage_class = storage_class(b, dc);
    let mut spec = attrs! {
        "name" => dc.name.value.as_str(),
        "namespace" => output(&ns, "name"),
        "size" => i64::from(dc.size.value),
        "racks" => racks,
        "storage_class" => storage_class,
        "storage_size" => dc.storage_size.value.as_str(),
        "heap" => dc.heap.value.as_str(),
    };
    if let Some(dns) = dns_ready(b, &dc.cluster.value) {
        spec.insert("dns".into(), dns);
    }
    spec
}

fn k8ssandra_cluster(b: &mut Builder, cassandra: &Cassandra, password: &Address) -> Option<Address> {
    let cp = cassandra.control_plane.as_ref().and_then(|cp| b.topology.cluster(&cp.value))?;
    let cp_name = cp.name.value.as_str();
    let ns = operator_namespace(CassandraMode::K8ssandraOperator);
    let superuser = superuser_secret(b, cassandra, cp_name, ns, password);
    let datacenters: Vec<Value> = cassandra
        .datacenters
        .iter()
        .map(|dc| {
            let mut spec = datacenter_spec(b, dc);
            // An empty context is the control plane's own cluster; any other must be a
            // ClientConfig's, which the operator's webhook checks.
            let context = if dc.cluster.value == cp_name {
                Value::from("")
            } else {
                let config =
                    b.address(kinds::kubernetes::CLIENT_CONFIG, &format!("{cp_name}/{ns}/{}", dc.cluster.value));
                output(&config, "context_name")
            };
            spec.insert("k8s_context".into(), context);
            // Which cluster holds the datacenter's data, for plans to name what is at stake.
            spec.insert("cluster".into(), dc.cluster.value.as_str().into());
            let dc_operator = operator(b, &dc.cluster.value, CassandraMode::K8ssandraOperator);
            spec.insert("operator".into(), output(&dc_operator, "id"));
            Value::Map(spec)
        })
        .collect();
    let cp_ns = namespace(b, cp_name, ns);
    let cp_operator = operator(b, cp_name, CassandraMode::K8ssandraOperator);
    let name = cassandra.cluster_name.value.as_str();
    let mut attributes = attrs! {
        "namespace" => output(&cp_ns, "name"),
        "name" => name,
        "server_version" => cassandra.server_version.value.as_str(),
        "superuser_secret" => output(&superuser, "name"),
        "operator" => output(&cp_operator, "id"),
        "datacenters" => datacenters,
        "keyspaces" => Value::from_iter(cassandra.keyspaces.iter().map(|k| (k.name.value.clone(), replication(k)))),
    };
    if let Some(ring) = ring_access(b, cassandra) {
        attributes.insert("ring".into(), ring);
    }
    attributes.insert("cluster".into(), cp_name.into());
    attributes.insert("kubernetes".into(), super::kubernetes::access(b, cp));
    Some(b.add(kinds::kubernetes::K8SSANDRA_CLUSTER, name, attributes))
}

fn seeded_datacenters(b: &mut Builder, cassandra: &Cassandra, password: &Address) -> Vec<Address> {
    let mut earlier: Vec<Address> = Vec::new();
    let mut secrets: Vec<(String, String, Address)> = Vec::new();
    for dc in &cassandra.datacenters {
        let Some(c) = b.topology.cluster(&dc.cluster.value) else { continue };
        let key = (dc.cluster.value.clone(), dc.namespace.value.clone());
        let superuser = match secrets.iter().find(|(c, n, _)| (c, n) == (&key.0, &key.1)) {
            Some((_, _, address)) => address.clone(),
            None => {
                let address = superuser_secret(b, cassandra, &key.0, &key.1, password);
                secrets.push((key.0, key.1, address.clone()));
                address
            }
        };
        let dc_operator = operator(b, &dc.cluster.value, CassandraMode::CassOperatorSeeds);
        let mut attributes = datacenter_spec(b, dc);
        attributes.insert("cluster_name".into(), cassandra.cluster_name.value.as_str().into());
        attributes.insert("server_version".into(), cassandra.server_version.value.as_str().into());
        attributes.insert("superuser_secret".into(), output(&superuser, "name"));
        attributes.insert("operator".into(), output(&dc_operator, "id"));
        // Each datacenter joins the ring through the seed pods of those brought up before it.
        let seeds: Vec<Value> = earlier.iter().map(|dc| output(dc, "seed_ips")).collect();
        attributes.insert("additional_seeds".into(), seeds.into());
        let address = add_in(b, kinds::kubernetes::CASSANDRA_DATACENTER, c, &dc.name.value, attributes);
        earlier.push(address);
    }
    earlier
}
