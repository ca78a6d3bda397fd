//! How the k8ssandra control plane reaches a data plane: in the data plane, a long-lived token
//! of the operator's service account (Kubernetes ≥ 1.24 makes none by itself: a Secret of type
//! `kubernetes.io/service-account-token` asks the token controller for one); on the control
//! plane, a ClientConfig naming the Secret that holds a kubeconfig with that token.

use serde_json::json;

use super::{Settle, Spec, attributes, text_at};

/// The annotation that tells the token controller whose token a Secret holds.
const SERVICE_ACCOUNT_ANNOTATION: &str = "kubernetes.io/service-account.name";

pub static SERVICE_ACCOUNT_TOKEN: Spec = Spec {
    objects: |ctx| {
        let name = ctx.inputs.str("name")?;
        Ok(vec![json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/service-account-token",
            "metadata": {
                "name": format!("{name}-token"),
                "namespace": ctx.inputs.str("namespace")?,
                "annotations": {SERVICE_ACCOUNT_ANNOTATION: name},
            },
        })])
    },
    marker: ("v1", "Secret"),
    observe: |object| {
        let pointer = format!("/metadata/annotations/{}", SERVICE_ACCOUNT_ANNOTATION.replace('/', "~1"));
        Ok(attributes([("name", text_at(object, &pointer)), ("namespace", text_at(object, "/metadata/namespace"))]))
    },
    settle: Settle::Token,
};

pub static CLIENT_CONFIG: Spec = Spec {
    objects: |ctx| {
        Ok(vec![json!({
            "apiVersion": "config.k8ssandra.io/v1beta1",
            "kind": "ClientConfig",
            "metadata": {"name": ctx.inputs.str("name")?, "namespace": ctx.inputs.str("namespace")?},
            "spec": {
                "contextName": ctx.inputs.str("context_name")?,
                "kubeConfigSecret": {"name": ctx.inputs.str("kubeconfig_secret")?},
            },
        })])
    },
    marker: ("config.k8ssandra.io/v1beta1", "ClientConfig"),
    observe: |object| {
        Ok(attributes([
            ("name", text_at(object, "/metadata/name")),
            ("namespace", text_at(object, "/metadata/namespace")),
            ("context_name", text_at(object, "/spec/contextName")),
            ("kubeconfig_secret", text_at(object, "/spec/kubeConfigSecret/name")),
        ]))
    },
    settle: Settle::Loaded,
};
