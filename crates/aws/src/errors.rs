//! The one path from an AWS SDK failure to a [`ProviderError`]: [`ApiError`] keeps the AWS error
//! code (so callers can tell "not found" or "dependency violation" apart), its class, and, when
//! AWS never answered, the transport error underneath; [`ApiError::context`] turns it into a
//! sentence naming what ringform was doing, with that error as its cause.

use std::error::Error as StdError;
use std::fmt::Debug;
use std::sync::Arc;

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
#[derive(Clone, Debug, thiserror::Error)]
#[error("{}", self.describe())]
pub(crate) struct ApiError {
    /// The AWS error code (`InvalidVpcID.NotFound`); `None` for transport failures.
    pub code: Option<String>,
    pub message: String,
    pub class: ErrorClass,
    /// Why no answer came (the connection, the timeout, the unreadable body); shared, so the
    /// error stays `Clone`. AWS's own answers need none: their code and message say it all.
    #[source]
    pub source: Option<Arc<dyn StdError + Send + Sync>>,
}

impl ApiError {
    pub fn new(code: Option<&str>, message: impl Into<String>, status: Option<u16>) -> Self {
        let message = message.into();
        let class = classify(code, &message, status);
        ApiError { code: code.map(str::to_owned), message, class, source: None }
    }

    /// An answer from AWS that lacks something it always carries (an id after a create).
    pub fn malformed(what: &str) -> Self {
        ApiError {
            code: None,
            message: format!("the AWS response had no {what}"),
            class: ErrorClass::Retryable,
            source: None,
        }
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

    /// A [`ProviderError`] saying what ringform was `doing` (e.g. "creating aws_vpc.x in eu-west-1"),
    /// caused by the transport error, if any, with a hint for what the user can do.
    pub fn context(self, doing: &str) -> ProviderError {
        let hint = match (self.class, &self.code) {
            (ErrorClass::Fatal, Some(_)) => {
                Some("fix the cause AWS names (topology, quota, permissions), then run ringform again")
            }
            (ErrorClass::Retryable, None) if self.source.is_some() => {
                Some("check the network, and AWS_ENDPOINT_URL if it is set, then run ringform again")
            }
            _ => None,
        };
        let error = ProviderError {
            class: self.class,
            message: format!("{doing} failed: {}", self.describe()),
            source: self.source,
            hint: None,
        };
        match hint {
            Some(hint) => error.with_hint(hint),
            None => error,
        }
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
    R: Debug + HasStatus + Send + Sync + 'static,
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
            SdkError::TimeoutError(_) => transport("the request to AWS timed out", error),
            SdkError::DispatchFailure(_) => transport("the request could not be sent to AWS", error),
            SdkError::ResponseError(_) => transport("AWS sent an unreadable answer", error),
            SdkError::ConstructionFailure(_) => {
                ApiError { class: ErrorClass::Fatal, ..transport("the request could not be built", error) }
            }
            _ => transport("the AWS call failed", error),
        }
    }
}

/// A call that got no answer from AWS, caused by what the SDK reports underneath.
fn transport<E, R>(message: &str, error: SdkError<E, R>) -> ApiError
where
    E: StdError + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    // The SDK's own layer only names the variant ("dispatch failure"); its source says why.
    let source: Arc<dyn StdError + Send + Sync> = match error.into_source() {
        Ok(source) => Arc::from(source),
        Err(error) => Arc::new(error),
    };
    ApiError { code: None, message: message.to_owned(), class: ErrorClass::Retryable, source: Some(source) }
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
    fn a_call_aws_never_answered_keeps_the_connection_error_as_its_cause() {
        use aws_sdk_ec2::operation::describe_vpcs::DescribeVpcsError;
        use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
        use aws_smithy_runtime_api::client::result::ConnectorError;

        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused (os error 111)");
        let sdk: SdkError<DescribeVpcsError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io(refused.into()));
        let error = ApiError::from(sdk).context("reading the aws_vpc objects in eu-west-1");
        assert_eq!(error.class, ErrorClass::Retryable);
        assert_eq!(
            error.message,
            "reading the aws_vpc objects in eu-west-1 failed: the request could not be sent to AWS"
        );
        let mut chain = Vec::new();
        let mut cause = StdError::source(&error);
        while let Some(level) = cause {
            chain.push(level.to_string());
            cause = level.source();
        }
        assert_eq!(chain, ["io error", "Connection refused (os error 111)"]);
        assert!(error.hint.as_deref().is_some_and(|h| h.contains("AWS_ENDPOINT_URL")), "{error:?}");
    }

    #[test]
    fn an_answer_from_aws_is_the_message_with_a_hint_when_retrying_cannot_help() {
        let error = ApiError::new(Some("VpcLimitExceeded"), "The maximum number of VPCs has been reached.", Some(400))
            .context("creating aws_vpc.eu-west in eu-west-1");
        assert_eq!(StdError::source(&error).map(ToString::to_string), None, "AWS's answer is all in the message");
        assert!(error.hint.as_deref().is_some_and(|h| h.starts_with("fix the cause AWS names")), "{error:?}");
        let retryable = ApiError::new(Some("InternalError"), "x", Some(500)).context("creating aws_vpc.eu-west");
        assert_eq!(retryable.hint, None);
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
