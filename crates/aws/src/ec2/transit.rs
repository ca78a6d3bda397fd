//! Transit gateways, their VPC attachments, cross-region gateway peerings (requested in one
//! region, accepted in the other) and static routes in the gateways' default route tables.

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    Filter, ResourceType, TransitGateway, TransitGatewayPeeringAttachment, TransitGatewayRequestOptions,
    TransitGatewayRouteState, TransitGatewayVpcAttachment,
};
use aws_smithy_async::future::pagination_stream::PaginationStream;
use ringform_core::provider::{Applied, Observed, ProviderError, ProviderResult, Tracked};
use ringform_core::{Attributes, Inputs, Value};
use ringform_schema::aws;

use super::peering::{accepter, find_accepter, read_accepters, requested};
use super::{all, deleted, made, nothing_to_delete, opt, rename_only};
use crate::attrs::attributes;
use crate::context::{Ctx, Object};
use crate::errors::ApiError;
use crate::kinds::{Change, Lookup, Spec, match_by_id, ready};
use crate::tags::filter;
use crate::wait::{self, Poll};

pub(crate) static GATEWAY: Spec = Spec {
    kind: aws::TRANSIT_GATEWAY,
    lookup: Lookup::Tagged(|ec2, filters| Box::pin(describe_gateways(ec2, filters))),
    create: |ctx, inputs| Box::pin(create_gateway(ctx, inputs)),
    settle: |ctx, _, gateway| Box::pin(wait_gateway(ctx, gateway)),
    update: rename_only,
    delete: |ctx, _, id| Box::pin(delete_gateway(ctx, id)),
};

pub(crate) static ATTACHMENT: Spec = Spec {
    kind: aws::TRANSIT_GATEWAY_ATTACHMENT,
    lookup: Lookup::Tagged(|ec2, filters| Box::pin(describe_attachments(ec2, filters))),
    create: |ctx, inputs| Box::pin(create_attachment(ctx, inputs)),
    settle: |ctx, _, attachment| Box::pin(wait_attachment(ctx, attachment)),
    update: |ctx, change| Box::pin(update_attachment(ctx, change)),
    delete: |ctx, _, id| Box::pin(delete_attachment(ctx, id)),
};

pub(crate) static PEERING: Spec = Spec {
    kind: aws::TRANSIT_GATEWAY_PEERING,
    lookup: Lookup::Tagged(|ec2, filters| Box::pin(describe_peerings(ec2, filters))),
    create: |ctx, inputs| Box::pin(request_peering(ctx, inputs)),
    settle: |ctx, _, peering| Box::pin(wait_requested(ctx, peering)),
    update: rename_only,
    delete: |ctx, _, id| Box::pin(delete_peering(ctx, id)),
};

/// Like a VPC peering's, the accepter is the peering seen from the accepter's region: found by
/// the attachment id, existing while the peering is available.
pub(crate) static ACCEPTER: Spec = Spec {
    kind: aws::TRANSIT_GATEWAY_PEERING_ACCEPTER,
    lookup: Lookup::Keyed {
        find: |ctx, inputs| Box::pin(find_accepter(ctx, inputs, "attachment_id", accepted)),
        read: |ctx, tracked| Box::pin(read_accepters(ctx, tracked, accepted)),
    },
    create: |ctx, inputs| Box::pin(accept(ctx, inputs)),
    settle: ready,
    update: rename_only,
    delete: nothing_to_delete,
};

pub(crate) static ROUTE: Spec = Spec {
    kind: aws::TRANSIT_GATEWAY_ROUTE,
    lookup: Lookup::Keyed {
        find: |ctx, inputs| Box::pin(find_route(ctx, inputs)),
        read: |ctx, tracked| Box::pin(read_routes(ctx, tracked)),
    },
    create: |ctx, inputs| Box::pin(create_route(ctx, inputs)),
    settle: |ctx, inputs, route| Box::pin(point_route(ctx, inputs, route)),
    update: |ctx, change| Box::pin(update_route(ctx, change)),
    delete: |ctx, inputs, _| Box::pin(delete_route(ctx, inputs)),
};

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

