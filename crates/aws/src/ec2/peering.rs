//! Cross-region VPC peering: requested in the requester's region, accepted in the accepter's
//! (AWS refuses acceptance from the requester's side), both sides waiting out the states AWS
//! moves through (initiating-request → pending-acceptance → provisioning → active).

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{Filter, ResourceType, VpcPeeringConnection};
use ringform_core::Value;
use ringform_core::provider::{Applied, Observed, ProviderError, ProviderResult, Tracked};

use super::vpc::created;
use super::{deleted, find_tagged, id_output, match_by_id, named, opt};
use crate::attrs::{Inputs, attributes};
use crate::context::{Ctx, Object};
use crate::errors::ApiError;
use crate::tags::{self, filter};
use crate::wait::{self, Poll};

/// States in which a peering is gone for good.
const ENDED: [&str; 4] = ["deleted", "rejected", "failed", "expired"];

fn status(peering: &VpcPeeringConnection) -> &str {
    peering.status().and_then(|s| s.code()).map_or("unknown", |c| c.as_str())
}

/// Peerings in any state, ended ones included.
async fn all_peerings(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<VpcPeeringConnection>, ApiError> {
    let pages = ec2.describe_vpc_peering_connections().set_filters(Some(filters)).into_paginator().items().send();
    Ok(pages.collect::<Result<Vec<_>, _>>().await?)
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

pub(super) async fn create_peering(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Applied> {
    let id = match find_tagged(ctx, inputs.address).await? {
        Some(existing) => existing.id,
        None => {
            let spec =
                tags::ec2_spec(ResourceType::VpcPeeringConnection, &ctx.tags(inputs.address, inputs.opt_str("name")?));
            let out = ctx
                .ec2()
                .create_vpc_peering_connection()
                .vpc_id(inputs.str("vpc_id")?)
                .peer_vpc_id(inputs.str("peer_vpc_id")?)
                .peer_region(inputs.str("peer_region")?)
                .tag_specifications(spec)
                .send()
                .await
                .map_err(ctx.fail("requesting the VPC peering"))?;
            created(ctx, "the VPC peering", out.vpc_peering_connection().and_then(|p| p.vpc_peering_connection_id()))?
        }
    };
    wait_for(ctx, &id, &["pending-acceptance", "provisioning", "active"]).await?;
    Ok(Applied { provider_id: id.clone(), outputs: id_output(&id) })
}

pub(super) async fn describe_peerings(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<Object>, ApiError> {
    Ok(peerings(ec2, filters)
        .await?
        .iter()
        .filter_map(|peering| {
            let id = peering.vpc_peering_connection_id()?;
            let tags = tags::ec2_map(peering.tags());
            let requester = peering.requester_vpc_info();
            let accepter = peering.accepter_vpc_info();
            let observed = named(
                &tags,
                attributes([
                    ("vpc_id", opt(requester.and_then(|v| v.vpc_id()))),
                    ("peer_vpc_id", opt(accepter.and_then(|v| v.vpc_id()))),
                    ("peer_region", opt(accepter.and_then(|v| v.region()))),
                ]),
            );
            Some(Object { id: id.to_owned(), tags, observed, outputs: id_output(id) })
        })
        .collect())
}

pub(super) async fn delete_peering(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let result = ctx.ec2().delete_vpc_peering_connection().vpc_peering_connection_id(id).send().await;
    deleted(ctx, "deleting the VPC peering", result)
}

fn accepter_outputs(id: &str) -> ringform_core::Attributes {
    attributes([("id", id.into()), ("peering_id", id.into())])
}

/// Accepts the peering from the accepter's region once it is pending acceptance there, and
/// waits until it is active. Accepting an active peering is a no-op.
pub(super) async fn create_accepter(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Applied> {
    let id = inputs.str("peering_id")?;
    let peering = wait_for(ctx, id, &["pending-acceptance", "provisioning", "active"]).await?;
    if status(&peering) == "pending-acceptance" {
        ctx.ec2()
            .accept_vpc_peering_connection()
            .vpc_peering_connection_id(id)
            .send()
            .await
            .map_err(ctx.fail(&format!("accepting VPC peering {id}")))?;
    }
    wait_for(ctx, id, &["active"]).await?;
    Ok(Applied { provider_id: id.to_owned(), outputs: accepter_outputs(id) })
}

fn accepter_object(peering: &VpcPeeringConnection) -> Option<Object> {
    let id = peering.vpc_peering_connection_id()?;
    (status(peering) == "active").then(|| Object {
        id: id.to_owned(),
        observed: attributes([("peering_id", Value::from(id))]),
        outputs: accepter_outputs(id),
        ..Object::default()
    })
}

/// Acceptance is a state of the peering, so the accepter is found by the peering's id: it
/// exists while the peering is active.
pub(super) async fn find_accepter(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Option<Object>> {
    let id = inputs.str("peering_id")?;
    let found = peerings_with_id(ctx.ec2(), id).await.map_err(ctx.fail(&format!("looking at VPC peering {id}")))?;
    Ok(found.iter().find_map(accepter_object))
}

/// One DescribeVpcPeeringConnections for every tracked accepter of the region.
pub(super) async fn read_accepters(ctx: &Ctx<'_>, tracked: &[Tracked]) -> ProviderResult<Vec<Observed>> {
    let ids: Vec<String> = tracked.iter().map(|t| t.provider_id.clone()).collect();
    let found = peerings(ctx.ec2(), vec![filter("vpc-peering-connection-id", ids)])
        .await
        .map_err(ctx.fail("listing VPC peerings"))?;
    Ok(match_by_id(found.iter().filter_map(accepter_object).collect(), tracked))
}
