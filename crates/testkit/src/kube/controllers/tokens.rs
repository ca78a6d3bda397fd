//! The service-account token controller: a Secret of type `kubernetes.io/service-account-token`
//! annotated `kubernetes.io/service-account.name` gets a token, the cluster's CA and its
//! namespace in `data`, or is deleted when that ServiceAccount does not exist. The server
//! accepts the token as a bearer token for that cluster for as long as the Secret holds it.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Controller, Plan, Write, base64, get, key, merge};
use crate::kube::server::State;
use crate::kube::store::{Cluster, ObjectKey};
use crate::kube::tls;

const TYPE: &str = "kubernetes.io/service-account-token";
const ACCOUNT: &str = "kubernetes.io/service-account.name";

pub(in crate::kube) struct Tokens;

impl Controller for Tokens {
    fn watches(&self, key: &ObjectKey) -> bool {
        key.group.is_empty() && key.plural == "secrets"
    }

    fn plan(&self, state: &State, cluster: &str, at: &ObjectKey, object: &Value) -> Plan {
        let account = object["metadata"]["annotations"][ACCOUNT].as_str().filter(|_| object["type"] == TYPE)?;
        let delay = Duration::from_millis(500);
        let Some(found) = get(state, cluster, &key("", "serviceaccounts", &at.namespace, account)) else {
            return Some((delay, vec![Write::Delete { cluster: cluster.into(), key: at.clone() }]));
        };
        if object["data"]["token"].is_string() {
            return None;
        }
        let token = format!("fake-sa.{}", uuid::Uuid::new_v4().simple());
        let filled = json!({
            "metadata": { "annotations": { "kubernetes.io/service-account.uid": found["metadata"]["uid"] } },
            "data": {
                "token": base64(token.as_bytes()),
                "ca.crt": base64(tls::CA.as_bytes()),
                "namespace": base64(at.namespace.as_bytes()),
            },
        });
        Some((delay, vec![merge(cluster, at, filled)]))
    }
}

/// Whether a token Secret of `cluster` holds `token`.
pub(in crate::kube) fn accepts(cluster: &Cluster, token: &str) -> bool {
    let encoded = base64(token.as_bytes());
    cluster.list("", "secrets", None).any(|(_, s)| s["type"] == TYPE && s["data"]["token"] == encoded.as_str())
}
