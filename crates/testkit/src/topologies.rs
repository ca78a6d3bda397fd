//! Generated topologies: valid, realistic in shape, and as large as asked.

use std::fmt::Write;
use std::net::Ipv4Addr;

/// AWS regions with at least three availability zones, cycled through.
const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-south-1",
    "ca-central-1",
    "sa-east-1",
];

/// Azure regions with availability zones, cycled through.
const AZURE_REGIONS: &[&str] = &[
    "eastus",
    "westus2",
    "centralus",
    "canadacentral",
    "westeurope",
    "northeurope",
    "uksouth",
    "francecentral",
    "swedencentral",
    "australiaeast",
    "japaneast",
    "southeastasia",
];

fn block(base: [u8; 4], prefix: u8, index: usize) -> String {
    let size = 1u32 << (32 - prefix);
    format!("{}/{prefix}", Ipv4Addr::from(u32::from(Ipv4Addr::from(base)) + size * index as u32))
}

/// The mesh options and quotas of generated topologies: AWS's highest rules-per-security-group
/// quota, which fits the rules of up to 101 clusters with pod ranges (5 ports × 2 ranges × 100
/// peers), and the VPC, route and peering quotas raised as a mesh that large needs.
const MESH: &str = "\n[mesh]\naws = \"vpc-peering\"\naws_rules_per_security_group = 1000\n\n[quotas]\n\
                    aws_vpcs_per_region = 10\naws_routes_per_route_table = 1000\naws_peerings_per_vpc = 125\n";

/// `clusters` EKS clusters in a full VPC-peering mesh, one k8ssandra datacenter each, the
/// first cluster hosting the control plane. Networks are /17s of 10/8, pods /18s of
/// 100.64/10, services /20s of 172.16/12: room for 256 clusters, of which 101 fit AWS's
/// security-group quota.
pub fn aws_full_mesh(clusters: usize) -> String {
    let clusters = clusters.clamp(1, 256);
    let mut out = format!("deployment = \"bench\"\n{MESH}");
    for i in 0..clusters {
        let region = REGIONS[i % REGIONS.len()];
        let _ = write!(
            out,
            "\n[[clusters]]\nname = \"c{i}\"\nprovider = \"aws\"\nregion = \"{region}\"\n\
             zones = [\"{region}a\", \"{region}b\", \"{region}c\"]\n\
             network_cidr = \"{}\"\npod_cidr = \"{}\"\nservice_cidr = \"{}\"\n",
            block([10, 0, 0, 0], 17, i),
            block([100, 64, 0, 0], 18, i),
            block([172, 16, 0, 0], 20, i),
        );
    }
    out.push_str("\n[cassandra]\ncluster_name = \"bench\"\ncontrol_plane = \"c0\"\n");
    for i in 0..clusters {
        let _ = write!(out, "\n[[cassandra.datacenters]]\nname = \"dc{i}\"\ncluster = \"c{i}\"\n");
    }
    out
}

/// `clusters` clusters alternating EKS and AKS: AWS pairs peered, Azure pairs joined by VPN
/// gateways, every AWS–Azure pair by a site-to-site VPN, one datacenter per cluster.
pub fn mixed_mesh(clusters: usize) -> String {
    let clusters = clusters.clamp(2, 256);
    let mut out = format!("deployment = \"bench-mixed\"\n{MESH}");
    for i in 0..clusters {
        let ranges = format!(
            "network_cidr = \"{}\"\npod_cidr = \"{}\"\nservice_cidr = \"{}\"\n",
            block([10, 0, 0, 0], 17, i),
            block([100, 64, 0, 0], 18, i),
            block([172, 16, 0, 0], 20, i),
        );
        if i % 2 == 0 {
            let region = REGIONS[(i / 2) % REGIONS.len()];
            let _ = write!(
                out,
                "\n[[clusters]]\nname = \"c{i}\"\nprovider = \"aws\"\nregion = \"{region}\"\n\
                 zones = [\"{region}a\", \"{region}b\", \"{region}c\"]\n{ranges}"
            );
        } else {
            let region = AZURE_REGIONS[(i / 2) % AZURE_REGIONS.len()];
            let _ =
                write!(out, "\n[[clusters]]\nname = \"c{i}\"\nprovider = \"azure\"\nregion = \"{region}\"\n{ranges}");
        }
    }
    out.push_str("\n[cassandra]\ncluster_name = \"bench\"\ncontrol_plane = \"c0\"\n");
    for i in 0..clusters {
        let _ = write!(out, "\n[[cassandra.datacenters]]\nname = \"dc{i}\"\ncluster = \"c{i}\"\n");
    }
    out
}
