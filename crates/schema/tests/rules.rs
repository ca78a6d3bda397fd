//! One violation per documented constraint: each rule a schema declares refuses a value the
//! cloud's API refuses, and lets the values ringform generates for the examples through.

use ringform_core::schema::Schemas;
use ringform_core::{Kind, Value};
use ringform_schema::{aws, azure, kubernetes};

/// The messages `value` gets as input `attribute` of `kind`.
fn violations(schemas: &Schemas, kind: Kind, attribute: &str, value: Value) -> Vec<String> {
    let schema = schemas.get(kind).unwrap_or_else(|| panic!("{kind} has a schema"));
    let input = schema.input(attribute).unwrap_or_else(|| panic!("{kind} declares `{attribute}`"));
    input.violations(&value)
}

fn long(n: usize) -> String {
    "a".repeat(n)
}

#[test]
fn every_documented_constraint_refuses_a_value_the_cloud_refuses() {
    let schemas = ringform_schema::all();
    // (kind, attribute, a value the API refuses, what the message says)
    let cases: Vec<(Kind, &str, Value, &str)> = vec![
        // AWS
        (aws::VPC, "region", "eu-west-9".into(), "is not an AWS region"),
        (aws::VPC, "cidr_block", "10.0.0.0/8".into(), "must be between /16 and /28"),
        (aws::VPC, "secondary_cidr_blocks", vec!["100.64.0.0/29"].into(), "must be between /16 and /28"),
        (aws::VPC, "name", long(257).into(), "may be 0 to 256"),
        (aws::SUBNET, "cidr_block", "10.0.0.0/30".into(), "must be between /16 and /28"),
        (aws::SUBNET, "availability_zone", "eu-west-1".into(), "is not an availability zone"),
        (aws::SUBNET, "availability_zone", "mars-north-1a".into(), "is not an availability zone"),
        (aws::SECURITY_GROUP, "group_name", "sg-cassandra".into(), "may not start with `sg-`"),
        (aws::SECURITY_GROUP, "group_name", long(256).into(), "may be 1 to 255"),
        (aws::SECURITY_GROUP, "group_name", "cassandra-ü".into(), "contains `ü`"),
        (aws::SECURITY_GROUP, "description", "Cassandra — traffic".into(), "contains `—`"),
        (aws::TRANSIT_GATEWAY, "amazon_side_asn", "65535".into(), "must be a private ASN"),
        (aws::CUSTOMER_GATEWAY, "bgp_asn", Value::Int(0), "outside 1..=2147483647"),
        (aws::IAM_ROLE, "role_name", long(65).into(), "may be 1 to 64"),
        (aws::IAM_ROLE, "role_name", "ring/eks".into(), "contains `/`"),
        (aws::EKS_CLUSTER, "cluster_name", long(101).into(), "may be 1 to 100"),
        (aws::EKS_CLUSTER, "cluster_name", "ring.eu".into(), "contains `.`"),
        (aws::EKS_CLUSTER, "cluster_name", "-ring".into(), "must start with a letter or digit"),
        (aws::EKS_CLUSTER, "service_cidr", "100.64.0.0/16".into(), "must lie within 10.0.0.0/8"),
        (aws::EKS_CLUSTER, "service_cidr", "10.0.0.0/8".into(), "must be between /12 and /24"),
        (aws::LAUNCH_TEMPLATE, "name", "lt".into(), "may be 3 to 128"),
        (aws::LAUNCH_TEMPLATE, "name", "ring nodes".into(), "contains ` `"),
        (aws::EKS_NODE_GROUP, "node_group_name", long(64).into(), "may be 1 to 63"),
        (aws::EKS_NODE_GROUP, "desired_size", Value::Int(-1), "outside 0..=1000"),
        (aws::EKS_NODE_GROUP, "min_size", Value::Int(1001), "outside 0..=1000"),
        (aws::EKS_NODE_GROUP, "max_size", Value::Int(0), "outside 1..=1000"),
        (aws::EKS_NODE_GROUP, "instance_type", "m5".into(), "is not an EC2 instance type"),
        (aws::EKS_NODE_GROUP, "instance_type", "M5.xlarge".into(), "is not an EC2 instance type"),
        (aws::EKS_NODE_GROUP, "instance_type", "m5.".into(), "is not an EC2 instance type"),
        (aws::EKS_CLUSTER, "kubernetes_version", "1.31".into(), "is not a Kubernetes version ringform supports"),
        (aws::EKS_CLUSTER, "kubernetes_version", "1.36".into(), "is not a Kubernetes version ringform supports"),
        // Azure
        (azure::RESOURCE_GROUP, "location", "mars".into(), "is not an Azure region"),
        (azure::RESOURCE_GROUP, "name", long(91).into(), "may be 1 to 90"),
        (azure::RESOURCE_GROUP, "name", "ring.".into(), "may not end with `.`"),
        (azure::RESOURCE_GROUP, "name", "ring#1".into(), "contains `#`"),
        (azure::VIRTUAL_NETWORK, "name", "v".into(), "may be 2 to 64"),
        (azure::VIRTUAL_NETWORK, "address_space", vec!["10.0.0.0/30"].into(), "must be between /8 and /29"),
        (azure::PUBLIC_IP, "name", "-ip".into(), "must start with a letter or digit"),
        (azure::PUBLIC_IP, "zones", vec!["4"].into(), "is not an availability zone"),
        (azure::VPN_GATEWAY, "name", long(81).into(), "may be 1 to 80"),
        (azure::LOCAL_NETWORK_GATEWAY, "name", "gw.".into(), "end with one or `_`"),
        (azure::VPN_CONNECTION, "name", "a b".into(), "contains ` `"),
        (azure::VNET_PEERING, "name", "peer!".into(), "contains `!`"),
        (azure::AKS_CLUSTER, "name", long(64).into(), "may be 1 to 63"),
        (azure::AKS_CLUSTER, "name", "aks_".into(), "must start and end with a letter or digit"),
        (azure::AKS_CLUSTER, "dns_prefix", long(55).into(), "may be 1 to 54"),
        (azure::AKS_CLUSTER, "dns_prefix", "ring_eu".into(), "contains `_`"),
        (azure::AKS_CLUSTER, "service_cidr", "172.30.0.0/16".into(), "overlaps 172.30.0.0/16, which is reserved"),
        (azure::AKS_CLUSTER, "service_cidr", "169.254.0.0/20".into(), "overlaps 169.254.0.0/16"),
        (azure::AKS_CLUSTER, "service_cidr", "10.0.0.0/8".into(), "must be between /12 and /28"),
        (azure::AKS_CLUSTER, "node_count", Value::Int(0), "outside 1..=1000"),
        (azure::AKS_CLUSTER, "zones", vec!["1", "westeurope-1"].into(), "is not an availability zone"),
        (azure::AKS_CLUSTER, "vm_size", "D8s_v5".into(), "is not an Azure VM size"),
        (azure::AKS_CLUSTER, "vm_size", "Standard_".into(), "is not an Azure VM size"),
        (azure::AKS_CLUSTER, "kubernetes_version", "1.32".into(), "is not a Kubernetes version ringform supports"),
        (azure::VPN_GATEWAY, "sku", "Basic".into(), "is not a route-based VPN gateway SKU"),
        // Kubernetes
        (kubernetes::NAMESPACE, "name", "Cassandra".into(), "contains `C`"),
        (kubernetes::NAMESPACE, "name", long(64).into(), "may be 1 to 63"),
        (kubernetes::NAMESPACE, "name", "aws.1".into(), "contains `.`"),
        (kubernetes::SECRET, "name", "superuser-".into(), "must start and end with a lowercase letter or digit"),
        (kubernetes::SECRET, "name", long(254).into(), "may be 1 to 253"),
        (kubernetes::ENI_CONFIG, "name", "eu_west_1a".into(), "contains `_`"),
    ];
    for (kind, attribute, value, expected) in cases {
        let found = violations(&schemas, kind, attribute, value.clone());
        assert!(
            found.iter().any(|m| m.contains(expected)),
            "{kind}.{attribute} = {value:?}: expected a violation saying {expected:?}, got {found:?}"
        );
    }
}

