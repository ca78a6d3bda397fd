//! [`RemoteStore`]: state worked on in a local sled cache, uploaded behind it.
//!
//! Every write lands in the cache first (durable before it returns, as with local state). An
//! uploader thread then brings the remote objects up to date: at once when someone waits (an
//! intent must be remote before its provider call is made), else at most [`UPLOAD_EVERY`]
//! after the first write not yet uploaded, so a run makes one upload per batch of writes, not
//! one per resource. Each round reads the journal before the records and uploads the records
//! before the journal, so the remote journal never drops an intent whose record is not remote.
//!
//! The cache remembers which version of the state object it was last in step with
//! ([`CACHE_MARKER`]). Opening uses the cache as it is when the remote object is still at that
//! version (the cache may be ahead: a killed run's last writes), and otherwise replaces it by
//! the remote state, keeping a cache that had writes of its own aside.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use object_store::UpdateVersion;
use ringform_core::Address;
use ringform_state::{
    Document, JournalEntry, Lineage, Opener, Operation, Phase, Record, SledStore, Snapshot, StateError, StateKey,
    StateStore,
};
use serde::{Deserialize, Serialize};

use crate::location::{Location, Object};
use crate::lock::{self, LockRecord};
use crate::objects::{Fetched, Objects};
use crate::{RemoteError, Sealing};

/// The longest a write waits in the cache before it is uploaded.
pub const UPLOAD_EVERY: Duration = Duration::from_secs(2);

/// The file in a cache directory that says which remote state it caches, and at which version.
pub const CACHE_MARKER: &str = "remote.json";

/// What [`CACHE_MARKER`] holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Marker {
    pub url: String,
    pub e_tag: Option<String>,
    pub version: Option<String>,
    /// The serial of the state object at that version.
    pub serial: u64,
    /// The state's key as the key service keeps it, when one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrapped_key: Option<serde_json::Value>,
}

impl Marker {
    pub fn read(dir: &Path, url: &str) -> Option<Marker> {
        let marker: Marker = serde_json::from_slice(&std::fs::read(dir.join(CACHE_MARKER)).ok()?).ok()?;
        (marker.url == url).then_some(marker)
    }

    pub fn write(&self, dir: &Path) -> Result<(), RemoteError> {
        let path = dir.join(CACHE_MARKER);
        ringform_state::write_atomically(&path, |out| serde_json::to_writer_pretty(out, self).map_err(Into::into))
            .map_err(|source| StateError::Io { action: "write", path, source })?;
        Ok(())
    }

    /// The version of the state object the cache was last in step with; `None` when nothing
    /// has been uploaded yet (the object does not exist).
    fn uploaded(&self) -> Option<UpdateVersion> {
        (self.e_tag.is_some() || self.version.is_some())
            .then(|| UpdateVersion { e_tag: self.e_tag.clone(), version: self.version.clone() })
    }
}

/// Remote state, open and locked, worked on in a local cache.
pub struct RemoteStore {
    shared: Arc<Shared>,
    /// The uploader while the store is open, then the outcome of closing it: a second `close`
    /// (Ctrl-C during the first) waits for the first and reports the same.
    closing: Mutex<Closing>,
    /// What opening did that the user should hear of (a cache set aside, say).
    notices: Vec<String>,
}

enum Closing {
    Open(JoinHandle<()>),
    Closed(Result<(), String>),
}

/// What the store and its uploader share.
struct Shared {
    cache: SledStore,
    objects: Objects,
    lock: LockRecord,
    remote: Mutex<Remote>,
    progress: Mutex<Progress>,
    changed: Condvar,
}

/// What the remote objects hold, as far as this process knows: the state object's version is
/// the marker's.
struct Remote {
    marker: Marker,
    journal: Option<UpdateVersion>,
    /// The intents the journal object holds.
    intents: Vec<JournalEntry>,
    /// The serial of the last good copy uploaded by this process.
    last_good: Option<u64>,
}

