//! Moving state between a local directory and a bucket: `ringform state migrate`. Each way
//! copies the state as stored (records byte for byte, secrets still sealed), reads the copy
//! back to check it, and only then switches: the directory becomes the cache of the remote
//! state, or stops being one.

use std::path::Path;

use ringform_state::{Document, Opener, SledStore, StateKey, StateStore};

use crate::location::{Location, Object};
use crate::rewrite::under_lock;
use crate::store::{CACHE_MARKER, Marker, journal_bytes, key_of, read_journal};
use crate::{RemoteError, Sealing};

/// Copies the local state in `dir` (opened with `opener`) to `location`, which must hold no
/// state yet, and makes `dir` its cache. Returns what was copied.
pub fn migrate_to_remote(dir: &Path, location: &Location, opener: &Opener) -> Result<Document, RemoteError> {
    under_lock(location, "state migrate", |objects| {
        let local = opener.open_existing(dir)?;
        if objects.get(Object::State)?.is_some() {
            return Err(RemoteError::Exists { url: location.url().to_owned() });
        }
        let document = local.document()?;
        let intents: Vec<_> = local.unfinished_intents()?.into_iter().map(|(_, e)| e).collect();
        let bytes = document.to_bytes();
        let version = objects.put(Object::State, bytes.clone(), None)?;
        objects.overwrite(Object::Journal, journal_bytes(&intents))?;
        if objects.get(Object::State)?.map(|f| f.bytes) != Some(bytes) {
            return Err(RemoteError::Unverified { url: location.url().to_owned() });
        }
        let url = location.url().to_owned();
        let serial = document.header.serial;
        Marker { url, e_tag: version.e_tag, version: version.version, serial, wrapped_key: None }.write(dir)?;
        Ok(document)
    })
}

/// Copies the state at `location` into `dir` (its cache, or a directory without state), which
/// then holds it as local state, its secrets sealed under `reseal` when given (the key of
/// state a key service keeps cannot be given locally). A cache there is kept aside. The remote
/// objects are left as they are. Returns what was copied.
pub fn migrate_to_local(
    location: &Location,
    dir: &Path,
    sealing: &Sealing,
    reseal: Option<&StateKey>,
) -> Result<Document, RemoteError> {
    under_lock(location, "state migrate", |objects| {
        let url = location.url();
        let state = objects
            .get(Object::State)?
            .ok_or_else(|| RemoteError::State(ringform_state::StateError::NoState { dir: url.into() }))?;
        if SledStore::exists(dir) && Marker::read(dir, url).is_none() {
            return Err(RemoteError::LocalState { dir: dir.to_owned(), url: url.to_owned() });
        }
        let mut document = Document::parse(&state.bytes, url)?;
        let key = key_of(objects, sealing, document.header.wrapped_key.take())?;
        let (_, intents) = read_journal(objects)?;
        if let Some(new_key) = reseal {
            document = document.rekeyed(key.as_ref(), new_key, url)?;
        }
        let opener = Opener::new("state migrate").key(reseal.cloned().or(key));
        let local = SledStore::replace_with(dir, &opener, &document, &intents, true)?.store;
        if local.document()? != document {
            return Err(RemoteError::Unverified { url: dir.display().to_string() });
        }
        match std::fs::remove_file(dir.join(CACHE_MARKER)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                let path = dir.join(CACHE_MARKER);
                return Err(ringform_state::StateError::Io { action: "delete", path, source: e }.into());
            }
            _ => {}
        }
        Ok(document)
    })
}
