//! A process-local cache of rendered load balancers for `GET /v2/lbaas/loadbalancers/{id}`, the
//! hottest read of every client that polls for `ACTIVE`.
//!
//! Entries are tagged with the store's write epoch at the moment they were read and are served only
//! while no write has committed since (`fulcrum_store::Store::read_epoch`): any write anywhere
//! invalidates everything, which is simple and cannot serve stale data. On PostgreSQL the epoch
//! also moves when another replica's write is announced (`fulcrum_store::Store::follow_writes`),
//! and the store offers no epoch while it cannot hear those announcements, so the cache stays
//! empty then.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// Rendered views by load balancer id.
#[derive(Debug)]
pub struct ViewCache {
    entries: Mutex<HashMap<String, Entry>>,
    capacity: usize,
}

#[derive(Debug, Clone)]
struct Entry {
    epoch: u64,
    project_id: Option<String>,
    view: Arc<Value>,
}

impl ViewCache {
    /// A cache of at most `capacity` entries (it is emptied when full).
    pub fn new(capacity: usize) -> Self {
        ViewCache {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The view of `id` and its project, if it was read at `epoch`.
    pub fn get(&self, id: &str, epoch: u64) -> Option<(Option<String>, Arc<Value>)> {
        self.lock()
            .get(id)
            .filter(|e| e.epoch == epoch)
            .map(|e| (e.project_id.clone(), e.view.clone()))
    }

    /// Remember the view of `id` as read at `epoch`.
    pub fn put(&self, id: &str, epoch: u64, project_id: Option<String>, view: Arc<Value>) {
        let mut entries = self.lock();
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(
            id.to_string(),
            Entry {
                epoch,
                project_id,
                view,
            },
        );
    }
}

impl Default for ViewCache {
    fn default() -> Self {
        ViewCache::new(10_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_with_the_epoch() {
        let cache = ViewCache::new(2);
        cache.put("a", 1, None, Arc::new(Value::from(1)));
        assert!(cache.get("a", 1).is_some());
        assert!(
            cache.get("a", 2).is_none(),
            "a write since the read invalidates"
        );
        cache.put("b", 1, None, Arc::new(Value::from(2)));
        cache.put("c", 1, None, Arc::new(Value::from(3)));
        assert!(cache.get("a", 1).is_none(), "a full cache starts over");
        assert!(cache.get("c", 1).is_some());
    }
}
