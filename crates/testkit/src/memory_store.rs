//! A state store in memory: the [`StateStore`] contract without the disk, for tests that use
//! paused time and for benchmarks that should measure the engine, not fsync. It runs the state
//! crate's conformance suite like every other store.

use std::sync::{Arc, Mutex};

use ringform_core::Address;
use ringform_state::{JournalEntry, Lineage, Record, Snapshot, StateError, StateStore};

/// Clones are handles to the same state, as two opens of one state directory are.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    snapshot: Option<Snapshot>,
    journal: Vec<(u64, JournalEntry)>,
    next_seq: u64,
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// A store starting from `snapshot`.
    pub fn with_snapshot(snapshot: Snapshot) -> Self {
        MemoryStore { inner: Arc::new(Mutex::new(Inner { snapshot: Some(snapshot), ..Inner::default() })) }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.snapshot.get_or_insert_with(Snapshot::empty);
        f(&mut inner)
    }
}

impl Inner {
    fn state(&mut self) -> &mut Snapshot {
        self.snapshot.get_or_insert_with(Snapshot::empty)
    }

    /// Writes `records`, then removes `removed`; returns the serial after, bumped once if
    /// anything changed, and whether anything did.
    fn write(&mut self, records: &[Record], removed: &[Address]) -> (u64, bool) {
        let state = self.state();
        let mut changed = !records.is_empty();
        for record in records {
            state.records.insert(record.address.clone(), record.clone());
        }
        for address in removed {
            changed |= state.records.remove(address).is_some();
        }
        state.serial += u64::from(changed);
        (state.serial, changed)
    }
}

impl StateStore for MemoryStore {
    fn location(&self) -> String {
        "memory".into()
    }

    fn lineage(&self) -> Lineage {
        self.with(|i| i.state().lineage)
    }

    fn serial(&self) -> Result<u64, StateError> {
        Ok(self.with(|i| i.state().serial))
    }

    fn get(&self, address: &Address) -> Result<Option<Record>, StateError> {
        Ok(self.with(|i| i.state().get(address).cloned()))
    }

    fn snapshot(&self) -> Result<Snapshot, StateError> {
        Ok(self.with(|i| i.state().clone()))
    }

    fn put(&self, record: &Record) -> Result<u64, StateError> {
        Ok(self.with(|i| i.write(std::slice::from_ref(record), &[]).0))
    }

    fn remove(&self, address: &Address) -> Result<bool, StateError> {
        Ok(self.with(|i| i.write(&[], std::slice::from_ref(address)).1))
    }

    fn write_all(&self, records: &[Record], removed: &[Address]) -> Result<u64, StateError> {
        Ok(self.with(|i| i.write(records, removed).0))
    }

    fn journal_append(&self, entry: &JournalEntry) -> Result<u64, StateError> {
        Ok(self.with(|i| {
            i.next_seq += 1;
            let seq = i.next_seq;
            i.journal.push((seq, entry.clone()));
            seq
        }))
    }

    fn journal(&self) -> Result<Vec<(u64, JournalEntry)>, StateError> {
        Ok(self.with(|i| i.journal.clone()))
    }

    fn journal_clear(&self) -> Result<(), StateError> {
        self.with(|i| i.journal.clear());
        Ok(())
    }

    /// Nothing is at rest, so nothing can be damaged: there is no copy to keep.
    fn keep_last_good(&self) -> Result<(), StateError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use ringform_state::StateStore;
    use ringform_state::conformance::Harness;

    use super::MemoryStore;

    /// A new store is a new `MemoryStore`; reopening it is another handle to the same state.
    struct MemoryHarness;

    impl Harness for MemoryHarness {
        type Location = MemoryStore;

        fn create(&self) -> (MemoryStore, Box<dyn StateStore>) {
            let store = MemoryStore::new();
            (store.clone(), Box::new(store))
        }

        fn reopen(&self, store: &MemoryStore) -> Box<dyn StateStore> {
            Box::new(store.clone())
        }
    }

    ringform_state::conformance_tests!(MemoryHarness);
}
