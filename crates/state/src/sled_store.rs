//! The local state store: a sled database in a private directory, beside its lock
//! (`lock.json`) and its last good copy (`last-good.jsonl`).
//!
//! Opening checks the database against its last good copy, because sled recovers a damaged
//! file by silently going back to an older state: a database with no state, another lineage,
//! or a serial behind the copy's is reported as damaged, naming the file, rather than used.
//! Opening also checks the key: an encrypted store opens only with its own key, and a plain
//! one refuses a key until `ringform state rekey` has encrypted it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ringform_core::Address;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use crate::document::{Document, Header};
use crate::last_good;
use crate::lock::LockGuard;
use crate::seal::{self, KeyId, StateKey};
use crate::stored::{decode_record, encode_record};
use crate::{JournalEntry, Lineage, Record, Snapshot, StateError, StateStore, files};

// Trees and meta keys. Records are JSON so that a damaged store can be read by hand.
const META: &str = "meta";
const RECORDS: &str = "records";
const JOURNAL: &str = "journal";
const LINEAGE_KEY: &[u8] = b"lineage";
const SERIAL_KEY: &[u8] = b"serial";
const JOURNAL_NEXT_KEY: &[u8] = b"journal_next";
/// The id of the key secrets are sealed with; absent in a store that is not encrypted.
const KEY_ID_KEY: &[u8] = b"key_id";

/// The file sled keeps its data in; its presence means state was created here.
const DB_FILE: &str = "db";

/// How long to wait for sled's own file lock when `lock.json` is already ours: the conflict is
/// then almost always this process's previous handle still shutting down its threads.
const SLED_LOCK_PATIENCE: Duration = Duration::from_secs(1);

/// The database file of the state in `dir`, for messages.
pub(crate) fn db_file(dir: &Path) -> PathBuf {
    dir.join(DB_FILE)
}

/// State in a local directory (by default `state/<deployment>/`, chosen by the CLI).
///
/// Opening takes the deployment's lock for the lifetime of the value; dropping releases it.
/// The directory is 0700 and its files 0600; with a key, secrets are sealed in every record.
pub struct SledStore {
    pub(crate) data: Database,
    lineage: Lineage,
    /// The key secrets are sealed with; `None` for state that is not encrypted.
    key: Option<StateKey>,
    /// The header of the last good copy as this store last wrote or read it.
    last_good: Mutex<Option<Header>>,
    // Serialises writes with each other and with `snapshot`, so a snapshot's serial always
    // matches its records.
    writes: Mutex<()>,
    // Declared last so it drops last: the lock is released only once sled has closed.
    lock: LockGuard,
}

/// How to open a [`SledStore`]: for which command (recorded in the lock) and with which key.
#[derive(Clone, Debug)]
pub struct Opener {
    pub(crate) operation: String,
    pub(crate) key: Option<StateKey>,
}

impl Opener {
    /// Opens for `operation` (e.g. `"apply"`), without a key.
    pub fn new(operation: &str) -> Opener {
        Opener { operation: operation.to_owned(), key: None }
    }

    /// The key that secrets are (or, for new state, will be) sealed with.
    #[must_use]
    pub fn key(mut self, key: Option<StateKey>) -> Opener {
        self.key = key;
        self
    }

    /// Opens the state in `dir`, creating the directory and a new lineage at serial 0 if there
    /// is no state yet.
    pub fn open(&self, dir: impl AsRef<Path>) -> Result<SledStore, StateError> {
        SledStore::open_with(dir.as_ref(), self, true)
    }

