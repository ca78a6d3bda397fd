//! The remote objects, read and written from synchronous code: object_store is async, and the
//! state interface is not, so every request runs on a small runtime of this crate's own (its
//! callers may be inside another runtime, where blocking on a future would panic).

use std::sync::mpsc;

use object_store::{GetOptions, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};

use crate::RemoteError;
use crate::location::{Location, Object};

/// One version of an object: its bytes and what a conditional write names it by.
pub(crate) struct Fetched {
    pub bytes: Vec<u8>,
    pub version: UpdateVersion,
}

/// A location and the runtime its requests run on.
pub(crate) struct Objects {
    pub location: Location,
    /// Always `Some` until dropped.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Objects {
    pub fn new(location: Location) -> Result<Objects, RemoteError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("ringform-remote")
            .enable_all()
            .build()
            .map_err(|e| RemoteError::Setup { url: location.url().to_owned(), detail: e.to_string() })?;
        Ok(Objects { location, runtime: Some(runtime) })
    }

    /// Runs `future` on this crate's runtime and waits for it; an error when it ended without
    /// an answer (it panicked).
    pub fn run<T: Send + 'static>(&self, future: impl Future<Output = T> + Send + 'static) -> Result<T, RemoteError> {
        let (sender, receiver) = mpsc::sync_channel(1);
        if let Some(runtime) = &self.runtime {
            runtime.spawn(async move {
                let _ = sender.send(future.await);
            });
        }
        receiver.recv().map_err(|_| RemoteError::Setup {
            url: self.location.url().to_owned(),
            detail: "a request ended without an answer".into(),
        })
    }

    /// The object's current version, or `None` when there is none.
    pub fn get(&self, object: Object) -> Result<Option<Fetched>, RemoteError> {
        let (store, path) = (self.location.store.clone(), self.location.object(object));
        let result = self.run(async move {
            let got = store.get_opts(&path, GetOptions::default()).await?;
            let version = UpdateVersion { e_tag: got.meta.e_tag.clone(), version: got.meta.version.clone() };
            Ok::<_, object_store::Error>(Fetched { bytes: got.bytes().await?.to_vec(), version })
        })?;
        match result {
            Ok(fetched) => Ok(Some(fetched)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(self.failed("read", object, source)),
        }
    }

    /// Writes `bytes` if the object is still at `version` (`None`: if there is no object yet),
    /// and returns the new version; [`RemoteError::Conflict`] when it has moved on.
    pub fn put(
        &self,
        object: Object,
        bytes: Vec<u8>,
        version: Option<UpdateVersion>,
    ) -> Result<UpdateVersion, RemoteError> {
        let mode = match version {
            Some(version) => PutMode::Update(version),
            None => PutMode::Create,
        };
        self.put_with(object, bytes, mode)
    }

    /// Writes `bytes` whatever is there.
    pub fn overwrite(&self, object: Object, bytes: Vec<u8>) -> Result<UpdateVersion, RemoteError> {
        self.put_with(object, bytes, PutMode::Overwrite)
    }

    fn put_with(&self, object: Object, bytes: Vec<u8>, mode: PutMode) -> Result<UpdateVersion, RemoteError> {
        let (store, path) = (self.location.store.clone(), self.location.object(object));
        let options = PutOptions { mode, ..PutOptions::default() };
        match self.run(async move { store.put_opts(&path, PutPayload::from(bytes), options).await })? {
            Ok(result) => Ok(result.into()),
            Err(object_store::Error::Precondition { .. } | object_store::Error::AlreadyExists { .. }) => {
                Err(RemoteError::Conflict { url: self.location.object_url(object) })
            }
            Err(source) => Err(self.failed("write", object, source)),
        }
    }

    pub fn delete(&self, object: Object) -> Result<(), RemoteError> {
        let (store, path) = (self.location.store.clone(), self.location.object(object));
        match self.run(async move { store.delete(&path).await })? {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(source) => Err(self.failed("delete", object, source)),
        }
    }

    fn failed(&self, action: &'static str, object: Object, source: object_store::Error) -> RemoteError {
        RemoteError::Request { action, url: self.location.object_url(object), source: Box::new(source) }
    }
}

impl Drop for Objects {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which panics inside another runtime; nothing is in flight.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
