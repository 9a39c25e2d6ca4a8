//! The `management-licenses` job, a cluster duty: at each activation it
//!
//! - raises `LicenseExpiring` for each pool whose end is within its alert-ahead days (key
//!   `license-pool-expiring:<pool>`) and for each device holding one of its licenses
//!   (`license-expiring:<device>`), and clears them once the pool is renewed;
//! - reads each licensed device's license and raises `LicenseMismatch`
//!   (`license-mismatch:<device>`) when it reports another registration key than the one it was
//!   given (or, holding a seat, no valid license), cleared when they match again; a device that
//!   cannot be read is left as it was;
//! - clears `LicensePoolExhausted` of the pools with a license left;
//! - settles the licenses left `installing` for longer than an install takes ([`INSTALL_GRACE`]):
//!   a process stopped between reserving the key and hearing the device. The device is asked
//!   what it holds: the license is `active` if it holds the key, else released, the key free
//!   again ([`Licenses::settle`](super::Licenses::settle)).
//!
//! Each run recomputes every alert from what is stored and what devices answer, so running it
//! twice changes nothing more than running it once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use fulcrum_core::tasks::{BackgroundTask, Duties, Report};
use time::Date;

use super::model::{Pool, PoolKind, format_date};
use super::service::Settlement;
use super::store::Held;
use super::{Licenses, device_expiring_key, exhausted_key, mismatch_key, pool_expiring_key};
use crate::alerts::from_events::Raised;
use crate::devices::model::Device;
use crate::devices::ops::LicenseOrder;
use crate::devices::ops_for;
use crate::devices::store::DeviceQuery;
use crate::error::ManagementResult;

/// The cluster duty of watching licenses.
pub const DUTY: &str = "management-licenses";

/// How long a license may be `installing` before it is settled: an install is a login and a
/// call to the device, each cut off after 30 seconds, so a license reserved longer ago than
/// this was left by a process that stopped.
pub const INSTALL_GRACE: std::time::Duration = std::time::Duration::from_secs(600);

/// Watches the pools' ends and the licenses devices report.
pub struct LicensesTask {
    licenses: Licenses,
    duties: Arc<dyn Duties>,
}

impl LicensesTask {
    /// The job over `licenses`, when `duties` says this process runs it.
    pub fn new(licenses: Licenses, duties: Arc<dyn Duties>) -> Self {
        LicensesTask { licenses, duties }
    }

    /// Run as of the day `today`: counts of pools `expiring`, devices `mismatched`, `matched`
    /// and `unreadable`, and of licenses left installing now `settled_active`, `released` or
    /// `unsettled`.
    pub async fn run(&self, today: Date) -> ManagementResult<Report> {
        let mut report = Report::new();
        let now_ms = fulcrum_core::timestamp::now_millis();
        self.settle_installing(now_ms, &mut report).await?;
        let pools: BTreeMap<String, Pool> = self
            .licenses
            .store
            .pools()
            .await?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
        for pool in pools.values() {
            self.watch_pool(pool, today, now_ms, &mut report).await?;
        }
        let mut held: BTreeMap<String, Vec<Held>> = BTreeMap::new();
        for license in self.licenses.store.held().await? {
            held.entry(license.assignment.device_id.clone())
                .or_default()
                .push(license);
        }
        let devices = self
            .licenses
            .devices()
            .list(&DeviceQuery::default())
            .await?;
        for device in &devices {
            let licenses = held.get(&device.id).map_or(&[][..], Vec::as_slice);
            let ending: BTreeSet<&str> = licenses
                .iter()
                .filter_map(|l| pools.get(&l.assignment.pool_id))
                .filter(|p| p.expiring(today))
                .map(|p| p.name.as_str())
                .collect();
            let message = (!ending.is_empty()).then(|| {
                format!(
                    "Device {} holds a license of pool(s) {} nearing its end.",
                    device.name,
                    ending.into_iter().collect::<Vec<_>>().join(", ")
                )
            });
            self.set(&device_expiring_key(&device.name), message, now_ms)
                .await?;
            if !licenses.is_empty() {
                self.reconcile(device, licenses, &pools, now_ms, &mut report)
                    .await?;
            } else {
                self.set(&mismatch_key(&device.name), None, now_ms).await?;
            }
        }
        Ok(report)
    }

