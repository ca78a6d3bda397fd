//! AWS: VPC networking, cross-region peering and transit gateways, site-to-site VPN, IAM roles,
//! EKS. Calls go to the object's `region`; IAM is global.

use std::time::Duration;

use ringform_core::schema::{KindSchema, ProviderSchema, input, minutes, output, seconds};
use ringform_core::{Kind, Provider};

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

/// Every regional kind starts like this.
const fn regional(kind: Kind) -> KindSchema {
    KindSchema::new(kind).region_from("region")
}

const REGION: ringform_core::schema::Attribute = input("region").required().replaces();
const ID: ringform_core::schema::Attribute = output("id");

pub static SCHEMA: ProviderSchema = ProviderSchema {
    provider: Provider::Aws,
    kinds: &[
        regional(VPC)
            .inputs(&[
                REGION,
                input("cidr_block").required().replaces(),
                input("name"),
                input("secondary_cidr_blocks").unordered(),
                input("enable_dns_hostnames"),
            ])
            .outputs(&[ID]),
        regional(SUBNET)
            .inputs(&[
                REGION,
                input("vpc_id").required().replaces(),
                input("cidr_block").required().replaces(),
                input("availability_zone").replaces(),
                input("name"),
                input("map_public_ip_on_launch"),
            ])
            .outputs(&[ID]),
        regional(INTERNET_GATEWAY)
            .inputs(&[REGION, input("vpc_id").required().replaces(), input("name")])
            .outputs(&[ID]),
        regional(ROUTE_TABLE).inputs(&[REGION, input("vpc_id").required().replaces(), input("name")]).outputs(&[ID]),
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
            .takes(seconds(1)),
        regional(SECURITY_GROUP)
            .inputs(&[
                REGION,
                input("vpc_id").required().replaces(),
                input("group_name").required().replaces(),
                input("description"),
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
                input("name"),
            ])
            .outputs(&[ID])
            .takes(seconds(10)),
        regional(VPC_PEERING_ACCEPTER)
            .inputs(&[REGION, input("peering_id").required().replaces(), input("name")])
            .outputs(&[ID, output("peering_id")])
            .takes(seconds(10)),
        regional(TRANSIT_GATEWAY)
            .inputs(&[REGION, input("amazon_side_asn").required().replaces(), input("name")])
            .outputs(&[ID])
            .takes(minutes(5)),
        regional(TRANSIT_GATEWAY_ATTACHMENT)
            .inputs(&[
                REGION,
                input("transit_gateway_id").required().replaces(),
                input("vpc_id").required().replaces(),
                input("subnet_ids").unordered(),
                input("name"),
            ])
            .outputs(&[ID, output("transit_gateway_id")]),
        regional(TRANSIT_GATEWAY_PEERING)
            .inputs(&[
                REGION,
                input("transit_gateway_id").required().replaces(),
                input("peer_transit_gateway_id").required().replaces(),
                input("peer_region").required().replaces(),
                input("name"),
            ])
            .outputs(&[ID]),
        regional(TRANSIT_GATEWAY_PEERING_ACCEPTER)
            .inputs(&[REGION, input("attachment_id").required().replaces(), input("name")])
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
            .inputs(&[REGION, input("vpc_id").required().replaces(), input("name")])
            .outputs(&[ID])
            .takes(minutes(5)),
        regional(CUSTOMER_GATEWAY)
            .inputs(&[
                REGION,
                input("ip_address").required().replaces(),
                input("bgp_asn").required().replaces(),
                input("name"),
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
                input("name"),
            ])
            .outputs(&[ID, output("vpn_gateway_id"), output("tunnel1_address")])
            .takes(minutes(5)),
        KindSchema::new(IAM_ROLE)
            .inputs(&[
                input("role_name").required().replaces(),
                input("assume_role_service").required(),
                input("policy_arns").unordered(),
            ])
            .outputs(&[ID, output("arn")]),
        regional(EKS_CLUSTER)
            .inputs(&[
                REGION,
                input("cluster_name").required().replaces(),
                input("kubernetes_version").required(),
                input("role_arn").required().replaces(),
                input("subnet_ids").required().replaces().unordered(),
                input("service_cidr").required().replaces(),
            ])
            .outputs(&[
                ID,
                output("cluster_name"),
                output("cluster_security_group_id"),
                output("endpoint"),
                output("certificate_authority"),
            ])
            .takes(minutes(10))
            .creating_takes(Duration::from_secs(15 * 60)),
        regional(LAUNCH_TEMPLATE)
            .inputs(&[
                REGION,
                input("name").required().replaces(),
                input("security_group_ids").unordered(),
                input("cluster_security_group_id"),
            ])
            .outputs(&[ID, output("version")]),
        regional(EKS_NODE_GROUP)
            .inputs(&[
                REGION,
                input("cluster_name").required().replaces(),
                input("node_group_name").required().replaces(),
                input("node_role_arn").required().replaces(),
                input("subnet_ids").required().replaces().unordered(),
                input("pod_subnet_ids").unordered(),
                input("instance_type").required().replaces(),
                input("launch_template_id").required().replaces(),
                input("launch_template_version"),
                input("desired_size"),
                input("min_size"),
                input("max_size"),
            ])
            .outputs(&[ID])
            .takes(minutes(5)),
    ],
};
