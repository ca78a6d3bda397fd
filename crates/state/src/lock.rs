//! The state lock: a `lock.json` beside the state, created exclusively, naming its holder.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::files;
use crate::{StateError, Timestamp};

/// Name of the lock file inside a state directory.
pub const LOCK_FILE: &str = "lock.json";

/// Who holds a state lock, written into `lock.json` so that a second process can say who is in
/// its way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// The command holding the lock, e.g. `apply`.
    pub operation: String,
    pub pid: u32,
    pub host: String,
    pub user: String,
    pub started_at: Timestamp,
}

impl LockInfo {
    /// A lock held by this process for `operation`, starting now.
    pub fn current(operation: &str) -> LockInfo {
        LockInfo {
            operation: operation.to_owned(),
            pid: std::process::id(),
            host: hostname(),
            user: username(),
            started_at: Timestamp::now(),
        }
    }

    /// True when the holder ran on this host and its process no longer exists. A holder on
    /// another host cannot be checked and is never stale.
    pub fn is_stale(&self) -> bool {
        self.host == hostname() && !pid_alive(self.pid)
    }
}

/// Reads the lock of the state in `dir`, if any.
pub fn read_lock(dir: &Path) -> Result<Option<LockInfo>, StateError> {
    read_holder(&dir.join(LOCK_FILE))
}

/// Removes the lock of the state in `dir` whoever holds it, and returns who did (`None` if
/// there was no lock, or it was unreadable). For `ringform state unlock`: the caller is
/// responsible for making sure the holder is really gone.
pub fn force_unlock(dir: &Path) -> Result<Option<LockInfo>, StateError> {
    let path = dir.join(LOCK_FILE);
    let holder = match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).ok(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(StateError::Io { action: "read the state lock", path, source }),
    };
    match fs::remove_file(&path) {
        Ok(()) => Ok(holder),
        // Released by its holder in the meantime: the state is unlocked either way.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(holder),
        Err(source) => Err(StateError::Io { action: "remove the state lock", path, source }),
    }
}

/// A held lock; dropping it tightens the directory's file modes and deletes `lock.json`, if
/// that is still ours.
#[derive(Debug)]
pub(crate) struct LockGuard {
    dir: PathBuf,
    info: LockInfo,
}

// A holder writes its lock file right after creating it; a reader that finds it empty or half
// written waits this long in total for the rest before calling it unreadable.
const READ_ATTEMPTS: u32 = 5;
const READ_PAUSE: Duration = Duration::from_millis(20);

impl LockGuard {
    /// Takes the lock of `dir` for `operation`, or says who holds it. Never waits for a holder.
    pub(crate) fn acquire(dir: &Path, operation: &str) -> Result<LockGuard, StateError> {
        let path = dir.join(LOCK_FILE);
        let info = LockInfo::current(operation);
        let bytes = serde_json::to_vec_pretty(&info)
            .map_err(|source| StateError::Encode { what: "the state lock".into(), source })?;
        // The holder may release between our failed create and our read; retry a few times.
        for _ in 0..3 {
            match files::create_private(&path) {
                Ok(mut file) => {
                    let written = file.write_all(&bytes).and_then(|()| file.sync_all());
                    if let Err(source) = written {
                        let _ = fs::remove_file(&path);
                        return Err(StateError::Io { action: "write the state lock", path, source });
                    }
                    return Ok(LockGuard { dir: dir.to_owned(), info });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => match read_holder(&path)? {
                    Some(holder) if holder.is_stale() => {
                        return Err(StateError::StaleLock { holder, dir: dir.to_owned() });
                    }
                    Some(holder) => return Err(StateError::Locked { holder: Some(holder), dir: dir.to_owned() }),
                    None => continue,
                },
                Err(source) => return Err(StateError::Io { action: "create the state lock", path, source }),
            }
        }
        Err(StateError::Locked { holder: read_holder(&path).ok().flatten(), dir: dir.to_owned() })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Best effort: Drop cannot report, and the next open tightens modes again anyway.
        let _ = files::tighten_permissions(&self.dir);
        let path = self.dir.join(LOCK_FILE);
        // After `ringform state unlock` someone else may hold the lock now: leave theirs alone.
        if let Ok(Some(holder)) = read_holder(&path)
            && holder == self.info
        {
            let _ = fs::remove_file(&path);
        }
    }
}

fn read_holder(path: &Path) -> Result<Option<LockInfo>, StateError> {
    let mut last_error = None;
    for attempt in 0..READ_ATTEMPTS {
        if attempt > 0 {
            std::thread::sleep(READ_PAUSE);
        }
        match fs::read(path) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(info) => return Ok(Some(info)),
                Err(e) => last_error = Some(e),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StateError::Io { action: "read the state lock", path: path.to_owned(), source });
            }
        }
    }
    let source: Box<dyn std::error::Error + Send + Sync> = match last_error {
        Some(e) => Box::new(e),
        None => "unreadable".into(),
    };
    Err(StateError::LockUnreadable { path: path.to_owned(), source })
}

fn username() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(unix)]
fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown".to_owned();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(not(unix))]
fn hostname() -> String {
    std::env::var("COMPUTERNAME").unwrap_or_else(|_| "unknown".to_owned())
}

/// Whether a process with this pid exists on this host. Anything that cannot be checked counts
/// as alive, so that a lock is only ever called stale when its holder is certainly gone.
#[cfg(unix)]
pub(crate) fn pid_alive(pid: u32) -> bool {
    // 0 and negative pids address process groups, not a process.
    let pid = match libc::pid_t::try_from(pid) {
        Ok(pid) if pid > 0 => pid,
        _ => return true,
    };
    // SAFETY: signal 0 only checks that the process exists and may be signalled; nothing is sent.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(not(unix))]
pub(crate) fn pid_alive(_pid: u32) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_reaped_child_is_not() {
        assert!(pid_alive(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!pid_alive(pid));
        assert!(pid_alive(0), "unverifiable pids count as alive");
    }

    #[test]
    fn a_lock_on_another_host_is_never_stale() {
        let mut info = LockInfo::current("apply");
        info.pid = u32::MAX;
        assert!(!info.is_stale());
        info.host = format!("{}-elsewhere", info.host);
        assert!(!info.is_stale());
    }

    #[test]
    fn force_unlock_without_a_lock_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        assert!(force_unlock(dir.path()).unwrap().is_none());
    }

    #[test]
    fn an_unreadable_lock_says_so() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(LOCK_FILE), "{").unwrap();
        let err = LockGuard::acquire(dir.path(), "plan").unwrap_err();
        assert!(matches!(err, StateError::LockUnreadable { .. }), "{err}");
        assert!(err.to_string().contains("ringform state unlock"));
        assert_eq!(force_unlock(dir.path()).unwrap(), None);
        assert!(LockGuard::acquire(dir.path(), "plan").is_ok());
    }

    #[test]
    fn a_guard_leaves_someone_elses_lock_alone() {
        let dir = tempfile::tempdir().unwrap();
        let guard = LockGuard::acquire(dir.path(), "apply").unwrap();
        assert_eq!(force_unlock(dir.path()).unwrap().map(|h| h.operation), Some("apply".to_owned()));
        let other = LockGuard::acquire(dir.path(), "destroy").unwrap();
        drop(guard);
        assert_eq!(read_lock(dir.path()).unwrap().map(|h| h.operation), Some("destroy".to_owned()));
        drop(other);
        assert_eq!(read_lock(dir.path()).unwrap(), None);
    }
}
