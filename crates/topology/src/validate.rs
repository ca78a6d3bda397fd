//! The rules that look across tables: unique names, references, address-range overlaps, the
//! mesh options against the providers used, DNS namespaces, racks, node capacity and keyspace
//! replication against datacenter sizes.

use std::collections::HashMap;

use ipnet::Ipv4Net;

use crate::diagnostic::{Diagnostic, line_col};
use crate::model::*;
use crate::net::overlapping_pairs;
use crate::partial::*;
use crate::patterns::closest;
use crate::resolve::gateway_needed;

pub(crate) fn validate(p: &Partial, source: &str, d: &mut Vec<Diagnostic>) {
    unique_cluster_names(p, source, d);
    no_overlapping_ranges(p, d);
    mesh_fits_providers(p, d);
    security_group_rules(p, d);
    if p.dns.mode.value == DnsMode::CorednsStubs && p.clusters.len() < 2 {
        d.push(
            Diagnostic::new(
                p.dns.mode.span.clone(),
                "dns.mode",
                format!("dns.mode = \"coredns-stubs\" joins 2 or more clusters; the topology has {}", p.clusters.len()),
            )
            .hint("use mode = \"none\" for a single cluster"),
        );
    }
    if let Some(cassandra) = &p.cassandra {
        unique_datacenter_names(cassandra, source, d);
        unique_keyspace_names(cassandra, source, d);
        references(p, cassandra, d);
        replication_within_sizes(cassandra, d);
        racks_and_sizes(p, cassandra, d);
        if p.dns.mode.value == DnsMode::CorednsStubs {
            namespaces_per_cluster(cassandra, d);
        }
        capacity(p, cassandra, d);
    }
}

fn at_line(source: &str, span: &Span) -> String {
    format!("line {}", line_col(source, span.start).0)
}

fn unique_cluster_names(p: &Partial, source: &str, d: &mut Vec<Diagnostic>) {
    let names = p.clusters.iter().filter_map(|c| Some((c.key.as_str(), c.name.as_ref()?)));
    unique_names(names, "cluster", "give every cluster its own name", str::to_string, source, d);
}

fn unique_datacenter_names(cassandra: &PCassandra, source: &str, d: &mut Vec<Diagnostic>) {
    let names = cassandra.datacenters.iter().filter_map(|dc| Some((dc.key.as_str(), dc.name.as_ref()?)));
    let hint = "give every datacenter its own name: Cassandra identifies datacenters by name";
    unique_names(names, "datacenter", hint, str::to_string, source, d);
}

/// Cassandra folds unquoted names to lower case, so `Orders` and `orders` are one keyspace.
fn unique_keyspace_names(cassandra: &PCassandra, source: &str, d: &mut Vec<Diagnostic>) {
    let names = cassandra.keyspaces.iter().filter_map(|k| Some((k.key.as_str(), k.name.as_ref()?)));
    let hint = "give every keyspace its own name: Cassandra ignores the case of names that are not quoted";
    unique_names(names, "keyspace", hint, str::to_ascii_lowercase, source, d);
}

/// Reports each name already used by an earlier table of its kind (`what`), at the later one,
/// as `<table key>.name`. Names are compared as `same` makes them.
fn unique_names<'a>(
    names: impl Iterator<Item = (&'a str, &'a Spanned<String>)>,
    what: &str,
    hint: &str,
    same: fn(&str) -> String,
    source: &str,
    d: &mut Vec<Diagnostic>,
) {
    let mut seen: HashMap<String, &Span> = HashMap::new();
    for (key, name) in names {
        if let Some(first) = seen.get(&same(&name.value)) {
            d.push(
                Diagnostic::new(
                    name.span.clone(),
                    format!("{key}.name"),
                    format!("{what} name `{}` is already used by the {what} at {}", name.value, at_line(source, first)),
                )
                .hint(hint),
            );
        } else {
            seen.insert(same(&name.value), &name.span);
        }
    }
}

/// One address range of one cluster, for the overlap check.
struct Range<'a> {
    net: Ipv4Net,
    span: &'a Span,
    what: &'static str,
    cluster: &'a PCluster,
}

