//! The `[cassandra]` table, its datacenters and their racks, and its keyspaces.

use std::collections::BTreeMap;

use super::fields::*;
use crate::diagnostic::Diagnostic;
use crate::load::{KEYSPACES, element_key};
use crate::model::*;
use crate::partial::*;
use crate::patterns::*;
use crate::raw::*;

pub(super) fn resolve_cassandra(d: &mut Vec<Diagnostic>, raw: Spanned<RawCassandra>) -> PCassandra {
    let Spanned { value: raw, span } = raw;
    let cluster_name =
        required(d, raw.cluster_name, "cassandra.cluster_name", &span, "cluster_name = \"multi-region\"");
    check_name(d, cluster_name.as_ref(), "cassandra.cluster_name", "Cassandra cluster name", 40);
    let server_version =
        default_string(d, raw.server_version, "cassandra.server_version", "server_version = \"4.1.5\"", &span, "4.1.5");
    check(
        d,
        Some(&server_version),
        is_version_3,
        "cassandra.server_version",
        "is not a MAJOR.MINOR.PATCH version",
        "write it like \"4.1.5\"",
    );
    let mode = optional(d, raw.mode, "cassandra.mode", "mode = \"k8ssandra-operator\"").map_or_else(
        || Spanned::new(CassandraMode::K8ssandraOperator, span.clone()),
        |m| Spanned::new(m.value.into(), m.span),
    );
    let control_plane_given = raw.control_plane.span();
    let control_plane = optional(d, raw.control_plane, "cassandra.control_plane", "control_plane = \"eu-west\"");
    match (mode.value, &control_plane_given) {
        (CassandraMode::K8ssandraOperator, None) => d.push(
            Diagnostic::new(span.clone(), "cassandra.control_plane", "k8ssandra-operator mode needs a control plane cluster")
                .hint("set control_plane to the cluster that runs the k8ssandra control plane, e.g. control_plane = \"eu-west\""),
        ),
        (CassandraMode::CassOperatorSeeds, Some(at)) => d.push(
            Diagnostic::new(at.clone(), "cassandra.control_plane", "control_plane only applies to mode = \"k8ssandra-operator\"")
                .hint("remove control_plane: in cass-operator-seeds mode every datacenter is managed in its own cluster"),
        ),
        _ => {}
    }
    let secret_default = format!("{}-superuser", cluster_name.as_ref().map_or("cassandra", |n| n.value.as_str()));
    let superuser_secret = default_string(
        d,
        raw.superuser_secret,
        "cassandra.superuser_secret",
        "superuser_secret = \"multi-region-superuser\"",
        &span,
        &secret_default,
    );
    check(
        d,
        Some(&superuser_secret),
        is_dns_subdomain,
        "cassandra.superuser_secret",
        "is not a valid Secret name",
        "use lower-case letters, digits, `-` and `.`",
    );

    let example = "a [[cassandra.datacenters]] table per datacenter, each with name and cluster";
    let raw_dcs = read(d, raw.datacenters, "cassandra.datacenters", example);
    if matches!(&raw_dcs, Ok(None)) || matches!(&raw_dcs, Ok(Some(list)) if list.value.is_empty()) {
        d.push(
            Diagnostic::new(span.clone(), "cassandra.datacenters", "[cassandra] defines no datacenters")
                .hint("add a [[cassandra.datacenters]] table for each datacenter, with name and cluster"),
        );
    }
    let datacenters = match raw_dcs {
        Ok(Some(list)) => each_table(d, list.value, "cassandra.datacenters", example, resolve_datacenter),
        _ => Vec::new(),
    };
    let example = "a [[cassandra.keyspaces]] table per keyspace, each with name and replication";
    let raw_keyspaces = optional(d, raw.keyspaces, KEYSPACES, example).map_or_else(Vec::new, |list| list.value);
    let keyspaces = each_table(d, raw_keyspaces, KEYSPACES, example, resolve_keyspace);
    PCassandra { cluster_name, server_version, mode, control_plane, superuser_secret, datacenters, keyspaces }
}

