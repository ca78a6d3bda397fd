//! Launch templates for EKS managed node groups: a node group takes no security groups of its
//! own, so a template is how the nodes get the Cassandra group. A template that names security
//! groups replaces the cluster security group EKS would otherwise put on the nodes (without it
//! they cannot reach the control plane), so the template lists that one too. Changing the
//! groups adds a template version and makes it the default; the node group then moves to it.

use std::collections::BTreeSet;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{LaunchTemplateVersion, RequestLaunchTemplateData, ResourceType};
use ringform_core::provider::{Applied, Observed, ProviderResult, Tracked};
use ringform_core::{Attributes, Inputs, Value};
use ringform_schema::aws;

use super::{all, deleted, made};
use crate::attrs::attributes;
use crate::context::{Ctx, Object};
use crate::errors::ApiError;
use crate::kinds::{Change, Lookup, Spec, single};
use crate::tags;

pub(crate) static TEMPLATE: Spec = Spec {
    kind: aws::LAUNCH_TEMPLATE,
    lookup: Lookup::Keyed {
        find: |ctx, inputs| Box::pin(find_template(ctx, inputs)),
        read: |ctx, tracked| Box::pin(read_templates(ctx, tracked)),
    },
    create: |ctx, inputs| Box::pin(create_template(ctx, inputs)),
    settle: |ctx, inputs, template| Box::pin(settle_template(ctx, inputs, template)),
    update: |ctx, change| Box::pin(update_template(ctx, change)),
    delete: |ctx, _, id| Box::pin(delete_template(ctx, id)),
};

/// The groups the nodes wear: the template's own plus the cluster group EKS made, if it made one
/// (emulators do not).
fn wanted_groups(inputs: Inputs<'_>) -> ProviderResult<Vec<String>> {
    let mut groups = inputs.strings("security_group_ids")?;
    groups.extend(inputs.opt_str("cluster_security_group_id")?.map(str::to_owned));
    Ok(groups)
}

fn data(groups: Vec<String>) -> RequestLaunchTemplateData {
    RequestLaunchTemplateData::builder().set_security_group_ids(Some(groups)).build()
}

fn outputs(id: &str, version: i64) -> Attributes {
    attributes([("id", id.into()), ("version", version.to_string().into())])
}

