//! Why a data key could not be made or unwrapped. Every message names the key and the service
//! and says what to check; none holds key material (the services' own messages, which are
//! included without their closing full stop, hold none either).

use crate::KeyService;

/// A data key that could not be made or unwrapped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error(
        "{service} did not accept the credentials ringform used for key {key}: {message}. Check {}",
        service.sign_in()
    )]
    Unauthenticated { service: KeyService, key: String, message: String },
    #[error(
        "{service} denied access to key {key}: {message}. The identity ringform runs as needs {} on it",
        service.permissions()
    )]
    AccessDenied { service: KeyService, key: String, message: String },
    #[error("{service} has no key {key}: {message}. Check {}", service.locate())]
    NotFound { service: KeyService, key: String, message: String },
    #[error("key {key} in {service} cannot be used: {message}. Enable it again, or name another key")]
    Disabled { service: KeyService, key: String, message: String },
    #[error(
        "the wrapped data key stored with the state does not unwrap with key {key} in {service}: {message}. \
         It was wrapped by another key, or altered"
    )]
    WrongCiphertext { service: KeyService, key: String, message: String },
    #[error("{service} refused the request for key {key} ({code}): {message}")]
    Refused { service: KeyService, key: String, code: String, message: String },
    #[error("the request to {service} for key {key} failed before {service} answered")]
    Request {
        service: KeyService,
        key: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("no token for Azure Key Vault (key {key}): check {}", KeyService::AzureKeyVault.sign_in())]
    Credential {
        key: String,
        #[source]
        source: azure_core::Error,
    },
    #[error("{key} is not a Key Vault key URL like https://VAULT.vault.azure.net/keys/NAME[/VERSION]: {reason}")]
    KeyUrl { key: String, reason: &'static str },
    #[error("key {key} in {service}: {what}")]
    Malformed { service: KeyService, key: String, what: &'static str },
    #[error("the wrapped key of {key} was made by {made_by}, so {given} cannot unwrap it")]
    OtherService { key: String, made_by: KeyService, given: KeyService },
    #[error("the system's random number generator failed")]
    Random,
}
