//! ringform's remote state: one deployment's state as objects in S3 or Azure Blob Storage,
//! through the `object_store` crate, for teams and scheduled CI. This crate owns
//! [`RemoteStore`], a [`StateStore`] that works in a local sled cache and keeps the remote
//! objects up to date behind it, and the operations around it: reading remote state without
//! locking ([`read_snapshot`]), breaking a stale lock ([`unlock`]) and moving state between
//! a local directory and a bucket ([`migrate_to_remote`], [`migrate_to_local`]).
//!
//! The objects, named after the state object `K` (see [`Location`]):
//! - `K`: the state, a [`Document`] (header and records as stored, secrets sealed). Every write
//!   names the version it replaces (`If-Match`; `If-None-Match: *` for the first), so a writer
//!   working from a stale copy is refused, never silently overwritten.
//! - `K.lock`: who holds the lock, created with `If-None-Match: *` and deleted on release. A
//!   remote lock cannot end with its process; `ringform state unlock --lock-id` breaks one.
//! - `K.journal`: the intents of provider calls in flight. An intent reaches it *before* its
//!   call is made, so a run killed at any instant and rerun from another machine settles every
//!   call by ownership tags, as a local rerun does from its local journal.
//! - `K.last-good`: the state after the last run that succeeded, for `ringform state restore`.
//!
//! This crate does not know topologies, providers or where keys come from: the caller names
//! the location, the credentials and the [`Sealing`].

mod location;
mod lock;
mod migrate;
mod objects;
mod rewrite;
mod store;

use std::path::PathBuf;
use std::pin::Pin;

use ringform_state::{StateError, StateKey};

pub use location::{AzureAuth, Location};
pub use lock::{LockRecord, unlock};
pub use migrate::{migrate_to_local, migrate_to_remote};
pub use rewrite::{rekey, restore};
pub use store::{CACHE_MARKER, RemoteStore, read_snapshot};

#[doc(no_inline)]
pub use ringform_state::{Document, StateStore};

/// How the secrets of remote state are sealed.
#[derive(Clone)]
pub enum Sealing {
    /// In plain text: the topology says `encryption = "none"`.
    Plain,
    /// With a key the caller holds (from the environment or a file).
    Key(StateKey),
    /// With a data key that a key service wraps; the wrapped key is kept in the state's header.
    Service(std::sync::Arc<dyn KeyService>),
}

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A key service (AWS KMS, Azure Key Vault) that wraps data keys: envelope encryption.
pub trait KeyService: Send + Sync {
    /// What the key is, for messages: `aws-kms alias/ringform`.
    fn describe(&self) -> String;
    /// A new data key, and the wrapped form of it to keep beside the state.
    fn new_key(&self) -> BoxFuture<Result<(StateKey, serde_json::Value), String>>;
    /// The data key inside `wrapped`.
    fn unwrap(&self, wrapped: serde_json::Value) -> BoxFuture<Result<StateKey, String>>;
}

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("cannot reach the remote state at {url}: {detail}")]
    Setup { url: String, detail: String },
    #[error("could not {action} {url}")]
    Request {
        action: &'static str,
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "{url} was changed by someone else since this run read it, so this write was refused; nothing was overwritten"
    )]
    Conflict { url: String },
    #[error("the state at {url} is locked by {holder}")]
    Locked { url: String, holder: Box<LockRecord> },
    #[error("the state at {url} is locked with another lock id: held by {holder}")]
    OtherLock { url: String, holder: Box<LockRecord> },
    #[error("{} holds state of its own, and the topology keeps state at {url}", dir.display())]
    LocalState { dir: PathBuf, url: String },
    #[error(
        "there is no state at {url}, but the cache in {} was last in step with it at serial {serial}: \
         the state object was deleted or moved",
        dir.display()
    )]
    Missing { url: String, dir: PathBuf, serial: u64 },
    #[error("there is state at {url} already")]
    Exists { url: String },
    #[error("the key of the state at {url} could not be had from {service}: {detail}")]
    Key { url: String, service: String, detail: String },
    #[error("the copy at {url} does not read back as written")]
    Unverified { url: String },
    #[error(transparent)]
    State(#[from] StateError),
}

impl RemoteError {
    fn setup(url: &str, error: impl std::fmt::Display) -> RemoteError {
        RemoteError::Setup { url: url.to_owned(), detail: error.to_string() }
    }
}

impl From<RemoteError> for StateError {
    fn from(error: RemoteError) -> StateError {
        match error {
            RemoteError::State(error) => error,
            other => StateError::Remote(Box::new(other)),
        }
    }
}
