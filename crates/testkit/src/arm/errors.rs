//! ARM's error envelope and the reply type every handler returns.

use serde_json::{Value, json};

/// One answer to a request, before it becomes an HTTP response.
#[derive(Debug)]
pub(super) struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Value>,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Reply {
        Reply { status, headers: Vec::new(), body: Some(body) }
    }

    pub fn empty(status: u16) -> Reply {
        Reply { status, headers: Vec::new(), body: None }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
}

/// One entry of `error.details`: which part of the request was wrong.
#[derive(Debug)]
pub(super) struct Detail {
    pub code: String,
    pub target: String,
    pub message: String,
}

/// An ARM error: `{"error": {"code", "message", "details"?}}` with its HTTP status.
#[derive(Debug)]
pub(super) struct ArmError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub details: Vec<Detail>,
    pub headers: Vec<(&'static str, String)>,
}

impl ArmError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> ArmError {
        ArmError { status, code: code.to_string(), message: message.into(), details: Vec::new(), headers: Vec::new() }
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> ArmError {
        ArmError::new(400, code, message)
    }

    pub fn not_found(code: &str, message: impl Into<String>) -> ArmError {
        ArmError::new(404, code, message)
    }

    pub fn conflict(code: &str, message: impl Into<String>) -> ArmError {
        ArmError::new(409, code, message)
    }

    /// A status with its canonical reason as the code (`500` → `InternalServerError`), as ARM's
    /// gateway answers when a resource provider fails.
    pub fn from_status(status: u16) -> ArmError {
        let reason = hyper::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error");
        let code: String = reason.split_whitespace().collect();
        ArmError::new(status, &code, format!("Injected failure: the fake ARM answers {status} {reason}."))
    }

    pub fn with_details(mut self, details: Vec<Detail>) -> ArmError {
        self.details = details;
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> ArmError {
        self.headers.push((name, value.into()));
        self
    }

    /// The `error` object alone, as async operations embed it.
    pub fn body(&self) -> Value {
        let mut error = json!({ "code": self.code, "message": self.message });
        if !self.details.is_empty() {
            let details: Vec<Value> = self
                .details
                .iter()
                .map(|d| json!({ "code": d.code, "target": d.target, "message": d.message }))
                .collect();
            error["details"] = Value::Array(details);
        }
        error
    }

    pub fn into_reply(self) -> Reply {
        let body = json!({ "error": self.body() });
        Reply { status: self.status, headers: self.headers, body: Some(body) }
    }
}
