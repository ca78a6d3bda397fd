//! Subnets of a cluster: AWS node and pod subnets per zone, Azure node subnet and
//! `GatewaySubnet`, derived from the ranges or checked when given.

use std::collections::BTreeMap;

use ipnet::Ipv4Net;

use super::fields::*;
use crate::diagnostic::Diagnostic;
use crate::model::*;
use crate::net::{first_half, last, overlaps, split};
use crate::partial::*;
use crate::raw::Field;

/// AWS accepts VPC (and secondary) CIDR blocks from /16 to /28, and subnets down to /28.
const AWS_LARGEST: u8 = 16;
const AWS_SMALLEST: u8 = 28;
/// Azure VPN gateways need a `GatewaySubnet` of /27 or larger.
const GATEWAY_PREFIX: u8 = 27;
pub(super) fn aws_subnets(
    d: &mut Vec<Diagnostic>,
    c: &mut PCluster,
    node_subnets: Field<BTreeMap<String, Field<String>>>,
    region: &str,
) {
    let network = c.network_cidr.clone().filter(|n| aws_block_size(d, n, &format!("{}.network_cidr", c.key)));
    let pods = c.pod_cidr.clone().filter(|n| aws_block_size(d, n, &format!("{}.pod_cidr", c.key)));
    let zones = c.zones.as_deref();
    let example = format!("node_subnets = {{ \"{region}a\" = \"10.1.0.0/18\", \"{region}b\" = \"10.1.64.0/18\" }}");
    let subnets_key = format!("{}.node_subnets", c.key);
    c.node_subnets = match (read(d, node_subnets, &subnets_key, &example), &network, zones) {
        (Ok(Some(given)), _, _) => given_aws_subnets(d, given, zones, network.as_ref(), &subnets_key),
        (Ok(None), Some(network), Some(zones)) => {
            carve(d, network, zones, &format!("{}.network_cidr", c.key), "network_cidr")
        }
        _ => Vec::new(),
    };
    if let (Some(pods), Some(zones)) = (&pods, zones) {
        c.pod_subnets = carve(d, pods, zones, &format!("{}.pod_cidr", c.key), "pod_cidr");
    }
}

/// AWS takes /16 to /28 blocks for a VPC and its secondary ranges.
fn aws_block_size(d: &mut Vec<Diagnostic>, net: &Spanned<Ipv4Net>, key: &str) -> bool {
    let prefix = net.value.prefix_len();
    if (AWS_LARGEST..=AWS_SMALLEST).contains(&prefix) {
        return true;
    }
    let suggestion = if prefix < AWS_LARGEST {
        Ipv4Net::new(net.value.network(), AWS_LARGEST).map(|n| format!(", e.g. {n}")).unwrap_or_default()
    } else {
        String::new()
    };
    d.push(
        Diagnostic::new(
            net.span.clone(),
            key,
            format!("{} is a /{prefix}, but AWS VPC ranges must be /16 to /28", net.value),
        )
        .hint(format!("use a range between /16 and /28{suggestion}")),
    );
    false
}

/// One subnet per zone carved out of `net` (a /16 and 3 zones give three /18s).
fn carve(
    d: &mut Vec<Diagnostic>,
    net: &Spanned<Ipv4Net>,
    zones: &[Spanned<String>],
    key: &str,
    what: &str,
) -> Vec<Subnet> {
    let parts = split(net.value, zones.len()).filter(|p| p.first().is_some_and(|s| s.prefix_len() <= AWS_SMALLEST));
    let Some(parts) = parts else {
        let bits = zones.len().max(1).next_power_of_two().trailing_zeros();
        let largest = u32::from(AWS_SMALLEST).saturating_sub(bits);
        d.push(
            Diagnostic::new(
                net.span.clone(),
                key,
                format!("{what} {} is too small to split into {} zone subnets of at least /28", net.value, zones.len()),
            )
            .hint(format!(
                "use a /{largest} or larger{}",
                if what == "network_cidr" { ", or list node_subnets" } else { "" }
            )),
        );
        return Vec::new();
    };
    zones
        .iter()
        .zip(parts)
        .map(|(zone, part)| Subnet {
            name: zone.value.clone(),
            zone: Some(zone.clone()),
            cidr: Spanned::new(part, net.span.clone()),
        })
        .collect()
}

