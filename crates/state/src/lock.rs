//! The state lock: `lock.json` beside the state, held with an OS file lock (`flock` on Unix)
//! for as long as a store is open, and naming its holder inside.
//!
//! The kernel releases an OS lock when its process ends however it ends, so a killed run never
//! leaves a lock behind: the next run takes it and overwrites what the dead holder wrote. While
//! the lock is held, its file says who holds it, so that a second process fails fast naming
//! the holder. A clean release removes the file; a run that died leaves it, naming the dead
//! process, until the next run takes the lock.

use std::fs::{self, File};
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

/// Clears what a run that died left in `lock.json` of the state in `dir`, for `ringform state
/// unlock`. Returns that run's holder (`None` when there was nothing to clear). A lock held by
/// a live process cannot be taken away: that is [`StateError::Locked`], naming it.
pub fn unlock(dir: &Path) -> Result<Option<LockInfo>, StateError> {
    if !dir.join(LOCK_FILE).exists() {
        return Ok(None);
    }
    // Taking the lock proves that nobody holds it; releasing it removes the file.
    let mut guard = LockGuard::acquire(dir, "state unlock")?;
    Ok(guard.left_by_dead_run.take())
}

/// A held lock; dropping it tightens the directory's file modes, removes `lock.json` and
/// releases the OS lock.
#[derive(Debug)]
pub(crate) struct LockGuard {
    dir: PathBuf,
    /// Open for as long as the lock is held: closing it releases the OS lock.
    file: File,
    /// What the previous holder wrote, if it died holding the lock.
    left_by_dead_run: Option<LockInfo>,
}

// A new holder writes its name right after taking the lock; a process that finds the lock taken
// waits this long in total for that name before saying it does not know the holder.
const READ_ATTEMPTS: u32 = 5;
const READ_PAUSE: Duration = Duration::from_millis(20);
// Taking the lock again when the file was replaced between opening and locking it.
const ACQUIRE_ATTEMPTS: u32 = 5;

impl LockGuard {
    /// Takes the lock of `dir` for `operation`, or says who holds it. Never waits for a holder.
    pub(crate) fn acquire(dir: &Path, operation: &str) -> Result<LockGuard, StateError> {
        let path = dir.join(LOCK_FILE);
        let io_error = |action| {
            let path = path.clone();
            move |source| StateError::Io { action, path, source }
        };
        for _ in 0..ACQUIRE_ATTEMPTS {
            let file = files::open_private(&path).map_err(io_error("open the state lock"))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(StateError::Locked { holder: live_holder(&path), dir: dir.to_owned() });
                }
                Err(fs::TryLockError::Error(source)) => return Err(io_error("lock the state lock")(source)),
            }
            // A holder releasing removes the file while still holding it, so a file locked after
            // it was removed is an orphan nobody else will look at: start again at the path.
            if !files::is_same_file(&file, &path).map_err(io_error("check the state lock"))? {
                continue;
            }
            let left_by_dead_run = read_holder(&path).ok();
            write_holder(&file, &LockInfo::current(operation)).map_err(io_error("write the state lock"))?;
            return Ok(LockGuard { dir: dir.to_owned(), file, left_by_dead_run });
        }
        Err(StateError::Locked { holder: None, dir: dir.to_owned() })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Best effort: Drop cannot report, and the next open tightens modes again anyway.
        let _ = files::tighten_permissions(&self.dir);
        // Removed while still held (closing `file` releases it), so nobody can take a lock on
        // a file that is about to disappear; see `acquire`.
        let _ = fs::remove_file(self.dir.join(LOCK_FILE));
        let _ = self.file.unlock();
    }
}

fn write_holder(mut file: &File, info: &LockInfo) -> io::Result<()> {
    let bytes = serde_json::to_vec_pretty(info).map_err(io::Error::other)?;
    file.set_len(0)?;
    file.write_all(&bytes)?;
    file.sync_all()
}

fn read_holder(path: &Path) -> Result<LockInfo, Option<io::Error>> {
    let bytes = fs::read(path).map_err(Some)?;
    serde_json::from_slice(&bytes).map_err(|_| None)
}

/// Who holds the lock at `path`, which some process holds: its name once it has written it
/// (what is there before may be empty or left by a run that died), or `None`.
fn live_holder(path: &Path) -> Option<LockInfo> {
    for attempt in 0..READ_ATTEMPTS {
        if attempt > 0 {
            std::thread::sleep(READ_PAUSE);
        }
        if let Ok(holder) = read_holder(path)
            && !holder.is_stale()
        {
            return Some(holder);
        }
    }
    None
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
/// as alive, so that a holder is only ever called gone when it certainly is.
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

    fn dead_holder() -> LockInfo {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        LockInfo { pid, ..LockInfo::current("apply") }
    }

    #[test]
    fn this_process_is_alive_and_a_reaped_child_is_not() {
        assert!(pid_alive(std::process::id()));
        assert!(!pid_alive(dead_holder().pid));
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
    fn a_held_lock_names_its_holder_and_a_released_one_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let held = LockGuard::acquire(dir.path(), "apply").unwrap();
        assert_eq!(held.left_by_dead_run, None);
        let err = LockGuard::acquire(dir.path(), "plan").unwrap_err();
        let StateError::Locked { holder: Some(holder), .. } = &err else { panic!("{err:?}") };
        assert_eq!((holder.operation.as_str(), holder.pid), ("apply", std::process::id()));
        assert!(matches!(unlock(dir.path()), Err(StateError::Locked { holder: Some(_), .. })));
        drop(held);
        assert!(!dir.path().join(LOCK_FILE).exists());
        assert_eq!(unlock(dir.path()).unwrap(), None, "nothing to unlock");
        drop(LockGuard::acquire(dir.path(), "plan").unwrap());
    }

    #[test]
    fn what_a_dead_run_left_is_taken_over_and_unlock_clears_it() {
        let dir = tempfile::tempdir().unwrap();
        let dead = dead_holder();
        fs::write(dir.path().join(LOCK_FILE), serde_json::to_vec(&dead).unwrap()).unwrap();
        let guard = LockGuard::acquire(dir.path(), "plan").unwrap();
        assert_eq!(guard.left_by_dead_run.as_ref(), Some(&dead));
        let written: LockInfo = serde_json::from_slice(&fs::read(dir.path().join(LOCK_FILE)).unwrap()).unwrap();
        assert_eq!(written.operation, "plan");
        drop(guard);

        fs::write(dir.path().join(LOCK_FILE), "{ half written").unwrap();
        assert_eq!(unlock(dir.path()).unwrap(), None, "an unreadable leftover is not in the way either");
        fs::write(dir.path().join(LOCK_FILE), serde_json::to_vec(&dead).unwrap()).unwrap();
        assert_eq!(unlock(dir.path()).unwrap(), Some(dead));
        assert!(!dir.path().join(LOCK_FILE).exists());
    }

    #[test]
    fn a_holder_that_has_not_written_its_name_yet_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        let file = files::open_private(&path).unwrap();
        file.try_lock().unwrap();
        fs::write(&path, serde_json::to_vec(&dead_holder()).unwrap()).unwrap();
        let err = LockGuard::acquire(dir.path(), "plan").unwrap_err();
        assert!(matches!(err, StateError::Locked { holder: None, .. }), "{err:?}");
    }
}
