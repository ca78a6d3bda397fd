//! Waiting for what was applied to work: CRDs Established, Deployments Available, datacenters
//! Ready, tokens issued. Each wait watches the object (never sleeps and polls), gives up after a
//! time that fits a real cluster, and says what it waited for and where to look.

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
    const MINUTE: Duration = Duration::from_secs(60);
    match kind {
        "CustomResourceDefinition" => Some(("Established", MINUTE)),
        // Image pulls and webhook certificates: minutes on a fresh cluster.
        "Deployment" => Some(("Available", 10 * MINUTE)),
        // Each rack's pods start one after another: minutes per node.
        "CassandraDatacenter" => Some(("Ready", 30 * MINUTE)),
        // Every datacenter of the ring, one after another.
        "K8ssandraCluster" => Some(("CassandraInitialized", 90 * MINUTE)),
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
        if !has_condition(object, name) {
            let what = format!("become {name}");
            until(cluster, &ObjectRef::of(object)?, &what, |o| has_condition(o, name), settings.timeout(real)).await?;
        }
    }
    Ok(())
}

/// Watches `target` until `test` holds for it (`what` says what that means: "become Ready"),
/// for at most `timeout`, and returns it as it then is.
pub async fn until(
    cluster: &Cluster,
    target: &ObjectRef,
    what: &str,
    test: impl Fn(&Value) -> bool + Send + 'static,
    timeout: Duration,
) -> KubeResult<Value> {
    let json = |object: &DynamicObject| serde_json::to_value(object).unwrap_or_default();
    let holds = move |object: Option<&DynamicObject>| object.is_some_and(|o| test(&json(o)));
    match watch(cluster, target, what, holds, timeout).await? {
        Some(object) => Ok(json(&object)),
        None => Err(ProviderError::retryable(format!(
            "cluster {}: {target} was deleted while ringform waited for it to {what}",
            cluster.name
        ))),
    }
}

/// Watches `target` until `condition` holds for it (or its absence), for at most `timeout`;
/// the object as it then is, `None` when it is gone.
async fn watch(
    cluster: &Cluster,
    target: &ObjectRef,
    what: &str,
    condition: impl Fn(Option<&DynamicObject>) -> bool + Send + 'static,
    timeout: Duration,
) -> KubeResult<Option<DynamicObject>> {
    let api = cluster.api(target).await?;
    match tokio::time::timeout(timeout, await_condition(api, &target.name, condition)).await {
        Ok(Ok(object)) => Ok(object),
        Ok(Err(e)) => {
            Err(ProviderError::retryable(format!("cluster {}: watching {target}", cluster.name)).with_source(e))
        }
        Err(_) => Err(timed_out(&cluster.name, target, what, timeout)),
    }
}

/// How long deleting an object of `kind` takes at most when what it stands for must go first:
/// a datacenter's pods and volumes, a load balancer in the cloud, a namespace's contents.
/// `None` for objects that are gone when the API says so.
pub fn teardown(kind: &str) -> Option<Duration> {
    const MINUTE: Duration = Duration::from_secs(60);
    match kind {
        "CassandraDatacenter" | "K8ssandraCluster" => Some(20 * MINUTE),
        // Load balancers and disks block the network's deletion, and bill, until they are gone.
        "Service" | "PersistentVolumeClaim" => Some(10 * MINUTE),
        "Namespace" => Some(10 * MINUTE),
        _ => None,
    }
}

/// Watches `target` until it no longer exists, for at most `timeout`.
pub async fn gone(cluster: &Cluster, target: &ObjectRef, timeout: Duration) -> KubeResult<()> {
    let what = "go away (its finalizers still run)";
    watch(cluster, target, what, |object: Option<&DynamicObject>| object.is_none(), timeout).await.map(drop)
}

/// What a wait that ran out of time says.
pub fn timed_out(cluster: &str, target: &ObjectRef, what: &str, timeout: Duration) -> ProviderError {
    let namespace = target.namespace.as_ref().map(|ns| format!(" -n {ns}")).unwrap_or_default();
    ProviderError::retryable(format!("cluster {cluster}: {target} did not {what} within {}", humantime(timeout)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_say_what_was_awaited_and_where_to_look() {
        let target = ObjectRef {
            api_version: "cassandra.datastax.com/v1beta1".into(),
            kind: "CassandraDatacenter".into(),
            namespace: Some("cassandra".into()),
            name: "dc1".into(),
        };
        let error = timed_out("east", &target, "become Ready", Duration::from_secs(1800));
        assert_eq!(error.message, "cluster east: CassandraDatacenter cassandra/dc1 did not become Ready within 30 min");
        assert_eq!(
            error.hint.as_deref(),
            Some("see why with `kubectl --context east -n cassandra describe cassandradatacenter dc1`")
        );
        let crd = ObjectRef { namespace: None, kind: "CustomResourceDefinition".into(), name: "x.io".into(), ..target };
        let error = timed_out("west", &crd, "become Established", Duration::from_millis(300));
        assert!(error.message.ends_with("within 300 ms") && !error.hint.unwrap().contains(" -n "));
    }
}
