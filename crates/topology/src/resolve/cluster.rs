//! One `[[clusters]]` table: provider, region and zones, address ranges, node pool, and the
//! keys that belong to the other provider.

use super::fields::*;
use super::subnets::{aws_subnets, azure_subnets};
use crate::diagnostic::Diagnostic;
use crate::load::element_key;
use crate::model::*;
use crate::partial::*;
use crate::patterns::*;
use crate::raw::*;

pub(super) fn resolve_cluster(
    d: &mut Vec<Diagnostic>,
    index: usize,
    raw: Spanned<RawCluster>,
    gateway: bool,
) -> PCluster {
    let Spanned { value: raw, span } = raw;
    let name_text = raw.name.valid().map(String::as_str);
    let key = element_key("clusters", index, name_text);
    let label = name_text.filter(|n| is_name(n, 30)).map_or_else(|| key.clone(), str::to_string);
    let k = |leaf: &str| format!("{key}.{leaf}");

    let name = required(d, raw.name, &k("name"), &span, "name = \"eu-west\"");
    check_name(d, name.as_ref(), &k("name"), "cluster name", 30);
    let provider = required(d, raw.provider, &k("provider"), &span, "provider = \"aws\"")
        .map(|p| Spanned::new(Cloud::from(p.value), p.span));
    let cloud = provider.as_ref().map(|p| p.value);
    let region = required(d, raw.region, &k("region"), &span, "region = \"eu-west-1\"");
    if let Some(region) = region.as_ref().filter(|r| r.value.trim().is_empty() || r.value.contains(char::is_whitespace))
    {
        d.push(
            Diagnostic::new(region.span.clone(), k("region"), format!("`{}` is not a region name", region.value))
                .hint("write the provider's region name, e.g. \"eu-west-1\" or \"canadacentral\""),
        );
    }
    let region_text = region.as_ref().map_or("eu-west-1", |r| r.value.as_str()).to_string();
    let zones = resolve_zones(d, raw.zones, &key, &span, cloud, region.as_ref());

    let kubernetes_version = default_string(
        d,
        raw.kubernetes_version,
        &k("kubernetes_version"),
        "kubernetes_version = \"1.35\"",
        &span,
        "1.35",
    );
    check(
        d,
        Some(&kubernetes_version),
        is_version_2,
        &k("kubernetes_version"),
        "is not a MAJOR.MINOR version",
        "write it like \"1.31\"",
    );

    let network_cidr = cidr(d, raw.network_cidr, &k("network_cidr"), Some(&span), "network_cidr = \"10.1.0.0/16\"");
    let service_cidr = cidr(d, raw.service_cidr, &k("service_cidr"), Some(&span), "service_cidr = \"10.100.0.0/16\"");
    let pod_cidr = cidr(d, raw.pod_cidr, &k("pod_cidr"), None, "pod_cidr = \"10.200.0.0/16\"");

    // The node pool.
    let pool_table = optional(d, raw.node_pool, &k("node_pool"), "node_pool = { count = 3 }");
    let pool_span = pool_table.as_ref().map_or_else(|| span.clone(), |t| t.span.clone());
    let (count, instance_type, vm_size) = match pool_table {
        Some(t) => (t.value.count, t.value.instance_type, t.value.vm_size),
        None => (Field::Missing, Field::Missing, Field::Missing),
    };
    let node_count = count_field(d, count, &k("node_pool.count"), &pool_span, "count = 3", 3);
    let pool_keys = (instance_type.span(), vm_size.span());
    let instance_type = default_string(
        d,
        instance_type,
        &k("node_pool.instance_type"),
        "instance_type = \"m5.xlarge\"",
        &pool_span,
        "m5.xlarge",
    );
    let vm_size = default_string(
        d,
        vm_size,
        &k("node_pool.vm_size"),
        "vm_size = \"Standard_D4s_v5\"",
        &pool_span,
        "Standard_D4s_v5",
    );
    let machine_type = if cloud == Some(Cloud::Azure) { vm_size } else { instance_type };

    // Keys that belong to the other provider, and what to write instead.
    let misplaced = [
        (Cloud::Azure, &pool_keys.0, "node_pool.instance_type", "use vm_size for the VM size of an Azure node pool"),
        (
            Cloud::Aws,
            &pool_keys.1,
            "node_pool.vm_size",
            "use instance_type for the EC2 instance type of an AWS node pool",
        ),
        (
            Cloud::Azure,
            &raw.node_subnets.span(),
            "node_subnets",
            "use node_subnet: an AKS cluster has one node subnet for all zones",
        ),
        (
            Cloud::Aws,
            &raw.node_subnet.span(),
            "node_subnet",
            "use node_subnets, a table of one subnet per zone: node_subnets = { \"eu-west-1a\" = \"10.1.0.0/18\" }",
        ),
        (Cloud::Aws, &raw.gateway_subnet.span(), "gateway_subnet", "remove it: AWS clusters have no Azure VPN gateway"),
        (
            Cloud::Aws,
            &raw.subscription.span(),
            "subscription",
            "remove it: the AWS account comes from the AWS credentials",
        ),
    ];
    for (wrong, span, path, hint) in misplaced {
        if let Some(span) = span.clone().filter(|_| cloud == Some(wrong)) {
            let message = format!("`{}` does not apply to {} clusters", leaf(path), wrong.as_str());
            d.push(Diagnostic::new(span, k(path), message).hint(hint));
        }
    }

    let subscription =
        optional(d, raw.subscription, &k("subscription"), "subscription = \"00000000-0000-0000-0000-000000000000\"");
    check(
        d,
        subscription.as_ref(),
        is_guid,
        &k("subscription"),
        "is not a subscription id",
        "write the subscription's GUID, 8-4-4-4-12 hex digits",
    );

    let mut cluster = PCluster {
        key: key.clone(),
        label,
        name,
        provider,
        region,
        zones,
        kubernetes_version,
        node_count,
        machine_type,
        network_cidr,
        pod_cidr,
        service_cidr,
        node_subnets: Vec::new(),
        pod_subnets: Vec::new(),
        gateway_subnet: None,
        subscription,
    };
    match cloud {
        Some(Cloud::Aws) => aws_subnets(d, &mut cluster, raw.node_subnets, &region_text),
        Some(Cloud::Azure) => azure_subnets(d, &mut cluster, raw.node_subnet, raw.gateway_subnet, gateway),
        None => {}
    }
    cluster
}

