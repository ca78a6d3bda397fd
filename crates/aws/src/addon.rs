//! EKS add-ons (ringform installs the EBS CSI driver, which provisions Cassandra's `gp3`
//! volumes). An add-on is created CREATING and becomes ACTIVE once its pods run on the nodes,
//! so creates and updates wait for ACTIVE and deletes wait until it is gone. EKS tags add-ons,
//! so one a crashed run left behind is adopted by its ownership tags.

use aws_sdk_eks::types::{Addon, ResolveConflicts};
use ringform_core::Inputs;
use ringform_core::provider::{Applied, Observed, ProviderError, ProviderResult, Tracked};
use ringform_schema::aws;

use crate::attrs::attributes;
use crate::context::{Ctx, Object};
use crate::eks::{delete_and_wait, eks_tags, health_issues, owned, read_each, split_id, tag_map};
use crate::errors::ApiError;
use crate::kinds::{Change, Lookup, Spec};
use crate::wait::{self, Poll};

pub(crate) static ADDON: Spec = Spec {
    kind: aws::EKS_ADDON,
    lookup: Lookup::Keyed {
        find: |ctx, inputs| Box::pin(find_addon(ctx, inputs)),
        read: |ctx, tracked| Box::pin(read_addons(ctx, tracked)),
    },
    create: |ctx, inputs| Box::pin(create_addon(ctx, inputs)),
    settle: |ctx, _, addon| Box::pin(settle_addon(ctx, addon)),
    update: |ctx, change| Box::pin(update_addon(ctx, change)),
    delete: |ctx, _, id| Box::pin(delete_addon(ctx, id)),
};

fn addon_object(addon: &Addon) -> Option<Object> {
    let (cluster, name) = (addon.cluster_name()?, addon.addon_name()?);
    let id = format!("{cluster}:{name}");
    let observed = attributes([
        ("cluster_name", cluster.into()),
        ("addon_name", name.into()),
        ("addon_version", addon.addon_version().into()),
    ]);
    Some(Object { outputs: attributes([("id", id.as_str().into())]), id, tags: tag_map(addon.tags()), observed })
}

/// The add-on, or None when it does not exist or is being deleted.
async fn addon(ctx: &Ctx<'_>, cluster: &str, name: &str) -> ProviderResult<Option<Addon>> {
    match ctx.eks().describe_addon().cluster_name(cluster).addon_name(name).send().await.map_err(ApiError::from) {
        Ok(out) => Ok(out.addon().filter(|a| a.status().is_none_or(|s| s.as_str() != "DELETING")).cloned()),
        Err(error) if error.is_not_found() => Ok(None),
        Err(error) => Err(ctx.fail(&format!("looking at EKS add-on {name} of cluster {cluster}"))(error)),
    }
}

/// Waits until the add-on is ACTIVE. DEGRADED is waited out (its pods may still be starting),
/// naming the health issues if it never recovers; a failed create or update is final.
async fn wait_addon(ctx: &Ctx<'_>, cluster: &str, name: &str) -> ProviderResult<()> {
    let what = format!("EKS add-on {name} of cluster {cluster} ({}) to become ACTIVE", ctx.region);
    wait::until(ctx.settings.poll_interval, ctx.settings.eks_addon_timeout, &what, || async {
        let Some(found) = addon(ctx, cluster, name).await? else {
            return Ok(Poll::Pending("not visible yet".into()));
        };
        let status = found.status().map_or("UNKNOWN", |s| s.as_str()).to_owned();
        let issues = || {
            let issues = found.health().map(|h| h.issues()).unwrap_or_default();
            health_issues(issues.iter().map(|i| (i.code().map(|c| c.as_str()), i.message())))
        };
        match status.as_str() {
            "ACTIVE" => Ok(Poll::Ready(())),
            "DEGRADED" => Ok(Poll::Pending(format!("DEGRADED ({})", issues()))),
            "CREATE_FAILED" | "UPDATE_FAILED" | "DELETE_FAILED" => Err(ProviderError::fatal(format!(
                "{}: EKS add-on {name} of cluster {cluster} is {status}: {}; fix the cause (often the node role's \
                 policies, or nodes that cannot run its pods), delete the add-on and apply again",
                ctx.subject,
                issues()
            ))),
            _ => Ok(Poll::Pending(status)),
        }
    })
    .await
}

async fn create_addon(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Object> {
    let (cluster, name) = (inputs.str("cluster_name")?, inputs.str("addon_name")?);
    let request = ctx.eks().create_addon().cluster_name(cluster).addon_name(name);
    let request = request.set_addon_version(inputs.opt_str("addon_version")?.map(str::to_owned));
    // What a crashed or hand-made install left in the cluster gives way to the add-on's own
    // configuration, which ringform owns.
    let request = request.resolve_conflicts(ResolveConflicts::Overwrite).set_tags(Some(eks_tags(ctx, inputs)));
    match request.send().await.map_err(ApiError::from) {
        Ok(_) => Ok(Object::new(format!("{cluster}:{name}"))),
        Err(error) if error.code() == "ResourceInUseException" => {
            Err(ctx.taken("EKS add-on", &format!("{name} of cluster {cluster}"), error))
        }
        Err(error) => Err(ctx.fail(&format!("creating EKS add-on {name} of cluster {cluster}"))(error)),
    }
}

async fn settle_addon(ctx: &Ctx<'_>, addon: Object) -> ProviderResult<Applied> {
    let (cluster, name) = split_id(&addon.id);
    wait_addon(ctx, cluster, name).await?;
    Ok(addon.applied())
}

/// Only the version changes in place; settings someone changed inside the cluster are kept.
async fn update_addon(ctx: &Ctx<'_>, change: Change<'_>) -> ProviderResult<Applied> {
    change.only(&["addon_version"])?;
    let (cluster, name) = split_id(change.id);
    if change.has("addon_version") {
        let request = ctx.eks().update_addon().cluster_name(cluster).addon_name(name);
        let request = request.set_addon_version(change.after.opt_str("addon_version")?.map(str::to_owned));
        let request = request.resolve_conflicts(ResolveConflicts::Preserve);
        request.send().await.map_err(ctx.fail("changing the EKS add-on's version"))?;
    }
    wait_addon(ctx, cluster, name).await?;
    Ok(Object::new(change.id).applied())
}

/// Deletes the add-on and waits until it is gone: its cluster cannot be deleted before.
async fn delete_addon(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let (cluster, name) = split_id(id);
    let what = format!("EKS add-on {name} of cluster {cluster}");
    let timeout = ctx.settings.eks_addon_timeout;
    let delete = async {
        ctx.eks().delete_addon().cluster_name(cluster).addon_name(name).send().await.map(drop).map_err(ApiError::from)
    };
    delete_and_wait(ctx, &what, timeout, delete, || async {
        let out =
            ctx.eks().describe_addon().cluster_name(cluster).addon_name(name).send().await.map_err(ApiError::from)?;
        Ok(out.addon().and_then(|a| a.status()).map(|s| s.as_str().to_owned()))
    })
    .await
}

async fn find_addon(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Option<Object>> {
    let found = addon(ctx, inputs.str("cluster_name")?, inputs.str("addon_name")?).await?;
    Ok(owned(ctx, inputs, found, addon_object))
}

async fn read_addons(ctx: &Ctx<'_>, tracked: &[Tracked]) -> ProviderResult<Vec<Observed>> {
    let describe = |id: String| async move {
        let (cluster, name) = split_id(&id);
        addon(ctx, cluster, name).await
    };
    read_each(tracked, describe, addon_object).await
}
