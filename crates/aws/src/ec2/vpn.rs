//! Site-to-site VPN: a virtual private gateway attached to the VPC, a customer gateway at the
//! remote side's public address, and a VPN connection with static routes and a preshared key
//! (a secret: it goes to AWS and nowhere else, and AWS never returns it).

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    CustomerGateway, Filter, GatewayType, ResourceType, VpcAttachment, VpnConnection,
    VpnConnectionOptionsSpecification, VpnGateway, VpnTunnelOptionsSpecification,
};
use ringform_core::provider::{Applied, ProviderError, ProviderResult};
use ringform_core::{Attributes, Inputs, Value};
use ringform_schema::aws;

use super::{deleted, made, opt, rename, rename_only};
use crate::attrs::attributes;
use crate::context::{Ctx, Object};
use crate::errors::ApiError;
use crate::kinds::{Change, Lookup, Spec, ready};
use crate::wait::{self, Poll};

pub(crate) static VPN_GATEWAY: Spec = Spec {
    kind: aws::VPN_GATEWAY,
    lookup: Lookup::Tagged(|ec2, filters| Box::pin(describe_vpn_gateways(ec2, filters))),
    create: |ctx, inputs| Box::pin(create_vpn_gateway(ctx, inputs)),
    settle: |ctx, inputs, gateway| Box::pin(attach_vpn_gateway(ctx, inputs, gateway)),
    update: rename_only,
    delete: |ctx, _, id| Box::pin(delete_vpn_gateway(ctx, id)),
};

pub(crate) static CUSTOMER_GATEWAY: Spec = Spec {
    kind: aws::CUSTOMER_GATEWAY,
    lookup: Lookup::Tagged(|ec2, filters| Box::pin(describe_customer_gateways(ec2, filters))),
    create: |ctx, inputs| Box::pin(create_customer_gateway(ctx, inputs)),
    settle: ready,
    update: rename_only,
    delete: |ctx, _, id| Box::pin(delete_customer_gateway(ctx, id)),
};

pub(crate) static CONNECTION: Spec = Spec {
    kind: aws::VPN_CONNECTION,
    lookup: Lookup::Tagged(|ec2, filters| Box::pin(describe_connections(ec2, filters))),
    create: |ctx, inputs| Box::pin(create_connection(ctx, inputs)),
    settle: |ctx, inputs, connection| Box::pin(settle_connection(ctx, inputs, connection)),
    update: |ctx, change| Box::pin(update_connection(ctx, change)),
    delete: |ctx, _, id| Box::pin(delete_connection(ctx, id)),
};

fn ended(state: Option<&str>) -> bool {
    matches!(state, Some("deleted" | "deleting"))
}

