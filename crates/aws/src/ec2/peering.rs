//! Cross-region VPC peering: requested in the requester's region, accepted in the accepter's
//! (AWS refuses acceptance from the requester's side), both sides waiting out the states AWS
//! moves through (initiating-request → pending-acceptance → provisioning → active).

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{Filter, ResourceType, VpcPeeringConnection};
use ringform_core::provider::{Applied, Observed, ProviderError, ProviderResult, Tracked};
use ringform_core::{Attributes, Inputs};
use ringform_schema::aws;

use super::{all, deleted, made, nothing_to_delete, opt, rename_only};
use crate::attrs::attributes;
use crate::context::{Ctx, Object};
use crate::errors::ApiError;
use crate::kinds::{Lookup, Spec, match_by_id, ready};
use crate::tags::filter;
use crate::wait::{self, Poll};

pub(crate) static PEERING: Spec = Spec {
    kind: aws::VPC_PEERING,
    lookup: Lookup::Tagged(|ec2, filters| Box::pin(describe_peerings(ec2, filters))),
    create: |ctx, inputs| Box::pin(request_peering(ctx, inputs)),
    settle: |ctx, _, peering| Box::pin(wait_requested(ctx, peering)),
    update: rename_only,
    delete: |ctx, _, id| Box::pin(delete_peering(ctx, id)),
};

/// Acceptance is a state of the peering, so the accepter is the peering seen from the accepter's
/// region: found by the peering's id, existing while the peering is active.
pub(crate) static ACCEPTER: Spec = Spec {
    kind: aws::VPC_PEERING_ACCEPTER,
    lookup: Lookup::Keyed {
        find: |ctx, inputs| Box::pin(find_accepter(ctx, inputs, "peering_id", accepted)),
        read: |ctx, tracked| Box::pin(read_accepters(ctx, tracked, accepted)),
    },
    create: |ctx, inputs| Box::pin(accept(ctx, inputs)),
    settle: ready,
    update: rename_only,
    delete: nothing_to_delete,
};

/// States in which a peering is gone for good.
const ENDED: [&str; 4] = ["deleted", "rejected", "failed", "expired"];

fn status(peering: &VpcPeeringConnection) -> &str {
    peering.status().and_then(|s| s.code()).map_or("unknown", |c| c.as_str())
}

