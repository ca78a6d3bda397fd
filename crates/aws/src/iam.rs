//! IAM roles for EKS clusters and nodes: a trust policy for one AWS service, attached managed
//! policies, ownership tags. IAM is global, so roles live in scope region "". Roles are made at
//! path `/`: role ARNs with a path break EKS's aws-auth role mappings.

use aws_sdk_iam::types::{EntityType, Role, Tag};
use ringform_core::provider::{Applied, Observed, ProviderResult, Tracked};
use ringform_core::{Attributes, Inputs, Value};
use ringform_schema::aws;

use crate::attrs::attributes;
use crate::context::{Ctx, Object};
use crate::errors::ApiError;
use crate::kinds::{Change, Lookup, Spec, match_by_id};
use crate::tags;

pub(crate) static ROLE: Spec = Spec {
    kind: aws::IAM_ROLE,
    lookup: Lookup::Keyed {
        find: |ctx, inputs| Box::pin(find(ctx, inputs)),
        read: |ctx, tracked| Box::pin(read(ctx, tracked)),
    },
    create: |ctx, inputs| Box::pin(create(ctx, inputs)),
    settle: |ctx, inputs, role| Box::pin(attach_policies(ctx, inputs, role)),
    update: |ctx, change| Box::pin(update(ctx, change)),
    delete: |ctx, _, id| Box::pin(delete(ctx, id)),
};

/// The trust policy letting `services` (e.g. "eks.amazonaws.com") assume the role.
fn trust_policy(services: &Value) -> String {
    let principal = match services {
        Value::List(items) => {
            serde_json::Value::Array(items.iter().filter_map(Value::as_str).map(serde_json::Value::from).collect())
        }
        other => other.as_str().unwrap_or_default().into(),
    };
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": principal}, "Action": "sts:AssumeRole"}],
    })
    .to_string()
}

/// The services a trust policy document names, as the graph gives them: one string, or a list.
fn trusted_services(document: &str) -> Value {
    // IAM returns policy documents URL-encoded.
    let decoded = percent_encoding::percent_decode_str(document).decode_utf8_lossy();
    let Ok(policy) = serde_json::from_str::<serde_json::Value>(&decoded) else { return Value::Null };
    let statements = match &policy["Statement"] {
        serde_json::Value::Array(items) => items.clone(),
        single => vec![single.clone()],
    };
    let mut services: Vec<Value> = Vec::new();
    for statement in statements {
        match &statement["Principal"]["Service"] {
            serde_json::Value::String(s) => services.push(s.as_str().into()),
            serde_json::Value::Array(items) => {
                services.extend(items.iter().filter_map(|s| s.as_str()).map(Value::from))
            }
            _ => {}
        }
    }
    if services.len() == 1 { services.remove(0) } else { Value::List(services) }
}

fn iam_tags(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> Vec<Tag> {
    ctx.tags(inputs.address, None)
        .into_iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect()
}

fn role_outputs(name: &str, arn: Option<&str>) -> Attributes {
    attributes([("id", name.into()), ("arn", arn.map_or(Value::Null, Value::from))])
}

fn role_object(name: &str, arn: Option<&str>, document: Option<&str>, policies: Vec<Value>, tags: &[Tag]) -> Object {
    let observed = attributes([
        ("role_name", name.into()),
        ("assume_role_service", document.map_or(Value::Null, trusted_services)),
        ("policy_arns", Value::List(policies)),
    ]);
    let tags = tags.iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
    Object { id: name.to_owned(), tags, observed, outputs: role_outputs(name, arn) }
}

/// The role and what is attached to it, or None when it does not exist.
async fn look_up(ctx: &Ctx<'_>, name: &str) -> ProviderResult<Option<Object>> {
    let role: Role = match ctx.iam().get_role().role_name(name).send().await.map_err(ApiError::from) {
        Ok(out) => match out.role() {
            Some(role) => role.clone(),
            None => return Ok(None),
        },
        Err(error) if error.is_not_found() => return Ok(None),
        Err(error) => return Err(ctx.fail(&format!("looking up IAM role {name}"))(error)),
    };
    let policies = attached(ctx, name).await?;
    let policies = policies.into_iter().map(Value::from).collect();
    Ok(Some(role_object(name, Some(role.arn()), role.assume_role_policy_document(), policies, role.tags())))
}

async fn attached(ctx: &Ctx<'_>, name: &str) -> ProviderResult<Vec<String>> {
    let pages = ctx.iam().list_attached_role_policies().role_name(name).into_paginator().items().send();
    let policies = pages
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ctx.fail(&format!("listing the policies of IAM role {name}")))?;
    Ok(policies.iter().filter_map(|p| p.policy_arn().map(str::to_owned)).collect())
}

