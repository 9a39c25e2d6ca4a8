//! The manager's request rate: one token bucket for the whole process, as NSX throttles
//! clients. A request that finds no token is answered 429 at once; it is not queued.

use std::time::Instant;

/// A token bucket holding up to one second's worth of requests.
#[derive(Debug)]
pub struct TokenBucket {
    per_second: f64,
    tokens: f64,
    refilled: Instant,
}

impl TokenBucket {
    /// A full bucket for `per_second` requests a second; 0 lets everything through.
    pub fn new(per_second: f64) -> Self {
        Self {
            per_second,
            tokens: per_second,
            refilled: Instant::now(),
        }
    }

    /// The rate, requests per second (0: unlimited).
    pub fn per_second(&self) -> f64 {
        self.per_second
    }

    /// Take a token if there is one.
    pub fn try_take(&mut self) -> bool {
        self.try_take_at(Instant::now())
    }

    fn try_take_at(&mut self, now: Instant) -> bool {
        if self.per_second <= 0.0 {
            return true;
        }
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.per_second.max(1.0));
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_past_the_rate_is_refused_and_refilled_over_time() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10.0);
        bucket.refilled = start;
        let passed = (0..15).filter(|_| bucket.try_take_at(start)).count();
        assert_eq!(passed, 10);
        assert!(!bucket.try_take_at(start + Duration::from_millis(50)));
        assert!(bucket.try_take_at(start + Duration::from_millis(150)));
    }

    #[test]
    fn zero_means_unlimited() {
        let mut bucket = TokenBucket::new(0.0);
        assert!((0..1000).all(|_| bucket.try_take()));
    }
}
