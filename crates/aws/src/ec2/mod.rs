//! EC2 kinds: dispatch by kind, and what they share — the tag-filtered describe every read and
//! find goes through, looking up an object before creating it (so a retried or crashed create
//! adopts instead of duplicating), and deletes that wait out DependencyViolation.

mod launch_template;
mod peering;
mod route_table;
mod security_group;
mod transit;
mod vpc;
mod vpn;

use ringform_schema::aws;
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::Filter;
use ringform_core::provider::{Applied, Observed, ProviderError, ProviderResult, Tracked};
use ringform_core::{Address, Attributes, Kind, Value};

use crate::attrs::{Inputs, attributes};
use crate::context::{Ctx, Object};
use crate::errors::ApiError;
use crate::tags;
use crate::wait::human;

pub(crate) async fn create(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Applied> {
    match inputs.address.kind() {
        aws::VPC => vpc::create_vpc(ctx, inputs).await,
        aws::SUBNET => vpc::create_subnet(ctx, inputs).await,
        aws::INTERNET_GATEWAY => vpc::create_internet_gateway(ctx, inputs).await,
        aws::ROUTE_TABLE => route_table::create_table(ctx, inputs).await,
        aws::ROUTE_TABLE_ASSOCIATION => route_table::create_association(ctx, inputs).await,
        aws::ROUTE => route_table::create_route(ctx, inputs).await,
        aws::SECURITY_GROUP => security_group::create_group(ctx, inputs).await,
        aws::SECURITY_GROUP_RULE => security_group::create_rule(ctx, inputs).await,
        aws::LAUNCH_TEMPLATE => launch_template::create_template(ctx, inputs).await,
        aws::VPC_PEERING => peering::create_peering(ctx, inputs).await,
        aws::VPC_PEERING_ACCEPTER => peering::create_accepter(ctx, inputs).await,
        aws::TRANSIT_GATEWAY => transit::create_gateway(ctx, inputs).await,
        aws::TRANSIT_GATEWAY_ATTACHMENT => transit::create_attachment(ctx, inputs).await,
        aws::TRANSIT_GATEWAY_PEERING => transit::create_peering(ctx, inputs).await,
        aws::TRANSIT_GATEWAY_PEERING_ACCEPTER => transit::create_accepter(ctx, inputs).await,
        aws::TRANSIT_GATEWAY_ROUTE => transit::create_route(ctx, inputs).await,
        aws::VPN_GATEWAY => vpn::create_vpn_gateway(ctx, inputs).await,
        aws::CUSTOMER_GATEWAY => vpn::create_customer_gateway(ctx, inputs).await,
        aws::VPN_CONNECTION => vpn::create_connection(ctx, inputs).await,
        kind => Err(unsupported(kind)),
    }
}

pub(crate) async fn update(ctx: &Ctx<'_>, before: Inputs<'_>, after: Inputs<'_>, id: &str) -> ProviderResult<Applied> {
    let changed = before.changed(after.attrs);
    match after.address.kind() {
        aws::VPC => vpc::update_vpc(ctx, after, id, &changed).await,
        aws::SUBNET => vpc::update_subnet(ctx, after, id, &changed).await,
        aws::ROUTE => route_table::update_route(ctx, after, id, &changed).await,
        aws::SECURITY_GROUP_RULE => security_group::update_rule(ctx, after, id, &changed).await,
        aws::LAUNCH_TEMPLATE => launch_template::update_template(ctx, after, id, &changed).await,
        aws::TRANSIT_GATEWAY_ATTACHMENT => transit::update_attachment(ctx, before, after, id, &changed).await,
        aws::TRANSIT_GATEWAY_ROUTE => transit::update_route(ctx, after, id, &changed).await,
        aws::VPN_CONNECTION => vpn::update_connection(ctx, before, after, id, &changed).await,
        // The rest can change only their Name tag in place.
        _ => {
            let updatable: &[&str] = if after.attrs.contains_key("name") { &["name"] } else { &[] };
            crate::attrs::only_updatable(after.address, &changed, updatable)?;
            if changed.iter().any(|c| c == "name") {
                tags::ec2_set_name(ctx.ec2(), id, after.opt_str("name")?).await.map_err(ctx.fail("renaming"))?;
            }
            Ok(Applied { provider_id: id.to_owned(), outputs: id_output(id) })
        }
    }
}

pub(crate) async fn delete(ctx: &Ctx<'_>, inputs: Inputs<'_>, id: &str) -> ProviderResult<()> {
    match inputs.address.kind() {
        aws::VPC => vpc::delete_vpc(ctx, id).await,
        aws::SUBNET => vpc::delete_subnet(ctx, id).await,
        aws::INTERNET_GATEWAY => vpc::delete_internet_gateway(ctx, id).await,
        aws::ROUTE_TABLE => route_table::delete_table(ctx, id).await,
        aws::ROUTE_TABLE_ASSOCIATION => route_table::delete_association(ctx, id).await,
        aws::ROUTE => route_table::delete_route(ctx, inputs).await,
        aws::SECURITY_GROUP => security_group::delete_group(ctx, id).await,
        aws::SECURITY_GROUP_RULE => security_group::delete_rule(ctx, inputs, id).await,
        aws::LAUNCH_TEMPLATE => launch_template::delete_template(ctx, id).await,
        aws::VPC_PEERING => peering::delete_peering(ctx, id).await,
        // Accepting cannot be undone; deleting the peering removes both sides.
        aws::VPC_PEERING_ACCEPTER | aws::TRANSIT_GATEWAY_PEERING_ACCEPTER => Ok(()),
        aws::TRANSIT_GATEWAY => transit::delete_gateway(ctx, id).await,
        aws::TRANSIT_GATEWAY_ATTACHMENT => transit::delete_attachment(ctx, id).await,
        aws::TRANSIT_GATEWAY_PEERING => transit::delete_peering(ctx, id).await,
        aws::TRANSIT_GATEWAY_ROUTE => transit::delete_route(ctx, inputs).await,
        aws::VPN_GATEWAY => vpn::delete_vpn_gateway(ctx, id).await,
        aws::CUSTOMER_GATEWAY => vpn::delete_customer_gateway(ctx, id).await,
        aws::VPN_CONNECTION => vpn::delete_connection(ctx, id).await,
        kind => Err(unsupported(kind)),
    }
}

pub(crate) async fn read(ctx: &Ctx<'_>, kind: Kind, tracked: &[Tracked]) -> ProviderResult<Vec<Observed>> {
    match kind {
        aws::ROUTE_TABLE_ASSOCIATION | aws::ROUTE => route_table::read_untagged(ctx, kind, tracked).await,
        aws::SECURITY_GROUP_RULE => security_group::read_rules(ctx, tracked).await,
        aws::LAUNCH_TEMPLATE => launch_template::read_templates(ctx, tracked).await,
        aws::VPC_PEERING_ACCEPTER => peering::read_accepters(ctx, tracked).await,
        aws::TRANSIT_GATEWAY_PEERING_ACCEPTER => transit::read_accepters(ctx, tracked).await,
        aws::TRANSIT_GATEWAY_ROUTE => transit::read_routes(ctx, tracked).await,
        kind => {
            let objects = describe(ctx, kind, tags::owned_filters(ctx.deployment)).await?;
            Ok(match_by_id(objects, tracked))
        }
    }
}

pub(crate) async fn find(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Option<Observed>> {
    let address = inputs.address;
    let object = match address.kind() {
        aws::ROUTE_TABLE_ASSOCIATION => route_table::find_association(ctx, inputs).await?,
        aws::ROUTE => route_table::find_route(ctx, inputs).await?,
        aws::SECURITY_GROUP_RULE => security_group::find_rule(ctx, inputs).await?,
        aws::LAUNCH_TEMPLATE => launch_template::find_template(ctx, inputs).await?,
        aws::VPC_PEERING_ACCEPTER => peering::find_accepter(ctx, inputs).await?,
        aws::TRANSIT_GATEWAY_PEERING_ACCEPTER => transit::find_accepter(ctx, inputs).await?,
        aws::TRANSIT_GATEWAY_ROUTE => transit::find_route(ctx, inputs).await?,
        _ => find_tagged(ctx, address).await?,
    };
    Ok(object.map(|o| o.into_observed(address, inputs.attrs, &Attributes::new())))
}

/// The objects of one tagged kind that `filters` select, in the states that count as existing.
async fn describe(ctx: &Ctx<'_>, kind: Kind, filters: Vec<Filter>) -> ProviderResult<Vec<Object>> {
    let ec2 = ctx.ec2();
    let described = match kind {
        aws::VPC => vpc::describe_vpcs(ec2, filters).await,
        aws::SUBNET => vpc::describe_subnets(ec2, filters).await,
        aws::INTERNET_GATEWAY => vpc::describe_internet_gateways(ec2, filters).await,
        aws::ROUTE_TABLE => route_table::describe_tables(ec2, filters).await,
        aws::SECURITY_GROUP => security_group::describe_groups(ec2, filters).await,
        aws::VPC_PEERING => peering::describe_peerings(ec2, filters).await,
        aws::TRANSIT_GATEWAY => transit::describe_gateways(ec2, filters).await,
        aws::TRANSIT_GATEWAY_ATTACHMENT => transit::describe_attachments(ec2, filters).await,
        aws::TRANSIT_GATEWAY_PEERING => transit::describe_peerings(ec2, filters).await,
        aws::VPN_GATEWAY => vpn::describe_vpn_gateways(ec2, filters).await,
        aws::CUSTOMER_GATEWAY => vpn::describe_customer_gateways(ec2, filters).await,
        aws::VPN_CONNECTION => vpn::describe_connections(ec2, filters).await,
        kind => return Err(unsupported(kind)),
    };
    described.map_err(ctx.fail(&format!("listing {kind} objects")))
}

/// Tracked objects that still exist, matched by id (an object with our tags but another id is
/// a stray copy, not the tracked one).
pub(crate) fn match_by_id(objects: Vec<Object>, tracked: &[Tracked]) -> Vec<Observed> {
    let mut by_id: std::collections::HashMap<String, Object> = objects.into_iter().map(|o| (o.id.clone(), o)).collect();
    tracked
        .iter()
        .filter_map(|t| by_id.remove(&t.provider_id).map(|o| o.into_observed(&t.address, &t.inputs, &t.outputs)))
        .collect()
}

/// The one object tagged with `address`, if any; a Fatal error names duplicates.
/// Filters on the deployment tag only and picks the address client-side: a deployment has few
/// objects per kind and region, and moto fails some describes given two tag filters.
pub(super) async fn find_tagged(ctx: &Ctx<'_>, address: &Address) -> ProviderResult<Option<Object>> {
    let objects = describe(ctx, address.kind(), tags::owned_filters(ctx.deployment)).await?;
    single(address, objects.into_iter().filter(|o| tags::is_owned(&o.tags, ctx.deployment, address)).collect())
}

pub(super) fn single(address: &Address, mut objects: Vec<Object>) -> ProviderResult<Option<Object>> {
    if objects.len() > 1 {
        let ids: Vec<&str> = objects.iter().map(|o| o.id.as_str()).collect();
        return Err(ProviderError::fatal(format!(
            "{address}: {} AWS objects carry this address's ownership tags ({}); delete all but one, then run ringform again",
            ids.len(),
            ids.join(", ")
        )));
    }
    Ok(objects.pop())
}

/// `{"id": id}`: what most kinds output (the engine keeps earlier outputs on update).
pub(super) fn id_output(id: &str) -> Attributes {
    attributes([("id", id.into())])
}

/// Observed inputs common to tagged objects: the `Name` tag.
pub(super) fn named(tags: &std::collections::BTreeMap<String, String>, mut observed: Attributes) -> Attributes {
    observed.insert("name".to_owned(), tags.get("Name").cloned().into());
    observed
}

/// Maps the result of a delete (described by `doing`), treating "not found" as done.
pub(super) fn deleted<T, E: Into<ApiError>>(ctx: &Ctx<'_>, doing: &str, result: Result<T, E>) -> ProviderResult<()> {
    match result.map_err(Into::into) {
        Err(error) if !error.is_not_found() => Err(ctx.fail(doing)(error)),
        _ => Ok(()),
    }
}

/// Runs `delete` until AWS stops answering DependencyViolation (things inside still being torn
/// down), backing off up to the configured bound; then fails naming what is still in the way.
/// A missing object counts as deleted.
pub(super) async fn delete_when_free<F, Fut, B, BFut>(
    ctx: &Ctx<'_>,
    what: &str,
    mut delete: F,
    blockers: B,
) -> ProviderResult<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), ApiError>>,
    B: FnOnce() -> BFut,
    BFut: std::future::Future<Output = Result<Vec<String>, ApiError>>,
{
    let started = Instant::now();
    let mut pause = ctx.settings.poll_interval;
    let last = loop {
        match delete().await {
            Ok(()) => return Ok(()),
            Err(error) if error.is_not_found() => return Ok(()),
            Err(error) if error.is_dependency_violation() => {
                if started.elapsed() + pause > ctx.settings.dependency_timeout {
                    break error;
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(30)).max(ctx.settings.poll_interval);
            }
            Err(error) => return Err(ctx.fail(&format!("deleting {what}"))(error)),
        }
    };
    let blockers = blockers().await.map_err(ctx.fail(&format!("listing what keeps {what} from being deleted")))?;
    let listed = if blockers.is_empty() {
        "AWS did not list any object; it may be an ENI of a service that is still being torn down".to_owned()
    } else {
        format!("still in the way: {}", blockers.join(", "))
    };
    Err(ProviderError::fatal(format!(
        "{}: cannot delete {what}: other objects still depend on it after {}; {listed}",
        ctx.subject,
        human(ctx.settings.dependency_timeout),
    ))
    .with_source(last)
    .with_hint("delete those objects (or wait for them to go away), then run ringform again"))
}

fn unsupported(kind: Kind) -> ProviderError {
    ProviderError::fatal(format!("{kind} is not an EC2 kind; this is a bug in the AWS provider's dispatch"))
}

/// The value of an optional string field, or null.
pub(super) fn opt(value: Option<&str>) -> Value {
    value.map_or(Value::Null, Value::from)
}
