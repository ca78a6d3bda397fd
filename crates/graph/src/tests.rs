use ringform_core::{Address, Kind, Value};
use ringform_schema as kinds;

use super::*;

fn build(source: &str) -> ResourceGraph {
    let topology = ringform_topology::parse(source).unwrap_or_else(|d| panic!("{d:#?}"));
    ResourceGraph::build(&topology).unwrap_or_else(|e| panic!("{e:#?}"))
}

fn example(name: &str) -> ResourceGraph {
    let path = format!("{}/../../examples/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    build(&std::fs::read_to_string(path).unwrap())
}

fn count(graph: &ResourceGraph, kind: Kind) -> usize {
    graph.resources().filter(|r| r.address.kind() == kind).count()
}

fn address(text: &str) -> Address {
    text.parse().unwrap()
}

fn attribute<'g>(graph: &'g ResourceGraph, at: &str, name: &str) -> &'g Value {
    &graph.get(&address(at)).unwrap_or_else(|| panic!("no {at}")).attributes[name]
}

#[test]
fn eks_two_regions_peers_routes_and_firewalls_both_ways() {
    let g = example("eks-two-regions");
    assert_eq!(count(&g, kinds::aws::VPC), 2);
    assert_eq!(count(&g, kinds::aws::SUBNET), 6);
    assert_eq!(count(&g, kinds::aws::VPC_PEERING), 1);
    assert_eq!(count(&g, kinds::aws::VPC_PEERING_ACCEPTER), 1);
    assert_eq!(count(&g, kinds::aws::EKS_CLUSTER), 2);
    assert_eq!(count(&g, kinds::aws::EKS_NODE_GROUP), 2);
    assert_eq!(count(&g, kinds::aws::IAM_ROLE), 4);
    // The peering is requested in the first region and accepted in the second.
    assert_eq!(attribute(&g, "aws_vpc_peering.eu-west~eu-central", "region"), &Value::from("eu-west-1"));
    assert_eq!(attribute(&g, "aws_vpc_peering_accepter.eu-west~eu-central", "region"), &Value::from("eu-central-1"));
    // Routes both ways, over the accepted peering.
    for (route, cidr) in
        [("eu-west~eu-central/network", "172.22.0.0/16"), ("eu-central~eu-west/network", "172.21.0.0/16")]
    {
        let at = format!("aws_route.{route}");
        assert_eq!(attribute(&g, &at, "destination_cidr_block"), &Value::from(cidr));
        let deps: Vec<_> = g.dependencies(&address(&at)).map(ToString::to_string).collect();
        assert!(deps.contains(&"aws_vpc_peering_accepter.eu-west~eu-central".to_owned()), "{deps:?}");
    }
    // Cassandra's ports, management API included, from the other cluster's range.
    assert_eq!(
        attribute(&g, "aws_security_group_rule.eu-west~eu-central", "ports"),
        &Value::from(vec![7000i64, 7001, 7199, 9042, 8080])
    );
    assert_eq!(
        attribute(&g, "aws_security_group_rule.eu-west~eu-central", "cidr_blocks"),
        &Value::from(vec!["172.22.0.0/16"])
    );
}

#[test]
fn seeded_datacenters_take_the_seeds_of_the_ones_before() {
    let g = example("eks-two-regions");
    let first = address("cassandra_datacenter.eu-west/dc-eu-west");
    assert_eq!(attribute(&g, "cassandra_datacenter.eu-west/dc-eu-west", "additional_seeds"), &Value::List(vec![]));
    assert_eq!(
        attribute(&g, "cassandra_datacenter.eu-central/dc-eu-central", "additional_seeds"),
        &Value::List(vec![Value::reference(&first, "seed_ips")])
    );
    let racks = attribute(&g, "cassandra_datacenter.eu-central/dc-eu-central", "racks");
    let Value::List(racks) = racks else { panic!() };
    assert_eq!(racks.len(), 3);
}

