//! Raw → partial: type errors and missing keys reported, defaults applied, subnets derived, and
//! every rule that needs only one table checked (names, versions, zones, subnets, state
//! locations, keys that belong to the other provider or state backend).

mod cassandra;
mod cluster;
mod fields;
mod state;
mod subnets;

use crate::diagnostic::Diagnostic;
use crate::model::*;
use crate::partial::*;
use crate::raw::*;
use cassandra::resolve_cassandra;
use cluster::resolve_cluster;
use fields::*;
use state::resolve_state;

pub(crate) fn resolve(raw: RawTopology, d: &mut Vec<Diagnostic>) -> Partial {
    let root = 0..0;
    let deployment = required(d, raw.deployment, "deployment", &root, "deployment = \"eks-two-regions\"");
    check_name(d, deployment.as_ref(), "deployment", "deployment name", 40);
    let state = resolve_state(d, raw.state, deployment.as_ref());
    let (mesh, mesh_given) = resolve_mesh(d, raw.mesh);
    let dns = resolve_dns(d, raw.dns);

    let raw_clusters = read(d, raw.clusters, "clusters", "a [[clusters]] table per cluster");
    if matches!(&raw_clusters, Ok(None)) || matches!(&raw_clusters, Ok(Some(list)) if list.value.is_empty()) {
        d.push(
            Diagnostic::new(root.clone(), "clusters", "the topology defines no clusters")
                .hint("add a [[clusters]] table for each Kubernetes cluster"),
        );
    }
    let raw_clusters = raw_clusters.ok().flatten().map(|list| list.value).unwrap_or_default();
    // Whether an Azure cluster needs a VPN gateway depends on the providers of all of them.
    let count = |cloud: RawCloud| {
        raw_clusters.iter().filter(|c| c.valid().and_then(|c| c.provider.valid()) == Some(&cloud)).count()
    };
    let gateway = gateway_needed(mesh.azure.value, count(RawCloud::Aws), count(RawCloud::Azure));
    let clusters = each_table(d, raw_clusters, "clusters", "a [[clusters]] table per cluster", |d, i, cluster| {
        resolve_cluster(d, i, cluster, gateway)
    });

    let cassandra = optional(d, raw.cassandra, "cassandra", "a [cassandra] table").map(|c| resolve_cassandra(d, c));
    let quotas = optional(d, raw.quotas, "quotas", "a [quotas] table, e.g. aws_vpcs_per_region = 10")
        .map(|table| table.value)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(name, field)| {
            let key = format!("quotas.{name}");
            Some((name, optional(d, field, &key, "a positive whole number, e.g. 10")?))
        })
        .collect();
    Partial { deployment, state, mesh, mesh_given, dns, clusters, cassandra, quotas }
}

/// Whether an Azure cluster needs a VPN gateway (and so a `GatewaySubnet`): for a VPN-gateway
/// mesh between Azure clusters, or for the cross-cloud VPN.
pub(crate) fn gateway_needed(azure_mesh: AzureMesh, aws: usize, azure: usize) -> bool {
    (azure_mesh == AzureMesh::VpnGateway && azure >= 2) || (aws >= 1 && azure >= 1)
}

fn resolve_mesh(d: &mut Vec<Diagnostic>, field: Field<RawMesh>) -> (Mesh, MeshGiven) {
    let table = optional(d, field, "mesh", "mesh = { aws = \"vpc-peering\" }");
    let span = table.as_ref().map_or(0..0, |t| t.span.clone());
    let raw = table.map(|t| t.value).unwrap_or_default();
    let given = MeshGiven {
        aws: raw.aws.span(),
        azure: raw.azure.span(),
        cross_cloud: raw.cross_cloud.span(),
        azure_gateway_sku: raw.azure_gateway_sku.span(),
        aws_rules_per_security_group: raw.aws_rules_per_security_group.span(),
    };
    let aws = optional(d, raw.aws, "mesh.aws", "aws = \"vpc-peering\"").map_or(AwsMesh::VpcPeering, |v| v.value.into());
    let azure = optional(d, raw.azure, "mesh.azure", "azure = \"vpn-gateway\"")
        .map_or(AzureMesh::VpnGateway, |v| v.value.into());
    let _ = optional(d, raw.cross_cloud, "mesh.cross_cloud", "cross_cloud = \"vpn\"");
    let sku = default_string(
        d,
        raw.azure_gateway_sku,
        "mesh.azure_gateway_sku",
        "azure_gateway_sku = \"VpnGw1AZ\"",
        &span,
        "VpnGw1AZ",
    );
    let rules = count_field(
        d,
        raw.aws_rules_per_security_group,
        "mesh.aws_rules_per_security_group",
        &span,
        "aws_rules_per_security_group = 120",
        AWS_DEFAULT_RULES_PER_SECURITY_GROUP,
    )
    .unwrap_or_else(|| Spanned::new(AWS_DEFAULT_RULES_PER_SECURITY_GROUP, span.clone()));
    if rules.value > 1000 {
        d.push(
            Diagnostic::new(
                rules.span.clone(),
                "mesh.aws_rules_per_security_group",
                format!("aws_rules_per_security_group = {} is more than AWS allows", rules.value),
            )
            .hint("AWS caps the quota at 1000 (rules per security group × security groups per network interface)"),
        );
    }
    let at = |given: &Option<Span>| given.clone().unwrap_or_else(|| span.clone());
    let mesh = Mesh {
        aws: Spanned::new(aws, at(&given.aws)),
        azure: Spanned::new(azure, at(&given.azure)),
        cross_cloud: Spanned::new(CrossCloudMesh::Vpn, at(&given.cross_cloud)),
        azure_gateway_sku: sku,
        aws_rules_per_security_group: rules,
    };
    (mesh, given)
}

fn resolve_dns(d: &mut Vec<Diagnostic>, field: Field<RawDns>) -> Dns {
    let table = optional(d, field, "dns", "dns = { mode = \"none\" }");
    let span = table.as_ref().map_or(0..0, |t| t.span.clone());
    let raw = table.map(|t| t.value).unwrap_or_default();
    let mode = optional(d, raw.mode, "dns.mode", "mode = \"coredns-stubs\"")
        .map_or_else(|| Spanned::new(DnsMode::None, span), |m| Spanned::new(m.value.into(), m.span));
    Dns { mode }
}
