//! [`DeviceAvailability`]: whether a device may take new work, as management's inventory says.
//!
//! This is the one question orchestration asks management. A driver that chooses among devices
//! for a new load balancer asks it of each candidate and skips the ones that say no (in
//! maintenance, draining, unreachable). Without management every device may take work
//! ([`EveryDevice`]), and a device management does not know may too: the inventory can only hold
//! devices back, never make placement fail for lack of an entry.

use async_trait::async_trait;

/// Says whether a device may take new load balancers.
#[async_trait]
pub trait DeviceAvailability: Send + Sync + 'static {
    /// Whether `device` (as `provider` names it) may take a new load balancer now. An answer that
    /// cannot be had (the database is down) is `true`: placement goes on as without management.
    async fn may_place(&self, provider: &str, device: &str) -> bool;
}

/// The answer without management: every device may take work.
#[derive(Debug, Clone, Copy, Default)]
pub struct EveryDevice;

#[async_trait]
impl DeviceAvailability for EveryDevice {
    async fn may_place(&self, _provider: &str, _device: &str) -> bool {
        true
    }
}

/// Of `candidates` (device names of `provider`), the ones that may take a new load balancer, in
/// their order.
pub async fn placeable<'a>(
    availability: &dyn DeviceAvailability,
    provider: &str,
    candidates: &'a [String],
) -> Vec<&'a String> {
    let mut open = Vec::with_capacity(candidates.len());
    for candidate in candidates {
        if availability.may_place(provider, candidate).await {
            open.push(candidate);
        }
    }
    open
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Says no for the devices it names.
    struct Closed(&'static [&'static str]);

    #[async_trait]
    impl DeviceAvailability for Closed {
        async fn may_place(&self, _provider: &str, device: &str) -> bool {
            !self.0.contains(&device)
        }
    }

    #[tokio::test]
    async fn placement_skips_the_devices_that_may_not_take_work() {
        let candidates: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let open = placeable(&Closed(&["b"]), "f5", &candidates).await;
        assert_eq!(open, [&candidates[0], &candidates[2]]);
        let all = placeable(&EveryDevice, "f5", &candidates).await;
        assert_eq!(all.len(), 3);
    }
}
