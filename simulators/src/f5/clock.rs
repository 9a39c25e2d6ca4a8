//! The simulator's clock: the real monotonic clock plus an offset a test can move forward, so
//! token expiry and install times can be tested without waiting.

use std::time::{Duration, Instant};

/// Now, as the simulated devices see it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Clock {
    offset: Duration,
}

impl Clock {
    /// The current instant, advanced by every [`Clock::advance`] so far.
    pub fn now(&self) -> Instant {
        Instant::now() + self.offset
    }

    /// Move the clock forward.
    pub fn advance(&mut self, by: Duration) {
        self.offset += by;
    }
}
