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

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    pub class: ErrorClass,
    pub message: String,
}

impl ProviderError {
    pub fn retryable(message: impl Into<String>) -> Self {
        ProviderError { class: ErrorClass::Retryable, message: message.into() }
    }

    pub fn throttled(message: impl Into<String>, retry_after: Option<Duration>) -> Self {
        ProviderError { class: ErrorClass::Throttled { retry_after }, message: message.into() }
    }

    pub fn fatal(message: impl Into<String>) -> Self {
        ProviderError { class: ErrorClass::Fatal, message: message.into() }
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
        match schema.kinds.iter().find(|k| k.kind == address.kind()) {
            Some(kind) => kind.scope(schema.provider, inputs),
            None => Scope { provider: schema.provider, account: String::new(), region: String::new() },
        }
    }
}

/// The providers the engine dispatches through, and the schemas of every kind ringform knows,
/// including those of providers this build cannot use yet.
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

    /// Adds the schema of a provider this build cannot use: its kinds plan, but applying them
    /// fails before anything starts.
    #[must_use]
    pub fn knowing(mut self, schema: &'static ProviderSchema) -> Self {
        self.schemas.add(schema);
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
