//! Everything that can go wrong talking to ARM, and how the engine should treat it.

use std::time::Duration;

use ringform_core::provider::ProviderError;
use serde::Deserialize;

/// ARM error codes that mean "try again later" even on a 4xx status.
const RETRYABLE_CODES: &[&str] =
    &["AnotherOperationInProgress", "RetryableError", "OperationNotAllowedDueToOngoingOperation"];

#[derive(Debug, thiserror::Error)]
pub enum ArmError {
    /// ARM answered with an error status.
    #[error("{action} {resource}: ARM answered {status} {code}: {message}")]
    Api { action: String, resource: String, status: u16, code: String, message: String, retry_after: Option<Duration> },
    /// A long-running operation ended Failed or Canceled.
    #[error("{resource}: the operation ended {status}: {code}: {message}")]
    OperationFailed { resource: String, status: String, code: String, message: String },
    /// The request never got an answer.
    #[error("{action} {resource}: could not reach ARM: {source}")]
    Transport {
        action: String,
        resource: String,
        #[source]
        source: Box<azure_core::Error>,
    },
    #[error("{resource}: still not done after {waited:?} (the limit for this type); check it in the Azure portal")]
    Timeout { resource: String, waited: Duration },
    #[error(
        "getting an Azure token: {0} (set RINGFORM_ARM_TOKEN, AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, AZURE_FEDERATED_TOKEN_FILE, or run `az login`)"
    )]
    Credential(String),
    /// The provider was asked for something it cannot do with these inputs or settings.
    #[error("{0}")]
    Invalid(String),
    /// ARM's answer was not what its API documents.
    #[error("{resource}: unexpected answer from ARM: {message}")]
    Unexpected { resource: String, message: String },
}

pub type ArmResult<T> = Result<T, ArmError>;

impl ArmError {
    pub fn invalid(message: impl Into<String>) -> ArmError {
        ArmError::Invalid(message.into())
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, ArmError::Api { status: 404, .. })
    }
}

impl From<ArmError> for ProviderError {
    fn from(error: ArmError) -> ProviderError {
        let message = error.to_string();
        match error {
            ArmError::Api { status: 429, retry_after, .. } => ProviderError::throttled(message, retry_after),
            ArmError::Api { status, code, .. } if status >= 500 || status == 408 || is_retryable_code(&code) => {
                ProviderError::retryable(message)
            }
            ArmError::OperationFailed { code, .. } if is_retryable_code(&code) || code == "InternalServerError" => {
                ProviderError::retryable(message)
            }
            ArmError::Transport { .. } | ArmError::Timeout { .. } => ProviderError::retryable(message),
            ArmError::Api { .. }
            | ArmError::OperationFailed { .. }
            | ArmError::Credential(_)
            | ArmError::Invalid(_)
            | ArmError::Unexpected { .. } => ProviderError::fatal(message),
        }
    }
}

fn is_retryable_code(code: &str) -> bool {
    RETRYABLE_CODES.iter().any(|c| c.eq_ignore_ascii_case(code))
}

/// ARM's error shape: `{"error": {"code", "message", "details": [...]}}`; some services answer
/// with the inner object alone.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ErrorBody {
    pub error: Option<ErrorDetail>,
    pub code: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    pub details: Vec<ErrorDetail>,
}

impl ErrorDetail {
    /// The code, and the message with every nested detail appended, so nothing ARM said is lost.
    pub fn into_parts(self) -> (String, String) {
        let mut message = self.message;
        for detail in self.details {
            let (code, inner) = detail.into_parts();
            message.push_str(&format!(" [{code}: {inner}]"));
        }
        (self.code, message)
    }
}

/// The code and message of an error body, or a fallback naming the status when there is none.
pub fn parse_error(status: u16, body: &[u8]) -> (String, String) {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let detail = parsed.error.unwrap_or(ErrorDetail {
        code: parsed.code.unwrap_or_default(),
        message: parsed.message.unwrap_or_default(),
        details: vec![],
    });
    let (code, message) = detail.into_parts();
    let code = if code.is_empty() { format!("HTTP{status}") } else { code };
    let message = if message.is_empty() { "(no message)".to_owned() } else { message };
    (code, message)
}

#[cfg(test)]
mod tests {
    use ringform_core::provider::ErrorClass;

    use super::*;

    fn api(status: u16, body: &str, retry_after: Option<Duration>) -> ProviderError {
        let (code, message) = parse_error(status, body.as_bytes());
        ArmError::Api {
            action: "PUT".into(),
            resource: "/subscriptions/s/x".into(),
            status,
            code,
            message,
            retry_after,
        }
        .into()
    }

    #[test]
    fn error_bodies_become_clear_messages() {
        let body = r#"{"error":{"code":"InvalidParameter","message":"bad cidr","details":[{"code":"Inner","message":"why"}]}}"#;
        let error = api(400, body, None);
        assert_eq!(error.class, ErrorClass::Fatal);
        assert_eq!(error.message, "PUT /subscriptions/s/x: ARM answered 400 InvalidParameter: bad cidr [Inner: why]");
    }

    #[test]
    fn statuses_and_codes_map_to_classes() {
        let wait = Some(Duration::from_secs(7));
        assert_eq!(api(429, "", wait).class, ErrorClass::Throttled { retry_after: wait });
        assert_eq!(api(503, "not json", None).class, ErrorClass::Retryable);
        assert!(api(503, "not json", None).message.contains("HTTP503"));
        let busy = r#"{"error":{"code":"AnotherOperationInProgress","message":"busy"}}"#;
        assert_eq!(api(409, busy, None).class, ErrorClass::Retryable);
        let conflict = r#"{"code":"Conflict","message":"no"}"#;
        assert_eq!(api(409, conflict, None).class, ErrorClass::Fatal);
        assert!(api(409, conflict, None).message.contains("Conflict: no"));
    }
}
