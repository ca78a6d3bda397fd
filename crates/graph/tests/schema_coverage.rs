//! The graph and the providers meet only through kind and attribute names; this checks that
//! they agree. For every example and for generated topologies, each resource the graph emits
//! has a kind some provider's schema declares, only attributes that schema declares as inputs,
//! every input it requires, references only to outputs the referenced kind declares, and no
//! value the cloud's documented rules refuse.

use ringform_core::Value;
use ringform_core::schema::SchemaViolation;
use ringform_graph::ResourceGraph;
use ringform_testkit::topologies;

fn violations(source: &str) -> Vec<String> {
    let topology = ringform_topology::parse(source).expect("the topology is valid");
    let graph = ResourceGraph::build(&topology).expect("the graph builds");
    let schemas = ringform_schema::all();
    let mut found = Vec::new();
    for resource in graph.resources() {
        let address = &resource.address;
        let Some(schema) = schemas.get(address.kind()) else {
            found.push(SchemaViolation::UnknownKind { address: address.clone(), kind: address.kind() }.to_string());
            continue;
        };
        found.extend(schema.check_inputs(&resource.attributes).iter().map(|v| format!("{address}: {v}")));
        let mut check_reference = |reference: &ringform_core::Reference| {
            let target = reference.address.kind();
            if schemas.get(target).is_none_or(|s| s.output(&reference.output).is_none()) {
                let violation = SchemaViolation::UnknownOutput {
                    address: reference.address.clone(),
                    kind: target,
                    output: reference.output.clone(),
                };
                found.push(format!("{address}: {violation}"));
            }
        };
        resource.attributes.values().for_each(|value: &Value| value.visit_references(&mut check_reference));
    }
    found.extend(graph.check(&schemas, &topology).iter().map(|v| v.message.clone()));
    found.sort();
    found.dedup();
    found
}

#[test]
fn every_example_fits_the_provider_schemas() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let source = std::fs::read_to_string(&path).unwrap();
            assert_eq!(violations(&source), Vec::<String>::new(), "{}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 5, "expected the examples in {dir}, found {checked}");
}

#[test]
fn generated_topologies_fit_the_provider_schemas() {
    for source in [topologies::aws_full_mesh(4), topologies::aws_full_mesh(101), topologies::mixed_mesh(6)] {
        assert_eq!(violations(&source), Vec::<String>::new(), "{source}");
    }
}

#[test]
fn a_misspelt_attribute_or_output_is_reported() {
    let schemas = ringform_schema::all();
    let vpc = schemas.get(ringform_schema::aws::VPC).unwrap();
    let attributes = [("cidr_blok".to_owned(), Value::from("10.0.0.0/16"))].into();
    let found: Vec<String> = vpc.check_inputs(&attributes).iter().map(ToString::to_string).collect();
    assert!(found.contains(&"aws_vpc has no input `cidr_blok`".to_owned()), "{found:?}");
    assert!(found.contains(&"aws_vpc needs input `cidr_block`".to_owned()), "{found:?}");
    assert!(vpc.output("idd").is_none());
}

/// Six EKS clusters in one region, with `extra` appended to the file.
fn six_in_one_region(extra: &str) -> String {
    let mut source = String::from("deployment = \"quota\"\n");
    source.push_str(extra);
    for i in 0..6 {
        source.push_str(&format!(
            "\n[[clusters]]\nname = \"c{i}\"\nprovider = \"aws\"\nregion = \"us-east-1\"\n\
             zones = [\"us-east-1a\", \"us-east-1b\"]\nnetwork_cidr = \"10.{i}.0.0/16\"\n\
             service_cidr = \"172.{}.0.0/16\"\n",
            20 + i
        ));
    }
    source
}

fn check(source: &str) -> Vec<ringform_graph::Violation> {
    let topology = ringform_topology::parse(source).expect("the topology is valid");
    ResourceGraph::build(&topology).expect("the graph builds").check(&ringform_schema::all(), &topology)
}

#[test]
fn quotas_are_counted_per_holder_and_a_topology_can_raise_them() {
    let over = check(&six_in_one_region(""));
    let messages: Vec<&str> = over.iter().map(|v| v.message.as_str()).collect();
    assert_eq!(
        messages,
        ["region of aws_vpc.c5: 6 aws_vpc objects for us-east-1, over the quota \"VPCs per Region\" of 5 (by default)"]
    );
    assert_eq!(
        over[0].hint.as_deref(),
        Some(
            "ask the cloud to raise \"VPCs per Region\" to at least 6, then say so in the topology: [quotas] aws_vpcs_per_region = 6"
        )
    );

    assert_eq!(check(&six_in_one_region("[quotas]\naws_vpcs_per_region = 6\n")), []);
    let still_over = check(&six_in_one_region("[quotas]\naws_vpcs_per_region = 5\n"));
    assert!(still_over[0].message.ends_with("of 5 (as [quotas] sets it)"), "{still_over:?}");

    let typo = check(&six_in_one_region("[quotas]\naws_vpcs_per_regoin = 6\n"));
    let keys: Vec<&str> = typo.iter().map(|v| v.key.as_str()).collect();
    assert_eq!(keys, ["quotas.aws_vpcs_per_regoin", "aws_vpc.c5.region"]);
    assert!(typo[0].hint.as_deref().unwrap().contains("aws_vpcs_per_region"));
}

/// `n` AKS clusters joined by a full mesh of VPN connections: each gateway holds `n - 1`.
fn azure_vpn_mesh(n: usize, extra: &str) -> String {
    let mut source = format!("deployment = \"tunnels\"\n{extra}\n[mesh]\nazure = \"vpn-gateway\"\n");
    for i in 0..n {
        source.push_str(&format!(
            "\n[[clusters]]\nname = \"c{i}\"\nprovider = \"azure\"\nregion = \"eastus\"\n\
             network_cidr = \"10.{i}.0.0/16\"\nservice_cidr = \"10.{}.0.0/16\"\n",
            100 + i
        ));
    }
    source
}

#[test]
fn a_vpn_gateway_holds_as_many_tunnels_as_its_sku_allows() {
    assert_eq!(check(&azure_vpn_mesh(31, "")), []);
    let over = check(&azure_vpn_mesh(32, ""));
    assert_eq!(over.len(), 32, "one per gateway: {over:?}");
    assert!(over[0].message.contains("31 azure_vpn_connection objects"), "{}", over[0].message);
    assert!(over[0].hint.as_deref().unwrap().contains("VpnGw4 and VpnGw5 take 100"), "{over:?}");
    assert_eq!(check(&azure_vpn_mesh(32, "[quotas]\nazure_tunnels_per_vpn_gateway = 100\n")), []);
}