async fn create_vpn_gateway(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Object> {
    let tags = ctx.ec2_tags(ResourceType::VpnGateway, inputs.address, inputs.opt_str("name")?);
    let out = ctx.ec2().create_vpn_gateway().r#type(GatewayType::Ipsec1).tag_specifications(tags).send().await;
    let out = out.map_err(ctx.fail("creating the VPN gateway"))?;
    made(ctx, "the VPN gateway", out.vpn_gateway().and_then(|g| g.vpn_gateway_id()))
}

/// Attaches a new gateway, or an adopted one that is not attached to the VPC yet, and waits
/// until it is.
async fn attach_vpn_gateway(ctx: &Ctx<'_>, inputs: Inputs<'_>, gateway: Object) -> ProviderResult<Applied> {
    let (id, vpc) = (gateway.id.as_str(), inputs.str("vpc_id")?);
    if !gateway.reports("vpc_id", vpc) {
        let request = ctx.ec2().attach_vpn_gateway().vpn_gateway_id(id).vpc_id(vpc);
        request.send().await.map_err(ctx.fail(&format!("attaching VPN gateway {id} to {vpc}")))?;
    }
    wait_attachment(ctx, id, vpc, "attached").await?;
    Ok(gateway.applied())
}

/// Waits until the gateway's attachment to `vpc` is in `state` ("detached" also when it is gone).
async fn wait_attachment(ctx: &Ctx<'_>, id: &str, vpc: &str, state: &str) -> ProviderResult<()> {
    let what = format!("VPN gateway {id} to be {state} to {vpc}");
    wait::until(ctx.settings.poll_interval, ctx.settings.vpn_timeout, &what, || async {
        let out = ctx.ec2().describe_vpn_gateways().vpn_gateway_ids(id).send().await.map_err(ApiError::from);
        let out = match out {
            Err(error) if error.is_not_found() && state == "detached" => return Ok(Poll::Ready(())),
            other => other.map_err(ctx.fail(&format!("looking at VPN gateway {id}")))?,
        };
        let current = out
            .vpn_gateways()
            .iter()
            .flat_map(|g| g.vpc_attachments())
            .find(|a| a.vpc_id() == Some(vpc))
            .and_then(|a| a.state())
            .map_or("detached", |s| s.as_str())
            .to_owned();
        Ok(if current == state { Poll::Ready(()) } else { Poll::Pending(current) })
    })
    .await
}

async fn describe_vpn_gateways(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<Object>, ApiError> {
    let out = ec2.describe_vpn_gateways().set_filters(Some(filters)).send().await?;
    let live = out.vpn_gateways().iter().filter(|g| !ended(g.state().map(|s| s.as_str())));
    Ok(live.filter_map(vpn_gateway_object).collect())
}

fn vpn_gateway_object(gateway: &VpnGateway) -> Option<Object> {
    let attaching = |a: &&VpcAttachment| a.state().is_some_and(|s| matches!(s.as_str(), "attached" | "attaching"));
    let vpc = gateway.vpc_attachments().iter().find(attaching).and_then(|a| a.vpc_id());
    Some(Object::tagged(gateway.vpn_gateway_id()?, gateway.tags(), attributes([("vpc_id", opt(vpc))])).named())
}

/// Detaches the gateway from its VPC and waits for that (AWS refuses to delete an attached
/// gateway), then deletes it.
async fn delete_vpn_gateway(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let ec2 = ctx.ec2();
    let out = match ec2.describe_vpn_gateways().vpn_gateway_ids(id).send().await.map_err(ApiError::from) {
        Err(error) if error.is_not_found() => return Ok(()),
        other => other.map_err(ctx.fail("looking at the VPN gateway"))?,
    };
    let attached: Vec<String> = out
        .vpn_gateways()
        .iter()
        .flat_map(|g| g.vpc_attachments())
        .filter(|a| a.state().is_some_and(|s| matches!(s.as_str(), "attached" | "attaching")))
        .filter_map(|a| a.vpc_id().map(str::to_owned))
        .collect();
    for vpc in &attached {
        match ec2.detach_vpn_gateway().vpn_gateway_id(id).vpc_id(vpc).send().await.map_err(ApiError::from) {
            Err(error) if !error.is_not_found() && error.code() != "InvalidVpnGatewayAttachment.NotFound" => {
                return Err(ctx.fail(&format!("detaching the VPN gateway from {vpc}"))(error));
            }
            _ => {}
        }
        wait_attachment(ctx, id, vpc, "detached").await?;
    }
    deleted(ctx, "deleting the VPN gateway", ec2.delete_vpn_gateway().vpn_gateway_id(id).send().await)
}

async fn create_customer_gateway(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Object> {
    let tags = ctx.ec2_tags(ResourceType::CustomerGateway, inputs.address, inputs.opt_str("name")?);
    let asn = inputs.int("bgp_asn")?;
    let request = ctx.ec2().create_customer_gateway().r#type(GatewayType::Ipsec1).ip_address(inputs.str("ip_address")?);
    // Two-byte and four-byte private ASNs go in different fields.
    let request = match i32::try_from(asn) {
        Ok(small) if small <= 65535 => request.bgp_asn(small),
        _ => request.bgp_asn_extended(asn),
    };
    let out = request.tag_specifications(tags).send().await.map_err(ctx.fail("creating the customer gateway"))?;
    made(ctx, "the customer gateway", out.customer_gateway().and_then(|g| g.customer_gateway_id()))
}

async fn describe_customer_gateways(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<Object>, ApiError> {
    let out = ec2.describe_customer_gateways().set_filters(Some(filters)).send().await?;
    Ok(out.customer_gateways().iter().filter(|g| !ended(g.state())).filter_map(customer_gateway_object).collect())
}

fn customer_gateway_object(gateway: &CustomerGateway) -> Option<Object> {
    let asn = gateway.bgp_asn().and_then(|a| a.parse::<i64>().ok()).map_or(Value::Null, Value::Int);
    let observed = attributes([("ip_address", opt(gateway.ip_address())), ("bgp_asn", asn)]);
    Some(Object::tagged(gateway.customer_gateway_id()?, gateway.tags(), observed).named())
}

async fn delete_customer_gateway(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let result = ctx.ec2().delete_customer_gateway().customer_gateway_id(id).send().await;
    deleted(ctx, "deleting the customer gateway", result)
}

fn connection_outputs(connection: &VpnConnection, id: &str) -> Attributes {
    let tunnel = connection
        .vgw_telemetry()
        .first()
        .and_then(|t| t.outside_ip_address())
        .or_else(|| connection.options().and_then(|o| o.tunnel_options().first()).and_then(|t| t.outside_ip_address()))
        .or_else(|| connection.customer_gateway_configuration().and_then(first_tunnel_address));
    attributes([
        ("id", id.into()),
        ("vpn_gateway_id", opt(connection.vpn_gateway_id())),
        ("tunnel1_address", opt(tunnel)),
    ])
}

/// The AWS end of the first tunnel in the customer gateway configuration document (the same
/// document also holds the preshared key, so only this one address is taken from it).
fn first_tunnel_address(document: &str) -> Option<&str> {
    let (_, after) = document.split_once("<vpn_gateway>")?;
    let (_, after) = after.split_once("<tunnel_outside_address>")?;
    let (_, after) = after.split_once("<ip_address>")?;
    let (address, _) = after.split_once("</ip_address>")?;
    Some(address.trim())
}

async fn create_connection(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Object> {
    let tunnel = VpnTunnelOptionsSpecification::builder().pre_shared_key(inputs.secret_str("preshared_key")?).build();
    let options = VpnConnectionOptionsSpecification::builder()
        .static_routes_only(inputs.opt_bool("static_routes_only")?.unwrap_or(true))
        .tunnel_options(tunnel.clone())
        .tunnel_options(tunnel)
        .build();
    let tags = ctx.ec2_tags(ResourceType::VpnConnection, inputs.address, inputs.opt_str("name")?);
    let request = ctx.ec2().create_vpn_connection().r#type("ipsec.1").vpn_gateway_id(inputs.str("vpn_gateway_id")?);
    let request = request.customer_gateway_id(inputs.str("customer_gateway_id")?).options(options);
    let out = request.tag_specifications(tags).send().await.map_err(ctx.fail("creating the VPN connection"))?;
    made(ctx, "the VPN connection", out.vpn_connection().and_then(|c| c.vpn_connection_id()))
}

/// Adds the routes a new or adopted connection lacks, and waits until it is available.
async fn settle_connection(ctx: &Ctx<'_>, inputs: Inputs<'_>, connection: Object) -> ProviderResult<Applied> {
    let current = Inputs::new(inputs.address, &connection.observed).strings("destination_cidr_blocks")?;
    sync_routes(ctx, &connection.id, &current, &inputs.strings("destination_cidr_blocks")?).await?;
    let outputs = wait_available(ctx, &connection.id).await?;
    Ok(Applied { provider_id: connection.id, outputs })
}

async fn connection(ec2: &Client, id: &str) -> Result<Option<VpnConnection>, ApiError> {
    let out = ec2.describe_vpn_connections().vpn_connection_ids(id).send().await?;
    Ok(out.vpn_connections().iter().find(|c| !ended(c.state().map(|s| s.as_str()))).cloned())
}

/// Waits until the connection is available and has its tunnel address, and returns its outputs.
async fn wait_available(ctx: &Ctx<'_>, id: &str) -> ProviderResult<Attributes> {
    let what = format!("VPN connection {id} to become available");
    wait::until(ctx.settings.poll_interval, ctx.settings.vpn_timeout, &what, || async {
        let found = connection(ctx.ec2(), id).await.map_err(ctx.fail(&format!("looking at VPN connection {id}")))?;
        let Some(found) = found else { return Ok(Poll::Pending("not visible yet".into())) };
        let state = found.state().map_or("unknown", |s| s.as_str()).to_owned();
        let outputs = connection_outputs(&found, id);
        Ok(match (state.as_str(), outputs.get("tunnel1_address")) {
            ("available", Some(Value::String(_))) => Poll::Ready(outputs),
            ("available", _) => Poll::Pending("available without a tunnel address".into()),
            _ => Poll::Pending(state),
        })
    })
    .await
}

/// Adds the routes in `wanted` that `current` lacks, and removes those it no longer wants.
async fn sync_routes(ctx: &Ctx<'_>, id: &str, current: &[String], wanted: &[String]) -> ProviderResult<()> {
    let ec2 = ctx.ec2();
    for cidr in wanted.iter().filter(|w| !current.contains(w)) {
        let added = ec2.create_vpn_connection_route().vpn_connection_id(id).destination_cidr_block(cidr).send().await;
        if let Err(error) = added.map_err(ApiError::from)
            && error.code() != "RouteAlreadyExists"
            && !error.message.contains("already exists")
        {
            return Err(ctx.fail(&format!("adding the VPN route to {cidr}"))(error));
        }
    }
    for cidr in current.iter().filter(|c| !wanted.contains(c)) {
        let removed = ec2.delete_vpn_connection_route().vpn_connection_id(id).destination_cidr_block(cidr).send().await;
        deleted(ctx, &format!("removing the VPN route to {cidr}"), removed)?;
    }
    Ok(())
}

async fn describe_connections(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<Object>, ApiError> {
    let out = ec2.describe_vpn_connections().set_filters(Some(filters)).send().await?;
    let live = out.vpn_connections().iter().filter(|c| !ended(c.state().map(|s| s.as_str())));
    Ok(live.filter_map(connection_object).collect())
}

/// A connection with its routes, and its tunnel's address as an output.
fn connection_object(connection: &VpnConnection) -> Option<Object> {
    let id = connection.vpn_connection_id()?;
    let routes = connection.routes().iter().filter(|r| !ended(r.state().map(|s| s.as_str())));
    let routes = routes.filter_map(|r| r.destination_cidr_block()).map(Value::from).collect();
    let mut observed = attributes([
        ("vpn_gateway_id", opt(connection.vpn_gateway_id())),
        ("customer_gateway_id", opt(connection.customer_gateway_id())),
        ("destination_cidr_blocks", Value::List(routes)),
    ]);
    // AWS always returns the options; moto omits them, which says nothing.
    if let Some(static_only) = connection.options().and_then(|o| o.static_routes_only()) {
        observed.insert("static_routes_only".to_owned(), static_only.into());
    }
    let outputs = connection_outputs(connection, id);
    Some(Object { outputs, ..Object::tagged(id, connection.tags(), observed).named() })
}

async fn update_connection(ctx: &Ctx<'_>, change: Change<'_>) -> ProviderResult<Applied> {
    if change.has("preshared_key") {
        let address = change.after.address;
        return Err(ProviderError::fatal(format!(
            "{address}: the VPN preshared key changed; ringform does not rotate tunnel keys in place"
        ))
        .with_hint(format!("replace the connection: ringform destroy --target {address}, then apply")));
    }
    change.only(&["name", "destination_cidr_blocks"])?;
    rename(ctx, &change).await?;
    let (before, after) =
        (change.before.strings("destination_cidr_blocks")?, change.after.strings("destination_cidr_blocks")?);
    sync_routes(ctx, change.id, &before, &after).await?;
    let outputs = wait_available(ctx, change.id).await?;
    Ok(Applied { provider_id: change.id.to_owned(), outputs })
}

async fn delete_connection(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    match ctx.ec2().delete_vpn_connection().vpn_connection_id(id).send().await.map_err(ApiError::from) {
        Err(error) if !error.is_not_found() => Err(ctx.fail("deleting the VPN connection")(error)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tunnel_address_comes_from_the_vpn_gateway_side() {
        let document = "<vpn_connection><ipsec_tunnel><customer_gateway><tunnel_outside_address><ip_address>12.1.2.3</ip_address>\
            </tunnel_outside_address></customer_gateway><vpn_gateway><tunnel_outside_address><ip_address>52.2.144.13</ip_address>\
            </tunnel_outside_address></vpn_gateway><ike><pre_shared_key>k</pre_shared_key></ike></ipsec_tunnel></vpn_connection>";
        assert_eq!(super::first_tunnel_address(document), Some("52.2.144.13"));
        assert_eq!(super::first_tunnel_address("<vpn_connection/>"), None);
    }
}
