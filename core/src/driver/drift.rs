//! Drift detection: what a driver reports about the load balancers it holds, so that the full
//! sync re-applies only those whose backend no longer matches what was applied.
//!
//! A driver that can tell gives, for each load balancer, a [`Fingerprint`] of what the backend
//! realizes now (HAProxy: its configuration file, when its one process serves it; a remote
//! backend: what its tags or revisions say) and one of what the driver itself last applied. Two
//! equal fingerprints mean nothing drifted; anything else (a difference, or a side the driver
//! cannot tell) is re-applied. A driver that cannot fingerprint reports neither, and so every
//! load balancer it holds is re-applied at each full sync, as before drift detection existed.

use std::hash::{DefaultHasher, Hash, Hasher};

/// A digest of a load balancer's realization, compared only with other fingerprints made by the
/// same driver in the same process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(u64);

impl Fingerprint {
    /// The fingerprint of some bytes (a rendered configuration, a revision tag).
    pub fn of(bytes: impl AsRef<[u8]>) -> Self {
        let mut hasher = DefaultHasher::new();
        bytes.as_ref().hash(&mut hasher);
        Fingerprint(hasher.finish())
    }
}

/// One load balancer a backend holds, as the driver that created it reports it to the full sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Realized {
    /// The load balancer's id.
    pub load_balancer_id: String,
    /// What the backend realizes for it now; `None` when the driver cannot tell, or when what is
    /// there does not serve (a dead process).
    pub now: Option<Fingerprint>,
    /// What the driver last applied to it; `None` when it does not know (nothing applied by this
    /// process yet, or a driver that keeps no record).
    pub applied: Option<Fingerprint>,
}

impl Realized {
    /// A load balancer the backend holds, about which the driver can tell nothing more.
    pub fn unknown(load_balancer_id: impl Into<String>) -> Self {
        Realized {
            load_balancer_id: load_balancer_id.into(),
            now: None,
            applied: None,
        }
    }

    /// Whether the backend provably holds what was last applied: both fingerprints are known
    /// and equal.
    pub fn in_sync(&self) -> bool {
        self.now.is_some() && self.now == self.applied
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_two_equal_known_fingerprints_are_in_sync() {
        let a = Some(Fingerprint::of("a"));
        let b = Some(Fingerprint::of("b"));
        let held = |now, applied| Realized {
            load_balancer_id: "lb".into(),
            now,
            applied,
        };
        assert!(held(a, a).in_sync());
        assert!(!held(a, b).in_sync());
        assert!(!held(a, None).in_sync());
        assert!(!held(None, a).in_sync());
        assert!(!held(None, None).in_sync());
        assert!(!Realized::unknown("lb").in_sync());
    }
}
