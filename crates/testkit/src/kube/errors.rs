//! Kubernetes' error body, a `Status` object with the HTTP code, reason and message, and the
//! JSON answers every handler builds on.

use serde_json::{Value, json};

use super::resources::ResourceType;
use crate::http::{Body, Response};

/// A failed request, answered as `{"kind": "Status", "status": "Failure", …}`.
#[derive(Debug)]
pub(super) struct KubeError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
    pub retry_after: Option<u64>,
}

impl KubeError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> KubeError {
        KubeError { code, reason, message: message.into(), details: None, retry_after: None }
    }

    pub fn bad_request(message: impl Into<String>) -> KubeError {
        KubeError::new(400, "BadRequest", message)
    }

    pub fn unauthorized() -> KubeError {
        KubeError::new(401, "Unauthorized", "Unauthorized")
    }

    pub fn forbidden(message: impl Into<String>) -> KubeError {
        KubeError::new(403, "Forbidden", message)
    }

    /// A path the server does not serve, as the real one says it.
    pub fn no_route() -> KubeError {
        KubeError::new(404, "NotFound", "the server could not find the requested resource")
    }

    pub fn not_found(t: &ResourceType, name: &str) -> KubeError {
        KubeError::new(404, "NotFound", format!("{} \"{name}\" not found", t.qualified())).with_details(t, name)
    }

    pub fn namespace_not_found(namespace: &str) -> KubeError {
        let message = format!("namespaces \"{namespace}\" not found");
        KubeError {
            details: Some(json!({ "name": namespace, "kind": "namespaces" })),
            ..KubeError::new(404, "NotFound", message)
        }
    }

    pub fn already_exists(t: &ResourceType, name: &str) -> KubeError {
        KubeError::new(409, "AlreadyExists", format!("{} \"{name}\" already exists", t.qualified()))
            .with_details(t, name)
    }

    /// A write against a stale `resourceVersion`.
    pub fn stale(t: &ResourceType, name: &str) -> KubeError {
        let message = format!(
            "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            t.qualified()
        );
        KubeError::new(409, "Conflict", message).with_details(t, name)
    }

    /// 422: `causes` are (field, message) pairs, the field in dotted form (`spec.replicas`).
    pub fn invalid(t: &ResourceType, name: &str, causes: &[(String, String)]) -> KubeError {
        let listed: Vec<String> = causes.iter().map(|(field, message)| format!("{field}: {message}")).collect();
        let kind = if t.group.is_empty() { t.kind.clone() } else { format!("{}.{}", t.kind, t.group) };
        let message = format!("{kind} \"{name}\" is invalid: {}", listed.join(", "));
        let causes: Vec<Value> = causes
            .iter()
            .map(|(field, message)| json!({ "reason": "FieldValueInvalid", "message": message, "field": field }))
            .collect();
        let mut error = KubeError::new(422, "Invalid", message).with_details(t, name);
        if let Some(details) = &mut error.details {
            details["kind"] = t.kind.clone().into();
            details["causes"] = causes.into();
        }
        error
    }

    pub fn unsupported_media_type(content_type: &str) -> KubeError {
        let accepted = "application/json, application/yaml, application/merge-patch+json, application/apply-patch+yaml";
        let message = format!(
            "the body of the request was in an unknown format - accepted media types include: {accepted}; got {content_type:?}"
        );
        KubeError::new(415, "UnsupportedMediaType", message)
    }

    pub fn method_not_allowed(method: &str) -> KubeError {
        KubeError::new(
            405,
            "MethodNotAllowed",
            format!("the server does not allow this method on the requested resource ({method})"),
        )
    }

    fn with_details(mut self, t: &ResourceType, name: &str) -> KubeError {
        self.details = Some(json!({ "name": name, "group": t.group, "kind": t.plural }));
        self
    }

    pub fn status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "code": self.code,
        });
        // A Status built without a reason (as the eviction API's 500) has none.
        if !self.reason.is_empty() {
            status["reason"] = self.reason.into();
        }
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }

    pub fn into_response(self) -> Response {
        let mut response = json_response(self.code, &self.status());
        if let Some(after) = self.retry_after {
            response.headers.push(("Retry-After", after.to_string()));
        }
        response
    }
}

pub(super) fn json_response(status: u16, body: &Value) -> Response {
    Response {
        status,
        headers: vec![("Content-Type", "application/json".to_string())],
        body: Body::Full(serde_json::to_vec(body).unwrap_or_default()),
    }
}