    /// Like [`open`](Self::open), but fails with [`StateError::NoState`] instead of creating
    /// anything when there is no state in `dir` yet.
    pub fn open_existing(&self, dir: impl AsRef<Path>) -> Result<SledStore, StateError> {
        SledStore::open_with(dir.as_ref(), self, false)
    }
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("dir", &self.dir())
            .field("lineage", &self.lineage)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl SledStore {
    /// Opens the state in `dir` for `operation` without a key; see [`Opener::open`].
    pub fn open(dir: impl AsRef<Path>, operation: &str) -> Result<SledStore, StateError> {
        Opener::new(operation).open(dir)
    }

    /// Opens existing state in `dir` for `operation` without a key; see
    /// [`Opener::open_existing`].
    pub fn open_existing(dir: impl AsRef<Path>, operation: &str) -> Result<SledStore, StateError> {
        Opener::new(operation).open_existing(dir)
    }

    /// Whether `dir` holds state (or the last good copy of a database that is gone), without
    /// opening or locking it.
    pub fn exists(dir: impl AsRef<Path>) -> bool {
        db_file(dir.as_ref()).is_file() || last_good::path_in(dir.as_ref()).is_file()
    }

    pub fn dir(&self) -> &Path {
        self.lock.dir()
    }

    /// The id of the key this state's secrets are sealed with; `None` when they are not.
    pub fn key_id(&self) -> Option<&KeyId> {
        self.key.as_ref().map(StateKey::id)
    }

    fn open_with(dir: &Path, opener: &Opener, create: bool) -> Result<SledStore, StateError> {
        if create {
            files::ensure_private_dir(dir).map_err(|source| StateError::Io {
                action: "create the state directory",
                path: dir.to_owned(),
                source,
            })?;
        } else if !Self::exists(dir) {
            return Err(StateError::NoState { dir: dir.to_owned() });
        }
        // Our lock first: sled's own file lock would only say "could not acquire lock".
        let lock = LockGuard::acquire(dir, &opener.operation)?;
        let witness = last_good::read_header(dir)?;
        let (data, lineage) = Database::open_checked(dir, witness.as_ref(), opener.key.as_ref(), create)?;
        Ok(SledStore::assemble(data, lineage, opener.key.clone(), witness, lock))
    }

    /// A store from an open, checked database and the lock of its directory.
    pub(crate) fn assemble(
        data: Database,
        lineage: Lineage,
        key: Option<StateKey>,
        last_good: Option<Header>,
        lock: LockGuard,
    ) -> SledStore {
        SledStore { data, lineage, key, last_good: Mutex::new(last_good), writes: Mutex::new(()), lock }
    }

    /// The parts of a store, for replacing its database: the database and the lock.
    pub(crate) fn into_parts(self) -> (Database, LockGuard) {
        (self.data, self.lock)
    }

    fn writing(&self) -> MutexGuard<'_, ()> {
        // The guarded data is `()`: a panic elsewhere cannot have left it inconsistent.
        self.writes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn known_last_good(&self) -> MutexGuard<'_, Option<Header>> {
        self.last_good.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn flush(&self) -> Result<(), StateError> {
        self.data.db.flush().map(drop).map_err(|source| self.sled_error("flush to disk", source))
    }

    fn sled_error(&self, action: &'static str, source: sled::Error) -> StateError {
        StateError::sled(action, self.dir(), source)
    }

    fn corrupt(&self, detail: String, source: Option<serde_json::Error>) -> StateError {
        StateError::Corrupt { location: self.location(), detail, source }
    }

    fn transaction_error(&self, action: &'static str, error: TransactionError<String>) -> StateError {
        match error {
            TransactionError::Abort(detail) => self.corrupt(detail, None),
            TransactionError::Storage(source) => self.sled_error(action, source),
        }
    }

    fn decode(&self, key: &[u8], value: &[u8]) -> Result<Record, StateError> {
        decode_record(&String::from_utf8_lossy(key), value, self.key.as_ref(), &self.location())
    }

    fn read_serial(&self) -> Result<u64, StateError> {
        self.data.serial(self.dir())
    }

    /// The state as stored (secrets sealed), records in address order: a copy that moves to
    /// another store, or becomes the last good copy, byte for byte.
    pub fn document(&self) -> Result<Document, StateError> {
        let _writing = self.writing();
        let header = Header::new(self.lineage, self.read_serial()?, self.key_id().cloned());
        let records = self.data.records.iter().values().map(|value| value.map(|v| v.to_vec()));
        let records =
            records.collect::<Result<_, _>>().map_err(|source| self.sled_error("read the records", source))?;
        Ok(Document { header, records })
    }

    /// Writes `records` and then removes `removed` in one transaction; returns the serial after
    /// it and whether anything changed (the serial is bumped once if so).
    fn write_batch(&self, records: &[Record], removed: &[Address]) -> Result<(u64, bool), StateError> {
        let location = self.location();
        let encoded = records
            .iter()
            .map(|r| Ok((r.address.to_string(), encode_record(r, self.key.as_ref(), &location)?)))
            .collect::<Result<Vec<_>, StateError>>()?;
        let removed: Vec<String> = removed.iter().map(Address::to_string).collect();
        let _writing = self.writing();
        let (serial, changed) = (&self.data.meta, &self.data.records)
            .transaction(|(meta, tree)| {
                let mut changed = !encoded.is_empty();
                for (key, value) in &encoded {
                    tree.insert(key.as_bytes(), value.as_slice())?;
                }
                for key in &removed {
                    changed |= tree.remove(key.as_bytes())?.is_some();
                }
                let serial = if changed { bump(meta, SERIAL_KEY, "serial")? } else { current(meta, SERIAL_KEY)? };
                Ok((serial, changed))
            })
            .map_err(|e| self.transaction_error("write records", e))?;
        if changed {
            self.flush()?;
        }
        Ok((serial, changed))
    }
}

/// An open sled database and its trees.
pub(crate) struct Database {
    db: sled::Db,
    meta: sled::Tree,
    records: sled::Tree,
    journal: sled::Tree,
}

impl Database {
    /// Opens (creating if missing) the database in `dir`.
    fn open(dir: &Path) -> Result<Database, StateError> {
        let db = open_db(dir)?;
        let tree = |name, action| db.open_tree(name).map_err(|source| StateError::sled(action, dir, source));
        let meta = tree(META, "open the meta tree")?;
        let records = tree(RECORDS, "open the records tree")?;
        let journal = tree(JOURNAL, "open the journal tree")?;
        Ok(Database { db, meta, records, journal })
    }

