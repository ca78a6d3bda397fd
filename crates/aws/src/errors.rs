//! The one path from an AWS SDK failure to a [`ProviderError`]: [`ApiError`] keeps the AWS error
//! code (so callers can tell "not found" or "dependency violation" apart) and its class, and
//! [`ApiError::context`] turns it into a sentence naming what ringform was doing.

use std::error::Error as StdError;
use std::fmt::Debug;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use ringform_core::provider::{ErrorClass, ProviderError};

/// Codes AWS services use to ask callers to slow down.
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "SlowDown",
    "PriorRequestNotComplete",
    "RequestThrottled",
    "BandwidthLimitExceeded",
    "EC2ThrottledException",
];

/// Codes that mean "try again shortly": server trouble or a state that is still settling.
const TRANSIENT: &[&str] = &[
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ServerException",
    "Unavailable",
    "IncorrectState",
    "IncorrectInstanceState",
    "ConcurrentModification",
    "ConcurrentModificationException",
    "ResourceInUseException",
];

/// A failed AWS call.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{}", self.describe())]
pub(crate) struct ApiError {
    /// The AWS error code (`InvalidVpcID.NotFound`); `None` for transport failures.
    pub code: Option<String>,
    pub message: String,
    pub class: ErrorClass,
}

impl ApiError {
    pub fn new(code: Option<&str>, message: impl Into<String>, status: Option<u16>) -> Self {
        let message = message.into();
        let class = classify(code, &message, status);
        ApiError { code: code.map(str::to_owned), message, class }
    }

    /// An answer from AWS that lacks something it always carries (an id after a create).
    pub fn malformed(what: &str) -> Self {
        ApiError { code: None, message: format!("the AWS response had no {what}"), class: ErrorClass::Retryable }
    }

    pub fn code(&self) -> &str {
        self.code.as_deref().unwrap_or_default()
    }

    /// The object does not exist (any more).
    pub fn is_not_found(&self) -> bool {
        let code = self.code();
        code.ends_with(".NotFound")
            || code.ends_with(".NotFoundException")
            || code.ends_with(".Malformed") && code.starts_with("Invalid") && self.message.contains("does not exist")
            || matches!(code, "NoSuchEntity" | "ResourceNotFoundException" | "NotFoundException")
    }

    pub fn is_dependency_violation(&self) -> bool {
        self.code() == "DependencyViolation"
    }

    /// A [`ProviderError`] saying what ringform was `doing` (e.g. "creating aws_vpc.x in eu-west-1").
    pub fn context(self, doing: &str) -> ProviderError {
        let hint = match self.class {
            ErrorClass::Fatal => " Fix the cause named by AWS (topology, quota, permissions), then run ringform again.",
            _ => "",
        };
        ProviderError { class: self.class, message: format!("{doing} failed: {}.{hint}", self.describe()) }
    }

    fn describe(&self) -> String {
        let message = self.message.trim_end_matches('.');
        match &self.code {
            Some(code) => format!("AWS answered {code}: {message}"),
            None => message.to_owned(),
        }
    }
}

impl<E, R> From<SdkError<E, R>> for ApiError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: Debug + HasStatus + 'static,
{
    fn from(error: SdkError<E, R>) -> Self {
        match &error {
            SdkError::ServiceError(service) => {
                let status = service.raw().status();
                let inner = service.err();
                let message = match (inner.message(), status) {
                    (Some(message), _) => message.to_owned(),
                    (None, Some(status)) => format!("HTTP {status} without an error message"),
                    (None, None) => inner.to_string(),
                };
                ApiError::new(inner.code(), message, status)
            }
            SdkError::TimeoutError(_) => transport("the request to AWS timed out"),
            SdkError::DispatchFailure(_) => {
                transport(&format!("the request could not be sent to AWS ({})", source_text(&error)))
            }
            SdkError::ResponseError(_) => {
                transport(&format!("AWS sent an unreadable answer ({})", source_text(&error)))
            }
            SdkError::ConstructionFailure(_) => ApiError {
                code: None,
                message: format!("the request could not be built ({})", source_text(&error)),
                class: ErrorClass::Fatal,
            },
            _ => transport(&source_text(&error)),
        }
    }
}