/// Writes made and uploaded, counted.
#[derive(Default)]
struct Progress {
    written: u64,
    /// The newest write someone waits to see uploaded.
    awaited: u64,
    uploaded: u64,
    /// When the oldest write not yet uploaded was made.
    pending_since: Option<Instant>,
    /// Why uploading stopped; every later write fails with it.
    failure: Option<String>,
    closing: bool,
}

impl RemoteStore {
    /// Opens the state at `location` for `operation`, taking its lock, with `cache` as the
    /// local working copy; new state is made when there is none yet.
    pub fn open(
        location: Location,
        cache: &Path,
        operation: &str,
        sealing: &Sealing,
    ) -> Result<RemoteStore, RemoteError> {
        Self::open_with(location, cache, operation, sealing, true)
    }

    /// Opens existing state, like [`RemoteStore::open`]; fails when there is none.
    pub fn open_existing(
        location: Location,
        cache: &Path,
        operation: &str,
        sealing: &Sealing,
    ) -> Result<RemoteStore, RemoteError> {
        Self::open_with(location, cache, operation, sealing, false)
    }

    fn open_with(
        location: Location,
        cache: &Path,
        operation: &str,
        sealing: &Sealing,
        create: bool,
    ) -> Result<RemoteStore, RemoteError> {
        let objects = Objects::new(location)?;
        let lock = lock::acquire(&objects, operation)?;
        match Self::prepare(&objects, cache, operation, sealing, create) {
            Ok((cache, journal, intents)) => RemoteStore::start(objects, lock, cache, journal, intents),
            Err(error) => {
                let _ = lock::release(&objects, &lock);
                Err(error)
            }
        }
    }

    /// Reads the remote objects and readies the cache in `dir`; returns it with the journal
    /// object's version and the intents it holds.
    fn prepare(
        objects: &Objects,
        dir: &Path,
        operation: &str,
        sealing: &Sealing,
        create: bool,
    ) -> Result<(Cache, Option<UpdateVersion>, Vec<JournalEntry>), RemoteError> {
        let state = objects.get(Object::State)?;
        if state.is_none() && !create {
            return Err(RemoteError::State(StateError::NoState { dir: objects.location.url().into() }));
        }
        let (journal, intents) = read_journal(objects)?;
        let cache = Cache::prepare(objects, dir, operation, sealing, state, &intents)?;
        Ok((cache, journal, intents))
    }

    fn start(
        objects: Objects,
        lock: LockRecord,
        cache: Cache,
        journal: Option<UpdateVersion>,
        intents: Vec<JournalEntry>,
    ) -> Result<RemoteStore, RemoteError> {
        let Cache { store, marker, ahead, notices } = cache;
        let remote = Remote { marker, journal, intents, last_good: None };
        let mut progress = Progress::default();
        if ahead {
            // A run that ended before its last upload: upload what it left in the cache.
            progress.written = 1;
            progress.pending_since = Some(Instant::now());
        }
        let shared = Arc::new(Shared {
            cache: store,
            objects,
            lock,
            remote: Mutex::new(remote),
            progress: Mutex::new(progress),
            changed: Condvar::new(),
        });
        let uploader = std::thread::Builder::new().name("ringform-upload".into()).spawn({
            let shared = Arc::clone(&shared);
            move || shared.upload_until_closed()
        });
        match uploader {
            Ok(uploader) => Ok(RemoteStore { shared, closing: Mutex::new(Closing::Open(uploader)), notices }),
            Err(error) => {
                let _ = lock::release(&shared.objects, &shared.lock);
                Err(RemoteError::setup(shared.objects.location.url(), format!("cannot start the uploader: {error}")))
            }
        }
    }

    /// What opening did that the user should hear of.
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// The lock this store holds.
    pub fn lock(&self) -> &LockRecord {
        &self.shared.lock
    }

    /// Uploads every write made so far, waiting for it.
    pub fn sync(&self) -> Result<(), StateError> {
        let generation = self.shared.progress().written;
        self.shared.await_upload(generation)
    }

