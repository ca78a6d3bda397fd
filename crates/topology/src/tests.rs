//! One test per rule, each asserting the key and the line:column of the diagnostic, plus the
//! defaults and derivations of a valid topology.

use crate::*;

/// Two AWS clusters and a datacenter in each: valid as it is.
const BASE: &str = r#"deployment = "test"

[[clusters]]
name = "eu-west"
provider = "aws"
region = "eu-west-1"
zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
network_cidr = "10.1.0.0/16"
service_cidr = "10.101.0.0/16"

[[clusters]]
name = "eu-central"
provider = "aws"
region = "eu-central-1"
zones = ["eu-central-1a", "eu-central-1b", "eu-central-1c"]
network_cidr = "10.2.0.0/16"
service_cidr = "10.102.0.0/16"

[cassandra]
cluster_name = "ring"
control_plane = "eu-west"

[[cassandra.datacenters]]
name = "dc1"
cluster = "eu-west"

[[cassandra.datacenters]]
name = "dc2"
cluster = "eu-central"
"#;

/// One AWS and one Azure cluster.
const MIXED: &str = r#"deployment = "test"

[[clusters]]
name = "eu-west"
provider = "aws"
region = "eu-west-1"
zones = ["eu-west-1a", "eu-west-1b"]
network_cidr = "10.1.0.0/16"
service_cidr = "10.101.0.0/16"

[[clusters]]
name = "canada"
provider = "azure"
region = "canadacentral"
network_cidr = "10.2.0.0/16"
service_cidr = "10.102.0.0/16"
"#;

const FULL: &str = include_str!("../tests/fixtures/full.toml");

/// `source` with `old` replaced by `new` (which must be there).
fn edit(source: &str, old: &str, new: &str) -> String {
    assert!(source.contains(old), "`{old}` is not in the source");
    source.replacen(old, new, 1)
}

fn errors(source: &str) -> Vec<Diagnostic> {
    match parse(source) {
        Ok(_) => panic!("expected errors, the topology is valid:\n{source}"),
        Err(diagnostics) => diagnostics,
    }
}

fn show(source: &str, diagnostics: &[Diagnostic]) -> String {
    diagnostics.iter().map(|d| d.render("t.toml", source, false)).collect::<Vec<_>>().join("\n\n")
}

/// The diagnostic with `key` at `line:col`; fails listing every diagnostic otherwise.
fn expect(source: &str, key: &str, at: &str) -> Diagnostic {
    let diagnostics = errors(source);
    let found = diagnostics.iter().find(|d| {
        let (line, col) = line_col(source, d.span.start);
        d.key == key && format!("{line}:{col}") == at
    });
    match found {
        Some(d) => d.clone(),
        None => panic!("no diagnostic for {key} at {at}; got:\n{}", show(source, &diagnostics)),
    }
}

fn hint(d: &Diagnostic) -> &str {
    d.hint.as_deref().unwrap_or_default()
}

#[test]
fn base_and_full_topologies_are_valid() {
    for source in [BASE, MIXED, FULL] {
        if let Err(diagnostics) = parse(source) {
            panic!("{}", show(source, &diagnostics));
        }
    }
}

#[test]
fn defaults_and_derivations() {
    let t = parse(BASE).unwrap();
    assert_eq!(t.deployment.value, "test");
    assert_eq!(t.mesh.aws.value, AwsMesh::VpcPeering);
    assert_eq!(t.mesh.azure_gateway_sku.value, "VpnGw1AZ");
    assert_eq!(t.dns.mode.value, DnsMode::None);
    let c = t.cluster("eu-west").unwrap();
    assert_eq!(c.kubernetes_version.value, "1.35");
    assert_eq!((c.node_pool.count.value, c.node_pool.machine_type.value.as_str()), (3, "m5.xlarge"));
    let subnets: Vec<String> = c.node_subnets.iter().map(|s| format!("{}={}", s.name, s.cidr.value)).collect();
    assert_eq!(subnets, ["eu-west-1a=10.1.0.0/18", "eu-west-1b=10.1.64.0/18", "eu-west-1c=10.1.128.0/18"]);
    // Derived values point at what they were derived from.
    assert_eq!(c.node_subnets[0].cidr.span, c.network_cidr.span);
    assert!(c.pod_subnets.is_empty() && c.gateway_subnet.is_none());
    let cassandra = t.cassandra.unwrap();
    assert_eq!(cassandra.mode.value, CassandraMode::K8ssandraOperator);
    assert_eq!(cassandra.superuser_secret.value, "ring-superuser");
    assert_eq!(cassandra.server_version.value, "4.1.5");
    let dc = &cassandra.datacenters[0];
    assert_eq!((dc.namespace.value.as_str(), dc.size.value, dc.storage_class.value.as_str()), ("cassandra", 3, "gp3"));
    assert_eq!((dc.storage_size.value.as_str(), dc.heap.value.as_str()), ("100Gi", "2G"));
    let racks: Vec<String> = dc.racks.iter().map(|r| format!("{}@{}", r.name.value, r.zone.value)).collect();
    assert_eq!(racks, ["r1@eu-west-1a", "r2@eu-west-1b", "r3@eu-west-1c"]);
}

#[test]
fn full_topology_derivations() {
    let t = parse(FULL).unwrap();
    let west = t.cluster("eu-west").unwrap();
    let pods: Vec<String> = west.pod_subnets.iter().map(|s| format!("{}={}", s.name, s.cidr.value)).collect();
    assert_eq!(pods, ["eu-west-1a=100.64.0.0/18", "eu-west-1b=100.64.64.0/18", "eu-west-1c=100.64.128.0/18"]);
    assert_eq!(west.node_pool.machine_type.value, "m5.2xlarge");
    let central = t.cluster("eu-central").unwrap();
    assert_eq!(central.node_subnets[1].cidr.value.to_string(), "172.22.16.0/20");
    assert_eq!(central.node_subnets[1].zone.as_ref().unwrap().value, "eu-central-1b");
    assert_eq!(t.state.backend.describe(), "s3://acme-ringform-state/prod/multi-cloud");
    assert_eq!(t.state.encryption.as_ref().unwrap().value, Encryption::AwsKms("alias/ringform-state".into()));
    let canada = t.cluster("canadacentral").unwrap();
    assert_eq!(canada.zones.iter().map(|z| z.value.as_str()).collect::<Vec<_>>(), ["1", "2", "3"]);
    assert_eq!(canada.node_subnets[0].name, "nodes");
    assert_eq!(canada.node_subnets[0].cidr.value.to_string(), "10.1.0.0/17");
    assert_eq!(canada.gateway_subnet.as_ref().unwrap().value.to_string(), "10.1.255.224/27");
    assert!(canada.pod_subnets.is_empty());
    assert_eq!(canada.node_pool.machine_type.value, "Standard_D8s_v5");
    assert_eq!(t.cluster("eastus").unwrap().gateway_subnet.as_ref().unwrap().value.to_string(), "10.2.255.0/26");
    let cassandra = t.cassandra.unwrap();
    assert_eq!(cassandra.control_plane.as_ref().unwrap().value, "canadacentral");
    assert_eq!(cassandra.datacenters[2].storage_class.value, "managed-csi-premium");
    assert_eq!(cassandra.datacenters[3].racks.len(), 2);
    let keyspaces: Vec<String> = cassandra.managed_keyspaces().into_iter().map(|k| k.name.value).collect();
    assert_eq!(keyspaces, ["system_auth", "system_distributed", "system_traces", "orders", "user_events"]);
    let events = &cassandra.keyspaces[1].replication;
    assert_eq!((events[0].datacenter.value.as_str(), events[0].factor.value), ("dc3", 1));
}

