//! Retries with exponential backoff and full jitter, and an adaptive rate limit per scope
//! (provider, account, region): a token bucket (as cloud APIs meter calls) whose refill rate
//! halves on throttling and creeps back up on success.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;
use ringform_core::provider::{ErrorClass, ProviderError, ProviderResult, Scope};
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

/// Runs `call` until it succeeds, fails fatally or has been tried `policy.max_attempts` times,
/// waiting between attempts (a throttled error's `retry_after` wins). `retrying` hears of each
/// failed attempt that will be retried, with the attempt number and the wait before the next.
pub(crate) async fn with_retries<T, F, Fut>(
    policy: &RetryPolicy,
    mut call: F,
    mut retrying: impl FnMut(&ProviderError, u32, Duration),
) -> ProviderResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ProviderResult<T>>,
{
    let mut attempt = 0;
    loop {
        let error = match call().await {
            Ok(done) => return Ok(done),
            Err(error) => error,
        };
        attempt += 1;
        let delay = match error.class {
            ErrorClass::Fatal => return Err(error),
            _ if attempt >= policy.max_attempts => {
                return Err(ProviderError {
                    message: format!("{} (gave up after {attempt} attempts)", error.message),
                    ..error
                });
            }
            ErrorClass::Throttled { retry_after } => retry_after.unwrap_or_else(|| policy.backoff(attempt)),
            ErrorClass::Retryable => policy.backoff(attempt),
        };
        retrying(&error, attempt, delay);
        tokio::time::sleep(delay).await;
    }
}

/// Recovery's lookups and refresh's reads: retried like apply's calls, with no rate limiter and
/// no one to tell.
pub(crate) async fn quietly_with_retries<T, F, Fut>(call: F) -> ProviderResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ProviderResult<T>>,
{
    with_retries(&RetryPolicy::default(), call, |_, _, _| {}).await
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
            // A floor keeps a misconfigured zero rate from dividing by zero.
            let interval = Duration::from_secs_f64(1.0 / bucket.per_second.max(1e-3));
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
    async fn with_retries_retries_what_may_help_and_gives_up_in_time() {
        let policy =
            RetryPolicy { max_attempts: 4, base_delay: Duration::from_millis(10), max_delay: Duration::from_secs(1) };
        let attempts = &std::cell::Cell::new(0);
        let retried = &std::cell::RefCell::new(Vec::new());
        let flaky = |errors: Vec<ProviderError>| {
            attempts.set(0);
            let errors = std::cell::RefCell::new(errors.into_iter());
            move || {
                attempts.set(attempts.get() + 1);
                let result = errors.borrow_mut().next().map_or(Ok(attempts.get()), Err);
                async move { result }
            }
        };
        let throttled = || ProviderError::throttled("slow down", Some(Duration::from_secs(7)));
        let start = Instant::now();
        let note = |error: &ProviderError, attempt: u32, delay: Duration| {
            retried.borrow_mut().push((error.message.clone(), attempt, delay))
        };
        let done = with_retries(&policy, flaky(vec![ProviderError::retryable("blip"), throttled()]), note).await;
        assert_eq!(done, Ok(3));
        assert!(start.elapsed() >= Duration::from_secs(7), "retry_after is honoured");
        let told = retried.take();
        assert_eq!(told.len(), 2, "{told:?}");
        assert_eq!((told[0].0.as_str(), told[0].1), ("blip", 1));
        assert_eq!(told[1], ("slow down".to_owned(), 2, Duration::from_secs(7)));

        let fatal = with_retries(&policy, flaky(vec![ProviderError::fatal("no"), throttled()]), note).await;
        assert_eq!(fatal.unwrap_err().class, ErrorClass::Fatal);
        assert_eq!(attempts.get(), 1, "fatal errors are not retried");
        assert!(retried.borrow().is_empty());

        let always = with_retries(&policy, flaky(vec![ProviderError::retryable("blip"); 10]), note).await;
        let error = always.unwrap_err();
        assert_eq!(attempts.get(), 4);
        assert_eq!(error.class, ErrorClass::Retryable);
        assert!(error.message.ends_with("(gave up after 4 attempts)"), "{error}");
        assert_eq!(retried.borrow().len(), 3, "the last attempt is not followed by a retry");
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