/// Overlapping node, pod or service ranges are routed nowhere and nothing warns at apply time,
/// so every pair is reported, once, at the one written later.
fn no_overlapping_ranges(p: &Partial, d: &mut Vec<Diagnostic>) {
    let mut ranges = Vec::new();
    for cluster in &p.clusters {
        let fields = [
            ("network_cidr", &cluster.network_cidr),
            ("pod_cidr", &cluster.pod_cidr),
            ("service_cidr", &cluster.service_cidr),
        ];
        for (what, net) in fields {
            if let Some(net) = net {
                ranges.push(Range { net: net.value, span: &net.span, what, cluster });
            }
        }
    }
    let nets: Vec<Ipv4Net> = ranges.iter().map(|r| r.net).collect();
    for (i, j) in overlapping_pairs(&nets) {
        let (earlier, later) = if ranges[i].span.start <= ranges[j].span.start {
            (&ranges[i], &ranges[j])
        } else {
            (&ranges[j], &ranges[i])
        };
        let same = std::ptr::eq(earlier.cluster, later.cluster);
        let hint = if same {
            "a cluster's network, pod and service ranges must not overlap each other: pick a range none of them uses"
        } else {
            "every cluster needs node, pod and service ranges no other cluster uses, or packets cannot be routed between them"
        };
        d.push(
            Diagnostic::new(
                later.span.clone(),
                format!("{}.{}", later.cluster.key, later.what),
                format!(
                    "{} {} overlaps {} {} of {}",
                    later.what,
                    later.net,
                    earlier.what,
                    earlier.net,
                    if same { "the same cluster".to_string() } else { format!("cluster {}", earlier.cluster.label) }
                ),
            )
            .hint(hint),
        );
    }
}

fn mesh_fits_providers(p: &Partial, d: &mut Vec<Diagnostic>) {
    let count = |cloud| p.clusters.iter().filter(|c| c.provider.as_ref().is_some_and(|v| v.value == cloud)).count();
    let (aws, azure) = (count(Cloud::Aws), count(Cloud::Azure));
    let given = &p.mesh_given;
    let mut unused = |span: &Option<Span>, key: &str, message: &str, hint: &str| {
        if let Some(span) = span {
            d.push(Diagnostic::new(span.clone(), key, message).hint(hint));
        }
    };
    if aws == 0 {
        unused(
            &given.aws,
            "mesh.aws",
            "mesh.aws is set but no cluster is on aws",
            "remove mesh.aws: it only applies to aws clusters",
        );
    }
    if aws == 0 {
        unused(
            &given.aws_rules_per_security_group,
            "mesh.aws_rules_per_security_group",
            "mesh.aws_rules_per_security_group is set but no cluster is on aws",
            "remove it: it limits the security groups of aws clusters",
        );
    }
    if azure == 0 {
        unused(
            &given.azure,
            "mesh.azure",
            "mesh.azure is set but no cluster is on azure",
            "remove mesh.azure: it only applies to azure clusters",
        );
    }
    if aws == 0 || azure == 0 {
        unused(
            &given.cross_cloud,
            "mesh.cross_cloud",
            "mesh.cross_cloud is set but the topology does not have both aws and azure clusters",
            "remove mesh.cross_cloud: it joins aws clusters to azure clusters",
        );
    }
    if !gateway_needed(p.mesh.azure.value, aws, azure) {
        unused(
            &given.azure_gateway_sku,
            "mesh.azure_gateway_sku",
            "mesh.azure_gateway_sku is set but no Azure cluster needs a VPN gateway",
            "remove it: gateways are built for mesh.azure = \"vpn-gateway\" with 2 or more azure clusters, and for the VPN between aws and azure",
        );
    }
}

/// Each AWS cluster's security group gets an inbound rule per Cassandra port and per address
/// range of every other cluster; AWS refuses rules past the account's quota, half-way through
/// an apply, so the count is checked here.
fn security_group_rules(p: &Partial, d: &mut Vec<Diagnostic>) {
    let quota = &p.mesh.aws_rules_per_security_group;
    let ranges = |c: &PCluster| usize::from(c.network_cidr.is_some()) + usize::from(c.pod_cidr.is_some());
    let all_ranges: usize = p.clusters.iter().map(ranges).sum();
    for (i, cluster) in p.clusters.iter().enumerate() {
        let Some(name) =
            cluster.name.as_ref().filter(|_| cluster.provider.as_ref().is_some_and(|v| v.value == Cloud::Aws))
        else {
            continue;
        };
        let peer_ranges = all_ranges - ranges(cluster);
        let rules = CASSANDRA_PORTS.len() * peer_ranges;
        if rules <= quota.value as usize {
            continue;
        }
        let others = p.clusters.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, c)| c);
        let with_pods: Vec<&str> = others.filter(|c| c.pod_cidr.is_some()).map(|c| c.label.as_str()).collect();
        let pods_hint = if with_pods.is_empty() {
            String::new()
        } else {
            format!(
                "; or leave out the pod_cidr of {} if their pods take node addresses (EKS's default): {} rules fewer each",
                with_pods.join(", "),
                CASSANDRA_PORTS.len()
            )
        };
        let region = cluster.region.as_ref().map_or(String::new(), |r| format!(" in {}", r.value));
        d.push(
            Diagnostic::new(
                name.span.clone(),
                format!("{}.name", cluster.key),
                format!(
                    "the security group of aws cluster {} would need {rules} inbound rules ({} Cassandra ports × {peer_ranges} \
                     address ranges of the {} other clusters), more than the {} allowed per security group",
                    cluster.label,
                    CASSANDRA_PORTS.len(),
                    p.clusters.len() - 1,
                    quota.value
                ),
            )
            .hint(format!(
                "ask AWS to raise the quota \"Inbound or outbound rules per security group\"{region} to at least {rules} \
                 and set mesh.aws_rules_per_security_group = {rules}{pods_hint}"
            )),
        );
    }
}