#[test]
fn eks_storage_comes_from_the_ebs_csi_add_on_and_seeded_datacenters_wait_for_it() {
    let g = example("eks-two-regions");
    assert_eq!(count(&g, kinds::aws::EKS_ADDON), 2);
    assert_eq!(count(&g, kinds::kubernetes::STORAGE_CLASS), 2);
    // The add-on runs on the nodes: it names its cluster through the node group.
    let addon = address("aws_eks_addon.eu-west/aws-ebs-csi-driver");
    assert_eq!(
        attribute(&g, "aws_eks_addon.eu-west/aws-ebs-csi-driver", "cluster_name"),
        &Value::reference(&address("aws_eks_node_group.eu-west/m5.xlarge"), "cluster_name")
    );
    assert_eq!(
        attribute(&g, "aws_eks_addon.eu-west/aws-ebs-csi-driver", "addon_name"),
        &Value::from("aws-ebs-csi-driver")
    );
    let class = "k8s_storage_class.eu-west/gp3";
    assert_eq!(attribute(&g, class, "driver"), &Value::reference(&addon, "id"));
    assert_eq!(attribute(&g, class, "provisioner"), &Value::from("ebs.csi.aws.com"));
    assert_eq!(attribute(&g, class, "volume_binding_mode"), &Value::from("WaitForFirstConsumer"));
    assert_eq!(attribute(&g, class, "allow_volume_expansion"), &Value::Bool(true));
    assert_eq!(attribute(&g, class, "parameters"), &Value::from_iter([("type", Value::from("gp3"))]));
    assert_eq!(
        attribute(&g, "cassandra_datacenter.eu-west/dc-eu-west", "storage_class"),
        &Value::reference(&address(class), "name")
    );
    let needs: Vec<&Address> = g.dependencies(&address("cassandra_datacenter.eu-west/dc-eu-west")).collect();
    assert!(needs.contains(&&address(class)), "{needs:?}");
}

#[test]
fn k8ssandra_datacenters_on_eks_wait_for_gp3_and_those_on_aks_name_its_class() {
    let g = example("aws-azure-coredns");
    assert_eq!(count(&g, kinds::aws::EKS_ADDON), 1);
    assert_eq!(count(&g, kinds::kubernetes::STORAGE_CLASS), 1, "AKS ships managed-csi-premium");
    let Value::List(datacenters) = attribute(&g, "k8ssandra_cluster.cross-cloud", "datacenters") else { panic!() };
    let classes: Vec<&Value> = datacenters
        .iter()
        .map(|dc| match dc {
            Value::Map(m) => &m["storage_class"],
            _ => panic!(),
        })
        .collect();
    assert_eq!(
        classes,
        [&Value::reference(&address("k8s_storage_class.aws-1/gp3"), "name"), &Value::from("managed-csi-premium")]
    );
}

#[test]
fn eks_pods_get_their_subnets_through_custom_networking_set_up_before_the_nodes() {
    let g = example("aws-azure-coredns");
    assert_eq!(count(&g, kinds::kubernetes::ENI_CONFIG), 3, "one per zone of aws-1");
    assert_eq!(count(&g, kinds::kubernetes::CUSTOM_NETWORKING), 1, "none for AKS");
    let config = "eks_eni_config.aws-1/eu-west-1b";
    assert_eq!(attribute(&g, config, "name"), &Value::from("eu-west-1b"));
    assert_eq!(attribute(&g, config, "subnet"), &Value::reference(&address("aws_subnet.aws-1/pods-eu-west-1b"), "id"));
    let eks = address("aws_eks_cluster.aws-1");
    assert_eq!(
        attribute(&g, config, "security_groups"),
        &Value::List(vec![
            Value::reference(&address("aws_security_group.aws-1"), "id"),
            Value::reference(&eks, "cluster_security_group_id"),
        ])
    );
    let networking = address("eks_custom_networking.aws-1/aws-node");
    assert_eq!(
        attribute(&g, &networking.to_string(), "env"),
        &Value::from_iter([
            ("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", Value::from("true")),
            ("ENI_CONFIG_LABEL_DEF", Value::from("topology.kubernetes.io/zone")),
        ])
    );
    // The nodes launch once it is set up; it reaches the cluster without waiting for them.
    let nodes = address("aws_eks_node_group.aws-1/m5.xlarge");
    assert_eq!(
        attribute(&g, "aws_eks_node_group.aws-1/m5.xlarge", "pod_networking"),
        &Value::reference(&networking, "id")
    );
    assert!(g.dependencies(&nodes).any(|a| *a == networking));
    let needed = g.with_dependencies(std::slice::from_ref(&networking)).unwrap();
    assert!(needed.contains(&eks) && needed.contains(&address(config)));
    assert!(!needed.contains(&nodes), "pod networking must not wait for the nodes that wait for it");

    // Without a pod range, pods use the node subnets as EKS sets them up.
    let g = example("eks-two-regions");
    assert_eq!(count(&g, kinds::kubernetes::ENI_CONFIG) + count(&g, kinds::kubernetes::CUSTOM_NETWORKING), 0);
    assert_eq!(attribute(&g, "aws_eks_node_group.eu-west/m5.xlarge", "pod_networking"), &Value::Null);
}