#[test]
fn gateway_subnet_only_when_a_gateway_is_needed() {
    // One Azure cluster, no AWS: no VPN gateway, no GatewaySubnet.
    let source = r#"deployment = "x"
[[clusters]]
name = "canada"
provider = "azure"
region = "canadacentral"
network_cidr = "10.1.0.0/16"
service_cidr = "10.100.0.0/16"
"#;
    assert!(parse(source).unwrap().clusters[0].gateway_subnet.is_none());
    // Two Azure clusters with VNet peering: none either.
    let two = format!(
        "{source}\n[mesh]\nazure = \"vnet-peering\"\n[[clusters]]\nname = \"east\"\nprovider = \"azure\"\nregion = \"eastus\"\n\
         network_cidr = \"10.2.0.0/16\"\nservice_cidr = \"10.200.0.0/16\"\n"
    );
    let t = parse(&two).unwrap_or_else(|d| panic!("{}", show(&two, &d)));
    assert!(t.clusters.iter().all(|c| c.gateway_subnet.is_none()));
    // With AWS in the mix (cross-cloud VPN) the Azure cluster gets one.
    assert!(parse(MIXED).unwrap().cluster("canada").unwrap().gateway_subnet.is_some());
}

// ---- 1. TOML syntax ----

#[test]
fn rule_01_toml_syntax() {
    let source = edit(BASE, "name = \"eu-central\"", "name = \"eu-central");
    let diagnostics = errors(&source);
    assert_eq!(diagnostics.len(), 1, "{}", show(&source, &diagnostics));
    let d = expect(&source, "", "12:19");
    assert!(d.message.starts_with("invalid TOML"), "{}", d.message);
}

// ---- 2. unknown keys ----

#[test]
fn rule_02_unknown_keys_at_any_depth() {
    let source = edit(
        BASE,
        "region = \"eu-west-1\"",
        "region = \"eu-west-1\"\nregoin = \"x\"\nnode_pool = { count = 3, colour = \"red\" }",
    );
    let source =
        edit(&source, "deployment = \"test\"", "deployment = \"test\"\nclsuters = 1\n[mesh]\nawss = \"vpc-peering\"");
    let source = edit(
        &source,
        "cluster = \"eu-central\"",
        "cluster = \"eu-central\"\nracks = [{ name = \"r1\", zone = \"eu-central-1a\", rakc = 1 }]",
    );
    let d = expect(&source, "clsuters", "2:1");
    assert_eq!(hint(&d), "did you mean `clusters`?");
    assert_eq!(hint(&expect(&source, "mesh.awss", "4:1")), "did you mean `aws`?");
    assert_eq!(hint(&expect(&source, "clusters.eu-west.regoin", "10:1")), "did you mean `region`?");
    let d = expect(&source, "clusters.eu-west.node_pool.colour", "11:26");
    assert!(hint(&d).contains("instance_type"), "{d:?}");
    expect(&source, "cassandra.datacenters.dc2.racks[0].rakc", "35:49");
    assert_eq!(errors(&source).len(), 5);
}

#[test]
fn rule_02_unknown_keys_in_unnamed_elements_use_the_index() {
    let source = edit(BASE, "name = \"eu-central\"", "name = \"EU Central\"\nextra = 1");
    expect(&source, "clusters[1].extra", "13:1");
}

// ---- 3. wrong types and bad enum values ----

#[test]
fn rule_03_wrong_types_and_enum_values() {
    let source = edit(BASE, "provider = \"aws\"", "provider = \"gcp\"");
    let source = edit(&source, "cluster = \"eu-west\"", "cluster = \"eu-west\"\nsize = \"3\"");
    let source = edit(&source, "zones = [\"eu-central-1a\",", "zones = [1,");
    let d = expect(&source, "clusters.eu-west.provider", "5:12");
    assert!(d.message.contains("`aws`") && d.message.contains("`azure`"), "{}", d.message);
    let d = expect(&source, "cassandra.datacenters.dc1.size", "26:8");
    assert_eq!(d.message, "wrong value for `size`: expected an integer, found string \"3\"");
    expect(&source, "clusters.eu-central.zones[0]", "15:10");
    // Problems in other elements are still found.
    let source = edit(&source, "name = \"dc2\"", "name = \"dc2\"\nheap = 2");
    expect(&source, "cassandra.datacenters.dc2.heap", "30:8");
}

#[test]
fn rule_03_a_bad_element_does_not_hide_the_others() {
    let source = edit(BASE, "[cassandra]", "[[clusters]]\nname = 5\n\n[cassandra]");
    let source = edit(
        &source,
        "[[cassandra.datacenters]]\nname = \"dc1\"",
        "[[cassandra.datacenters]]\nname = \"dc1\"\nsize = 0",
    );
    expect(&source, "clusters[2].name", "20:8");
    expect(&source, "cassandra.datacenters.dc1.size", "28:8");
    let source = BASE.split("\n[[cassandra.datacenters]]").next().unwrap().to_string() + "datacenters = [\"dc1\"]\n";
    let d = expect(&source, "cassandra.datacenters[0]", "22:16");
    assert_eq!(d.message, "wrong value for `datacenters[0]`: expected a table, found string \"dc1\"");
}

// ---- 4. missing required keys ----

#[test]
fn rule_04_missing_required_keys() {
    let source = edit(BASE, "region = \"eu-west-1\"\n", "");
    let source = edit(&source, "deployment = \"test\"", "");
    let source = edit(&source, "cluster = \"eu-central\"", "");
    let d = expect(&source, "clusters.eu-west.region", "3:1");
    assert_eq!(d.message, "missing required key `region`");
    assert_eq!(hint(&d), "add region = \"eu-west-1\"");
    expect(&source, "deployment", "1:1");
    expect(&source, "cassandra.datacenters.dc2.cluster", "26:1");
}

