//! Running campaigns: [`Executor::drive`] moves every unfinished campaign on from what its
//! tables say and what its devices say now, and [`CampaignsTask`] calls it on a schedule and
//! whenever the API changes a campaign.
//!
//! Each activation, for each campaign: the devices under way are looked at and moved on (a step
//! issued, completed, or failed past its timeout), at most `max_parallel` at once; a failure
//! pauses the campaign and raises a `CampaignStepFailed` alert; then, if the campaign runs and
//! its window is open, [`schedule::next`] says which devices start. A device that starts is put
//! in `maintenance`, so placement skips it, and returns to its earlier state when done.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use fulcrum_core::tasks::{BackgroundTask, Duties, Report};

use super::model::{Campaign, CampaignDevice, CampaignState, Gate, Phase};
use super::schedule::{self, Member, Pace, Progress};
use super::steps::{self, Next, Observed, Position, Step, Volume};
use super::store::CampaignStore;
use super::window;
use crate::alerts::Alerts;
use crate::alerts::from_events::Raised;
use crate::audit::{Audit, Outcome};
use crate::backups::Backups;
use crate::devices::model::{Connection, Device, MaintenanceState};
use crate::devices::ops::{DeviceOps, OpsError, Software, SoftwareStatus};
use crate::devices::ops_for;
use crate::devices::store::DeviceStore;
use crate::error::{ManagementError, ManagementResult};

/// The cluster duty of running campaigns: one replica runs them.
pub const DUTY: &str = "management-campaigns";

/// How many times one device is looked at in one activation (a step issued, then completed at
/// once, then the next issued...).
const LOOKS_PER_ACTIVATION: usize = 6;

/// A device's operations, with the connection they were made for.
type CachedOps = (Connection, Arc<dyn DeviceOps>);

/// Runs campaigns.
pub struct Executor {
    campaigns: CampaignStore,
    devices: DeviceStore,
    backups: Backups,
    alerts: Alerts,
    audit: Audit,
    ops: Mutex<HashMap<String, CachedOps>>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor").finish_non_exhaustive()
    }
}

/// What one activation did to one campaign.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drove {
    /// Devices started.
    pub started: u64,
    /// Steps issued to devices.
    pub issued: u64,
    /// Devices done.
    pub done: u64,
    /// Devices failed.
    pub failed: u64,
}

impl Drove {
    fn add(&mut self, other: Drove) {
        self.started += other.started;
        self.issued += other.issued;
        self.done += other.done;
        self.failed += other.failed;
    }
}

fn now_ms() -> i64 {
    fulcrum_core::timestamp::now_millis()
}

impl Executor {
    /// An executor over the module's stores.
    pub fn new(
        campaigns: CampaignStore,
        devices: DeviceStore,
        backups: Backups,
        alerts: Alerts,
        audit: Audit,
    ) -> Self {
        Executor {
            campaigns,
            devices,
            backups,
            alerts,
            audit,
            ops: Mutex::new(HashMap::new()),
        }
    }

    /// The operations on `device`, kept between activations while its connection is unchanged.
    fn ops(&self, device: &Device) -> Result<Arc<dyn DeviceOps>, OpsError> {
        let mut cache = self.ops.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((connection, ops)) = cache.get(&device.id)
            && *connection == device.connection
        {
            return Ok(Arc::clone(ops));
        }
        let ops: Arc<dyn DeviceOps> = Arc::from(ops_for(device)?);
        cache.insert(
            device.id.clone(),
            (device.connection.clone(), Arc::clone(&ops)),
        );
        Ok(ops)
    }

    /// Move every unfinished campaign on.
    pub async fn drive_all(self: &Arc<Self>) -> ManagementResult<Drove> {
        let mut total = Drove::default();
        for campaign in self.campaigns.unfinished().await? {
            total.add(self.drive(&campaign).await?);
        }
        Ok(total)
    }