    /// The write just made must reach the remote objects: at once when `urgent` (and this
    /// waits for it), else with the next batch.
    fn wrote(&self, urgent: bool) -> Result<(), StateError> {
        let generation = {
            let mut progress = self.shared.progress();
            if let Some(failure) = &progress.failure {
                return Err(failed(failure));
            }
            if progress.closing {
                return Err(failed("the state was closed: nothing more is written"));
            }
            if progress.written == progress.uploaded {
                progress.pending_since = Some(Instant::now());
            }
            progress.written += 1;
            if urgent {
                progress.awaited = progress.written;
            }
            progress.written
        };
        self.shared.changed.notify_all();
        if urgent { self.shared.await_upload(generation) } else { Ok(()) }
    }
}

fn failed(failure: &str) -> StateError {
    StateError::Remote(failure.into())
}

impl Shared {
    fn progress(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn remote(&self) -> MutexGuard<'_, Remote> {
        self.remote.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn await_upload(&self, generation: u64) -> Result<(), StateError> {
        let mut progress = self.progress();
        progress.awaited = progress.awaited.max(generation);
        self.changed.notify_all();
        while progress.uploaded < generation {
            if let Some(failure) = &progress.failure {
                return Err(failed(failure));
            }
            progress = self.changed.wait(progress).unwrap_or_else(PoisonError::into_inner);
        }
        Ok(())
    }

    /// Stops every later write, and wakes everyone waiting, with `failure` as the reason.
    fn fail(&self, failure: String) {
        self.progress().failure.get_or_insert(failure);
        self.changed.notify_all();
    }

    /// The uploader: a round whenever one is due, until the store closes with nothing left.
    fn upload_until_closed(&self) {
        // Should a round panic, nobody may wait for an upload that will never come.
        struct Unwinding<'a>(&'a Shared);
        impl Drop for Unwinding<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.0.fail("the uploader stopped unexpectedly".into());
                }
            }
        }
        let _unwinding = Unwinding(self);
        loop {
            let target = {
                let mut progress = self.progress();
                loop {
                    if progress.failure.is_some() {
                        return;
                    }
                    let pending = progress.written > progress.uploaded;
                    let waited = progress.pending_since.map_or(Duration::ZERO, |since| since.elapsed());
                    if pending && (progress.awaited > progress.uploaded || progress.closing || waited >= UPLOAD_EVERY) {
                        break progress.written;
                    }
                    if progress.closing {
                        return;
                    }
                    progress = if pending {
                        let waiting = self.changed.wait_timeout(progress, UPLOAD_EVERY - waited);
                        waiting.unwrap_or_else(PoisonError::into_inner).0
                    } else {
                        self.changed.wait(progress).unwrap_or_else(PoisonError::into_inner)
                    };
                }
            };
            let outcome = self.upload_round();
            let mut progress = self.progress();
            match outcome {
                Ok(()) => {
                    progress.uploaded = progress.uploaded.max(target);
                    progress.pending_since = (progress.written > progress.uploaded).then(Instant::now);
                }
                Err(error) => {
                    progress.failure.get_or_insert(error_chain(&error));
                }
            }
            drop(progress);
            self.changed.notify_all();
        }
    }

    /// Brings the state object, then the journal object, up to date with the cache.
    fn upload_round(&self) -> Result<(), RemoteError> {
        // The journal before the records: an intent that ends after this read has its record
        // in the document read next, so dropping it from the remote journal loses nothing.
        let intents: Vec<JournalEntry> = self.cache.unfinished_intents()?.into_iter().map(|(_, e)| e).collect();
        let mut remote = self.remote();
        let uploaded = remote.marker.uploaded();
        // Only a write of records moves the serial; the whole state is read only then.
        if uploaded.is_none() || self.cache.serial()? != remote.marker.serial {
            let mut document = self.cache.document()?;
            document.header.wrapped_key = remote.marker.wrapped_key.clone();
            let version = self.objects.put(Object::State, document.to_bytes(), uploaded)?;
            remote.marker.e_tag = version.e_tag;
            remote.marker.version = version.version;
            remote.marker.serial = document.header.serial;
            remote.marker.write(self.cache.dir())?;
        }
        if intents != remote.intents {
            let version = self.objects.put(Object::Journal, journal_bytes(&intents), remote.journal.clone())?;
            remote.journal = Some(version);
            remote.intents = intents;
        }
        Ok(())
    }

    /// Stops the uploader once everything is uploaded, and releases the lock.
    fn close(&self, uploader: JoinHandle<()>) -> Result<(), StateError> {
        self.progress().closing = true;
        self.changed.notify_all();
        if uploader.join().is_err() {
            self.fail("the uploader stopped unexpectedly".into());
        }
        let failure = self.progress().failure.clone();
        let released = lock::release(&self.objects, &self.lock);
        match failure {
            Some(failure) => Err(failed(&failure)),
            None => released.map_err(StateError::from),
        }
    }
}

