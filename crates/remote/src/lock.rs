//! The remote lock: an object created only if absent (`If-None-Match: *`), naming its holder
//! and a lock id, deleted on release. Unlike a local lock it cannot end with its process, so a
//! run that was killed leaves it; the message names the holder and the id to break it with.

use ringform_state::LockInfo;
use serde::{Deserialize, Serialize};

use crate::RemoteError;
use crate::location::{Location, Object};
use crate::objects::Objects;

/// What the lock object holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRecord {
    /// Names this holding of the lock, for `ringform state unlock --lock-id`.
    pub id: String,
    #[serde(flatten)]
    pub holder: LockInfo,
}

impl std::fmt::Display for LockRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let LockInfo { operation, pid, host, user, started_at } = &self.holder;
        write!(f, "`{operation}` (pid {pid} on {host}, user {user}) since {started_at}, lock id {}", self.id)?;
        if self.holder.is_stale() {
            write!(f, "; that process has ended")?;
        }
        Ok(())
    }
}

/// Takes the lock for `operation`; [`RemoteError::Locked`] names the holder when it is taken.
pub(crate) fn acquire(objects: &Objects, operation: &str) -> Result<LockRecord, RemoteError> {
    let record = LockRecord { id: uuid::Uuid::new_v4().to_string(), holder: LockInfo::current(operation) };
    let bytes = serde_json::to_vec_pretty(&record).expect("a lock record encodes");
    // Twice: the holder may release it between our write and our read of who holds it.
    for _ in 0..2 {
        match objects.put(Object::Lock, bytes.clone(), None) {
            Ok(_) => return Ok(record),
            Err(RemoteError::Conflict { .. }) => match holder(objects)? {
                // A retried write whose first attempt had landed.
                Some(holder) if holder.id == record.id => return Ok(record),
                Some(holder) => {
                    let url = objects.location.url().to_owned();
                    return Err(RemoteError::Locked { url, holder: Box::new(holder) });
                }
                None => {}
            },
            Err(other) => return Err(other),
        }
    }
    Err(RemoteError::Conflict { url: objects.location.object_url(Object::Lock) })
}

/// Who holds the lock, if anyone.
fn holder(objects: &Objects) -> Result<Option<LockRecord>, RemoteError> {
    let Some(fetched) = objects.get(Object::Lock)? else { return Ok(None) };
    let record = serde_json::from_slice(&fetched.bytes).map_err(|e| RemoteError::Request {
        action: "read",
        url: objects.location.object_url(Object::Lock),
        source: Box::new(e),
    })?;
    Ok(Some(record))
}

/// Releases the lock `ours` took, unless someone broke it and took it since.
pub(crate) fn release(objects: &Objects, ours: &LockRecord) -> Result<(), RemoteError> {
    match holder(objects)? {
        Some(holder) if holder.id == ours.id => objects.delete(Object::Lock),
        _ => Ok(()),
    }
}

/// Breaks the lock on the state at `location` if its id is `lock_id`, for a run that died
/// holding it; returns the holder it broke (`None` when the state was not locked).
pub fn unlock(location: &Location, lock_id: &str) -> Result<Option<LockRecord>, RemoteError> {
    let objects = Objects::new(location.clone())?;
    match holder(&objects)? {
        None => Ok(None),
        Some(holder) if holder.id == lock_id => {
            objects.delete(Object::Lock)?;
            Ok(Some(holder))
        }
        Some(holder) => Err(RemoteError::OtherLock { url: location.url().to_owned(), holder: Box::new(holder) }),
    }
}
