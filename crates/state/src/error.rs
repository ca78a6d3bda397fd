use std::path::PathBuf;

use crate::LockInfo;

/// Everything that can go wrong reading or writing state.
///
/// Messages are sentences for the person running ringform; the underlying cause is the error's
/// [`source`](std::error::Error::source), not repeated in the message, so print the chain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// Another live process (or one on another host, which cannot be checked) holds the lock.
    #[error("{}", locked_message(holder.as_ref(), dir))]
    Locked {
        /// Who holds it; `None` when the database itself is in use by a process that left no
        /// `lock.json` (for example one whose lock was removed by `ringform state unlock`).
        holder: Option<LockInfo>,
        dir: PathBuf,
    },
    /// The lock was left by a process on this host that no longer exists.
    #[error(
        "the state in {} is locked by `{}` (pid {} on this host, user {}) since {}, but that process is gone; \
         make sure nothing else is changing this deployment, then run `ringform state unlock` and retry \
         (ringform resumes from its journal)",
        dir.display(), holder.operation, holder.pid, holder.user, holder.started_at
    )]
    StaleLock { holder: LockInfo, dir: PathBuf },
    /// `lock.json` exists but cannot be understood.
    #[error(
        "the state lock {} exists but cannot be read; if no other ringform is running for this deployment, \
         run `ringform state unlock`",
        path.display()
    )]
    LockUnreadable {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Asked to open state that has never been written.
    #[error("there is no state in {} yet: nothing has been applied to this deployment", dir.display())]
    NoState { dir: PathBuf },
    /// A file system operation failed.
    #[error("could not {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The sled database failed.
    #[error("the state database in {} failed while trying to {action}", dir.display())]
    Sled {
        action: &'static str,
        dir: PathBuf,
        #[source]
        source: sled::Error,
    },
    /// Something stored cannot be decoded; the store was written by something else or damaged.
    #[error("the state in {location} is damaged: {detail}; restore it from a backup, or re-import the resources")]
    Corrupt {
        location: String,
        detail: String,
        #[source]
        source: Option<serde_json::Error>,
    },
    /// A value could not be encoded for storage.
    #[error("could not encode the state of {what}")]
    Encode {
        what: String,
        #[source]
        source: serde_json::Error,
    },
}

fn locked_message(holder: Option<&LockInfo>, dir: &std::path::Path) -> String {
    match holder {
        Some(h) => format!(
            "the state in {} is locked by `{}` (pid {} on {}, user {}) since {}; wait for it to finish \
             (if that process no longer exists, run `ringform state unlock`)",
            dir.display(),
            h.operation,
            h.pid,
            h.host,
            h.user,
            h.started_at
        ),
        None => format!(
            "the state database in {} is in use by another process that holds no ringform lock; \
             stop that process and retry",
            dir.display()
        ),
    }
}
