//! RemoteStore against moto's S3 and Azurite: what reaches the objects and when, the lock, a
//! stale write, a fresh cache, migration both ways. Fails, naming the command that installs
//! them, when moto or Azurite is missing.

use std::path::Path;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use object_store::{ObjectStoreExt, PutPayload};
use ringform_core::{Address, Attributes, Value};
use ringform_remote::{AzureAuth, Location, RemoteError, RemoteStore, Sealing, StateStore};
use ringform_state::{JournalEntry, Opener, Operation, Record, SledStore, StateKey};
use ringform_testkit::azurite::Azurite;
use ringform_testkit::moto::Moto;

const BUCKET: &str = "ringform-state";
const SECRET: &str = "vpn-shared-key-that-must-never-be-stored";

struct S3 {
    moto: Moto,
}

impl S3 {
    fn start() -> S3 {
        let moto = Moto::start_for_test();
        moto.create_bucket(BUCKET, "eu-west-1");
        S3 { moto }
    }

    fn location(&self, key: &str) -> Location {
        let config = aws_types::SdkConfig::builder()
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "testing", "testing", None, None, "test",
            )))
            .endpoint_url(self.moto.endpoint())
            .region(aws_types::region::Region::new("eu-west-1"))
            .build();
        Location::s3(BUCKET, "eu-west-1", key, &config).unwrap()
    }
}

fn key() -> StateKey {
    StateKey::from_bytes(&[7; 32]).unwrap()
}

fn record(i: usize) -> Record {
    let inputs: Attributes = [
        ("cidr_block".to_owned(), Value::from(format!("10.{i}.0.0/16"))),
        ("shared_key".to_owned(), Value::secret(format!("{SECRET}-{i}").into())),
    ]
    .into();
    Record::new(address(i), Some(format!("vpc-{i}")), inputs, Attributes::new())
}

fn address(i: usize) -> Address {
    format!("aws_vpc.vpc-{i}").parse().unwrap()
}

fn open(location: &Location, cache: &Path) -> RemoteStore {
    RemoteStore::open(location.clone(), cache, "apply", &Sealing::Key(key())).unwrap()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn writes_reach_the_bucket_and_a_fresh_cache_reads_them() {
    let s3 = S3::start();
    let location = s3.location("prod");
    let root = tempfile::tempdir().unwrap();
    let store = open(&location, &root.path().join("one"));
    for i in 0..30 {
        store.put(&record(i)).unwrap();
    }
    // An intent is remote before journal_append returns: its provider call may create something.
    store.journal_append(&JournalEntry::intent(address(30), Operation::Create)).unwrap();
    let journal = s3.moto.every_object(BUCKET).into_iter().find(|(name, _)| name == "prod.journal").unwrap();
    assert!(contains(&journal.1, "aws_vpc.vpc-30"), "{}", String::from_utf8_lossy(&journal.1));
    store.close().unwrap();

    let objects = s3.moto.every_object(BUCKET);
    let names: Vec<&str> = objects.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["prod", "prod.journal"], "the lock is gone");
    for (name, bytes) in &objects {
        assert!(!contains(bytes, SECRET), "{name} holds a secret in plain text");
    }

    let fresh = open(&location, &root.path().join("two"));
    let snapshot = fresh.snapshot().unwrap();
    assert_eq!(snapshot.len(), 30);
    assert_eq!(snapshot.get(&address(3)).unwrap().inputs["shared_key"], record(3).inputs["shared_key"]);
    let intents: Vec<_> = fresh.unfinished_intents().unwrap().into_iter().map(|(_, e)| e.address).collect();
    assert_eq!(intents, [address(30)], "the dead run's intent came with the state");
    for entry in std::fs::read_dir(root.path().join("two")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            assert!(!contains(&std::fs::read(&path).unwrap(), SECRET), "{} holds a secret", path.display());
        }
    }
}

