//! cert-manager: Issuers and ClusterIssuers become Ready, and a Certificate whose issuer is
//! Ready is issued after a few seconds: Ready, with its `spec.secretName` Secret (type
//! `kubernetes.io/tls`; the PEM data is the fake's own, not signed for the Certificate's
//! names). Only while cert-manager's three Deployments are Available in namespace
//! `cert-manager`; until then, as in a real cluster, everything waits. A deleted Secret is
//! issued again.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Controller, Plan, base64, deployment_available, get, has_condition, key, merge};
use crate::kube::server::State;
use crate::kube::store::{ObjectKey, now};
use crate::kube::tls;

const GROUP: &str = "cert-manager.io";
/// Key generation, the CertificateRequest, signing and storing: a few seconds.
const ISSUE: Duration = Duration::from_secs(5);

fn running(state: &State, cluster: &str) -> bool {
    ["cert-manager", "cert-manager-webhook", "cert-manager-cainjector"]
        .iter()
        .all(|name| deployment_available(state, cluster, |k, _| k.namespace == "cert-manager" && k.name == *name))
}

fn ready(reason: &str, message: &str, object: &Value) -> Value {
    json!({ "type": "Ready", "status": "True", "reason": reason, "message": message, "lastTransitionTime": now(), "observedGeneration": object["metadata"]["generation"] })
}

pub(in crate::kube) struct Issuers;

impl Controller for Issuers {
    fn watches(&self, key: &ObjectKey) -> bool {
        key.group == GROUP && (key.plural == "issuers" || key.plural == "clusterissuers")
    }

    fn plan(&self, state: &State, cluster: &str, at: &ObjectKey, object: &Value) -> Plan {
        if has_condition(object, "Ready") || !running(state, cluster) {
            return None;
        }
        let status = json!({ "status": { "conditions": [ready("IsReady", "", object)] } });
        Some((Duration::from_secs(1), vec![merge(cluster, at, status)]))
    }
}

pub(in crate::kube) struct Certificates;

impl Controller for Certificates {
    fn watches(&self, key: &ObjectKey) -> bool {
        key.group == GROUP && key.plural == "certificates"
    }

    fn plan(&self, state: &State, cluster: &str, at: &ObjectKey, object: &Value) -> Plan {
        let spec = &object["spec"];
        let secret_name = spec["secretName"].as_str()?;
        let secret = key("", "secrets", &at.namespace, secret_name);
        let issued = get(state, cluster, &secret).is_some();
        let current = object["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter().any(|c| c["type"] == "Ready" && c["observedGeneration"] == object["metadata"]["generation"])
        });
        if (issued && current && has_condition(object, "Ready")) || !running(state, cluster) {
            return None;
        }
        let issuer = &spec["issuerRef"];
        let issuer_name = issuer["name"].as_str()?;
        let issuer_key = match issuer["kind"].as_str() {
            Some("ClusterIssuer") => key(GROUP, "clusterissuers", "", issuer_name),
            _ => key(GROUP, "issuers", &at.namespace, issuer_name),
        };
        if !get(state, cluster, &issuer_key).is_some_and(|i| has_condition(i, "Ready")) {
            return None;
        }
        let tls_secret = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": secret_name,
                "namespace": at.namespace,
                "annotations": {
                    "cert-manager.io/certificate-name": at.name,
                    "cert-manager.io/issuer-name": issuer_name,
                    "cert-manager.io/issuer-kind": issuer["kind"].as_str().unwrap_or("Issuer"),
                    "cert-manager.io/issuer-group": issuer["group"].as_str().unwrap_or(GROUP),
                    "cert-manager.io/alt-names": spec["dnsNames"].as_array().map(|names| names.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",")).unwrap_or_default(),
                    "cert-manager.io/common-name": spec["commonName"].as_str().unwrap_or_default(),
                },
            },
            "type": "kubernetes.io/tls",
            "data": {
                "tls.crt": base64(tls::CERTIFICATE.as_bytes()),
                "tls.key": base64(tls::KEY.as_bytes()),
                "ca.crt": base64(tls::CA.as_bytes()),
            },
        });
        let issued_at = ringform_state::Timestamp::now();
        let days = |n: u64| ringform_state::Timestamp::from_unix_seconds(issued_at.unix_seconds() + n * 86_400);
        let status = json!({ "status": {
            "conditions": [ready("Ready", "Certificate is up to date and has not expired", object)],
            "notBefore": issued_at.to_string(),
            "notAfter": days(90).to_string(),
            "renewalTime": days(60).to_string(),
            "revision": object["status"]["revision"].as_i64().unwrap_or(0) + 1,
        }});
        Some((ISSUE, vec![merge(cluster, &secret, tls_secret), merge(cluster, at, status)]))
    }
}
