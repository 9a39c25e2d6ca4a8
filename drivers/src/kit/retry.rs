//! Retrying a backend call that failed transiently, with jittered exponential back-off.
//!
//! A driver call is retried here only for a short while, inside one reconciliation: long enough
//! to ride out a busy manager, a 429 or a dropped connection, short enough that the work item's
//! lease does not expire. What still fails is returned as it is, and the reconciler's own
//! back-off takes over (it too reads the error's `retry_after`).
//!
//! Rules, in order:
//! - only [transient](fulcrum_core::driver::DriverErrorKind::Transient) errors are retried; any
//!   other kind is returned at once;
//! - the delay before retry `n` has the ceiling `base · 2^(n-1)`, at most `cap`, and is drawn
//!   with "equal jitter" from `[ceiling / 2, ceiling]`, so that callers that failed together do
//!   not come back together, yet each waits a real while;
//! - the delay is never shorter than the backend's `Retry-After`;
//! - it gives up after `max_attempts` calls (the first included), or when the next delay would
//!   end past `max_elapsed` from the first call, returning the last error.
//!
//! This is a small loop of its own rather than `backon`: the policy needs the `Retry-After`
//! floor applied before the time budget is checked, a budget of elapsed time (the calls
//! included) rather than of summed sleeps, and jittered delays that stay within the cap, none of
//! which `backon`'s exponential builder does; bending it to them would take more code than the
//! loop. Time is Tokio's, so tests with paused time run instantly.

use std::future::Future;
use std::time::Duration;

use fulcrum_core::driver::DriverError;
use tokio::time::Instant;

/// How often and how patiently transient failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The ceiling of the delay before the first retry; it doubles with each retry.
    pub base: Duration,
    /// The largest ceiling a delay can have (a backend's `Retry-After` may still ask for more).
    pub cap: Duration,
    /// How many calls at most, the first one included; `None` sets no limit by count.
    pub max_attempts: Option<u32>,
    /// How long after the first call a retry may still start; `None` sets no limit by time.
    /// With neither limit, only success or a non-transient error ends the retries.
    pub max_elapsed: Option<Duration>,
}

impl Default for RetryPolicy {
    /// 0.5 s doubling up to 8 s, at most 5 calls within 60 s.
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(8),
            max_attempts: Some(5),
            max_elapsed: Some(Duration::from_secs(60)),
        }
    }
}

impl RetryPolicy {
    /// The ceiling of the delay before retry `retry` (1 for the first): `base · 2^(retry-1)`, at
    /// most `cap`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(31);
        self.base
            .checked_mul(1 << doublings)
            .map_or(self.cap, |d| d.min(self.cap))
    }

    /// The delay before retry `retry`, given `unit`, a random number in `[0, 1)`: half the
    /// ceiling plus `unit` times the other half, but never less than `retry_after`.
    pub fn delay(&self, retry: u32, unit: f64, retry_after: Option<Duration>) -> Duration {
        let ceiling = self.ceiling(retry);
        let half = ceiling / 2;
        let jittered = half + (ceiling - half).mul_f64(unit.clamp(0.0, 1.0));
        jittered.max(retry_after.unwrap_or_default())
    }
}

/// Call `op` until it succeeds, fails with an error that is not transient, or `policy` gives up;
/// the result is the last one `op` returned.
pub async fn retry<T, F, Fut>(policy: &RetryPolicy, op: F) -> Result<T, DriverError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DriverError>>,
{
    retry_with(policy, fastrand::f64, op).await
}