    /// Opens the database in `dir` (initialising it with `key` when `create` and it is new),
    /// checked against its last good copy's header `witness` and against `key`.
    pub(crate) fn open_checked(
        dir: &Path,
        witness: Option<&Header>,
        key: Option<&StateKey>,
        create: bool,
    ) -> Result<(Database, Lineage), StateError> {
        if witness.is_some() && !db_file(dir).is_file() {
            return Err(damaged(dir, "the database file is missing"));
        }
        let data = Database::open(dir)?;
        let lineage = match (data.lineage(dir)?, witness) {
            (Some(lineage), _) => lineage,
            (None, Some(_)) => return Err(damaged(dir, "it holds no state, but it has a last good copy")),
            (None, None) if create => {
                let header = Header::new(Lineage::new(), 0, key.map(|k| k.id().clone()));
                data.initialize(dir, &header, 1)?;
                header.lineage
            }
            // A first open that died before writing the lineage leaves sled files but no state.
            (None, None) => return Err(StateError::NoState { dir: dir.to_owned() }),
        };
        if let Some(witness) = witness {
            data.check_against(dir, lineage, witness)?;
        }
        seal::check_key(data.key_id(dir)?.as_ref(), key, &dir.display().to_string())?;
        tighten(dir)?;
        Ok((data, lineage))
    }

    /// Fails when this database is not the state its last good copy was taken from, or has
    /// gone back to before it.
    fn check_against(&self, dir: &Path, lineage: Lineage, witness: &Header) -> Result<(), StateError> {
        if lineage != witness.lineage {
            let detail = format!("its lineage is {lineage}, but its last good copy's is {}", witness.lineage);
            return Err(damaged(dir, &detail));
        }
        let serial = self.serial(dir)?;
        if serial < witness.serial {
            let detail = format!(
                "it is at serial {serial}, behind its last good copy at serial {}: writes were lost",
                witness.serial
            );
            return Err(damaged(dir, &detail));
        }
        Ok(())
    }

    fn lineage(&self, dir: &Path) -> Result<Option<Lineage>, StateError> {
        let Some(bytes) =
            self.meta.get(LINEAGE_KEY).map_err(|source| StateError::sled("read the lineage", dir, source))?
        else {
            return Ok(None);
        };
        let lineage = std::str::from_utf8(&bytes).ok().and_then(|text| text.parse().ok());
        lineage.map(Some).ok_or_else(|| StateError::Corrupt {
            location: dir.display().to_string(),
            detail: "the lineage is not a UUID".into(),
            source: None,
        })
    }

    pub(crate) fn serial(&self, dir: &Path) -> Result<u64, StateError> {
        let bytes = self.meta.get(SERIAL_KEY).map_err(|source| StateError::sled("read the serial", dir, source))?;
        decode_u64(bytes.as_deref(), "serial").map_err(|detail| StateError::Corrupt {
            location: dir.display().to_string(),
            detail,
            source: None,
        })
    }

