//! The deadline of one connection, by what it is waiting for.
//!
//! A connection is always in one of three phases. It starts waiting for a request's head, which
//! must arrive within the header-read timeout. While requests are being answered it has no
//! deadline of its own (the body-read timeout governs a request's body, see
//! [`tracked`](super::tracked)). Once the last answer is handed to hyper it is idle: the client
//! has the idle timeout to begin its next request, and from that request's first byte the
//! header-read timeout again. An answer the client does not read counts against the idle
//! timeout too, so no phase can last forever.

use std::sync::Mutex;
use std::task::Waker;
use std::time::Duration;

use tokio::time::Instant;

/// How long a connection may wait in each phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From the connection's start, or from the first byte of a later request, until the
    /// request's head is complete.
    pub header_read: Duration,
    /// From the end of an answer until the first byte of the next request.
    pub idle: Duration,
    /// From a request's head until its body is complete.
    pub body_read: Duration,
}

/// What a connection is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The head of a request, due by the instant.
    Head(Instant),
    /// Answers to this many requests.
    Busy(usize),
    /// The next request, due by the instant.
    Idle(Instant),
}

/// Which timeout closed a connection (the label of the timeout metric).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expired {
    /// A request's head was not complete in time.
    Head,
    /// No request began in time.
    Idle,
}

impl Expired {
    /// The metric label.
    pub(super) fn label(self) -> &'static str {
        match self {
            Expired::Head => "header_read",
            Expired::Idle => "idle",
        }
    }
}

/// The phase of one connection, shared by its stream (which sees bytes arrive) and its service
/// (which sees requests begin and answers end).
#[derive(Debug)]
pub(super) struct Clock {
    timeouts: Timeouts,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    phase: Phase,
    /// The connection's task, woken when the connection becomes idle: hyper may not read again
    /// until a byte arrives, and the idle deadline has to be armed.
    waker: Option<Waker>,
}

impl Clock {
    /// A new connection, waiting for its first request's head.
    pub(super) fn new(timeouts: Timeouts) -> Clock {
        Clock {
            timeouts,
            state: Mutex::new(State {
                phase: Phase::Head(Instant::now() + timeouts.header_read),
                waker: None,
            }),
        }
    }

    /// The timeouts this clock applies.
    pub(super) fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Bytes arrived: an idle connection now waits for the rest of a request's head.
    pub(super) fn bytes_read(&self) {
        let mut state = self.state();
        if let Phase::Idle(_) = state.phase {
            state.phase = Phase::Head(Instant::now() + self.timeouts.header_read);
        }
    }

    /// A request's head is complete and the request is being answered.
    pub(super) fn request_began(&self) {
        let mut state = self.state();
        state.phase = match state.phase {
            Phase::Busy(n) => Phase::Busy(n + 1),
            Phase::Head(_) | Phase::Idle(_) => Phase::Busy(1),
        };
    }

    /// A request's answer has been handed over (or abandoned).
    pub(super) fn request_ended(&self) {
        let mut state = self.state();
        state.phase = match state.phase {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Idle(Instant::now() + self.timeouts.idle),
        };
        if let Phase::Idle(_) = state.phase
            && let Some(waker) = state.waker.take()
        {
            waker.wake();
        }
    }

    /// The current deadline and what expires with it (none while requests are answered);
    /// `waker` is woken when a new deadline begins.
    pub(super) fn deadline(&self, waker: &Waker) -> Option<(Instant, Expired)> {
        let mut state = self.state();
        match &state.waker {
            Some(known) if known.will_wake(waker) => {}
            _ => state.waker = Some(waker.clone()),
        }
        match state.phase {
            Phase::Head(until) => Some((until, Expired::Head)),
            Phase::Idle(until) => Some((until, Expired::Idle)),
            Phase::Busy(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUTS: Timeouts = Timeouts {
        header_read: Duration::from_secs(10),
        idle: Duration::from_secs(60),
        body_read: Duration::from_secs(30),
    };

    fn phase(clock: &Clock) -> Option<Expired> {
        clock.deadline(Waker::noop()).map(|(_, expired)| expired)
    }

    /// The deadline `clock` reports, checked to be `after` from some instant of `during`.
    fn due_after(clock: &Clock, during: impl FnOnce(), after: u64) -> Option<Expired> {
        let before = Instant::now();
        during();
        let (until, expired) = clock.deadline(Waker::noop())?;
        let after = Duration::from_secs(after);
        assert!(before + after <= until && until <= Instant::now() + after);
        Some(expired)
    }

    #[test]
    fn phases_follow_requests_and_bytes() {
        let before = Instant::now();
        let clock = Clock::new(TIMEOUTS);
        let (until, expired) = clock.deadline(Waker::noop()).unwrap();
        assert_eq!(expired, Expired::Head);
        assert!(before + TIMEOUTS.header_read <= until);
        assert!(until <= Instant::now() + TIMEOUTS.header_read);
        clock.request_began();
        assert_eq!(phase(&clock), None);
        clock.request_began();
        clock.request_ended();
        assert_eq!(phase(&clock), None, "one request is still being answered");
        assert_eq!(
            due_after(&clock, || clock.request_ended(), 60),
            Some(Expired::Idle)
        );
        assert_eq!(
            due_after(&clock, || clock.bytes_read(), 10),
            Some(Expired::Head)
        );
        let (head_due, _) = clock.deadline(Waker::noop()).unwrap();
        clock.bytes_read();
        assert_eq!(
            clock.deadline(Waker::noop()),
            Some((head_due, Expired::Head)),
            "more bytes of a head do not extend its deadline"
        );
    }

    #[test]
    fn the_task_is_woken_when_the_connection_becomes_idle() {
        let clock = Clock::new(TIMEOUTS);
        let woken = std::sync::Arc::new(Woken::default());
        let waker = Waker::from(woken.clone());
        clock.request_began();
        assert_eq!(clock.deadline(&waker), None);
        clock.request_ended();
        assert!(woken.0.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[derive(Default)]
    struct Woken(std::sync::atomic::AtomicBool);

    impl std::task::Wake for Woken {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}
