//! AWS: VPC networking, cross-region peering and transit gateways, site-to-site VPN, IAM roles,
//! EKS and its add-ons. Calls go to the object's `region`; IAM is global.

use std::time::Duration;

use ringform_core::schema::{
    Attribute, CassandraData, KindSchema, ProviderSchema, Quota, Rule, input, minutes, output, seconds,
};
use ringform_core::{Kind, Provider};

use crate::chars;

pub const VPC: Kind = Kind::new("aws_vpc");
pub const SUBNET: Kind = Kind::new("aws_subnet");
pub const INTERNET_GATEWAY: Kind = Kind::new("aws_internet_gateway");
pub const ROUTE_TABLE: Kind = Kind::new("aws_route_table");
pub const ROUTE_TABLE_ASSOCIATION: Kind = Kind::new("aws_route_table_association");
pub const ROUTE: Kind = Kind::new("aws_route");
pub const SECURITY_GROUP: Kind = Kind::new("aws_security_group");
pub const SECURITY_GROUP_RULE: Kind = Kind::new("aws_security_group_rule");
pub const VPC_PEERING: Kind = Kind::new("aws_vpc_peering");
pub const VPC_PEERING_ACCEPTER: Kind = Kind::new("aws_vpc_peering_accepter");
pub const TRANSIT_GATEWAY: Kind = Kind::new("aws_transit_gateway");
pub const TRANSIT_GATEWAY_ATTACHMENT: Kind = Kind::new("aws_transit_gateway_attachment");
pub const TRANSIT_GATEWAY_PEERING: Kind = Kind::new("aws_transit_gateway_peering");
pub const TRANSIT_GATEWAY_PEERING_ACCEPTER: Kind = Kind::new("aws_transit_gateway_peering_accepter");
pub const TRANSIT_GATEWAY_ROUTE: Kind = Kind::new("aws_transit_gateway_route");
pub const VPN_GATEWAY: Kind = Kind::new("aws_vpn_gateway");
pub const CUSTOMER_GATEWAY: Kind = Kind::new("aws_customer_gateway");
pub const VPN_CONNECTION: Kind = Kind::new("aws_vpn_connection");
pub const IAM_ROLE: Kind = Kind::new("aws_iam_role");
pub const EKS_CLUSTER: Kind = Kind::new("aws_eks_cluster");
pub const LAUNCH_TEMPLATE: Kind = Kind::new("aws_launch_template");
pub const EKS_NODE_GROUP: Kind = Kind::new("aws_eks_node_group");
pub const EKS_ADDON: Kind = Kind::new("aws_eks_addon");

/// Every regional kind starts like this.
const fn regional(kind: Kind) -> KindSchema {
    KindSchema::new(kind).region_from("region")
}

const REGION: Attribute = input("region").required().replaces();
const ID: Attribute = output("id");
/// The `Name` tag: tag values are at most 256 characters.
const NAME_TAG: Attribute = input("name").rules(&[Rule::Length { min: 0, max: 256 }]);

/// AWS's commercial, GovCloud and China regions. A region AWS opens after this release is
/// refused until ringform learns it.
pub const REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// A zone is its region's name and a letter (`eu-west-1a`).
fn is_zone_of_a_region(zone: &str) -> bool {
    let mut chars = zone.chars();
    chars.next_back().is_some_and(|c| c.is_ascii_lowercase()) && REGIONS.contains(&chars.as_str())
}

/// VPCs and their subnets: /16 to /28.
const VPC_RANGE: Rule = Rule::Cidr { prefix: (16, 28), within: &[], reserved: &[] };
/// EKS takes a service range in the private blocks, /12 to /24.
const EKS_SERVICE_RANGE: Rule =
    Rule::Cidr { prefix: (12, 24), within: &["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"], reserved: &[] };
/// EKS cluster and node group names: a letter or digit, then letters, digits, `-` and `_`.
const EKS_NAME_CHARS: Rule = Rule::Chars { test: chars::word_or_dash, allowed: "letters, digits, `-` and `_`" };
const EKS_NAME_START: Rule =
    Rule::Check { check: |name| name.starts_with(chars::alphanumeric), requires: "must start with a letter or digit" };
/// The ASNs AWS allows on the Amazon side of a transit gateway: private 16- and 32-bit ranges.
const TRANSIT_ASN: Rule = Rule::Check {
    check: |asn| {
        asn.parse::<u64>().is_ok_and(|a| (64512..=65534).contains(&a) || (4_200_000_000..=4_294_967_294).contains(&a))
    },
    requires: "must be a private ASN, 64512–65534 or 4200000000–4294967294",
};