// ---- 5. name patterns ----

#[test]
fn rule_05_name_patterns() {
    let source = edit(BASE, "deployment = \"test\"", "deployment = \"Test\"");
    let source = edit(&source, "name = \"eu-central\"", "name = \"eu_central\"");
    let source = edit(
        &source,
        "name = \"dc1\"",
        "name = \"1dc\"\nnamespace = \"-ns\"\nracks = [{ name = \"R1\", zone = \"eu-west-1a\" }]",
    );
    expect(&source, "deployment", "1:14");
    // The name is invalid, so the key uses the index.
    expect(&source, "clusters[1].name", "12:8");
    expect(&source, "cassandra.datacenters[0].name", "24:8");
    expect(&source, "cassandra.datacenters[0].namespace", "25:13");
    expect(&source, "cassandra.datacenters[0].racks[0].name", "26:19");
}

// ---- 6. duplicates ----

#[test]
fn rule_06_duplicate_names_and_zones() {
    let source = edit(BASE, "name = \"eu-central\"", "name = \"eu-west\"");
    let d = expect(&source, "clusters.eu-west.name", "12:8");
    assert!(d.message.contains("line 4"), "{}", d.message);
    let source = edit(BASE, "name = \"dc2\"", "name = \"dc1\"");
    expect(&source, "cassandra.datacenters.dc1.name", "28:8");
    let source = edit(BASE, "\"eu-west-1b\", \"eu-west-1c\"", "\"eu-west-1b\", \"eu-west-1a\"");
    expect(&source, "clusters.eu-west.zones[2]", "7:38");
    let source = edit(
        BASE,
        "cluster = \"eu-west\"",
        "cluster = \"eu-west\"\nracks = [{ name = \"r1\", zone = \"eu-west-1a\" }, { name = \"r1\", zone = \"eu-west-1b\" }]",
    );
    expect(&source, "cassandra.datacenters.dc1.racks[1].name", "26:57");
}

// ---- 7. references ----

#[test]
fn rule_07_undefined_clusters() {
    let source = edit(BASE, "cluster = \"eu-central\"", "cluster = \"eu-centrl\"");
    let source = edit(&source, "control_plane = \"eu-west\"", "control_plane = \"us-east\"");
    let d = expect(&source, "cassandra.datacenters.dc2.cluster", "29:11");
    assert_eq!(hint(&d), "did you mean `eu-central`? Defined clusters: eu-west, eu-central");
    let d = expect(&source, "cassandra.control_plane", "21:17");
    assert_eq!(hint(&d), "use one of the defined clusters: eu-west, eu-central");
}

// ---- 8. CIDR syntax and host bits ----

#[test]
fn rule_08_cidr_syntax_and_host_bits() {
    let source = edit(BASE, "network_cidr = \"10.1.0.0/16\"", "network_cidr = \"10.1.2.0/16\"");
    let source = edit(&source, "service_cidr = \"10.102.0.0/16\"", "service_cidr = \"10.102.0.0\"");
    let d = expect(&source, "clusters.eu-west.network_cidr", "8:16");
    assert_eq!(hint(&d), "did you mean 10.1.0.0/16?");
    let d = expect(&source, "clusters.eu-central.service_cidr", "17:16");
    assert!(hint(&d).contains("10.102.0.0/16"), "{d:?}");
    assert_eq!(errors(&source).len(), 2);
}

// ---- 9. overlaps ----

#[test]
fn rule_09_overlaps_across_and_within_clusters() {
    let source = edit(BASE, "network_cidr = \"10.2.0.0/16\"", "network_cidr = \"10.1.0.0/17\"");
    let source = edit(
        &source,
        "service_cidr = \"10.101.0.0/16\"",
        "service_cidr = \"10.101.0.0/16\"\npod_cidr = \"10.101.128.0/17\"",
    );
    let d = expect(&source, "clusters.eu-central.network_cidr", "17:16");
    assert_eq!(d.message, "network_cidr 10.1.0.0/17 overlaps network_cidr 10.1.0.0/16 of cluster eu-west");
    assert!(hint(&d).starts_with("every cluster needs"));
    let d = expect(&source, "clusters.eu-west.pod_cidr", "10:12");
    assert_eq!(d.message, "pod_cidr 10.101.128.0/17 overlaps service_cidr 10.101.0.0/16 of the same cluster");
    assert_eq!(errors(&source).len(), 2);
}

#[test]
fn rule_09_overlaps_are_fast_for_100_clusters() {
    // 990 rules per security group: within AWS's highest quota.
    let mut source = String::from("deployment = \"big\"\n[mesh]\naws_rules_per_security_group = 1000\n");
    for i in 0..100 {
        source += &format!(
            "[[clusters]]\nname = \"c{i}\"\nprovider = \"aws\"\nregion = \"eu-west-1\"\nzones = [\"eu-west-1a\", \"eu-west-1b\"]\n\
             network_cidr = \"10.{i}.0.0/16\"\npod_cidr = \"100.{i}.0.0/16\"\nservice_cidr = \"172.16.{i}.0/24\"\n"
        );
    }
    let start = std::time::Instant::now();
    assert_eq!(parse(&source).unwrap().clusters.len(), 100);
    // Every cluster on the same ranges: each of the 3 * 4950 pairs reported once.
    let clash = source.replace("network_cidr = \"10.", "network_cidr = \"11.0.0.0/16\" #");
    assert_eq!(errors(&clash).len(), 4950);
    assert!(start.elapsed().as_secs() < 5, "took {:?}", start.elapsed());
}

// ---- 10. subnets ----

#[test]
fn rule_10_node_subnets_must_name_the_zones_and_fit() {
    let source = edit(
        BASE,
        "network_cidr = \"10.1.0.0/16\"",
        "network_cidr = \"10.1.0.0/16\"\nnode_subnets = { \"eu-west-1a\" = \"10.1.0.0/18\", \"eu-west-1b\" = \"10.9.0.0/18\", \"eu-west-1d\" = \"10.1.128.0/18\" }",
    );
    expect(&source, "clusters.eu-west.node_subnets.eu-west-1b", "9:63");
    let d = expect(&source, "clusters.eu-west.node_subnets.eu-west-1d", "9:93");
    assert_eq!(hint(&d), "node_subnets must name exactly the zones: eu-west-1a, eu-west-1b, eu-west-1c");
    let source = edit(
        BASE,
        "network_cidr = \"10.1.0.0/16\"",
        "network_cidr = \"10.1.0.0/16\"\nnode_subnets = { \"eu-west-1a\" = \"10.1.0.0/18\", \"eu-west-1b\" = \"10.1.0.0/20\" }",
    );
    expect(&source, "clusters.eu-west.node_subnets", "9:16");
    expect(&source, "clusters.eu-west.node_subnets.eu-west-1b", "9:63");
}

