//! Replacing a state database by a copy of its records: `ringform state restore`, which brings
//! back the last good copy after damage (keeping the damaged files aside), and `ringform state
//! rekey`, which writes the last good copy under the new key first and then restores from it,
//! deleting the old files (they hold secrets under the old key, or in plain text).
//!
//! Each step leaves something `state restore` can go back to: the last good copy is replaced
//! atomically and only read afterwards, and the old database is moved aside (not overwritten)
//! before the new one is made.

use std::fs;
use std::path::{Path, PathBuf};

use crate::document::{Document, Header};
use crate::last_good::{self, LastGood};
use crate::lock::LockGuard;
use crate::seal::StateKey;
use crate::sled_store::Database;
use crate::stored::encode_record;
use crate::{JournalEntry, Opener, SledStore, StateError, StateStore, Timestamp, files};

/// What [`SledStore::restore`] did.
#[derive(Debug)]
pub struct Restored {
    /// The restored state, open and locked.
    pub store: SledStore,
    /// The directory the damaged database files were moved into; `None` when there were none.
    pub moved_to: Option<PathBuf>,
}

impl SledStore {
    /// Brings back the last good copy of the state in `dir` into a fresh database, moving the
    /// files of the current one into `damaged-<time>/` beside it. Refuses, changing nothing,
    /// when the current database reads well and is not behind the copy, unless `force`.
    pub fn restore(dir: &Path, opener: &Opener, force: bool) -> Result<Restored, StateError> {
        if !last_good::path_in(dir).is_file() {
            return Err(StateError::NoLastGood { dir: dir.to_owned() });
        }
        let lock = LockGuard::acquire(dir, &opener.operation)?;
        let LastGood { path, document } =
            last_good::read(dir)?.ok_or_else(|| StateError::NoLastGood { dir: dir.to_owned() })?;
        let records = checked_records(&document, opener.key.as_ref(), &path)?;
        if !force && let Ok(serial) = healthy_serial(dir, &document.header, opener.key.as_ref()) {
            let last_good_serial = document.header.serial;
            return Err(StateError::NotDamaged { dir: dir.to_owned(), serial, last_good_serial });
        }
        let moved_to = move_database_aside(dir, "damaged")?;
        let data = Database::create(dir, &document.header, &records, &[], 1)?;
        let store = SledStore::assemble(data, document.header.lineage, opener.key.clone(), Some(document.header), lock);
        Ok(Restored { store, moved_to })
    }

    /// Makes the state in `dir` a copy of `document` and `journal`, for a cache of state kept
    /// elsewhere. A database already there is moved into `replaced-<time>/` beside it, and
    /// deleted unless `keep_old`. The copy becomes the last good copy too: it is the newest
    /// good state there is.
    pub fn replace_with(
        dir: &Path,
        opener: &Opener,
        document: &Document,
        journal: &[JournalEntry],
        keep_old: bool,
    ) -> Result<Restored, StateError> {
        files::ensure_private_dir(dir).map_err(|source| StateError::Io {
            action: "create the state directory",
            path: dir.to_owned(),
            source,
        })?;
        let lock = LockGuard::acquire(dir, &opener.operation)?;
        let records = document.checked_records(opener.key.as_ref(), &dir.display().to_string())?;
        let journal = journal
            .iter()
            .zip(1u64..)
            .map(|(entry, seq)| {
                let value = serde_json::to_vec(entry).map_err(|source| StateError::Encode {
                    what: format!("a journal entry for `{}`", entry.address),
                    source,
                })?;
                Ok((sled::IVec::from(&seq.to_be_bytes()), sled::IVec::from(value)))
            })
            .collect::<Result<Vec<_>, StateError>>()?;
        let mut moved_to = move_database_aside(dir, "replaced")?;
        if !keep_old && let Some(old) = moved_to.take() {
            fs::remove_dir_all(&old).map_err(|source| StateError::Io { action: "delete", path: old, source })?;
        }
        last_good::write(dir, document)?;
        let data = Database::create(dir, &document.header, &records, &journal, journal.len() as u64 + 1)?;
        let store =
            SledStore::assemble(data, document.header.lineage, opener.key.clone(), Some(document.header.clone()), lock);
        Ok(Restored { store, moved_to })
    }

