//! VPCs (with secondary CIDR blocks and DNS hostnames), subnets and internet gateways.

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, InternetGateway, InternetGatewayAttachment, ResourceType, Subnet, VpcAttributeName,
};
use ringform_core::provider::{Applied, ProviderResult};
use ringform_core::{Inputs, Value};
use ringform_schema::aws;

use super::{all, delete_when_free, listed, made, opt, rename, rename_only};
use crate::attrs::attributes;
use crate::context::{Ctx, Object};
use crate::errors::ApiError;
use crate::kinds::{Change, Lookup, Spec};
use crate::tags::filter;

pub(crate) static VPC: Spec = Spec {
    kind: aws::VPC,
    lookup: Lookup::Tagged(|ec2, filters| Box::pin(describe_vpcs(ec2, filters))),
    create: |ctx, inputs| Box::pin(create_vpc(ctx, inputs)),
    settle: |ctx, inputs, vpc| Box::pin(settle_vpc(ctx, inputs, vpc)),
    update: |ctx, change| Box::pin(update_vpc(ctx, change)),
    delete: |ctx, _, id| Box::pin(delete_vpc(ctx, id)),
};

pub(crate) static SUBNET: Spec = Spec {
    kind: aws::SUBNET,
    lookup: Lookup::Tagged(|ec2, filters| Box::pin(describe_subnets(ec2, filters))),
    create: |ctx, inputs| Box::pin(create_subnet(ctx, inputs)),
    settle: |ctx, inputs, subnet| Box::pin(settle_subnet(ctx, inputs, subnet)),
    update: |ctx, change| Box::pin(update_subnet(ctx, change)),
    delete: |ctx, _, id| Box::pin(delete_subnet(ctx, id)),
};

pub(crate) static INTERNET_GATEWAY: Spec = Spec {
    kind: aws::INTERNET_GATEWAY,
    lookup: Lookup::Tagged(|ec2, filters| Box::pin(describe_internet_gateways(ec2, filters))),
    create: |ctx, inputs| Box::pin(create_internet_gateway(ctx, inputs)),
    settle: |ctx, inputs, gateway| Box::pin(attach_internet_gateway(ctx, inputs, gateway)),
    update: rename_only,
    delete: |ctx, _, id| Box::pin(delete_internet_gateway(ctx, id)),
};