#[test]
fn aks_identity_gets_network_contributor_on_its_vnet() {
    let g = example("aks-vpn-mesh");
    assert_eq!(count(&g, kinds::azure::ROLE_ASSIGNMENT), 4);
    let at = "azure_role_assignment.eastus";
    assert_eq!(attribute(&g, at, "scope"), &Value::reference(&address("azure_virtual_network.eastus"), "id"));
    assert_eq!(
        attribute(&g, at, "principal_id"),
        &Value::reference(&address("azure_aks_cluster.eastus"), "principal_id")
    );
    assert_eq!(attribute(&g, at, "role_definition_id"), &Value::from("4d97b98b-1d4f-4787-a291-c67834d212e7"));
}

#[test]
fn aks_vpn_mesh_is_a_full_mesh_of_connections_sharing_a_key_per_pair() {
    let g = example("aks-vpn-mesh");
    assert_eq!(count(&g, kinds::azure::VPN_GATEWAY), 4);
    assert_eq!(count(&g, kinds::azure::PUBLIC_IP), 4);
    assert_eq!(count(&g, kinds::azure::VPN_CONNECTION), 12);
    assert_eq!(count(&g, kinds::local::GENERATED_SECRET), 6 + 1, "one key per pair, plus the superuser password");
    assert_eq!(count(&g, kinds::azure::AKS_CLUSTER), 4);
    let there = attribute(&g, "azure_vpn_connection.eastus~westus", "shared_key");
    let back = attribute(&g, "azure_vpn_connection.westus~eastus", "shared_key");
    assert_eq!(there, back);
    assert!(there.is_sensitive());
    // The VNet carries its GatewaySubnet in the same body as the node subnet.
    let Value::List(subnets) = attribute(&g, "azure_virtual_network.eastus", "subnets") else { panic!() };
    let names: Vec<_> = subnets
        .iter()
        .map(|s| match s {
            Value::Map(m) => m["name"].as_str().unwrap().to_owned(),
            _ => panic!(),
        })
        .collect();
    assert_eq!(names, ["nodes", "GatewaySubnet"]);
    // Operator mode: ClientConfigs on the control plane for each data plane.
    assert_eq!(count(&g, kinds::kubernetes::CLIENT_CONFIG), 3);
    assert_eq!(count(&g, kinds::kubernetes::K8SSANDRA_CLUSTER), 1);
}

#[test]
fn vnet_peering_goes_both_ways() {
    let g = example("separate-address-plans");
    assert_eq!(count(&g, kinds::azure::VNET_PEERING), 2);
    assert_eq!(count(&g, kinds::azure::VPN_GATEWAY), 0);
    let Value::List(space) = attribute(&g, "azure_virtual_network.east", "address_space") else { panic!() };
    assert_eq!(space, &vec![Value::from("10.100.0.0/16"), Value::from("10.200.0.0/16")]);
}

#[test]
fn across_clouds_a_vpn_with_one_key_and_stub_domains_for_the_other_namespace() {
    let g = example("aws-azure-coredns");
    for at in [
        "aws_vpn_gateway.aws-1",
        "aws_customer_gateway.aws-1~azure-1",
        "aws_vpn_connection.aws-1~azure-1",
        "azure_local_network_gateway.azure-1~aws-1",
        "azure_vpn_connection.azure-1~aws-1",
    ] {
        assert!(g.contains(&address(at)), "{at}");
    }
    assert_eq!(
        attribute(&g, "aws_vpn_connection.aws-1~azure-1", "preshared_key"),
        attribute(&g, "azure_vpn_connection.azure-1~aws-1", "shared_key")
    );
    let Value::Map(stubs) = attribute(&g, "coredns_stub_domains.aws-1/coredns", "stub_domains") else { panic!() };
    assert_eq!(
        stubs["azure-1.svc.cluster.local"],
        Value::reference(&address("kube_dns_endpoint.azure-1/kube-dns"), "ips")
    );
    // AWS opens Cassandra's ports to the Azure cluster's nodes and pods.
    assert_eq!(
        attribute(&g, "aws_security_group_rule.aws-1~azure-1", "cidr_blocks"),
        &Value::from(vec!["10.20.0.0/16", "100.65.0.0/16"])
    );
}

