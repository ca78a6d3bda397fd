//! `azure_role_assignment`: a role granted to a principal on a scope (ringform grants AKS's
//! identity Network Contributor on its VNet). Role assignments take no tags, so each lives at a
//! name derived from what it grants (a UUID v5 of scope, role and principal): a rerun or a crash
//! recovery finds it at the same id. ARM allows one assignment per (scope, role, principal);
//! one made under another name (by the Azure CLI, say) is found by listing the scope.

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

use super::{Seen, Spec, attributes, decode, encode};
use crate::arm::{ArmClient, ROLE_ASSIGNMENTS};
use crate::error::ArmResult;
use ringform_core::Inputs;

pub static SPEC: Spec = Spec { ty: ROLE_ASSIGNMENTS, taggable: false, body, observe };

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RoleAssignment {
    #[serde(skip_serializing)]
    pub id: String,
    pub properties: RoleAssignmentProperties,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RoleAssignmentProperties {
    #[serde(skip_serializing)]
    pub scope: String,
    pub role_definition_id: String,
    pub principal_id: String,
    /// Said rather than looked up: ARM then accepts a principal Entra ID has not replicated
    /// yet, as a just-made cluster identity may be.
    pub principal_type: String,
}

/// `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`.
pub fn id(inputs: &Inputs<'_>) -> ArmResult<String> {
    let (scope, role, principal) =
        (inputs.str("scope")?, inputs.str("role_definition_id")?, inputs.str("principal_id")?);
    Ok(format!("{scope}/providers/{}/{}", ROLE_ASSIGNMENTS.name, name(scope, role, principal)))
}

/// A UUID v5 of what the assignment grants; ids compare without case, so neither does this.
fn name(scope: &str, role: &str, principal: &str) -> uuid::Uuid {
    let granted = format!("{scope}|{role}|{principal}").to_ascii_lowercase();
    let digest = Sha1::new().chain_update(uuid::Uuid::NAMESPACE_URL.as_bytes()).chain_update(granted).finalize();
    let mut bytes = [0; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_sha1_bytes(bytes).into_uuid()
}

/// The full id of a role definition, from the role's GUID, in `subscription`.
fn definition_id(subscription: &str, role: &str) -> String {
    format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{role}")
}

fn body(ctx: &super::Ctx) -> ArmResult<serde_json::Value> {
    let inputs = &ctx.inputs;
    encode(&RoleAssignment {
        properties: RoleAssignmentProperties {
            role_definition_id: definition_id(&ctx.subscription, inputs.str("role_definition_id")?),
            principal_id: inputs.str("principal_id")?.to_owned(),
            principal_type: "ServicePrincipal".to_owned(),
            ..RoleAssignmentProperties::default()
        },
        ..RoleAssignment::default()
    })
}

fn observe(resource: &serde_json::Value) -> ArmResult<Seen> {
    let assignment: RoleAssignment = decode(resource)?;
    let properties = assignment.properties;
    // The graph names the role by its GUID, the last segment of the definition's id.
    let role = properties.role_definition_id.rsplit('/').next().unwrap_or_default().to_owned();
    Ok(Seen {
        inputs: attributes([
            ("scope", properties.scope.into()),
            ("role_definition_id", role.into()),
            ("principal_id", properties.principal_id.into()),
        ]),
        outputs: attributes([("id", assignment.id.as_str().into())]),
        id: assignment.id,
        tags: Default::default(),
    })
}

/// The assignment at the inputs' scope granting the same role to the same principal, under
/// whatever name it was made.
pub async fn existing(client: &ArmClient, inputs: &Inputs<'_>) -> ArmResult<Option<serde_json::Value>> {
    let scope = inputs.str("scope")?;
    let wanted = |seen: &Seen| {
        ["scope", "role_definition_id", "principal_id"].iter().all(|key| {
            let (now, want) = (seen.inputs[*key].as_str(), inputs.opt_str(key).ok().flatten());
            now.zip(want).is_some_and(|(now, want)| now.eq_ignore_ascii_case(want))
        })
    };
    let listed = client.list(&format!("{scope}/providers/{}", ROLE_ASSIGNMENTS.name), ROLE_ASSIGNMENTS, None).await?;
    for resource in listed {
        if wanted(&observe(&resource)?) {
            return Ok(Some(resource));
        }
    }
    Ok(None)
}