#[test]
fn values_the_clouds_accept_pass() {
    let schemas = ringform_schema::all();
    let cases: Vec<(Kind, &str, Value)> = vec![
        (aws::VPC, "region", "eu-west-1".into()),
        (aws::VPC, "cidr_block", "10.0.0.0/16".into()),
        (aws::SUBNET, "availability_zone", "eu-west-1a".into()),
        (aws::SECURITY_GROUP, "group_name", "ring-eu-west-cassandra".into()),
        (aws::TRANSIT_GATEWAY, "amazon_side_asn", "64512".into()),
        (aws::TRANSIT_GATEWAY, "amazon_side_asn", "4200000000".into()),
        (aws::IAM_ROLE, "role_name", "ring-eu-west-eks".into()),
        (aws::EKS_CLUSTER, "service_cidr", "172.20.0.0/16".into()),
        (aws::EKS_NODE_GROUP, "desired_size", Value::Int(3)),
        (aws::EKS_NODE_GROUP, "instance_type", "m6i.2xlarge".into()),
        (aws::EKS_NODE_GROUP, "instance_type", "u-6tb1.metal".into()),
        (aws::EKS_CLUSTER, "kubernetes_version", "1.35".into()),
        (azure::AKS_CLUSTER, "vm_size", "Standard_D8s_v5".into()),
        (azure::AKS_CLUSTER, "kubernetes_version", "1.33".into()),
        (azure::VPN_GATEWAY, "sku", "VpnGw2AZ".into()),
        (azure::RESOURCE_GROUP, "location", "westeurope".into()),
        (azure::VIRTUAL_NETWORK, "address_space", vec!["10.1.0.0/16", "10.201.0.0/16"].into()),
        (azure::AKS_CLUSTER, "service_cidr", "10.101.0.0/16".into()),
        (azure::AKS_CLUSTER, "zones", vec!["1", "2", "3"].into()),
        (kubernetes::NAMESPACE, "name", "aws-1".into()),
        (kubernetes::ENI_CONFIG, "name", "eu-west-1a".into()),
        // Values not known until apply are not judged.
        (aws::EKS_CLUSTER, "cluster_name", Value::Unknown),
    ];
    for (kind, attribute, value) in cases {
        assert_eq!(
            violations(&schemas, kind, attribute, value.clone()),
            Vec::<String>::new(),
            "{kind}.{attribute} = {value:?}"
        );
    }
}

#[test]
fn a_secret_that_breaks_a_rule_is_not_shown() {
    let found = violations(&ringform_schema::all(), aws::IAM_ROLE, "role_name", Value::secret(long(70).into()));
    assert_eq!(found.len(), 1);
    assert!(!found[0].contains("aaaa"), "{found:?}");
}
