//! Rewriting remote state in place, each a conditional write over the version read, under the
//! lock: `ringform state restore` puts the last good copy back over a damaged (or, forced, any)
//! state object; `ringform state rekey` seals every secret under a new key. Either way the
//! local cache is replaced by the result, so it never holds what the bucket no longer does.

use std::path::Path;

use ringform_state::{Document, Opener, SledStore, StateError, StateKey};

use crate::location::Object;
use crate::lock;
use crate::objects::{Fetched, Objects};
use crate::store::{Marker, key_of, new_key, read_journal};
use crate::{Location, RemoteError, Sealing};

/// Puts the last good copy back as the state at `location`, refusing (changing nothing) when
/// the state object reads well and is not behind the copy, unless `force`; `cache` becomes a
/// copy of it. Returns the restored state.
pub fn restore(location: &Location, cache: &Path, sealing: &Sealing, force: bool) -> Result<Document, RemoteError> {
    under_lock(location, "state restore", |objects| {
        let url = location.url();
        let copy_url = objects.location.object_url(Object::LastGood);
        let copy = objects
            .get(Object::LastGood)?
            .ok_or_else(|| RemoteError::State(StateError::NoLastGood { dir: copy_url.clone().into() }))?;
        let mut document = Document::parse(&copy.bytes, &copy_url)?;
        let key = key_of(objects, sealing, document.header.wrapped_key.clone())?;
        document.snapshot(key.as_ref(), &copy_url)?;
        let state = objects.get(Object::State)?;
        if !force && let Some(current) = state.as_ref().and_then(|s| Document::parse(&s.bytes, url).ok()) {
            let (serial, last_good_serial) = (current.header.serial, document.header.serial);
            if serial >= last_good_serial && current.snapshot(key.as_ref(), url).is_ok() {
                return Err(RemoteError::State(StateError::NotDamaged { dir: url.into(), serial, last_good_serial }));
            }
        }
        let wrapped = document.header.wrapped_key.take();
        replace(objects, state, &document, wrapped, cache, key, true)?;
        Ok(document)
    })
}

/// Seals every secret of the state at `location` (opened with `sealing`) under `new`;
/// `cache` becomes a copy of the result. Returns the rekeyed state.
pub fn rekey(location: &Location, cache: &Path, sealing: &Sealing, new: &Sealing) -> Result<Document, RemoteError> {
    under_lock(location, "state rekey", |objects| {
        let url = location.url();
        let state =
            objects.get(Object::State)?.ok_or_else(|| RemoteError::State(StateError::NoState { dir: url.into() }))?;
        let document = Document::parse(&state.bytes, url)?;
        let key = key_of(objects, sealing, document.header.wrapped_key.clone())?;
        let (new_key, wrapped) = new_key(objects, new)?;
        let Some(new_key) = new_key else {
            return Err(RemoteError::Key {
                url: url.to_owned(),
                service: "state rekey".into(),
                detail: "rekeying seals the state under a key; there is no key to seal it with".into(),
            });
        };
        let rekeyed = document.rekeyed(key.as_ref(), &new_key, url)?;
        // The old cache holds the secrets under the old key (or in plain text): it goes.
        replace(objects, Some(state), &rekeyed, wrapped.clone(), cache, Some(new_key), false)?;
        // The last good copy is sealed under the old key: it becomes this state.
        let mut copy = rekeyed.clone();
        copy.header.wrapped_key = wrapped;
        objects.overwrite(Object::LastGood, copy.to_bytes())?;
        Ok(rekeyed)
    })
}

/// Writes `document` (with `wrapped`, its key as a key service keeps it) over the state object
/// at the version `state` read, and makes `cache` a copy of it, opened with `key`, keeping the
/// old cache aside if `keep_old`.
fn replace(
    objects: &Objects,
    state: Option<Fetched>,
    document: &Document,
    wrapped: Option<serde_json::Value>,
    cache: &Path,
    key: Option<StateKey>,
    keep_old: bool,
) -> Result<(), RemoteError> {
    let mut stored = document.clone();
    stored.header.wrapped_key = wrapped.clone();
    let (_, intents) = read_journal(objects)?;
    let version = objects.put(Object::State, stored.to_bytes(), state.map(|s| s.version))?;
    let opener = Opener::new("state rewrite").key(key);
    drop(SledStore::replace_with(cache, &opener, document, &intents, keep_old)?);
    let url = objects.location.url().to_owned();
    let serial = document.header.serial;
    Marker { url, e_tag: version.e_tag, version: version.version, serial, wrapped_key: wrapped }.write(cache)
}

/// Runs `work` holding the lock of the state at `location`, releasing it after.
pub(crate) fn under_lock<T>(
    location: &Location,
    operation: &str,
    work: impl FnOnce(&Objects) -> Result<T, RemoteError>,
) -> Result<T, RemoteError> {
    let objects = Objects::new(location.clone())?;
    let held = lock::acquire(&objects, operation)?;
    let result = work(&objects);
    let released = lock::release(&objects, &held);
    let value = result?;
    released?;
    Ok(value)
}