    /// Move one campaign on.
    pub async fn drive(self: &Arc<Self>, campaign: &Campaign) -> ManagementResult<Drove> {
        let mut drove = Drove::default();
        let members_down = self.members_down(campaign).await?;
        let mut state = campaign.state;
        // Devices started in this activation are moved on at once; at most a few rounds.
        for _ in 0..3 {
            let rows = self.campaigns.devices(&campaign.id).await?;
            let phase = current_phase(state, &rows);
            let under_way: Vec<CampaignDevice> = rows
                .iter()
                .filter(|d| d.progress == Progress::InProgress)
                .cloned()
                .collect();
            let round = self
                .advance_all(campaign, under_way, Arc::clone(&members_down))
                .await?;
            drove.add(round);
            if round.failed > 0 && state.starts_devices() {
                let rows = self.campaigns.devices(&campaign.id).await?;
                let reason = pause_reason(&rows);
                self.campaigns
                    .set_state(&campaign.id, CampaignState::Paused, Some(&reason))
                    .await?;
                self.raise_failure(campaign, &reason).await;
                self.audit
                    .record(
                        None,
                        "campaign.pause",
                        Some(&campaign.id),
                        Outcome::Failure,
                        Some(&reason),
                    )
                    .await;
                state = CampaignState::Paused;
            }
            if !state.starts_devices() || !window::open(&campaign.policy.windows, now()) {
                break;
            }
            let rows = self.campaigns.devices(&campaign.id).await?;
            let members: Vec<Member> = rows
                .iter()
                .filter(|d| d.phase == phase)
                .map(|d| Member {
                    device: d.device_id.clone(),
                    peer: d.peer_id.clone(),
                    role: d.role,
                    progress: d.progress,
                })
                .collect();
            let pace = Pace {
                max_parallel: campaign.policy.max_parallel,
                canary: if phase == Phase::Forward {
                    campaign.policy.canary
                } else {
                    0
                },
            };
            let starting = schedule::next(&members, pace);
            if starting.is_empty() {
                break;
            }
            for id in &starting {
                if let Some(row) = rows.iter().find(|d| &d.device_id == id) {
                    self.start(campaign, row.clone()).await?;
                    drove.started += 1;
                }
            }
        }
        self.finish_if_over(campaign, state).await?;
        Ok(drove)
    }

    /// The load balancers with a member down now, when the campaign's gates ask.
    async fn members_down(&self, campaign: &Campaign) -> ManagementResult<Arc<BTreeSet<String>>> {
        if !campaign.policy.gates.contains(&Gate::MembersOnline) {
            return Ok(Arc::default());
        }
        let firing = self.alerts.evaluate(false).await?;
        Ok(Arc::new(
            firing
                .into_iter()
                .filter(|e| {
                    e.alert.labels.get("alertname").map(String::as_str) == Some("MemberDown")
                })
                .filter_map(|e| e.alert.labels.get("load_balancer_id").cloned())
                .filter(|id| !id.is_empty())
                .collect(),
        ))
    }

