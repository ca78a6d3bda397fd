//! EKS pod networking: the Amazon VPC CNI gives pods addresses from the pod subnets only under
//! custom networking, which nodes take up when they launch. One `ENIConfig` per zone, named
//! after it, names the zone's pod subnet and the security groups of the pods' network
//! interfaces ([`ENI_CONFIG`], an object of ringform's like any other); environment variables
//! on the `aws-node` container of the CNI's DaemonSet switch it on ([`CUSTOM_NETWORKING`]).
//!
//! The DaemonSet is EKS's, so that is an edit: ringform applies only those env entries, as
//! field manager `ringform` (the API server merges a container's env entry by entry, so EKS's
//! own stay as they are), puts no labels on it, and on delete applies nothing, which removes
//! what only ringform owns. Which entries are ringform's, the DaemonSet's `managedFields` say.

use ringform_core::Value;
use ringform_core::provider::ProviderError;
use serde_json::json;

use super::{Settle, Spec, attributes, text_at};
use crate::cluster::{Cluster, FIELD_MANAGER, ObjectRef};
use crate::error::KubeResult;

/// The CNI's DaemonSet in `kube-system`, and its container: both are named `aws-node`.
const AWS_NODE: &str = "aws-node";
const NAMESPACE: &str = "kube-system";

pub static ENI_CONFIG: Spec = Spec {
    objects: |ctx| {
        Ok(vec![json!({
            "apiVersion": "crd.k8s.amazonaws.com/v1alpha1",
            "kind": "ENIConfig",
            "metadata": {"name": ctx.inputs.str("name")?},
            "spec": {"subnet": ctx.inputs.str("subnet")?, "securityGroups": ctx.inputs.strings("security_groups")?},
        })])
    },
    marker: ("crd.k8s.amazonaws.com/v1alpha1", "ENIConfig"),
    observe: |object| {
        let groups = object["spec"]["securityGroups"].as_array().into_iter().flatten();
        let groups = groups.map(|g| g.as_str().map_or(Value::Null, Into::into)).collect();
        Ok(attributes([
            ("name", text_at(object, "/metadata/name")),
            ("subnet", text_at(object, "/spec/subnet")),
            ("security_groups", Value::List(groups)),
        ]))
    },
    settle: Settle::Stored,
};

/// Edited in place by [`crate::provider`] (see the module docs); found through the DaemonSet's
/// `managedFields` rather than labels, and read back as the env entries ringform applied.
pub static CUSTOM_NETWORKING: Spec = Spec {
    objects: |ctx| {
        let env = ctx.inputs.map("env")?;
        let entries = env.attrs.keys().map(|name| Ok(json!({"name": name, "value": env.str(name)?})));
        let entries = entries.collect::<KubeResult<Vec<_>>>()?;
        let mut daemon_set = aws_node();
        daemon_set["spec"] = json!({"template": {"spec": {"containers": [{"name": AWS_NODE, "env": entries}]}}});
        Ok(vec![daemon_set])
    },
    marker: ("apps/v1", "DaemonSet"),
    observe: |daemon_set| {
        let applied = env_applied(daemon_set);
        let env = container_env(daemon_set)
            .filter_map(|entry| {
                let name = entry["name"].as_str().filter(|n| applied.iter().any(|a| a == n))?;
                Some((name.to_owned(), text_at(entry, "/value")))
            })
            .collect();
        Ok(attributes([("env", Value::Map(env))]))
    },
    settle: Settle::Stored,
};

/// The DaemonSet's identity, and no field of it.
fn aws_node() -> serde_json::Value {
    json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": AWS_NODE, "namespace": NAMESPACE}})
}

fn aws_node_ref() -> ObjectRef {
    ObjectRef {
        api_version: "apps/v1".into(),
        kind: "DaemonSet".into(),
        namespace: Some(NAMESPACE.into()),
        name: AWS_NODE.into(),
    }
}

/// The `aws-node` container's env entries.
fn container_env(daemon_set: &serde_json::Value) -> impl Iterator<Item = &serde_json::Value> {
    let containers = daemon_set["spec"]["template"]["spec"]["containers"].as_array().into_iter().flatten();
    containers.filter(|c| c["name"] == AWS_NODE).flat_map(|c| c["env"].as_array().into_iter().flatten())
}

/// The `managedFields` entries of ringform's server-side applies.
fn ringforms(object: &serde_json::Value) -> impl Iterator<Item = &serde_json::Value> {
    let entries = object["metadata"]["managedFields"].as_array().into_iter().flatten();
    entries.filter(|e| e["manager"] == FIELD_MANAGER && e["operation"] == "Apply")
}

/// The names of the `aws-node` container's env entries ringform applied: in FieldsV1, the
/// keys `k:{"name":"…"}` of its entries.
fn env_applied(daemon_set: &serde_json::Value) -> Vec<String> {
    let env = format!("/f:spec/f:template/f:spec/f:containers/k:{}/f:env", json!({"name": AWS_NODE}));
    let keys = ringforms(daemon_set).filter_map(|e| e["fieldsV1"].pointer(&env)?.as_object()).flat_map(|m| m.keys());
    keys.filter_map(|key| serde_json::from_str::<serde_json::Value>(key.strip_prefix("k:")?).ok())
        .filter_map(|item| item["name"].as_str().map(str::to_owned))
        .collect()
}

/// EKS's `aws-node` DaemonSet, while ringform has applied part of it.
pub async fn applied(cluster: &Cluster) -> KubeResult<Option<serde_json::Value>> {
    let daemon_set = cluster.get(&aws_node_ref()).await?;
    Ok(daemon_set.filter(|d| ringforms(d).next().is_some()))
}

/// Fails unless EKS's `aws-node` DaemonSet exists: an apply to a missing one would make one.
pub async fn require_aws_node(cluster: &Cluster) -> KubeResult<()> {
    if cluster.get(&aws_node_ref()).await?.is_some() {
        return Ok(());
    }
    Err(ProviderError::retryable(format!(
        "cluster {}: {} does not exist, so custom networking cannot be switched on",
        cluster.name,
        aws_node_ref()
    ))
    .with_hint("EKS makes it with the Amazon VPC CNI; check that the cluster runs it (`kubectl -n kube-system get daemonset aws-node`)"))
}

/// Undoes the edit: an apply of no field removes what only ringform's field manager owned (its
/// env entries, and values it took over from EKS) and leaves the rest of EKS's DaemonSet as it
/// is; one already gone is left gone.
pub async fn release(cluster: &Cluster) -> KubeResult<()> {
    if cluster.get(&aws_node_ref()).await?.is_some() {
        cluster.apply(&aws_node()).await?;
    }
    Ok(())
}