/// The names a reference may use, and how to speak of them.
struct Defined<'a> {
    /// `cluster`, `datacenter`.
    what: &'static str,
    /// The table that defines one.
    table: &'static str,
    names: Vec<&'a str>,
}

impl Defined<'_> {
    /// Reports `name` unless it is defined, suggesting the closest defined name.
    fn check(&self, d: &mut Vec<Diagnostic>, name: &Spanned<String>, key: String, message: String) {
        if self.names.contains(&name.value.as_str()) {
            return;
        }
        let (what, defined) = (self.what, self.names.join(", "));
        let hint = match closest(&name.value, self.names.iter().copied()) {
            _ if self.names.is_empty() => format!("define the {what} with a {} table", self.table),
            Some(suggestion) => format!("did you mean `{suggestion}`? Defined {what}s: {defined}"),
            None => format!("use one of the defined {what}s: {defined}"),
        };
        d.push(Diagnostic::new(name.span.clone(), key, message).hint(hint));
    }
}

/// `datacenter.cluster` and `control_plane` must name a defined cluster, and the keys of a
/// keyspace's replication a defined datacenter.
fn references(p: &Partial, cassandra: &PCassandra, d: &mut Vec<Diagnostic>) {
    let clusters = Defined {
        what: "cluster",
        table: "[[clusters]]",
        names: p.clusters.iter().filter_map(|c| c.name.as_ref()).map(|n| n.value.as_str()).collect(),
    };
    for dc in &cassandra.datacenters {
        if let Some(cluster) = &dc.cluster {
            let message = format!("datacenter {} runs in cluster `{}`, which is not defined", dc.label, cluster.value);
            clusters.check(d, cluster, format!("{}.cluster", dc.key), message);
        }
    }
    if let Some(control_plane) = &cassandra.control_plane {
        let message = format!("control_plane `{}` is not a defined cluster", control_plane.value);
        clusters.check(d, control_plane, "cassandra.control_plane".to_string(), message);
    }
    let datacenters = Defined {
        what: "datacenter",
        table: "[[cassandra.datacenters]]",
        names: cassandra.datacenters.iter().filter_map(|dc| dc.name.as_ref()).map(|n| n.value.as_str()).collect(),
    };
    for keyspace in &cassandra.keyspaces {
        for replicas in &keyspace.replication {
            let message = format!(
                "keyspace {} is replicated to datacenter `{}`, which is not defined",
                keyspace.label, replicas.datacenter.value
            );
            datacenters.check(d, &replicas.datacenter, replicas.key.clone(), message);
        }
    }
}

/// Each replica of a keyspace in a datacenter takes a node of its own.
fn replication_within_sizes(cassandra: &PCassandra, d: &mut Vec<Diagnostic>) {
    for keyspace in &cassandra.keyspaces {
        for replicas in &keyspace.replication {
            let Some(factor) = &replicas.factor else { continue };
            let Some(dc) = cassandra.datacenter(&replicas.datacenter.value) else { continue };
            let Some(size) = dc.size.as_ref().filter(|size| factor.value > i64::from(size.value)) else { continue };
            d.push(
                Diagnostic::new(
                    factor.span.clone(),
                    replicas.key.clone(),
                    format!(
                        "keyspace {} wants {} replicas in datacenter {}, which has size {}",
                        keyspace.label, factor.value, dc.label, size.value
                    ),
                )
                .hint(format!(
                    "lower it to at most {}, or raise the size of {}: each replica needs a node of its own",
                    size.value, dc.label
                )),
            );
        }
    }
}

