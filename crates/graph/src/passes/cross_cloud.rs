//! Across clouds: a site-to-site VPN for every (AWS cluster, Azure cluster) pair. The AWS side
//! is a virtual private gateway on the VPC, a customer gateway at the Azure gateway's public
//! IP and a VPN connection with static routes; the Azure side a local network gateway at the
//! AWS tunnel address and an IPsec connection; both sides share one generated key.

use ringform_schema as kinds;
use ringform_topology::{Cloud, Cluster};

use super::{aws, azure};
use crate::builder::{Builder, attrs, output, routed_ranges};

pub(super) fn vpn(b: &mut Builder) {
    let aws_clusters: Vec<&Cluster> = b.clusters(Cloud::Aws).collect();
    let azure_clusters: Vec<&Cluster> = b.clusters(Cloud::Azure).collect();
    if azure_clusters.is_empty() {
        return;
    }
    for a in aws_clusters {
        b.from(&a.name.span);
        let n = a.name.value.as_str();
        let region = a.region.value.as_str();
        let vpc = aws::vpc(b, n);
        let vpn_gateway = b.add(
            kinds::aws::VPN_GATEWAY,
            n,
            attrs! { "region" => region, "name" => b.cloud_name(&[n]), "vpc_id" => output(&vpc, "id") },
        );
        for z in &azure_clusters {
            let pair = format!("{n}~{}", z.name.value);
            let key = azure::shared_key(b, n, &z.name.value);
            let public_ip = b.address(kinds::azure::PUBLIC_IP, &z.name.value);
            let customer_gateway = b.add(
                kinds::aws::CUSTOMER_GATEWAY,
                &pair,
                attrs! {
                    "region" => region,
                    "name" => b.cloud_name(&[&z.name.value]),
                    "ip_address" => output(&public_ip, "ip_address"),
                    "bgp_asn" => 65000i64,
                },
            );
            let azure_ranges: Vec<String> = routed_ranges(z).into_iter().map(|(_, cidr)| cidr).collect();
            let connection = b.add(
                kinds::aws::VPN_CONNECTION,
                &pair,
                attrs! {
                    "region" => region,
                    "name" => b.cloud_name(&[&pair]),
                    "vpn_gateway_id" => output(&vpn_gateway, "id"),
                    "customer_gateway_id" => output(&customer_gateway, "id"),
                    "static_routes_only" => true,
                    "destination_cidr_blocks" => azure_ranges,
                    "preshared_key" => key.clone(),
                },
            );
            aws::routes_to(b, a, z, ("gateway_id", output(&connection, "vpn_gateway_id")));

            let aws_ranges: Vec<String> = routed_ranges(a).into_iter().map(|(_, cidr)| cidr).collect();
            let group = azure::resource_group(b, &z.name.value);
            let local = b.add(
                kinds::azure::LOCAL_NETWORK_GATEWAY,
                &format!("{}~{n}", z.name.value),
                attrs! {
                    "resource_group" => output(&group, "name"),
                    "subscription" => azure::subscription(z),
                    "name" => b.cloud_name(&[&z.name.value, "to", n]),
                    "location" => z.region.value.as_str(),
                    "gateway_ip_address" => output(&connection, "tunnel1_address"),
                    "address_prefixes" => aws_ranges,
                },
            );
            azure::connection(b, z, n, "IPsec", output(&local, "id"), key);
        }
    }
}
