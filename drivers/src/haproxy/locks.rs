//! One lock per load balancer, so that what the driver does to one load balancer's HAProxy (a
//! start, a reload, the observer's repair, its removal) never overlaps: two callers that each
//! find no process running would otherwise each start a master.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// The locks of the load balancers that have one.
#[derive(Debug, Default)]
pub struct LoadBalancerLocks {
    locks: Mutex<HashMap<String, Arc<AsyncMutex<()>>>>,
}

impl LoadBalancerLocks {
    /// Wait for, then hold, the lock of load balancer `id` until the guard is dropped.
    pub async fn lock(&self, id: &str) -> OwnedMutexGuard<()> {
        let lock = Arc::clone(self.map().entry(id.to_string()).or_default());
        lock.lock_owned().await
    }

    /// Drop the lock of a removed load balancer, unless someone holds or waits for it.
    pub fn forget(&self, id: &str) {
        let mut locks = self.map();
        if locks.get(id).is_some_and(|l| Arc::strong_count(l) == 1) {
            locks.remove(id);
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<AsyncMutex<()>>>> {
        self.locks.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn one_holder_per_load_balancer() {
        let locks = LoadBalancerLocks::default();
        let held = locks.lock("a").await;
        let other = tokio::time::timeout(Duration::from_millis(20), locks.lock("b")).await;
        assert!(other.is_ok(), "another load balancer's lock is free");
        let same = tokio::time::timeout(Duration::from_millis(20), locks.lock("a")).await;
        assert!(same.is_err(), "the same load balancer's lock waits");
        locks.forget("a");
        assert_eq!(locks.map().len(), 2, "a held lock is kept");
        drop(held);
        locks.forget("a");
        assert_eq!(locks.map().len(), 1);
        let _again = locks.lock("a").await;
    }
}