    /// Settle the licenses `installing` for longer than [`INSTALL_GRACE`] at `now_ms`.
    async fn settle_installing(&self, now_ms: i64, report: &mut Report) -> ManagementResult<()> {
        let grace_ms = i64::try_from(INSTALL_GRACE.as_millis()).unwrap_or(i64::MAX);
        let left = self
            .licenses
            .store
            .installing_before(now_ms.saturating_sub(grace_ms))
            .await?;
        for license in &left {
            let counted = match self.licenses.settle(license).await? {
                Settlement::Active => "settled_active",
                Settlement::Released => "released",
                Settlement::Unsettled => "unsettled",
            };
            *report.entry(counted).or_default() += 1;
        }
        Ok(())
    }

    async fn watch_pool(
        &self,
        pool: &Pool,
        today: Date,
        now_ms: i64,
        report: &mut Report,
    ) -> ManagementResult<()> {
        let expiring = pool.expiring(today).then(|| {
            *report.entry("expiring").or_default() += 1;
            format!(
                "License pool {} ends on {} (in {} days).",
                pool.name,
                format_date(pool.expires_on),
                (pool.expires_on - today).whole_days()
            )
        });
        self.set(&pool_expiring_key(&pool.name), expiring, now_ms)
            .await?;
        if self.licenses.store.usage(pool).await?.available > 0 {
            self.set(&exhausted_key(&pool.name), None, now_ms).await?;
        }
        Ok(())
    }

    /// Compare what `device` reports with the `licenses` it holds.
    async fn reconcile(
        &self,
        device: &Device,
        licenses: &[Held],
        pools: &BTreeMap<String, Pool>,
        now_ms: i64,
        report: &mut Report,
    ) -> ManagementResult<()> {
        let reported = match ops_for(device) {
            Ok(ops) => ops.license(&LicenseOrder::Show).await,
            Err(error) => Err(error),
        };
        let reported = match reported {
            Ok(reported) => reported,
            Err(error) => {
                tracing::warn!(device = %device.name, %error, "the device's license cannot be read");
                *report.entry("unreadable").or_default() += 1;
                return Ok(());
            }
        };
        let mut wrong = Vec::new();
        for license in licenses {
            let pool = pools
                .get(&license.assignment.pool_id)
                .map_or("?", |p| p.name.as_str());
            match (&license.key, pools.get(&license.assignment.pool_id)) {
                (Some(key), _) if reported.registration_key.as_ref() != Some(key) => {
                    wrong.push(format!(
                        "it reports {} where pool {pool} gave it {}",
                        reported
                            .registration_key
                            .as_deref()
                            .map_or_else(|| "no license".to_owned(), super::model::mask),
                        license.assignment.key.as_deref().unwrap_or("a key"),
                    ));
                }
                (None, Some(p)) if p.kind == PoolKind::Seats && reported.state != "valid" => {
                    wrong.push(format!(
                        "it reports a license {} where pool {pool} gave it a seat",
                        reported.state
                    ));
                }
                _ => {}
            }
        }
        let message = if wrong.is_empty() {
            *report.entry("matched").or_default() += 1;
            None
        } else {
            *report.entry("mismatched").or_default() += 1;
            Some(format!(
                "The license of device {} does not match: {}.",
                device.name,
                wrong.join("; ")
            ))
        };
        self.set(&mismatch_key(&device.name), message, now_ms).await
    }

    /// Raise the alert `key` with `message`, or clear it when there is none.
    async fn set(&self, key: &str, message: Option<String>, now_ms: i64) -> ManagementResult<()> {
        let alerts = self.licenses.alerts();
        match message {
            Some(message) => {
                let raised = Raised {
                    key: key.to_owned(),
                    load_balancer_id: String::new(),
                    provider: String::new(),
                    message,
                };
                alerts.raise(&raised, now_ms).await
            }
            None => alerts.clear(key, "", now_ms).await,
        }
    }
}

#[async_trait]
impl BackgroundTask for LicensesTask {
    fn name(&self) -> &'static str {
        DUTY
    }

    fn description(&self) -> &'static str {
        "raises LicenseExpiring ahead of a license pool's end and LicenseMismatch when a device \
         reports another license than the one it was given; settles licenses left installing"
    }

    async fn activate(&self) -> Result<Report, String> {
        if !self.duties.performs(DUTY).await? {
            return Ok(Report::from([("standby", 1)]));
        }
        self.run(time::OffsetDateTime::now_utc().date())
            .await
            .map_err(|e| e.to_string())
    }
}
