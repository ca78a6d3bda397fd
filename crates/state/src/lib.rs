//! ringform's state: what it has created, keyed by [`Address`]. This crate owns the
//! [`StateStore`] interface every backend implements (the local sled store, [`SledStore`], now;
//! a remote object-storage store later), the state's vocabulary ([`Record`], [`Lineage`] and
//! serial, the in-memory [`Snapshot`] the planner diffs against), the write-ahead journal of
//! provider calls ([`JournalEntry`]) that crash recovery reads, and the lock ([`LockInfo`]) that
//! makes a second process fail fast with a message naming the holder. Every write is durable
//! before it returns, so a killed run loses nothing it recorded. The `conformance` feature
//! exposes the test suite every backend must pass.

mod error;
mod files;
mod lock;
mod model;
mod sled_store;
mod time;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

use ringform_core::Address;

pub use error::StateError;
pub use lock::{LOCK_FILE, LockInfo, force_unlock, read_lock};
pub use model::{JournalEntry, Lineage, Operation, Phase, Record, Snapshot, unfinished_intents};
pub use sled_store::SledStore;
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
}
