//! The AWS kinds as a table: one [`Spec`] per kind says how its objects are found, read,
//! created, updated and deleted, and the provider calls through it. What every kind shares is
//! written once here: adopt-or-create (a create first looks for the object, so that a retried or
//! crashed create adopts instead of duplicating), and reads and finds of tagged EC2 objects
//! through one describe filtered by the deployment tag.

use std::collections::HashMap;

use aws_sdk_ec2::types::Filter;
use ringform_core::provider::{Applied, BoxFuture, Observed, ProviderError, ProviderResult, Tracked};
use ringform_core::{Address, Inputs, Kind, inputs};

use crate::attrs::schema;
use crate::context::{Ctx, Object};
use crate::errors::ApiError;
use crate::{addon, ec2, eks, iam, tags};

pub(crate) type Fut<'a, T> = BoxFuture<'a, ProviderResult<T>>;

/// Lists the EC2 objects of one kind that the filters select, in the states that count as
/// existing.
pub(crate) type Describe =
    for<'a> fn(&'a aws_sdk_ec2::Client, Vec<Filter>) -> BoxFuture<'a, Result<Vec<Object>, ApiError>>;
/// The object at the address of `Inputs`, if it exists and is this deployment's.
pub(crate) type Find = for<'a> fn(&'a Ctx<'a>, Inputs<'a>) -> Fut<'a, Option<Object>>;
/// The tracked objects that still exist, read in as few calls as the API allows.
pub(crate) type Read = for<'a> fn(&'a Ctx<'a>, &'a [Tracked]) -> Fut<'a, Vec<Observed>>;
/// Makes a new object; called only when `find` found none.
pub(crate) type Create = for<'a> fn(&'a Ctx<'a>, Inputs<'a>) -> Fut<'a, Object>;
/// Brings a new or adopted object to what the inputs say and waits until it is usable.
pub(crate) type Settle = for<'a> fn(&'a Ctx<'a>, Inputs<'a>, Object) -> Fut<'a, Applied>;
/// Changes the object in place, or says why AWS cannot.
pub(crate) type Update = for<'a> fn(&'a Ctx<'a>, Change<'a>) -> Fut<'a, Applied>;
/// Deletes the object with this id; one already gone counts as deleted.
pub(crate) type Delete = for<'a> fn(&'a Ctx<'a>, Inputs<'a>, &'a str) -> Fut<'a, ()>;

/// How the provider handles one kind.
pub(crate) struct Spec {
    pub kind: Kind,
    pub lookup: Lookup,
    pub create: Create,
    pub settle: Settle,
    pub update: Update,
    pub delete: Delete,
}

/// How a kind's objects are found and read.
pub(crate) enum Lookup {
    /// EC2 objects carrying the ownership tags: reads match what the describe lists by id, finds
    /// pick the one tagged with the address.
    Tagged(Describe),
    /// Objects AWS cannot tag (routes, rules, acceptances) or looks up by name (IAM, EKS): found
    /// by their natural key, and read with a listing of their own.
    Keyed { find: Find, read: Read },
}

/// The settle of kinds that are usable as soon as they exist.
pub(crate) fn ready<'a>(_: &'a Ctx<'a>, _: Inputs<'a>, object: Object) -> Fut<'a, Applied> {
    Box::pin(std::future::ready(Ok(object.applied())))
}

/// Every AWS kind.
static SPECS: &[&Spec] = &[
    &ec2::vpc::VPC,
    &ec2::vpc::SUBNET,
    &ec2::vpc::INTERNET_GATEWAY,
    &ec2::route_table::ROUTE_TABLE,
    &ec2::route_table::ASSOCIATION,
    &ec2::route_table::ROUTE,
    &ec2::security_group::GROUP,
    &ec2::security_group::RULE,
    &ec2::peering::PEERING,
    &ec2::peering::ACCEPTER,
    &ec2::transit::GATEWAY,
    &ec2::transit::ATTACHMENT,
    &ec2::transit::PEERING,
    &ec2::transit::ACCEPTER,
    &ec2::transit::ROUTE,
    &ec2::vpn::VPN_GATEWAY,
    &ec2::vpn::CUSTOMER_GATEWAY,
    &ec2::vpn::CONNECTION,
    &ec2::launch_template::TEMPLATE,
    &iam::ROLE,
    &eks::CLUSTER,
    &eks::NODE_GROUP,
    &addon::ADDON,
];