/// Peerings in any state, ended ones included.
async fn all_peerings(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<VpcPeeringConnection>, ApiError> {
    all(ec2.describe_vpc_peering_connections().set_filters(Some(filters)).into_paginator().items().send()).await
}

/// Peerings that still exist.
async fn peerings(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<VpcPeeringConnection>, ApiError> {
    let all = all_peerings(ec2, filters).await?;
    Ok(all.into_iter().filter(|p| !ENDED.contains(&status(p))).collect())
}

/// The peerings listed under `id` (the filter narrows the call; the id is checked here too,
/// because moto ignores the filter and lists every peering of the region).
async fn peerings_with_id(ec2: &Client, id: &str) -> Result<Vec<VpcPeeringConnection>, ApiError> {
    let all = all_peerings(ec2, vec![filter("vpc-peering-connection-id", [id])]).await?;
    Ok(all.into_iter().filter(|p| p.vpc_peering_connection_id() == Some(id)).collect())
}

/// Waits until the peering `id` (seen from this region) reaches one of `states`, and returns it.
async fn wait_for(ctx: &Ctx<'_>, id: &str, states: &[&str]) -> ProviderResult<VpcPeeringConnection> {
    let what = format!("VPC peering {id} ({}) to become {}", ctx.region, states.join(" or "));
    wait::until(ctx.settings.poll_interval, ctx.settings.peering_timeout, &what, || async {
        let found = peerings_with_id(ctx.ec2(), id).await.map_err(ctx.fail(&format!("looking at VPC peering {id}")))?;
        let Some(peering) = found.into_iter().next() else { return Ok(Poll::Pending("not visible yet".into())) };
        let state = status(&peering).to_owned();
        if states.contains(&state.as_str()) {
            return Ok(Poll::Ready(peering));
        }
        if ENDED.contains(&state.as_str()) {
            let why = peering.status().and_then(|s| s.message()).unwrap_or("no reason given").to_owned();
            return Err(ProviderError::fatal(format!(
                "{}: VPC peering {id} is {state}: {why}; check that the CIDR blocks do not overlap and the peer VPC exists",
                ctx.subject
            )));
        }
        Ok(Poll::Pending(state))
    })
    .await
}

async fn request_peering(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Object> {
    let tags = ctx.ec2_tags(ResourceType::VpcPeeringConnection, inputs.address, inputs.opt_str("name")?);
    let request = ctx.ec2().create_vpc_peering_connection().vpc_id(inputs.str("vpc_id")?);
    let request = request.peer_vpc_id(inputs.str("peer_vpc_id")?).peer_region(inputs.str("peer_region")?);
    let out = request.tag_specifications(tags).send().await.map_err(ctx.fail("requesting the VPC peering"))?;
    made(ctx, "the VPC peering", out.vpc_peering_connection().and_then(|p| p.vpc_peering_connection_id()))
}

/// Waits until the request has reached the accepter (pending acceptance, or further).
async fn wait_requested(ctx: &Ctx<'_>, peering: Object) -> ProviderResult<Applied> {
    wait_for(ctx, &peering.id, &["pending-acceptance", "provisioning", "active"]).await?;
    Ok(peering.applied())
}

async fn describe_peerings(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<Object>, ApiError> {
    Ok(peerings(ec2, filters).await?.iter().filter_map(peering_object).collect())
}

fn peering_object(peering: &VpcPeeringConnection) -> Option<Object> {
    let (requester, accepter) = (peering.requester_vpc_info(), peering.accepter_vpc_info());
    let (vpc, peer_vpc) = (requester.and_then(|v| v.vpc_id()), accepter.and_then(|v| v.vpc_id()));
    let observed = requested("vpc_id", vpc, peer_vpc, accepter.and_then(|v| v.region()));
    Some(Object::tagged(peering.vpc_peering_connection_id()?, peering.tags(), observed).named())
}

/// What AWS reports of a peering request, VPC or transit gateway: the requester's `{side}`,
/// the accepter's `peer_{side}`, and the accepter's region.
pub(super) fn requested(side: &str, own: Option<&str>, peer: Option<&str>, peer_region: Option<&str>) -> Attributes {
    let peer_side = format!("peer_{side}");
    attributes([(side, opt(own)), (&peer_side, opt(peer)), ("peer_region", opt(peer_region))])
}

async fn delete_peering(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let result = ctx.ec2().delete_vpc_peering_connection().vpc_peering_connection_id(id).send().await;
    deleted(ctx, "deleting the VPC peering", result)
}

/// The accepter of peering `id` (VPC or transit gateway), which it names under `key`.
pub(super) fn accepter(id: &str, key: &str) -> Object {
    Object {
        observed: attributes([(key, id.into())]),
        outputs: attributes([("id", id.into()), (key, id.into())]),
        ..Object::new(id)
    }
}

/// Accepts the peering from the accepter's region once it is pending acceptance there, and
/// waits until it is active. Accepting an active peering is a no-op.
async fn accept(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Object> {
    let id = inputs.str("peering_id")?;
    let peering = wait_for(ctx, id, &["pending-acceptance", "provisioning", "active"]).await?;
    if status(&peering) == "pending-acceptance" {
        let request = ctx.ec2().accept_vpc_peering_connection().vpc_peering_connection_id(id);
        request.send().await.map_err(ctx.fail(&format!("accepting VPC peering {id}")))?;
    }
    wait_for(ctx, id, &["active"]).await?;
    Ok(accepter(id, "peering_id"))
}

fn accepter_object(peering: &VpcPeeringConnection) -> Option<Object> {
    let id = peering.vpc_peering_connection_id()?;
    (status(peering) == "active").then(|| accepter(id, "peering_id"))
}

/// The accepters of the peerings with these ids, in one DescribeVpcPeeringConnections.
async fn accepted(ctx: &Ctx<'_>, ids: Vec<String>) -> ProviderResult<Vec<Object>> {
    let found = peerings(ctx.ec2(), vec![filter("vpc-peering-connection-id", ids)]).await;
    Ok(found.map_err(ctx.fail("listing VPC peerings"))?.iter().filter_map(accepter_object).collect())
}

/// The find of an accepter, VPC or transit gateway: the accepter of the peering its inputs name
/// under `key`, as `accepted` lists it. Checks the id, because moto ignores the filter and
/// lists every peering of the region.
pub(super) async fn find_accepter<'a, Fut>(
    ctx: &'a Ctx<'a>,
    inputs: Inputs<'a>,
    key: &str,
    accepted: impl FnOnce(&'a Ctx<'a>, Vec<String>) -> Fut,
) -> ProviderResult<Option<Object>>
where
    Fut: Future<Output = ProviderResult<Vec<Object>>>,
{
    let id = inputs.str(key)?;
    Ok(accepted(ctx, vec![id.to_owned()]).await?.into_iter().find(|o| o.id == id))
}

/// The read of accepters, VPC or transit gateway: one listing for all of them.
pub(super) async fn read_accepters<'a, Fut>(
    ctx: &'a Ctx<'a>,
    tracked: &'a [Tracked],
    accepted: impl FnOnce(&'a Ctx<'a>, Vec<String>) -> Fut,
) -> ProviderResult<Vec<Observed>>
where
    Fut: Future<Output = ProviderResult<Vec<Object>>>,
{
    let ids = tracked.iter().map(|t| t.provider_id.clone()).collect();
    Ok(match_by_id(accepted(ctx, ids).await?, tracked))
}
