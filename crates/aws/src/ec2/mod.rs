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
        Kind::AwsVpc => vpc::create_vpc(ctx, inputs).await,
        Kind::AwsSubnet => vpc::create_subnet(ctx, inputs).await,
        Kind::AwsInternetGateway => vpc::create_internet_gateway(ctx, inputs).await,
        Kind::AwsRouteTable => route_table::create_table(ctx, inputs).await,
        Kind::AwsRouteTableAssociation => route_table::create_association(ctx, inputs).await,
        Kind::AwsRoute => route_table::create_route(ctx, inputs).await,
        Kind::AwsSecurityGroup => security_group::create_group(ctx, inputs).await,
        Kind::AwsSecurityGroupRule => security_group::create_rule(ctx, inputs).await,
        Kind::AwsLaunchTemplate => launch_template::create_template(ctx, inputs).await,
        Kind::AwsVpcPeering => peering::create_peering(ctx, inputs).await,
        Kind::AwsVpcPeeringAccepter => peering::create_accepter(ctx, inputs).await,
        Kind::AwsTransitGateway => transit::create_gateway(ctx, inputs).await,
        Kind::AwsTransitGatewayAttachment => transit::create_attachment(ctx, inputs).await,
        Kind::AwsTransitGatewayPeering => transit::create_peering(ctx, inputs).await,
        Kind::AwsTransitGatewayPeeringAccepter => transit::create_accepter(ctx, inputs).await,
        Kind::AwsTransitGatewayRoute => transit::create_route(ctx, inputs).await,
        Kind::AwsVpnGateway => vpn::create_vpn_gateway(ctx, inputs).await,
        Kind::AwsCustomerGateway => vpn::create_customer_gateway(ctx, inputs).await,
        Kind::AwsVpnConnection => vpn::create_connection(ctx, inputs).await,
        kind => Err(unsupported(kind)),
    }
}

pub(crate) async fn update(ctx: &Ctx<'_>, before: Inputs<'_>, after: Inputs<'_>, id: &str) -> ProviderResult<Applied> {
    let changed = before.changed(after.attrs);
    match after.address.kind() {
        Kind::AwsVpc => vpc::update_vpc(ctx, after, id, &changed).await,
        Kind::AwsSubnet => vpc::update_subnet(ctx, after, id, &changed).await,
        Kind::AwsRoute => route_table::update_route(ctx, after, id, &changed).await,
        Kind::AwsSecurityGroupRule => security_group::update_rule(ctx, after, id, &changed).await,
        Kind::AwsLaunchTemplate => launch_template::update_template(ctx, after, id, &changed).await,
        Kind::AwsTransitGatewayAttachment => transit::update_attachment(ctx, before, after, id, &changed).await,
        Kind::AwsTransitGatewayRoute => transit::update_route(ctx, after, id, &changed).await,
        Kind::AwsVpnConnection => vpn::update_connection(ctx, before, after, id, &changed).await,
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
        Kind::AwsVpc => vpc::delete_vpc(ctx, id).await,
        Kind::AwsSubnet => vpc::delete_subnet(ctx, id).await,
        Kind::AwsInternetGateway => vpc::delete_internet_gateway(ctx, id).await,
        Kind::AwsRouteTable => route_table::delete_table(ctx, id).await,
        Kind::AwsRouteTableAssociation => route_table::delete_association(ctx, id).await,
        Kind::AwsRoute => route_table::delete_route(ctx, inputs).await,
        Kind::AwsSecurityGroup => security_group::delete_group(ctx, id).await,
        Kind::AwsSecurityGroupRule => security_group::delete_rule(ctx, inputs, id).await,
        Kind::AwsLaunchTemplate => launch_template::delete_template(ctx, id).await,
        Kind::AwsVpcPeering => peering::delete_peering(ctx, id).await,
        // Accepting cannot be undone; deleting the peering removes both sides.
        Kind::AwsVpcPeeringAccepter | Kind::AwsTransitGatewayPeeringAccepter => Ok(()),
        Kind::AwsTransitGateway => transit::delete_gateway(ctx, id).await,
        Kind::AwsTransitGatewayAttachment => transit::delete_attachment(ctx, id).await,
        Kind::AwsTransitGatewayPeering => transit::delete_peering(ctx, id).await,
        Kind::AwsTransitGatewayRoute => transit::delete_route(ctx, inputs).await,
        Kind::AwsVpnGateway => vpn::delete_vpn_gateway(ctx, id).await,
        Kind::AwsCustomerGateway => vpn::delete_customer_gateway(ctx, id).await,
        Kind::AwsVpnConnection => vpn::delete_connection(ctx, id).await,
        kind => Err(unsupported(kind)),
    }
}