#[test]
fn a_second_writer_is_refused_naming_the_holder_until_the_lock_is_broken() {
    let s3 = S3::start();
    let location = s3.location("prod");
    let root = tempfile::tempdir().unwrap();
    let first = open(&location, &root.path().join("one"));
    let started = std::time::Instant::now();
    let err =
        RemoteStore::open(location.clone(), &root.path().join("two"), "apply", &Sealing::Key(key())).err().unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    let RemoteError::Locked { holder, .. } = &err else { panic!("{err:?}") };
    assert_eq!((holder.holder.operation.as_str(), holder.holder.pid), ("apply", std::process::id()));
    assert!(err.to_string().contains("s3://ringform-state/prod is locked by `apply`"), "{err}");

    let other = ringform_remote::unlock(&location, "not-the-id").unwrap_err();
    assert!(matches!(other, RemoteError::OtherLock { .. }), "{other:?}");
    let id = first.lock().id.clone();
    assert_eq!(ringform_remote::unlock(&location, &id).unwrap().unwrap().id, id);
    assert!(ringform_remote::unlock(&location, &id).unwrap().is_none());
    drop(first);
    open(&location, &root.path().join("two"));
}

#[test]
fn a_write_over_a_version_that_moved_on_is_refused_and_the_cache_keeps_it() {
    let s3 = S3::start();
    let location = s3.location("prod");
    let root = tempfile::tempdir().unwrap();
    let store = open(&location, &root.path().join("one"));
    store.put(&record(0)).unwrap();
    store.sync().unwrap();
    // Someone writes the state object without the lock.
    let (bucket, path) = (s3.moto.s3_store(BUCKET), object_store::path::Path::from("prod"));
    ringform_testkit::block_on(bucket.put(&path, PutPayload::from_static(b"written behind our back"))).unwrap();

    store.put(&record(1)).unwrap();
    let err = store.sync().unwrap_err().to_string();
    assert!(err.contains("s3://ringform-state/prod was changed by someone else"), "{err}");
    assert!(store.put(&record(2)).is_err(), "every write after the refusal fails");
    assert_eq!(store.snapshot().unwrap().len(), 3, "the cache keeps every write, also those after the refusal");
    let got = ringform_testkit::block_on(async { bucket.get(&path).await?.bytes().await }).unwrap();
    assert_eq!(&got[..], b"written behind our back");
    assert!(store.close().is_err());
}

#[test]
fn migrating_to_the_bucket_and_back_keeps_every_record_byte_for_byte() {
    let s3 = S3::start();
    let location = s3.location("prod");
    let root = tempfile::tempdir().unwrap();
    let local = root.path().join("local");
    let opener = Opener::new("apply").key(Some(key()));
    let store = opener.open(&local).unwrap();
    for i in 0..20 {
        store.put(&record(i)).unwrap();
    }
    let before = store.document().unwrap();
    drop(store);

    let copied = ringform_remote::migrate_to_remote(&local, &location, &opener).unwrap();
    assert_eq!(copied, before);
    // The directory is now the cache: opening it works on the remote state.
    let remote = open(&location, &local);
    assert_eq!(remote.snapshot().unwrap().len(), 20);
    remote.close().unwrap();
    drop(remote);

    let back = root.path().join("back");
    let copied = ringform_remote::migrate_to_local(&location, &back, &Sealing::Key(key()), None).unwrap();
    assert_eq!(copied, before);
    let after = Opener::new("test").key(Some(key())).open_existing(&back).unwrap().document().unwrap();
    assert_eq!(after, before, "every record arrives byte for byte");
    assert!(!back.join(ringform_remote::CACHE_MARKER).exists());

    let err = ringform_remote::migrate_to_remote(&back, &location, &opener).unwrap_err();
    assert!(matches!(err, RemoteError::Exists { .. }), "{err:?}");
    let _ = SledStore::exists(&back);
}