    /// Seals every secret under `new_key` instead of the current key (or for the first time,
    /// when the state is not encrypted yet); the journal is kept. Returns the store, open with
    /// the new key. The old database files are deleted once the new ones are written.
    pub fn rekey(self, new_key: StateKey) -> Result<SledStore, StateError> {
        let dir = self.dir().to_owned();
        let location = self.location();
        let header = Header::new(self.lineage(), self.serial()?, Some(new_key.id().clone()));
        let records = self
            .snapshot()?
            .records
            .into_values()
            .map(|record| Ok((record.address.to_string(), encode_record(&record, Some(&new_key), &location)?)))
            .collect::<Result<Vec<_>, StateError>>()?;
        let (journal, journal_next) = self.data.stored_journal(&dir)?;
        // The copy first: from here on, a crash leaves something `state restore` brings back.
        let copy =
            Document { header: header.clone(), records: records.iter().map(|(_, value)| value.clone()).collect() };
        last_good::write(&dir, &copy)?;
        let (data, lock) = self.into_parts();
        drop(data);
        let old = move_database_aside(&dir, "rekeyed")?;
        let data = Database::create(&dir, &header, &records, &journal, journal_next)?;
        if let Some(old) = old {
            fs::remove_dir_all(&old).map_err(|source| StateError::Io {
                action: "delete the database sealed under the old key",
                path: old,
                source,
            })?;
        }
        Ok(SledStore::assemble(data, header.lineage, Some(new_key), Some(header), lock))
    }
}

/// The records of a last good copy as (address, stored bytes), each checked to open with `key`;
/// damage is reported as the copy's.
fn checked_records(copy: &Document, key: Option<&StateKey>, path: &Path) -> Result<Vec<(String, Vec<u8>)>, StateError> {
    copy.checked_records(key, &path.display().to_string()).map_err(|error| match error {
        StateError::Corrupt { detail, source, .. } => {
            StateError::LastGoodDamaged { path: path.to_owned(), detail, source }
        }
        other => other,
    })
}

/// The serial of the database in `dir` if it opens, matches its last good copy and reads to
/// the end with `key`.
fn healthy_serial(dir: &Path, witness: &Header, key: Option<&StateKey>) -> Result<u64, StateError> {
    let (data, _) = Database::open_checked(dir, Some(witness), key, false)?;
    data.read_everything(dir, key)?;
    data.serial(dir)
}

/// Moves sled's files in `dir` into a new directory `<label>-<time>` beside them; returns it,
/// or `None` when there were no such files. The lock and the last good copy stay.
fn move_database_aside(dir: &Path, label: &str) -> Result<Option<PathBuf>, StateError> {
    let io_error = |action, path: &Path| {
        let path = path.to_owned();
        move |source| StateError::Io { action, path, source }
    };
    let entries: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(io_error("read the state directory", dir))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| is_sled_file(path))
        .collect();
    if entries.is_empty() {
        return Ok(None);
    }
    let aside = new_aside_dir(dir, label)?;
    for entry in entries {
        let target = aside.join(entry.file_name().unwrap_or_default());
        fs::rename(&entry, &target).map_err(io_error("move aside", &entry))?;
    }
    Ok(Some(aside))
}

/// sled 0.34 keeps `conf`, `db`, `blobs/` and `snap.*` files in its directory.
fn is_sled_file(path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    matches!(name.as_str(), "conf" | "db" | "blobs") || name.starts_with("snap.")
}

