//! The contract between the engine and the code that talks to a cloud: one
//! [`ResourceProvider`] per [`Provider`], taking request structs and returning response structs,
//! with errors classified so the engine knows what to retry. No I/O here; implementations
//! live in the provider crates and in the test kit.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::schema::{KindSchema, ProviderSchema, Schemas};
use crate::{Address, Attributes, Kind, Provider};

/// Tag every taggable cloud object carries: the deployment that owns it.
pub const DEPLOYMENT_TAG: &str = "ringform:deployment";
/// Tag every taggable cloud object carries: its address in that deployment.
pub const ADDRESS_TAG: &str = "ringform:address";

/// A boxed future, so the provider trait stays object safe without extra crates.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a call goes: the unit of rate limiting and of batched reads.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    pub provider: Provider,
    /// AWS account, Azure subscription, Kubernetes cluster; empty when there is only one.
    pub account: String,
    /// Cloud region; empty for global services.
    pub region: String,
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.provider)?;
        for part in [&self.account, &self.region] {
            if !part.is_empty() {
                write!(f, "/{part}")?;
            }
        }
        Ok(())
    }
}

/// Create the object at `address` with `inputs`, every reference already resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateRequest {
    pub deployment: String,
    pub address: Address,
    pub inputs: Attributes,
}

/// Change the object in place from `before` to `after`.
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateRequest {
    pub deployment: String,
    pub address: Address,
    pub provider_id: String,
    pub before: Attributes,
    pub after: Attributes,
    /// What the last create or update returned.
    pub outputs: Attributes,
}

/// Delete the object. Deleting an object that no longer exists succeeds.
#[derive(Clone, Debug, PartialEq)]
pub struct DeleteRequest {
    pub deployment: String,
    pub address: Address,
    pub provider_id: String,
    pub inputs: Attributes,
    pub outputs: Attributes,
}

/// An object the engine believes exists, with what state last recorded of it: a provider
/// carries over what its API never returns (a VPN shared key, a fetched kubeconfig).
#[derive(Clone, Debug, PartialEq)]
pub struct Tracked {
    pub address: Address,
    pub provider_id: String,
    pub inputs: Attributes,
    pub outputs: Attributes,
}

/// Read every object of one kind in one scope at once: one call (or one paginated listing)
/// filtered by the deployment tag, never one call per object.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadRequest {
    pub deployment: String,
    pub kind: Kind,
    pub scope: Scope,
    pub resources: Vec<Tracked>,
}

/// An object as the provider sees it: its inputs as they are now, and its outputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    pub address: Address,
    pub provider_id: String,
    pub inputs: Attributes,
    pub outputs: Attributes,
}

/// The requested objects that still exist; one missing from `found` is gone.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReadResponse {
    pub found: Vec<Observed>,
}

/// Look up the object at `address` by its ownership tags, to adopt what a crashed run made.
#[derive(Clone, Debug, PartialEq)]
pub struct FindRequest {
    pub deployment: String,
    pub address: Address,
    pub inputs: Attributes,
}

/// What a create or update returns.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    pub provider_id: String,
    pub outputs: Attributes,
}

/// How the engine should treat a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Transient (a timeout, a 5xx, an eventually consistent dependency): retry with backoff.
    Retryable,
    /// The API asks us to slow down: retry after `retry_after` (or backoff) and lower the rate.
    Throttled { retry_after: Option<Duration> },
    /// Retrying will not help (bad request, quota, permission).
    Fatal,
}

/// A failed provider call: how to treat it, a sentence saying what failed, the error underneath
/// (an SDK, HTTP or I/O error, kept whole so the CLI can print each cause once), and what the
/// user can do about it. `Display` is the sentence alone; the causes are the
/// [`source`](std::error::Error::source) chain.
#[derive(Clone, Debug)]
pub struct ProviderError {
    pub class: ErrorClass,
    pub message: String,
    /// Shared, so the error stays `Clone` (retries and events pass it around).
    pub source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    pub hint: Option<String>,
}

impl ProviderError {
    pub fn retryable(message: impl Into<String>) -> Self {
        ProviderError::new(ErrorClass::Retryable, message)
    }

    pub fn throttled(message: impl Into<String>, retry_after: Option<Duration>) -> Self {
        ProviderError::new(ErrorClass::Throttled { retry_after }, message)
    }