#[test]
fn transit_gateway_mode_attaches_every_vpc_and_peers_regions() {
    let source = std::fs::read_to_string(format!("{}/../../examples/eks-two-regions.toml", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
        .replace("aws = \"vpc-peering\"", "aws = \"transit-gateway\"");
    let g = build(&source);
    assert_eq!(count(&g, kinds::aws::VPC_PEERING), 0);
    assert_eq!(count(&g, kinds::aws::TRANSIT_GATEWAY), 2);
    assert_eq!(count(&g, kinds::aws::TRANSIT_GATEWAY_ATTACHMENT), 2);
    assert_eq!(count(&g, kinds::aws::TRANSIT_GATEWAY_PEERING), 1);
    assert_eq!(count(&g, kinds::aws::TRANSIT_GATEWAY_ROUTE), 2);
    assert!(g.contains(&address("aws_route.eu-west~eu-central/network")));
}

#[test]
fn every_resource_comes_after_what_it_references() {
    let g = example("aws-azure-coredns");
    let order = g.topological_order();
    assert_eq!(order.len(), g.len());
    let position: std::collections::HashMap<_, _> = order.iter().enumerate().map(|(i, a)| (*a, i)).collect();
    for resource in g.resources() {
        for dep in g.dependencies(&resource.address) {
            assert!(position[dep] < position[&resource.address], "{dep} must come before {}", resource.address);
        }
    }
}

#[test]
fn edges_come_only_from_references() {
    let g = example("minimal");
    let mut references = 0;
    for resource in g.resources() {
        let mut targets = std::collections::HashSet::new();
        for value in resource.attributes.values() {
            value.visit_references(&mut |r| {
                targets.insert(r.address.clone());
            });
        }
        references += targets.len();
    }
    assert_eq!(g.edge_count(), references);
}

fn resource(at: &str, refs: &[&str]) -> Resource {
    let attributes =
        refs.iter().enumerate().map(|(i, r)| (format!("r{i}"), Value::reference(&address(r), "id"))).collect();
    Resource { address: address(at), attributes }
}

#[test]
fn a_cycle_is_reported_with_its_addresses() {
    let errors = ResourceGraph::from_resources(vec![
        resource("aws_vpc.a", &["aws_subnet.a"]),
        resource("aws_subnet.a", &["aws_route_table.a"]),
        resource("aws_route_table.a", &["aws_vpc.a"]),
        resource("aws_vpc.b", &[]),
    ])
    .unwrap_err();
    let [GraphError::Cycle(cycle)] = errors.as_slice() else { panic!("{errors:?}") };
    assert_eq!(cycle.len(), 3);
    let text = errors[0].to_string();
    assert!(text.starts_with("dependency cycle: "), "{text}");
    for a in ["aws_vpc.a", "aws_subnet.a", "aws_route_table.a"] {
        assert!(text.contains(a), "{text}");
    }
}

#[test]
fn dangling_references_and_duplicates_are_errors() {
    let errors = ResourceGraph::from_resources(vec![
        resource("aws_vpc.a", &[]),
        resource("aws_vpc.a", &[]),
        resource("aws_subnet.a", &["aws_vpc.nope"]),
    ])
    .unwrap_err();
    assert!(errors.contains(&GraphError::DuplicateAddress(address("aws_vpc.a"))));
    assert!(
        errors.contains(&GraphError::DanglingReference { from: address("aws_subnet.a"), to: address("aws_vpc.nope") })
    );
}

#[test]
fn with_dependencies_keeps_the_target_and_what_it_needs() {
    let g = example("minimal");
    let cut = g.with_dependencies(&[address("aws_eks_cluster.main")]).unwrap();
    assert!(cut.contains(&address("aws_vpc.main")));
    assert!(cut.contains(&address("aws_iam_role.main/cluster")));
    assert!(!cut.contains(&address("aws_eks_node_group.main/m5.xlarge")));
    assert!(cut.len() < g.len());
    assert_eq!(g.with_dependencies(&[address("aws_vpc.nope")]).unwrap_err(), address("aws_vpc.nope"));
}

#[test]
fn renders_dot_and_mermaid() {
    let g = ResourceGraph::from_resources(vec![resource("aws_vpc.a", &[]), resource("aws_subnet.a", &["aws_vpc.a"])])
        .unwrap();
    insta::assert_snapshot!(g.render(Format::Dot), @r##"
    digraph ringform {
      rankdir=LR;
      node [shape=box, style=rounded];
      "aws_vpc.a" [color="#ff9900"];
      "aws_subnet.a" [color="#ff9900"];
      "aws_vpc.a" -> "aws_subnet.a";
    }
    "##);
    assert!(g.render(Format::Mermaid).contains("n0 --> n1"));
}
