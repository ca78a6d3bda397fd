//! VPCs (with secondary CIDR blocks and DNS hostnames), subnets and internet gateways.

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{AttributeBooleanValue, Filter, ResourceType, VpcAttributeName};
use ringform_core::Value;
use ringform_core::provider::{Applied, ProviderResult};

use super::{delete_when_free, find_tagged, id_output, named, opt};
use crate::attrs::{Inputs, attributes, only_updatable};
use crate::context::{Ctx, Object};
use crate::errors::ApiError;
use crate::tags::{self, filter};

/// Turns the id a create returned into a result: AWS always returns one.
pub(super) fn created(ctx: &Ctx<'_>, what: &str, id: Option<&str>) -> ProviderResult<String> {
    id.map(str::to_owned)
        .ok_or_else(|| ctx.fail(&format!("creating {what}"))(ApiError::malformed(&format!("{what} id"))))
}

pub(super) async fn create_vpc(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Applied> {
    let id = match find_tagged(ctx, inputs.address).await? {
        Some(existing) => existing.id,
        None => {
            let spec = tags::ec2_spec(ResourceType::Vpc, &ctx.tags(inputs.address, inputs.opt_str("name")?));
            let out = ctx
                .ec2()
                .create_vpc()
                .cidr_block(inputs.str("cidr_block")?)
                .tag_specifications(spec)
                .send()
                .await
                .map_err(ctx.fail("creating the VPC"))?;
            created(ctx, "the VPC", out.vpc().and_then(|v| v.vpc_id()))?
        }
    };
    configure_vpc(ctx, inputs, &id).await?;
    Ok(Applied { provider_id: id.clone(), outputs: id_output(&id) })
}

/// Makes DNS hostnames and the secondary CIDR blocks what `inputs` say. Idempotent.
async fn configure_vpc(ctx: &Ctx<'_>, inputs: Inputs<'_>, id: &str) -> ProviderResult<()> {
    let ec2 = ctx.ec2();
    if let Some(enabled) = inputs.opt_bool("enable_dns_hostnames")? {
        ec2.modify_vpc_attribute()
            .vpc_id(id)
            .enable_dns_hostnames(AttributeBooleanValue::builder().value(enabled).build())
            .send()
            .await
            .map_err(ctx.fail("setting DNS hostnames on the VPC"))?;
    }
    let wanted = inputs.strings("secondary_cidr_blocks")?;
    let out = ec2.describe_vpcs().vpc_ids(id).send().await.map_err(ctx.fail("looking at the VPC"))?;
    let Some(vpc) = out.vpcs().first() else {
        return Err(ctx.fail("looking at the VPC")(ApiError::new(
            Some("InvalidVpcID.NotFound"),
            format!("{id} is not visible yet"),
            None,
        )));
    };
    let primary = vpc.cidr_block().unwrap_or_default();
    let current: Vec<(&str, &str)> = vpc
        .cidr_block_association_set()
        .iter()
        .filter(|a| {
            a.cidr_block_state()
                .and_then(|s| s.state())
                .is_some_and(|s| matches!(s.as_str(), "associated" | "associating"))
        })
        .filter_map(|a| Some((a.cidr_block()?, a.association_id()?)))
        .filter(|(cidr, _)| *cidr != primary)
        .collect();
    for cidr in wanted.iter().filter(|w| !current.iter().any(|(c, _)| c == w)) {
        ec2.associate_vpc_cidr_block()
            .vpc_id(id)
            .cidr_block(cidr)
            .send()
            .await
            .map_err(ctx.fail(&format!("adding CIDR block {cidr} to the VPC")))?;
    }
    for (cidr, association) in current.iter().filter(|(c, _)| !wanted.iter().any(|w| w == c)) {
        ec2.disassociate_vpc_cidr_block()
            .association_id(*association)
            .send()
            .await
            .map_err(ctx.fail(&format!("removing CIDR block {cidr} from the VPC")))?;
    }
    Ok(())
}

pub(super) async fn update_vpc(
    ctx: &Ctx<'_>,
    after: Inputs<'_>,
    id: &str,
    changed: &[String],
) -> ProviderResult<Applied> {
    only_updatable(after.address, changed, &["name", "secondary_cidr_blocks", "enable_dns_hostnames"])?;
    if changed.iter().any(|c| c == "name") {
        tags::ec2_set_name(ctx.ec2(), id, after.opt_str("name")?).await.map_err(ctx.fail("renaming the VPC"))?;
    }
    configure_vpc(ctx, after, id).await?;
    Ok(Applied { provider_id: id.to_owned(), outputs: id_output(id) })
}

/// VPCs with their CIDR blocks and DNS hostnames setting. DescribeVpcs does not return the
/// DNS attributes, so this costs one DescribeVpcAttribute per VPC (one VPC per cluster).
pub(super) async fn describe_vpcs(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<Object>, ApiError> {
    let vpcs = ec2
        .describe_vpcs()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await?;
    let mut objects = Vec::new();
    for vpc in vpcs {
        let Some(id) = vpc.vpc_id() else { continue };
        let primary = vpc.cidr_block().unwrap_or_default();
        let secondary: Vec<Value> = vpc
            .cidr_block_association_set()
            .iter()
            .filter(|a| a.cidr_block_state().and_then(|s| s.state()).is_some_and(|s| s.as_str() == "associated"))
            .filter_map(|a| a.cidr_block())
            .filter(|c| *c != primary)
            .map(Value::from)
            .collect();
        let dns =
            ec2.describe_vpc_attribute().vpc_id(id).attribute(VpcAttributeName::EnableDnsHostnames).send().await?;
        let dns = dns.enable_dns_hostnames().and_then(|a| a.value()).unwrap_or(false);
        let tags = tags::ec2_map(vpc.tags());
        let observed = named(
            &tags,
            attributes([
                ("cidr_block", primary.into()),
                ("secondary_cidr_blocks", Value::List(secondary)),
                ("enable_dns_hostnames", dns.into()),
            ]),
        );
        objects.push(Object { id: id.to_owned(), tags, observed, outputs: id_output(id) });
    }
    Ok(objects)
}

pub(super) async fn delete_vpc(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let ec2 = ctx.ec2();
    delete_when_free(
        ctx,
        &format!("VPC {id}"),
        || async {
            ec2.delete_vpc().vpc_id(id).send().await?;
            Ok(())
        },
        || vpc_blockers(ec2, id),
    )
    .await
}

/// Everything inside VPC `id` that keeps it from being deleted, as "id (what)".
async fn vpc_blockers(ec2: &Client, id: &str) -> Result<Vec<String>, ApiError> {
    let in_vpc = || vec![filter("vpc-id", [id])];
    let mut found = Vec::new();
    let enis = ec2.describe_network_interfaces().set_filters(Some(in_vpc())).into_paginator().items().send();
    for eni in enis.collect::<Result<Vec<_>, _>>().await? {
        let what = eni.description().filter(|d| !d.is_empty()).unwrap_or("network interface");
        found.push(format!("{} ({what})", eni.network_interface_id().unwrap_or("?")));
    }
    let subnets = ec2.describe_subnets().set_filters(Some(in_vpc())).into_paginator().items().send();
    for subnet in subnets.collect::<Result<Vec<_>, _>>().await? {
        found.push(format!("{} (subnet {})", subnet.subnet_id().unwrap_or("?"), subnet.cidr_block().unwrap_or("?")));
    }
    let groups = ec2.describe_security_groups().set_filters(Some(in_vpc())).into_paginator().items().send();
    for group in groups.collect::<Result<Vec<_>, _>>().await? {
        if group.group_name() != Some("default") {
            found.push(format!(
                "{} (security group {})",
                group.group_id().unwrap_or("?"),
                group.group_name().unwrap_or("?")
            ));
        }
    }
    let gateways =
        ec2.describe_internet_gateways().filters(filter("attachment.vpc-id", [id])).into_paginator().items().send();
    for gateway in gateways.collect::<Result<Vec<_>, _>>().await? {
        found.push(format!("{} (internet gateway)", gateway.internet_gateway_id().unwrap_or("?")));
    }
    let tables = ec2.describe_route_tables().set_filters(Some(in_vpc())).into_paginator().items().send();
    for table in tables.collect::<Result<Vec<_>, _>>().await? {
        if !table.associations().iter().any(|a| a.main() == Some(true)) {
            found.push(format!("{} (route table)", table.route_table_id().unwrap_or("?")));
        }
    }
    for side in ["requester-vpc-info.vpc-id", "accepter-vpc-info.vpc-id"] {
        let peerings = ec2
            .describe_vpc_peering_connections()
            .filters(filter(side, [id]))
            .filters(filter("status-code", ["active", "pending-acceptance", "provisioning"]))
            .into_paginator()
            .items()
            .send();
        for peering in peerings.collect::<Result<Vec<_>, _>>().await? {
            found.push(format!("{} (VPC peering)", peering.vpc_peering_connection_id().unwrap_or("?")));
        }
    }
    let endpoints = ec2.describe_vpc_endpoints().set_filters(Some(in_vpc())).into_paginator().items().send();
    for endpoint in endpoints.collect::<Result<Vec<_>, _>>().await? {
        found.push(format!(
            "{} (VPC endpoint {})",
            endpoint.vpc_endpoint_id().unwrap_or("?"),
            endpoint.service_name().unwrap_or("?")
        ));
    }
    let nats = ec2.describe_nat_gateways().filter(filter("vpc-id", [id])).into_paginator().items().send();
    for nat in nats.collect::<Result<Vec<_>, _>>().await? {
        if nat.state().is_some_and(|s| s.as_str() != "deleted") {
            found.push(format!("{} (NAT gateway)", nat.nat_gateway_id().unwrap_or("?")));
        }
    }
    let vpn = ec2.describe_vpn_gateways().filters(filter("attachment.vpc-id", [id])).send().await?;
    for gateway in vpn.vpn_gateways() {
        if gateway
            .vpc_attachments()
            .iter()
            .any(|a| a.vpc_id() == Some(id) && a.state().is_some_and(|s| s.as_str() != "detached"))
        {
            found.push(format!("{} (VPN gateway)", gateway.vpn_gateway_id().unwrap_or("?")));
        }
    }
    Ok(found)
}

pub(super) async fn create_subnet(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Applied> {
    let id = match find_tagged(ctx, inputs.address).await? {
        Some(existing) => existing.id,
        None => {
            let spec = tags::ec2_spec(ResourceType::Subnet, &ctx.tags(inputs.address, inputs.opt_str("name")?));
            let out = ctx
                .ec2()
                .create_subnet()
                .vpc_id(inputs.str("vpc_id")?)
                .cidr_block(inputs.str("cidr_block")?)
                .set_availability_zone(inputs.opt_str("availability_zone")?.map(str::to_owned))
                .tag_specifications(spec)
                .send()
                .await
                .map_err(ctx.fail("creating the subnet"))?;
            created(ctx, "the subnet", out.subnet().and_then(|s| s.subnet_id()))?
        }
    };
    set_public_ips(ctx, inputs, &id).await?;
    Ok(Applied { provider_id: id.clone(), outputs: id_output(&id) })
}

async fn set_public_ips(ctx: &Ctx<'_>, inputs: Inputs<'_>, id: &str) -> ProviderResult<()> {
    if let Some(public) = inputs.opt_bool("map_public_ip_on_launch")? {
        ctx.ec2()
            .modify_subnet_attribute()
            .subnet_id(id)
            .map_public_ip_on_launch(AttributeBooleanValue::builder().value(public).build())
            .send()
            .await
            .map_err(ctx.fail("setting map_public_ip_on_launch on the subnet"))?;
    }
    Ok(())
}

pub(super) async fn update_subnet(
    ctx: &Ctx<'_>,
    after: Inputs<'_>,
    id: &str,
    changed: &[String],
) -> ProviderResult<Applied> {
    only_updatable(after.address, changed, &["name", "map_public_ip_on_launch"])?;
    if changed.iter().any(|c| c == "name") {
        tags::ec2_set_name(ctx.ec2(), id, after.opt_str("name")?).await.map_err(ctx.fail("renaming the subnet"))?;
    }
    set_public_ips(ctx, after, id).await?;
    Ok(Applied { provider_id: id.to_owned(), outputs: id_output(id) })
}

pub(super) async fn describe_subnets(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<Object>, ApiError> {
    let subnets = ec2.describe_subnets().set_filters(Some(filters)).into_paginator().items().send();
    let subnets = subnets.collect::<Result<Vec<_>, _>>().await?;
    Ok(subnets
        .into_iter()
        .filter_map(|subnet| {
            let id = subnet.subnet_id()?;
            let tags = tags::ec2_map(subnet.tags());
            let observed = named(
                &tags,
                attributes([
                    ("vpc_id", opt(subnet.vpc_id())),
                    ("cidr_block", opt(subnet.cidr_block())),
                    ("availability_zone", opt(subnet.availability_zone())),
                    ("map_public_ip_on_launch", subnet.map_public_ip_on_launch().unwrap_or(false).into()),
                ]),
            );
            Some(Object { id: id.to_owned(), tags, observed, outputs: id_output(id) })
        })
        .collect())
}

pub(super) async fn delete_subnet(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let ec2 = ctx.ec2();
    delete_when_free(
        ctx,
        &format!("subnet {id}"),
        || async {
            ec2.delete_subnet().subnet_id(id).send().await?;
            Ok(())
        },
        || async {
            let enis =
                ec2.describe_network_interfaces().filters(filter("subnet-id", [id])).into_paginator().items().send();
            let enis = enis.collect::<Result<Vec<_>, _>>().await?;
            Ok(enis
                .iter()
                .map(|eni| {
                    let what = eni.description().filter(|d| !d.is_empty()).unwrap_or("network interface");
                    format!("{} ({what})", eni.network_interface_id().unwrap_or("?"))
                })
                .collect())
        },
    )
    .await
}

pub(super) async fn create_internet_gateway(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Applied> {
    let vpc_id = inputs.str("vpc_id")?;
    let (id, attached) = match find_tagged(ctx, inputs.address).await? {
        Some(existing) => {
            let attached = existing.observed.get("vpc_id").and_then(Value::as_str).map(str::to_owned);
            (existing.id, attached)
        }
        None => {
            let spec =
                tags::ec2_spec(ResourceType::InternetGateway, &ctx.tags(inputs.address, inputs.opt_str("name")?));
            let out = ctx
                .ec2()
                .create_internet_gateway()
                .tag_specifications(spec)
                .send()
                .await
                .map_err(ctx.fail("creating the internet gateway"))?;
            (created(ctx, "the internet gateway", out.internet_gateway().and_then(|g| g.internet_gateway_id()))?, None)
        }
    };
    if attached.as_deref() != Some(vpc_id) {
        ctx.ec2()
            .attach_internet_gateway()
            .internet_gateway_id(&id)
            .vpc_id(vpc_id)
            .send()
            .await
            .map_err(ctx.fail(&format!("attaching internet gateway {id} to {vpc_id}")))?;
    }
    Ok(Applied { provider_id: id.clone(), outputs: id_output(&id) })
}

pub(super) async fn describe_internet_gateways(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<Object>, ApiError> {
    let gateways = ec2.describe_internet_gateways().set_filters(Some(filters)).into_paginator().items().send();
    let gateways = gateways.collect::<Result<Vec<_>, _>>().await?;
    Ok(gateways
        .into_iter()
        .filter_map(|gateway| {
            let id = gateway.internet_gateway_id()?;
            let tags = tags::ec2_map(gateway.tags());
            let vpc = gateway
                .attachments()
                .iter()
                .find(|a| a.state().is_some_and(|s| matches!(s.as_str(), "available" | "attached" | "attaching")))
                .and_then(|a| a.vpc_id());
            let observed = named(&tags, attributes([("vpc_id", opt(vpc))]));
            Some(Object { id: id.to_owned(), tags, observed, outputs: id_output(id) })
        })
        .collect())
}

/// Detaches the gateway from its VPC (AWS refuses to delete an attached one), then deletes it.
pub(super) async fn delete_internet_gateway(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let ec2 = ctx.ec2();
    delete_when_free(
        ctx,
        &format!("internet gateway {id}"),
        || async {
            let out = ec2.describe_internet_gateways().internet_gateway_ids(id).send().await?;
            for vpc in out.internet_gateways().iter().flat_map(|g| g.attachments()).filter_map(|a| a.vpc_id()) {
                let detached = ec2.detach_internet_gateway().internet_gateway_id(id).vpc_id(vpc).send().await;
                if let Err(error) = detached.map_err(ApiError::from)
                    && error.code() != "Gateway.NotAttached"
                {
                    return Err(error);
                }
            }
            ec2.delete_internet_gateway().internet_gateway_id(id).send().await?;
            Ok(())
        },
        // Detaching fails while instances in the VPC still have public addresses.
        || async {
            Ok(vec![format!(
                "public IP addresses still mapped in the VPC of {id} (instances, NAT gateways, load balancers)"
            )])
        },
    )
    .await
}
