//! The process's open-file limit, raised at start so that `server.max_connections` fits under it.
//!
//! Many systems start services with a soft limit of 1024 and a far higher hard one. Fulcrum raises
//! the soft limit to the hard one, then keeps the API's connections [`RESERVED`] descriptors below
//! it, so that a flood of clients can never starve the database pool, the drivers or HAProxy's
//! sockets of descriptors.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Descriptors kept for everything but the API's connections.
pub const RESERVED: u64 = 256;

/// The fewest connections served, however low the limit.
const FEWEST_CONNECTIONS: usize = 16;

/// Raise the soft open-file limit to the hard one; the soft limit in force after (`None`:
/// unlimited).
pub fn raise_soft_limit() -> Option<u64> {
    let limit = getrlimit(Resource::Nofile);
    let current = limit.current?;
    // An unlimited hard limit is left alone: the kernel caps open files below it anyway.
    let Some(maximum) = limit.maximum.filter(|&maximum| maximum > current) else {
        return Some(current);
    };
    let raised = Rlimit {
        current: Some(maximum),
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => {
            tracing::info!(from = current, to = maximum, "raised the open-file limit");
            Some(maximum)
        }
        Err(error) => {
            tracing::warn!(%error, current, maximum, "could not raise the open-file limit");
            Some(current)
        }
    }
}

/// The connections to serve: `configured`, or as many as fit under the soft open-file limit
/// `soft` with [`RESERVED`] descriptors to spare (with a warning).
pub fn connections_within(configured: usize, soft: Option<u64>) -> usize {
    let Some(soft) = soft else {
        return configured;
    };
    let fit = usize::try_from(soft.saturating_sub(RESERVED))
        .unwrap_or(usize::MAX)
        .max(FEWEST_CONNECTIONS);
    if configured <= fit {
        return configured;
    }
    tracing::warn!(
        configured,
        serving = fit,
        open_file_limit = soft,
        "server.max_connections does not fit under the open-file limit; serving fewer"
    );
    fit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_stay_below_the_open_file_limit() {
        assert_eq!(connections_within(4096, None), 4096);
        assert_eq!(connections_within(4096, Some(1_048_576)), 4096);
        assert_eq!(connections_within(4096, Some(1024)), 768);
        assert_eq!(connections_within(4096, Some(100)), FEWEST_CONNECTIONS);
        assert_eq!(connections_within(10, Some(100)), 10);
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let soft = raise_soft_limit();
        let limit = getrlimit(Resource::Nofile);
        assert_eq!(soft, limit.current);
        assert!(
            limit.current.is_none() || limit.maximum.is_none() || limit.current == limit.maximum
        );
    }
}