/// The node subnets the user listed: one per zone, each inside the network, none overlapping.
/// Without valid `zones` only the subnets themselves are checked.
fn given_aws_subnets(
    d: &mut Vec<Diagnostic>,
    given: Spanned<BTreeMap<String, Field<String>>>,
    zones: Option<&[Spanned<String>]>,
    network: Option<&Spanned<Ipv4Net>>,
    key: &str,
) -> Vec<Subnet> {
    let zone_list = zones.unwrap_or_default().iter().map(|z| z.value.as_str()).collect::<Vec<_>>().join(", ");
    let exact = format!("node_subnets must name exactly the zones: {zone_list}");
    let named: Vec<String> = given.value.keys().cloned().collect();
    let mut by_zone: BTreeMap<String, Spanned<Ipv4Net>> = BTreeMap::new();
    for (zone, field) in given.value {
        let entry_key = format!("{key}.{zone}");
        let entry_span = field.span().unwrap_or_else(|| given.span.clone());
        let subnet = cidr(d, field, &entry_key, None, "\"10.1.0.0/18\"");
        if zones.is_some_and(|zones| !zones.iter().any(|z| z.value == zone)) {
            let message = format!("node_subnets names `{zone}`, which is not one of the cluster's zones");
            d.push(Diagnostic::new(entry_span, entry_key, message).hint(exact.clone()));
            continue;
        }
        let Some(subnet) = subnet else { continue };
        check_subnet(d, &subnet, network, &entry_key, &format!("node subnet of {zone}"));
        if subnet.value.prefix_len() > AWS_SMALLEST {
            d.push(
                Diagnostic::new(
                    subnet.span.clone(),
                    entry_key.clone(),
                    format!("{} is smaller than a /28, the smallest AWS subnet", subnet.value),
                )
                .hint("use a /28 or larger"),
            );
        }
        by_zone.insert(zone, subnet);
    }
    let Some(zones) = zones else { return Vec::new() };
    for zone in zones.iter().filter(|z| !named.contains(&z.value)) {
        let message = format!("node_subnets has no subnet for zone `{}`", zone.value);
        d.push(Diagnostic::new(given.span.clone(), key, message).hint(exact.clone()));
    }
    let subnets: Vec<Subnet> = zones
        .iter()
        .filter_map(|zone| {
            let cidr = by_zone.remove(&zone.value)?;
            Some(Subnet { name: zone.value.clone(), zone: Some(zone.clone()), cidr })
        })
        .collect();
    disjoint(d, &subnets, key);
    subnets
}

/// Reports subnets that overlap each other, at the one written later.
fn disjoint(d: &mut Vec<Diagnostic>, subnets: &[Subnet], key: &str) {
    let mut by_position: Vec<&Subnet> = subnets.iter().collect();
    by_position.sort_by_key(|s| s.cidr.span.start);
    for (i, later) in by_position.iter().enumerate() {
        if let Some(earlier) = by_position[..i].iter().find(|s| overlaps(s.cidr.value, later.cidr.value)) {
            d.push(
                Diagnostic::new(
                    later.cidr.span.clone(),
                    format!("{key}.{}", later.name),
                    format!(
                        "node subnet {} of {} overlaps node subnet {} of {}",
                        later.cidr.value, later.name, earlier.cidr.value, earlier.name
                    ),
                )
                .hint("give every zone its own part of network_cidr"),
            );
        }
    }
}

