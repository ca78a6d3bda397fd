//! The local state store: a sled database in a private directory, beside its `lock.json`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ringform_core::Address;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use crate::lock::LockGuard;
use crate::{JournalEntry, Lineage, Record, Snapshot, StateError, StateStore, files};

// Trees and meta keys. Records are JSON so that a damaged store can be read by hand.
const META: &str = "meta";
const RECORDS: &str = "records";
const JOURNAL: &str = "journal";
const LINEAGE_KEY: &[u8] = b"lineage";
const SERIAL_KEY: &[u8] = b"serial";
const JOURNAL_NEXT_KEY: &[u8] = b"journal_next";

/// The file sled keeps its data in; its presence means state was created here.
const DB_FILE: &str = "db";

/// How long to wait for sled's own file lock when `lock.json` is already ours: the conflict is
/// then almost always this process's previous handle still shutting down its threads.
const SLED_LOCK_PATIENCE: Duration = Duration::from_secs(1);

/// State in a local directory (by default `state/<deployment>/`, chosen by the CLI).
///
/// Opening takes the deployment's lock for the lifetime of the value; dropping releases it.
/// The directory is 0700 and its files 0600 because state holds secrets in plain text.
pub struct SledStore {
    meta: sled::Tree,
    records: sled::Tree,
    journal: sled::Tree,
    db: sled::Db,
    lineage: Lineage,
    // Serialises writes with each other and with `snapshot`, so a snapshot's serial always
    // matches its records.
    writes: Mutex<()>,
    // Declared last so it drops last: the lock is released only once sled has closed.
    lock: LockGuard,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore").field("dir", &self.dir()).field("lineage", &self.lineage).finish_non_exhaustive()
    }
}

impl SledStore {
    /// Opens the state in `dir` for `operation` (e.g. `"apply"`, recorded in the lock),
    /// creating the directory and a new lineage at serial 0 if there is no state yet.
    pub fn open(dir: impl AsRef<Path>, operation: &str) -> Result<SledStore, StateError> {
        Self::open_with(dir.as_ref(), operation, true)
    }

    /// Like [`open`](Self::open), but fails with [`StateError::NoState`] instead of creating
    /// anything when there is no state in `dir` yet.
    pub fn open_existing(dir: impl AsRef<Path>, operation: &str) -> Result<SledStore, StateError> {
        Self::open_with(dir.as_ref(), operation, false)
    }

    /// Whether `dir` holds state, without opening or locking it.
    pub fn exists(dir: impl AsRef<Path>) -> bool {
        dir.as_ref().join(DB_FILE).is_file()
    }

    pub fn dir(&self) -> &Path {
        self.lock.dir()
    }

    fn open_with(dir: &Path, operation: &str, create: bool) -> Result<SledStore, StateError> {
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
        let lock = LockGuard::acquire(dir, operation)?;
        let db = open_db(dir)?;
        let sled_error = |action| move |source| StateError::Sled { action, dir: dir.to_owned(), source };
        let meta = db.open_tree(META).map_err(sled_error("open the meta tree"))?;
        let records = db.open_tree(RECORDS).map_err(sled_error("open the records tree"))?;
        let journal = db.open_tree(JOURNAL).map_err(sled_error("open the journal tree"))?;
        let lineage = match read_lineage(&meta, dir)? {
            Some(lineage) => lineage,
            None if create => initialize(&db, &meta, dir)?,
            // A first open that died before writing the lineage leaves sled files but no state.
            None => return Err(StateError::NoState { dir: dir.to_owned() }),
        };
        files::tighten_permissions(dir).map_err(|source| StateError::Io {
            action: "restrict the permissions of",
            path: dir.to_owned(),
            source,
        })?;
        Ok(SledStore { meta, records, journal, db, lineage, writes: Mutex::new(()), lock })
    }

    fn writing(&self) -> MutexGuard<'_, ()> {
        // The guarded data is `()`: a panic elsewhere cannot have left it inconsistent.
        self.writes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn flush(&self) -> Result<(), StateError> {
        self.db.flush().map(drop).map_err(|source| self.sled_error("flush to disk", source))
    }

