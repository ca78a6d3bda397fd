//! The conditional writes ringform's remote state relies on, as object_store's clients get them
//! from the emulators the tests use: a create that fails when the object exists, an update that
//! fails when the object changed since it was read, delete, and the helpers that read back every
//! stored byte.

use object_store::path::Path;
use object_store::{Error, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use ringform_testkit::azurite::Azurite;
use ringform_testkit::moto::Moto;

async fn put(
    store: &dyn ObjectStore,
    path: &Path,
    bytes: &'static [u8],
    mode: PutMode,
) -> object_store::Result<UpdateVersion> {
    let options = PutOptions { mode, ..PutOptions::default() };
    store.put_opts(path, PutPayload::from_static(bytes), options).await.map(UpdateVersion::from)
}

/// Runs the same checks against either emulator; `every_object` is its helper's view.
async fn conditional_writes(store: &dyn ObjectStore, every_object: impl Fn() -> Vec<(String, Vec<u8>)>) {
    let path = Path::from("deployments/prod/state.json");

    let first = put(store, &path, b"one", PutMode::Create).await.expect("the first create");
    let again = put(store, &path, b"two", PutMode::Create).await;
    assert!(matches!(again, Err(Error::AlreadyExists { .. })), "{again:?}");
    assert_eq!(every_object(), vec![(path.to_string(), b"one".to_vec())]);

    let second =
        put(store, &path, b"three", PutMode::Update(first.clone())).await.expect("an update from the current e_tag");
    assert_ne!(second.e_tag, first.e_tag);
    let stale = put(store, &path, b"four", PutMode::Update(first)).await;
    assert!(matches!(stale, Err(Error::Precondition { .. })), "{stale:?}");
    assert_eq!(every_object(), vec![(path.to_string(), b"three".to_vec())]);

    store.delete(&path).await.expect("deleted");
    assert!(matches!(store.get(&path).await, Err(Error::NotFound { .. })));
    assert_eq!(every_object(), vec![]);
    put(store, &path, b"five", PutMode::Create).await.expect("a create after the delete");

    // Racing creates: the emulator, not the client, decides, and exactly one wins.
    let racing = Path::from("deployments/prod/lock");
    let creates = (0..8).map(|_| put(store, &racing, b"mine", PutMode::Create));
    let results = futures_util::future::join_all(creates).await;
    assert_eq!(results.iter().filter(|result| result.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().flat_map(|result| result.as_ref().err()).all(|e| matches!(e, Error::AlreadyExists { .. })));
}

#[tokio::test]
async fn azurite_blob_writes_are_conditional() {
    let azurite = Azurite::start_for_test();
    azurite.create_container("state");
    conditional_writes(&azurite.store("state"), || azurite.every_blob("state")).await;
}

#[tokio::test]
async fn moto_s3_writes_are_conditional() {
    let moto = Moto::start_for_test();
    moto.create_bucket("state", "eu-west-1");
    conditional_writes(&moto.s3_store("state"), || moto.every_object("state")).await;
}