#[test]
fn rule_10_network_too_small_to_derive_subnets() {
    let source = edit(BASE, "network_cidr = \"10.1.0.0/16\"", "network_cidr = \"10.1.0.0/27\"");
    let d = expect(&source, "clusters.eu-west.network_cidr", "8:16");
    assert!(d.message.contains("too small"), "{}", d.message);
    assert!(hint(&d).contains("/26"), "{d:?}");
    let source = edit(BASE, "network_cidr = \"10.1.0.0/16\"", "network_cidr = \"10.0.0.0/8\"");
    assert!(hint(&expect(&source, "clusters.eu-west.network_cidr", "8:16")).contains("10.0.0.0/16"));
}

#[test]
fn rule_10_azure_subnets_inside_the_network_and_disjoint() {
    let source = edit(
        MIXED,
        "service_cidr = \"10.102.0.0/16\"",
        "service_cidr = \"10.102.0.0/16\"\nnode_subnet = \"10.3.0.0/17\"\ngateway_subnet = \"10.2.255.224/27\"",
    );
    expect(&source, "clusters.canada.node_subnet", "17:15");
    let source = edit(
        MIXED,
        "service_cidr = \"10.102.0.0/16\"",
        "service_cidr = \"10.102.0.0/16\"\ngateway_subnet = \"10.2.0.0/24\"",
    );
    let d = expect(&source, "clusters.canada.gateway_subnet", "17:18");
    assert!(d.message.contains("overlaps node_subnet 10.2.0.0/17"), "{}", d.message);
    // A network too small for the node subnet and the GatewaySubnet side by side.
    let source = edit(MIXED, "network_cidr = \"10.2.0.0/16\"", "network_cidr = \"10.2.0.0/27\"");
    expect(&source, "clusters.canada.network_cidr", "15:16");
    let source = edit(MIXED, "network_cidr = \"10.2.0.0/16\"", "network_cidr = \"10.2.0.0/28\"");
    expect(&source, "clusters.canada.network_cidr", "15:16");
}

// ---- 11. zones belong to the region ----

#[test]
fn rule_11_zones_belong_to_the_region() {
    let source = edit(BASE, "\"eu-west-1b\"", "\"eu-west-2b\"");
    let d = expect(&source, "clusters.eu-west.zones[1]", "7:24");
    assert!(hint(&d).contains("eu-west-1a"), "{d:?}");
    let source = edit(MIXED, "region = \"canadacentral\"", "region = \"canadacentral\"\nzones = [\"1\", \"a\"]");
    expect(&source, "clusters.canada.zones[1]", "15:15");
}

// ---- 12. racks on the cluster's zones ----

#[test]
fn rule_12_racks_on_the_clusters_zones() {
    let source = edit(
        BASE,
        "cluster = \"eu-west\"",
        "cluster = \"eu-west\"\nracks = [{ name = \"r1\", zone = \"eu-west-1d\" }]",
    );
    let d = expect(&source, "cassandra.datacenters.dc1.racks[0].zone", "26:32");
    assert_eq!(hint(&d), "use one of: eu-west-1a, eu-west-1b, eu-west-1c");
}

// ---- 13. datacenter size >= racks ----

#[test]
fn rule_13_size_at_least_the_number_of_racks() {
    let source = edit(BASE, "cluster = \"eu-west\"", "cluster = \"eu-west\"\nsize = 2");
    let d = expect(&source, "cassandra.datacenters.dc1.size", "26:8");
    assert_eq!(d.message, "datacenter dc1 has 3 racks but size 2: every rack needs at least one node");
}

// ---- 14. control plane ----

#[test]
fn rule_14_control_plane_per_mode() {
    let source = edit(BASE, "control_plane = \"eu-west\"\n", "");
    expect(&source, "cassandra.control_plane", "19:1");
    let source =
        edit(BASE, "control_plane = \"eu-west\"", "control_plane = \"eu-west\"\nmode = \"cass-operator-seeds\"");
    let d = expect(&source, "cassandra.control_plane", "21:17");
    assert!(hint(&d).starts_with("remove control_plane"));
    assert_eq!(errors(&source).len(), 1);
}

// ---- 15. GatewaySubnet size ----

#[test]
fn rule_15_gateway_subnet_at_least_a_27() {
    let source = edit(
        MIXED,
        "service_cidr = \"10.102.0.0/16\"",
        "service_cidr = \"10.102.0.0/16\"\ngateway_subnet = \"10.2.255.240/28\"",
    );
    let d = expect(&source, "clusters.canada.gateway_subnet", "17:18");
    assert_eq!(hint(&d), "use a /27 or larger, e.g. 10.2.255.224/27");
}

// ---- 16. EKS needs 2 zones ----

#[test]
fn rule_16_eks_needs_two_zones() {
    let source = edit(BASE, "[\"eu-west-1a\", \"eu-west-1b\", \"eu-west-1c\"]", "[\"eu-west-1a\"]");
    expect(&source, "clusters.eu-west.zones", "7:9");
    let source = edit(BASE, "zones = [\"eu-west-1a\", \"eu-west-1b\", \"eu-west-1c\"]\n", "");
    expect(&source, "clusters.eu-west.zones", "3:1");
}

// ---- 17. mesh options and provider-specific keys ----

#[test]
fn rule_17_mesh_options_fit_the_providers() {
    let source =
        format!("{BASE}\n[mesh]\nazure = \"vnet-peering\"\ncross_cloud = \"vpn\"\nazure_gateway_sku = \"VpnGw1AZ\"\n");
    expect(&source, "mesh.azure", "32:9");
    expect(&source, "mesh.cross_cloud", "33:15");
    expect(&source, "mesh.azure_gateway_sku", "34:21");
    let azure_only = edit(MIXED, "provider = \"aws\"", "provider = \"azure\"");
    let azure_only = edit(&azure_only, "zones = [\"eu-west-1a\", \"eu-west-1b\"]\n", "");
    let azure_only = format!("{azure_only}\n[mesh]\naws = \"transit-gateway\"\n");
    expect(&azure_only, "mesh.aws", "18:7");
}