    /// Move on the devices under way, `max_parallel` at once.
    async fn advance_all(
        self: &Arc<Self>,
        campaign: &Campaign,
        under_way: Vec<CampaignDevice>,
        members_down: Arc<BTreeSet<String>>,
    ) -> ManagementResult<Drove> {
        let permits = Arc::new(tokio::sync::Semaphore::new(
            campaign.policy.max_parallel.clamp(1, 64),
        ));
        let mut set = tokio::task::JoinSet::new();
        for row in under_way {
            let executor = Arc::clone(self);
            let campaign = campaign.clone();
            let permits = Arc::clone(&permits);
            let members_down = Arc::clone(&members_down);
            set.spawn(async move {
                let _permit = permits.acquire_owned().await;
                executor.advance(&campaign, row, &members_down).await
            });
        }
        let mut drove = Drove::default();
        let mut first_error = None;
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(Ok(one)) => drove.add(one),
                Ok(Err(error)) => {
                    first_error.get_or_insert(error);
                }
                Err(panic) => {
                    first_error.get_or_insert(ManagementError::BadRequest(format!(
                        "a campaign device task ended: {panic}"
                    )));
                }
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(drove),
        }
    }

    /// Start `row`: in progress at its phase's first step, its device in maintenance.
    async fn start(&self, campaign: &Campaign, mut row: CampaignDevice) -> ManagementResult<()> {
        let device = self.devices.get(&row.device_id).await?;
        let before = match device.state {
            MaintenanceState::Unreachable => device.resume_state.unwrap_or(MaintenanceState::Ready),
            state => state,
        };
        row.state_before
            .get_or_insert_with(|| before.as_str().to_owned());
        row.progress = Progress::InProgress;
        row.step = Step::Backup;
        row.started = false;
        row.step_since_ms = Some(now_ms());
        row.error = None;
        self.campaigns.save_device(&campaign.id, &row).await?;
        self.campaigns
            .record(&campaign.id, &row, "started", None)
            .await?;
        if device.state == MaintenanceState::Unreachable {
            self.devices
                .set_state(
                    &device.id,
                    MaintenanceState::Unreachable,
                    Some(MaintenanceState::Maintenance),
                )
                .await?;
        } else {
            self.devices
                .set_state(&device.id, MaintenanceState::Maintenance, None)
                .await?;
        }
        Ok(())
    }

    /// Look at one device under way and move it on as far as it goes now.
    async fn advance(
        &self,
        campaign: &Campaign,
        mut row: CampaignDevice,
        members_down: &BTreeSet<String>,
    ) -> ManagementResult<Drove> {
        let mut drove = Drove::default();
        let device = match self.devices.get(&row.device_id).await {
            Ok(device) => device,
            Err(ManagementError::NotFound { .. }) => {
                self.fail(
                    campaign,
                    &mut row,
                    "the device was deleted from the inventory",
                )
                .await?;
                drove.failed += 1;
                return Ok(drove);
            }
            Err(error) => return Err(error),
        };
        let ops = match self.ops(&device) {
            Ok(ops) => ops,
            Err(error) => {
                self.fail(campaign, &mut row, &error.to_string()).await?;
                drove.failed += 1;
                return Ok(drove);
            }
        };
        for _ in 0..LOOKS_PER_ACTIVATION {
            let status = match ops.software().await {
                Ok(status) => Some(status),
                Err(
                    error @ (OpsError::Unsupported { .. }
                    | OpsError::Invalid(_)
                    | OpsError::Credentials(_)),
                ) => {
                    self.fail(campaign, &mut row, &error.to_string()).await?;
                    drove.failed += 1;
                    return Ok(drove);
                }
                Err(OpsError::Failed(_)) => None,
            };
            if let Some(status) = &status
                && row.from_volume.is_none()
            {
                note_volumes(&mut row, status);
                self.campaigns.save_device(&campaign.id, &row).await?;
            }
            let observed = self
                .observe(
                    campaign,
                    &row,
                    &device,
                    ops.as_ref(),
                    status.as_ref(),
                    members_down,
                )
                .await?;
            let position = Position {
                step: row.step,
                started: row.started,
                backup_wanted: campaign.policy.backup && row.phase == Phase::Forward,
                paired: row.peer_id.is_some(),
            };
            let backup_stored =
                row.step == Step::Backup && self.backup_stored(campaign, &row).await?;
            match steps::next(position, &observed, backup_stored) {
                Next::Issue(step) => {
                    row.started = true;
                    self.campaigns.save_device(&campaign.id, &row).await?;
                    self.campaigns
                        .record(&campaign.id, &row, "issued", None)
                        .await?;
                    drove.issued += 1;
                    if let Err(reason) = self
                        .act(campaign, &mut row, &device, ops.as_ref(), step)
                        .await
                    {
                        self.fail(campaign, &mut row, &reason).await?;
                        drove.failed += 1;
                        return Ok(drove);
                    }
                }
                Next::Advance(step) => {
                    self.campaigns
                        .record(&campaign.id, &row, "completed", None)
                        .await?;
                    row.step = step;
                    row.started = false;
                    row.step_since_ms = Some(now_ms());
                    self.campaigns.save_device(&campaign.id, &row).await?;
                }
                Next::Wait => {
                    if let Some(reason) = timed_out(campaign, &row, &observed) {
                        self.fail(campaign, &mut row, &reason).await?;
                        drove.failed += 1;
                    }
                    return Ok(drove);
                }
                Next::Done => {
                    self.done(campaign, &mut row, &device).await?;
                    drove.done += 1;
                    return Ok(drove);
                }
                Next::Fail(reason) => {
                    self.fail(campaign, &mut row, &reason).await?;
                    drove.failed += 1;
                    return Ok(drove);
                }
            }
        }
        Ok(drove)
    }

    /// What the device says now, in the terms of [`steps::next`].
    async fn observe(
        &self,
        campaign: &Campaign,
        row: &CampaignDevice,
        device: &Device,
        ops: &dyn DeviceOps,
        status: Option<&SoftwareStatus>,
        members_down: &BTreeSet<String>,
    ) -> ManagementResult<Observed> {
        let Some(status) = status else {
            return Ok(Observed {
                reachable: false,
                active: false,
                runs_target: false,
                volume: Volume::Absent,
                failing_gates: vec!["the device does not answer".to_owned()],
            });
        };
        let (volume, version) = row.destination(&campaign.target);
        let mut failing_gates = Vec::new();
        if row.step == Step::Gates {
            let gates = &campaign.policy.gates;
            // A device in no pair may still report a sync status: an NSX Manager's cluster.
            if gates.contains(&Gate::HaInSync) {
                match ops.sync_status().await {
                    Ok(Some(sync)) if sync != "In Sync" => {
                        failing_gates.push(format!("HA is not in sync ({sync})"));
                    }
                    Ok(_) => {}
                    Err(_) if row.peer_id.is_none() => {}
                    Err(error) => failing_gates.push(format!("the sync status: {error}")),
                }
            }
            if gates.contains(&Gate::MembersOnline) && !members_down.is_empty() {
                let down: Vec<String> = self
                    .devices
                    .carried(&device.id)
                    .await?
                    .into_iter()
                    .filter(|lb| members_down.contains(lb))
                    .collect();
                if !down.is_empty() {
                    failing_gates.push(format!(
                        "members are down on load balancers {}",
                        down.join(", ")
                    ));
                }
            }
        }
        Ok(Observed {
            reachable: true,
            active: status.active == Some(true),
            runs_target: version.is_some() && status.version.as_deref() == version,
            volume: volume_state(status, volume, version),
            failing_gates,
        })
    }

    /// Whether this campaign's backup of the device is kept already.
    async fn backup_stored(
        &self,
        campaign: &Campaign,
        row: &CampaignDevice,
    ) -> ManagementResult<bool> {
        if row.backup_id.is_some() {
            return Ok(true);
        }
        // A backup taken just before a restart, whose id was not written to the device's row.
        self.backups
            .stored_for(&row.device_id, &format!("campaign:{}", campaign.id))
            .await
    }

    /// Do `step` on the device; the error in words when it fails.
    async fn act(
        &self,
        campaign: &Campaign,
        row: &mut CampaignDevice,
        device: &Device,
        ops: &dyn DeviceOps,
        step: Step,
    ) -> Result<(), String> {
        let (volume, _) = row.destination(&campaign.target);
        let volume = volume.map(str::to_owned);
        let result = match step {
            Step::Backup => {
                let record = self
                    .backups
                    .take(device, &format!("campaign:{}", campaign.id))
                    .await
                    .map_err(|e| format!("backup failed: {e}"))?;
                row.backup_id = Some(record.id);
                self.campaigns
                    .save_device(&campaign.id, row)
                    .await
                    .map_err(|e| e.to_string())?;
                return Ok(());
            }
            Step::Failover => ops.failover().await,
            Step::Install => {
                let software = match campaign.target.kind {
                    super::model::TargetKind::Hotfix => {
                        Software::Hotfix(campaign.target.name.clone())
                    }
                    super::model::TargetKind::Image => {
                        Software::Image(campaign.target.name.clone())
                    }
                };
                let volume = volume.ok_or("no volume to install to")?;
                ops.install(&software, &volume).await
            }
            Step::Activate => {
                let volume = volume.ok_or("no volume to boot")?;
                ops.activate(&volume).await
            }
            Step::Gates => Ok(()),
        };
        result.map_err(|e| format!("{} failed: {e}", step.as_str()))
    }

    /// Mark the device failed with `reason`; it stays in maintenance.
    async fn fail(
        &self,
        campaign: &Campaign,
        row: &mut CampaignDevice,
        reason: &str,
    ) -> ManagementResult<()> {
        row.progress = Progress::Failed;
        row.error = Some(reason.to_owned());
        self.campaigns.save_device(&campaign.id, row).await?;
        self.campaigns
            .record(&campaign.id, row, "failed", Some(reason))
            .await?;
        tracing::warn!(campaign = %campaign.id, device = %row.device_name, step = row.step.as_str(), %reason, "campaign device failed");
        Ok(())
    }

    /// Mark the device done and return it to the state it was in.
    async fn done(
        &self,
        campaign: &Campaign,
        row: &mut CampaignDevice,
        device: &Device,
    ) -> ManagementResult<()> {
        row.progress = Progress::Done;
        row.started = false;
        self.campaigns.save_device(&campaign.id, row).await?;
        self.campaigns
            .record(&campaign.id, row, "done", None)
            .await?;
        let back = row
            .state_before
            .as_deref()
            .and_then(|s| MaintenanceState::parse(s).ok())
            .unwrap_or(MaintenanceState::Ready);
        let current = self.devices.get(&device.id).await?;
        if current.state == MaintenanceState::Unreachable {
            self.devices
                .set_state(&device.id, MaintenanceState::Unreachable, Some(back))
                .await?;
        } else if current.state == MaintenanceState::Maintenance {
            self.devices.set_state(&device.id, back, None).await?;
        }
        Ok(())
    }

    async fn raise_failure(&self, campaign: &Campaign, reason: &str) {
        let raised = Raised {
            key: format!("campaign-step-failed:{}", campaign.id),
            load_balancer_id: String::new(),
            provider: "management".to_owned(),
            message: format!("Campaign {} paused: {reason}", campaign.name),
        };
        if let Err(error) = self.alerts.raise(&raised, now_ms()).await {
            tracing::error!(%error, campaign = %campaign.id, "raising a campaign alert failed");
        }
    }

    /// Clear the campaign's failure alert (it was resumed, aborted or rolled back).
    pub async fn clear_failure(&self, campaign_id: &str) -> ManagementResult<()> {
        self.alerts
            .clear(&format!("campaign-step-failed:{campaign_id}"), "", now_ms())
            .await
    }

    /// End the campaign when nothing is left to do in its state.
    async fn finish_if_over(
        &self,
        campaign: &Campaign,
        state: CampaignState,
    ) -> ManagementResult<()> {
        let rows = self.campaigns.devices(&campaign.id).await?;
        let under_way = rows.iter().any(|d| d.progress == Progress::InProgress);
        let phase = current_phase(state, &rows);
        let left = rows
            .iter()
            .filter(|d| d.phase == phase)
            .any(|d| d.progress != Progress::Done);
        let end = match state {
            CampaignState::Running if !left => Some(CampaignState::Completed),
            CampaignState::RollingBack if !left => Some(CampaignState::RolledBack),
            CampaignState::Aborting if !under_way => Some(CampaignState::Aborted),
            _ => None,
        };
        if let Some(end) = end {
            self.campaigns.set_state(&campaign.id, end, None).await?;
            self.audit
                .record(
                    None,
                    &format!("campaign.{}", end.as_str()),
                    Some(&campaign.id),
                    Outcome::Success,
                    None,
                )
                .await;
        }
        Ok(())
    }
}

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// The phase the campaign's devices move in: rollback once any device was sent back.
pub fn current_phase(state: CampaignState, rows: &[CampaignDevice]) -> Phase {
    if state == CampaignState::RollingBack || rows.iter().any(|d| d.phase == Phase::Rollback) {
        Phase::Rollback
    } else {
        Phase::Forward
    }
}

