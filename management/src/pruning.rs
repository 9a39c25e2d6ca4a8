//! Pruning: resolved alerts, finished notifications, expired silences and handled day-2 requests
//! are history that would otherwise grow without bound. [`prune`] deletes what is older than its
//! keep setting (`[management.alerts] keep_resolved_days`, `[management.devices]
//! keep_requests_days`) at a moment it is given; [`PruningTask`] runs it every hour, as a cluster
//! duty.
//!
//! What is still owed is never pruned: a notification not yet delivered nor given up, and a
//! resolved alert that a receiver still knows as firing (it is yet to be told it resolved).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use fulcrum_core::tasks::{BackgroundTask, Duties, Report};
use fulcrum_core::timestamp::now_millis;

use crate::ManagementConfig;
use crate::alerts::store::AlertStore;
use crate::devices::store::DeviceStore;
use crate::error::ManagementResult;

/// The cluster duty of pruning: one replica prunes.
pub const DUTY: &str = "management-pruning";

/// How often the history is pruned.
pub const INTERVAL: Duration = Duration::from_secs(3600);

const DAY_MS: i64 = 86_400_000;

/// How long history is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Days resolved alerts and finished notifications are kept.
    pub keep_resolved_days: u64,
    /// Days handled day-2 requests are remembered.
    pub keep_requests_days: u64,
}

impl Retention {
    /// The keep settings of `config`.
    pub fn of(config: &ManagementConfig) -> Self {
        Retention {
            keep_resolved_days: config.alerts.keep_resolved_days,
            keep_requests_days: config.devices.keep_requests_days,
        }
    }
}

/// What one pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Resolved alerts.
    pub alerts: u64,
    /// Delivered or given-up notifications.
    pub notifications: u64,
    /// Silences expired.
    pub silences: u64,
    /// Handled day-2 requests.
    pub requests: u64,
}

/// The moment `days` before `now_ms`.
fn days_before(now_ms: i64, days: u64) -> i64 {
    let span = i64::try_from(days)
        .unwrap_or(i64::MAX)
        .saturating_mul(DAY_MS);
    now_ms.saturating_sub(span)
}

/// Delete, as of `now_ms`, the alerts resolved, the notifications finished and the silences
/// expired more than `keep_resolved_days` ago, and the day-2 requests handled more than `keep_requests_days` ago.
pub async fn prune(
    alerts: &AlertStore,
    devices: &DeviceStore,
    retention: Retention,
    now_ms: i64,
) -> ManagementResult<Pruned> {
    let resolved_before = days_before(now_ms, retention.keep_resolved_days);
    Ok(Pruned {
        alerts: alerts.prune_resolved(resolved_before).await?,
        notifications: alerts.prune_notifications(resolved_before).await?,
        silences: alerts.prune_expired_silences(resolved_before).await?,
        requests: devices
            .prune_requests(days_before(now_ms, retention.keep_requests_days))
            .await?,
    })
}

/// Prunes management's history every [`INTERVAL`].
pub struct PruningTask {
    alerts: AlertStore,
    devices: DeviceStore,
    retention: Retention,
    duties: Arc<dyn Duties>,
}

impl PruningTask {
    /// A task over these tables, keeping history for `retention`, when `duties` says this
    /// process prunes.
    pub fn new(
        alerts: AlertStore,
        devices: DeviceStore,
        retention: Retention,
        duties: Arc<dyn Duties>,
    ) -> Self {
        PruningTask {
            alerts,
            devices,
            retention,
            duties,
        }
    }
}

#[async_trait]
impl BackgroundTask for PruningTask {
    fn name(&self) -> &'static str {
        "management-pruning"
    }

    fn description(&self) -> &'static str {
        "deletes resolved alerts, finished notifications, expired silences and handled day-2 \
         requests older than their keep settings"
    }

    async fn activate(&self) -> Result<Report, String> {
        let mut report = Report::new();
        if !self.duties.performs(DUTY).await? {
            report.insert("standby", 1);
            return Ok(report);
        }
        let pruned = prune(&self.alerts, &self.devices, self.retention, now_millis())
            .await
            .map_err(|e| e.to_string())?;
        if pruned != Pruned::default() {
            tracing::info!(
                alerts = pruned.alerts,
                notifications = pruned.notifications,
                silences = pruned.silences,
                requests = pruned.requests,
                "pruned management history"
            );
        }
        report.insert("alerts", pruned.alerts);
        report.insert("notifications", pruned.notifications);
        report.insert("silences", pruned.silences);
        report.insert("requests", pruned.requests);
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_count_back_from_now_without_overflowing() {
        assert_eq!(days_before(10 * DAY_MS, 7), 3 * DAY_MS);
        assert_eq!(days_before(DAY_MS, 0), DAY_MS);
        assert_eq!(days_before(0, u64::MAX), -i64::MAX);
    }
}
