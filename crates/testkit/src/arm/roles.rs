//! What ARM's authorization provider enforces on role assignments beyond their schema: the
//! principal must exist (here: be a managed cluster's identity, the only principals the fake
//! makes), a scope has one assignment per role and principal, and an assignment's role and
//! principal never change.

use serde_json::Value;

use super::errors::ArmError;
use super::kinds::Kind;
use super::store::{Entry, Store};

/// Checks a role assignment PUT at `id` with `body`.
pub(super) fn check_put(store: &Store, id: &str, body: &Value) -> Result<(), ArmError> {
    let (role, principal) = (property(body, "roleDefinitionId"), property(body, "principalId"));
    let mut identities = store.iter().filter(|e| e.kind == Kind::ManagedCluster);
    let identity = |cluster: &Entry| {
        cluster
            .body
            .pointer("/identity/principalId")
            .and_then(Value::as_str)
            .is_some_and(|p| p.eq_ignore_ascii_case(principal))
    };
    if !identities.any(identity) {
        return Err(ArmError::bad_request(
            "PrincipalNotFound",
            format!(
                "Principal {principal} does not exist in the directory. Check that you have the correct principal ID."
            ),
        ));
    }
    let grants = |e: &Entry| {
        property(&e.body, "roleDefinitionId").eq_ignore_ascii_case(role)
            && property(&e.body, "principalId").eq_ignore_ascii_case(principal)
    };
    let key = id.to_ascii_lowercase();
    if store.get(&key).is_some_and(|existing| !grants(existing)) {
        return Err(ArmError::bad_request(
            "RoleAssignmentUpdateNotPermitted",
            "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
        ));
    }
    let siblings = key.rfind('/').map_or(key.as_str(), |at| &key[..=at]);
    let other = store.list(Kind::RoleAssignment, siblings).into_iter().find(|e| e.key() != key && grants(e));
    match other {
        Some(other) => Err(ArmError::conflict(
            "RoleAssignmentExists",
            format!(
                "The role assignment already exists. The ID of the existing role assignment is {}.",
                other.id.rsplit('/').next().unwrap_or_default().replace('-', "")
            ),
        )),
        None => Ok(()),
    }
}

fn property<'a>(body: &'a Value, name: &str) -> &'a str {
    body.get("properties").and_then(|p| p.get(name)).and_then(Value::as_str).unwrap_or_default()
}
