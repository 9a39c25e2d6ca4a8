//! Token-bucket rate limiting per backend endpoint.
//!
//! Managers such as NSX-T throttle clients (NSX answers 429 past a per-client rate) and an F5
//! BIG-IP's control plane slows everyone down when it is flooded. A full sync or a burst of
//! changes must therefore not fire requests as fast as it can: each endpoint (one manager, one
//! device) gets a [`TokenBucket`] that lets `burst` requests through at once and then
//! `per_second` on average. Every driver instance that talks to the same endpoint shares its
//! bucket through [`RateLimiters`], keyed by [`endpoint_key`].
//!
//! A caller that finds the bucket empty reserves the next token and sleeps until it is due, so
//! waiters are served in the order they came; a waiter that is dropped (its call cancelled)
//! hands its reservation back. Time is Tokio's, so tests with paused time run instantly.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fulcrum_core::driver::DriverError;
use serde::Deserialize;
use tokio::time::Instant;

/// A request rate: `per_second` on average, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests per second, sustained.
    pub per_second: f64,
    /// Requests that may go at once after a quiet spell (the bucket's size).
    pub burst: u32,
}

impl RateLimit {
    /// Check that the rate is positive and finite and the burst at least one.
    pub fn validate(&self) -> Result<(), DriverError> {
        if !(self.per_second.is_finite() && self.per_second > 0.0) {
            return Err(DriverError::invalid_configuration(format!(
                "The rate limit must be a positive number of requests per second, not {}.",
                self.per_second
            )));
        }
        if self.burst == 0 {
            return Err(DriverError::invalid_configuration(
                "The rate limit's burst must be at least 1.",
            ));
        }
        Ok(())
    }
}

/// A token bucket: holds up to `burst` tokens, refilled at `per_second`; a request takes one.
#[derive(Debug)]
pub struct TokenBucket {
    limit: RateLimit,
    state: Mutex<BucketState>,
}

#[derive(Debug)]
struct BucketState {
    /// Tokens in the bucket as of `updated`; below zero when tokens are reserved by waiters.
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket for `limit`.
    pub fn new(limit: RateLimit) -> Result<Self, DriverError> {
        limit.validate()?;
        Ok(Self::full(limit))
    }

    /// A full bucket for a limit already validated.
    fn full(limit: RateLimit) -> Self {
        TokenBucket {
            limit,
            state: Mutex::new(BucketState {
                tokens: f64::from(limit.burst),
                updated: Instant::now(),
            }),
        }
    }

    /// The rate it enforces.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Take a token, waiting until one is due if the bucket is empty.
    pub async fn acquire(&self) {
        let wait = self.reserve();
        if wait.is_zero() {
            return;
        }
        let mut reservation = Reservation {
            bucket: self,
            kept: false,
        };
        tokio::time::sleep(wait).await;
        reservation.kept = true;
    }

    /// Take a token if one is there now.
    pub fn try_acquire(&self) -> bool {
        let mut state = self.refilled();
        if state.tokens >= 1.0 {
            state.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Take the next token, due now or later; returns how long until it is due.
    fn reserve(&self) -> Duration {
        let mut state = self.refilled();
        state.tokens -= 1.0;
        if state.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-state.tokens / self.limit.per_second)
        }
    }

    /// The state, with the tokens earned since it was last updated added (up to `burst`).
    fn refilled(&self) -> std::sync::MutexGuard<'_, BucketState> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let earned = now.duration_since(state.updated).as_secs_f64() * self.limit.per_second;
        state.tokens = (state.tokens + earned).min(f64::from(self.limit.burst));
        state.updated = now;
        state
    }
}

/// A token reserved by a waiter; returned to the bucket if the waiter is dropped early.
struct Reservation<'a> {
    bucket: &'a TokenBucket,
    kept: bool,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.kept {
            let mut state = self.bucket.refilled();
            state.tokens = (state.tokens + 1.0).min(f64::from(self.bucket.limit.burst));
        }
    }
}

/// One [`TokenBucket`] per backend endpoint, created on first use, all with the same limit.
#[derive(Debug)]
pub struct RateLimiters {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, Arc<TokenBucket>>>,
}

