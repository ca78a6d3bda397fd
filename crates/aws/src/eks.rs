//! EKS clusters and managed node groups. Both take minutes to settle, so creates and updates
//! wait for ACTIVE and deletes wait until the object is gone (a cluster cannot be deleted while
//! it has node groups). EKS has no batch describe: a refresh costs one DescribeCluster or
//! DescribeNodegroup per tracked object, which is the API's limit.

use std::collections::HashMap;

use aws_sdk_eks::types::{
    Cluster, KubernetesNetworkConfigRequest, LaunchTemplateSpecification, Nodegroup, NodegroupScalingConfig,
    VpcConfigRequest,
};
use ringform_core::provider::{Applied, Observed, ProviderError, ProviderResult, Tracked};
use ringform_core::{Attributes, Inputs, Value};
use ringform_schema::aws;

use crate::attrs::attributes;
use crate::context::{Ctx, Object};
use crate::errors::ApiError;
use crate::kinds::{Change, Lookup, Spec};
use crate::tags;
use crate::wait::{self, Poll};

pub(crate) static CLUSTER: Spec = Spec {
    kind: aws::EKS_CLUSTER,
    lookup: Lookup::Keyed {
        find: |ctx, inputs| Box::pin(find_cluster(ctx, inputs)),
        read: |ctx, tracked| Box::pin(read_clusters(ctx, tracked)),
    },
    create: |ctx, inputs| Box::pin(create_cluster(ctx, inputs)),
    settle: |ctx, _, cluster| Box::pin(settle_cluster(ctx, cluster)),
    update: |ctx, change| Box::pin(update_cluster(ctx, change)),
    delete: |ctx, _, id| Box::pin(delete_cluster(ctx, id)),
};

pub(crate) static NODE_GROUP: Spec = Spec {
    kind: aws::EKS_NODE_GROUP,
    lookup: Lookup::Keyed {
        find: |ctx, inputs| Box::pin(find_node_group(ctx, inputs)),
        read: |ctx, tracked| Box::pin(read_node_groups(ctx, tracked)),
    },
    create: |ctx, inputs| Box::pin(create_node_group(ctx, inputs)),
    settle: |ctx, _, group| Box::pin(settle_node_group(ctx, group)),
    update: |ctx, change| Box::pin(update_node_group(ctx, change)),
    delete: |ctx, _, id| Box::pin(delete_node_group(ctx, id)),
};