#[test]
fn rule_17_keys_of_the_other_provider() {
    let source = edit(
        MIXED,
        "service_cidr = \"10.101.0.0/16\"",
        "service_cidr = \"10.101.0.0/16\"\nnode_subnet = \"10.1.0.0/17\"\nnode_pool = { vm_size = \"Standard_D4s_v5\" }",
    );
    let source = edit(
        &source,
        "service_cidr = \"10.102.0.0/16\"",
        "service_cidr = \"10.102.0.0/16\"\nnode_subnets = { \"1\" = \"10.2.0.0/18\" }\nnode_pool = { instance_type = \"m5.large\" }",
    );
    assert!(hint(&expect(&source, "clusters.eu-west.node_subnet", "10:15")).starts_with("use node_subnets"));
    assert!(hint(&expect(&source, "clusters.eu-west.node_pool.vm_size", "11:25")).starts_with("use instance_type"));
    assert!(hint(&expect(&source, "clusters.canada.node_subnets", "19:16")).starts_with("use node_subnet"));
    assert!(hint(&expect(&source, "clusters.canada.node_pool.instance_type", "20:31")).starts_with("use vm_size"));
}

// ---- 18. CoreDNS stub domains ----

#[test]
fn rule_18_coredns_stubs_need_distinct_namespaces() {
    let source = format!("{BASE}\n[dns]\nmode = \"coredns-stubs\"\n");
    // Both datacenters default to namespace "cassandra": reported at the second one's table.
    let d = expect(&source, "cassandra.datacenters.dc2.namespace", "27:1");
    assert!(d.message.contains("datacenter dc1 in cluster eu-west"), "{}", d.message);
    let single = edit(&source, "[[clusters]]\nname = \"eu-central\"", "[[disabled]]\nname = \"eu-central\"");
    expect(&single, "dns.mode", "32:8");
}

// ---- 19. node pool capacity ----

#[test]
fn rule_19_datacenters_fit_on_the_node_pool() {
    let source = edit(BASE, "cluster = \"eu-central\"", "cluster = \"eu-west\"");
    let d = expect(&source, "clusters.eu-west.node_pool.count", "3:1");
    assert_eq!(d.message, "cluster eu-west has 3 worker nodes but its datacenters need 6 (dc1: 3, dc2: 3)");
    assert!(hint(&d).starts_with("raise node_pool.count to at least 6"));
    let source = edit(
        &source,
        "service_cidr = \"10.101.0.0/16\"",
        "service_cidr = \"10.101.0.0/16\"\nnode_pool = { count = 5 }",
    );
    expect(&source, "clusters.eu-west.node_pool.count", "10:23");
}

// ---- 20. versions, heap, counts ----

#[test]
fn rule_20_versions_heap_and_counts() {
    let source = edit(
        BASE,
        "region = \"eu-west-1\"",
        "region = \"eu-west-1\"\nkubernetes_version = \"1.31.2\"\nnode_pool = { count = 0 }",
    );
    let source = edit(&source, "cluster_name = \"ring\"", "cluster_name = \"ring\"\nserver_version = \"4.1\"");
    let source =
        edit(&source, "cluster = \"eu-central\"", "cluster = \"eu-central\"\nheap = \"2GB\"\nstorage_size = \"100GB\"");
    expect(&source, "clusters.eu-west.kubernetes_version", "7:22");
    expect(&source, "clusters.eu-west.node_pool.count", "8:23");
    expect(&source, "cassandra.server_version", "23:18");
    expect(&source, "cassandra.datacenters.dc2.heap", "33:8");
    expect(&source, "cassandra.datacenters.dc2.storage_size", "34:16");
}

// ---- 21. empty topology / cassandra ----

#[test]
fn rule_21_no_clusters_and_no_datacenters() {
    let d = expect("deployment = \"x\"\n", "clusters", "1:1");
    assert_eq!(d.message, "the topology defines no clusters");
    let source = BASE.split("[[cassandra.datacenters]]").next().unwrap();
    expect(source, "cassandra.datacenters", "19:1");
}

#[test]
fn diagnostics_are_sorted_by_position() {
    let source = edit(BASE, "provider = \"aws\"", "provider = \"gcp\"");
    let source = edit(&source, "deployment = \"test\"", "deployment = \"Test\"");
    let source = edit(&source, "cluster = \"eu-central\"", "cluster = \"nowhere\"");
    let diagnostics = errors(&source);
    assert_eq!(diagnostics.len(), 3);
    assert!(diagnostics.windows(2).all(|w| w[0].span.start <= w[1].span.start));
}

// ---- 22. AWS security-group rule quota ----

#[test]
fn rule_22_security_group_rules_fit_the_quota() {
    // 7 clusters with pod ranges: each AWS group needs 5 ports × 12 ranges = 60 rules, the default.
    let mut source = String::from("deployment = \"quota\"\n");
    for i in 0..7 {
        source += &format!(
            "\n[[clusters]]\nname = \"c{i}\"\nprovider = \"aws\"\nregion = \"eu-west-1\"\nzones = [\"eu-west-1a\", \"eu-west-1b\"]\n\
             network_cidr = \"10.{i}.0.0/16\"\npod_cidr = \"100.{i}.0.0/16\"\nservice_cidr = \"172.16.{i}.0/24\"\n"
        );
    }
    parse(&source).unwrap_or_else(|d| panic!("{}", show(&source, &d)));
    let eighth = source.clone()
        + "\n[[clusters]]\nname = \"c7\"\nprovider = \"azure\"\nregion = \"westeurope\"\n\
           network_cidr = \"10.7.0.0/16\"\nservice_cidr = \"172.16.7.0/24\"\n";
    let d = expect(&eighth, "clusters.c0.name", "4:8");
    assert_eq!(
        d.message,
        "the security group of aws cluster c0 would need 65 inbound rules (5 Cassandra ports × 13 address ranges of \
         the 7 other clusters), more than the 60 allowed per security group"
    );
    assert!(hint(&d).contains("in eu-west-1 to at least 65 and set mesh.aws_rules_per_security_group = 65"));
    assert!(hint(&d).contains("the pod_cidr of c1, c2, c3, c4, c5, c6 if"), "{}", hint(&d));
    // Every AWS cluster is over; the Azure one has no security group.
    assert_eq!(errors(&eighth).len(), 7);
    let raised = format!("{eighth}\n[mesh]\naws_rules_per_security_group = 65\n");
    parse(&raised).unwrap_or_else(|d| panic!("{}", show(&raised, &d)));
    let impossible = format!("{eighth}\n[mesh]\naws_rules_per_security_group = 2000\n");
    expect(&impossible, "mesh.aws_rules_per_security_group", "74:32");
    let azure_only = edit(MIXED, "provider = \"aws\"", "provider = \"azure\"");
    let azure_only = edit(&azure_only, "zones = [\"eu-west-1a\", \"eu-west-1b\"]\n", "");
    let azure_only = format!("{azure_only}\n[mesh]\naws_rules_per_security_group = 100\n");
    expect(&azure_only, "mesh.aws_rules_per_security_group", "18:32");
}

// ---- keyspaces ----

