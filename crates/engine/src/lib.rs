//! Executes plans against real providers: applies and destroys with every independent
//! operation in parallel (up to `--parallelism`), the operations on the longest remaining chain
//! first, calls to each (provider, account, region) spaced by an adaptive rate limit, retryable
//! errors retried with jittered backoff, and a failure skipping only what depends on it. Each
//! provider call is journalled (intent before, outcome after) and each resource's state record
//! written the moment it is done, so a run killed at any instant can be resumed: [`recover`]
//! settles unfinished intents by looking objects up by their ownership tags. The walk over the
//! operations (readiness, priorities, the parallelism bound, skipping after a failure, stopping)
//! is kept apart from what one operation does, as OpenTofu keeps its DAG walk. Progress goes to
//! a [`Reporter`]; errors keep their causes until the CLI shows them; this crate never prints.

mod execute;
mod limits;
mod local;
mod ops;
mod recovery;
mod refresh;
mod walk;

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use ringform_core::provider::{ProviderError, Scope};
use ringform_core::{Address, Kind};

pub use execute::{Engine, Options};
pub use limits::{RateLimit, RetryPolicy};
pub use local::LocalProvider;
pub use ops::{OpKind, expected_duration};
pub use recovery::{Recovered, recover};
pub use refresh::{Drift, Refreshed, refresh, refresh_into_store};

/// Something that happened during a run, for progress displays and logs.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Started {
        address: Address,
        op: OpKind,
    },
    Retrying {
        address: Address,
        op: OpKind,
        attempt: u32,
        delay: Duration,
        error: ProviderError,
    },
    Succeeded {
        address: Address,
        op: OpKind,
        elapsed: Duration,
    },
    Failed {
        address: Address,
        op: OpKind,
        error: OpError,
    },
    /// Not attempted because something it needs failed.
    Skipped {
        address: Address,
        op: OpKind,
        because: Address,
    },
    /// Scheduling stopped (Ctrl-C); in-flight operations are finishing.
    Stopping {
        in_flight: usize,
    },
}

/// Receives events as they happen, from any thread.
pub trait Reporter: Send + Sync {
    fn report(&self, event: Event);
}

/// A reporter that drops everything.
pub struct Silent;

impl Reporter for Silent {
    fn report(&self, _: Event) {}
}

/// How a run went.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    pub succeeded: Vec<(Address, OpKind, Duration)>,
    pub failed: Vec<(Address, OpKind, OpError)>,
    /// Not attempted, with the failed operation they depended on.
    pub skipped: Vec<(Address, OpKind, Address)>,
    /// Not started because the run was stopped.
    pub not_started: Vec<(Address, OpKind)>,
    pub elapsed: Duration,
    /// The chain of operations that determined the run's length, first to last.
    pub critical_path: Vec<(Address, OpKind, Duration)>,
}

impl Outcome {
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty() && self.not_started.is_empty()
    }
}

/// Why one operation failed, kept whole until it is shown: the provider's error with its
/// causes and hint, the state write that failed, or a reference that could not be resolved.
/// Clones share the error; two are equal when they read the same, causes included.
#[derive(Clone, Debug)]
pub struct OpError(Arc<dyn Error + Send + Sync>);

impl OpError {
    pub fn new(error: impl Error + Send + Sync + 'static) -> Self {
        OpError(Arc::new(error))
    }

    /// The error itself, to render with its chain of causes (and, for a [`ProviderError`],
    /// its hint).
    pub fn error(&self) -> &(dyn Error + Send + Sync + 'static) {
        self.0.as_ref()
    }

    /// The error and its causes on one line, `what: why: why`, as the journal keeps it.
    pub fn chain(&self) -> String {
        let mut text = self.0.to_string();
        let mut source = self.0.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}

/// The top message alone; the causes are [`OpError::error`]'s sources.
impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl PartialEq for OpError {
    fn eq(&self, other: &Self) -> bool {
        self.chain() == other.chain()
    }
}

/// What goes wrong in the engine: a run, refresh or recovery that cannot go on (returned as
/// is), or one operation that cannot be carried out (inside its [`OpError`]). Provider failures
/// stay the [`source`](Error::source), for the CLI to print as causes.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    State(#[from] ringform_state::StateError),
    #[error("{address} references output `{output}` of {source_address}, which has no such output after apply")]
    MissingOutput { address: Address, source_address: Address, output: String },
    /// No provider is registered for a kind the state holds.
    #[error(transparent)]
    NoProvider(ProviderError),
    #[error("cannot read the {kind} objects in {scope}")]
    Read {
        kind: Kind,
        scope: Scope,
        #[source]
        source: ProviderError,
    },
    #[error("cannot settle {address}, which an interrupted run left unfinished")]
    Recover {
        address: Address,
        #[source]
        source: ProviderError,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_error_shows_its_message_and_keeps_its_causes_for_the_journal() {
        let full = std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left on device");
        let error = OpError::new(ProviderError::fatal("creating aws_vpc.a failed").with_source(full));
        assert_eq!(error.to_string(), "creating aws_vpc.a failed");
        assert_eq!(error.chain(), "creating aws_vpc.a failed: no space left on device");
        let provider_error = error.error().downcast_ref::<ProviderError>().expect("the provider's error, whole");
        assert_eq!(provider_error.message, "creating aws_vpc.a failed");
        assert_eq!(error.clone(), error);
        assert_ne!(OpError::new(ProviderError::fatal("creating aws_vpc.a failed")), error, "causes count");
    }
}