fn transport(message: &str) -> ApiError {
    ApiError { code: None, message: message.to_owned(), class: ErrorClass::Retryable }
}

/// The innermost cause of an SDK error, which is where the useful text lives.
fn source_text(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text = cause.to_string();
        source = cause.source();
    }
    text
}

/// The HTTP status of a raw response, if it has one.
pub(crate) trait HasStatus {
    fn status(&self) -> Option<u16>;
}

impl HasStatus for aws_smithy_runtime_api::client::orchestrator::HttpResponse {
    fn status(&self) -> Option<u16> {
        Some(aws_smithy_runtime_api::client::orchestrator::HttpResponse::status(self).as_u16())
    }
}

fn classify(code: Option<&str>, message: &str, status: Option<u16>) -> ErrorClass {
    let code = code.unwrap_or_default();
    if THROTTLING.contains(&code) || status == Some(429) {
        return ErrorClass::Throttled { retry_after: None };
    }
    // EKS cannot assume a role IAM created a moment ago until IAM has propagated it.
    let role_not_ready = code == "InvalidParameterException" && message.to_ascii_lowercase().contains("role");
    // Right after a create other endpoints may not see the new object yet.
    let not_visible_yet = code.ends_with(".NotFound");
    if TRANSIENT.contains(&code) || status.is_some_and(|s| s >= 500) || role_not_ready || not_visible_yet {
        return ErrorClass::Retryable;
    }
    ErrorClass::Fatal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_codes_and_429_are_throttled() {
        for code in ["Throttling", "RequestLimitExceeded", "TooManyRequestsException", "SlowDown"] {
            assert_eq!(
                ApiError::new(Some(code), "slow down", Some(400)).class,
                ErrorClass::Throttled { retry_after: None }
            );
        }
        assert!(matches!(ApiError::new(None, "x", Some(429)).class, ErrorClass::Throttled { .. }));
    }

    #[test]
    fn server_errors_and_settling_objects_are_retryable() {
        assert_eq!(ApiError::new(Some("InternalError"), "x", Some(500)).class, ErrorClass::Retryable);
        assert_eq!(ApiError::new(Some("Whatever"), "x", Some(503)).class, ErrorClass::Retryable);
        assert_eq!(ApiError::new(Some("InvalidVpcID.NotFound"), "x", Some(400)).class, ErrorClass::Retryable);
        let role = "Role with arn: arn:aws:iam::1:role/x, could not be assumed because it does not exist or the trusted entity is not correct";
        assert_eq!(ApiError::new(Some("InvalidParameterException"), role, Some(400)).class, ErrorClass::Retryable);
    }

    #[test]
    fn other_errors_are_fatal_and_say_what_failed() {
        let error = ApiError::new(Some("VpcLimitExceeded"), "The maximum number of VPCs has been reached.", Some(400));
        assert_eq!(error.class, ErrorClass::Fatal);
        let message = error.context("creating aws_vpc.eu-west in eu-west-1").message;
        assert!(
            message.starts_with("creating aws_vpc.eu-west in eu-west-1 failed: AWS answered VpcLimitExceeded"),
            "{message}"
        );
    }

    #[test]
    fn not_found_codes_are_recognised() {
        assert!(ApiError::new(Some("InvalidVpcID.NotFound"), "", None).is_not_found());
        assert!(ApiError::new(Some("InvalidLaunchTemplateName.NotFoundException"), "", None).is_not_found());
        assert!(ApiError::new(Some("NoSuchEntity"), "", None).is_not_found());
        assert!(ApiError::new(Some("ResourceNotFoundException"), "", None).is_not_found());
        assert!(!ApiError::new(Some("DependencyViolation"), "", None).is_not_found());
    }
}
