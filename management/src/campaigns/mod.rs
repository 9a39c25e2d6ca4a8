//! Hotfix and upgrade campaigns: a target version rolled over a selection of devices, a few at a
//! time, HA pairs standby first, each device backed up before its change and checked by health
//! gates after it.
//!
//! [`schedule`] decides which devices may start next and [`steps`] what to do next for one
//! device, both from the campaign's persisted progress alone, so a restarted process resumes
//! from what the database says, with the same rules. [`executor`] applies them to the devices;
//! [`Campaigns`] is what the API asks: create, pause, resume, abort, roll back.

pub mod executor;
pub mod model;
pub mod routes;
pub mod schedule;
pub mod steps;
pub mod store;
pub mod window;

use std::collections::BTreeMap;

use fulcrum_core::Caller;
use fulcrum_core::tasks::Wake;
use serde::Serialize;

use crate::audit::Audit;
use crate::devices::model::{Device, DeviceKind};
use crate::devices::store::{DeviceQuery, DeviceStore};
use crate::error::{ManagementError, ManagementResult};
use model::{Campaign, CampaignDevice, CampaignRequest, CampaignState, Phase, Policy, Selector};
use schedule::{Progress, Role};
use steps::Step;
use store::{CampaignStore, HistoryEntry};

/// The campaigns: what the API creates and steers; the executor runs them.
#[derive(Debug, Clone)]
pub struct Campaigns {
    /// Their tables.
    pub store: CampaignStore,
    devices: DeviceStore,
    audit: Audit,
    policies: Vec<Policy>,
    wake: Wake,
}

/// How far a campaign has come.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Tally {
    /// Devices in the campaign.
    pub total: usize,
    /// Not started.
    pub pending: usize,
    /// Under way.
    pub in_progress: usize,
    /// Done.
    pub done: usize,
    /// Failed.
    pub failed: usize,
    /// Done, out of the devices of the current phase, in percent.
    pub percent: u32,
}

/// One device of a campaign as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DeviceProgress {
    /// The device.
    pub device_id: String,
    /// Its name.
    pub name: String,
    /// Its HA role when the campaign began.
    pub role: &'static str,
    /// Forward or rollback.
    pub phase: &'static str,
    /// pending, in_progress, done or failed.
    pub progress: &'static str,
    /// The step it is at.
    pub step: &'static str,
    /// Whether that step was issued to the device.
    pub started: bool,
    /// The version it ran before.
    pub from_version: Option<String>,
    /// The volume it runs from before.
    pub from_volume: Option<String>,
    /// The volume the target goes to.
    pub to_volume: Option<String>,
    /// The backup taken before its change.
    pub backup_id: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// A campaign as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CampaignView {
    /// The campaign.
    #[serde(flatten)]
    pub campaign: Campaign,
    /// When it was created.
    pub created_at: String,
    /// How far it has come.
    pub progress: Tally,
    /// Its devices, in campaign order (on a single campaign's view).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub devices: Option<Vec<DeviceProgress>>,
}

impl Tally {
    /// The tally of `rows`.
    pub fn of(state: CampaignState, rows: &[CampaignDevice]) -> Self {
        let phase = executor::current_phase(state, rows);
        let count = |p: Progress| rows.iter().filter(|d| d.progress == p).count();
        let in_phase: Vec<&CampaignDevice> = rows.iter().filter(|d| d.phase == phase).collect();
        let done_in_phase = in_phase
            .iter()
            .filter(|d| d.progress == Progress::Done)
            .count();
        Tally {
            total: rows.len(),
            pending: count(Progress::Pending),
            in_progress: count(Progress::InProgress),
            done: count(Progress::Done),
            failed: count(Progress::Failed),
            percent: if in_phase.is_empty() {
                100
            } else {
                (done_in_phase * 100 / in_phase.len()) as u32
            },
        }
    }
}

fn view(campaign: Campaign, rows: &[CampaignDevice], with_devices: bool) -> CampaignView {
    let devices = with_devices.then(|| {
        rows.iter()
            .map(|d| DeviceProgress {
                device_id: d.device_id.clone(),
                name: d.device_name.clone(),
                role: d.role.as_str(),
                phase: d.phase.as_str(),
                progress: d.progress.as_str(),
                step: d.step.as_str(),
                started: d.started,
                from_version: d.from_version.clone(),
                from_volume: d.from_volume.clone(),
                to_volume: d.to_volume.clone(),
                backup_id: d.backup_id.clone(),
                error: d.error.clone(),
            })
            .collect()
    });
    CampaignView {
        created_at: fulcrum_core::timestamp::format_millis(campaign.created_ms),
        progress: Tally::of(campaign.state, rows),
        campaign,
        devices,
    }
}