fn resolve_datacenter(d: &mut Vec<Diagnostic>, index: usize, raw: Spanned<RawDatacenter>) -> PDatacenter {
    let Spanned { value: raw, span } = raw;
    let name_text = raw.name.valid().map(String::as_str);
    let key = element_key("cassandra.datacenters", index, name_text);
    let label = name_text.filter(|n| is_name(n, 30)).map_or_else(|| key.clone(), str::to_string);
    let k = |leaf: &str| format!("{key}.{leaf}");

    let name = required(d, raw.name, &k("name"), &span, "name = \"dc1\"");
    check_name(d, name.as_ref(), &k("name"), "datacenter name", 30);
    let cluster = required(d, raw.cluster, &k("cluster"), &span, "cluster = \"eu-west\"");
    let namespace =
        with_default(d, raw.namespace, &k("namespace"), "namespace = \"cassandra\"", &span, "cassandra".to_string());
    if let Some(ns) = namespace.as_ref().filter(|ns| !is_dns_label(&ns.value)) {
        d.push(
            Diagnostic::new(
                ns.span.clone(),
                k("namespace"),
                format!("namespace `{}` is not a valid Kubernetes namespace", ns.value),
            )
            .hint("use at most 63 lower-case letters, digits and `-`, starting and ending with a letter or digit"),
        );
    }
    let size = count_field(d, raw.size, &k("size"), &span, "size = 3", 3);
    let racks = match read(d, raw.racks, &k("racks"), "racks = [{ name = \"r1\", zone = \"eu-west-1a\" }]") {
        Ok(Some(list)) if list.value.is_empty() => {
            d.push(
                Diagnostic::new(list.span, k("racks"), "racks is empty")
                    .hint("list at least one rack, or remove racks to get one rack per zone"),
            );
            None
        }
        Ok(Some(list)) => Some(resolve_racks(d, list.value, &key)),
        Ok(None) => None,
        Err(()) => Some(Vec::new()),
    };
    let storage_class = optional(d, raw.storage_class, &k("storage_class"), "storage_class = \"gp3\"");
    let storage_size =
        default_string(d, raw.storage_size, &k("storage_size"), "storage_size = \"100Gi\"", &span, "100Gi");
    check(
        d,
        Some(&storage_size),
        is_quantity,
        &k("storage_size"),
        "is not a Kubernetes quantity",
        "write it like \"100Gi\"",
    );
    let heap = default_string(d, raw.heap, &k("heap"), "heap = \"2G\"", &span, "2G");
    check(
        d,
        Some(&heap),
        is_heap,
        &k("heap"),
        "is not a heap size",
        "write a number of megabytes or gigabytes, like \"512M\" or \"2G\"",
    );
    PDatacenter { key, label, span, name, cluster, namespace, size, racks, storage_class, storage_size, heap }
}

fn resolve_racks(d: &mut Vec<Diagnostic>, list: Vec<Field<RawRack>>, dc_key: &str) -> Vec<PRack> {
    let example = "{ name = \"r1\", zone = \"eu-west-1a\" }";
    let mut racks: Vec<PRack> = Vec::new();
    for (j, field) in list.into_iter().enumerate() {
        let key = format!("{dc_key}.racks[{j}]");
        let Some(Spanned { value: raw, span }) = optional(d, field, &key, example) else { continue };
        let name = required(d, raw.name, &format!("{key}.name"), &span, "name = \"r1\"");
        check_name(d, name.as_ref(), &format!("{key}.name"), "rack name", 30);
        if let Some(name) = &name {
            let earlier = racks.iter().find(|r| r.name.as_ref().is_some_and(|n| n.value == name.value));
            if let Some(earlier) = earlier {
                d.push(
                    Diagnostic::new(
                        name.span.clone(),
                        format!("{key}.name"),
                        format!("rack name `{}` is already used by {}", name.value, earlier.key),
                    )
                    .hint("give every rack of a datacenter its own name"),
                );
            }
        }
        let zone = required(d, raw.zone, &format!("{key}.zone"), &span, "zone = \"eu-west-1a\"");
        racks.push(PRack { key, name, zone });
    }
    racks
}

