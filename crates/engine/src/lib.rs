//! Executes plans against real providers: applies and destroys with every independent
//! operation in parallel (up to `--parallelism`), the operations on the longest remaining chain
//! first, calls to each (provider, account, region) spaced by an adaptive rate limit, retryable
//! errors retried with jittered backoff, and a failure skipping only what depends on it. Each
//! provider call is journalled (intent before, outcome after) and each resource's state record
//! written the moment it is done, so a run killed at any instant can be resumed: [`recover`]
//! settles unfinished intents by looking objects up by their ownership tags. Progress goes to a
//! [`Reporter`]; this crate never prints.

mod execute;
mod limits;
mod local;
mod ops;
mod recovery;
mod refresh;

use std::time::Duration;

use ringform_core::Address;

pub use execute::{Engine, Options};
pub use limits::{RateLimit, RetryPolicy};
pub use local::LocalProvider;
pub use ops::{OpKind, expected_duration};
pub use recovery::{Recovered, recover};
pub use refresh::{Drift, Refreshed, refresh};

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
        error: String,
    },
    Succeeded {
        address: Address,
        op: OpKind,
        elapsed: Duration,
    },
    Failed {
        address: Address,
        op: OpKind,
        error: String,
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
    pub failed: Vec<(Address, OpKind, String)>,
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

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    State(#[from] ringform_state::StateError),
    #[error("{address} references output `{output}` of {source_address}, which has no such output after apply")]
    MissingOutput { address: Address, source_address: Address, output: String },
    #[error("{address}: {message}")]
    Provider { address: Address, message: String },
}