impl Campaigns {
    /// Campaigns in `store` over the inventory `devices`, under the configured `policies`;
    /// `wake` wakes the executor.
    pub fn new(
        store: CampaignStore,
        devices: DeviceStore,
        audit: Audit,
        policies: Vec<Policy>,
        wake: Wake,
    ) -> Self {
        Campaigns {
            store,
            devices,
            audit,
            policies,
            wake,
        }
    }

    /// The policies campaigns may name: the configured ones, and `default` unless configured.
    pub fn policies(&self) -> Vec<Policy> {
        let mut policies = self.policies.clone();
        if !policies.iter().any(|p| p.name == "default") {
            policies.insert(0, Policy::default());
        }
        policies
    }

    fn policy_for(&self, request: &CampaignRequest) -> ManagementResult<Policy> {
        let name = request.policy.as_deref().unwrap_or("default");
        let policies = self.policies();
        let mut policy = policies
            .iter()
            .find(|p| p.name == name)
            .cloned()
            .ok_or_else(|| {
                let known: Vec<&str> = policies.iter().map(|p| p.name.as_str()).collect();
                ManagementError::BadRequest(format!(
                    "Campaign policy {name:?} is not defined; the policies are {}.",
                    known.join(", ")
                ))
            })?;
        if let Some(max_parallel) = request.max_parallel {
            policy.max_parallel = max_parallel;
        }
        if let Some(canary) = request.canary {
            policy.canary = canary;
        }
        if let Some(backup) = request.backup {
            policy.backup = backup;
        }
        policy.validate()?;
        Ok(policy)
    }