/// BASE with a keyspace: its table on line 31, `name` on line 32 and `replication` on line 33.
fn with_keyspace(name: &str, replication: &str) -> String {
    format!("{BASE}\n[[cassandra.keyspaces]]\nname = \"{name}\"\nreplication = {replication}\n")
}

#[test]
fn keyspaces_keep_their_replication_as_written() {
    let source = with_keyspace("orders", "{ dc2 = 2, dc1 = 3 }");
    let t = parse(&source).unwrap_or_else(|d| panic!("{}", show(&source, &d)));
    let keyspace = &t.cassandra.unwrap().keyspaces[0];
    assert_eq!(keyspace.name.value, "orders");
    let written: Vec<String> =
        keyspace.replication.iter().map(|r| format!("{}={}", r.datacenter.value, r.factor.value)).collect();
    assert_eq!(written, ["dc2=2", "dc1=3"]);
    // Spans on the datacenter keys and the factors, as written.
    let dc2 = &keyspace.replication[0];
    assert_eq!((&source[dc2.datacenter.span.clone()], &source[dc2.factor.span.clone()]), ("dc2", "2"));
    assert_eq!(line_col(&source, keyspace.replication[1].datacenter.span.start), (33, 26));
    // Quoted and dotted keys are found too.
    let source = format!("{BASE}\n[[cassandra.keyspaces]]\nname = \"orders\"\nreplication.\"dc1\" = 1\n");
    let t = parse(&source).unwrap_or_else(|d| panic!("{}", show(&source, &d)));
    let dc1 = &t.cassandra.unwrap().keyspaces[0].replication[0];
    assert_eq!(&source[dc1.datacenter.span.clone()], "\"dc1\"");
}

#[test]
fn system_keyspaces_follow_every_datacenter_with_at_most_three_replicas() {
    let source =
        edit(BASE, "service_cidr = \"10.101.0.0/16\"", "service_cidr = \"10.101.0.0/16\"\nnode_pool = { count = 5 }");
    let source = edit(&source, "cluster = \"eu-west\"", "cluster = \"eu-west\"\nsize = 5");
    let source = edit(
        &source,
        "cluster = \"eu-central\"",
        "cluster = \"eu-central\"\nsize = 1\nracks = [{ name = \"r1\", zone = \"eu-central-1a\" }]",
    );
    let source = format!("{source}\n[[cassandra.keyspaces]]\nname = \"orders\"\nreplication = {{ dc1 = 5 }}\n");
    let cassandra = parse(&source).unwrap_or_else(|d| panic!("{}", show(&source, &d))).cassandra.unwrap();
    let describe = |keyspaces: Vec<Keyspace>| -> Vec<String> {
        keyspaces
            .iter()
            .map(|k| {
                let factors: Vec<String> =
                    k.replication.iter().map(|r| format!("{}={}", r.datacenter.value, r.factor.value)).collect();
                format!("{} {}", k.name.value, factors.join(","))
            })
            .collect()
    };
    let system = ["system_auth dc1=3,dc2=1", "system_distributed dc1=3,dc2=1", "system_traces dc1=3,dc2=1"];
    assert_eq!(describe(cassandra.system_keyspaces()), system);
    assert_eq!(describe(cassandra.managed_keyspaces()), [&system[..], &["orders dc1=5"]].concat());
    // Derived values point at what they derive from: the datacenter's name and size.
    let auth = &cassandra.system_keyspaces()[0];
    assert_eq!(auth.name.span, cassandra.cluster_name.span);
    assert_eq!(auth.replication[1].datacenter.span, cassandra.datacenters[1].name.span);
    assert_eq!(auth.replication[1].factor.span, cassandra.datacenters[1].size.span);
}

#[test]
fn rule_23_keyspace_names_are_cql_identifiers() {
    let source = with_keyspace("orders-eu", "{ dc1 = 3 }");
    let d = expect(&source, "cassandra.keyspaces[0].name", "32:8");
    assert_eq!(d.message, "`orders-eu` is not a valid keyspace name");
    assert_eq!(
        hint(&d),
        "use letters, digits and `_`, starting with a letter, at most 48 characters (a CQL identifier)"
    );
    assert_eq!(errors(&source).len(), 1);
    expect(&with_keyspace("2024_orders", "{ dc1 = 3 }"), "cassandra.keyspaces[0].name", "32:8");
    expect(&with_keyspace(&"k".repeat(49), "{ dc1 = 3 }"), "cassandra.keyspaces[0].name", "32:8");
    // Underscores and capitals are fine, and name the key.
    let source = with_keyspace("User_Events", "{ dc1 = 3 }\ntypo = 1");
    assert_eq!(
        hint(&expect(&source, "cassandra.keyspaces.User_Events.typo", "34:1")),
        "remove it; the keys allowed here are: name, replication"
    );
    let source = with_keyspace("orders", "{ dc1 = 3 }\nreplicaton = 1");
    assert_eq!(hint(&expect(&source, "cassandra.keyspaces.orders.replicaton", "34:1")), "did you mean `replication`?");
}

#[test]
fn rule_24_keyspace_names_of_system_keyspaces() {
    let source = with_keyspace("system_auth", "{ dc1 = 3 }");
    let d = expect(&source, "cassandra.keyspaces.system_auth.name", "32:8");
    assert_eq!(d.message, "keyspace name `system_auth` is taken by the system keyspace system_auth");
    assert_eq!(
        hint(&d),
        "remove this keyspace: ringform replicates system_auth, system_distributed, system_traces itself, to every \
         datacenter with min(3, size) replicas"
    );
    // Cassandra's own check of system keyspace names ignores case.
    let d = expect(&with_keyspace("System_Schema", "{ dc1 = 3 }"), "cassandra.keyspaces.System_Schema.name", "32:8");
    assert_eq!(d.message, "keyspace name `System_Schema` is taken by the system keyspace system_schema");
    assert_eq!(
        hint(&d),
        "choose another name: Cassandra keeps system_schema on each node itself and never replicates it"
    );
}

#[test]
fn rule_25_unique_keyspace_names_ignoring_case() {
    let source = format!(
        "{}[[cassandra.keyspaces]]\nname = \"Orders\"\nreplication = {{ dc2 = 1 }}\n",
        with_keyspace("orders", "{ dc1 = 3 }")
    );
    let d = expect(&source, "cassandra.keyspaces.Orders.name", "35:8");
    assert_eq!(d.message, "keyspace name `Orders` is already used by the keyspace at line 32");
    assert_eq!(hint(&d), "give every keyspace its own name: Cassandra ignores the case of names that are not quoted");
    assert_eq!(errors(&source).len(), 1);
}

