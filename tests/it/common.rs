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

/// Points `command`'s AWS provider at `moto`, with test credentials, quick polls and no retries
/// (the engine retries; a test should see the first failure).
pub fn on_moto<'c>(command: &'c mut Command, moto: &ringform_testkit::moto::Moto) -> &'c mut Command {
    command
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RINGFORM_AWS_POLL_MS", "10")
        .env("RINGFORM_AWS_MAX_ATTEMPTS", "1")
        .env("RINGFORM_AWS_DEPENDENCY_TIMEOUT_SECS", "2")
        .env_remove("AWS_PROFILE")
}

/// The AWS provider's settings for talking to `moto` from a test, to check what ringform made.
pub fn moto_settings(moto: &ringform_testkit::moto::Moto) -> ringform_aws::AwsSettings {
    ringform_aws::AwsSettings {
        endpoint_url: Some(moto.endpoint()),
        static_credentials: Some(("testing".into(), "testing".into())),
        max_attempts: 1,
        ..Default::default()
    }
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
