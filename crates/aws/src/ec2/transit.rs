//! Transit gateways, their VPC attachments, cross-region gateway peerings (requested in one
//! region, accepted in the other) and static routes in the gateways' default route tables.

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    Filter, ResourceType, TransitGateway, TransitGatewayPeeringAttachment, TransitGatewayRequestOptions,
    TransitGatewayRouteState,
};
use ringform_core::provider::{Applied, Observed, ProviderError, ProviderResult, Tracked};
use ringform_core::{Attributes, Value};

use super::vpc::created;
use super::{deleted, find_tagged, id_output, match_by_id, named, opt};
use crate::attrs::{Inputs, attributes, only_updatable};
use crate::context::{Ctx, Object};
use crate::errors::ApiError;
use crate::tags::{self, filter};
use crate::wait::{self, Poll};

const GONE: [&str; 5] = ["deleted", "deleting", "failed", "rejected", "failing"];

fn gone(state: Option<&str>) -> bool {
    state.is_some_and(|s| GONE.contains(&s))
}

/// Polls `look` (which returns the object's state, or None while it is not visible) until the
/// state is one of `states`.
async fn wait_state<F, Fut>(ctx: &Ctx<'_>, what: &str, states: &[&str], mut look: F) -> ProviderResult<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<String>, ApiError>>,
{
    let description = format!("{what} ({}) to become {}", ctx.region, states.join(" or "));
    wait::until(ctx.settings.poll_interval, ctx.settings.transit_gateway_timeout, &description, || {
        let look = look();
        async move {
            let state = look.await.map_err(ctx.fail(&format!("looking at {what}")))?;
            match state {
                Some(state) if states.contains(&state.as_str()) => Ok(Poll::Ready(())),
                Some(state) if gone(Some(&state)) => {
                    Err(ProviderError::fatal(format!("{}: {what} is {state}; AWS gave up on it", ctx.subject)))
                }
                Some(state) => Ok(Poll::Pending(state)),
                None => Ok(Poll::Pending("not visible yet".into())),
            }
        }
    })
    .await
}

async fn gateways(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<TransitGateway>, ApiError> {
    let pages = ec2.describe_transit_gateways().set_filters(Some(filters)).into_paginator().items().send();
    let all = pages.collect::<Result<Vec<_>, _>>().await?;
    Ok(all.into_iter().filter(|g| !gone(g.state().map(|s| s.as_str()))).collect())
}

async fn gateway_state(ec2: &Client, id: &str) -> Result<Option<String>, ApiError> {
    let found = gateways(ec2, vec![filter("transit-gateway-id", [id])]).await?;
    Ok(found.first().and_then(|g| g.state()).map(|s| s.as_str().to_owned()))
}

pub(super) async fn create_gateway(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Applied> {
    let id = match find_tagged(ctx, inputs.address).await? {
        Some(existing) => existing.id,
        None => {
            let spec = tags::ec2_spec(ResourceType::TransitGateway, &ctx.tags(inputs.address, inputs.opt_str("name")?));
            let options =
                TransitGatewayRequestOptions::builder().amazon_side_asn(inputs.int("amazon_side_asn")?).build();
            let out = ctx
                .ec2()
                .create_transit_gateway()
                .set_description(inputs.opt_str("name")?.map(str::to_owned))
                .options(options)
                .tag_specifications(spec)
                .send()
                .await
                .map_err(ctx.fail("creating the transit gateway"))?;
            created(ctx, "the transit gateway", out.transit_gateway().and_then(|g| g.transit_gateway_id()))?
        }
    };
    wait_state(ctx, &format!("transit gateway {id}"), &["available"], || gateway_state(ctx.ec2(), &id)).await?;
    Ok(Applied { provider_id: id.clone(), outputs: id_output(&id) })
}

pub(super) async fn describe_gateways(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<Object>, ApiError> {
    Ok(gateways(ec2, filters)
        .await?
        .iter()
        .filter_map(|gateway| {
            let id = gateway.transit_gateway_id()?;
            let tags = tags::ec2_map(gateway.tags());
            let asn = gateway.options().and_then(|o| o.amazon_side_asn()).map_or(Value::Null, Value::Int);
            let observed = named(&tags, attributes([("amazon_side_asn", asn)]));
            Some(Object { id: id.to_owned(), tags, observed, outputs: id_output(id) })
        })
        .collect())
}

/// True when `state` (from a look that may fail) says the object still exists. Deletes look
/// first, which keeps a repeated delete quiet (moto answers 500 for a missing one).
fn exists(ctx: &Ctx<'_>, what: &str, state: Result<Option<String>, ApiError>) -> ProviderResult<bool> {
    Ok(state.map_err(ctx.fail(&format!("looking at {what}")))?.is_some())
}

pub(super) async fn delete_gateway(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let what = "the transit gateway";
    if !exists(ctx, what, gateway_state(ctx.ec2(), id).await)? {
        return Ok(());
    }
    deleted(ctx, &format!("deleting {what}"), ctx.ec2().delete_transit_gateway().transit_gateway_id(id).send().await)
}

fn attachment_outputs(id: &str, gateway: &str) -> Attributes {
    attributes([("id", id.into()), ("transit_gateway_id", gateway.into())])
}

pub(super) async fn create_attachment(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Applied> {
    let gateway = inputs.str("transit_gateway_id")?;
    let id = match find_tagged(ctx, inputs.address).await? {
        Some(existing) => existing.id,
        None => {
            let spec = tags::ec2_spec(ResourceType::TransitGatewayAttachment, &ctx.tags(inputs.address, None));
            let out = ctx
                .ec2()
                .create_transit_gateway_vpc_attachment()
                .transit_gateway_id(gateway)
                .vpc_id(inputs.str("vpc_id")?)
                .set_subnet_ids(Some(inputs.strings("subnet_ids")?))
                .tag_specifications(spec)
                .send()
                .await
                .map_err(ctx.fail("attaching the VPC to the transit gateway"))?;
            let attachment = out.transit_gateway_vpc_attachment();
            created(ctx, "the transit gateway attachment", attachment.and_then(|a| a.transit_gateway_attachment_id()))?
        }
    };
    wait_state(ctx, &format!("transit gateway attachment {id}"), &["available"], || async {
        let found =
            describe_attachments(ctx.ec2(), vec![filter("transit-gateway-attachment-id", [id.as_str()])]).await?;
        Ok(found.first().and_then(|a| a.observed.get("state")).and_then(Value::as_str).map(str::to_owned))
    })
    .await?;
    Ok(Applied { provider_id: id.clone(), outputs: attachment_outputs(&id, gateway) })
}

pub(super) async fn describe_attachments(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<Object>, ApiError> {
    let pages =
        ec2.describe_transit_gateway_vpc_attachments().set_filters(Some(filters)).into_paginator().items().send();
    let all = pages.collect::<Result<Vec<_>, _>>().await?;
    Ok(all
        .iter()
        .filter(|a| !gone(a.state().map(|s| s.as_str())))
        .filter_map(|a| {
            let id = a.transit_gateway_attachment_id()?;
            let gateway = a.transit_gateway_id().unwrap_or_default();
            let subnets: Vec<Value> = a.subnet_ids().iter().map(|s| Value::from(s.as_str())).collect();
            let observed = attributes([
                ("transit_gateway_id", gateway.into()),
                ("vpc_id", opt(a.vpc_id())),
                ("subnet_ids", Value::List(subnets)),
                ("state", opt(a.state().map(|s| s.as_str()))),
            ]);
            Some(Object {
                id: id.to_owned(),
                tags: tags::ec2_map(a.tags()),
                observed,
                outputs: attachment_outputs(id, gateway),
            })
        })
        .collect())
}

pub(super) async fn update_attachment(
    ctx: &Ctx<'_>,
    before: Inputs<'_>,
    after: Inputs<'_>,
    id: &str,
    changed: &[String],
) -> ProviderResult<Applied> {
    only_updatable(after.address, changed, &["subnet_ids"])?;
    let (old, new) = (before.strings("subnet_ids")?, after.strings("subnet_ids")?);
    let add: Vec<String> = new.iter().filter(|s| !old.contains(s)).cloned().collect();
    let remove: Vec<String> = old.iter().filter(|s| !new.contains(s)).cloned().collect();
    if !add.is_empty() || !remove.is_empty() {
        ctx.ec2()
            .modify_transit_gateway_vpc_attachment()
            .transit_gateway_attachment_id(id)
            .set_add_subnet_ids(Some(add).filter(|a| !a.is_empty()))
            .set_remove_subnet_ids(Some(remove).filter(|r| !r.is_empty()))
            .send()
            .await
            .map_err(ctx.fail("changing the attachment's subnets"))?;
    }
    Ok(Applied { provider_id: id.to_owned(), outputs: attachment_outputs(id, after.str("transit_gateway_id")?) })
}

pub(super) async fn delete_attachment(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let what = "the transit gateway attachment";
    let found = describe_attachments(ctx.ec2(), vec![filter("transit-gateway-attachment-id", [id])]).await;
    if !exists(ctx, what, found.map(|f| f.first().map(|o| o.id.clone())))? {
        return Ok(());
    }
    let result = ctx.ec2().delete_transit_gateway_vpc_attachment().transit_gateway_attachment_id(id).send().await;
    deleted(ctx, &format!("deleting {what}"), result)
}

async fn peerings(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<TransitGatewayPeeringAttachment>, ApiError> {
    let pages =
        ec2.describe_transit_gateway_peering_attachments().set_filters(Some(filters)).into_paginator().items().send();
    let all = pages.collect::<Result<Vec<_>, _>>().await?;
    Ok(all.into_iter().filter(|p| !gone(p.state().map(|s| s.as_str()))).collect())
}

async fn peering_state(ec2: &Client, id: &str) -> Result<Option<String>, ApiError> {
    let found = peerings(ec2, vec![filter("transit-gateway-attachment-id", [id])]).await?;
    Ok(found.first().and_then(|p| p.state()).map(|s| s.as_str().to_owned()))
}

pub(super) async fn create_peering(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Applied> {
    let gateway = inputs.str("transit_gateway_id")?;
    let id = match find_tagged(ctx, inputs.address).await? {
        Some(existing) => existing.id,
        None => {
            // Both gateways are this account's; the API still wants the account id spelled out.
            let mine = gateways(ctx.ec2(), vec![filter("transit-gateway-id", [gateway])])
                .await
                .map_err(ctx.fail("looking up the transit gateway's account"))?;
            let account = mine.first().and_then(|g| g.owner_id()).map(str::to_owned);
            let spec = tags::ec2_spec(ResourceType::TransitGatewayAttachment, &ctx.tags(inputs.address, None));
            let out = ctx
                .ec2()
                .create_transit_gateway_peering_attachment()
                .transit_gateway_id(gateway)
                .peer_transit_gateway_id(inputs.str("peer_transit_gateway_id")?)
                .peer_region(inputs.str("peer_region")?)
                .set_peer_account_id(account)
                .tag_specifications(spec)
                .send()
                .await
                .map_err(ctx.fail("requesting the transit gateway peering"))?;
            let attachment = out.transit_gateway_peering_attachment();
            created(ctx, "the transit gateway peering", attachment.and_then(|a| a.transit_gateway_attachment_id()))?
        }
    };
    let states = ["pendingAcceptance", "pending-acceptance", "available"];
    wait_state(ctx, &format!("transit gateway peering {id}"), &states, || peering_state(ctx.ec2(), &id)).await?;
    Ok(Applied { provider_id: id.clone(), outputs: id_output(&id) })
}

pub(super) async fn describe_peerings(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<Object>, ApiError> {
    Ok(peerings(ec2, filters)
        .await?
        .iter()
        .filter_map(|p| {
            let id = p.transit_gateway_attachment_id()?;
            let observed = attributes([
                ("transit_gateway_id", opt(p.requester_tgw_info().and_then(|i| i.transit_gateway_id()))),
                ("peer_transit_gateway_id", opt(p.accepter_tgw_info().and_then(|i| i.transit_gateway_id()))),
                ("peer_region", opt(p.accepter_tgw_info().and_then(|i| i.region()))),
            ]);
            Some(Object { id: id.to_owned(), tags: tags::ec2_map(p.tags()), observed, outputs: id_output(id) })
        })
        .collect())
}

pub(super) async fn delete_peering(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let what = "the transit gateway peering";
    if !exists(ctx, what, peering_state(ctx.ec2(), id).await)? {
        return Ok(());
    }
    let result = ctx.ec2().delete_transit_gateway_peering_attachment().transit_gateway_attachment_id(id).send().await;
    deleted(ctx, &format!("deleting {what}"), result)
}

fn accepter_outputs(id: &str) -> Attributes {
    attributes([("id", id.into()), ("attachment_id", id.into())])
}

pub(super) async fn create_accepter(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Applied> {
    let id = inputs.str("attachment_id")?;
    let what = format!("transit gateway peering {id}");
    let states = ["pendingAcceptance", "pending-acceptance", "available"];
    wait_state(ctx, &what, &states, || peering_state(ctx.ec2(), id)).await?;
    if peering_state(ctx.ec2(), id).await.map_err(ctx.fail(&format!("looking at {what}")))?.as_deref()
        != Some("available")
    {
        ctx.ec2()
            .accept_transit_gateway_peering_attachment()
            .transit_gateway_attachment_id(id)
            .send()
            .await
            .map_err(ctx.fail(&format!("accepting {what}")))?;
    }
    wait_state(ctx, &what, &["available"], || peering_state(ctx.ec2(), id)).await?;
    Ok(Applied { provider_id: id.to_owned(), outputs: accepter_outputs(id) })
}

fn accepter_object(p: &TransitGatewayPeeringAttachment) -> Option<Object> {
    let id = p.transit_gateway_attachment_id()?;
    (p.state().map(|s| s.as_str()) == Some("available")).then(|| Object {
        id: id.to_owned(),
        observed: attributes([("attachment_id", id.into())]),
        outputs: accepter_outputs(id),
        ..Object::default()
    })
}

pub(super) async fn find_accepter(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Option<Object>> {
    let id = inputs.str("attachment_id")?;
    let found = peerings(ctx.ec2(), vec![filter("transit-gateway-attachment-id", [id])])
        .await
        .map_err(ctx.fail("looking at the transit gateway peering"))?;
    Ok(found.iter().find_map(accepter_object))
}

pub(super) async fn read_accepters(ctx: &Ctx<'_>, tracked: &[Tracked]) -> ProviderResult<Vec<Observed>> {
    let ids: Vec<String> = tracked.iter().map(|t| t.provider_id.clone()).collect();
    let found = peerings(ctx.ec2(), vec![filter("transit-gateway-attachment-id", ids)])
        .await
        .map_err(ctx.fail("listing transit gateway peerings"))?;
    Ok(match_by_id(found.iter().filter_map(accepter_object).collect(), tracked))
}

/// The default route table of each gateway, by gateway id.
async fn route_tables(ctx: &Ctx<'_>, gateway_ids: Vec<String>) -> ProviderResult<Vec<(String, String)>> {
    let found = gateways(ctx.ec2(), vec![filter("transit-gateway-id", gateway_ids)])
        .await
        .map_err(ctx.fail("looking up the transit gateways' route tables"))?;
    Ok(found
        .iter()
        .filter_map(|g| {
            Some((g.transit_gateway_id()?.to_owned(), g.options()?.association_default_route_table_id()?.to_owned()))
        })
        .collect())
}

async fn route_table(ctx: &Ctx<'_>, gateway: &str) -> ProviderResult<String> {
    route_tables(ctx, vec![gateway.to_owned()]).await?.into_iter().next().map(|(_, table)| table).ok_or_else(|| {
        ProviderError::retryable(format!("{}: transit gateway {gateway} has no default route table yet", ctx.subject))
    })
}

fn route_id(table: &str, destination: &str) -> String {
    format!("{table}_{destination}")
}

pub(super) async fn create_route(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Applied> {
    let table = route_table(ctx, inputs.str("transit_gateway_id")?).await?;
    let destination = inputs.str("destination_cidr_block")?;
    let attachment = inputs.str("attachment_id")?;
    let existing = static_routes(ctx, &table, inputs.str("transit_gateway_id")?, Some(destination)).await?;
    let current = existing.first().and_then(|o| o.observed.get("attachment_id")).and_then(Value::as_str);
    if current != Some(attachment) {
        let request = if current.is_some() {
            ctx.ec2()
                .replace_transit_gateway_route()
                .transit_gateway_route_table_id(&table)
                .destination_cidr_block(destination)
                .transit_gateway_attachment_id(attachment)
                .send()
                .await
                .map(drop)
                .map_err(ApiError::from)
        } else {
            ctx.ec2()
                .create_transit_gateway_route()
                .transit_gateway_route_table_id(&table)
                .destination_cidr_block(destination)
                .transit_gateway_attachment_id(attachment)
                .send()
                .await
                .map(drop)
                .map_err(ApiError::from)
        };
        request.map_err(ctx.fail(&format!("adding the transit gateway route to {destination}")))?;
    }
    let id = route_id(&table, destination);
    Ok(Applied { provider_id: id.clone(), outputs: id_output(&id) })
}

/// Static routes in `table` (of `gateway`), optionally only the one to `destination`.
async fn static_routes(
    ctx: &Ctx<'_>,
    table: &str,
    gateway: &str,
    destination: Option<&str>,
) -> ProviderResult<Vec<Object>> {
    let mut filters = vec![filter("type", ["static"])];
    if let Some(destination) = destination {
        filters.push(filter("route-search.exact-match", [destination]));
    }
    let out = ctx
        .ec2()
        .search_transit_gateway_routes()
        .transit_gateway_route_table_id(table)
        .set_filters(Some(filters))
        .send()
        .await
        .map_err(ctx.fail("listing transit gateway routes"))?;
    Ok(out
        .routes()
        .iter()
        .filter(|r| {
            r.state() != Some(&TransitGatewayRouteState::Deleted)
                && r.state() != Some(&TransitGatewayRouteState::Deleting)
        })
        .filter_map(|r| {
            let destination = r.destination_cidr_block()?;
            let id = route_id(table, destination);
            let attachment = r.transit_gateway_attachments().first().and_then(|a| a.transit_gateway_attachment_id());
            let mut observed =
                attributes([("transit_gateway_id", gateway.into()), ("destination_cidr_block", destination.into())]);
            // A blackhole route has lost its attachment; an active one always names it (moto
            // omits peering attachments of other regions, so an active route without one says nothing).
            if attachment.is_some() || r.state() == Some(&TransitGatewayRouteState::Blackhole) {
                observed.insert("attachment_id".to_owned(), opt(attachment));
            }
            Some(Object { outputs: id_output(&id), id, observed, ..Object::default() })
        })
        .collect())
}

pub(super) async fn update_route(
    ctx: &Ctx<'_>,
    after: Inputs<'_>,
    id: &str,
    changed: &[String],
) -> ProviderResult<Applied> {
    only_updatable(after.address, changed, &["attachment_id"])?;
    create_route(ctx, after).await.map(|applied| Applied { provider_id: id.to_owned(), ..applied })
}

pub(super) async fn find_route(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Option<Object>> {
    let gateway = inputs.str("transit_gateway_id")?;
    let Some((_, table)) = route_tables(ctx, vec![gateway.to_owned()]).await?.into_iter().next() else {
        return Ok(None);
    };
    Ok(static_routes(ctx, &table, gateway, Some(inputs.str("destination_cidr_block")?)).await?.into_iter().next())
}

/// One DescribeTransitGateways for the tracked routes' gateways, then one
/// SearchTransitGatewayRoutes per gateway route table (the API searches one table at a time).
pub(super) async fn read_routes(ctx: &Ctx<'_>, tracked: &[Tracked]) -> ProviderResult<Vec<Observed>> {
    let mut gateways: Vec<String> = tracked
        .iter()
        .filter_map(|t| t.inputs.get("transit_gateway_id").and_then(Value::as_str).map(str::to_owned))
        .collect();
    gateways.sort();
    gateways.dedup();
    let mut objects = Vec::new();
    for (gateway, table) in route_tables(ctx, gateways).await? {
        objects.extend(static_routes(ctx, &table, &gateway, None).await?);
    }
    Ok(match_by_id(objects, tracked))
}

pub(super) async fn delete_route(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<()> {
    let gateway = inputs.str("transit_gateway_id")?;
    let Some((_, table)) = route_tables(ctx, vec![gateway.to_owned()]).await?.into_iter().next() else { return Ok(()) };
    let destination = inputs.str("destination_cidr_block")?;
    // Looking first keeps a repeated delete quiet (moto answers 500 for a missing route).
    if static_routes(ctx, &table, gateway, Some(destination)).await?.is_empty() {
        return Ok(());
    }
    let result = ctx
        .ec2()
        .delete_transit_gateway_route()
        .transit_gateway_route_table_id(table)
        .destination_cidr_block(destination)
        .send()
        .await;
    deleted(ctx, "deleting the transit gateway route", result)
}
