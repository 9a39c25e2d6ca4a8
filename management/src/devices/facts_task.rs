//! Reading devices' facts: [`refresh`] one device now (the API's `refresh`), and [`FactsTask`],
//! which refreshes every operable device on a schedule.
//!
//! A device that fails its reading `unreachable_after` times in a row becomes `unreachable`,
//! remembering the state it was in; the first reading it answers puts it back in that state.
//! Nothing else is raised for an unreachable device yet.

use std::sync::Arc;

use async_trait::async_trait;
use fulcrum_core::tasks::{BackgroundTask, Duties, Report};

use super::model::{Device, MaintenanceState};
use super::ops::OpsError;
use super::ops_for;
use super::store::{DeviceQuery, DeviceStore};
use crate::error::ManagementResult;

/// The cluster duty of reading facts: one replica reads them.
pub const DUTY: &str = "management-device-facts";

/// How a reading ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// The device answered.
    Answered,
    /// The device failed; the text says how.
    Failed(String),
    /// Fulcrum cannot operate this device (its kind, what it was registered with, or a password
    /// that does not open); the error says why.
    NotOperable(OpsError),
}

/// Read `device`'s facts now and record the outcome: its facts, or one more failure (and
/// `unreachable` at `unreachable_after` failures in a row).
pub async fn refresh(
    store: &DeviceStore,
    device: &Device,
    unreachable_after: i64,
) -> ManagementResult<Reading> {
    let ops = match ops_for(device) {
        Ok(ops) => ops,
        Err(error) => return Ok(Reading::NotOperable(error)),
    };
    match ops.facts().await {
        Ok(facts) => {
            store.record_facts(&device.id, &facts).await?;
            if device.state == MaintenanceState::Unreachable {
                let back = device.resume_state.unwrap_or(MaintenanceState::Ready);
                store.set_state(&device.id, back, None).await?;
                tracing::info!(device = %device.name, state = back.as_str(), "device answers again");
            }
            Ok(Reading::Answered)
        }
        Err(error) => {
            let text = error.to_string();
            let failures = store.record_failure(&device.id, &text).await?;
            if failures >= unreachable_after.max(1) && device.state != MaintenanceState::Unreachable
            {
                store
                    .set_state(
                        &device.id,
                        MaintenanceState::Unreachable,
                        Some(device.state),
                    )
                    .await?;
                tracing::warn!(device = %device.name, failures, error = %text, "device unreachable");
            }
            Ok(Reading::Failed(text))
        }
    }
}

/// Refreshes every device's facts on a schedule.
pub struct FactsTask {
    store: DeviceStore,
    unreachable_after: i64,
    duties: Arc<dyn Duties>,
}

impl FactsTask {
    /// A task over `store`'s devices, when `duties` says this process reads facts.
    pub fn new(store: DeviceStore, unreachable_after: i64, duties: Arc<dyn Duties>) -> Self {
        FactsTask {
            store,
            unreachable_after,
            duties,
        }
    }
}

#[async_trait]
impl BackgroundTask for FactsTask {
    fn name(&self) -> &'static str {
        "management-device-facts"
    }

    fn description(&self) -> &'static str {
        "reads each device's facts (version, hotfixes, HA role, health, license) and marks \
         devices that stop answering unreachable"
    }

    async fn activate(&self) -> Result<Report, String> {
        let mut report = Report::new();
        if !self.duties.performs(DUTY).await? {
            report.insert("standby", 1);
            return Ok(report);
        }
        let devices = self
            .store
            .list(&DeviceQuery::default())
            .await
            .map_err(|e| e.to_string())?;
        for device in devices {
            let reading = refresh(&self.store, &device, self.unreachable_after)
                .await
                .map_err(|e| e.to_string())?;
            let counter = match reading {
                Reading::Answered => "answered",
                Reading::Failed(_) => "failed",
                Reading::NotOperable(OpsError::Credentials(why)) => {
                    tracing::warn!(device = %device.name, error = %why, "device not read");
                    "credentials"
                }
                Reading::NotOperable(_) => "skipped",
            };
            *report.entry(counter).or_default() += 1;
        }
        Ok(report)
    }
}