async fn create_template(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Object> {
    let groups = wanted_groups(inputs)?;
    let tags = ctx.ec2_tags(ResourceType::LaunchTemplate, inputs.address, None);
    let request = ctx.ec2().create_launch_template().launch_template_name(inputs.str("name")?);
    let out = request.launch_template_data(data(groups)).tag_specifications(tags).send().await;
    let template = out.map_err(ctx.fail("creating the launch template"))?.launch_template;
    let made = made(ctx, "the launch template", template.as_ref().and_then(|t| t.launch_template_id()))?;
    let version = template.and_then(|t| t.latest_version_number).unwrap_or(1);
    Ok(Object { outputs: outputs(&made.id, version), observed: inputs.attrs.clone(), ..made })
}

/// Gives a template a crashed create left behind the groups asked for now.
async fn settle_template(ctx: &Ctx<'_>, inputs: Inputs<'_>, template: Object) -> ProviderResult<Applied> {
    let wanted = wanted_groups(inputs)?;
    let has = wanted_groups(Inputs::new(inputs.address, &template.observed))?;
    if has.iter().collect::<BTreeSet<_>>() == wanted.iter().collect::<BTreeSet<_>>() {
        return Ok(template.applied());
    }
    let version = set_groups(ctx, &template.id, wanted).await?;
    Ok(Applied { outputs: outputs(&template.id, version), provider_id: template.id })
}

/// Makes the default version carry exactly `groups`, adding a version when it does not; returns
/// the default version's number.
async fn set_groups(ctx: &Ctx<'_>, id: &str, groups: Vec<String>) -> ProviderResult<i64> {
    let current = default_version(ctx.ec2(), id).await.map_err(ctx.fail("looking at the launch template"))?;
    let number = current.as_ref().and_then(LaunchTemplateVersion::version_number).unwrap_or(1);
    let has = current.as_ref().and_then(|v| v.launch_template_data()).map(|d| d.security_group_ids()).unwrap_or(&[]);
    if has.len() == groups.len() && groups.iter().all(|g| has.contains(g)) {
        return Ok(number);
    }
    let request = ctx.ec2().create_launch_template_version().launch_template_id(id).launch_template_data(data(groups));
    let out = request.send().await.map_err(ctx.fail("adding a launch template version"))?;
    let number = out.launch_template_version().and_then(|v| v.version_number()).unwrap_or(number + 1);
    let request = ctx.ec2().modify_launch_template().launch_template_id(id).default_version(number.to_string());
    request.send().await.map_err(ctx.fail("making the new launch template version the default"))?;
    Ok(number)
}

async fn default_version(ec2: &Client, id: &str) -> Result<Option<LaunchTemplateVersion>, ApiError> {
    let out = ec2.describe_launch_template_versions().launch_template_id(id).versions("$Default").send().await?;
    Ok(out.launch_template_versions().first().cloned())
}

async fn update_template(ctx: &Ctx<'_>, change: Change<'_>) -> ProviderResult<Applied> {
    change.only(&["security_group_ids", "cluster_security_group_id"])?;
    let version = set_groups(ctx, change.id, wanted_groups(change.after)?).await?;
    Ok(Applied { provider_id: change.id.to_owned(), outputs: outputs(change.id, version) })
}

async fn delete_template(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    deleted(ctx, "deleting the launch template", ctx.ec2().delete_launch_template().launch_template_id(id).send().await)
}

/// What a template's default version says, split the way the inputs are: the cluster group
/// (`cluster_group`, as recorded) apart from the others.
fn template_object(version: &LaunchTemplateVersion, cluster_group: Option<&str>) -> Option<Object> {
    let id = version.launch_template_id()?;
    let groups = version.launch_template_data().map(|d| d.security_group_ids()).unwrap_or_default();
    let (cluster, own): (Vec<&String>, Vec<&String>) = groups.iter().partition(|g| Some(g.as_str()) == cluster_group);
    let observed = attributes([
        ("name", version.launch_template_name().into()),
        ("security_group_ids", Value::List(own.into_iter().map(|g| Value::from(g.as_str())).collect())),
        ("cluster_security_group_id", cluster.first().map(|g| g.as_str()).into()),
    ]);
    Some(Object { observed, outputs: outputs(id, version.version_number()?), ..Object::new(id) })
}

/// The template tagged with this address, if any, with its default version.
async fn find_template(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Option<Object>> {
    let ec2 = ctx.ec2();
    let listed = ec2.describe_launch_templates().set_filters(Some(tags::owned_filters(ctx.deployment)));
    let templates = all(listed.into_paginator().items().send()).await.map_err(ctx.fail("listing launch templates"))?;
    let cluster_group = inputs.opt_str("cluster_security_group_id")?;
    let mut objects = Vec::new();
    for template in templates {
        let tags = tags::ec2_map(template.tags());
        let Some(id) = template.launch_template_id().filter(|_| tags::is_owned(&tags, ctx.deployment, inputs.address))
        else {
            continue;
        };
        let version = default_version(ec2, id).await.map_err(ctx.fail("looking at the launch template"))?;
        objects.extend(version.as_ref().and_then(|v| template_object(v, cluster_group)).map(|o| Object { tags, ..o }));
    }
    single(inputs.address, objects)
}

/// One paginated DescribeLaunchTemplateVersions for the default versions of every template in
/// the region, matched to the tracked ones by id.
async fn read_templates(ctx: &Ctx<'_>, tracked: &[Tracked]) -> ProviderResult<Vec<Observed>> {
    let versions = ctx.ec2().describe_launch_template_versions().versions("$Default").into_paginator().items().send();
    let versions = all(versions).await.map_err(ctx.fail("listing launch templates"))?;
    let mut found = Vec::new();
    for t in tracked {
        let cluster_group = t.inputs.get("cluster_security_group_id").and_then(Value::as_str);
        let object = versions
            .iter()
            .filter(|v| v.launch_template_id() == Some(t.provider_id.as_str()))
            .find_map(|v| template_object(v, cluster_group));
        found.extend(object.map(|o| o.into_observed(&t.address, &t.inputs, &t.outputs)));
    }
    Ok(found)
}