/// [`retry`] with the random source of the jitter given: `unit` returns numbers in `[0, 1)`.
pub async fn retry_with<T, F, Fut, R>(
    policy: &RetryPolicy,
    mut unit: R,
    mut op: F,
) -> Result<T, DriverError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DriverError>>,
    R: FnMut() -> f64,
{
    let start = Instant::now();
    let mut attempt: u32 = 1;
    loop {
        let error = match op().await {
            Ok(value) => return Ok(value),
            Err(e) if !e.is_transient() => return Err(e),
            Err(e) => e,
        };
        if policy.max_attempts.is_some_and(|max| attempt >= max) {
            tracing::warn!(attempts = attempt, error = %error, "backend call failed; no attempts left");
            return Err(error);
        }
        let delay = policy.delay(attempt, unit(), error.retry_after());
        if let Some(budget) = policy.max_elapsed
            && start.elapsed() + delay > budget
        {
            tracing::warn!(
                attempts = attempt,
                delay_ms = delay.as_millis() as u64,
                error = %error,
                "backend call failed; the next retry would start past the time allowed"
            );
            return Err(error);
        }
        tracing::info!(
            attempt,
            delay_ms = delay.as_millis() as u64,
            error = %error,
            "transient backend error; retrying"
        );
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    fn policy(max_attempts: Option<u32>, max_elapsed: Option<Duration>) -> RetryPolicy {
        RetryPolicy {
            base: Duration::from_millis(100),
            cap: Duration::from_millis(1000),
            max_attempts,
            max_elapsed,
        }
    }

    /// An operation that fails with the given errors, in turn, then succeeds; it records when
    /// each call started (relative to the first).
    struct Script {
        failures: Mutex<Vec<DriverError>>,
        calls: Mutex<Vec<Duration>>,
        start: Instant,
    }

    impl Script {
        fn new(mut failures: Vec<DriverError>) -> Arc<Self> {
            failures.reverse();
            Arc::new(Script {
                failures: Mutex::new(failures),
                calls: Mutex::default(),
                start: Instant::now(),
            })
        }

        async fn call(self: Arc<Self>) -> Result<&'static str, DriverError> {
            self.calls.lock().unwrap().push(self.start.elapsed());
            match self.failures.lock().unwrap().pop() {
                Some(e) => Err(e),
                None => Ok("done"),
            }
        }

        /// When each call started, in milliseconds after the first.
        fn calls(&self) -> Vec<u128> {
            self.calls
                .lock()
                .unwrap()
                .iter()
                .map(|d| d.as_millis())
                .collect()
        }
    }

    fn busy() -> DriverError {
        DriverError::transient("busy")
    }

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let p = policy(None, None);
        let ceilings: Vec<u128> = (1..=6).map(|n| p.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(p.ceiling(u32::MAX), p.cap);
    }

    #[test]
    fn jitter_stays_between_half_the_ceiling_and_the_ceiling() {
        let p = policy(None, None);
        assert_eq!(p.delay(3, 0.0, None), 200 * MS);
        assert_eq!(p.delay(3, 0.5, None), 300 * MS);
        assert_eq!(p.delay(3, 0.999_999, None).as_millis(), 399);
        assert_eq!(
            p.delay(3, 7.0, None),
            400 * MS,
            "out-of-range samples are clamped"
        );
        for _ in 0..1000 {
            let d = p.delay(4, fastrand::f64(), None);
            assert!((400 * MS..=800 * MS).contains(&d), "{d:?}");
        }
    }

    #[test]
    fn never_sooner_than_the_backend_asked() {
        let p = policy(None, None);
        let hint = Some(Duration::from_secs(3));
        assert_eq!(p.delay(1, 0.9, hint), Duration::from_secs(3));
        assert_eq!(p.delay(1, 0.0, Some(10 * MS)), 50 * MS);
    }

    #[tokio::test(start_paused = true)]
    async fn transient_errors_are_retried_with_growing_delays() {
        let script = Script::new(vec![busy(), busy(), busy()]);
        let s = script.clone();
        let got = retry_with(&policy(Some(5), None), || 0.0, move || s.clone().call()).await;
        assert_eq!(got, Ok("done"));
        assert_eq!(script.calls(), [0, 50, 150, 350]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_retry_after_hint_is_a_floor() {
        let hinted = busy().with_retry_after(Some(Duration::from_secs(2)));
        let script = Script::new(vec![hinted, busy()]);
        let s = script.clone();
        let got = retry_with(&policy(Some(5), None), || 0.0, move || s.clone().call()).await;
        assert_eq!(got, Ok("done"));
        assert_eq!(script.calls(), [0, 2000, 2100]);
    }

    #[tokio::test(start_paused = true)]
    async fn other_kinds_are_not_retried() {
        for error in [
            DriverError::rejected("no"),
            DriverError::authentication("who?"),
            DriverError::conflict("taken"),
        ] {
            let script = Script::new(vec![error.clone()]);
            let s = script.clone();
            let got = retry(&policy(Some(5), None), move || s.clone().call()).await;
            assert_eq!(got, Err(error));
            assert_eq!(script.calls().len(), 1);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_max_attempts_with_the_last_error() {
        let last = DriverError::transient("still busy");
        let script = Script::new(vec![busy(), busy(), last.clone(), busy()]);
        let s = script.clone();
        let got = retry(&policy(Some(3), None), move || s.clone().call()).await;
        assert_eq!(got, Err(last));
        assert_eq!(script.calls().len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_before_a_delay_would_end_past_max_elapsed() {
        // Calls at 0, 50, 150, 350, 750 ms; the next delay (500 ms) would end at 1.25 s.
        let script = Script::new(vec![busy(); 10]);
        let s = script.clone();
        let p = policy(None, Some(Duration::from_millis(1200)));
        let got = retry_with(&p, || 0.0, move || s.clone().call()).await;
        assert!(got.unwrap_err().is_transient());
        assert_eq!(script.calls(), [0, 50, 150, 350, 750]);

        // A Retry-After past the budget ends the retries at once, the hint kept for the caller.
        let hinted = busy().with_retry_after(Some(Duration::from_secs(30)));
        let script = Script::new(vec![hinted]);
        let s = script.clone();
        let got = retry(&p, move || s.clone().call()).await;
        assert_eq!(
            got.unwrap_err().retry_after(),
            Some(Duration::from_secs(30))
        );
        assert_eq!(script.calls().len(), 1);
    }
}