fn new_aside_dir(dir: &Path, label: &str) -> Result<PathBuf, StateError> {
    let stamp = Timestamp::now().to_string().replace(':', "");
    let mut attempt = 1;
    loop {
        let name = if attempt == 1 { format!("{label}-{stamp}") } else { format!("{label}-{stamp}-{attempt}") };
        let aside = dir.join(name);
        if !aside.exists() {
            files::ensure_private_dir(&aside).map_err(|source| StateError::Io {
                action: "create",
                path: aside.clone(),
                source,
            })?;
            return Ok(aside);
        }
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Seek, SeekFrom, Write};

    use ringform_core::{Attributes, Value};
    use tempfile::TempDir;

    use super::*;
    use crate::sled_store::tests::every_byte_in;
    use crate::{JournalEntry, Operation, Record, Snapshot};

    const SECRET: &str = "restore-test-secret";

    fn key(byte: u8) -> StateKey {
        StateKey::from_bytes(&[byte; crate::seal::KEY_LEN]).unwrap()
    }

    fn opener(key: Option<StateKey>) -> Opener {
        Opener::new("test").key(key)
    }

    fn record(i: usize) -> Record {
        let inputs: Attributes = [
            ("cidr_block".to_owned(), Value::from(format!("10.{i}.0.0/16"))),
            ("shared_key".to_owned(), Value::secret(format!("{SECRET}-{i}").into())),
        ]
        .into();
        Record::new(format!("aws_vpc.vpc-{i}").parse().unwrap(), Some(format!("vpc-{i}")), inputs, Attributes::new())
    }

    /// State written one record at a time, as a run writes it, with its last good copy kept.
    fn applied(key: Option<StateKey>) -> (TempDir, PathBuf, Snapshot) {
        let root = TempDir::new().unwrap();
        let dir = root.path().join("prod");
        let store = opener(key).open(&dir).unwrap();
        for i in 0..60 {
            store.put(&record(i)).unwrap();
            store.journal_append(&JournalEntry::intent(record(i).address, Operation::Create)).unwrap();
        }
        store.keep_last_good().unwrap();
        let snapshot = store.snapshot().unwrap();
        (root, dir, snapshot)
    }

    fn assert_damaged(result: Result<SledStore, StateError>, dir: &Path) {
        match result {
            Err(err @ StateError::Damaged { .. }) => {
                let message = err.to_string();
                assert!(message.contains(&dir.join("db").display().to_string()), "{message}");
                assert!(message.contains("ringform state restore"), "{message}");
            }
            other => panic!("expected Damaged, got {other:?}"),
        }
    }

    #[test]
    fn the_last_good_copy_follows_the_serial() {
        let (_root, dir, snapshot) = applied(None);
        let header = last_good::read_header(&dir).unwrap().unwrap();
        assert_eq!((header.lineage, header.serial, header.key_id), (snapshot.lineage, 60, None));
        let store = SledStore::open(&dir, "apply").unwrap();
        store.keep_last_good().unwrap();
        assert_eq!(last_good::read(&dir).unwrap().unwrap().document.records.len(), 60);
        store.remove(&record(0).address).unwrap();
        store.keep_last_good().unwrap();
        let copy = last_good::read(&dir).unwrap().unwrap().document;
        assert_eq!((copy.header.serial, copy.records.len()), (61, 59));
    }

    /// sled recovers a damaged file by going back to an older state without a word: whatever
    /// the damage, opening either gives the state as it was, or says the file is damaged.
    #[test]
    fn damage_is_harmless_or_reported_never_silent() {
        let (_root, dir, snapshot) = applied(None);
        let pristine = dir.with_file_name("pristine");
        copy_dir(&dir, &pristine);
        let length = fs::metadata(dir.join("db")).unwrap().len();
        let mut damages: Vec<Damage> = (0..length).step_by(4096).map(Damage::Overwrite).collect();
        damages.extend([0, 100, length / 4, length / 2, length - 1].map(Damage::Truncate));
        damages.push(Damage::Remove);
        let mut reported = 0;
        for damage in &damages {
            let _ = fs::remove_dir_all(&dir);
            copy_dir(&pristine, &dir);
            damage.apply(&dir.join("db"));
            match SledStore::open(&dir, "plan") {
                Ok(store) => {
                    assert_eq!(store.snapshot().ok().as_ref(), Some(&snapshot), "{damage:?}: silently changed")
                }
                Err(StateError::Damaged { .. }) => reported += 1,
                Err(other) => panic!("{damage:?}: {other}"),
            }
        }
        assert!(reported > damages.len() / 2, "only {reported} of {} damages were reported", damages.len());
    }

    #[derive(Debug)]
    enum Damage {
        /// 64 bytes overwritten at an offset.
        Overwrite(u64),
        /// Truncated to a length.
        Truncate(u64),
        Remove,
    }

    impl Damage {
        fn apply(&self, file: &Path) {
            match *self {
                Damage::Overwrite(offset) => overwrite(file, offset),
                Damage::Truncate(length) => truncate(file, length),
                Damage::Remove => fs::remove_file(file).unwrap(),
            }
        }
    }

    fn copy_dir(from: &Path, to: &Path) {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let path = entry.unwrap().path();
            let target = to.join(path.file_name().unwrap());
            if path.is_dir() { copy_dir(&path, &target) } else { fs::copy(&path, &target).map(drop).unwrap() }
        }
    }

    fn overwrite(file: &Path, offset: u64) {
        let mut file = fs::OpenOptions::new().write(true).open(file).unwrap();
        file.seek(SeekFrom::Start(offset)).unwrap();
        file.write_all(&[0xA5; 64]).unwrap();
    }

    fn truncate(file: &Path, length: u64) {
        fs::OpenOptions::new().write(true).open(file).unwrap().set_len(length).unwrap();
    }

    #[test]
    fn restore_brings_back_the_last_good_copy_and_keeps_the_damaged_files() {
        let (_root, dir, snapshot) = applied(Some(key(1)));
        truncate(&dir.join("db"), 100);
        let pristine = fs::read(dir.join("db")).unwrap();
        assert_damaged(opener(Some(key(1))).open(&dir), &dir);
        assert_damaged(opener(Some(key(1))).open_existing(&dir), &dir);

        let restored = SledStore::restore(&dir, &opener(Some(key(1))), false).unwrap();
        assert_eq!(restored.store.snapshot().unwrap(), snapshot);
        assert!(restored.store.journal().unwrap().is_empty());
        let aside = restored.moved_to.clone().unwrap();
        assert!(aside.file_name().unwrap().to_string_lossy().starts_with("damaged-"), "{}", aside.display());
        let damaged = fs::read(aside.join("db")).unwrap();
        assert_eq!(damaged[..100], pristine[..100], "the damaged file is kept");
        drop(restored);

        let store = opener(Some(key(1))).open(&dir).unwrap();
        assert_eq!(store.snapshot().unwrap(), snapshot);
        store.put(&record(99)).unwrap();
        assert_eq!(store.serial().unwrap(), 61);
    }

    #[test]
    fn restore_refuses_healthy_state_unless_forced_and_needs_a_copy() {
        let root = TempDir::new().unwrap();
        let err = SledStore::restore(root.path(), &opener(None), true).unwrap_err();
        assert!(matches!(err, StateError::NoLastGood { .. }), "{err:?}");

        let (_root, dir, snapshot) = applied(None);
        let store = SledStore::open(&dir, "apply").unwrap();
        store.put(&record(60)).unwrap();
        drop(store);
        let err = SledStore::restore(&dir, &opener(None), false).unwrap_err();
        assert!(matches!(err, StateError::NotDamaged { serial: 61, last_good_serial: 60, .. }), "{err:?}");
        let restored = SledStore::restore(&dir, &opener(None), true).unwrap();
        assert_eq!(restored.store.snapshot().unwrap(), snapshot, "forced, it goes back to the copy");
    }

    #[test]
    fn restore_with_a_wrong_key_changes_nothing() {
        let (_root, dir, _) = applied(Some(key(1)));
        truncate(&dir.join("db"), 100);
        let before = every_byte_in(&dir);
        let err = SledStore::restore(&dir, &opener(Some(key(2))), false).unwrap_err();
        assert!(matches!(err, StateError::WrongKey { .. }), "{err:?}");
        let err = SledStore::restore(&dir, &opener(None), false).unwrap_err();
        assert!(matches!(err, StateError::KeyMissing { .. }), "{err:?}");
        assert!(every_byte_in(&dir) == before, "a refused restore changed the directory");
    }

    #[test]
    fn rekey_seals_under_the_new_key_keeps_the_journal_and_deletes_the_old_files() {
        let (_root, dir, snapshot) = applied(None);
        assert!(contains(&every_byte_in(&dir), SECRET), "plain state holds its secrets in plain text");
        let store = SledStore::open(&dir, "state rekey").unwrap();
        let journal = store.journal().unwrap();
        let store = store.rekey(key(1)).unwrap();
        assert_eq!(store.key_id(), Some(key(1).id()));
        assert_eq!((store.snapshot().unwrap(), store.journal().unwrap()), (snapshot.clone(), journal.clone()));
        drop(store);
        assert!(!contains(&every_byte_in(&dir), SECRET), "a secret is still at rest in plain text");
        let names: Vec<String> =
            fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert!(!names.iter().any(|n| n.starts_with("rekeyed-")), "{names:?}");

        let err = opener(None).open(&dir).unwrap_err();
        assert!(matches!(err, StateError::KeyMissing { .. }), "{err:?}");
        let store = opener(Some(key(1))).open(&dir).unwrap().rekey(key(2)).unwrap();
        drop(store);
        assert!(matches!(opener(Some(key(1))).open(&dir).unwrap_err(), StateError::WrongKey { .. }));
        let store = opener(Some(key(2))).open(&dir).unwrap();
        assert_eq!((store.snapshot().unwrap(), store.journal().unwrap()), (snapshot, journal));
        assert_eq!(last_good::read_header(&dir).unwrap().unwrap().key_id.as_ref(), Some(key(2).id()));
    }

    fn contains(haystack: &[u8], needle: &str) -> bool {
        haystack.windows(needle.len()).any(|window| window == needle.as_bytes())
    }
}