async fn create_vpc(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Object> {
    let tags = ctx.ec2_tags(ResourceType::Vpc, inputs.address, inputs.opt_str("name")?);
    let request = ctx.ec2().create_vpc().cidr_block(inputs.str("cidr_block")?).tag_specifications(tags);
    let out = request.send().await.map_err(ctx.fail("creating the VPC"))?;
    made(ctx, "the VPC", out.vpc().and_then(|v| v.vpc_id()))
}

async fn settle_vpc(ctx: &Ctx<'_>, inputs: Inputs<'_>, vpc: Object) -> ProviderResult<Applied> {
    configure_vpc(ctx, inputs, &vpc.id).await?;
    Ok(vpc.applied())
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

async fn update_vpc(ctx: &Ctx<'_>, change: Change<'_>) -> ProviderResult<Applied> {
    change.only(&["name", "secondary_cidr_blocks", "enable_dns_hostnames"])?;
    rename(ctx, &change).await?;
    configure_vpc(ctx, change.after, change.id).await?;
    Ok(Object::new(change.id).applied())
}

/// VPCs with their CIDR blocks and DNS hostnames setting. DescribeVpcs does not return the
/// DNS attributes, so this costs one DescribeVpcAttribute per VPC (one VPC per cluster).
async fn describe_vpcs(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<Object>, ApiError> {
    let vpcs = all(ec2.describe_vpcs().set_filters(Some(filters)).into_paginator().items().send()).await?;
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
        let observed = attributes([
            ("cidr_block", primary.into()),
            ("secondary_cidr_blocks", Value::List(secondary)),
            ("enable_dns_hostnames", dns.into()),
        ]);
        objects.push(Object::tagged(id, vpc.tags(), observed).named());
    }
    Ok(objects)
}

async fn delete_vpc(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let ec2 = ctx.ec2();
    delete_when_free(ctx, &format!("VPC {id}"), || ec2.delete_vpc().vpc_id(id).send(), || vpc_blockers(ec2, id)).await
}

/// Everything inside VPC `id` that keeps it from being deleted, as "id (what)".
async fn vpc_blockers(ec2: &Client, id: &str) -> Result<Vec<String>, ApiError> {
    let in_vpc = || vec![filter("vpc-id", [id])];
    let mut found = interfaces(ec2, in_vpc()).await?;
    for subnet in all(ec2.describe_subnets().set_filters(Some(in_vpc())).into_paginator().items().send()).await? {
        found.push(format!("{} (subnet {})", subnet.subnet_id().unwrap_or("?"), subnet.cidr_block().unwrap_or("?")));
    }
    let groups = all(ec2.describe_security_groups().set_filters(Some(in_vpc())).into_paginator().items().send());
    for group in groups.await?.iter().filter(|g| g.group_name() != Some("default")) {
        let (group_id, name) = (group.group_id().unwrap_or("?"), group.group_name().unwrap_or("?"));
        found.push(format!("{group_id} (security group {name})"));
    }
    let attached = filter("attachment.vpc-id", [id]);
    let gateways = all(ec2.describe_internet_gateways().filters(attached.clone()).into_paginator().items().send());
    for gateway in gateways.await? {
        found.push(format!("{} (internet gateway)", gateway.internet_gateway_id().unwrap_or("?")));
    }
    let tables = all(ec2.describe_route_tables().set_filters(Some(in_vpc())).into_paginator().items().send());
    for table in tables.await?.iter().filter(|t| !t.associations().iter().any(|a| a.main() == Some(true))) {
        found.push(format!("{} (route table)", table.route_table_id().unwrap_or("?")));
    }
    let live = filter("status-code", ["active", "pending-acceptance", "provisioning"]);
    for side in ["requester-vpc-info.vpc-id", "accepter-vpc-info.vpc-id"] {
        let peerings = ec2.describe_vpc_peering_connections().filters(filter(side, [id])).filters(live.clone());
        for peering in all(peerings.into_paginator().items().send()).await? {
            found.push(format!("{} (VPC peering)", peering.vpc_peering_connection_id().unwrap_or("?")));
        }
    }
    let endpoints = all(ec2.describe_vpc_endpoints().set_filters(Some(in_vpc())).into_paginator().items().send());
    for endpoint in endpoints.await? {
        let (endpoint_id, service) =
            (endpoint.vpc_endpoint_id().unwrap_or("?"), endpoint.service_name().unwrap_or("?"));
        found.push(format!("{endpoint_id} (VPC endpoint {service})"));
    }
    let nats = all(ec2.describe_nat_gateways().filter(filter("vpc-id", [id])).into_paginator().items().send());
    for nat in nats.await?.iter().filter(|n| n.state().is_some_and(|s| s.as_str() != "deleted")) {
        found.push(format!("{} (NAT gateway)", nat.nat_gateway_id().unwrap_or("?")));
    }
    let vpn = ec2.describe_vpn_gateways().filters(attached).send().await?;
    for gateway in vpn.vpn_gateways() {
        let attachments = gateway.vpc_attachments();
        if attachments.iter().any(|a| a.vpc_id() == Some(id) && a.state().is_some_and(|s| s.as_str() != "detached")) {
            found.push(format!("{} (VPN gateway)", gateway.vpn_gateway_id().unwrap_or("?")));
        }
    }
    Ok(found)
}

/// The network interfaces `filters` select, as "id (what)".
pub(super) async fn interfaces(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<String>, ApiError> {
    let enis =
        all(ec2.describe_network_interfaces().set_filters(Some(filters)).into_paginator().items().send()).await?;
    Ok(enis
        .iter()
        .map(|eni| {
            let what = eni.description().filter(|d| !d.is_empty()).unwrap_or("network interface");
            format!("{} ({what})", eni.network_interface_id().unwrap_or("?"))
        })
        .collect())
}

async fn create_subnet(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Object> {
    let tags = ctx.ec2_tags(ResourceType::Subnet, inputs.address, inputs.opt_str("name")?);
    let request = ctx.ec2().create_subnet().vpc_id(inputs.str("vpc_id")?).cidr_block(inputs.str("cidr_block")?);
    let request = request.set_availability_zone(inputs.opt_str("availability_zone")?.map(str::to_owned));
    let out = request.tag_specifications(tags).send().await.map_err(ctx.fail("creating the subnet"))?;
    made(ctx, "the subnet", out.subnet().and_then(|s| s.subnet_id()))
}

async fn settle_subnet(ctx: &Ctx<'_>, inputs: Inputs<'_>, subnet: Object) -> ProviderResult<Applied> {
    set_public_ips(ctx, inputs, &subnet.id).await?;
    Ok(subnet.applied())
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

async fn update_subnet(ctx: &Ctx<'_>, change: Change<'_>) -> ProviderResult<Applied> {
    change.only(&["name", "map_public_ip_on_launch"])?;
    rename(ctx, &change).await?;
    set_public_ips(ctx, change.after, change.id).await?;
    Ok(Object::new(change.id).applied())
}

async fn describe_subnets(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<Object>, ApiError> {
    listed(ec2.describe_subnets().set_filters(Some(filters)).into_paginator().items().send(), subnet_object).await
}

fn subnet_object(subnet: &Subnet) -> Option<Object> {
    let observed = attributes([
        ("vpc_id", opt(subnet.vpc_id())),
        ("cidr_block", opt(subnet.cidr_block())),
        ("availability_zone", opt(subnet.availability_zone())),
        ("map_public_ip_on_launch", subnet.map_public_ip_on_launch().unwrap_or(false).into()),
    ]);
    Some(Object::tagged(subnet.subnet_id()?, subnet.tags(), observed).named())
}

async fn delete_subnet(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let ec2 = ctx.ec2();
    let delete = || ec2.delete_subnet().subnet_id(id).send();
    delete_when_free(ctx, &format!("subnet {id}"), delete, || interfaces(ec2, vec![filter("subnet-id", [id])])).await
}

async fn create_internet_gateway(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Object> {
    let tags = ctx.ec2_tags(ResourceType::InternetGateway, inputs.address, inputs.opt_str("name")?);
    let out = ctx.ec2().create_internet_gateway().tag_specifications(tags).send().await;
    let out = out.map_err(ctx.fail("creating the internet gateway"))?;
    made(ctx, "the internet gateway", out.internet_gateway().and_then(|g| g.internet_gateway_id()))
}

/// Attaches a new gateway, or an adopted one that is not attached to the VPC yet.
async fn attach_internet_gateway(ctx: &Ctx<'_>, inputs: Inputs<'_>, gateway: Object) -> ProviderResult<Applied> {
    let vpc = inputs.str("vpc_id")?;
    if !gateway.reports("vpc_id", vpc) {
        let request = ctx.ec2().attach_internet_gateway().internet_gateway_id(&gateway.id).vpc_id(vpc);
        request.send().await.map_err(ctx.fail(&format!("attaching internet gateway {} to {vpc}", gateway.id)))?;
    }
    Ok(gateway.applied())
}

async fn describe_internet_gateways(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<Object>, ApiError> {
    let pages = ec2.describe_internet_gateways().set_filters(Some(filters)).into_paginator();
    listed(pages.items().send(), internet_gateway_object).await
}

fn internet_gateway_object(gateway: &InternetGateway) -> Option<Object> {
    let attached = |a: &&InternetGatewayAttachment| {
        a.state().is_some_and(|s| matches!(s.as_str(), "available" | "attached" | "attaching"))
    };
    let vpc = gateway.attachments().iter().find(attached).and_then(|a| a.vpc_id());
    Some(Object::tagged(gateway.internet_gateway_id()?, gateway.tags(), attributes([("vpc_id", opt(vpc))])).named())
}

/// Detaches the gateway from its VPC (AWS refuses to delete an attached one), then deletes it.
async fn delete_internet_gateway(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let ec2 = ctx.ec2();
    let detach_and_delete = || async {
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
    };
    // Detaching fails while instances in the VPC still have public addresses.
    let blockers = || async {
        Ok(vec![format!(
            "public IP addresses still mapped in the VPC of {id} (instances, NAT gateways, load balancers)"
        )])
    };
    delete_when_free(ctx, &format!("internet gateway {id}"), detach_and_delete, blockers).await
}