    fn key_id(&self, dir: &Path) -> Result<Option<KeyId>, StateError> {
        let bytes = self.meta.get(KEY_ID_KEY).map_err(|source| StateError::sled("read the key id", dir, source))?;
        bytes.map(|bytes| serde_json::from_slice(&bytes)).transpose().map_err(|source| StateError::Corrupt {
            location: dir.display().to_string(),
            detail: "the key id cannot be decoded".into(),
            source: Some(source),
        })
    }

    /// Writes the lineage, serial and key id of `header` and the next journal number in one
    /// step, and flushes.
    fn initialize(&self, dir: &Path, header: &Header, journal_next: u64) -> Result<(), StateError> {
        let sled_error = |source| StateError::sled("initialize the state", dir, source);
        let mut batch = sled::Batch::default();
        batch.insert(LINEAGE_KEY, header.lineage.to_string().as_bytes());
        batch.insert(SERIAL_KEY, &header.serial.to_be_bytes());
        batch.insert(JOURNAL_NEXT_KEY, &journal_next.to_be_bytes());
        if let Some(key_id) = &header.key_id {
            let encoded = serde_json::to_vec(key_id)
                .map_err(|source| StateError::Encode { what: "the key id".into(), source })?;
            batch.insert(KEY_ID_KEY, encoded);
        }
        self.meta.apply_batch(batch).map_err(sled_error)?;
        self.db.flush().map_err(sled_error)?;
        Ok(())
    }

    /// A new database in `dir`, where there is none, holding `records` and `journal` as
    /// stored, under `header`.
    pub(crate) fn create(
        dir: &Path,
        header: &Header,
        records: &[(String, Vec<u8>)],
        journal: &[(sled::IVec, sled::IVec)],
        journal_next: u64,
    ) -> Result<Database, StateError> {
        let data = Database::open(dir)?;
        let sled_error = |source| StateError::sled("write the state", dir, source);
        let mut batch = sled::Batch::default();
        for (address, value) in records {
            batch.insert(address.as_bytes(), value.as_slice());
        }
        data.records.apply_batch(batch).map_err(sled_error)?;
        let mut batch = sled::Batch::default();
        for (seq, entry) in journal {
            batch.insert(seq, entry);
        }
        data.journal.apply_batch(batch).map_err(sled_error)?;
        // The lineage last: a database without one is no state, should this be cut short.
        data.initialize(dir, header, journal_next)?;
        tighten(dir)?;
        Ok(data)
    }

    /// The journal as stored, and the next free sequence number.
    pub(crate) fn stored_journal(&self, dir: &Path) -> Result<(Vec<(sled::IVec, sled::IVec)>, u64), StateError> {
        let entries =
            self.journal.iter().collect::<Result<_, _>>().map_err(|s| StateError::sled("read the journal", dir, s))?;
        let next = self.meta.get(JOURNAL_NEXT_KEY).map_err(|s| StateError::sled("read the journal", dir, s))?;
        let next = decode_u64(next.as_deref(), "journal counter").map_err(|detail| StateError::Corrupt {
            location: dir.display().to_string(),
            detail,
            source: None,
        })?;
        Ok((entries, next))
    }

    /// Decodes every record and journal entry, to tell a readable database from a damaged one.
    pub(crate) fn read_everything(&self, dir: &Path, key: Option<&StateKey>) -> Result<(), StateError> {
        let location = dir.display().to_string();
        for item in self.records.iter() {
            let (stored_as, value) = item.map_err(|source| StateError::sled("read the records", dir, source))?;
            decode_record(&String::from_utf8_lossy(&stored_as), &value, key, &location)?;
        }
        for item in self.journal.iter() {
            let (seq, value) = item.map_err(|source| StateError::sled("read the journal", dir, source))?;
            decode_journal_entry(&seq, &value, &location)?;
        }
        Ok(())
    }
}

/// sled creates its files with the process umask: make them private.
fn tighten(dir: &Path) -> Result<(), StateError> {
    files::tighten_permissions(dir).map_err(|source| StateError::Io {
        action: "restrict the permissions of",
        path: dir.to_owned(),
        source,
    })
}

fn damaged(dir: &Path, detail: &str) -> StateError {
    let last_good = last_good::path_in(dir);
    StateError::Damaged {
        file: db_file(dir),
        detail: detail.to_owned(),
        last_good: last_good.is_file().then_some(last_good),
        source: None,
    }
}

fn open_db(dir: &Path) -> Result<sled::Db, StateError> {
    // Every write flushes explicitly, so sled's periodic flusher thread is not needed.
    let config = sled::Config::new().path(dir).flush_every_ms(None);
    let deadline = Instant::now() + SLED_LOCK_PATIENCE;
    loop {
        match config.open() {
            Ok(db) => return Ok(db),
            Err(e) if is_lock_conflict(&e) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(25));
            }
            // Someone has the database open without holding `lock.json`.
            Err(e) if is_lock_conflict(&e) => return Err(StateError::Locked { holder: None, dir: dir.to_owned() }),
            Err(source) => return Err(StateError::sled("open the database", dir, source)),
        }
    }
}