/// An error and its causes, in one sentence: it outlives the error as the reason of every
/// later failure.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// The cache, ready to work in.
struct Cache {
    store: SledStore,
    marker: Marker,
    /// Whether the cache holds writes the state object lacks.
    ahead: bool,
    notices: Vec<String>,
}

impl Cache {
    fn prepare(
        objects: &Objects,
        dir: &Path,
        operation: &str,
        sealing: &Sealing,
        state: Option<Fetched>,
        intents: &[JournalEntry],
    ) -> Result<Cache, RemoteError> {
        let url = objects.location.url().to_owned();
        let marker = Marker::read(dir, &url);
        let Some(state) = state else {
            if SledStore::exists(dir) {
                return match marker {
                    // New state whose runs never uploaded anything: it is still only here.
                    Some(marker) if marker.e_tag.is_none() && marker.version.is_none() => {
                        let key = key_of(objects, sealing, marker.wrapped_key.clone())?;
                        let store = Opener::new(operation).key(key).open_existing(dir)?;
                        let ahead = store.serial()? > 0;
                        Ok(Cache { store, marker, ahead, notices: Vec::new() })
                    }
                    Some(marker) => Err(RemoteError::Missing { url, dir: dir.to_owned(), serial: marker.serial }),
                    None => Err(RemoteError::LocalState { dir: dir.to_owned(), url }),
                };
            }
            let (key, wrapped_key) = new_key(objects, sealing)?;
            let store = Opener::new(operation).key(key).open(dir)?;
            let marker = Marker { url, wrapped_key, ..Marker::default() };
            marker.write(dir)?;
            return Ok(Cache { store, marker, ahead: false, notices: Vec::new() });
        };
        let document = Document::parse(&state.bytes, &url)?;
        let key = key_of(objects, sealing, document.header.wrapped_key.clone())?;
        let opener = Opener::new(operation).key(key.clone());
        if marker.is_none() && SledStore::exists(dir) {
            return Err(RemoteError::LocalState { dir: dir.to_owned(), url });
        }
        let in_step = marker.as_ref().and_then(Marker::uploaded).as_ref() == Some(&state.version);
        let mut notices = Vec::new();
        let store = match in_step.then(|| opener.open_existing(dir)) {
            Some(Ok(store)) if store.lineage() == document.header.lineage => {
                // Intents another run left remote (it died before uploading its records).
                let known: Vec<JournalEntry> = store.unfinished_intents()?.into_iter().map(|(_, e)| e).collect();
                for intent in intents.iter().filter(|i| !known.contains(i)) {
                    store.journal_append(intent)?;
                }
                store
            }
            other => {
                // The cache opened above, if it did, must be closed before it is replaced.
                drop(other);
                let own = marker.as_ref().and_then(|m| own_writes(dir, &opener, key.as_ref(), m.serial, &document));
                // A cache with writes of its own, or one that does not open, is kept aside.
                let keep_old = SledStore::exists(dir) && !matches!(own, Some(None));
                // What only the old cache tracks is settled like an intent: found by its
                // ownership tags and adopted, or known never to have been made.
                let mut intents = intents.to_vec();
                let opened = own.is_some();
                let untracked = own.flatten().unwrap_or_default();
                intents.extend(untracked.into_iter().map(|address| JournalEntry::intent(address, Operation::Create)));
                let replaced = SledStore::replace_with(dir, &opener, &document, &intents, keep_old)?;
                if let Some(aside) = replaced.moved_to {
                    let why =
                        if opened { "with writes of its own" } else { "which does not open (another key, or damaged)" };
                    notices.push(format!(
                        "{url} was written by another run since this cache was last in step with it, so the cache \
                         was replaced by it; the old cache, {why}, is kept in {}",
                        aside.display()
                    ));
                }
                replaced.store
            }
        };
        let serial = document.header.serial;
        let marker = Marker {
            url,
            e_tag: state.version.e_tag,
            version: state.version.version,
            serial,
            wrapped_key: document.header.wrapped_key,
        };
        marker.write(dir)?;
        let ahead = store.serial()? != serial;
        Ok(Cache { store, marker, ahead, notices })
    }
}

