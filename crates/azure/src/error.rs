//! Everything that can go wrong talking to ARM, and how the engine should treat it.

use std::sync::Arc;
use std::time::Duration;

use ringform_core::InputError;
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
    #[error("{action} {resource}: could not reach ARM")]
    Transport {
        action: String,
        resource: String,
        #[source]
        source: Box<azure_core::Error>,
    },
    #[error("{resource}: still not done after {waited:?} (the limit for this type)")]
    Timeout { resource: String, waited: Duration },
    #[error("getting an Azure token failed")]
    Credential(#[source] azure_core::Error),
    /// The provider was asked for something it cannot do with these inputs or settings.
    #[error("{message}")]
    Invalid {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// An input is not what the kind needs.
    #[error(transparent)]
    Input(#[from] InputError),
    /// ARM's answer was not what its API documents.
    #[error("{resource}: unexpected answer from ARM: {message}")]
    Unexpected { resource: String, message: String },
    /// ARM's answer could not be decoded as its API documents it.
    #[error("{resource}: unexpected answer from ARM: {what}")]
    Malformed {
        resource: String,
        what: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

pub type ArmResult<T> = Result<T, ArmError>;

impl ArmError {
    pub fn invalid(message: impl Into<String>) -> ArmError {
        ArmError::Invalid { message: message.into(), source: None }
    }

    /// [`ArmError::invalid`], caused by `source`.
    pub fn invalid_because(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> ArmError {
        ArmError::Invalid { message: message.into(), source: Some(Box::new(source)) }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, ArmError::Api { status: 404, .. })
    }

    /// ARM's error code, for errors ARM answered with.
    pub fn code(&self) -> Option<&str> {
        match self {
            ArmError::Api { code, .. } | ArmError::OperationFailed { code, .. } => Some(code),
            _ => None,
        }
    }

    /// What the user can do about it, where ringform knows.
    fn hint(&self) -> Option<&'static str> {
        match self {
            ArmError::Transport { .. } => {
                Some("check the network, and RINGFORM_ARM_ENDPOINT if it is set, then run ringform again")
            }
            ArmError::Timeout { .. } => Some("check the resource in the Azure portal, then run ringform again"),
            ArmError::Credential(_) => Some(
                "set RINGFORM_ARM_TOKEN, AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, \
                 AZURE_FEDERATED_TOKEN_FILE, or run `az login`",
            ),
            _ => None,
        }
    }
}

/// The message is the ARM error's own; what it wraps (the HTTP or credential error) stays its
/// cause, not part of the text.
impl From<ArmError> for ProviderError {
    fn from(error: ArmError) -> ProviderError {
        let message = error.to_string();
        let hint = error.hint();
        let (error, source): (ProviderError, Option<Box<dyn std::error::Error + Send + Sync>>) = match error {
            // Its own conversion says that it is ringform's bug.
            ArmError::Input(input) => return input.into(),
            ArmError::Api { status: 429, retry_after, .. } => (ProviderError::throttled(message, retry_after), None),
            ArmError::Api { status, code, .. } if status >= 500 || status == 408 || is_retryable_code(&code) => {
                (ProviderError::retryable(message), None)
            }
            ArmError::OperationFailed { code, .. } if is_retryable_code(&code) || code == "InternalServerError" => {
                (ProviderError::retryable(message), None)
            }
            ArmError::Transport { source, .. } => (ProviderError::retryable(message), Some(source)),
            ArmError::Timeout { .. } => (ProviderError::retryable(message), None),
            ArmError::Credential(source) => (ProviderError::fatal(message), Some(Box::new(source))),
            ArmError::Invalid { source, .. } => (ProviderError::fatal(message), source),
            ArmError::Malformed { source, .. } => (ProviderError::fatal(message), Some(source)),
            ArmError::Api { .. } | ArmError::OperationFailed { .. } | ArmError::Unexpected { .. } => {
                (ProviderError::fatal(message), None)
            }
        };
        ProviderError { source: source.map(Arc::from), hint: hint.map(str::to_owned), ..error }
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
    fn what_an_arm_error_wraps_is_its_cause_not_part_of_its_message() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let transport = ArmError::Transport {
            action: "GET".into(),
            resource: "/subscriptions/s/x".into(),
            source: Box::new(azure_core::Error::new(azure_core::error::ErrorKind::Io, io)),
        };
        let error = ProviderError::from(transport);
        assert_eq!(error.class, ErrorClass::Retryable);
        assert_eq!(error.message, "GET /subscriptions/s/x: could not reach ARM");
        let cause = std::error::Error::source(&error).expect("the transport error is kept");
        let mut chain = vec![cause.to_string()];
        let mut next = cause.source();
        while let Some(deeper) = next {
            chain.push(deeper.to_string());
            next = deeper.source();
        }
        assert!(chain.iter().any(|c| c.contains("connection refused")), "{chain:?}");
        assert!(error.hint.as_deref().is_some_and(|h| h.contains("RINGFORM_ARM_ENDPOINT")), "{error:?}");

        let url = "not a url".parse::<azure_core::http::Url>().unwrap_err();
        let why = url.to_string();
        let invalid = ProviderError::from(ArmError::invalid_because("RINGFORM_ARM_ENDPOINT is not a URL", url));
        assert_eq!(invalid.message, "RINGFORM_ARM_ENDPOINT is not a URL");
        assert_eq!(std::error::Error::source(&invalid).map(ToString::to_string), Some(why));
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
