//! [`SingleFlight`]: callers asking for the same thing at the same time share one call.
//!
//! The first caller with a key runs the call; those that come while it runs wait for its result
//! instead of making their own. If the caller running it gives up (its request was dropped), one
//! of the waiting callers runs the call in its place. Results are not kept: once a call has
//! finished, the next caller with the key makes a new one.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

/// Calls in flight, by key.
#[derive(Debug)]
pub(crate) struct SingleFlight<K, V> {
    calls: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
}

impl<K, V> Default for SingleFlight<K, V> {
    fn default() -> Self {
        SingleFlight {
            calls: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash + Clone, V: Clone> SingleFlight<K, V> {
    /// The result of `call` for `key`, or of the call for `key` already in flight.
    pub(crate) async fn run<F: Future<Output = V>>(&self, key: K, call: impl FnOnce() -> F) -> V {
        let cell = self
            .calls()
            .entry(key.clone())
            .or_insert_with(|| Arc::new(OnceCell::new()))
            .clone();
        let value = cell.get_or_init(call).await.clone();
        let mut calls = self.calls();
        if calls
            .get(&key)
            .is_some_and(|current| Arc::ptr_eq(current, &cell))
        {
            calls.remove(&key);
        }
        value
    }

    /// Calls in flight now.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> usize {
        self.calls().len()
    }

    fn calls(&self) -> std::sync::MutexGuard<'_, HashMap<K, Arc<OnceCell<V>>>> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn concurrent_callers_share_one_call_and_later_ones_make_their_own() {
        let flights = SingleFlight::<u8, usize>::default();
        let calls = AtomicUsize::new(0);
        let call = |key| {
            flights.run(key, || async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                calls.fetch_add(1, Ordering::SeqCst) + 1
            })
        };
        // Polled together: every caller is waiting before the first call ends.
        let (a, b, c, other) = tokio::join!(call(1), call(1), call(1), call(2));
        assert_eq!((a, a), (b, c), "callers with one key share one result");
        assert_ne!(a, other);
        assert_eq!(calls.load(Ordering::SeqCst), 2, "one call per key");
        assert_eq!(flights.in_flight(), 0);
        assert_eq!(call(1).await, 3, "a later caller makes a new call");
    }

    #[tokio::test]
    async fn a_waiting_caller_takes_over_from_one_that_gave_up() {
        let flights = Arc::new(SingleFlight::<u8, &str>::default());
        let first = {
            let flights = flights.clone();
            tokio::spawn(async move { flights.run(1, std::future::pending::<&str>).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let second = {
            let flights = flights.clone();
            tokio::spawn(async move { flights.run(1, || async { "second" }).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        first.abort();
        assert_eq!(second.await.unwrap(), "second");
        assert_eq!(flights.in_flight(), 0);
    }
}