    async fn select(&self, selector: &Selector) -> ManagementResult<Vec<Device>> {
        let query = DeviceQuery {
            kind: selector.kind.clone(),
            state: None,
        };
        if let Some(kind) = &selector.kind {
            DeviceKind::parse(kind)?;
        }
        let all = self.devices.list(&query).await?;
        if let Some(names) = &selector.names {
            let missing: Vec<&String> = names
                .iter()
                .filter(|n| !all.iter().any(|d| &&d.name == n))
                .collect();
            if !missing.is_empty() {
                return Err(ManagementError::BadRequest(format!(
                    "No device is named {}.",
                    missing
                        .iter()
                        .map(|n| format!("{n:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        let chosen: Vec<Device> = all
            .into_iter()
            .filter(|d| selector.names.as_ref().is_none_or(|n| n.contains(&d.name)))
            .filter(|d| {
                selector
                    .provider
                    .as_ref()
                    .is_none_or(|p| d.provider.as_ref() == Some(p))
            })
            .collect();
        if chosen.is_empty() {
            return Err(ManagementError::BadRequest(
                "The device selector matches no device.".to_owned(),
            ));
        }
        if let Some(other) = chosen
            .iter()
            .find(|d| !matches!(d.kind, DeviceKind::Bigip | DeviceKind::NsxManager))
        {
            return Err(ManagementError::BadRequest(format!(
                "Device {} is a {} device; software campaigns run on bigip and nsx_manager \
                 devices.",
                other.name,
                other.kind.as_str()
            )));
        }
        // One target (an ISO, an NSX upgrade bundle) fits one kind of device.
        if let Some(other) = chosen.iter().find(|d| d.kind != chosen[0].kind) {
            return Err(ManagementError::BadRequest(format!(
                "Device {} is a {} device and {} a {} device; a campaign's devices are of one \
                 kind.",
                other.name,
                other.kind.as_str(),
                chosen[0].name,
                chosen[0].kind.as_str()
            )));
        }
        Ok(chosen)
    }

    /// Create a campaign; it starts running at once.
    pub async fn create(
        &self,
        request: CampaignRequest,
        caller: &Caller,
    ) -> ManagementResult<CampaignView> {
        let bad = |m: &str| Err(ManagementError::BadRequest(m.to_owned()));
        if request.name.trim().is_empty() {
            return bad("A campaign needs a name.");
        }
        if request.target.name.trim().is_empty() || request.target.version.trim().is_empty() {
            return bad("target needs the ISO's name and the version it brings.");
        }
        let policy = self.policy_for(&request)?;
        let devices = self.select(&request.devices).await?;
        let ids: Vec<String> = devices.iter().map(|d| d.id.clone()).collect();
        let busy = self.store.busy_devices(&ids).await?;
        if !busy.is_empty() {
            let names: Vec<&str> = devices
                .iter()
                .filter(|d| busy.contains(&d.id))
                .map(|d| d.name.as_str())
                .collect();
            return Err(ManagementError::Conflict(format!(
                "These devices are in a campaign that has not ended: {}.",
                names.join(", ")
            )));
        }
        let now = fulcrum_core::timestamp::now_millis();
        let campaign = Campaign {
            id: uuid::Uuid::new_v4().to_string(),
            name: request.name.trim().to_owned(),
            target: request.target,
            policy,
            state: CampaignState::Running,
            reason: None,
            created_by: caller.user_id.clone(),
            created_ms: now,
            updated_ms: now,
            finished_ms: None,
        };
        let rows = self.rows_for(&devices).await?;
        self.store.insert(&campaign, &rows).await?;
        self.audit
            .record(
                Some(caller),
                "campaign.create",
                Some(&campaign.id),
                crate::audit::Outcome::Success,
                Some(&format!(
                    "{} to {} on {} devices",
                    campaign.name,
                    campaign.target.version,
                    rows.len()
                )),
            )
            .await;
        self.wake.wake();
        Ok(view(campaign, &rows, true))
    }

    /// The campaign's devices in campaign order, pairs side by side; peers and roles from the
    /// inventory (a pair is known from either side's `ha_peer`).
    async fn rows_for(&self, devices: &[Device]) -> ManagementResult<Vec<CampaignDevice>> {
        let inventory = self.devices.list(&DeviceQuery::default()).await?;
        let id_of: BTreeMap<&str, &str> = inventory
            .iter()
            .map(|d| (d.name.as_str(), d.id.as_str()))
            .collect();
        let peer_of = |device: &Device| -> Option<String> {
            let named = device
                .ha_peer
                .as_deref()
                .and_then(|n| id_of.get(n))
                .map(|id| (*id).to_owned());
            named.or_else(|| {
                inventory
                    .iter()
                    .find(|d| d.ha_peer.as_deref() == Some(device.name.as_str()))
                    .map(|d| d.id.clone())
            })
        };
        let mut ordered: Vec<&Device> = devices.iter().collect();
        ordered.sort_by(|a, b| a.name.cmp(&b.name));
        let mut placed: Vec<&Device> = Vec::with_capacity(ordered.len());
        for device in &ordered {
            if placed.iter().any(|p| p.id == device.id) {
                continue;
            }
            placed.push(device);
            if let Some(peer) = peer_of(device)
                && let Some(peer) = ordered.iter().find(|d| d.id == peer)
                && !placed.iter().any(|p| p.id == peer.id)
            {
                placed.push(peer);
            }
        }
        Ok(placed
            .into_iter()
            .enumerate()
            .map(|(position, device)| {
                let peer_id = peer_of(device);
                let role = match &peer_id {
                    None => Role::Single,
                    Some(_) => device
                        .facts
                        .as_ref()
                        .and_then(|f| f.ha_role.as_deref())
                        .map_or(Role::Standby, Role::parse),
                };
                CampaignDevice {
                    device_id: device.id.clone(),
                    device_name: device.name.clone(),
                    position: position as i64,
                    peer_id,
                    role,
                    phase: Phase::Forward,
                    progress: Progress::Pending,
                    step: Step::Backup,
                    started: false,
                    step_since_ms: None,
                    from_volume: None,
                    from_version: None,
                    to_volume: None,
                    backup_id: None,
                    state_before: None,
                    error: None,
                }
            })
            .collect())
    }

    /// Every campaign, newest first, with its tally.
    pub async fn list(&self, state: Option<&str>) -> ManagementResult<Vec<CampaignView>> {
        let state = state.map(CampaignState::parse).transpose()?;
        let mut views = Vec::new();
        for campaign in self.store.list(state).await? {
            let rows = self.store.devices(&campaign.id).await?;
            views.push(view(campaign, &rows, false));
        }
        Ok(views)
    }

    /// One campaign with its devices.
    pub async fn show(&self, id: &str) -> ManagementResult<CampaignView> {
        let campaign = self.store.get(id).await?;
        let rows = self.store.devices(id).await?;
        Ok(view(campaign, &rows, true))
    }

    /// A campaign's history, oldest first.
    pub async fn history(&self, id: &str) -> ManagementResult<Vec<HistoryEntry>> {
        self.store.get(id).await?;
        self.store.history(id).await
    }

    fn refuse(campaign: &Campaign, action: &str) -> ManagementError {
        ManagementError::Conflict(format!(
            "Campaign {} is {}; it cannot be {action}.",
            campaign.id,
            campaign.state.as_str()
        ))
    }

    /// Start no new device; devices under way finish their change.
    pub async fn pause(&self, id: &str, caller: &Caller) -> ManagementResult<CampaignView> {
        let campaign = self.store.get(id).await?;
        if !campaign.state.starts_devices() {
            return Err(Self::refuse(&campaign, "paused"));
        }
        let reason = format!(
            "paused by {}",
            caller.user_id.as_deref().unwrap_or("an operator")
        );
        self.store
            .set_state(id, CampaignState::Paused, Some(&reason))
            .await?;
        self.show(id).await
    }

    /// Go on: failed devices are looked at again from the step they failed at.
    pub async fn resume(&self, id: &str) -> ManagementResult<CampaignView> {
        let campaign = self.store.get(id).await?;
        if campaign.state != CampaignState::Paused {
            return Err(Self::refuse(&campaign, "resumed"));
        }
        let rows = self.store.devices(id).await?;
        for mut row in rows.into_iter().filter(|d| d.progress == Progress::Failed) {
            row.progress = Progress::InProgress;
            row.started = false;
            row.error = None;
            row.step_since_ms = Some(fulcrum_core::timestamp::now_millis());
            self.store.save_device(id, &row).await?;
            self.store.record(id, &row, "resumed", None).await?;
        }
        let rows = self.store.devices(id).await?;
        let state = match executor::current_phase(CampaignState::Paused, &rows) {
            Phase::Forward => CampaignState::Running,
            Phase::Rollback => CampaignState::RollingBack,
        };
        self.store.set_state(id, state, None).await?;
        self.wake.wake();
        self.show(id).await
    }

    /// Stop for good: nothing new starts, devices under way finish their change.
    pub async fn abort(&self, id: &str) -> ManagementResult<CampaignView> {
        let campaign = self.store.get(id).await?;
        if campaign.state.is_final() || campaign.state == CampaignState::Aborting {
            return Err(Self::refuse(&campaign, "aborted"));
        }
        let rows = self.store.devices(id).await?;
        let under_way = rows.iter().any(|d| d.progress == Progress::InProgress);
        let state = if under_way {
            CampaignState::Aborting
        } else {
            CampaignState::Aborted
        };
        self.store.set_state(id, state, None).await?;
        self.wake.wake();
        self.show(id).await
    }

    /// Put every device the campaign touched back on the volume it ran before, with the same
    /// pace and pair rules. Devices must not be under way.
    pub async fn rollback(&self, id: &str) -> ManagementResult<CampaignView> {
        let campaign = self.store.get(id).await?;
        let allowed = matches!(
            campaign.state,
            CampaignState::Paused | CampaignState::Aborted | CampaignState::Completed
        );
        if !allowed {
            return Err(Self::refuse(&campaign, "rolled back"));
        }
        let rows = self.store.devices(id).await?;
        let under_way: Vec<&str> = rows
            .iter()
            .filter(|d| d.progress == Progress::InProgress)
            .map(|d| d.device_name.as_str())
            .collect();
        if !under_way.is_empty() {
            return Err(ManagementError::Conflict(format!(
                "These devices are still being changed: {}; roll back once they finish.",
                under_way.join(", ")
            )));
        }
        let touched: Vec<CampaignDevice> = rows
            .into_iter()
            .filter(|d| d.progress != Progress::Pending && d.from_volume.is_some())
            .collect();
        if touched.is_empty() {
            return Err(ManagementError::Conflict(format!(
                "Campaign {id} changed no device; there is nothing to roll back."
            )));
        }
        for mut row in touched {
            row.phase = Phase::Rollback;
            row.progress = Progress::Pending;
            row.step = Step::Backup;
            row.started = false;
            row.error = None;
            self.store.save_device(id, &row).await?;
        }
        self.store
            .set_state(id, CampaignState::RollingBack, None)
            .await?;
        self.wake.wake();
        self.show(id).await
    }
}