#[test]
fn azure_blob_on_azurite_keeps_state_and_locks_it() {
    let azurite = Azurite::start_for_test();
    azurite.create_container("state");
    let auth = || AzureAuth::AccountKey(ringform_testkit::azurite::ACCOUNT_KEY.to_owned());
    let endpoint = azurite.blob_endpoint();
    let location =
        Location::azure_blob(ringform_testkit::azurite::ACCOUNT, "state", "prod", Some(&endpoint), auth()).unwrap();
    let root = tempfile::tempdir().unwrap();
    let store = open(&location, &root.path().join("one"));
    let err =
        RemoteStore::open(location.clone(), &root.path().join("two"), "plan", &Sealing::Key(key())).err().unwrap();
    assert!(matches!(err, RemoteError::Locked { .. }), "{err:?}");
    for i in 0..5 {
        store.put(&record(i)).unwrap();
    }
    store.close().unwrap();
    drop(store);
    let blobs = azurite.every_blob("state");
    assert_eq!(blobs.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["prod"]);
    assert!(!contains(&blobs[0].1, SECRET));
    let snapshot = ringform_remote::read_snapshot(&location, &Sealing::Key(key())).unwrap().unwrap();
    assert_eq!(snapshot.len(), 5);
}

/// The conformance suite every state store passes, on S3 (moto): each location a key of its
/// own in one bucket, reopened through the same cache; at rest means the bucket and the cache.
mod conformance {
    use std::path::PathBuf;

    use ringform_remote::{Location, RemoteStore, Sealing, StateStore};
    use ringform_state::conformance::{Harness, SealedHarness};
    use ringform_state::{StateError, StateKey};

    use super::{BUCKET, S3};

    struct OnS3 {
        s3: S3,
        root: tempfile::TempDir,
        next: std::cell::Cell<u32>,
    }

    fn harness() -> OnS3 {
        OnS3 { s3: S3::start(), root: tempfile::tempdir().unwrap(), next: std::cell::Cell::new(0) }
    }

    fn sealing(key: Option<&StateKey>) -> Sealing {
        key.map_or(Sealing::Plain, |key| Sealing::Key(key.clone()))
    }

    impl OnS3 {
        fn open(&self, at: &(Location, PathBuf), key: Option<&StateKey>) -> Result<Box<dyn StateStore>, StateError> {
            let store = RemoteStore::open(at.0.clone(), &at.1, "test", &sealing(key)).map_err(StateError::from)?;
            Ok(Box::new(store))
        }

        fn new_location(&self) -> (Location, PathBuf) {
            self.next.set(self.next.get() + 1);
            let name = format!("state-{}", self.next.get());
            (self.s3.location(&name), self.root.path().join(name))
        }
    }

    impl Harness for OnS3 {
        type Location = (Location, PathBuf);

        fn create(&self) -> (Self::Location, Box<dyn StateStore>) {
            let at = self.new_location();
            let store = self.open(&at, None).unwrap();
            (at, store)
        }

        fn reopen(&self, at: &Self::Location) -> Box<dyn StateStore> {
            self.open(at, None).unwrap()
        }
    }

    impl SealedHarness for OnS3 {
        fn create_sealed(&self, key: &StateKey) -> (Self::Location, Box<dyn StateStore>) {
            let at = self.new_location();
            let store = self.open(&at, Some(key)).unwrap();
            (at, store)
        }

        fn reopen_with(&self, at: &Self::Location, key: Option<&StateKey>) -> Result<Box<dyn StateStore>, StateError> {
            self.open(at, key)
        }

        fn stored_bytes(&self, at: &Self::Location) -> Vec<u8> {
            let mut bytes: Vec<u8> = self.s3.moto.every_object(BUCKET).into_iter().flat_map(|(_, b)| b).collect();
            bytes.extend(ringform_testkit::every_byte_in(&at.1));
            bytes
        }
    }

    ringform_state::conformance_tests!(harness());
    ringform_state::sealed_conformance_tests!(harness());
}