fn is_lock_conflict(error: &sled::Error) -> bool {
    match error {
        sled::Error::Io(e) => e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().contains("acquire lock"),
        _ => false,
    }
}

fn decode_u64(bytes: Option<&[u8]>, what: &str) -> Result<u64, String> {
    match bytes {
        Some(bytes) => bytes.try_into().map(u64::from_be_bytes).map_err(|_| format!("the {what} is not a number")),
        None => Err(format!("the {what} is missing")),
    }
}

fn decode_journal_entry(seq: &[u8], value: &[u8], location: &str) -> Result<(u64, JournalEntry), StateError> {
    let corrupt = |detail, source| StateError::Corrupt { location: location.to_owned(), detail, source };
    let seq = decode_u64(Some(seq), "journal key").map_err(|detail| corrupt(detail, None))?;
    let entry = serde_json::from_slice(value)
        .map_err(|source| corrupt(format!("journal entry {seq} cannot be decoded"), Some(source)))?;
    Ok((seq, entry))
}

fn current(meta: &TransactionalTree, key: &[u8]) -> Result<u64, ConflictableTransactionError<String>> {
    decode_u64(meta.get(key)?.as_deref(), "serial").map_err(ConflictableTransactionError::Abort)
}

/// Reads, increments and writes back a counter inside a transaction; returns the new value.
fn bump(meta: &TransactionalTree, key: &[u8], what: &str) -> Result<u64, ConflictableTransactionError<String>> {
    let current = decode_u64(meta.get(key)?.as_deref(), what).map_err(ConflictableTransactionError::Abort)?;
    let next = current + 1;
    meta.insert(key, &next.to_be_bytes())?;
    Ok(next)
}

impl StateStore for SledStore {
    fn location(&self) -> String {
        self.dir().display().to_string()
    }

    fn lineage(&self) -> Lineage {
        self.lineage
    }

    fn serial(&self) -> Result<u64, StateError> {
        self.read_serial()
    }

    fn get(&self, address: &Address) -> Result<Option<Record>, StateError> {
        let key = address.to_string();
        let value = self.data.records.get(key.as_bytes()).map_err(|source| self.sled_error("read a record", source))?;
        value.map(|value| self.decode(key.as_bytes(), &value)).transpose()
    }

    fn snapshot(&self) -> Result<Snapshot, StateError> {
        let _writing = self.writing();
        let serial = self.read_serial()?;
        let mut records = BTreeMap::new();
        for item in self.data.records.iter() {
            let (key, value) = item.map_err(|source| self.sled_error("read the records", source))?;
            let record = self.decode(&key, &value)?;
            records.insert(record.address.clone(), record);
        }
        Ok(Snapshot { lineage: self.lineage, serial, records })
    }

    fn put(&self, record: &Record) -> Result<u64, StateError> {
        Ok(self.write_batch(std::slice::from_ref(record), &[])?.0)
    }

    fn remove(&self, address: &Address) -> Result<bool, StateError> {
        Ok(self.write_batch(&[], std::slice::from_ref(address))?.1)
    }

    fn write_all(&self, records: &[Record], removed: &[Address]) -> Result<u64, StateError> {
        Ok(self.write_batch(records, removed)?.0)
    }