/// Runs `delete` when `state` (from a look that may fail) says the object still exists: looking
/// first keeps a repeated delete quiet (moto answers 500 for a missing one).
async fn delete_existing<T, E: Into<ApiError>>(
    ctx: &Ctx<'_>,
    what: &str,
    state: Result<Option<String>, ApiError>,
    delete: impl Future<Output = Result<T, E>>,
) -> ProviderResult<()> {
    if state.map_err(ctx.fail(&format!("looking at {what}")))?.is_none() {
        return Ok(());
    }
    deleted(ctx, &format!("deleting {what}"), delete.await)
}

/// The transit gateway objects, whose states all read the same way.
trait Stateful {
    fn state_text(&self) -> Option<&str>;
}

impl Stateful for TransitGateway {
    fn state_text(&self) -> Option<&str> {
        self.state().map(|s| s.as_str())
    }
}

impl Stateful for TransitGatewayVpcAttachment {
    fn state_text(&self) -> Option<&str> {
        self.state().map(|s| s.as_str())
    }
}

impl Stateful for TransitGatewayPeeringAttachment {
    fn state_text(&self) -> Option<&str> {
        self.state().map(|s| s.as_str())
    }
}

/// What a paginated describe lists, less what is gone or going.
async fn live<T: Stateful, E>(pages: PaginationStream<Result<T, E>>) -> Result<Vec<T>, ApiError>
where
    ApiError: From<E>,
{
    Ok(all(pages).await?.into_iter().filter(|item| !gone(item.state_text())).collect())
}

/// The state of the object a listing by its id found, if it found it.
async fn state_of<T: Stateful>(
    listing: impl Future<Output = Result<Vec<T>, ApiError>>,
) -> Result<Option<String>, ApiError> {
    Ok(listing.await?.first().and_then(Stateful::state_text).map(str::to_owned))
}