/// A given subnet must lie inside the cluster's network.
fn check_subnet(
    d: &mut Vec<Diagnostic>,
    subnet: &Spanned<Ipv4Net>,
    network: Option<&Spanned<Ipv4Net>>,
    key: &str,
    what: &str,
) {
    if let Some(network) = network.filter(|n| !n.value.contains(&subnet.value)) {
        d.push(
            Diagnostic::new(
                subnet.span.clone(),
                key,
                format!("{what} {} is outside network_cidr {}", subnet.value, network.value),
            )
            .hint(format!("pick a range inside {}", network.value)),
        );
    }
}

pub(super) fn azure_subnets(
    d: &mut Vec<Diagnostic>,
    c: &mut PCluster,
    node_subnet: Field<String>,
    gateway_subnet: Field<String>,
    gateway: bool,
) {
    let network = c.network_cidr.clone();
    let node_key = format!("{}.node_subnet", c.key);
    let gateway_key = format!("{}.gateway_subnet", c.key);
    let network_key = format!("{}.network_cidr", c.key);

    let given_node = node_subnet.span().is_some();
    let node = match cidr(d, node_subnet, &node_key, None, "node_subnet = \"10.1.0.0/17\"") {
        Some(given) => {
            check_subnet(d, &given, network.as_ref(), &node_key, "node_subnet");
            Some(given)
        }
        None => network.as_ref().and_then(|n| match first_half(n.value) {
            Some(half) => Some(Spanned::new(half, n.span.clone())),
            None => {
                d.push(
                    Diagnostic::new(
                        n.span.clone(),
                        network_key.clone(),
                        format!("network_cidr {} is too small for a node subnet", n.value),
                    )
                    .hint("use a larger network_cidr, e.g. a /16"),
                );
                None
            }
        }),
    };

    let given_gateway = gateway_subnet.span().is_some();
    let gateway_net = match cidr(d, gateway_subnet, &gateway_key, None, "gateway_subnet = \"10.1.255.224/27\"") {
        Some(given) => {
            if given.value.prefix_len() > GATEWAY_PREFIX {
                let example = network
                    .as_ref()
                    .and_then(|n| last(n.value, GATEWAY_PREFIX))
                    .map(|n| format!(", e.g. {n}"))
                    .unwrap_or_default();
                d.push(
                    Diagnostic::new(
                        given.span.clone(),
                        gateway_key.clone(),
                        format!(
                            "GatewaySubnet {} is a /{}; Azure VPN gateways need at least a /27",
                            given.value,
                            given.value.prefix_len()
                        ),
                    )
                    .hint(format!("use a /27 or larger{example}")),
                );
            }
            check_subnet(d, &given, network.as_ref(), &gateway_key, "gateway_subnet");
            Some(given)
        }
        None if gateway && !given_gateway => network.as_ref().and_then(|n| match last(n.value, GATEWAY_PREFIX) {
            Some(net) => Some(Spanned::new(net, n.span.clone())),
            None => {
                d.push(
                    Diagnostic::new(
                        n.span.clone(),
                        network_key.clone(),
                        format!("network_cidr {} is smaller than the /27 GatewaySubnet its VPN gateway needs", n.value),
                    )
                    .hint("use a /26 or larger network_cidr (node subnet plus GatewaySubnet)"),
                );
                None
            }
        }),
        None => None,
    };

    if let (Some(node), Some(gw)) = (&node, &gateway_net)
        && overlaps(node.value, gw.value)
    {
        // Point at whichever of the two the user wrote; both derived: at the network.
        let (span, key) = match (given_gateway, given_node) {
            (true, _) => (gw.span.clone(), gateway_key.clone()),
            (false, true) => (node.span.clone(), node_key.clone()),
            (false, false) => (gw.span.clone(), network_key.clone()),
        };
        d.push(
            Diagnostic::new(span, key, format!("gateway_subnet {} overlaps node_subnet {}", gw.value, node.value))
                .hint("use a larger network_cidr, or set node_subnet and gateway_subnet to disjoint ranges inside it"),
        );
    }
    if let Some(node) = node {
        c.node_subnets = vec![Subnet { name: "nodes".to_string(), zone: None, cidr: node }];
    }
    c.gateway_subnet = gateway_net;
}
