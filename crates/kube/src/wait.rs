//! Waiting for what was applied to work: CRDs Established, Deployments Available. Each wait
//! watches the object's conditions (never sleeps and polls), gives up after a time that fits
//! the real cluster, and says what it waited for and where to look.

use std::time::Duration;

use kube::api::DynamicObject;
use kube::runtime::wait::await_condition;
use ringform_core::provider::ProviderError;
use serde_json::Value;

use crate::cluster::{Cluster, ObjectRef};
use crate::error::KubeResult;
use crate::settings::KubeSettings;

/// The condition an object of `kind` shows when it works, and how long that takes at most in a
/// real cluster; `None` for kinds that work once stored.
fn condition(kind: &str) -> Option<(&'static str, Duration)> {
    match kind {
        "CustomResourceDefinition" => Some(("Established", Duration::from_secs(60))),
        // Image pulls and webhook certificates: minutes on a fresh cluster.
        "Deployment" => Some(("Available", Duration::from_secs(10 * 60))),
        _ => None,
    }
}

/// Whether `object`'s `status.conditions` hold `name` with status True.
pub fn has_condition(object: &Value, name: &str) -> bool {
    object["status"]["conditions"]
        .as_array()
        .is_some_and(|conditions| conditions.iter().any(|c| c["type"] == name && c["status"] == "True"))
}

/// Waits until every object of `applied` that has a readiness condition shows it.
pub async fn ready(cluster: &Cluster, settings: &KubeSettings, applied: &[Value]) -> KubeResult<()> {
    for object in applied {
        let Some((name, real)) = object["kind"].as_str().and_then(condition) else { continue };
        if has_condition(object, name) {
            continue;
        }
        let target = ObjectRef::of(object)?;
        until(cluster, &target, name, settings.timeout(real)).await?;
    }
    Ok(())
}

/// Watches `target` until it shows condition `name`, for at most `timeout`.
pub async fn until(cluster: &Cluster, target: &ObjectRef, name: &str, timeout: Duration) -> KubeResult<()> {
    let api = cluster.api(target).await?;
    let shows = |object: Option<&DynamicObject>| object.is_some_and(|o| has_condition(&o.data, name));
    match tokio::time::timeout(timeout, await_condition(api, &target.name, shows)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => {
            Err(ProviderError::retryable(format!("cluster {}: watching {target}", cluster.name)).with_source(e))
        }
        Err(_) => Err(timed_out(&cluster.name, target, name, timeout)),
    }
}

/// What a wait that ran out of time says.
pub fn timed_out(cluster: &str, target: &ObjectRef, condition: &str, timeout: Duration) -> ProviderError {
    let namespace = target.namespace.as_ref().map(|ns| format!(" -n {ns}")).unwrap_or_default();
    ProviderError::retryable(format!(
        "cluster {cluster}: {target} did not become {condition} within {}",
        humantime(timeout)
    ))
    .with_hint(format!(
        "see why with `kubectl --context {cluster}{namespace} describe {} {}`",
        target.kind.to_lowercase(),
        target.name
    ))
}

fn humantime(d: Duration) -> String {
    match d.as_secs() {
        s if s >= 60 && s % 60 == 0 => format!("{} min", s / 60),
        s if s >= 1 => format!("{s} s"),
        _ => format!("{} ms", d.as_millis()),
    }
}