/// The writes of the cache in `dir` that the state object lacks, when the cache went on from
/// serial `synced` (its last upload) and the object is now `document`: the addresses only the
/// cache tracks. `None` when the cache does not open; `Some(None)` when it has no writes of its
/// own.
fn own_writes(
    dir: &Path,
    opener: &Opener,
    key: Option<&StateKey>,
    synced: u64,
    document: &Document,
) -> Option<Option<Vec<Address>>> {
    let cache = opener.open_existing(dir).ok()?;
    let snapshot = cache.snapshot().ok()?;
    if snapshot.serial == synced {
        return Some(None);
    }
    let remote = document.snapshot(key, "").ok()?;
    Some(Some(snapshot.records.into_keys().filter(|address| !remote.contains(address)).collect()))
}

/// The key for new state, and its wrapped form when a key service keeps it.
pub(crate) fn new_key(
    objects: &Objects,
    sealing: &Sealing,
) -> Result<(Option<StateKey>, Option<serde_json::Value>), RemoteError> {
    match sealing {
        Sealing::Plain => Ok((None, None)),
        Sealing::Key(key) => Ok((Some(key.clone()), None)),
        Sealing::Service(service) => {
            let (key, wrapped) = objects.run(service.new_key())?.map_err(|detail| RemoteError::Key {
                url: objects.location.url().to_owned(),
                service: service.describe(),
                detail,
            })?;
            Ok((Some(key), Some(wrapped)))
        }
    }
}

/// The key of existing state whose header holds `wrapped` (when a key service keeps it).
pub(crate) fn key_of(
    objects: &Objects,
    sealing: &Sealing,
    wrapped: Option<serde_json::Value>,
) -> Result<Option<StateKey>, RemoteError> {
    match (sealing, wrapped) {
        (Sealing::Service(service), Some(wrapped)) => {
            objects.run(service.unwrap(wrapped))?.map(Some).map_err(|detail| RemoteError::Key {
                url: objects.location.url().to_owned(),
                service: service.describe(),
                detail,
            })
        }
        (Sealing::Service(service), None) => Err(RemoteError::Key {
            url: objects.location.url().to_owned(),
            service: service.describe(),
            detail: "the state's key is not kept by a key service: its header holds no wrapped key".into(),
        }),
        (Sealing::Key(key), _) => Ok(Some(key.clone())),
        (Sealing::Plain, _) => Ok(None),
    }
}

pub(crate) fn journal_bytes(intents: &[JournalEntry]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for intent in intents {
        serde_json::to_writer(&mut bytes, intent).expect("a journal entry encodes");
        bytes.push(b'\n');
    }
    bytes
}

/// The journal object's version and the intents it holds (none when there is no object).
pub(crate) fn read_journal(objects: &Objects) -> Result<(Option<UpdateVersion>, Vec<JournalEntry>), RemoteError> {
    let Some(journal) = objects.get(Object::Journal)? else { return Ok((None, Vec::new())) };
    let lines = journal.bytes.split(|b| *b == b'\n').filter(|line| !line.is_empty());
    let entries = lines.map(serde_json::from_slice).collect::<Result<Vec<JournalEntry>, _>>();
    let entries = entries.map_err(|source| {
        RemoteError::State(StateError::Corrupt {
            location: objects.location.object_url(Object::Journal),
            detail: "a line is not a journal entry".into(),
            source: Some(source),
        })
    })?;
    Ok((Some(journal.version), entries))
}