impl RateLimiters {
    /// A registry whose buckets enforce `limit`.
    pub fn new(limit: RateLimit) -> Result<Self, DriverError> {
        limit.validate()?;
        Ok(RateLimiters {
            limit,
            buckets: Mutex::default(),
        })
    }

    /// The bucket of an endpoint (see [`endpoint_key`]), shared by everyone who asks for it.
    pub fn bucket(&self, endpoint: &str) -> Arc<TokenBucket> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets
            .entry(endpoint.to_string())
            .or_insert_with(|| Arc::new(TokenBucket::full(self.limit)))
            .clone()
    }

    /// Take a token from an endpoint's bucket, waiting if it is empty.
    pub async fn acquire(&self, endpoint: &str) {
        self.bucket(endpoint).acquire().await;
    }
}

/// The key of the endpoint a URL is on: scheme, host and port (the scheme's default if none is
/// given), e.g. `https://nsx.example:443`.
pub fn endpoint_key(url: &reqwest::Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(per_second: f64, burst: u32) -> RateLimit {
        RateLimit { per_second, burst }
    }

    #[test]
    fn limits_must_make_sense() {
        for bad in [
            limit(0.0, 1),
            limit(-1.0, 1),
            limit(f64::NAN, 1),
            limit(1.0, 0),
        ] {
            let e = TokenBucket::new(bad).unwrap_err();
            assert_eq!(
                e.kind(),
                fulcrum_core::driver::DriverErrorKind::InvalidConfiguration
            );
        }
        let parsed: RateLimit =
            serde_json::from_value(serde_json::json!({"per_second": 2.5, "burst": 4})).unwrap();
        assert_eq!(parsed, limit(2.5, 4));
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_goes_at_once_then_the_rate_holds() {
        let bucket = TokenBucket::new(limit(10.0, 3)).unwrap();
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..7 {
            bucket.acquire().await;
            times.push(start.elapsed().as_millis());
        }
        assert_eq!(times, [0, 0, 0, 100, 200, 300, 400]);
        assert!(!bucket.try_acquire());
        tokio::time::advance(Duration::from_secs(10)).await;
        let refilled = (0..5).filter(|_| bucket.try_acquire()).count();
        assert_eq!(refilled, 3, "the bucket holds no more than its burst");
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_waiters_are_spaced() {
        let bucket = Arc::new(TokenBucket::new(limit(4.0, 1)).unwrap());
        let start = Instant::now();
        let tasks: Vec<_> = (0..5)
            .map(|_| {
                let bucket = bucket.clone();
                tokio::spawn(async move {
                    bucket.acquire().await;
                    start.elapsed().as_millis()
                })
            })
            .collect();
        let mut times = Vec::new();
        for t in tasks {
            times.push(t.await.unwrap());
        }
        times.sort_unstable();
        assert_eq!(times, [0, 250, 500, 750, 1000]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_waiter_hands_its_token_back() {
        let bucket = TokenBucket::new(limit(1.0, 1)).unwrap();
        bucket.acquire().await;
        let cancelled = tokio::time::timeout(Duration::from_millis(100), bucket.acquire()).await;
        assert!(cancelled.is_err());
        let start = Instant::now();
        bucket.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_millis(900));
    }

    #[tokio::test(start_paused = true)]
    async fn each_endpoint_has_its_own_bucket() {
        let limiters = RateLimiters::new(limit(1.0, 1)).unwrap();
        let start = Instant::now();
        limiters.acquire("https://a:443").await;
        limiters.acquire("https://b:443").await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        limiters.acquire("https://a:443").await;
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        assert!(Arc::ptr_eq(
            &limiters.bucket("https://a:443"),
            &limiters.bucket("https://a:443")
        ));
    }

    #[test]
    fn endpoint_keys_name_scheme_host_and_port() {
        let key = |u: &str| endpoint_key(&reqwest::Url::parse(u).unwrap());
        assert_eq!(
            key("https://nsx.example/policy/api"),
            "https://nsx.example:443"
        );
        assert_eq!(
            key("https://nsx.example:8443/x"),
            "https://nsx.example:8443"
        );
        assert_eq!(key("http://10.0.0.1/"), "http://10.0.0.1:80");
    }
}
