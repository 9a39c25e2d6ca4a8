//! What the service takes from Fulcrum's configuration: Octavia's API defaults (`[api]`) and
//! the default quotas (`[quotas]`).

use fulcrum_core::model::Kind;
use fulcrum_store::QuotaLimits;
use serde::Deserialize;

/// Defaults Octavia takes from its configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiDefaults {
    /// Listener client inactivity timeout, ms.
    pub timeout_client_data: i64,
    /// Listener member connect timeout, ms.
    pub timeout_member_connect: i64,
    /// Listener member inactivity timeout, ms.
    pub timeout_member_data: i64,
    /// Listener content inspection timeout, ms.
    pub timeout_tcp_inspect: i64,
    /// Largest page a list returns; also the default page size.
    pub pagination_max_limit: u64,
}

impl Default for ApiDefaults {
    fn default() -> Self {
        ApiDefaults {
            timeout_client_data: 50_000,
            timeout_member_connect: 5_000,
            timeout_member_data: 50_000,
            timeout_tcp_inspect: 0,
            pagination_max_limit: 1000,
        }
    }
}

/// A limit meaning "no limit".
pub const UNLIMITED: i64 = -1;
/// The largest limit Octavia accepts.
pub const MAX_QUOTA: i64 = 2_000_000_000;

/// The `[quotas]` configuration section: each project's limits unless set explicitly, as
/// Octavia's `[quotas]` options (-1 is unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaDefaults {
    /// Load balancers per project.
    pub default_load_balancer_quota: i64,
    /// Listeners per project.
    pub default_listener_quota: i64,
    /// Pools per project.
    pub default_pool_quota: i64,
    /// Health monitors per project.
    pub default_health_monitor_quota: i64,
    /// Members per project.
    pub default_member_quota: i64,
    /// L7 policies per project.
    pub default_l7policy_quota: i64,
    /// L7 rules per project.
    pub default_l7rule_quota: i64,
}

impl Default for QuotaDefaults {
    fn default() -> Self {
        QuotaDefaults {
            default_load_balancer_quota: UNLIMITED,
            default_listener_quota: UNLIMITED,
            default_pool_quota: UNLIMITED,
            default_health_monitor_quota: UNLIMITED,
            default_member_quota: UNLIMITED,
            default_l7policy_quota: UNLIMITED,
            default_l7rule_quota: UNLIMITED,
        }
    }
}

impl QuotaDefaults {
    /// The default limit of one kind.
    pub fn of(&self, kind: Kind) -> i64 {
        match kind {
            Kind::LoadBalancer => self.default_load_balancer_quota,
            Kind::Listener => self.default_listener_quota,
            Kind::Pool => self.default_pool_quota,
            Kind::HealthMonitor => self.default_health_monitor_quota,
            Kind::Member => self.default_member_quota,
            Kind::L7Policy => self.default_l7policy_quota,
            Kind::L7Rule => self.default_l7rule_quota,
        }
    }

    /// Every default as an explicit limit.
    pub fn limits(&self) -> QuotaLimits {
        let mut limits = QuotaLimits::default();
        for kind in Kind::ALL {
            *limits.slot(kind) = Some(self.of(kind));
        }
        limits
    }

    /// Check that every default is a valid quota (-1 or more, at most 2,000,000,000).
    pub fn validate(&self) -> Result<(), String> {
        match Kind::ALL
            .into_iter()
            .find(|k| !(UNLIMITED..=MAX_QUOTA).contains(&self.of(*k)))
        {
            Some(kind) => Err(format!(
                "quotas: the default {kind} quota {} is not between -1 and {MAX_QUOTA}",
                self.of(kind)
            )),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_validated() {
        assert!(QuotaDefaults::default().validate().is_ok());
        let bad = QuotaDefaults {
            default_pool_quota: -5,
            ..QuotaDefaults::default()
        };
        assert!(bad.validate().unwrap_err().contains("Pool"));
    }
}
