//! Retries with exponential backoff and full jitter, and an adaptive rate limit per scope
//! (provider, account, region): a token bucket (as cloud APIs meter calls) whose refill rate
//! halves on throttling and creeps back up on success.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;
use ringform_core::provider::Scope;
use tokio::time::Instant;

#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts per operation, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 8, base_delay: Duration::from_secs(1), max_delay: Duration::from_secs(60) }
    }
}

impl RetryPolicy {
    /// Delay before attempt `attempt + 1`: uniform in [0, min(max, base · 2^attempt)] ("full
    /// jitter"), so many failing calls don't retry in lockstep.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.base_delay.saturating_mul(1u32 << attempt.min(20)).min(self.max_delay);
        ceiling.mul_f64(rand::rng().random_range(0.0..=1.0))
    }
}

#[derive(Clone, Copy, Debug)]
pub struct RateLimit {
    /// Calls per second a scope starts at and never exceeds.
    pub max_per_second: f64,
    /// The floor throttling can push a scope down to.
    pub min_per_second: f64,
    /// Calls that may go at once before the rate applies.
    pub burst: u32,
}

impl Default for RateLimit {
    /// Near EC2's own metering of mutating calls (a bucket of a few hundred refilled at a
    /// handful per second per region), kept below it so throttling stays the exception.
    fn default() -> Self {
        RateLimit { max_per_second: 20.0, min_per_second: 0.5, burst: 100 }
    }
}

struct Bucket {
    per_second: f64,
    /// When the bucket would be full again if no more calls came ("theoretical arrival time").
    full_at: Instant,
}

/// Spaces calls to each scope at its current rate.
pub(crate) struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<Scope, Bucket>>,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> Self {
        RateLimiter { limit, buckets: Mutex::new(HashMap::new()) }
    }

    /// Waits for this call's slot. The lock is only held to reserve the slot, never across the
    /// wait.
    pub async fn acquire(&self, scope: &Scope) {
        let slot = {
            let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let now = Instant::now();
            let bucket = buckets
                .entry(scope.clone())
                .or_insert_with(|| Bucket { per_second: self.limit.max_per_second, full_at: now });
            let interval = Duration::from_secs_f64(1.0 / bucket.per_second);
            let full_at = bucket.full_at.max(now);
            // A call may go once the bucket holds a token: `burst` intervals before it is full.
            let slot = full_at.checked_sub(interval * self.limit.burst).map_or(now, |t| t.max(now));
            bucket.full_at = full_at + interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    /// The scope said slow down: halve its rate.
    pub fn throttled(&self, scope: &Scope) {
        self.adjust(scope, |rate, limit| (rate / 2.0).max(limit.min_per_second));
    }

    /// A call went through: recover a little of the rate.
    pub fn succeeded(&self, scope: &Scope) {
        self.adjust(scope, |rate, limit| (rate * 1.1).min(limit.max_per_second));
    }

    /// The current rate of a scope, in calls per second.
    #[cfg(test)]
    pub fn rate(&self, scope: &Scope) -> f64 {
        let buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        buckets.get(scope).map_or(self.limit.max_per_second, |b| b.per_second)
    }

    fn adjust(&self, scope: &Scope, change: impl Fn(f64, &RateLimit) -> f64) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(bucket) = buckets.get_mut(scope) {
            bucket.per_second = change(bucket.per_second, &self.limit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringform_core::Provider;

    fn scope() -> Scope {
        Scope { provider: Provider::Aws, account: "1".into(), region: "eu-west-1".into() }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy =
            RetryPolicy { max_attempts: 5, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(1) };
        for attempt in 0..30 {
            let ceiling = Duration::from_millis(100).saturating_mul(1 << attempt.min(20)).min(Duration::from_secs(1));
            assert!(policy.backoff(attempt) <= ceiling);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_halves_the_rate_and_success_recovers_it() {
        let limiter = RateLimiter::new(RateLimit { max_per_second: 10.0, min_per_second: 1.0, burst: 0 });
        limiter.acquire(&scope()).await;
        limiter.throttled(&scope());
        assert_eq!(limiter.rate(&scope()), 5.0);
        for _ in 0..10 {
            limiter.throttled(&scope());
        }
        assert_eq!(limiter.rate(&scope()), 1.0);
        for _ in 0..100 {
            limiter.succeeded(&scope());
        }
        assert_eq!(limiter.rate(&scope()), 10.0);
    }

    #[tokio::test(start_paused = true)]
    async fn calls_to_one_scope_are_spaced_at_its_rate() {
        let limiter = RateLimiter::new(RateLimit { max_per_second: 10.0, min_per_second: 1.0, burst: 0 });
        let start = Instant::now();
        for _ in 0..11 {
            limiter.acquire(&scope()).await;
        }
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_goes_at_once_then_the_rate_applies() {
        let limiter = RateLimiter::new(RateLimit { max_per_second: 10.0, min_per_second: 1.0, burst: 5 });
        let start = Instant::now();
        for _ in 0..6 {
            limiter.acquire(&scope()).await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        for _ in 0..10 {
            limiter.acquire(&scope()).await;
        }
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }
}