impl StateStore for RemoteStore {
    fn location(&self) -> String {
        self.shared.objects.location.url().to_owned()
    }

    fn lineage(&self) -> Lineage {
        self.shared.cache.lineage()
    }

    fn serial(&self) -> Result<u64, StateError> {
        self.shared.cache.serial()
    }

    fn get(&self, address: &Address) -> Result<Option<Record>, StateError> {
        self.shared.cache.get(address)
    }

    fn snapshot(&self) -> Result<Snapshot, StateError> {
        self.shared.cache.snapshot()
    }

    fn put(&self, record: &Record) -> Result<u64, StateError> {
        let serial = self.shared.cache.put(record)?;
        self.wrote(false)?;
        Ok(serial)
    }

    fn remove(&self, address: &Address) -> Result<bool, StateError> {
        let removed = self.shared.cache.remove(address)?;
        if removed {
            self.wrote(false)?;
        }
        Ok(removed)
    }

    fn write_all(&self, records: &[Record], removed: &[Address]) -> Result<u64, StateError> {
        let serial = self.shared.cache.write_all(records, removed)?;
        self.wrote(false)?;
        Ok(serial)
    }

    /// An intent waits until the remote journal holds it: the provider call it announces may
    /// create something, and a run on another machine must be able to find that.
    fn journal_append(&self, entry: &JournalEntry) -> Result<u64, StateError> {
        let seq = self.shared.cache.journal_append(entry)?;
        self.wrote(entry.phase == Phase::Intent)?;
        Ok(seq)
    }

    fn journal(&self) -> Result<Vec<(u64, JournalEntry)>, StateError> {
        self.shared.cache.journal()
    }

    fn journal_clear(&self) -> Result<(), StateError> {
        self.shared.cache.journal_clear()?;
        self.wrote(false)
    }

    /// Uploads everything, then the last good copy beside the state object.
    fn keep_last_good(&self) -> Result<(), StateError> {
        self.shared.cache.keep_last_good()?;
        self.sync()?;
        let mut remote = self.shared.remote();
        if remote.last_good == Some(self.shared.cache.serial()?) {
            return Ok(());
        }
        let mut document = self.shared.cache.document()?;
        document.header.wrapped_key = remote.marker.wrapped_key.clone();
        self.shared.objects.overwrite(Object::LastGood, document.to_bytes())?;
        remote.last_good = Some(document.header.serial);
        Ok(())
    }

    fn close(&self) -> Result<(), StateError> {
        let mut closing = self.closing.lock().unwrap_or_else(PoisonError::into_inner);
        if let Closing::Open(_) = &*closing {
            let Closing::Open(uploader) = std::mem::replace(&mut *closing, Closing::Closed(Ok(()))) else {
                unreachable!("checked above")
            };
            *closing = Closing::Closed(self.shared.close(uploader).map_err(|e| error_chain(&e)));
        }
        match &*closing {
            Closing::Closed(Err(failure)) => Err(failed(failure)),
            _ => Ok(()),
        }
    }
}

impl Drop for RemoteStore {
    fn drop(&mut self) {
        let _ = StateStore::close(self);
    }
}

/// The state at `location` as stored now, read without taking the lock (for plans and other
/// reads); `None` when there is none.
pub fn read_snapshot(location: &Location, sealing: &Sealing) -> Result<Option<Snapshot>, RemoteError> {
    let objects = Objects::new(location.clone())?;
    let Some(state) = objects.get(Object::State)? else { return Ok(None) };
    let document = Document::parse(&state.bytes, location.url())?;
    let key = key_of(&objects, sealing, document.header.wrapped_key.clone())?;
    Ok(Some(document.snapshot(key.as_ref(), location.url())?))
}
