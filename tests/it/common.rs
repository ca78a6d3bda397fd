//! What the end-to-end tests share.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `ringform` binary with `args`, run from the project root without colour or input, its
/// state in `state`.
pub fn ringform(args: &[&str], state: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ringform"));
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env("RINGFORM_STATE", state)
        .stdin(Stdio::null());
    command
}

/// Random kill instants from a seed that is printed, so a failing run can be repeated with
/// `RINGFORM_KILL_SEED`.
pub struct KillClock {
    seed: u64,
    state: u64,
}

impl KillClock {
    pub fn from_env() -> KillClock {
        let seed = std::env::var("RINGFORM_KILL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |t| t.as_nanos() as u64)
        });
        eprintln!("kill seed {seed} (rerun with RINGFORM_KILL_SEED={seed})");
        KillClock { seed, state: seed.max(1) }
    }

    pub fn seed(&self) -> String {
        format!("RINGFORM_KILL_SEED={}", self.seed)
    }

    /// A uniformly random instant in `[0, span)`.
    pub fn instant_within(&mut self, span: Duration) -> Duration {
        // xorshift: enough randomness for kill instants, no dependency.
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        let millis = span.as_millis().max(1) as u64;
        Duration::from_millis(self.state % millis)
    }
}
