//! Kubernetes API failures as the engine classifies them.

use std::fmt::Display;

use ringform_core::provider::ProviderError;

pub type KubeResult<T> = Result<T, ProviderError>;

/// `what` failed with `error`: conflicts, throttling, server errors and lost connections are
/// worth retrying; anything else the API refused will be refused again.
pub fn api_error(what: impl Display, error: kube::Error) -> ProviderError {
    match &error {
        kube::Error::Api(status) => {
            let message = format!("{what}: {} ({} {})", status.message, status.code, status.reason);
            match status.code {
                409 => ProviderError::retryable(message),
                429 => ProviderError::throttled(message, None),
                500..=599 => ProviderError::retryable(message),
                401 | 403 => ProviderError::fatal(message)
                    .with_hint("check the credentials ringform reaches this cluster with (see the README: Pointing ringform at real clouds)"),
                _ => ProviderError::fatal(message),
            }
        }
        // A request that could not be authenticated: making its EKS token failed (see
        // `eks::Bearer`), and that error says why, without the token.
        kube::Error::Service(inner) if let Some(cause) = inner.downcast_ref::<ProviderError>() => {
            ProviderError { message: format!("{what}: {}", cause.message), ..cause.clone() }
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) => {
            ProviderError::retryable(format!("{what}: the cluster's API did not answer")).with_source(error)
        }
        _ => ProviderError::fatal(format!("{what}")).with_source(error),
    }
}

/// Whether `error` says the object is not there.
pub fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}
