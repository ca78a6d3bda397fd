use std::path::{Path, PathBuf};

use ringform_core::Address;

use crate::LockInfo;
use crate::seal::{KeyId, SealError};

/// Everything that can go wrong reading or writing state.
///
/// Messages are sentences for the person running ringform; the underlying cause is the error's
/// [`source`](std::error::Error::source), not repeated in the message, so print the chain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// Another live process holds the lock.
    #[error("{}", locked_message(holder.as_ref(), dir))]
    Locked {
        /// Who holds it; `None` when the holder has not said (it is just starting, or it has the
        /// database open without ringform's lock).
        holder: Option<LockInfo>,
        dir: PathBuf,
    },
    /// Asked to open state that has never been written.
    #[error("there is no state in {} yet: nothing has been applied to this deployment", dir.display())]
    NoState { dir: PathBuf },
    /// A file system operation failed.
    #[error("could not {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The sled database failed.
    #[error("the state database in {} failed while trying to {action}", dir.display())]
    Sled {
        action: &'static str,
        dir: PathBuf,
        #[source]
        source: sled::Error,
    },
    /// The database file is damaged or lost writes: its last good copy can be restored.
    #[error("{}", damaged_message(file, detail, last_good.as_deref()))]
    Damaged {
        /// The damaged file.
        file: PathBuf,
        detail: String,
        /// The last good copy beside it, if there is one.
        last_good: Option<PathBuf>,
        #[source]
        source: Option<sled::Error>,
    },
    /// Something stored cannot be decoded; the store was written by something else or damaged.
    #[error(
        "the state in {location} is damaged: {detail}; `ringform state restore` brings back its last good copy, \
         if it has one"
    )]
    Corrupt {
        location: String,
        detail: String,
        #[source]
        source: Option<serde_json::Error>,
    },
    /// The last good copy itself cannot be read.
    #[error("the last good copy {} is damaged: {detail}", path.display())]
    LastGoodDamaged {
        path: PathBuf,
        detail: String,
        #[source]
        source: Option<serde_json::Error>,
    },
    /// Asked to restore state that has no last good copy.
    #[error("there is no last good copy of the state in {} to restore", dir.display())]
    NoLastGood { dir: PathBuf },
    /// Asked to restore state that is not damaged, without forcing it.
    #[error(
        "the state in {} is not damaged (it is at serial {serial}; its last good copy is at serial {last_good_serial}), \
         so it was left as it is",
        dir.display()
    )]
    NotDamaged { dir: PathBuf, serial: u64, last_good_serial: u64 },
    /// A value could not be encoded for storage.
    #[error("could not encode the state of {what}")]
    Encode {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    /// The state is encrypted and no key was given.
    #[error("the state in {location} is encrypted (key {key_id}), and no key was given")]
    KeyMissing { location: String, key_id: KeyId },
    /// The state is encrypted with another key than the one given.
    #[error("the state in {location} is encrypted with key {expected}, not with the key given ({given})")]
    WrongKey { location: String, expected: KeyId, given: KeyId },
    /// A key was given for state whose secrets are stored in plain text.
    #[error("a key was given, but the state in {location} is not encrypted")]
    NotEncrypted { location: String },
    /// A secret of one record could not be sealed or opened.
    #[error("a secret of `{address}` in the state in {location} could not be sealed or opened")]
    Sealing {
        location: String,
        address: String,
        #[source]
        source: SealError,
    },
    /// Asked to change records that are not in state.
    #[error("not in the state in {location}: {}", list(addresses))]
    NotInState { location: String, addresses: Vec<Address> },
    /// Asked to move a record to an address that already has one.
    #[error("`{address}` is in the state in {location} already")]
    AlreadyInState { location: String, address: Address },
    /// Asked to move a record to an address of another kind.
    #[error("`{from}` cannot become `{to}`: a {} is not a {}", from.kind(), to.kind())]
    KindMismatch { from: Address, to: Address },
    /// A store that keeps state elsewhere failed (ringform-remote's errors).
    #[error(transparent)]
    Remote(Box<dyn std::error::Error + Send + Sync>),
}

impl StateError {
    /// A failure of sled's, which is damage when sled says its data is corrupted.
    pub(crate) fn sled(action: &'static str, dir: &Path, source: sled::Error) -> StateError {
        match source {
            sled::Error::Corruption { .. } => StateError::Damaged {
                file: crate::sled_store::db_file(dir),
                detail: "sled reports corrupted data".into(),
                last_good: crate::last_good::read_header(dir).ok().flatten().map(|_| crate::last_good::path_in(dir)),
                source: Some(source),
            },
            source => StateError::Sled { action, dir: dir.to_owned(), source },
        }
    }
}

fn locked_message(holder: Option<&LockInfo>, dir: &Path) -> String {
    match holder {
        Some(h) => format!(
            "the state in {} is locked by `{}` (pid {} on {}, user {}) since {}; wait for it to finish, or stop it: \
             the lock is released the moment that process ends",
            dir.display(),
            h.operation,
            h.pid,
            h.host,
            h.user,
            h.started_at
        ),
        None => format!(
            "the state in {} is in use by another process that does not say who it is; wait for it to finish, \
             or stop it, and retry",
            dir.display()
        ),
    }
}

fn damaged_message(file: &Path, detail: &str, last_good: Option<&Path>) -> String {
    let remedy = match last_good {
        Some(copy) => format!(
            "run `ringform state restore` to go back to its last good copy ({}); the next refresh reconciles \
             anything newer by ownership tags",
            copy.display()
        ),
        None => "it has no last good copy to restore: move it away and re-import the resources".into(),
    };
    format!("the state database {} is damaged: {detail}; {remedy}", file.display())
}

fn list(addresses: &[Address]) -> String {
    addresses.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
}
