//! ringform's state: what it has created, keyed by [`Address`]. This crate owns the
//! [`StateStore`] interface every backend implements (the local sled store, [`SledStore`], now;
//! a remote object-storage store later), the state's vocabulary ([`Record`], [`Lineage`] and
//! serial, the in-memory [`Snapshot`] the planner diffs against), the write-ahead journal of
//! provider calls ([`JournalEntry`]) that crash recovery reads, and the lock ([`LockInfo`]) that
//! makes a second process fail fast with a message naming the holder. Every write is durable
//! before it returns, so a killed run loses nothing it recorded.
//!
//! Around the store: [`seal`] encrypts secrets at rest with a [`StateKey`]; the last good copy
//! kept after every successful run (`last-good.jsonl`) lets damaged state be restored
//! ([`SledStore::restore`]) and reveals a database that lost writes; [`forget`] and
//! [`move_record`] are the edits people make by hand (`state rm`, `state mv`). The
//! `conformance` feature exposes the test suite every backend must pass.

mod document;
mod edit;
mod error;
mod files;
mod last_good;
mod lock;
mod model;
mod restore;
pub mod seal;
mod sled_store;
mod stored;
mod time;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

use ringform_core::Address;

pub use document::{Document, Header};
pub use edit::{Moved, forget, move_record};
pub use error::StateError;
pub use files::write_atomically;
pub use last_good::LAST_GOOD_FILE;
pub use lock::{LOCK_FILE, LockInfo, unlock};
pub use model::{JournalEntry, Lineage, Operation, Phase, Record, Secrets, Snapshot, unfinished_intents};
pub use restore::Restored;
pub use seal::{KeyId, StateKey};
pub use sled_store::{Opener, SledStore};
pub use time::{Timestamp, TimestampError};

/// A deployment's state: records by address, a lineage fixed at creation, a serial bumped by
/// every record write, and the journal. An open store holds the deployment's lock.
///
/// Guarantees every implementation gives (the `conformance` suite checks them):
/// - [`put`](StateStore::put) and [`remove`](StateStore::remove) bump the serial by one in the
///   same atomic step as the record change, and both are durable before they return;
/// - journal entries are durable before [`journal_append`](StateStore::journal_append)
///   returns, and their sequence numbers only ever grow, also across
///   [`journal_clear`](StateStore::journal_clear); the journal does not touch the serial;
/// - [`write_all`](StateStore::write_all) is all or nothing, and bumps the serial once;
/// - methods take `&self`, so one store can be shared by the engine's concurrent tasks.
pub trait StateStore: Send + Sync {
    /// Where the state lives, for messages (a directory, a bucket and prefix, …).
    fn location(&self) -> String;

    /// The state's identity, fixed when it was created.
    fn lineage(&self) -> Lineage;

    /// The number of record writes ever made; 0 for new state.
    fn serial(&self) -> Result<u64, StateError>;

    fn get(&self, address: &Address) -> Result<Option<Record>, StateError>;

    /// All records with the lineage and serial they belong to.
    fn snapshot(&self) -> Result<Snapshot, StateError>;

    /// Writes (inserts or replaces) the record for `record.address`; returns the new serial.
    fn put(&self, record: &Record) -> Result<u64, StateError>;

    /// Removes the record at `address`; returns whether there was one. Removing nothing is not a
    /// write and leaves the serial alone.
    fn remove(&self, address: &Address) -> Result<bool, StateError>;

    /// Writes `records` and then removes the records at `removed`, in one atomic step that
    /// bumps the serial once (not at all when nothing changed); returns the serial after it.
    /// For edits that must never be seen half done, such as moving a record.
    fn write_all(&self, records: &[Record], removed: &[Address]) -> Result<u64, StateError>;

    /// Appends to the journal; returns the entry's sequence number.
    fn journal_append(&self, entry: &JournalEntry) -> Result<u64, StateError>;

    /// The whole journal in order, with sequence numbers.
    fn journal(&self) -> Result<Vec<(u64, JournalEntry)>, StateError>;

    /// Intents with no later outcome for the same address and operation; see
    /// [`unfinished_intents`].
    fn unfinished_intents(&self) -> Result<Vec<(u64, JournalEntry)>, StateError> {
        Ok(unfinished_intents(&self.journal()?))
    }

    /// Empties the journal, once every intent in it is resolved.
    fn journal_clear(&self) -> Result<(), StateError>;

    /// Keeps the state as it is now as its last good one, after a run that succeeded: what
    /// `ringform state restore` goes back to when the store is damaged. The local store keeps
    /// a copy beside it; a store that keeps versions of itself, or keeps nothing at rest, may
    /// have nothing to do.
    fn keep_last_good(&self) -> Result<(), StateError>;

    /// Finishes with the store: what is not yet where the store keeps it goes there, and the
    /// lock is released. Dropping the store does the same without saying whether it failed.
    fn close(&self) -> Result<(), StateError> {
        Ok(())
    }
}