pub(crate) fn eks_tags(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> HashMap<String, String> {
    ctx.tags(inputs.address, None).into_iter().collect()
}

fn strings(items: &[String]) -> Value {
    Value::List(items.iter().map(|s| Value::from(s.as_str())).collect())
}

pub(crate) fn tag_map(tags: Option<&HashMap<String, String>>) -> std::collections::BTreeMap<String, String> {
    tags.map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
}

fn cluster_object(cluster: &Cluster) -> Option<Object> {
    let name = cluster.name()?;
    let vpc = cluster.resources_vpc_config();
    let observed = attributes([
        ("cluster_name", name.into()),
        ("kubernetes_version", cluster.version().into()),
        ("role_arn", cluster.role_arn().into()),
        ("subnet_ids", strings(vpc.map(|v| v.subnet_ids()).unwrap_or_default())),
        ("service_cidr", cluster.kubernetes_network_config().and_then(|k| k.service_ipv4_cidr()).into()),
    ]);
    let outputs = attributes([
        ("id", name.into()),
        ("cluster_name", name.into()),
        ("arn", cluster.arn().into()),
        ("endpoint", cluster.endpoint().into()),
        ("certificate_authority", cluster.certificate_authority().and_then(|c| c.data()).into()),
        // The group EKS makes for the control plane and the nodes; node launch templates list it.
        ("cluster_security_group_id", vpc.and_then(|v| v.cluster_security_group_id()).into()),
    ]);
    Some(Object { id: name.to_owned(), tags: tag_map(cluster.tags()), observed, outputs })
}

/// The cluster, or None when it does not exist or is being deleted.
async fn cluster(ctx: &Ctx<'_>, name: &str) -> ProviderResult<Option<Cluster>> {
    match ctx.eks().describe_cluster().name(name).send().await.map_err(ApiError::from) {
        Ok(out) => Ok(out.cluster().filter(|c| c.status().is_none_or(|s| s.as_str() != "DELETING")).cloned()),
        Err(error) if error.is_not_found() => Ok(None),
        Err(error) => Err(ctx.fail(&format!("looking at EKS cluster {name}"))(error)),
    }
}

/// Waits until the cluster is ACTIVE and returns its outputs.
async fn wait_cluster(ctx: &Ctx<'_>, name: &str) -> ProviderResult<Attributes> {
    let what = format!("EKS cluster {name} ({}) to become ACTIVE", ctx.region);
    wait::until(ctx.settings.poll_interval, ctx.settings.eks_cluster_timeout, &what, || async {
        let Some(found) = cluster(ctx, name).await? else { return Ok(Poll::Pending("not visible yet".into())) };
        let status = found.status().map_or("UNKNOWN", |s| s.as_str()).to_owned();
        match status.as_str() {
            "ACTIVE" => Ok(Poll::Ready(cluster_object(&found).map(|o| o.outputs).unwrap_or_default())),
            "FAILED" => Err(ProviderError::fatal(format!(
                "{}: EKS cluster {name} FAILED; see its health in the AWS console, delete it and apply again",
                ctx.subject
            ))),
            _ => Ok(Poll::Pending(status)),
        }
    })
    .await
}

async fn create_cluster(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Object> {
    let name = inputs.str("cluster_name")?;
    let vpc = VpcConfigRequest::builder().set_subnet_ids(Some(inputs.strings("subnet_ids")?)).build();
    let network = KubernetesNetworkConfigRequest::builder()
        .set_service_ipv4_cidr(inputs.opt_str("service_cidr")?.map(str::to_owned))
        .build();
    let request = ctx.eks().create_cluster().name(name).role_arn(inputs.str("role_arn")?);
    let request = request.set_version(inputs.opt_str("kubernetes_version")?.map(str::to_owned));
    let request = request.resources_vpc_config(vpc).kubernetes_network_config(network);
    match request.set_tags(Some(eks_tags(ctx, inputs))).send().await.map_err(ApiError::from) {
        Ok(_) => Ok(Object::new(name)),
        Err(error) if error.code() == "ResourceInUseException" => Err(ctx.taken("EKS cluster", name, error)),
        Err(error) => Err(ctx.fail(&format!("creating EKS cluster {name}"))(error)),
    }
}

async fn settle_cluster(ctx: &Ctx<'_>, cluster: Object) -> ProviderResult<Applied> {
    let outputs = wait_cluster(ctx, &cluster.id).await?;
    Ok(Applied { provider_id: cluster.id, outputs })
}

async fn update_cluster(ctx: &Ctx<'_>, change: Change<'_>) -> ProviderResult<Applied> {
    change.only(&["kubernetes_version"])?;
    if change.has("kubernetes_version") {
        let request = ctx.eks().update_cluster_version().name(change.id);
        let request = request.version(change.after.str("kubernetes_version")?);
        request.send().await.map_err(ctx.fail("upgrading the EKS cluster's Kubernetes version"))?;
    }
    let outputs = wait_cluster(ctx, change.id).await?;
    Ok(Applied { provider_id: change.id.to_owned(), outputs })
}

/// Deletes the cluster and waits until it is gone, so the VPC behind it can go next.
async fn delete_cluster(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let what = format!("EKS cluster {id}");
    let timeout = ctx.settings.eks_cluster_timeout;
    let delete = async { ctx.eks().delete_cluster().name(id).send().await.map(drop).map_err(ApiError::from) };
    delete_and_wait(ctx, &what, timeout, delete, || async {
        let out = ctx.eks().describe_cluster().name(id).send().await.map_err(ApiError::from)?;
        Ok(out.cluster().and_then(|c| c.status()).map(|s| s.as_str().to_owned()))
    })
    .await
}

/// Deletes an EKS object with `delete` and waits until `status` no longer finds it: what it
/// belongs to (a cluster, a VPC) cannot be deleted before. Each reports what it found as an
/// SDK error or the object's status.
pub(crate) async fn delete_and_wait<F, Fut>(
    ctx: &Ctx<'_>,
    what: &str,
    timeout: std::time::Duration,
    delete: impl Future<Output = Result<(), ApiError>>,
    status: F,
) -> ProviderResult<()>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Option<String>, ApiError>>,
{
    match delete.await {
        Err(error) if !error.is_not_found() => return Err(ctx.fail(&format!("deleting {what}"))(error)),
        _ => {}
    }
    let waiting = format!("{what} ({}) to be deleted", ctx.region);
    wait::until(ctx.settings.poll_interval, timeout, &waiting, || async {
        match status().await {
            Err(error) if error.is_not_found() => Ok(Poll::Ready(())),
            Err(error) => Err(ctx.fail(&format!("looking at {what}"))(error)),
            Ok(status) => Ok(Poll::Pending(status.unwrap_or_else(|| "DELETING".to_owned()))),
        }
    })
    .await
}

/// Reads each tracked object with `describe` (of its provider id) as `object` makes it: EKS has
/// no batch describe, so one call each.
pub(crate) async fn read_each<T, F, Fut>(
    tracked: &[Tracked],
    describe: F,
    object: fn(&T) -> Option<Object>,
) -> ProviderResult<Vec<Observed>>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = ProviderResult<Option<T>>>,
{
    let mut found = Vec::new();
    for t in tracked {
        if let Some(object) = describe(t.provider_id.clone()).await?.as_ref().and_then(object) {
            found.push(object.into_observed(&t.address, &t.inputs, &t.outputs));
        }
    }
    Ok(found)
}

/// What `described` is, if it carries this deployment's ownership tags for `inputs`' address.
pub(crate) fn owned<T>(
    ctx: &Ctx<'_>,
    inputs: Inputs<'_>,
    described: Option<T>,
    object: fn(&T) -> Option<Object>,
) -> Option<Object> {
    described.as_ref().and_then(object).filter(|o| tags::is_owned(&o.tags, ctx.deployment, inputs.address))
}

async fn find_cluster(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Option<Object>> {
    Ok(owned(ctx, inputs, cluster(ctx, inputs.str("cluster_name")?).await?, cluster_object))
}

async fn read_clusters(ctx: &Ctx<'_>, tracked: &[Tracked]) -> ProviderResult<Vec<Observed>> {
    read_each(tracked, |id| async move { cluster(ctx, &id).await }, cluster_object).await
}

/// A node group's (or add-on's) provider id: `<cluster>:<name>`.
pub(crate) fn split_id(id: &str) -> (&str, &str) {
    id.split_once(':').unwrap_or((id, ""))
}

fn node_group_object(group: &Nodegroup) -> Option<Object> {
    let cluster = group.cluster_name()?;
    let name = group.nodegroup_name()?;
    let id = format!("{cluster}:{name}");
    let scaling = group.scaling_config();
    let size = |f: fn(&NodegroupScalingConfig) -> Option<i32>| {
        scaling.and_then(f).map_or(Value::Null, |n| Value::Int(n.into()))
    };
    let observed = attributes([
        ("cluster_name", cluster.into()),
        ("node_group_name", name.into()),
        ("node_role_arn", group.node_role().into()),
        ("subnet_ids", strings(group.subnets())),
        ("instance_type", group.instance_types().first().map(String::as_str).into()),
        ("launch_template_id", group.launch_template().and_then(|t| t.id()).into()),
        ("launch_template_version", group.launch_template().and_then(|t| t.version()).into()),
        ("desired_size", size(NodegroupScalingConfig::desired_size)),
        ("min_size", size(NodegroupScalingConfig::min_size)),
        ("max_size", size(NodegroupScalingConfig::max_size)),
    ]);
    Some(Object { outputs: node_group_outputs(&id), id, tags: tag_map(group.tags()), observed })
}

/// A node group's outputs: its id, its cluster's name for what must wait for the nodes, and
/// its own, which its nodes carry as a label.
fn node_group_outputs(id: &str) -> Attributes {
    let (cluster, name) = split_id(id);
    attributes([("id", id.into()), ("cluster_name", cluster.into()), ("node_group_name", name.into())])
}

async fn node_group(ctx: &Ctx<'_>, cluster: &str, name: &str) -> ProviderResult<Option<Nodegroup>> {
    match ctx.eks().describe_nodegroup().cluster_name(cluster).nodegroup_name(name).send().await.map_err(ApiError::from)
    {
        Ok(out) => Ok(out.nodegroup().filter(|g| g.status().is_none_or(|s| s.as_str() != "DELETING")).cloned()),
        Err(error) if error.is_not_found() => Ok(None),
        Err(error) => Err(ctx.fail(&format!("looking at EKS node group {cluster}/{name}"))(error)),
    }
}

async fn wait_node_group(ctx: &Ctx<'_>, cluster: &str, name: &str) -> ProviderResult<()> {
    let what = format!("EKS node group {cluster}/{name} ({}) to become ACTIVE", ctx.region);
    wait::until(ctx.settings.poll_interval, ctx.settings.eks_node_group_timeout, &what, || async {
        let Some(found) = node_group(ctx, cluster, name).await? else {
            return Ok(Poll::Pending("not visible yet".into()));
        };
        let status = found.status().map_or("UNKNOWN", |s| s.as_str()).to_owned();
        match status.as_str() {
            "ACTIVE" => Ok(Poll::Ready(())),
            "CREATE_FAILED" | "DEGRADED" | "DELETE_FAILED" => {
                let issues = found.health().map(|h| h.issues()).unwrap_or_default();
                let issues = issues.iter().map(|i| (i.code().map(|c| c.as_str()), i.message()));
                Err(ProviderError::fatal(format!(
                    "{}: EKS node group {cluster}/{name} is {status}: {}; fix the cause (often subnets without a route \
                     to the internet, or the node role's policies), delete the node group and apply again",
                    ctx.subject,
                    health_issues(issues)
                )))
            }
            _ => Ok(Poll::Pending(status)),
        }
    })
    .await
}

/// The health issues EKS reports for a node group or add-on, as `code: message; …`.
pub(crate) fn health_issues<'a>(issues: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>) -> String {
    let issues: Vec<String> =
        issues.map(|(code, message)| format!("{}: {}", code.unwrap_or("?"), message.unwrap_or_default())).collect();
    if issues.is_empty() { "AWS reported no health issues".to_owned() } else { issues.join("; ") }
}

fn scaling(inputs: Inputs<'_>) -> ProviderResult<NodegroupScalingConfig> {
    let size = |key: &str| -> ProviderResult<i32> {
        let n = inputs.int(key)?;
        i32::try_from(n).map_err(|_| ProviderError::fatal(format!("{}: `{key}` = {n} is out of range", inputs.address)))
    };
    Ok(NodegroupScalingConfig::builder()
        .desired_size(size("desired_size")?)
        .min_size(size("min_size")?)
        .max_size(size("max_size")?)
        .build())
}

fn launch_template(inputs: Inputs<'_>) -> ProviderResult<LaunchTemplateSpecification> {
    Ok(LaunchTemplateSpecification::builder()
        .id(inputs.str("launch_template_id")?)
        .version(inputs.str("launch_template_version")?)
        .build())
}

/// The nodes' security groups come from the launch template. `pod_networking` is not a node
/// group field (pods get their subnets through the VPC CNI's ENIConfigs, set up inside the
/// cluster before the nodes launch; the input only orders the node group after them); state
/// keeps it as given.
async fn create_node_group(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Object> {
    let (cluster, name) = (inputs.str("cluster_name")?, inputs.str("node_group_name")?);
    let request = ctx.eks().create_nodegroup().cluster_name(cluster).nodegroup_name(name);
    let request = request.node_role(inputs.str("node_role_arn")?).set_subnets(Some(inputs.strings("subnet_ids")?));
    let request = request.instance_types(inputs.str("instance_type")?).launch_template(launch_template(inputs)?);
    let request = request.scaling_config(scaling(inputs)?).set_tags(Some(eks_tags(ctx, inputs)));
    match request.send().await.map_err(ApiError::from) {
        Ok(_) => Ok(Object::new(format!("{cluster}:{name}"))),
        Err(error) if error.code() == "ResourceInUseException" => {
            Err(ctx.taken("EKS node group", &format!("{cluster}/{name}"), error))
        }
        Err(error) => Err(ctx.fail(&format!("creating EKS node group {cluster}/{name}"))(error)),
    }
}

async fn settle_node_group(ctx: &Ctx<'_>, group: Object) -> ProviderResult<Applied> {
    let (cluster, name) = split_id(&group.id);
    wait_node_group(ctx, cluster, name).await?;
    Ok(Applied { outputs: node_group_outputs(&group.id), provider_id: group.id })
}

async fn update_node_group(ctx: &Ctx<'_>, change: Change<'_>) -> ProviderResult<Applied> {
    change.only(&["desired_size", "min_size", "max_size", "launch_template_version"])?;
    let (cluster, name) = split_id(change.id);
    // EKS runs one update of a node group at a time; DescribeUpdate would say when one is done,
    // and the node group's status says it too.
    if change.changed.iter().any(|c| c.ends_with("_size")) {
        let request = ctx.eks().update_nodegroup_config().cluster_name(cluster).nodegroup_name(name);
        request.scaling_config(scaling(change.after)?).send().await.map_err(ctx.fail("scaling the EKS node group"))?;
        wait_node_group(ctx, cluster, name).await?;
    }
    if change.has("launch_template_version") {
        let request = ctx.eks().update_nodegroup_version().cluster_name(cluster).nodegroup_name(name);
        let request = request.launch_template(launch_template(change.after)?);
        request.send().await.map_err(ctx.fail("rolling the EKS node group to the new launch template version"))?;
        wait_node_group(ctx, cluster, name).await?;
    }
    Ok(Applied { provider_id: change.id.to_owned(), outputs: node_group_outputs(change.id) })
}

/// Deletes the node group and waits until it is gone: its cluster cannot be deleted before.
async fn delete_node_group(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let (cluster, name) = split_id(id);
    let what = format!("EKS node group {cluster}/{name}");
    let timeout = ctx.settings.eks_node_group_timeout;
    let delete = async {
        ctx.eks()
            .delete_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .send()
            .await
            .map(drop)
            .map_err(ApiError::from)
    };
    delete_and_wait(ctx, &what, timeout, delete, || async {
        let out = ctx
            .eks()
            .describe_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .send()
            .await
            .map_err(ApiError::from)?;
        Ok(out.nodegroup().and_then(|g| g.status()).map(|s| s.as_str().to_owned()))
    })
    .await
}

async fn find_node_group(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Option<Object>> {
    let found = node_group(ctx, inputs.str("cluster_name")?, inputs.str("node_group_name")?).await?;
    Ok(owned(ctx, inputs, found, node_group_object))
}

async fn read_node_groups(ctx: &Ctx<'_>, tracked: &[Tracked]) -> ProviderResult<Vec<Observed>> {
    let describe = |id: String| async move {
        let (cluster, name) = split_id(&id);
        node_group(ctx, cluster, name).await
    };
    read_each(tracked, describe, node_group_object).await
}