async fn create(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Object> {
    let name = inputs.str("role_name")?;
    let document = trust_policy(inputs.attrs.get("assume_role_service").unwrap_or(&Value::Null));
    let request = ctx.iam().create_role().role_name(name).assume_role_policy_document(&document);
    match request.set_tags(Some(iam_tags(ctx, inputs))).send().await.map_err(ApiError::from) {
        Ok(out) => Ok(Object { outputs: role_outputs(name, out.role().map(Role::arn)), ..Object::new(name) }),
        Err(error) if error.code() == "EntityAlreadyExists" => Err(ctx.taken("IAM role", name, error)),
        Err(error) => Err(ctx.fail(&format!("creating IAM role {name}"))(error)),
    }
}

/// Attaches the policies a new or adopted role lacks.
async fn attach_policies(ctx: &Ctx<'_>, inputs: Inputs<'_>, role: Object) -> ProviderResult<Applied> {
    let attached = Inputs::new(inputs.address, &role.observed).strings("policy_arns")?;
    for policy in inputs.strings("policy_arns")?.iter().filter(|p| !attached.contains(p)) {
        attach(ctx, &role.id, policy).await?;
    }
    Ok(role.applied())
}

async fn attach(ctx: &Ctx<'_>, name: &str, policy: &str) -> ProviderResult<()> {
    ctx.iam()
        .attach_role_policy()
        .role_name(name)
        .policy_arn(policy)
        .send()
        .await
        .map_err(ctx.fail(&format!("attaching {policy} to IAM role {name}")))?;
    Ok(())
}

async fn update(ctx: &Ctx<'_>, change: Change<'_>) -> ProviderResult<Applied> {
    change.only(&["policy_arns", "assume_role_service"])?;
    let id = change.id;
    if change.has("assume_role_service") {
        let document = trust_policy(change.after.attrs.get("assume_role_service").unwrap_or(&Value::Null));
        let request = ctx.iam().update_assume_role_policy().role_name(id).policy_document(document);
        request.send().await.map_err(ctx.fail("changing the role's trust policy"))?;
    }
    let current = attached(ctx, id).await?;
    let wanted = change.after.strings("policy_arns")?;
    for policy in wanted.iter().filter(|p| !current.contains(p)) {
        attach(ctx, id, policy).await?;
    }
    for policy in current.iter().filter(|p| !wanted.contains(p)) {
        detach(ctx, id, policy).await?;
    }
    Ok(Applied { provider_id: id.to_owned(), outputs: attributes([("id", id.into())]) })
}

async fn detach(ctx: &Ctx<'_>, name: &str, policy: &str) -> ProviderResult<()> {
    match ctx.iam().detach_role_policy().role_name(name).policy_arn(policy).send().await.map_err(ApiError::from) {
        Err(error) if !error.is_not_found() => {
            Err(ctx.fail(&format!("detaching {policy} from IAM role {name}"))(error))
        }
        _ => Ok(()),
    }
}

/// Detaches managed policies, deletes inline ones and leaves instance profiles (IAM refuses to
/// delete a role that has any), then deletes the role.
async fn delete(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let iam = ctx.iam();
    let gone = |error: &ApiError| error.is_not_found();
    let policies = match iam
        .list_attached_role_policies()
        .role_name(id)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(ApiError::from)
    {
        Err(error) if gone(&error) => return Ok(()),
        other => other.map_err(ctx.fail("listing the role's policies"))?,
    };
    for policy in policies.iter().filter_map(|p| p.policy_arn()) {
        detach(ctx, id, policy).await?;
    }
    let inline =
        iam.list_role_policies().role_name(id).into_paginator().items().send().collect::<Result<Vec<_>, _>>().await;
    for policy in inline.map_err(ctx.fail("listing the role's inline policies"))? {
        iam.delete_role_policy()
            .role_name(id)
            .policy_name(&policy)
            .send()
            .await
            .map_err(ctx.fail(&format!("deleting inline policy {policy}")))?;
    }
    let profiles = iam
        .list_instance_profiles_for_role()
        .role_name(id)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await;
    for profile in profiles.map_err(ctx.fail("listing the role's instance profiles"))? {
        iam.remove_role_from_instance_profile()
            .role_name(id)
            .instance_profile_name(profile.instance_profile_name())
            .send()
            .await
            .map_err(ctx.fail("removing the role from its instance profile"))?;
    }
    match iam.delete_role().role_name(id).send().await.map_err(ApiError::from) {
        Err(error) if !gone(&error) => Err(ctx.fail(&format!("deleting IAM role {id}"))(error)),
        _ => Ok(()),
    }
}

async fn find(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Option<Object>> {
    let role = look_up(ctx, inputs.str("role_name")?).await?;
    Ok(role.filter(|role| tags::is_owned(&role.tags, ctx.deployment, inputs.address)))
}

/// One paginated GetAccountAuthorizationDetails (roles only): IAM's one listing that returns
/// trust policies, attached policies and tags together (ListRoles omits tags and policies).
async fn read(ctx: &Ctx<'_>, tracked: &[Tracked]) -> ProviderResult<Vec<Observed>> {
    let pages = ctx.iam().get_account_authorization_details().filter(EntityType::Role).into_paginator().send();
    let pages = pages.collect::<Result<Vec<_>, _>>().await.map_err(ctx.fail("listing IAM roles"))?;
    let objects: Vec<Object> = pages
        .iter()
        .flat_map(|page| page.role_detail_list())
        .filter_map(|role| {
            let name = role.role_name()?;
            let policies =
                role.attached_managed_policies().iter().filter_map(|p| p.policy_arn()).map(Value::from).collect();
            Some(role_object(name, role.arn(), role.assume_role_policy_document(), policies, role.tags()))
        })
        .collect();
    Ok(match_by_id(objects, tracked))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_policies_round_trip_through_url_encoding() {
        let document = trust_policy(&"eks.amazonaws.com".into());
        let encoded: String = document
            .bytes()
            .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect();
        assert_eq!(trusted_services(&encoded), Value::from("eks.amazonaws.com"));
        assert_eq!(trusted_services(&document), Value::from("eks.amazonaws.com"));
    }
}