pub(crate) async fn read(ctx: &Ctx<'_>, kind: Kind, tracked: &[Tracked]) -> ProviderResult<Vec<Observed>> {
    match kind {
        Kind::AwsRouteTableAssociation | Kind::AwsRoute => route_table::read_untagged(ctx, kind, tracked).await,
        Kind::AwsSecurityGroupRule => security_group::read_rules(ctx, tracked).await,
        Kind::AwsLaunchTemplate => launch_template::read_templates(ctx, tracked).await,
        Kind::AwsVpcPeeringAccepter => peering::read_accepters(ctx, tracked).await,
        Kind::AwsTransitGatewayPeeringAccepter => transit::read_accepters(ctx, tracked).await,
        Kind::AwsTransitGatewayRoute => transit::read_routes(ctx, tracked).await,
        kind => {
            let objects = describe(ctx, kind, tags::owned_filters(ctx.deployment)).await?;
            Ok(match_by_id(objects, tracked))
        }
    }
}

pub(crate) async fn find(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Option<Observed>> {
    let address = inputs.address;
    let object = match address.kind() {
        Kind::AwsRouteTableAssociation => route_table::find_association(ctx, inputs).await?,
        Kind::AwsRoute => route_table::find_route(ctx, inputs).await?,
        Kind::AwsSecurityGroupRule => security_group::find_rule(ctx, inputs).await?,
        Kind::AwsLaunchTemplate => launch_template::find_template(ctx, inputs).await?,
        Kind::AwsVpcPeeringAccepter => peering::find_accepter(ctx, inputs).await?,
        Kind::AwsTransitGatewayPeeringAccepter => transit::find_accepter(ctx, inputs).await?,
        Kind::AwsTransitGatewayRoute => transit::find_route(ctx, inputs).await?,
        _ => find_tagged(ctx, address).await?,
    };
    Ok(object.map(|o| o.into_observed(address, inputs.attrs, &Attributes::new())))
}

/// The objects of one tagged kind that `filters` select, in the states that count as existing.
async fn describe(ctx: &Ctx<'_>, kind: Kind, filters: Vec<Filter>) -> ProviderResult<Vec<Object>> {
    let ec2 = ctx.ec2();
    let described = match kind {
        Kind::AwsVpc => vpc::describe_vpcs(ec2, filters).await,
        Kind::AwsSubnet => vpc::describe_subnets(ec2, filters).await,
        Kind::AwsInternetGateway => vpc::describe_internet_gateways(ec2, filters).await,
        Kind::AwsRouteTable => route_table::describe_tables(ec2, filters).await,
        Kind::AwsSecurityGroup => security_group::describe_groups(ec2, filters).await,
        Kind::AwsVpcPeering => peering::describe_peerings(ec2, filters).await,
        Kind::AwsTransitGateway => transit::describe_gateways(ec2, filters).await,
        Kind::AwsTransitGatewayAttachment => transit::describe_attachments(ec2, filters).await,
        Kind::AwsTransitGatewayPeering => transit::describe_peerings(ec2, filters).await,
        Kind::AwsVpnGateway => vpn::describe_vpn_gateways(ec2, filters).await,
        Kind::AwsCustomerGateway => vpn::describe_customer_gateways(ec2, filters).await,
        Kind::AwsVpnConnection => vpn::describe_connections(ec2, filters).await,
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