/// The spec of an AWS kind; a fatal error for any other.
pub(crate) fn spec(kind: Kind) -> ProviderResult<&'static Spec> {
    let found = SPECS.iter().copied().find(|s| s.kind == kind);
    found.ok_or_else(|| ProviderError::fatal(format!("the AWS provider has no resource kind {kind}")))
}

/// Creates the object at the address of `inputs`, or adopts it when it exists already.
pub(crate) async fn adopt_or_create(spec: &Spec, ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Applied> {
    let object = match spec.find(ctx, inputs).await? {
        Some(found) => found,
        None => (spec.create)(ctx, inputs).await?,
    };
    (spec.settle)(ctx, inputs, object).await
}

impl Spec {
    /// The object at the address of `inputs`, if it exists and is this deployment's.
    pub async fn find(&self, ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Option<Object>> {
        match self.lookup {
            Lookup::Tagged(describe) => {
                let address = inputs.address;
                let mut objects = owned(ctx, self.kind, describe).await?;
                objects.retain(|o| tags::is_owned(&o.tags, ctx.deployment, address));
                single(address, objects)
            }
            Lookup::Keyed { find, .. } => find(ctx, inputs).await,
        }
    }

    /// The tracked objects that still exist.
    pub async fn read(&self, ctx: &Ctx<'_>, tracked: &[Tracked]) -> ProviderResult<Vec<Observed>> {
        match self.lookup {
            Lookup::Tagged(describe) => Ok(match_by_id(owned(ctx, self.kind, describe).await?, tracked)),
            Lookup::Keyed { read, .. } => read(ctx, tracked).await,
        }
    }
}

/// The deployment's objects of a tagged kind. Filters on the deployment tag only and picks the
/// address client-side: a deployment has few objects per kind and region, and moto fails some
/// describes given two tag filters.
async fn owned(ctx: &Ctx<'_>, kind: Kind, describe: Describe) -> ProviderResult<Vec<Object>> {
    describe(ctx.ec2(), tags::owned_filters(ctx.deployment)).await.map_err(ctx.fail(&format!("listing {kind} objects")))
}

/// Tracked objects that still exist, matched by id (an object with our tags but another id is
/// a stray copy, not the tracked one).
pub(crate) fn match_by_id(objects: Vec<Object>, tracked: &[Tracked]) -> Vec<Observed> {
    let mut by_id: HashMap<String, Object> = objects.into_iter().map(|o| (o.id.clone(), o)).collect();
    tracked
        .iter()
        .filter_map(|t| by_id.remove(&t.provider_id).map(|o| o.into_observed(&t.address, &t.inputs, &t.outputs)))
        .collect()
}

/// The one object of `objects`, if any; a fatal error names duplicates.
pub(crate) fn single(address: &Address, mut objects: Vec<Object>) -> ProviderResult<Option<Object>> {
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

/// An update: the object's id, its inputs before and after, and which of them changed.
pub(crate) struct Change<'a> {
    pub id: &'a str,
    pub before: Inputs<'a>,
    pub after: Inputs<'a>,
    /// Compared the way the kind's schema, and so the planner, compares them.
    pub changed: Vec<String>,
}

impl<'a> Change<'a> {
    pub fn new(id: &'a str, before: Inputs<'a>, after: Inputs<'a>) -> Change<'a> {
        let changed = inputs::changed(schema(after.address.kind()), before.attrs, after.attrs);
        Change { id, before, after, changed }
    }

    pub fn has(&self, input: &str) -> bool {
        self.changed.iter().any(|c| c == input)
    }

    /// Fails when the change touches inputs the kind cannot change in place.
    pub fn only(&self, updatable: &[&str]) -> ProviderResult<()> {
        let fixed: Vec<String> =
            self.changed.iter().filter(|k| !updatable.contains(&k.as_str())).map(|k| format!("`{k}`")).collect();
        if fixed.is_empty() {
            return Ok(());
        }
        let address = self.after.address;
        Err(ProviderError::fatal(format!("{address}: AWS cannot change {} in place", fixed.join(", "))).with_hint(
            format!("change it back, or delete the object (ringform destroy --target {address}) and apply again"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use ringform_schema::aws;

    #[test]
    fn every_kind_of_the_schema_has_one_spec() {
        let declared: BTreeSet<Kind> = aws::SCHEMA.kinds.iter().map(|k| k.kind).collect();
        let specified: BTreeSet<Kind> = SPECS.iter().map(|s| s.kind).collect();
        assert_eq!(specified, declared);
        assert_eq!(SPECS.len(), specified.len(), "one spec per kind");
    }
}
