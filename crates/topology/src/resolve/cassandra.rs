//! The `[cassandra]` table, its datacenters and their racks.

use super::fields::*;
use crate::diagnostic::Diagnostic;
use crate::load::element_key;
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
    PCassandra { cluster_name, server_version, mode, control_plane, superuser_secret, datacenters }
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
