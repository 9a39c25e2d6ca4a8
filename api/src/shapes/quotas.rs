//! Shapes of `/v2/lbaas/quotas`: both the current field names and the deprecated
//! `load_balancer`/`health_monitor`.

use fulcrum_core::model::Kind;
use fulcrum_core::patch::Patch;
use fulcrum_core::wsme;
use fulcrum_store::QuotaLimits;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Rooted;
use crate::listing::Link;

/// A project's quotas as Octavia shows them: every limit under its current name and, for load
/// balancers and health monitors, under the deprecated name too. In lists, `null` means the
/// configured default.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuotaView {
    /// The project.
    pub project_id: String,
    /// Same as `project_id`.
    pub tenant_id: String,
    /// Load balancers.
    pub loadbalancer: Option<i64>,
    /// Deprecated name of `loadbalancer`.
    pub load_balancer: Option<i64>,
    /// Listeners.
    pub listener: Option<i64>,
    /// Pools.
    pub pool: Option<i64>,
    /// Health monitors.
    pub healthmonitor: Option<i64>,
    /// Deprecated name of `healthmonitor`.
    pub health_monitor: Option<i64>,
    /// Members.
    pub member: Option<i64>,
    /// L7 policies.
    pub l7policy: Option<i64>,
    /// L7 rules.
    pub l7rule: Option<i64>,
}

impl QuotaView {
    /// The view of a project's limits.
    pub fn new(project_id: &str, limits: &QuotaLimits) -> Self {
        QuotaView {
            project_id: project_id.to_string(),
            tenant_id: project_id.to_string(),
            loadbalancer: limits.load_balancer,
            load_balancer: limits.load_balancer,
            listener: limits.listener,
            pool: limits.pool,
            healthmonitor: limits.health_monitor,
            health_monitor: limits.health_monitor,
            member: limits.member,
            l7policy: limits.l7policy,
            l7rule: limits.l7rule,
        }
    }
}

/// `{"quota": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaBody {
    /// The quotas.
    pub quota: QuotaView,
}

/// `{"quotas": [...], "quotas_links": []}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaList {
    /// Projects with explicitly set quotas.
    pub quotas: Vec<QuotaView>,
    /// Paging links (always empty).
    pub quotas_links: Vec<Link>,
}

/// Body of `PUT /v2/lbaas/quotas/{project_id}`: an absent limit is kept, `null` returns it to
/// the default, -1 is unlimited.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateQuota {
    /// Load balancers.
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = -1, maximum = 2000000000, value_type = Option<i64>)]
    pub loadbalancer: Patch<i64>,
    /// Deprecated name of `loadbalancer` (which wins when both are given).
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = -1, maximum = 2000000000, value_type = Option<i64>)]
    pub load_balancer: Patch<i64>,
    /// Listeners.
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = -1, maximum = 2000000000, value_type = Option<i64>)]
    pub listener: Patch<i64>,
    /// Pools.
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = -1, maximum = 2000000000, value_type = Option<i64>)]
    pub pool: Patch<i64>,
    /// Health monitors.
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = -1, maximum = 2000000000, value_type = Option<i64>)]
    pub healthmonitor: Patch<i64>,
    /// Deprecated name of `healthmonitor` (which wins when both are given).
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = -1, maximum = 2000000000, value_type = Option<i64>)]
    pub health_monitor: Patch<i64>,
    /// Members.
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = -1, maximum = 2000000000, value_type = Option<i64>)]
    pub member: Patch<i64>,
    /// L7 policies.
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = -1, maximum = 2000000000, value_type = Option<i64>)]
    pub l7policy: Patch<i64>,
    /// L7 rules.
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = -1, maximum = 2000000000, value_type = Option<i64>)]
    pub l7rule: Patch<i64>,
}

impl Rooted for UpdateQuota {
    const ROOT: &'static str = "quota";
    const ARGUMENT: &'static str = "quotas";
}

/// A new name's patch, or the deprecated name's when the new one is absent.
fn either(current: Patch<i64>, deprecated: Patch<i64>) -> Patch<i64> {
    if current.is_present() {
        current
    } else {
        deprecated
    }
}

impl UpdateQuota {
    /// Each kind's patch under the name it was given with, aliases resolved.
    pub fn into_patches(self) -> Vec<(Kind, &'static str, Patch<i64>)> {
        let lb_name = if self.loadbalancer.is_present() || !self.load_balancer.is_present() {
            "loadbalancer"
        } else {
            "load_balancer"
        };
        let hm_name = if self.healthmonitor.is_present() || !self.health_monitor.is_present() {
            "healthmonitor"
        } else {
            "health_monitor"
        };
        vec![
            (
                Kind::LoadBalancer,
                lb_name,
                either(self.loadbalancer, self.load_balancer),
            ),
            (Kind::Listener, "listener", self.listener),
            (Kind::Pool, "pool", self.pool),
            (
                Kind::HealthMonitor,
                hm_name,
                either(self.healthmonitor, self.health_monitor),
            ),
            (Kind::Member, "member", self.member),
            (Kind::L7Policy, "l7policy", self.l7policy),
            (Kind::L7Rule, "l7rule", self.l7rule),
        ]
    }
}