async fn gateways(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<TransitGateway>, ApiError> {
    live(ec2.describe_transit_gateways().set_filters(Some(filters)).into_paginator().items().send()).await
}

async fn gateway_state(ec2: &Client, id: &str) -> Result<Option<String>, ApiError> {
    state_of(gateways(ec2, vec![filter("transit-gateway-id", [id])])).await
}

async fn create_gateway(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Object> {
    let name = inputs.opt_str("name")?;
    let tags = ctx.ec2_tags(ResourceType::TransitGateway, inputs.address, name);
    let options = TransitGatewayRequestOptions::builder().amazon_side_asn(inputs.int("amazon_side_asn")?).build();
    let request = ctx.ec2().create_transit_gateway().set_description(name.map(str::to_owned)).options(options);
    let out = request.tag_specifications(tags).send().await.map_err(ctx.fail("creating the transit gateway"))?;
    made(ctx, "the transit gateway", out.transit_gateway().and_then(|g| g.transit_gateway_id()))
}

async fn wait_gateway(ctx: &Ctx<'_>, gateway: Object) -> ProviderResult<Applied> {
    let id = &gateway.id;
    wait_state(ctx, &format!("transit gateway {id}"), &["available"], || gateway_state(ctx.ec2(), id)).await?;
    Ok(gateway.applied())
}

async fn describe_gateways(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<Object>, ApiError> {
    Ok(gateways(ec2, filters).await?.iter().filter_map(gateway_object).collect())
}

fn gateway_object(gateway: &TransitGateway) -> Option<Object> {
    let asn = gateway.options().and_then(|o| o.amazon_side_asn()).map_or(Value::Null, Value::Int);
    Some(Object::tagged(gateway.transit_gateway_id()?, gateway.tags(), attributes([("amazon_side_asn", asn)])).named())
}

async fn delete_gateway(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let delete = ctx.ec2().delete_transit_gateway().transit_gateway_id(id).send();
    delete_existing(ctx, "the transit gateway", gateway_state(ctx.ec2(), id).await, delete).await
}

fn attachment_outputs(id: &str, gateway: &str) -> Attributes {
    attributes([("id", id.into()), ("transit_gateway_id", gateway.into())])
}

async fn create_attachment(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Object> {
    let gateway = inputs.str("transit_gateway_id")?;
    let tags = ctx.ec2_tags(ResourceType::TransitGatewayAttachment, inputs.address, None);
    let request = ctx.ec2().create_transit_gateway_vpc_attachment().transit_gateway_id(gateway);
    let request = request.vpc_id(inputs.str("vpc_id")?).set_subnet_ids(Some(inputs.strings("subnet_ids")?));
    let out = request.tag_specifications(tags).send().await;
    let attachment = out.map_err(ctx.fail("attaching the VPC to the transit gateway"))?;
    let id = attachment.transit_gateway_vpc_attachment().and_then(|a| a.transit_gateway_attachment_id());
    let made = made(ctx, "the transit gateway attachment", id)?;
    Ok(Object { outputs: attachment_outputs(&made.id, gateway), ..made })
}

async fn attachments(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<TransitGatewayVpcAttachment>, ApiError> {
    live(ec2.describe_transit_gateway_vpc_attachments().set_filters(Some(filters)).into_paginator().items().send())
        .await
}

async fn attachment_state(ec2: &Client, id: &str) -> Result<Option<String>, ApiError> {
    state_of(attachments(ec2, vec![filter("transit-gateway-attachment-id", [id])])).await
}

async fn wait_attachment(ctx: &Ctx<'_>, attachment: Object) -> ProviderResult<Applied> {
    let id = &attachment.id;
    let what = format!("transit gateway attachment {id}");
    wait_state(ctx, &what, &["available"], || attachment_state(ctx.ec2(), id)).await?;
    Ok(attachment.applied())
}

async fn describe_attachments(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<Object>, ApiError> {
    Ok(attachments(ec2, filters).await?.iter().filter_map(attachment_object).collect())
}

fn attachment_object(attachment: &TransitGatewayVpcAttachment) -> Option<Object> {
    let id = attachment.transit_gateway_attachment_id()?;
    let gateway = attachment.transit_gateway_id().unwrap_or_default();
    let subnets = attachment.subnet_ids().iter().map(|s| Value::from(s.as_str())).collect();
    let observed = attributes([
        ("transit_gateway_id", gateway.into()),
        ("vpc_id", opt(attachment.vpc_id())),
        ("subnet_ids", Value::List(subnets)),
    ]);
    Some(Object { outputs: attachment_outputs(id, gateway), ..Object::tagged(id, attachment.tags(), observed) })
}

async fn update_attachment(ctx: &Ctx<'_>, change: Change<'_>) -> ProviderResult<Applied> {
    change.only(&["subnet_ids"])?;
    let (old, new) = (change.before.strings("subnet_ids")?, change.after.strings("subnet_ids")?);
    let add: Vec<String> = new.iter().filter(|s| !old.contains(s)).cloned().collect();
    let remove: Vec<String> = old.iter().filter(|s| !new.contains(s)).cloned().collect();
    if !add.is_empty() || !remove.is_empty() {
        let request = ctx.ec2().modify_transit_gateway_vpc_attachment().transit_gateway_attachment_id(change.id);
        let request = request.set_add_subnet_ids(Some(add).filter(|a| !a.is_empty()));
        let request = request.set_remove_subnet_ids(Some(remove).filter(|r| !r.is_empty()));
        request.send().await.map_err(ctx.fail("changing the attachment's subnets"))?;
    }
    let outputs = attachment_outputs(change.id, change.after.str("transit_gateway_id")?);
    Ok(Applied { provider_id: change.id.to_owned(), outputs })
}

async fn delete_attachment(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let delete = ctx.ec2().delete_transit_gateway_vpc_attachment().transit_gateway_attachment_id(id).send();
    delete_existing(ctx, "the transit gateway attachment", attachment_state(ctx.ec2(), id).await, delete).await
}

async fn peerings(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<TransitGatewayPeeringAttachment>, ApiError> {
    live(ec2.describe_transit_gateway_peering_attachments().set_filters(Some(filters)).into_paginator().items().send())
        .await
}

async fn peering_state(ec2: &Client, id: &str) -> Result<Option<String>, ApiError> {
    state_of(peerings(ec2, vec![filter("transit-gateway-attachment-id", [id])])).await
}

async fn request_peering(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Object> {
    let gateway = inputs.str("transit_gateway_id")?;
    // Both gateways are this account's; the API still wants the account id spelled out.
    let mine = gateways(ctx.ec2(), vec![filter("transit-gateway-id", [gateway])])
        .await
        .map_err(ctx.fail("looking up the transit gateway's account"))?;
    let account = mine.first().and_then(|g| g.owner_id()).map(str::to_owned);
    let tags = ctx.ec2_tags(ResourceType::TransitGatewayAttachment, inputs.address, None);
    let request = ctx.ec2().create_transit_gateway_peering_attachment().transit_gateway_id(gateway);
    let request = request.peer_transit_gateway_id(inputs.str("peer_transit_gateway_id")?);
    let request = request.peer_region(inputs.str("peer_region")?).set_peer_account_id(account);
    let out = request.tag_specifications(tags).send().await;
    let out = out.map_err(ctx.fail("requesting the transit gateway peering"))?;
    let attachment = out.transit_gateway_peering_attachment();
    made(ctx, "the transit gateway peering", attachment.and_then(|a| a.transit_gateway_attachment_id()))
}

/// Waits until the request has reached the accepter (pending acceptance, or further).
async fn wait_requested(ctx: &Ctx<'_>, peering: Object) -> ProviderResult<Applied> {
    let id = &peering.id;
    let states = ["pendingAcceptance", "pending-acceptance", "available"];
    wait_state(ctx, &format!("transit gateway peering {id}"), &states, || peering_state(ctx.ec2(), id)).await?;
    Ok(peering.applied())
}

async fn describe_peerings(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<Object>, ApiError> {
    Ok(peerings(ec2, filters).await?.iter().filter_map(peering_object).collect())
}

fn peering_object(peering: &TransitGatewayPeeringAttachment) -> Option<Object> {
    let (requester, accepter) = (peering.requester_tgw_info(), peering.accepter_tgw_info());
    let gateway = requester.and_then(|i| i.transit_gateway_id());
    let observed = requested(
        "transit_gateway_id",
        gateway,
        accepter.and_then(|i| i.transit_gateway_id()),
        accepter.and_then(|i| i.region()),
    );
    Some(Object::tagged(peering.transit_gateway_attachment_id()?, peering.tags(), observed))
}

async fn delete_peering(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let delete = ctx.ec2().delete_transit_gateway_peering_attachment().transit_gateway_attachment_id(id).send();
    delete_existing(ctx, "the transit gateway peering", peering_state(ctx.ec2(), id).await, delete).await
}

async fn accept(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Object> {
    let id = inputs.str("attachment_id")?;
    let what = format!("transit gateway peering {id}");
    let states = ["pendingAcceptance", "pending-acceptance", "available"];
    wait_state(ctx, &what, &states, || peering_state(ctx.ec2(), id)).await?;
    let state = peering_state(ctx.ec2(), id).await.map_err(ctx.fail(&format!("looking at {what}")))?;
    if state.as_deref() != Some("available") {
        let request = ctx.ec2().accept_transit_gateway_peering_attachment().transit_gateway_attachment_id(id);
        request.send().await.map_err(ctx.fail(&format!("accepting {what}")))?;
    }
    wait_state(ctx, &what, &["available"], || peering_state(ctx.ec2(), id)).await?;
    Ok(accepter(id, "attachment_id"))
}

fn accepter_object(p: &TransitGatewayPeeringAttachment) -> Option<Object> {
    let id = p.transit_gateway_attachment_id()?;
    (p.state().map(|s| s.as_str()) == Some("available")).then(|| accepter(id, "attachment_id"))
}

/// The accepters of the peerings with these ids, in one DescribeTransitGatewayPeeringAttachments.
async fn accepted(ctx: &Ctx<'_>, ids: Vec<String>) -> ProviderResult<Vec<Object>> {
    let found = peerings(ctx.ec2(), vec![filter("transit-gateway-attachment-id", ids)]).await;
    Ok(found.map_err(ctx.fail("listing transit gateway peerings"))?.iter().filter_map(accepter_object).collect())
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

/// The default route table of `gateway`, if it has one yet.
async fn route_table(ctx: &Ctx<'_>, gateway: &str) -> ProviderResult<Option<String>> {
    Ok(route_tables(ctx, vec![gateway.to_owned()]).await?.into_iter().next().map(|(_, table)| table))
}

fn route_id(table: &str, destination: &str) -> String {
    format!("{table}_{destination}")
}

/// A route's table, destination and attachment, as the inputs say.
struct Wanted<'a> {
    table: String,
    destination: &'a str,
    attachment: &'a str,
}

impl<'a> Wanted<'a> {
    async fn of(ctx: &Ctx<'_>, inputs: Inputs<'a>) -> ProviderResult<Wanted<'a>> {
        let gateway = inputs.str("transit_gateway_id")?;
        let table = route_table(ctx, gateway).await?.ok_or_else(|| {
            ProviderError::retryable(format!(
                "{}: transit gateway {gateway} has no default route table yet",
                ctx.subject
            ))
        })?;
        Ok(Wanted {
            table,
            destination: inputs.str("destination_cidr_block")?,
            attachment: inputs.str("attachment_id")?,
        })
    }
}

async fn create_route(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Object> {
    let Wanted { table, destination, attachment } = Wanted::of(ctx, inputs).await?;
    let request = ctx.ec2().create_transit_gateway_route().transit_gateway_route_table_id(&table);
    let request = request.destination_cidr_block(destination).transit_gateway_attachment_id(attachment);
    request.send().await.map_err(ctx.fail(&format!("adding the transit gateway route to {destination}")))?;
    Ok(Object {
        observed: attributes([("attachment_id", attachment.into())]),
        ..Object::new(route_id(&table, destination))
    })
}

/// Points a found route at the wanted attachment, if it points elsewhere.
async fn point_route(ctx: &Ctx<'_>, inputs: Inputs<'_>, route: Object) -> ProviderResult<Applied> {
    if !route.reports("attachment_id", inputs.str("attachment_id")?) {
        replace_route(ctx, inputs).await?;
    }
    Ok(route.applied())
}

async fn replace_route(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<()> {
    let Wanted { table, destination, attachment } = Wanted::of(ctx, inputs).await?;
    let request = ctx.ec2().replace_transit_gateway_route().transit_gateway_route_table_id(table);
    let request = request.destination_cidr_block(destination).transit_gateway_attachment_id(attachment);
    request
        .send()
        .await
        .map_err(ctx.fail(&format!("pointing the transit gateway route to {destination} elsewhere")))?;
    Ok(())
}

async fn update_route(ctx: &Ctx<'_>, change: Change<'_>) -> ProviderResult<Applied> {
    change.only(&["attachment_id"])?;
    replace_route(ctx, change.after).await?;
    Ok(Object::new(change.id).applied())
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
    let request = ctx.ec2().search_transit_gateway_routes().transit_gateway_route_table_id(table);
    let out = request.set_filters(Some(filters)).send().await.map_err(ctx.fail("listing transit gateway routes"))?;
    Ok(out
        .routes()
        .iter()
        .filter(|r| {
            r.state() != Some(&TransitGatewayRouteState::Deleted)
                && r.state() != Some(&TransitGatewayRouteState::Deleting)
        })
        .filter_map(|r| {
            let destination = r.destination_cidr_block()?;
            let attachment = r.transit_gateway_attachments().first().and_then(|a| a.transit_gateway_attachment_id());
            let mut observed =
                attributes([("transit_gateway_id", gateway.into()), ("destination_cidr_block", destination.into())]);
            // A blackhole route has lost its attachment; an active one always names it (moto
            // omits peering attachments of other regions, so an active route without one says nothing).
            if attachment.is_some() || r.state() == Some(&TransitGatewayRouteState::Blackhole) {
                observed.insert("attachment_id".to_owned(), opt(attachment));
            }
            Some(Object { observed, ..Object::new(route_id(table, destination)) })
        })
        .collect())
}

/// The route the inputs name, and its table; `None` when the route (or its gateway) is gone.
async fn route_at(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Option<(String, Object)>> {
    let gateway = inputs.str("transit_gateway_id")?;
    let Some(table) = route_table(ctx, gateway).await? else { return Ok(None) };
    let found = static_routes(ctx, &table, gateway, Some(inputs.str("destination_cidr_block")?)).await?;
    Ok(found.into_iter().next().map(|route| (table, route)))
}

async fn find_route(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Option<Object>> {
    Ok(route_at(ctx, inputs).await?.map(|(_, route)| route))
}

/// One DescribeTransitGateways for the tracked routes' gateways, then one
/// SearchTransitGatewayRoutes per gateway route table (the API searches one table at a time).
async fn read_routes(ctx: &Ctx<'_>, tracked: &[Tracked]) -> ProviderResult<Vec<Observed>> {
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

async fn delete_route(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<()> {
    // Looking first keeps a repeated delete quiet (moto answers 500 for a missing route).
    let Some((table, _)) = route_at(ctx, inputs).await? else { return Ok(()) };
    let request = ctx.ec2().delete_transit_gateway_route().transit_gateway_route_table_id(table);
    let result = request.destination_cidr_block(inputs.str("destination_cidr_block")?).send().await;
    deleted(ctx, "deleting the transit gateway route", result)
}