#[test]
fn rule_26_replication_names_defined_datacenters() {
    let source = with_keyspace("orders", "{ dc1 = 3, dc3 = 1 }");
    let d = expect(&source, "cassandra.keyspaces.orders.replication.dc3", "33:26");
    assert_eq!(d.message, "keyspace orders is replicated to datacenter `dc3`, which is not defined");
    assert_eq!(hint(&d), "did you mean `dc1`? Defined datacenters: dc1, dc2");
    assert_eq!(errors(&source).len(), 1);
    // Keyspaces without datacenters: the references fail like any other.
    let source = BASE.split("[[cassandra.datacenters]]").next().unwrap().to_string()
        + "[[cassandra.keyspaces]]\nname = \"orders\"\nreplication = { dc1 = 3 }\n";
    expect(&source, "cassandra.datacenters", "19:1");
    let d = expect(&source, "cassandra.keyspaces.orders.replication.dc1", "25:17");
    assert_eq!(hint(&d), "define the datacenter with a [[cassandra.datacenters]] table");
}

#[test]
fn rule_27_replication_factor_at_least_one() {
    let source = with_keyspace("orders", "{ dc1 = 3, dc2 = 0 }");
    let d = expect(&source, "cassandra.keyspaces.orders.replication.dc2", "33:32");
    assert_eq!(d.message, "replication factor of datacenter dc2 must be at least 1, not 0");
    assert_eq!(hint(&d), "leave dc2 out of replication to keep no replica there");
    assert_eq!(errors(&source).len(), 1);
    let source = with_keyspace("orders", "{ dc1 = \"3\" }");
    let d = expect(&source, "cassandra.keyspaces.orders.replication.dc1", "33:23");
    assert_eq!(d.message, "wrong value for `dc1`: expected an integer, found string \"3\"");
}

#[test]
fn rule_28_replication_factor_within_the_datacenter_size() {
    let source = with_keyspace("orders", "{ dc1 = 4 }");
    let d = expect(&source, "cassandra.keyspaces.orders.replication.dc1", "33:23");
    assert_eq!(d.message, "keyspace orders wants 4 replicas in datacenter dc1, which has size 3");
    assert_eq!(hint(&d), "lower it to at most 3, or raise the size of dc1: each replica needs a node of its own");
    assert_eq!(errors(&source).len(), 1);
    expect(&with_keyspace("orders", "{ dc1 = 99999999999 }"), "cassandra.keyspaces.orders.replication.dc1", "33:23");
}

#[test]
fn rule_29_replication_is_required_and_not_empty() {
    let source = with_keyspace("orders", "{}");
    let d = expect(&source, "cassandra.keyspaces.orders.replication", "33:15");
    assert_eq!(d.message, "replication is empty: the keyspace would have no replicas");
    assert_eq!(hint(&d), "name each datacenter that holds replicas, with how many, e.g. replication = { dc1 = 3 }");
    let source = format!("{BASE}\n[[cassandra.keyspaces]]\nname = \"orders\"\n");
    let d = expect(&source, "cassandra.keyspaces.orders.replication", "31:1");
    assert_eq!(d.message, "missing required key `replication`");
}

// ---- state ----

/// BASE with a `[state]` table on line 31; `body` starts on line 32.
fn with_state(body: &str) -> String {
    format!("{BASE}\n[state]\n{body}")
}

fn state(source: &str) -> StateSettings {
    parse(source).unwrap_or_else(|d| panic!("{}", show(source, &d))).state
}

#[test]
fn state_defaults_to_local_without_encryption() {
    assert_eq!(parse(BASE).unwrap().state, StateSettings::default());
    // Without `backend` the default points at the [state] table.
    let source = with_state("encryption = \"none\"\n");
    let settings = state(&source);
    assert_eq!(settings.backend.value, StateBackend::Local);
    assert_eq!(line_col(&source, settings.backend.span.start), (31, 1));
    assert_eq!(settings.encryption.map(|e| e.value), Some(Encryption::None));
    assert!(!StateBackend::Local.is_remote());
    assert_eq!(StateBackend::Local.describe(), "local");
}

#[test]
fn state_on_s3_and_azure_blob() {
    let source = with_state("backend = \"s3\"\nbucket = \"acme-ringform-state\"\nregion = \"eu-west-1\"\n");
    let settings = state(&source);
    assert_eq!(
        settings.backend.value,
        StateBackend::S3 { bucket: "acme-ringform-state".into(), region: "eu-west-1".into(), key: "test".into() }
    );
    assert_eq!(&source[settings.backend.span.clone()], "\"s3\"");
    assert!(settings.backend.is_remote() && settings.encryption.is_none());
    assert_eq!(settings.backend.describe(), "s3://acme-ringform-state/test");
    let source = with_state(
        "backend = \"azure-blob\"\nstorage_account = \"acmeringform\"\ncontainer = \"ringform-state\"\n\
         blob = \"prod/multi-region\"\n",
    );
    let backend = state(&source).backend.value;
    assert_eq!(backend.describe(), "azure-blob://acmeringform/ringform-state/prod/multi-region");
    let source = edit(&source, "blob = \"prod/multi-region\"\n", "");
    assert_eq!(state(&source).backend.describe(), "azure-blob://acmeringform/ringform-state/test");
}

#[test]
fn state_encryption_settings() {
    for (written, expected) in [
        ("\"none\"", Encryption::None),
        ("{ key_env = \"RINGFORM_STATE_KEY\" }", Encryption::KeyEnv("RINGFORM_STATE_KEY".into())),
        ("{ aws_kms_key = \"alias/ringform-state\" }", Encryption::AwsKms("alias/ringform-state".into())),
        (
            "{ azure_key_vault_key = \"https://acme.vault.azure.net/keys/ringform-state/0123abcd\" }",
            Encryption::AzureKeyVault("https://acme.vault.azure.net/keys/ringform-state/0123abcd".into()),
        ),
        (
            "{ azure_key_vault_key = \"http://127.0.0.1:8443/keys/ringform-state\" }",
            Encryption::AzureKeyVault("http://127.0.0.1:8443/keys/ringform-state".into()),
        ),
    ] {
        let source = with_state(&format!("encryption = {written}\n"));
        let encryption = state(&source).encryption.unwrap();
        assert_eq!(encryption.value, expected);
        // The span is the value that names the key (or "none").
        assert!(written.contains(&source[encryption.span.clone()]), "{written}");
    }
}