/// Why a campaign pauses: its failed devices and their errors.
fn pause_reason(rows: &[CampaignDevice]) -> String {
    let failed: Vec<String> = rows
        .iter()
        .filter(|d| d.progress == Progress::Failed)
        .map(|d| {
            format!(
                "device {} failed at {}: {}",
                d.device_name,
                d.step.as_str(),
                d.error.as_deref().unwrap_or("no reason given")
            )
        })
        .collect();
    failed.join("; ")
}

/// Record the volume the device runs from and its version, and choose the spare volume the
/// target goes to: the first other volume the device reports (an NSX Manager's
/// `upgrade-bundle`), else `HD1.2` when it runs from `HD1.1`, else `HD1.1`.
fn note_volumes(row: &mut CampaignDevice, status: &SoftwareStatus) {
    let active = status.volumes.iter().find(|v| v.active);
    let from = active.map_or("HD1.1", |v| v.name.as_str());
    let spare = status.volumes.iter().find(|v| !v.active).map_or_else(
        || if from == "HD1.1" { "HD1.2" } else { "HD1.1" },
        |v| v.name.as_str(),
    );
    row.from_volume = Some(from.to_owned());
    row.from_version = status.version.clone();
    row.to_volume = Some(spare.to_owned());
}

/// The state of `volume` for software `version`: a volume holding another version is as good
/// as absent.
fn volume_state(status: &SoftwareStatus, volume: Option<&str>, version: Option<&str>) -> Volume {
    let Some(found) = status
        .volumes
        .iter()
        .find(|v| Some(v.name.as_str()) == volume)
    else {
        return Volume::Absent;
    };
    if Some(found.version.as_str()) != version {
        return Volume::Absent;
    }
    match found.status.as_str() {
        "complete" => Volume::Installed,
        "installing" => Volume::Installing,
        other => Volume::Failed(other.to_owned()),
    }
}