/// Racks sit on the zones of their cluster, and every rack gets at least one node.
fn racks_and_sizes(p: &Partial, cassandra: &PCassandra, d: &mut Vec<Diagnostic>) {
    for dc in &cassandra.datacenters {
        let cluster = dc.cluster.as_ref().and_then(|c| p.cluster(&c.value));
        let zones = cluster.and_then(|c| c.zones.as_ref());
        if let (Some(racks), Some(zones), Some(cluster)) = (&dc.racks, zones, cluster) {
            let zone_list = zones.iter().map(|z| z.value.as_str()).collect::<Vec<_>>().join(", ");
            for rack in racks {
                if let Some(zone) = rack.zone.as_ref().filter(|z| !zones.iter().any(|c| c.value == z.value)) {
                    d.push(
                        Diagnostic::new(
                            zone.span.clone(),
                            format!("{}.zone", rack.key),
                            format!("rack zone `{}` is not one of the zones of cluster {}", zone.value, cluster.label),
                        )
                        .hint(format!("use one of: {zone_list}")),
                    );
                }
            }
        }
        let racks = match &dc.racks {
            Some(racks) => Some(racks.len()),
            None => zones.map(Vec::len),
        };
        if let (Some(size), Some(racks)) = (&dc.size, racks)
            && (size.value as usize) < racks
        {
            d.push(
                Diagnostic::new(
                    size.span.clone(),
                    format!("{}.size", dc.key),
                    format!(
                        "datacenter {} has {racks} racks but size {}: every rack needs at least one node",
                        dc.label, size.value
                    ),
                )
                .hint(format!("raise size to at least {racks}, or list fewer racks")),
            );
        }
    }
}

/// CoreDNS stub domains forward `<namespace>.svc.cluster.local` to one remote cluster, so a
/// namespace cannot be used in two clusters.
fn namespaces_per_cluster(cassandra: &PCassandra, d: &mut Vec<Diagnostic>) {
    let mut owner: HashMap<&str, (&PDatacenter, &str)> = HashMap::new();
    for dc in &cassandra.datacenters {
        let (Some(namespace), Some(cluster)) = (&dc.namespace, &dc.cluster) else { continue };
        match owner.get(namespace.value.as_str()) {
            Some((first, first_cluster)) if *first_cluster != cluster.value => d.push(
                Diagnostic::new(
                    namespace.span.clone(),
                    format!("{}.namespace", dc.key),
                    format!(
                        "namespace `{}` is also used by datacenter {} in cluster {first_cluster}; with dns.mode = \"coredns-stubs\" each cluster needs its own namespace",
                        namespace.value, first.label
                    ),
                )
                .hint(format!("set namespace = \"{}-{}\" (CoreDNS forwards <namespace>.svc.cluster.local to one cluster)", namespace.value, cluster.value)),
            ),
            Some(_) => {}
            None => {
                owner.insert(&namespace.value, (dc, &cluster.value));
            }
        }
    }
}

/// cass-operator places one Cassandra pod per worker node.
fn capacity(p: &Partial, cassandra: &PCassandra, d: &mut Vec<Diagnostic>) {
    for (i, cluster) in p.clusters.iter().enumerate() {
        let (Some(name), Some(count)) = (&cluster.name, &cluster.node_count) else { continue };
        // Datacenters go to the first cluster of a duplicated name.
        if p.clusters[..i].iter().any(|c| c.name.as_ref().is_some_and(|n| n.value == name.value)) {
            continue;
        }
        let dcs: Vec<(&str, u32)> = cassandra
            .datacenters
            .iter()
            .filter(|dc| dc.cluster.as_ref().is_some_and(|c| c.value == name.value))
            .filter_map(|dc| Some((dc.label.as_str(), dc.size.as_ref()?.value)))
            .collect();
        let needed: u64 = dcs.iter().map(|(_, size)| u64::from(*size)).sum();
        if needed > u64::from(count.value) {
            let list = dcs.iter().map(|(dc, size)| format!("{dc}: {size}")).collect::<Vec<_>>().join(", ");
            d.push(
                Diagnostic::new(
                    count.span.clone(),
                    format!("{}.node_pool.count", cluster.key),
                    format!(
                        "cluster {} has {} worker nodes but its datacenters need {needed} ({list})",
                        cluster.label, count.value
                    ),
                )
                .hint(format!(
                    "raise node_pool.count to at least {needed}: cass-operator places one Cassandra pod per worker node"
                )),
            );
        }
    }
}
