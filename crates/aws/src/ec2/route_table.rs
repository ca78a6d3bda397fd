//! Route tables, their subnet associations, and routes. Associations and routes cannot carry
//! tags, so they are read from their (tagged) tables and found by their natural keys: subnet,
//! or table and destination.

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{Filter, ResourceType, Route, RouteTable};
use ringform_core::Inputs;
use ringform_core::provider::{Applied, Observed, ProviderError, ProviderResult, Tracked};
use ringform_schema::aws;

use super::{all, delete_when_free, deleted, listed, made, opt, rename_only};
use crate::attrs::attributes;
use crate::context::{Ctx, Object};
use crate::errors::ApiError;
use crate::kinds::{Change, Lookup, Spec, match_by_id, ready};
use crate::tags::{self, filter};

pub(crate) static ROUTE_TABLE: Spec = Spec {
    kind: aws::ROUTE_TABLE,
    lookup: Lookup::Tagged(|ec2, filters| Box::pin(describe_tables(ec2, filters))),
    create: |ctx, inputs| Box::pin(create_table(ctx, inputs)),
    settle: ready,
    update: rename_only,
    delete: |ctx, _, id| Box::pin(delete_table(ctx, id)),
};

pub(crate) static ASSOCIATION: Spec = Spec {
    kind: aws::ROUTE_TABLE_ASSOCIATION,
    lookup: Lookup::Keyed {
        find: |ctx, inputs| Box::pin(find_association(ctx, inputs)),
        read: |ctx, tracked| Box::pin(read_associations(ctx, tracked)),
    },
    create: |ctx, inputs| Box::pin(create_association(ctx, inputs)),
    settle: ready,
    update: rename_only,
    delete: |ctx, _, id| Box::pin(delete_association(ctx, id)),
};

pub(crate) static ROUTE: Spec = Spec {
    kind: aws::ROUTE,
    lookup: Lookup::Keyed {
        find: |ctx, inputs| Box::pin(find_route(ctx, inputs)),
        read: |ctx, tracked| Box::pin(read_routes(ctx, tracked)),
    },
    create: |ctx, inputs| Box::pin(create_route(ctx, inputs)),
    settle: |ctx, inputs, route| Box::pin(adopt_route(ctx, inputs, route)),
    update: |ctx, change| Box::pin(update_route(ctx, change)),
    delete: |ctx, inputs, _| Box::pin(delete_route(ctx, inputs)),
};

/// The attributes a route's target can be given by.
const TARGETS: [&str; 3] = ["gateway_id", "vpc_peering_connection_id", "transit_gateway_id"];