/// Why a device waiting at its step has waited too long, if it has.
fn timed_out(campaign: &Campaign, row: &CampaignDevice, observed: &Observed) -> Option<String> {
    let since = row.step_since_ms?;
    let waited_s = (now_ms() - since).max(0) as u64 / 1000;
    if row.step == Step::Gates {
        (waited_s >= campaign.policy.gate_timeout_seconds).then(|| {
            format!(
                "the gates did not pass within {} s: {}",
                campaign.policy.gate_timeout_seconds,
                observed.failing_gates.join("; ")
            )
        })
    } else {
        (waited_s >= campaign.policy.step_timeout_seconds).then(|| {
            format!(
                "{} did not finish within {} s{}",
                row.step.as_str(),
                campaign.policy.step_timeout_seconds,
                if observed.reachable {
                    ""
                } else {
                    " (the device does not answer)"
                }
            )
        })
    }
}

/// Runs the campaigns on a schedule, as a cluster duty.
pub struct CampaignsTask {
    executor: Arc<Executor>,
    duties: Arc<dyn Duties>,
}

impl CampaignsTask {
    /// A task running `executor`'s campaigns when `duties` says this process runs them.
    pub fn new(executor: Arc<Executor>, duties: Arc<dyn Duties>) -> Self {
        CampaignsTask { executor, duties }
    }
}

#[async_trait]
impl BackgroundTask for CampaignsTask {
    fn name(&self) -> &'static str {
        DUTY
    }

    fn description(&self) -> &'static str {
        "runs hotfix and upgrade campaigns: starts devices as the policy allows, issues each \
         step, checks the gates, pauses on a failure"
    }

    async fn activate(&self) -> Result<Report, String> {
        let mut report = Report::new();
        if !self.duties.performs(DUTY).await? {
            report.insert("standby", 1);
            return Ok(report);
        }
        let drove = self.executor.drive_all().await.map_err(|e| e.to_string())?;
        report.insert("started", drove.started);
        report.insert("issued", drove.issued);
        report.insert("done", drove.done);
        report.insert("failed", drove.failed);
        Ok(report)
    }
}
