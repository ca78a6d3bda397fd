//! How the fake cloud misbehaves: latency, injected errors and crash points.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use ringform_core::{Address, Kind};

/// Where, relative to its effect on the inventory, a crashing call stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashMode {
    /// The cloud never acted: the call dies before its effect.
    BeforeEffect,
    /// The cloud acted but the engine never heard back: the hard case for recovery.
    AfterEffect,
}

/// What a crash does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashAction {
    /// `std::process::abort()`, for tests that run the engine in a child process.
    Abort,
    /// The call (and every later step of every call) never completes, and
    /// [`FakeProvider::crashed`](crate::FakeProvider::crashed) resolves; the test then drops
    /// the engine future, which is what SIGKILL does to in-flight work.
    Hang,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Crash {
    pub after: u64,
    pub mode: CrashMode,
}

/// Faults and timing for a [`FakeProvider`](crate::FakeProvider). Everything is optional; the
/// default is an instant, perfectly reliable cloud. Random faults are deterministic for a seed
/// (given the same order of calls).
#[derive(Clone, Debug)]
pub struct FakeConfig {
    pub(crate) latencies: HashMap<Kind, Duration>,
    pub(crate) default_latency: Duration,
    pub(crate) read_latency: Duration,
    pub(crate) time_scale: f64,
    pub(crate) error_rate: f64,
    pub(crate) throttle_rate: f64,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) fatal_addresses: HashSet<Address>,
    pub(crate) crash: Option<Crash>,
    pub(crate) crash_action: CrashAction,
    pub(crate) seed: u64,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            latencies: HashMap::new(),
            default_latency: Duration::ZERO,
            read_latency: Duration::ZERO,
            time_scale: 1.0,
            error_rate: 0.0,
            throttle_rate: 0.0,
            retry_after: Some(Duration::from_millis(1)),
            fatal_addresses: HashSet::new(),
            crash: None,
            crash_action: CrashAction::Hang,
            seed: 0,
        }
    }
}

impl FakeConfig {
    pub fn new() -> Self {
        FakeConfig::default()
    }

    /// How long a create, update or delete of `kind` takes (before scaling).
    #[must_use]
    pub fn latency(mut self, kind: Kind, latency: Duration) -> Self {
        self.latencies.insert(kind, latency);
        self
    }

    /// How long a create, update or delete of a kind without its own latency takes.
    #[must_use]
    pub fn default_latency(mut self, latency: Duration) -> Self {
        self.default_latency = latency;
        self
    }

    /// How long a read or find takes (reads are quick even for slow kinds).
    #[must_use]
    pub fn read_latency(mut self, latency: Duration) -> Self {
        self.read_latency = latency;
        self
    }

    /// Multiplies every latency, so "EKS takes 15 min" can run in milliseconds.
    /// Negative or non-finite factors count as 0.
    #[must_use]
    pub fn time_scale(mut self, factor: f64) -> Self {
        self.time_scale = if factor.is_finite() && factor > 0.0 { factor } else { 0.0 };
        self
    }

    /// Probability that a call fails Retryable before any effect.
    #[must_use]
    pub fn error_rate(mut self, probability: f64) -> Self {
        self.error_rate = probability_of(probability);
        self
    }

    /// Probability that a call fails Throttled before any effect.
    #[must_use]
    pub fn throttle_rate(mut self, probability: f64) -> Self {
        self.throttle_rate = probability_of(probability);
        self
    }

    /// The `retry_after` throttled errors carry (1 ms by default; not scaled).
    #[must_use]
    pub fn retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// Every call about this address fails Fatal (a read if it asks about it).
    #[must_use]
    pub fn fatal_address(mut self, address: Address) -> Self {
        self.fatal_addresses.insert(address);
        self
    }

    #[must_use]
    pub fn fatal_addresses(mut self, addresses: impl IntoIterator<Item = Address>) -> Self {
        self.fatal_addresses.extend(addresses);
        self
    }

    /// The `n`-th (1-based) create, update or delete to reach its halfway point crashes there,
    /// before or after its effect. What a crash does is [`FakeConfig::crash_action`].
    #[must_use]
    pub fn crash_after_calls(mut self, n: u64, mode: CrashMode) -> Self {
        self.crash = Some(Crash { after: n, mode });
        self
    }

    /// [`CrashAction::Hang`] unless set.
    #[must_use]
    pub fn crash_action(mut self, action: CrashAction) -> Self {
        self.crash_action = action;
        self
    }

    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    pub(crate) fn mutation_latency(&self, kind: Kind) -> Duration {
        self.scaled(self.latencies.get(&kind).copied().unwrap_or(self.default_latency))
    }

    pub(crate) fn scaled_read_latency(&self) -> Duration {
        self.scaled(self.read_latency)
    }

    fn scaled(&self, latency: Duration) -> Duration {
        let seconds = latency.as_secs_f64() * self.time_scale;
        Duration::try_from_secs_f64(seconds).unwrap_or(if seconds > 0.0 { Duration::MAX } else { Duration::ZERO })
    }
}

fn probability_of(p: f64) -> f64 {
    if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringform_schema::aws;

    #[test]
    fn latencies_scale_and_bad_numbers_are_tamed() {
        let config = FakeConfig::new()
            .latency(aws::EKS_CLUSTER, Duration::from_secs(15 * 60))
            .default_latency(Duration::from_secs(10))
            .time_scale(1.0 / 60_000.0)
            .error_rate(f64::NAN)
            .throttle_rate(7.0);
        assert_eq!(config.mutation_latency(aws::EKS_CLUSTER).as_millis(), 15);
        assert!(config.mutation_latency(aws::VPC) < Duration::from_millis(1));
        assert_eq!(config.error_rate, 0.0);
        assert_eq!(config.throttle_rate, 1.0);
        assert_eq!(
            FakeConfig::new().time_scale(-1.0).default_latency(Duration::MAX).mutation_latency(aws::VPC),
            Duration::ZERO
        );
        assert_eq!(
            FakeConfig::new().time_scale(1e300).default_latency(Duration::MAX).mutation_latency(aws::VPC),
            Duration::MAX
        );
    }
}