    fn journal_append(&self, entry: &JournalEntry) -> Result<u64, StateError> {
        let value = serde_json::to_vec(entry).map_err(|source| StateError::Encode {
            what: format!("a journal entry for `{}`", entry.address),
            source,
        })?;
        let _writing = self.writing();
        let seq = (&self.data.meta, &self.data.journal)
            .transaction(|(meta, journal)| {
                // The counter holds the next free number; `bump` returns the one after it.
                let seq = bump(meta, JOURNAL_NEXT_KEY, "journal counter")? - 1;
                journal.insert(&seq.to_be_bytes(), value.as_slice())?;
                Ok(seq)
            })
            .map_err(|e| self.transaction_error("append to the journal", e))?;
        self.flush()?;
        Ok(seq)
    }

    fn journal(&self) -> Result<Vec<(u64, JournalEntry)>, StateError> {
        // Big-endian keys sort in numeric order.
        let location = self.location();
        let mut entries = Vec::new();
        for item in self.data.journal.iter() {
            let (key, value) = item.map_err(|source| self.sled_error("read the journal", source))?;
            entries.push(decode_journal_entry(&key, &value, &location)?);
        }
        Ok(entries)
    }

    fn journal_clear(&self) -> Result<(), StateError> {
        let _writing = self.writing();
        // One atomic batch: a crash half-way must not keep intents whose outcomes were dropped.
        let mut batch = sled::Batch::default();
        for key in self.data.journal.iter().keys() {
            batch.remove(key.map_err(|source| self.sled_error("read the journal", source))?);
        }
        self.data.journal.apply_batch(batch).map_err(|source| self.sled_error("clear the journal", source))?;
        self.flush()
    }