async fn create_table(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Object> {
    let tags = ctx.ec2_tags(ResourceType::RouteTable, inputs.address, inputs.opt_str("name")?);
    let request = ctx.ec2().create_route_table().vpc_id(inputs.str("vpc_id")?).tag_specifications(tags);
    let out = request.send().await.map_err(ctx.fail("creating the route table"))?;
    made(ctx, "the route table", out.route_table().and_then(|t| t.route_table_id()))
}

async fn tables(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<RouteTable>, ApiError> {
    all(ec2.describe_route_tables().set_filters(Some(filters)).into_paginator().items().send()).await
}

async fn describe_tables(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<Object>, ApiError> {
    listed(ec2.describe_route_tables().set_filters(Some(filters)).into_paginator().items().send(), table_object).await
}

fn table_object(table: &RouteTable) -> Option<Object> {
    let observed = attributes([("vpc_id", opt(table.vpc_id()))]);
    Some(Object::tagged(table.route_table_id()?, table.tags(), observed).named())
}

async fn delete_table(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let ec2 = ctx.ec2();
    let associations = || async {
        let tables = tables(ec2, vec![filter("route-table-id", [id])]).await?;
        let associations = tables.iter().flat_map(|t| t.associations());
        Ok(associations
            .filter_map(|a| Some(format!("{} (association with {})", a.route_table_association_id()?, a.subnet_id()?)))
            .collect())
    };
    let delete = || ec2.delete_route_table().route_table_id(id).send();
    delete_when_free(ctx, &format!("route table {id}"), delete, associations).await
}

async fn create_association(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Object> {
    let request = ctx.ec2().associate_route_table().subnet_id(inputs.str("subnet_id")?);
    let out = request.route_table_id(inputs.str("route_table_id")?).send().await;
    let out = out.map_err(ctx.fail("associating the route table with the subnet"))?;
    made(ctx, "the route table association", out.association_id())
}

/// The subnet's explicit association, when it is with the wanted table.
async fn find_association(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Option<Object>> {
    let subnet = inputs.str("subnet_id")?;
    let table = inputs.str("route_table_id")?;
    let found = tables(ctx.ec2(), vec![filter("association.subnet-id", [subnet])])
        .await
        .map_err(ctx.fail("looking up the subnet's route table"))?;
    // The filter picks the table; the table lists the associations of all its subnets.
    Ok(associations(&found).into_iter().find(|o| o.reports("subnet_id", subnet) && o.reports("route_table_id", table)))
}

fn associations(tables: &[RouteTable]) -> Vec<Object> {
    tables
        .iter()
        .flat_map(|t| t.associations())
        .filter(|a| a.main() != Some(true))
        .filter(|a| a.association_state().and_then(|s| s.state()).is_none_or(|s| s.as_str() == "associated"))
        .filter_map(|a| {
            let observed = attributes([("subnet_id", opt(a.subnet_id())), ("route_table_id", opt(a.route_table_id()))]);
            Some(Object { observed, ..Object::new(a.route_table_association_id()?) })
        })
        .collect()
}

async fn delete_association(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let result = ctx.ec2().disassociate_route_table().association_id(id).send().await;
    deleted(ctx, "removing the route table association", result)
}

/// The id of a route: AWS gives routes none, so it is the table and destination.
fn route_id(table: &str, destination: &str) -> String {
    format!("{table}_{destination}")
}

/// A route's table, destination, and the one target attribute the inputs set.
struct Wanted<'a> {
    table: &'a str,
    destination: &'a str,
    target: &'static str,
    via: &'a str,
}

impl<'a> Wanted<'a> {
    fn of(inputs: Inputs<'a>) -> ProviderResult<Wanted<'a>> {
        let mut set = Vec::new();
        for key in TARGETS {
            if let Some(value) = inputs.opt_str(key)? {
                set.push((key, value));
            }
        }
        let [(target, via)] = set[..] else {
            return Err(ProviderError::fatal(format!(
                "{}: a route needs exactly one of {}; this is a bug in the resource graph",
                inputs.address,
                TARGETS.join(", ")
            )));
        };
        let (table, destination) = (inputs.str("route_table_id")?, inputs.str("destination_cidr_block")?);
        Ok(Wanted { table, destination, target, via })
    }
}

async fn create_route(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Object> {
    let Wanted { table, destination, target, via } = Wanted::of(inputs)?;
    let request = ctx.ec2().create_route().route_table_id(table).destination_cidr_block(destination);
    let request = match target {
        "gateway_id" => request.gateway_id(via),
        "vpc_peering_connection_id" => request.vpc_peering_connection_id(via),
        _ => request.transit_gateway_id(via),
    };
    request.send().await.map_err(ctx.fail(&format!("adding the route to {destination} in {table}")))?;
    Ok(Object { observed: attributes([(target, via.into())]), ..Object::new(route_id(table, destination)) })
}

/// A route found at the table and destination is adopted when it has the wanted target (a
/// retried or crashed create made it); a route somebody else made is not taken over.
async fn adopt_route(_: &Ctx<'_>, inputs: Inputs<'_>, route: Object) -> ProviderResult<Applied> {
    let Wanted { table, destination, target, via } = Wanted::of(inputs)?;
    if !route.reports(target, via) {
        return Err(ProviderError::fatal(format!(
            "{}: route table {table} already has a route to {destination}, not via {via}",
            inputs.address
        ))
        .with_hint("delete that route, or change the topology so that the address ranges do not overlap"));
    }
    Ok(route.applied())
}

async fn update_route(ctx: &Ctx<'_>, change: Change<'_>) -> ProviderResult<Applied> {
    change.only(&TARGETS)?;
    let Wanted { table, destination, target, via } = Wanted::of(change.after)?;
    let request = ctx.ec2().replace_route().route_table_id(table).destination_cidr_block(destination);
    let request = match target {
        "gateway_id" => request.gateway_id(via),
        "vpc_peering_connection_id" => request.vpc_peering_connection_id(via),
        _ => request.transit_gateway_id(via),
    };
    request.send().await.map_err(ctx.fail("changing the route's target"))?;
    Ok(Object::new(change.id).applied())
}

fn route_object(table: &str, route: &Route) -> Option<Object> {
    let destination = route.destination_cidr_block()?;
    let observed = attributes([
        ("route_table_id", table.into()),
        ("destination_cidr_block", destination.into()),
        ("gateway_id", opt(route.gateway_id())),
        ("vpc_peering_connection_id", opt(route.vpc_peering_connection_id())),
        ("transit_gateway_id", opt(route.transit_gateway_id())),
    ]);
    Some(Object { observed, ..Object::new(route_id(table, destination)) })
}

async fn find_route(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Option<Object>> {
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

async fn delete_route(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<()> {
    let request = ctx.ec2().delete_route().route_table_id(inputs.str("route_table_id")?);
    let result = request.destination_cidr_block(inputs.str("destination_cidr_block")?).send().await;
    deleted(ctx, "deleting the route", result)
}

/// The deployment's route tables, in one DescribeRouteTables: associations and routes are read
/// from them.
async fn owned_tables(ctx: &Ctx<'_>) -> ProviderResult<Vec<RouteTable>> {
    tables(ctx.ec2(), tags::owned_filters(ctx.deployment))
        .await
        .map_err(ctx.fail("listing the deployment's route tables"))
}

async fn read_associations(ctx: &Ctx<'_>, tracked: &[Tracked]) -> ProviderResult<Vec<Observed>> {
    Ok(match_by_id(associations(&owned_tables(ctx).await?), tracked))
}

async fn read_routes(ctx: &Ctx<'_>, tracked: &[Tracked]) -> ProviderResult<Vec<Observed>> {
    let tables = owned_tables(ctx).await?;
    let routes = tables
        .iter()
        .flat_map(|t| t.routes().iter().filter_map(|r| route_object(t.route_table_id().unwrap_or_default(), r)));
    Ok(match_by_id(routes.collect(), tracked))
}