fn resolve_keyspace(d: &mut Vec<Diagnostic>, index: usize, raw: Spanned<RawKeyspace>) -> PKeyspace {
    let Spanned { value: raw, span } = raw;
    let name_text = raw.name.valid().map(String::as_str);
    let key = element_key(KEYSPACES, index, name_text);
    let label = name_text.filter(|n| is_keyspace_name(n)).map_or_else(|| key.clone(), str::to_string);
    let name = required(d, raw.name, &format!("{key}.name"), &span, "name = \"orders\"");
    if let Some(name) = &name {
        check_keyspace_name(d, name, &format!("{key}.name"));
    }
    let replication = resolve_replication(d, raw.replication, &raw.datacenter_spans, &key, &span);
    PKeyspace { key, label, name, replication }
}

/// A CQL identifier that is not a system keyspace's.
fn check_keyspace_name(d: &mut Vec<Diagnostic>, name: &Spanned<String>, key: &str) {
    let (message, hint) = if !is_keyspace_name(&name.value) {
        let hint = "use letters, digits and `_`, starting with a letter, at most 48 characters (a CQL identifier)";
        (format!("`{}` is not a valid keyspace name", name.value), hint.to_string())
    } else if let Some(system) = system_keyspace(&name.value) {
        let hint = if REPLICATED_SYSTEM_KEYSPACES.contains(&system) {
            format!(
                "remove this keyspace: ringform replicates {} itself, to every datacenter with min({SYSTEM_REPLICATION_FACTOR}, size) replicas",
                REPLICATED_SYSTEM_KEYSPACES.join(", ")
            )
        } else {
            format!("choose another name: Cassandra keeps {system} on each node itself and never replicates it")
        };
        (format!("keyspace name `{}` is taken by the system keyspace {system}", name.value), hint)
    } else {
        return;
    };
    d.push(Diagnostic::new(name.span.clone(), key, message).hint(hint));
}

/// The system keyspace a name stands for; Cassandra's own check ignores case too.
fn system_keyspace(name: &str) -> Option<&'static str> {
    SYSTEM_KEYSPACES.into_iter().find(|system| system.eq_ignore_ascii_case(name))
}

/// The datacenters and factors of `replication`, in the order written.
fn resolve_replication(
    d: &mut Vec<Diagnostic>,
    field: Field<BTreeMap<String, Field<i64>>>,
    key_spans: &BTreeMap<String, Span>,
    keyspace_key: &str,
    table: &Span,
) -> Vec<PReplicationFactor> {
    let key = format!("{keyspace_key}.replication");
    let Some(replication) = required(d, field, &key, table, "replication = { dc1 = 3, dc2 = 3 }") else {
        return Vec::new();
    };
    if replication.value.is_empty() {
        d.push(
            Diagnostic::new(replication.span, key, "replication is empty: the keyspace would have no replicas")
                .hint("name each datacenter that holds replicas, with how many, e.g. replication = { dc1 = 3 }"),
        );
        return Vec::new();
    }
    let mut factors: Vec<PReplicationFactor> = replication
        .value
        .into_iter()
        .map(|(datacenter, field)| {
            let key = format!("{key}.{datacenter}");
            let factor = optional(d, field, &key, "a number of replicas, e.g. 3")
                .filter(|f| at_least_one(d, f, &key, &datacenter));
            let span = key_spans.get(&datacenter).cloned().unwrap_or_else(|| replication.span.clone());
            PReplicationFactor { key, datacenter: Spanned::new(datacenter, span), factor }
        })
        .collect();
    factors.sort_by_key(|f| f.datacenter.span.start);
    factors
}

fn at_least_one(d: &mut Vec<Diagnostic>, factor: &Spanned<i64>, key: &str, datacenter: &str) -> bool {
    if factor.value < 1 {
        d.push(
            Diagnostic::new(
                factor.span.clone(),
                key,
                format!("replication factor of datacenter {datacenter} must be at least 1, not {}", factor.value),
            )
            .hint(format!("leave {datacenter} out of replication to keep no replica there")),
        );
    }
    factor.value >= 1
}