#[test]
fn rule_30_state_backend_is_one_of_three() {
    let d = expect(&with_state("backend = \"s4\"\n"), "state.backend", "32:11");
    assert_eq!(
        d.message,
        "wrong value for `backend`: unknown variant `s4`, expected one of `local`, `s3`, `azure-blob`"
    );
    assert_eq!(hint(&d), "did you mean backend = \"s3\"?");
    assert_eq!(
        hint(&expect(&with_state("backend = \"azure_blob\"\n"), "state.backend", "32:11")),
        "did you mean backend = \"azure-blob\"?"
    );
    let d = expect(&with_state("backend = \"gcs\"\n"), "state.backend", "32:11");
    assert_eq!(hint(&d), "write it as backend = \"s3\"");
    let d = expect(&with_state("backend = \"s3\"\nbuckett = \"b\"\n"), "state.buckett", "33:1");
    assert_eq!(hint(&d), "did you mean `bucket`?");
}

#[test]
fn rule_31_state_keys_of_another_backend() {
    let source = with_state(
        "backend = \"azure-blob\"\nbucket = \"acme\"\nstorage_account = \"acmeringform\"\ncontainer = \"ringform-state\"\n",
    );
    let d = expect(&source, "state.bucket", "33:10");
    assert_eq!(d.message, "`bucket` is for backend = \"s3\", not \"azure-blob\"");
    assert_eq!(hint(&d), "set backend = \"s3\", or remove `bucket`");
    assert_eq!(errors(&source).len(), 1);
    // Local by default: every location key is out of place.
    let source = with_state("key = \"prod\"\nblob = \"prod\"\n");
    assert_eq!(expect(&source, "state.key", "32:7").message, "`key` is for backend = \"s3\", not \"local\"");
    assert_eq!(expect(&source, "state.blob", "33:8").message, "`blob` is for backend = \"azure-blob\", not \"local\"");
}

#[test]
fn rule_32_state_keys_the_backend_requires() {
    let source = with_state("backend = \"s3\"\n");
    let d = expect(&source, "state.bucket", "31:1");
    assert_eq!(
        (d.message.as_str(), hint(&d)),
        ("missing required key `bucket`", "add bucket = \"acme-ringform-state\"")
    );
    expect(&source, "state.region", "31:1");
    assert_eq!(errors(&source).len(), 2);
    let source = with_state("backend = \"azure-blob\"\n");
    expect(&source, "state.storage_account", "31:1");
    expect(&source, "state.container", "31:1");
    // An inline table is pointed at as a whole.
    let d = expect(&format!("state = {{ backend = \"s3\", region = \"eu-west-1\" }}\n{BASE}"), "state.bucket", "1:9");
    assert_eq!(d.message, "missing required key `bucket`");
}

#[test]
fn rule_33_state_location_names() {
    let s3 = |bucket: &str, region: &str, key: &str| {
        with_state(&format!("backend = \"s3\"\nbucket = \"{bucket}\"\nregion = \"{region}\"\nkey = \"{key}\"\n"))
    };
    let source = s3("Acme_State", "westeurope", "/prod/../x");
    let d = expect(&source, "state.bucket", "33:10");
    assert_eq!(d.message, "bucket `Acme_State` is not a valid S3 bucket name");
    assert_eq!(
        hint(&d),
        "use 3 to 63 lower-case letters, digits, `.` and `-`, starting and ending with a letter or digit"
    );
    assert_eq!(expect(&source, "state.region", "34:10").message, "region `westeurope` is not an AWS region");
    let d = expect(&source, "state.key", "35:7");
    assert_eq!(d.message, "key `/prod/../x` is not a usable S3 key");
    assert!(hint(&d).contains("no leading `/`, no `..` segment"), "{d:?}");
    assert_eq!(errors(&source).len(), 3);
    expect(&s3("ab", "eu-west-1", "a/../b"), "state.bucket", "33:10");
    expect(&s3("ab", "eu-west-1", "a/../b"), "state.key", "35:7");
    expect(&s3("acme", "eu-west-1", &"k".repeat(1025)), "state.key", "35:7");
    let azure = |account: &str, container: &str, blob: &str| {
        with_state(&format!(
            "backend = \"azure-blob\"\nstorage_account = \"{account}\"\ncontainer = \"{container}\"\nblob = \"{blob}\"\n"
        ))
    };
    let source = azure("acme-ringform", "ringform--state", "");
    let d = expect(&source, "state.storage_account", "33:19");
    assert_eq!(d.message, "storage_account `acme-ringform` is not a valid storage account name");
    assert_eq!(hint(&d), "use 3 to 24 lower-case letters and digits");
    assert_eq!(
        expect(&source, "state.container", "34:13").message,
        "container `ringform--state` is not a valid container name"
    );
    assert_eq!(expect(&source, "state.blob", "35:8").message, "blob `` is not a usable blob name");
    expect(&azure("acmeringform", "-state", "x"), "state.container", "34:13");
}

#[test]
fn rule_34_state_encryption() {
    let encryption = |value: &str| with_state(&format!("encryption = {value}\n"));
    let d = expect(&encryption("\"aes\""), "state.encryption", "32:14");
    assert_eq!(d.message, "encryption = \"aes\" is neither \"none\" nor a key");
    assert!(hint(&d).starts_with("write encryption = \"none\" to keep state unencrypted, or name a key: { key_env"));
    let d = expect(&encryption("{}"), "state.encryption", "32:14");
    assert_eq!(d.message, "encryption names no key");
    let source = encryption("{ key_evn = \"K\" }");
    assert_eq!(hint(&expect(&source, "state.encryption.key_evn", "32:16")), "did you mean `key_env`?");
    let d =
        expect(&encryption("{ key_env = \"K\", aws_kms_key = \"alias/k\" }"), "state.encryption.aws_kms_key", "32:45");
    assert_eq!(d.message, "encryption names two keys, `key_env` and `aws_kms_key`");
    let d = expect(&encryption("{ key_env = \"1KEY\" }"), "state.encryption.key_env", "32:26");
    assert_eq!(d.message, "key_env `1KEY` is not an environment variable name");
    let d = expect(&encryption("{ aws_kms_key = \"\" }"), "state.encryption.aws_kms_key", "32:30");
    assert_eq!(d.message, "aws_kms_key `` is empty");
    for url in [
        "http://acme.vault.azure.net/keys/k",
        "https://acme.vault.azure.net/secrets/k",
        "https://acme.vault.azure.net/keys/",
    ] {
        let source = encryption(&format!("{{ azure_key_vault_key = \"{url}\" }}"));
        let d = expect(&source, "state.encryption.azure_key_vault_key", "32:38");
        assert_eq!(d.message, format!("azure_key_vault_key `{url}` is not a Key Vault key URL"));
    }
    let d = expect(&encryption("5"), "state.encryption", "32:14");
    assert!(d.message.starts_with("wrong value for `encryption`: expected \"none\" or a table"), "{}", d.message);
    expect(&encryption("{ key_env = 5 }"), "state.encryption.key_env", "32:26");
}
