//! What the emulator helpers ([`crate::azurite`], [`crate::moto`]) do through object_store.

use std::future::Future;

use futures_util::TryStreamExt;
use object_store::{ObjectStore, ObjectStoreExt};

/// Runs `future` on a runtime and a thread of its own, so the helpers that call it work in
/// plain tests and in `#[tokio::test]`s alike (a runtime cannot block inside another).
pub fn block_on<F>(future: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    std::thread::scope(|scope| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
        scope.spawn(move || runtime.block_on(future)).join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// The name and full bytes of every object in `store`.
pub(crate) fn every_object(store: &dyn ObjectStore) -> Vec<(String, Vec<u8>)> {
    block_on(async {
        let metas: Vec<_> = store.list(None).try_collect().await.expect("listed");
        let mut objects = Vec::new();
        for meta in metas {
            let bytes = store.get(&meta.location).await.expect("read").bytes().await.expect("read");
            objects.push((meta.location.to_string(), bytes.to_vec()));
        }
        objects
    })
}

/// Every byte of every file under `dir`, for tests that look for what must not be at rest.
pub fn every_byte_in(dir: &std::path::Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a directory").flatten() {
        let path = entry.path();
        if path.is_dir() {
            bytes.extend(every_byte_in(&path));
        } else {
            bytes.extend(std::fs::read(&path).expect("a readable file"));
        }
    }
    bytes
}