    pub fn fatal(message: impl Into<String>) -> Self {
        ProviderError::new(ErrorClass::Fatal, message)
    }

    fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        ProviderError { class, message: message.into(), source: None, hint: None }
    }

    /// Keeps `source` as the cause, instead of formatting it into the message.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// What the user can do about it, printed after the causes.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl std::fmt::Display for ProviderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ProviderError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // The shared error itself, not the `Arc` (which would hide its type from a downcast).
        self.source.as_deref().map(|source| source as &(dyn std::error::Error + 'static))
    }
}

/// Two errors are the same failure when they say the same thing; the causes are not compared
/// (most error types are not comparable).
impl PartialEq for ProviderError {
    fn eq(&self, other: &Self) -> bool {
        self.class == other.class && self.message == other.message && self.hint == other.hint
    }
}

pub type ProviderResult<T> = Result<T, ProviderError>;

/// What every provider implements. Calls for different objects may run concurrently.
pub trait ResourceProvider: Send + Sync {
    /// The kinds this provider implements and what it declares about each.
    fn schema(&self) -> &'static ProviderSchema;
    fn create(&self, request: CreateRequest) -> BoxFuture<'_, ProviderResult<Applied>>;
    fn update(&self, request: UpdateRequest) -> BoxFuture<'_, ProviderResult<Applied>>;
    fn delete(&self, request: DeleteRequest) -> BoxFuture<'_, ProviderResult<()>>;
    fn read(&self, request: ReadRequest) -> BoxFuture<'_, ProviderResult<ReadResponse>>;
    fn find(&self, request: FindRequest) -> BoxFuture<'_, ProviderResult<Option<Observed>>>;

    /// The scope calls about this object go to (for rate limiting and batching), as the
    /// kind's schema says.
    fn scope(&self, address: &Address, inputs: &Attributes) -> Scope {
        let schema = self.schema();
        match schema.kind(address.kind()) {
            Some(kind) => kind.scope(schema.provider, inputs),
            None => Scope { provider: schema.provider, account: String::new(), region: String::new() },
        }
    }
}

/// The providers the engine dispatches through, and the schemas of their kinds.
#[derive(Clone, Default)]
pub struct Registry {
    providers: BTreeMap<Provider, Arc<dyn ResourceProvider>>,
    schemas: Schemas,
}

impl Registry {
    pub fn new() -> Self {
        Registry::default()
    }

    /// Adds a provider, behind the provider its schema names.
    #[must_use]
    pub fn with(mut self, implementation: Arc<dyn ResourceProvider>) -> Self {
        let schema = implementation.schema();
        self.schemas.add(schema);
        self.providers.insert(schema.provider, implementation);
        self
    }

    pub fn schemas(&self) -> &Schemas {
        &self.schemas
    }

    pub fn schema(&self, kind: Kind) -> Option<&'static KindSchema> {
        self.schemas.get(kind)
    }

    /// The implementation for `kind`'s provider.
    pub fn for_kind(&self, kind: Kind) -> Result<&Arc<dyn ResourceProvider>, ProviderError> {
        let provider = self.schemas.provider(kind).ok_or_else(|| {
            ProviderError::fatal(format!("no provider of this build of ringform declares resource kind {kind}"))
        })?;
        self.providers.get(&provider).ok_or_else(|| {
            ProviderError::fatal(format!(
                "no {provider} provider is configured in this build, so {kind} resources cannot be managed yet"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use super::*;

    #[test]
    fn a_provider_error_keeps_its_cause_apart_from_its_message() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let error = ProviderError::retryable("reading aws_vpc objects failed")
            .with_source(refused)
            .with_hint("check the network");
        assert_eq!(error.to_string(), "reading aws_vpc objects failed");
        let cause = error.source().expect("the cause is kept");
        assert_eq!(cause.to_string(), "connection refused");
        assert_eq!(
            cause.downcast_ref::<std::io::Error>().map(std::io::Error::kind),
            Some(std::io::ErrorKind::ConnectionRefused)
        );
        assert_eq!(error.hint.as_deref(), Some("check the network"));

        // Clones share the cause; equality is about what the error says.
        let copy = error.clone();
        assert!(copy.source().is_some());
        assert_eq!(copy, error);
        assert_eq!(ProviderError::retryable("reading aws_vpc objects failed").with_hint("check the network"), error);
        assert_ne!(ProviderError::fatal("reading aws_vpc objects failed").with_hint("check the network"), error);
    }
}
