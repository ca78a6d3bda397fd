//! Launch templates for EKS managed node groups: a node group takes no security groups of its
//! own, so a template is how the nodes get the Cassandra group. A template that names security
//! groups replaces the cluster security group EKS would otherwise put on the nodes (without it
//! they cannot reach the control plane), so the template lists that one too. Changing the
//! groups adds a template version and makes it the default; the node group then moves to it.

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{LaunchTemplateVersion, RequestLaunchTemplateData, ResourceType};
use ringform_core::provider::{Applied, Observed, ProviderResult, Tracked};
use ringform_core::{Attributes, Value};

use super::vpc::created;
use super::{deleted, single};
use crate::attrs::{Inputs, attributes, only_updatable};
use crate::context::{Ctx, Object};
use crate::errors::ApiError;
use crate::tags;

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

pub(super) async fn create_template(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Applied> {
    let groups = wanted_groups(inputs)?;
    let (id, version) = match find_template(ctx, inputs).await? {
        // A crashed create left it behind: adopt it, with the groups asked for now.
        Some(existing) => {
            let version = set_groups(ctx, &existing.id, groups).await?;
            (existing.id, version)
        }
        None => {
            let name = inputs.str("name")?;
            let spec = tags::ec2_spec(ResourceType::LaunchTemplate, &ctx.tags(inputs.address, None));
            let out = ctx
                .ec2()
                .create_launch_template()
                .launch_template_name(name)
                .launch_template_data(data(groups))
                .tag_specifications(spec)
                .send()
                .await
                .map_err(ctx.fail("creating the launch template"))?;
            let template = out.launch_template();
            let id = created(ctx, "the launch template", template.and_then(|t| t.launch_template_id()))?;
            (id, template.and_then(|t| t.latest_version_number()).unwrap_or(1))
        }
    };
    Ok(Applied { outputs: outputs(&id, version), provider_id: id })
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
    let out = ctx
        .ec2()
        .create_launch_template_version()
        .launch_template_id(id)
        .launch_template_data(data(groups))
        .send()
        .await
        .map_err(ctx.fail("adding a launch template version"))?;
    let number = out.launch_template_version().and_then(|v| v.version_number()).unwrap_or(number + 1);
    ctx.ec2()
        .modify_launch_template()
        .launch_template_id(id)
        .default_version(number.to_string())
        .send()
        .await
        .map_err(ctx.fail("making the new launch template version the default"))?;
    Ok(number)
}

async fn default_version(ec2: &Client, id: &str) -> Result<Option<LaunchTemplateVersion>, ApiError> {
    let out = ec2.describe_launch_template_versions().launch_template_id(id).versions("$Default").send().await?;
    Ok(out.launch_template_versions().first().cloned())
}

pub(super) async fn update_template(
    ctx: &Ctx<'_>,
    after: Inputs<'_>,
    id: &str,
    changed: &[String],
) -> ProviderResult<Applied> {
    only_updatable(after.address, changed, &["security_group_ids", "cluster_security_group_id"])?;
    let version = set_groups(ctx, id, wanted_groups(after)?).await?;
    Ok(Applied { provider_id: id.to_owned(), outputs: outputs(id, version) })
}

pub(super) async fn delete_template(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
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
    Some(Object { id: id.to_owned(), observed, outputs: outputs(id, version.version_number()?), ..Object::default() })
}

/// The template tagged with this address, if any, with its default version (adoption).
pub(super) async fn find_template(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Option<Object>> {
    let ec2 = ctx.ec2();
    let listed = ec2.describe_launch_templates().set_filters(Some(tags::owned_filters(ctx.deployment)));
    let templates = listed.into_paginator().items().send().collect::<Result<Vec<_>, _>>().await;
    let templates = templates.map_err(ctx.fail("listing launch templates"))?;
    let mut objects = Vec::new();
    for template in templates {
        let tags = tags::ec2_map(template.tags());
        let Some(id) = template.launch_template_id().filter(|_| tags::is_owned(&tags, ctx.deployment, inputs.address))
        else {
            continue;
        };
        let version = default_version(ec2, id).await.map_err(ctx.fail("looking at the launch template"))?;
        let cluster_group = inputs.opt_str("cluster_security_group_id")?;
        if let Some(object) = version.as_ref().and_then(|v| template_object(v, cluster_group)) {
            objects.push(Object { tags, ..object });
        }
    }
    single(inputs.address, objects)
}

/// One paginated DescribeLaunchTemplateVersions for the default versions of every template in
/// the region, matched to the tracked ones by id.
pub(super) async fn read_templates(ctx: &Ctx<'_>, tracked: &[Tracked]) -> ProviderResult<Vec<Observed>> {
    let versions = ctx.ec2().describe_launch_template_versions().versions("$Default").into_paginator().items().send();
    let versions = versions.collect::<Result<Vec<_>, _>>().await.map_err(ctx.fail("listing launch templates"))?;
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