    fn sled_error(&self, action: &'static str, source: sled::Error) -> StateError {
        StateError::Sled { action, dir: self.dir().to_owned(), source }
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

    fn decode_record(&self, key: &[u8], value: &[u8]) -> Result<Record, StateError> {
        let key = String::from_utf8_lossy(key);
        let record: Record = serde_json::from_slice(value)
            .map_err(|source| self.corrupt(format!("the record of `{key}` cannot be decoded"), Some(source)))?;
        if record.address.to_string() != key {
            return Err(self.corrupt(format!("the record stored under `{key}` is for `{}`", record.address), None));
        }
        Ok(record)
    }

    fn read_serial(&self) -> Result<u64, StateError> {
        let bytes = self.meta.get(SERIAL_KEY).map_err(|source| self.sled_error("read the serial", source))?;
        decode_u64(bytes.as_deref(), "serial").map_err(|detail| self.corrupt(detail, None))
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
            Err(source) => return Err(StateError::Sled { action: "open the database", dir: dir.to_owned(), source }),
        }
    }
}

fn is_lock_conflict(error: &sled::Error) -> bool {
    match error {
        sled::Error::Io(e) => e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().contains("acquire lock"),
        _ => false,
    }
}

fn read_lineage(meta: &sled::Tree, dir: &Path) -> Result<Option<Lineage>, StateError> {
    let Some(bytes) = meta.get(LINEAGE_KEY).map_err(|source| StateError::Sled {
        action: "read the lineage",
        dir: dir.to_owned(),
        source,
    })?
    else {
        return Ok(None);
    };
    let lineage = std::str::from_utf8(&bytes).ok().and_then(|text| text.parse().ok());
    match lineage {
        Some(lineage) => Ok(Some(lineage)),
        None => Err(StateError::Corrupt {
            location: dir.display().to_string(),
            detail: "the lineage is not a UUID".into(),
            source: None,
        }),
    }
}

/// Writes a new lineage, serial 0 and the journal counter in one step, and flushes.
fn initialize(db: &sled::Db, meta: &sled::Tree, dir: &Path) -> Result<Lineage, StateError> {
    let sled_error = |source| StateError::Sled { action: "initialize the state", dir: dir.to_owned(), source };
    let lineage = Lineage::new();
    let mut batch = sled::Batch::default();
    batch.insert(LINEAGE_KEY, lineage.to_string().as_bytes());
    batch.insert(SERIAL_KEY, &0u64.to_be_bytes());
    batch.insert(JOURNAL_NEXT_KEY, &1u64.to_be_bytes());
    meta.apply_batch(batch).map_err(sled_error)?;
    db.flush().map_err(sled_error)?;
    Ok(lineage)
}

