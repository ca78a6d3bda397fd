//! Route tables, their subnet associations, and routes. Associations and routes cannot carry
//! tags, so they are read from their (tagged) tables and found by their natural keys: subnet,
//! or table and destination.

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{Filter, ResourceType, Route, RouteTable};
use ringform_core::provider::{Applied, Observed, ProviderError, ProviderResult, Tracked};
use ringform_core::{Kind, Value};
use ringform_schema::aws;

use super::vpc::created;
use super::{delete_when_free, deleted, find_tagged, id_output, named, opt};
use crate::attrs::{Inputs, attributes, only_updatable};
use crate::context::{Ctx, Object};
use crate::errors::ApiError;
use crate::tags::{self, filter};

/// The attributes a route's target can be given by.
const TARGETS: [&str; 3] = ["gateway_id", "vpc_peering_connection_id", "transit_gateway_id"];

pub(super) async fn create_table(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Applied> {
    let id = match find_tagged(ctx, inputs.address).await? {
        Some(existing) => existing.id,
        None => {
            let spec = tags::ec2_spec(ResourceType::RouteTable, &ctx.tags(inputs.address, inputs.opt_str("name")?));
            let out = ctx
                .ec2()
                .create_route_table()
                .vpc_id(inputs.str("vpc_id")?)
                .tag_specifications(spec)
                .send()
                .await
                .map_err(ctx.fail("creating the route table"))?;
            created(ctx, "the route table", out.route_table().and_then(|t| t.route_table_id()))?
        }
    };
    Ok(Applied { provider_id: id.clone(), outputs: id_output(&id) })
}

async fn tables(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<RouteTable>, ApiError> {
    let pages = ec2.describe_route_tables().set_filters(Some(filters)).into_paginator().items().send();
    Ok(pages.collect::<Result<Vec<_>, _>>().await?)
}

pub(super) async fn describe_tables(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<Object>, ApiError> {
    Ok(tables(ec2, filters)
        .await?
        .into_iter()
        .filter_map(|table| {
            let id = table.route_table_id()?;
            let tags = tags::ec2_map(table.tags());
            let observed = named(&tags, attributes([("vpc_id", opt(table.vpc_id()))]));
            Some(Object { id: id.to_owned(), tags, observed, outputs: id_output(id) })
        })
        .collect())
}

pub(super) async fn delete_table(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let ec2 = ctx.ec2();
    delete_when_free(
        ctx,
        &format!("route table {id}"),
        || async {
            ec2.delete_route_table().route_table_id(id).send().await?;
            Ok(())
        },
        || async {
            let tables = tables(ec2, vec![filter("route-table-id", [id])]).await?;
            Ok(tables
                .iter()
                .flat_map(|t| t.associations())
                .filter_map(|a| {
                    Some(format!("{} (association with {})", a.route_table_association_id()?, a.subnet_id()?))
                })
                .collect())
        },
    )
    .await
}

pub(super) async fn create_association(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Applied> {
    let id = match find_association(ctx, inputs).await? {
        Some(existing) => existing.id,
        None => {
            let out = ctx
                .ec2()
                .associate_route_table()
                .subnet_id(inputs.str("subnet_id")?)
                .route_table_id(inputs.str("route_table_id")?)
                .send()
                .await
                .map_err(ctx.fail("associating the route table with the subnet"))?;
            created(ctx, "the route table association", out.association_id())?
        }
    };
    Ok(Applied { provider_id: id.clone(), outputs: id_output(&id) })
}

/// The subnet's explicit association, when it is with the wanted table.
pub(super) async fn find_association(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Option<Object>> {
    let subnet = inputs.str("subnet_id")?;
    let table = inputs.str("route_table_id")?;
    let found = tables(ctx.ec2(), vec![filter("association.subnet-id", [subnet])])
        .await
        .map_err(ctx.fail("looking up the subnet's route table"))?;
    // The filter picks the table; the table lists the associations of all its subnets.
    let is = |o: &Object, key: &str, value: &str| o.observed.get(key).and_then(Value::as_str) == Some(value);
    Ok(associations(&found).into_iter().find(|o| is(o, "subnet_id", subnet) && is(o, "route_table_id", table)))
}

fn associations(tables: &[RouteTable]) -> Vec<Object> {
    tables
        .iter()
        .flat_map(|t| t.associations())
        .filter(|a| a.main() != Some(true))
        .filter(|a| a.association_state().and_then(|s| s.state()).is_none_or(|s| s.as_str() == "associated"))
        .filter_map(|a| {
            let id = a.route_table_association_id()?;
            let observed = attributes([("subnet_id", opt(a.subnet_id())), ("route_table_id", opt(a.route_table_id()))]);
            Some(Object { id: id.to_owned(), observed, outputs: id_output(id), ..Object::default() })
        })
        .collect()
}

pub(super) async fn delete_association(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let result = ctx.ec2().disassociate_route_table().association_id(id).send().await;
    deleted(ctx, "removing the route table association", result)
}

/// The id of a route: AWS gives routes none, so it is the table and destination.
fn route_id(table: &str, destination: &str) -> String {
    format!("{table}_{destination}")
}

pub(super) async fn create_route(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Applied> {
    let table = inputs.str("route_table_id")?;
    let destination = inputs.str("destination_cidr_block")?;
    let (target, value) = target(inputs)?;
    let request = ctx.ec2().create_route().route_table_id(table).destination_cidr_block(destination);
    let request = match target {
        "gateway_id" => request.gateway_id(value),
        "vpc_peering_connection_id" => request.vpc_peering_connection_id(value),
        _ => request.transit_gateway_id(value),
    };
    if let Err(error) = request.send().await.map(drop).map_err(ApiError::from) {
        // A retried create finds its own route; a route somebody else made is not adopted.
        let existing = match error.code() {
            "RouteAlreadyExists" => find_route(ctx, inputs).await?,
            _ => None,
        };
        let same = existing.is_some_and(|o| o.observed.get(target).and_then(Value::as_str) == Some(value));
        if !same {
            return Err(ctx.fail(&format!("adding the route to {destination} in {table}"))(error));
        }
    }
    let id = route_id(table, destination);
    Ok(Applied { provider_id: id.clone(), outputs: id_output(&id) })
}

/// The one target attribute the inputs set.
fn target<'a>(inputs: Inputs<'a>) -> ProviderResult<(&'static str, &'a str)> {
    let mut set = Vec::new();
    for key in TARGETS {
        if let Some(value) = inputs.opt_str(key)? {
            set.push((key, value));
        }
    }
    match set.as_slice() {
        [one] => Ok(*one),
        _ => Err(ProviderError::fatal(format!(
            "{}: a route needs exactly one of {}; this is a bug in the resource graph",
            inputs.address,
            TARGETS.join(", ")
        ))),
    }
}

pub(super) async fn update_route(
    ctx: &Ctx<'_>,
    after: Inputs<'_>,
    id: &str,
    changed: &[String],
) -> ProviderResult<Applied> {
    only_updatable(after.address, changed, &TARGETS)?;
    let (target, value) = target(after)?;
    let request = ctx
        .ec2()
        .replace_route()
        .route_table_id(after.str("route_table_id")?)
        .destination_cidr_block(after.str("destination_cidr_block")?);
    let request = match target {
        "gateway_id" => request.gateway_id(value),
        "vpc_peering_connection_id" => request.vpc_peering_connection_id(value),
        _ => request.transit_gateway_id(value),
    };
    request.send().await.map_err(ctx.fail("changing the route's target"))?;
    Ok(Applied { provider_id: id.to_owned(), outputs: id_output(id) })
}

fn route_object(table: &str, route: &Route) -> Option<Object> {
    let destination = route.destination_cidr_block()?;
    let id = route_id(table, destination);
    let observed = attributes([
        ("route_table_id", table.into()),
        ("destination_cidr_block", destination.into()),
        ("gateway_id", opt(route.gateway_id())),
        ("vpc_peering_connection_id", opt(route.vpc_peering_connection_id())),
        ("transit_gateway_id", opt(route.transit_gateway_id())),
    ]);
    Some(Object { outputs: id_output(&id), id, observed, ..Object::default() })
}

pub(super) async fn find_route(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Option<Object>> {
    let table = inputs.str("route_table_id")?;
    let destination = inputs.str("destination_cidr_block")?;
    let found = match tables(ctx.ec2(), vec![filter("route-table-id", [table])]).await {
        Ok(found) => found,
        Err(error) if error.is_not_found() => return Ok(None),
        Err(error) => return Err(ctx.fail("looking up the route")(error)),
    };
    Ok(found
        .iter()
        .flat_map(|t| t.routes())
        .filter(|r| r.destination_cidr_block() == Some(destination))
        .find_map(|r| route_object(table, r)))
}

pub(super) async fn delete_route(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<()> {
    let result = ctx
        .ec2()
        .delete_route()
        .route_table_id(inputs.str("route_table_id")?)
        .destination_cidr_block(inputs.str("destination_cidr_block")?)
        .send()
        .await;
    deleted(ctx, "deleting the route", result)
}

/// Routes and associations of the deployment: one DescribeRouteTables of its tagged tables.
pub(super) async fn read_untagged(ctx: &Ctx<'_>, kind: Kind, tracked: &[Tracked]) -> ProviderResult<Vec<Observed>> {
    let found = tables(ctx.ec2(), tags::owned_filters(ctx.deployment))
        .await
        .map_err(ctx.fail("listing the deployment's route tables"))?;
    let objects: Vec<Object> = match kind {
        aws::ROUTE_TABLE_ASSOCIATION => associations(&found),
        _ => found
            .iter()
            .flat_map(|t| t.routes().iter().filter_map(|r| route_object(t.route_table_id().unwrap_or_default(), r)))
            .collect(),
    };
    Ok(super::match_by_id(objects, tracked))
}