fn resolve_zones(
    d: &mut Vec<Diagnostic>,
    field: Field<Vec<Field<String>>>,
    key: &str,
    table: &Span,
    cloud: Option<Cloud>,
    region: Option<&Spanned<String>>,
) -> Option<Vec<Spanned<String>>> {
    let zones_key = format!("{key}.zones");
    let region_text = region.map_or("eu-west-1", |r| r.value.as_str());
    let example = match cloud {
        Some(Cloud::Azure) => "zones = [\"1\", \"2\", \"3\"]".to_string(),
        _ => format!("zones = [\"{region_text}a\", \"{region_text}b\", \"{region_text}c\"]"),
    };
    let list = match read(d, field, &zones_key, &example) {
        Err(()) => return None,
        Ok(Some(list)) => list,
        Ok(None) if cloud == Some(Cloud::Aws) => {
            d.push(
                Diagnostic::new(
                    table.clone(),
                    zones_key,
                    "missing required key `zones`: EKS needs subnets in at least 2 availability zones",
                )
                .hint(format!("add {example}")),
            );
            return None;
        }
        Ok(None) if cloud.is_none() => return None,
        Ok(None) => {
            let zones = ["1", "2", "3"].map(|z| Spanned::new(z.to_string(), table.clone()));
            return Some(zones.to_vec());
        }
    };
    let list_span = list.span;
    let mut zones = Vec::new();
    let mut complete = true;
    for (j, zone) in list.value.into_iter().enumerate() {
        let zone_key = format!("{zones_key}[{j}]");
        let Some(zone) = optional(d, zone, &zone_key, &example) else {
            complete = false;
            continue;
        };
        if let Some(first) = zones.iter().find(|z: &&Spanned<String>| z.value == zone.value) {
            d.push(
                Diagnostic::new(zone.span.clone(), zone_key.clone(), format!("zone `{}` is listed twice", zone.value))
                    .hint(format!("list each zone once (`{}` is already listed)", first.value)),
            );
        }
        match (cloud, region) {
            (Some(Cloud::Aws), Some(region)) if !in_aws_region(&zone.value, &region.value) => d.push(
                Diagnostic::new(
                    zone.span.clone(),
                    zone_key,
                    format!("zone `{}` is not in region {}", zone.value, region.value),
                )
                .hint(format!("AWS zones are the region name plus one letter, e.g. \"{}a\"", region.value)),
            ),
            (Some(Cloud::Azure), _) if !["1", "2", "3"].contains(&zone.value.as_str()) => d.push(
                Diagnostic::new(zone.span.clone(), zone_key, format!("`{}` is not an Azure zone", zone.value))
                    .hint("Azure zones are \"1\", \"2\" and \"3\""),
            ),
            _ => {}
        }
        zones.push(zone);
    }
    if complete && zones.is_empty() {
        d.push(
            Diagnostic::new(list_span, zones_key, "zones is empty")
                .hint(format!("list the cluster's zones, e.g. {example}")),
        );
        return None;
    }
    if complete && cloud == Some(Cloud::Aws) && zones.len() < 2 {
        d.push(
            Diagnostic::new(
                list_span,
                zones_key,
                format!("EKS needs subnets in at least 2 availability zones; {} lists 1", key),
            )
            .hint(format!("add a second zone, e.g. {example}")),
        );
    }
    complete.then_some(zones)
}

fn in_aws_region(zone: &str, region: &str) -> bool {
    zone.strip_prefix(region).is_some_and(|letter| letter.len() == 1 && letter.bytes().all(|b| b.is_ascii_lowercase()))
}