fn decode_u64(bytes: Option<&[u8]>, what: &str) -> Result<u64, String> {
    match bytes {
        Some(bytes) => bytes.try_into().map(u64::from_be_bytes).map_err(|_| format!("the {what} is not a number")),
        None => Err(format!("the {what} is missing")),
    }
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
        let value = self.records.get(key.as_bytes()).map_err(|source| self.sled_error("read a record", source))?;
        value.map(|value| self.decode_record(key.as_bytes(), &value)).transpose()
    }

    fn snapshot(&self) -> Result<Snapshot, StateError> {
        let _writing = self.writing();
        let serial = self.read_serial()?;
        let mut records = BTreeMap::new();
        for item in self.records.iter() {
            let (key, value) = item.map_err(|source| self.sled_error("read the records", source))?;
            let record = self.decode_record(&key, &value)?;
            records.insert(record.address.clone(), record);
        }
        Ok(Snapshot { lineage: self.lineage, serial, records })
    }

    fn put(&self, record: &Record) -> Result<u64, StateError> {
        let key = record.address.to_string();
        let value =
            serde_json::to_vec(record).map_err(|source| StateError::Encode { what: format!("`{key}`"), source })?;
        let _writing = self.writing();
        let serial = (&self.meta, &self.records)
            .transaction(|(meta, records)| {
                records.insert(key.as_bytes(), value.as_slice())?;
                bump(meta, SERIAL_KEY, "serial")
            })
            .map_err(|e| self.transaction_error("write a record", e))?;
        self.flush()?;
        Ok(serial)
    }

    fn remove(&self, address: &Address) -> Result<bool, StateError> {
        let key = address.to_string();
        let _writing = self.writing();
        let removed = (&self.meta, &self.records)
            .transaction(|(meta, records)| {
                if records.remove(key.as_bytes())?.is_none() {
                    return Ok(false);
                }
                bump(meta, SERIAL_KEY, "serial")?;
                Ok(true)
            })
            .map_err(|e| self.transaction_error("remove a record", e))?;
        if removed {
            self.flush()?;
        }
        Ok(removed)
    }

    fn journal_append(&self, entry: &JournalEntry) -> Result<u64, StateError> {
        let value = serde_json::to_vec(entry).map_err(|source| StateError::Encode {
            what: format!("a journal entry for `{}`", entry.address),
            source,
        })?;
        let _writing = self.writing();
        let seq = (&self.meta, &self.journal)
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
        let mut entries = Vec::new();
        for item in self.journal.iter() {
            let (key, value) = item.map_err(|source| self.sled_error("read the journal", source))?;
            let seq = decode_u64(Some(&key), "journal key").map_err(|detail| self.corrupt(detail, None))?;
            let entry = serde_json::from_slice(&value)
                .map_err(|source| self.corrupt(format!("journal entry {seq} cannot be decoded"), Some(source)))?;
            entries.push((seq, entry));
        }
        Ok(entries)
    }

    fn journal_clear(&self) -> Result<(), StateError> {
        let _writing = self.writing();
        // One atomic batch: a crash half-way must not keep intents whose outcomes were dropped.
        let mut batch = sled::Batch::default();
        for key in self.journal.iter().keys() {
            batch.remove(key.map_err(|source| self.sled_error("read the journal", source))?);
        }
        self.journal.apply_batch(batch).map_err(|source| self.sled_error("clear the journal", source))?;
        self.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;
    use std::process::Command;

    use ringform_core::{Attributes, Value};
    use tempfile::TempDir;

    use super::*;
    use crate::conformance::Harness;
    use crate::{LOCK_FILE, LockInfo, Operation, force_unlock};

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

    crate::conformance_tests!(SledHarness::new());

    fn record(address: &str) -> Record {
        let inputs: Attributes = [("cidr_block".to_owned(), Value::from("10.100.0.0/16"))].into();
        Record::new(address.parse().unwrap(), Some("vpc-1".into()), inputs, Attributes::new())
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
        assert_eq!(crate::read_lock(&dir).unwrap().as_ref(), Some(holder));
    }

    fn dead_pid() -> u32 {
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn a_lock_left_by_a_dead_process_is_stale_until_unlocked() {
        let (_root, dir) = state_dir();
        drop(SledStore::open(&dir, "apply").unwrap());
        let holder = LockInfo { pid: dead_pid(), ..LockInfo::current("apply") };
        fs::write(dir.join(LOCK_FILE), serde_json::to_vec(&holder).unwrap()).unwrap();

        let err = SledStore::open(&dir, "plan").unwrap_err();
        let StateError::StaleLock { holder: found, .. } = &err else { panic!("expected StaleLock, got {err:?}") };
        assert_eq!(found, &holder);
        let message = err.to_string();
        assert!(message.contains("gone") && message.contains("ringform state unlock"), "{message}");

        assert_eq!(force_unlock(&dir).unwrap(), Some(holder));
        assert_eq!(force_unlock(&dir).unwrap(), None);
        SledStore::open(&dir, "plan").unwrap();
    }

    #[test]
    fn a_lock_held_on_another_host_is_never_called_stale() {
        let (_root, dir) = state_dir();
        drop(SledStore::open(&dir, "apply").unwrap());
        let holder = LockInfo { pid: dead_pid(), host: "ci-runner-elsewhere".into(), ..LockInfo::current("apply") };
        fs::write(dir.join(LOCK_FILE), serde_json::to_vec(&holder).unwrap()).unwrap();
        let err = SledStore::open(&dir, "plan").unwrap_err();
        assert!(matches!(&err, StateError::Locked { holder: Some(h), .. } if h == &holder), "{err:?}");
        assert!(err.to_string().contains("ci-runner-elsewhere"));
    }

    #[test]
    fn sled_in_use_without_our_lock_still_reports_locked() {
        let (_root, dir) = state_dir();
        drop(SledStore::open(&dir, "apply").unwrap());
        let rogue = sled::Config::new().path(&dir).open().unwrap();
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
    /// SIGKILL: the next open finds both and the dead holder's lock.
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

        let err = SledStore::open(&dir, "apply").unwrap_err();
        assert!(matches!(&err, StateError::StaleLock { holder, .. } if holder.pid == pid), "{err:?}");
        assert_eq!(force_unlock(&dir).unwrap().map(|h| h.pid), Some(pid));

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
