//! The eviction subresource, `POST /api/v1/namespaces/<ns>/pods/<pod>/eviction` with a
//! policy/v1 (or v1beta1) `Eviction` naming the Pod, as the API server answers it
//! (pkg/registry/core/pod/storage/eviction.go, `EvictionREST.Create`):
//!
//! | case | answer |
//! | --- | --- |
//! | the body's `metadata.name` is not the Pod's | 400 `name in URL does not match name in Eviction object` |
//! | no such Pod | 404 `pods "x" not found` |
//! | the Pod is Pending, Succeeded, Failed or being deleted, or no budget selects it | deleted; 201 `{"kind": "Status", "status": "Success", "code": 201}` |
//! | more than one budget selects it | 500 `This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.` |
//! | the budget's status is older than its spec | 429, cause `DisruptionBudget` `The disruption budget x is still being processed by the server.`, `Retry-After: 10` |
//! | `disruptionsAllowed` is negative | 403 `poddisruptionbudget.policy "x" is forbidden: pdb disruptions allowed is negative` |
//! | the Pod is not Ready and the budget has its healthy Pods | deleted without counting; 201 |
//! | `disruptionsAllowed` is 0 | 429 `Cannot evict pod as it would violate the pod's disruption budget.`, cause `DisruptionBudget` `The disruption budget x needs 2 healthy pods and has 2 currently` |
//! | otherwise | the budget's `disruptionsAllowed` lowered by one, the Pod deleted; 201 |
//!
//! `dryRun=All` (query or the body's `deleteOptions`) checks without writing. Simplified: the
//! Pod goes at once (no grace period, its containers never see SIGTERM), the budget's
//! `disruptedPods` is not written, and `deleteOptions` preconditions are not checked.

use std::time::Instant;

use serde_json::{Value, json};

use super::controllers::{allowed_condition, budgets_of, deleting, has_condition, key};
use super::errors::{KubeError, json_response};
use super::handlers::mark_deleted;
use super::resources;
use super::server::State;
use super::store::ObjectKey;
use crate::http::{Request, Response};

pub(super) fn evict(
    state: &mut State,
    (cluster, namespace, name): (&str, &str, &str),
    request: &Request<'_>,
) -> Result<Response, KubeError> {
    let eviction: Value = serde_json::from_slice(request.body)
        .map_err(|e| KubeError::bad_request(format!("the request body could not be decoded: {e}")))?;
    if eviction["metadata"]["name"] != name {
        return Err(KubeError::bad_request("name in URL does not match name in Eviction object"));
    }
    let dry_run = request.query.get("dryRun").is_some_and(|d| d == "All")
        || eviction["deleteOptions"]["dryRun"].as_array().is_some_and(|d| d.iter().any(|v| v == "All"));
    let pod_key = key("", "pods", namespace, name);
    let pod = state.cluster(cluster).get(&pod_key).cloned().ok_or_else(|| not_found(name))?;
    if !disrupts_nothing(&pod) {
        charge_budget(state, cluster, &pod, dry_run)?;
    }
    if !dry_run {
        mark_deleted(state.cluster(cluster), pod_key, pod);
        state.resync(Instant::now());
    }
    Ok(json_response(
        201,
        &json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201 }),
    ))
}

fn not_found(name: &str) -> KubeError {
    let pods = resources::builtin().iter().find(|t| t.is("", "pods"));
    pods.map_or_else(KubeError::no_route, |t| KubeError::not_found(t, name))
}

/// `canIgnorePDB`: a Pod that is not running, or already going, may go whatever its budget.
fn disrupts_nothing(pod: &Value) -> bool {
    matches!(pod["status"]["phase"].as_str(), Some("Pending" | "Succeeded" | "Failed")) || deleting(pod)
}

/// The disruption the Pod's budget allows, taken (unless `dry_run`); why not, if it does not.
fn charge_budget(state: &mut State, cluster: &str, pod: &Value, dry_run: bool) -> Result<(), KubeError> {
    let namespace = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let (at, budget) = match budgets_of(state, cluster, namespace, pod).as_slice() {
        [] => return Ok(()),
        [(at, budget)] => ((*at).clone(), (*budget).clone()),
        _ => {
            let message =
                "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.";
            return Err(KubeError::new(500, "", message));
        }
    };
    let status = &budget["status"];
    let (healthy, desired) =
        (status["currentHealthy"].as_i64().unwrap_or(0), status["desiredHealthy"].as_i64().unwrap_or(0));
    // An unready Pod counts for nothing: it may go while the budget has its healthy Pods.
    if !has_condition(pod, "Ready") && healthy >= desired && desired > 0 {
        return Ok(());
    }
    let allowed = allowed_disruptions(&at, &budget)?;
    if !dry_run {
        take_one(state, cluster, at, budget, allowed - 1);
    }
    Ok(())
}

/// `checkAndDecrement`: how many disruptions the budget allows, if it allows one.
fn allowed_disruptions(at: &ObjectKey, budget: &Value) -> Result<i64, KubeError> {
    let status = &budget["status"];
    let name = &at.name;
    let observed = status["observedGeneration"].as_i64().unwrap_or(0);
    if observed < budget["metadata"]["generation"].as_i64().unwrap_or(0) {
        let cause = format!("The disruption budget {name} is still being processed by the server.");
        return Err(too_many_requests(10, &cause));
    }
    let allowed = status["disruptionsAllowed"].as_i64().unwrap_or(0);
    if allowed < 0 {
        let message =
            format!("poddisruptionbudget.policy \"{name}\" is forbidden: pdb disruptions allowed is negative");
        return Err(KubeError::forbidden(message));
    }
    if allowed == 0 {
        let (desired, healthy) = (&status["desiredHealthy"], &status["currentHealthy"]);
        let cause = format!("The disruption budget {name} needs {desired} healthy pods and has {healthy} currently");
        return Err(too_many_requests(0, &cause));
    }
    Ok(allowed)
}

/// 429 with a `DisruptionBudget` cause, as `NewTooManyRequests` makes it.
fn too_many_requests(retry_after: u64, cause: &str) -> KubeError {
    let message = "Cannot evict pod as it would violate the pod's disruption budget.";
    let mut error = KubeError::new(429, "TooManyRequests", message);
    let mut details = json!({ "causes": [{ "reason": "DisruptionBudget", "message": cause }] });
    if retry_after > 0 {
        details["retryAfterSeconds"] = retry_after.into();
        error.retry_after = Some(retry_after);
    }
    error.details = Some(details);
    error
}

/// The budget with one disruption fewer allowed, as the eviction writes it.
fn take_one(state: &mut State, cluster: &str, at: ObjectKey, mut budget: Value, allowed: i64) {
    let generation = budget["metadata"]["generation"].clone();
    budget["status"]["disruptionsAllowed"] = allowed.into();
    budget["status"]["conditions"] = allowed_condition(&budget["status"]["conditions"], allowed, &generation);
    state.cluster(cluster).put(at, budget);
}