    /// Copies the records as stored (secrets still sealed) into `last-good.jsonl`, unless the
    /// copy there is of this very serial already.
    fn keep_last_good(&self) -> Result<(), StateError> {
        let header = Header::new(self.lineage, self.read_serial()?, self.key_id().cloned());
        if self.known_last_good().as_ref() == Some(&header) {
            return Ok(());
        }
        let copy = self.document()?;
        last_good::write(self.dir(), &copy)?;
        *self.known_last_good() = Some(copy.header);
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::Cell;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;
    use std::process::Command;

    use ringform_core::{Attributes, Value};
    use tempfile::TempDir;

    use super::*;
    use crate::conformance::{Harness, SealedHarness};
    use crate::{LOCK_FILE, LockInfo, Operation, StateKey};

    struct SledHarness {
        root: TempDir,
        next: Cell<u32>,
    }

    impl SledHarness {
        fn new() -> SledHarness {
            SledHarness { root: TempDir::new().unwrap(), next: Cell::new(0) }
        }
    }

    impl Harness for SledHarness {
        type Location = PathBuf;

        fn create(&self) -> (PathBuf, Box<dyn StateStore>) {
            self.next.set(self.next.get() + 1);
            let dir = self.root.path().join(format!("deployment-{}", self.next.get()));
            let store = SledStore::open(&dir, "test").unwrap();
            (dir, Box::new(store))
        }

        fn reopen(&self, dir: &PathBuf) -> Box<dyn StateStore> {
            Box::new(SledStore::open_existing(dir, "test").unwrap())
        }
    }

    impl SealedHarness for SledHarness {
        fn create_sealed(&self, key: &StateKey) -> (PathBuf, Box<dyn StateStore>) {
            let (dir, _) = self.create();
            fs::remove_dir_all(&dir).unwrap();
            let store = Opener::new("test").key(Some(key.clone())).open(&dir).unwrap();
            (dir, Box::new(store))
        }

        fn reopen_with(&self, dir: &PathBuf, key: Option<&StateKey>) -> Result<Box<dyn StateStore>, StateError> {
            let store = Opener::new("test").key(key.cloned()).open_existing(dir)?;
            Ok(Box::new(store))
        }

        fn stored_bytes(&self, dir: &PathBuf) -> Vec<u8> {
            every_byte_in(dir)
        }
    }

    /// The contents of every file under `dir`, in name order.
    pub(crate) fn every_byte_in(dir: &Path) -> Vec<u8> {
        let mut entries: Vec<PathBuf> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        entries
            .into_iter()
            .flat_map(|path| if path.is_dir() { every_byte_in(&path) } else { fs::read(path).unwrap() })
            .collect()
    }

    crate::conformance_tests!(SledHarness::new());
    crate::sealed_conformance_tests!(SledHarness::new());

    fn record(address: &str) -> Record {
        let inputs: Attributes = [("cidr_block".to_owned(), Value::from("10.100.0.0/16"))].into();
        Record::new(address.parse().unwrap(), Some("vpc-1".into()), inputs, Attributes::new())
    }

    fn lock_file(dir: &Path) -> LockInfo {
        serde_json::from_slice(&fs::read(dir.join(LOCK_FILE)).unwrap()).unwrap()
    }

    fn state_dir() -> (TempDir, PathBuf) {
        let root = TempDir::new().unwrap();
        let dir = root.path().join("state").join("prod");
        (root, dir)
    }

    #[test]
    fn open_existing_on_fresh_dir_says_no_state_and_creates_nothing() {
        let (_root, dir) = state_dir();
        let err = SledStore::open_existing(&dir, "plan").unwrap_err();
        assert!(matches!(err, StateError::NoState { .. }), "{err}");
        assert!(err.to_string().contains("no state"), "{err}");
        assert!(!dir.exists());
        assert!(!SledStore::exists(&dir));
    }

    #[test]
    fn state_persists_across_reopen() {
        let (_root, dir) = state_dir();
        let store = SledStore::open(&dir, "apply").unwrap();
        let lineage = store.lineage();
        store.put(&record("aws_vpc.eu-west")).unwrap();
        store.put(&record("aws_vpc.eu-central")).unwrap();
        store.journal_append(&JournalEntry::intent("aws_vpc.x".parse().unwrap(), Operation::Create)).unwrap();
        let before = store.snapshot().unwrap();
        drop(store);
        assert!(!dir.join(LOCK_FILE).exists(), "dropping releases the lock");

        let store = SledStore::open_existing(&dir, "plan").unwrap();
        assert_eq!(store.lineage(), lineage);
        assert_eq!(store.serial().unwrap(), 2);
        assert_eq!(store.snapshot().unwrap(), before);
        assert_eq!(store.unfinished_intents().unwrap().len(), 1);
    }

    #[test]
    fn second_open_fails_fast_naming_the_holder() {
        let (_root, dir) = state_dir();
        let _held = SledStore::open(&dir, "apply").unwrap();
        let started = Instant::now();
        let err = SledStore::open(&dir, "plan").unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
        let StateError::Locked { holder: Some(holder), .. } = &err else { panic!("expected Locked, got {err:?}") };
        assert_eq!(holder.pid, std::process::id());
        assert_eq!(holder.operation, "apply");
        let message = err.to_string();
        for part in [format!("pid {}", std::process::id()), holder.host.clone(), "`apply`".into(), holder.user.clone()]
        {
            assert!(message.contains(&part), "{message} should name {part}");
        }
        assert!(message.contains(&holder.started_at.to_string()), "{message}");
        // The failed open must not have disturbed the holder's lock.
        assert_eq!(&lock_file(&dir), holder);
    }

    fn dead_pid() -> u32 {
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    /// What a run that died left in `lock.json` (on this host or, on a shared disk, another)
    /// is not in the way: nobody holds the OS lock.
    #[test]
    fn a_lock_file_left_by_a_dead_run_is_not_in_the_way() {
        let (_root, dir) = state_dir();
        drop(SledStore::open(&dir, "apply").unwrap());
        for host in [LockInfo::current("apply").host, "ci-runner-elsewhere".into()] {
            let holder = LockInfo { pid: dead_pid(), host, ..LockInfo::current("apply") };
            fs::write(dir.join(LOCK_FILE), serde_json::to_vec(&holder).unwrap()).unwrap();
            let store = SledStore::open(&dir, "plan").unwrap();
            assert_eq!(lock_file(&dir).operation, "plan");
            drop(store);
            assert!(!dir.join(LOCK_FILE).exists());
        }
    }

    #[test]
    fn sled_in_use_without_our_lock_still_reports_locked() {
        let (_root, dir) = state_dir();
        drop(SledStore::open(&dir, "apply").unwrap());
        // sled's threads release its file lock shortly after the handle drops.
        let rogue = (0..50)
            .find_map(|_| {
                sled::Config::new().path(&dir).open().ok().or_else(|| {
                    std::thread::sleep(Duration::from_millis(20));
                    None
                })
            })
            .expect("sled opens once the store has closed");
        let err = SledStore::open(&dir, "plan").unwrap_err();
        assert!(matches!(err, StateError::Locked { holder: None, .. }), "{err:?}");
        assert!(!dir.join(LOCK_FILE).exists(), "a failed open must release the lock it took");
        drop(rogue);
        SledStore::open(&dir, "plan").unwrap();
    }

    fn assert_private(dir: &Path) {
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(dir), 0o700, "{}", dir.display());
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                assert_private(&path);
            } else {
                assert_eq!(mode(&path), 0o600, "{}", path.display());
            }
        }
    }

    #[test]
    fn state_is_private_to_its_owner() {
        let (_root, dir) = state_dir();
        let store = SledStore::open(&dir, "apply").unwrap();
        assert!(dir.join(LOCK_FILE).is_file() && dir.join(DB_FILE).is_file());
        assert_private(&dir);
        let mut big = record("k8s_secret.kubeconfig");
        big.outputs.insert("kubeconfig".into(), Value::secret("x".repeat(200_000).into()));
        store.put(&big).unwrap();
        drop(store);
        assert_private(&dir);

        // A directory that already exists with loose modes is tightened on open.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(dir.join(DB_FILE), fs::Permissions::from_mode(0o644)).unwrap();
        let store = SledStore::open(&dir, "apply").unwrap();
        assert_private(&dir);
        assert_eq!(store.get(&big.address).unwrap(), Some(big));
    }

    #[test]
    fn damaged_records_are_reported_not_panicked_on() {
        let (_root, dir) = state_dir();
        drop(SledStore::open(&dir, "apply").unwrap());
        {
            let db = sled::Config::new().path(&dir).open().unwrap();
            let records = db.open_tree(RECORDS).unwrap();
            records.insert("aws_vpc.a", b"{not json".as_slice()).unwrap();
            records.insert("aws_vpc.b", serde_json::to_vec(&record("aws_vpc.c")).unwrap()).unwrap();
            db.flush().unwrap();
        }
        let store = SledStore::open(&dir, "plan").unwrap();
        let err = store.get(&"aws_vpc.a".parse().unwrap()).unwrap_err();
        assert!(matches!(err, StateError::Corrupt { source: Some(_), .. }), "{err:?}");
        assert!(err.to_string().contains("aws_vpc.a"), "{err}");
        let err = store.get(&"aws_vpc.b".parse().unwrap()).unwrap_err();
        assert!(err.to_string().contains("aws_vpc.c"), "{err}");
        assert!(store.snapshot().is_err());
        // Removing a damaged record works: it is how one cleans up.
        assert!(store.remove(&"aws_vpc.a".parse().unwrap()).unwrap());
    }

    const CHILD_DIR: &str = "RINGFORM_STATE_TEST_CHILD_DIR";

    /// Runs itself again as a child process that writes a record and an intent, then dies by
    /// SIGKILL: the next open finds both, and the lock free.
    #[test]
    fn a_killed_writer_loses_nothing() {
        use std::os::unix::process::ExitStatusExt;
        if let Some(dir) = std::env::var_os(CHILD_DIR) {
            let store = SledStore::open(&dir, "apply").unwrap();
            store.put(&record("aws_vpc.eu-west")).unwrap();
            let intent = JournalEntry::intent("aws_vpc.eu-central".parse().unwrap(), Operation::Create);
            store.journal_append(&intent).unwrap();
            // Die the way a killed run does: no destructor runs, nothing more is flushed.
            // SAFETY: sending a signal to ourselves has no memory-safety implications.
            unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
            unreachable!("SIGKILL cannot be caught");
        }
        let (_root, dir) = state_dir();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["sled_store::tests::a_killed_writer_loses_nothing", "--exact", "--test-threads=1", "--quiet"])
            .env(CHILD_DIR, &dir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");

        assert_eq!(lock_file(&dir).pid, pid, "the dead run's name is still there");
        let store = SledStore::open_existing(&dir, "apply").unwrap();
        assert_eq!(store.serial().unwrap(), 1);
        // The child's record has its own timestamps; everything else must match.
        let found = store.get(&"aws_vpc.eu-west".parse().unwrap()).unwrap().unwrap();
        assert_eq!(
            Record { created_at: found.created_at, updated_at: found.updated_at, ..record("aws_vpc.eu-west") },
            found
        );
        let open = store.unfinished_intents().unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].1.address.to_string(), "aws_vpc.eu-central");
    }
}
