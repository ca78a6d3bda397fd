//! Simulated controllers: what a cluster does by itself after an object is written, once a
//! simulated delay (scaled by [`FakeKubeOptions::time_scale`](super::FakeKubeOptions)) has
//! passed. A write schedules the controller of its type; the state applies what is due before
//! it answers anything and watches wake when the next one is due, so no client can tell that
//! nothing ran in between. A controller acts only if the object's generation is still the one
//! it was scheduled for. Served: Deployments become Available with every replica ready (no
//! ReplicaSets or Pods are made).

use std::time::Duration;

use serde_json::{Value, json};

use super::store::{ObjectKey, now};

pub(super) trait Controller: Sync {
    /// Whether this controller looks after objects stored under `key`.
    fn watches(&self, key: &ObjectKey) -> bool;
    /// How long the real controller takes to react to `object`; `None` when it has nothing to do.
    fn delay(&self, object: &Value) -> Option<Duration>;
    /// The object once the controller has reacted.
    fn reconcile(&self, object: &mut Value);
}

pub(super) fn controller(key: &ObjectKey) -> Option<&'static dyn Controller> {
    const CONTROLLERS: &[&dyn Controller] = &[&Deployments];
    CONTROLLERS.iter().copied().find(|c| c.watches(key))
}

/// About what a small Deployment takes to roll out on a real cluster.
const ROLLOUT: Duration = Duration::from_secs(10);

struct Deployments;

impl Controller for Deployments {
    fn watches(&self, key: &ObjectKey) -> bool {
        key.group == "apps" && key.plural == "deployments"
    }

    fn delay(&self, object: &Value) -> Option<Duration> {
        let deleting = !object["metadata"]["deletionTimestamp"].is_null();
        let observed = object["status"]["observedGeneration"] == object["metadata"]["generation"];
        (!deleting && !observed).then_some(ROLLOUT)
    }

    fn reconcile(&self, object: &mut Value) {
        let replicas = object["spec"]["replicas"].as_i64().unwrap_or(1);
        let condition = |kind: &str, reason: &str, message: &str| json!({ "type": kind, "status": "True", "reason": reason, "message": message, "lastUpdateTime": now(), "lastTransitionTime": now() });
        object["status"] = json!({
            "observedGeneration": object["metadata"]["generation"],
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
            "conditions": [
                condition("Available", "MinimumReplicasAvailable", "Deployment has minimum availability."),
                condition("Progressing", "NewReplicaSetAvailable", "ReplicaSet has successfully progressed."),
            ],
        });
    }
}
