//! The disruption controller (pkg/controller/disruption): a PodDisruptionBudget's status,
//! kept in step with the Pods its selector picks in its namespace — `expectedPods` (how many
//! there are), `desiredHealthy` (`minAvailable`, or `expectedPods` less `maxUnavailable`;
//! percentages of `expectedPods`, rounded up), `currentHealthy` (those Ready and not being
//! deleted), `disruptionsAllowed` (the difference, never below zero, and zero with no Pod),
//! `observedGeneration`, and the `DisruptionAllowed` condition (reason `SufficientPods` or
//! `InsufficientPods`). The eviction API reads it (see `eviction.rs`).
//!
//! Simplified: `expectedPods` counts the Pods selected rather than their controllers'
//! replicas, and `disruptedPods` is never kept — the fake deletes an evicted Pod at once, so a
//! real controller would drop its entry at its next sync anyway.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Controller, Plan, deleting, list, merge, set_condition};
use crate::kube::selectors::label_selector_matches;
use crate::kube::server::State;
use crate::kube::store::{ObjectKey, now};

pub(in crate::kube) struct Budgets;

impl Controller for Budgets {
    fn watches(&self, key: &ObjectKey) -> bool {
        key.group == "policy" && key.plural == "poddisruptionbudgets"
    }

    fn plan(&self, state: &State, cluster: &str, at: &ObjectKey, budget: &Value) -> Plan {
        if deleting(budget) {
            return None;
        }
        let status = budget_status(state, cluster, &at.namespace, budget);
        Some((Duration::ZERO, vec![merge(cluster, at, json!({ "status": status }))]))
    }
}

/// The budgets of `namespace` whose selector picks `pod`; an empty selector picks nothing.
pub(in crate::kube) fn budgets_of<'s>(
    state: &'s State,
    cluster: &str,
    namespace: &'s str,
    pod: &Value,
) -> Vec<(&'s ObjectKey, &'s Value)> {
    list(state, cluster, "policy", "poddisruptionbudgets", Some(namespace))
        .into_iter()
        .filter(|(_, b)| selects(b, pod))
        .collect()
}

fn selects(budget: &Value, pod: &Value) -> bool {
    let selector = &budget["spec"]["selector"];
    let requirements = selector["matchLabels"].as_object().map_or(0, |m| m.len())
        + selector["matchExpressions"].as_array().map_or(0, Vec::len);
    requirements > 0 && label_selector_matches(selector, &pod["metadata"]["labels"])
}

/// The status the disruption controller gives `budget` now.
fn budget_status(state: &State, cluster: &str, namespace: &str, budget: &Value) -> Value {
    let pods: Vec<&Value> = list(state, cluster, "", "pods", Some(namespace))
        .into_iter()
        .map(|(_, p)| p)
        .filter(|p| selects(budget, p))
        .collect();
    let expected = pods.len() as i64;
    let healthy = pods.iter().filter(|p| !deleting(p) && super::has_condition(p, "Ready")).count() as i64;
    let desired = desired_healthy(&budget["spec"], expected);
    let allowed = if expected > 0 { (healthy - desired).max(0) } else { 0 };
    let generation = &budget["metadata"]["generation"];
    json!({
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "expectedPods": expected,
        "disruptionsAllowed": allowed,
        "observedGeneration": generation,
        "conditions": allowed_condition(&budget["status"]["conditions"], allowed, generation),
    })
}

/// `conditions` with `DisruptionAllowed` as `allowed` disruptions make it.
pub(in crate::kube) fn allowed_condition(conditions: &Value, allowed: i64, generation: &Value) -> Value {
    let (status, reason) = if allowed > 0 { ("True", "SufficientPods") } else { ("False", "InsufficientPods") };
    let condition = json!({ "type": "DisruptionAllowed", "status": status, "reason": reason, "message": "",
                            "observedGeneration": generation, "lastTransitionTime": now() });
    set_condition(conditions, condition)
}

/// `getExpectedPodCount`'s desired healthy Pods.
fn desired_healthy(spec: &Value, expected: i64) -> i64 {
    if !spec["maxUnavailable"].is_null() {
        return (expected - scaled(&spec["maxUnavailable"], expected).unwrap_or(0)).max(0);
    }
    scaled(&spec["minAvailable"], expected).unwrap_or(0)
}

/// An int-or-percent against `total`, percentages rounded up
/// (`GetScaledValueFromIntOrPercent`); `None` when it is neither.
pub(super) fn scaled(value: &Value, total: i64) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(text) => {
            let percent = text.strip_suffix('%')?.parse::<i64>().ok()?;
            Some((percent * total + 99) / 100)
        }
        _ => None,
    }
}