pub static SCHEMA: ProviderSchema = ProviderSchema {
    provider: Provider::Aws,
    kinds: &[
        regional(VPC)
            .inputs(&[
                input("region").required().replaces().rules(&[Rule::OneOf { values: REGIONS, what: "an AWS region" }]),
                input("cidr_block").required().replaces().rules(&[VPC_RANGE]),
                NAME_TAG,
                input("secondary_cidr_blocks").unordered().rules(&[VPC_RANGE]),
                input("enable_dns_hostnames"),
            ])
            .outputs(&[ID])
            .quotas(&[Quota {
                key: "aws_vpcs_per_region",
                name: "VPCs per Region",
                per: &["region"],
                default: 5,
                raise: None,
            }]),
        regional(SUBNET)
            .inputs(&[
                REGION,
                input("vpc_id").required().replaces(),
                input("cidr_block").required().replaces().rules(&[VPC_RANGE]),
                input("availability_zone").replaces().rules(&[Rule::Check {
                    check: is_zone_of_a_region,
                    requires: "is not an availability zone of an AWS region (`<region><letter>`, e.g. `eu-west-1a`)",
                }]),
                NAME_TAG,
                input("map_public_ip_on_launch"),
            ])
            .outputs(&[ID]),
        regional(INTERNET_GATEWAY).inputs(&[REGION, input("vpc_id").required().replaces(), NAME_TAG]).outputs(&[ID]),
        regional(ROUTE_TABLE).inputs(&[REGION, input("vpc_id").required().replaces(), NAME_TAG]).outputs(&[ID]),
        regional(ROUTE_TABLE_ASSOCIATION)
            .inputs(&[REGION, input("subnet_id").required().replaces(), input("route_table_id").required().replaces()])
            .outputs(&[ID]),
        regional(ROUTE)
            .inputs(&[
                REGION,
                input("route_table_id").required().replaces(),
                input("destination_cidr_block").required().replaces(),
                input("gateway_id"),
                input("vpc_peering_connection_id"),
                input("transit_gateway_id"),
            ])
            .takes(seconds(1))
            .quotas(&[Quota {
                key: "aws_routes_per_route_table",
                name: "Routes per route table",
                per: &["route_table_id"],
                default: 50,
                raise: None,
            }]),
        regional(SECURITY_GROUP)
            .inputs(&[
                REGION,
                input("vpc_id").required().replaces(),
                input("group_name").required().replaces().rules(&[
                    Rule::Length { min: 1, max: 255 },
                    Rule::NotPrefixed("sg-"),
                    Rule::Chars {
                        test: chars::printable_ascii,
                        allowed: "ASCII letters, digits, spaces and punctuation",
                    },
                ]),
                // AWS cannot change a group's description in place.
                input("description").replaces().rules(&[
                    Rule::Length { min: 0, max: 255 },
                    Rule::Chars {
                        test: chars::printable_ascii,
                        allowed: "ASCII letters, digits, spaces and punctuation",
                    },
                ]),
            ])
            .outputs(&[ID]),
        regional(SECURITY_GROUP_RULE)
            .inputs(&[
                REGION,
                input("security_group_id").required().replaces(),
                input("protocol").required().replaces(),
                input("ports").required().replaces().unordered(),
                input("cidr_blocks").required().replaces().unordered(),
                input("description"),
            ])
            .takes(seconds(1)),
        regional(VPC_PEERING)
            .inputs(&[
                REGION,
                input("vpc_id").required().replaces(),
                input("peer_vpc_id").required().replaces(),
                input("peer_region").required().replaces(),
                NAME_TAG,
            ])
            .outputs(&[ID])
            .takes(seconds(10))
            .quotas(&[Quota {
                key: "aws_peerings_per_vpc",
                name: "Active VPC peering connections per VPC",
                per: &["vpc_id", "peer_vpc_id"],
                default: 50,
                raise: None,
            }]),
        regional(VPC_PEERING_ACCEPTER)
            .inputs(&[REGION, input("peering_id").required().replaces(), NAME_TAG])
            .outputs(&[ID, output("peering_id")])
            .takes(seconds(10)),
        regional(TRANSIT_GATEWAY)
            .inputs(&[REGION, input("amazon_side_asn").required().replaces().rules(&[TRANSIT_ASN]), NAME_TAG])
            .outputs(&[ID])
            .takes(minutes(5)),
        regional(TRANSIT_GATEWAY_ATTACHMENT)
            .inputs(&[
                REGION,
                input("transit_gateway_id").required().replaces(),
                input("vpc_id").required().replaces(),
                input("subnet_ids").unordered(),
                NAME_TAG,
            ])
            .outputs(&[ID, output("transit_gateway_id")]),
        regional(TRANSIT_GATEWAY_PEERING)
            .inputs(&[
                REGION,
                input("transit_gateway_id").required().replaces(),
                input("peer_transit_gateway_id").required().replaces(),
                input("peer_region").required().replaces(),
                NAME_TAG,
            ])
            .outputs(&[ID]),
        regional(TRANSIT_GATEWAY_PEERING_ACCEPTER)
            .inputs(&[REGION, input("attachment_id").required().replaces(), NAME_TAG])
            .outputs(&[ID, output("attachment_id")]),
        regional(TRANSIT_GATEWAY_ROUTE)
            .inputs(&[
                REGION,
                input("transit_gateway_id").required().replaces(),
                input("destination_cidr_block").required().replaces(),
                input("attachment_id"),
            ])
            .outputs(&[ID]),
        regional(VPN_GATEWAY)
            .inputs(&[REGION, input("vpc_id").required().replaces(), NAME_TAG])
            .outputs(&[ID])
            .takes(minutes(5)),
        regional(CUSTOMER_GATEWAY)
            .inputs(&[
                REGION,
                input("ip_address").required().replaces(),
                input("bgp_asn").required().replaces().rules(&[Rule::Range { min: 1, max: 2_147_483_647 }]),
                NAME_TAG,
            ])
            .outputs(&[ID]),
        regional(VPN_CONNECTION)
            .inputs(&[
                REGION,
                input("vpn_gateway_id").required().replaces(),
                input("customer_gateway_id").required().replaces(),
                input("static_routes_only"),
                input("destination_cidr_blocks").unordered(),
                input("preshared_key").secret(),
                NAME_TAG,
            ])
            .outputs(&[ID, output("vpn_gateway_id"), output("tunnel1_address")])
            .takes(minutes(5)),
        KindSchema::new(IAM_ROLE)
            .inputs(&[
                input("role_name").required().replaces().rules(&[
                    Rule::Length { min: 1, max: 64 },
                    Rule::Chars {
                        test: |c| chars::word_or_dash(c) || "+=,.@".contains(c),
                        allowed: "letters, digits and `+=,.@_-`",
                    },
                ]),
                input("assume_role_service").required(),
                input("policy_arns").unordered(),
            ])
            .outputs(&[ID, output("arn")]),
        regional(EKS_CLUSTER)
            .inputs(&[
                REGION,
                input("cluster_name").required().replaces().rules(&[
                    Rule::Length { min: 1, max: 100 },
                    EKS_NAME_CHARS,
                    EKS_NAME_START,
                ]),
                input("kubernetes_version").required().rules(&[crate::KUBERNETES_VERSION]),
                input("role_arn").required().replaces(),
                input("subnet_ids").required().replaces().unordered(),
                input("service_cidr").required().replaces().rules(&[EKS_SERVICE_RANGE]),
            ])
            .outputs(&[
                ID,
                output("cluster_name"),
                output("cluster_security_group_id"),
                output("endpoint"),
                output("certificate_authority"),
            ])
            .takes(minutes(10))
            .creating_takes(Duration::from_secs(15 * 60))
            .cassandra_data(CassandraData::Hosts)
            .quotas(&[Quota {
                key: "aws_eks_clusters_per_region",
                name: "Clusters (EKS, per Region)",
                per: &["region"],
                default: 100,
                raise: None,
            }]),
        regional(LAUNCH_TEMPLATE)
            .inputs(&[
                REGION,
                input("name").required().replaces().rules(&[
                    Rule::Length { min: 3, max: 128 },
                    Rule::Chars {
                        test: |c| chars::word_dash_or_dot(c) || "()/".contains(c),
                        allowed: "letters, digits and `().-/_`",
                    },
                ]),
                input("security_group_ids").unordered(),
                input("cluster_security_group_id"),
            ])
            .outputs(&[ID, output("version")]),
        regional(EKS_NODE_GROUP)
            .inputs(&[
                REGION,
                input("cluster_name").required().replaces(),
                input("node_group_name").required().replaces().rules(&[
                    Rule::Length { min: 1, max: 63 },
                    EKS_NAME_CHARS,
                    EKS_NAME_START,
                ]),
                input("node_role_arn").required().replaces(),
                input("subnet_ids").required().replaces().unordered(),
                // The pods' networking inside the cluster, set up before the nodes launch
                // (they take it up at boot); only so that the node group waits for it.
                input("pod_networking"),
                input("instance_type").required().replaces().rules(&[Rule::Check {
                    check: |t| {
                        t.split_once('.').is_some_and(|(family, size)| {
                            family.starts_with(|c: char| c.is_ascii_lowercase())
                                && !size.is_empty()
                                && [family, size].iter().all(|part| {
                                    part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                                })
                        })
                    },
                    requires: "is not an EC2 instance type: those are a family and a size, such as `m6i.2xlarge`",
                }]),
                input("launch_template_id").required().replaces(),
                input("launch_template_version"),
                input("desired_size").rules(&[Rule::Range { min: 0, max: 1000 }]),
                input("min_size").rules(&[Rule::Range { min: 0, max: 1000 }]),
                input("max_size").rules(&[Rule::Range { min: 1, max: 1000 }]),
            ])
            // `cluster_name` again, for what must wait for the nodes (add-ons run on them);
            // `node_group_name`, which the nodes carry as label `eks.amazonaws.com/nodegroup`.
            .outputs(&[ID, output("cluster_name"), output("node_group_name")])
            .takes(minutes(5))
            .cassandra_data(CassandraData::Hosts),
        // An EKS add-on (the EBS CSI driver): its pods run on the node group's nodes, so it
        // becomes ACTIVE a few minutes after it is created.
        regional(EKS_ADDON)
            .inputs(&[
                REGION,
                input("cluster_name").required().replaces(),
                input("addon_name").required().replaces(),
                input("addon_version"),
            ])
            .outputs(&[ID])
            .takes(minutes(3)),
    ],
};
