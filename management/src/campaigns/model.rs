//! What a campaign is: its target, the policy it runs under, its state, and each of its devices'
//! place in it, as stored and as the API shows them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::schedule::{Progress, Role};
use super::steps::Step;
use crate::error::{ManagementError, ManagementResult};

/// What a campaign installs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A hotfix ISO.
    Hotfix,
    /// A base image ISO.
    Image,
}

impl TargetKind {
    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Hotfix => "hotfix",
            TargetKind::Image => "image",
        }
    }

    /// The kind from its name.
    pub fn parse(text: &str) -> ManagementResult<Self> {
        match text {
            "hotfix" => Ok(TargetKind::Hotfix),
            "image" => Ok(TargetKind::Image),
            other => Err(ManagementError::BadRequest(format!(
                "target kind must be hotfix or image, not {other:?}."
            ))),
        }
    }
}

/// The software a campaign brings to its devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// A hotfix or an image.
    pub kind: TargetKind,
    /// The ISO's name, already on the devices (`Hotfix-BIGIP-17.1.1.1-0.0.2-ENG.iso`).
    pub name: String,
    /// The version a device runs once it boots the installed volume (`17.1.1.1`).
    pub version: String,
}

/// A health gate a device must pass after its change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    /// The device answers.
    Reachable,
    /// Its HA pair reports its configuration in sync (an NSX Manager: its cluster is stable).
    HaInSync,
    /// No load balancer it carries has a member down (no firing `MemberDown` alert).
    MembersOnline,
}

impl Gate {
    /// Every gate.
    pub const ALL: [Gate; 3] = [Gate::Reachable, Gate::HaInSync, Gate::MembersOnline];
}

/// How a campaign runs: pace, canaries, backups, gates, windows and timeouts. Named policies
/// live in `[[management.campaigns.policies]]`; a campaign keeps a copy of the one it was
/// created with, so changing the configuration does not change a campaign under way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Its name.
    pub name: String,
    /// Devices changed at once, at most (1).
    #[schema(minimum = 1, maximum = 1000)]
    pub max_parallel: usize,
    /// Devices that must finish before any other starts (1).
    pub canary: usize,
    /// Take a backup of each device before its change (true).
    pub backup: bool,
    /// The gates each device must pass after its change (all of them).
    pub gates: Vec<Gate>,
    /// When devices may start, in UTC (`"sat,sun 01:00-05:00"`); any time when empty.
    pub windows: Vec<String>,
    /// How long a step (backup, failover, install, reboot) may take before the device fails
    /// (3600 s).
    pub step_timeout_seconds: u64,
    /// How long the gates may fail after the change before the device fails (600 s).
    pub gate_timeout_seconds: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            name: "default".to_owned(),
            max_parallel: 1,
            canary: 1,
            backup: true,
            gates: Gate::ALL.to_vec(),
            windows: Vec::new(),
            step_timeout_seconds: 3600,
            gate_timeout_seconds: 600,
        }
    }
}

impl Policy {
    /// Check the policy.
    pub fn validate(&self) -> ManagementResult<()> {
        let bad = |m: String| Err(ManagementError::BadRequest(m));
        if self.name.trim().is_empty() {
            return bad("a campaign policy needs a name.".to_owned());
        }
        if !(1..=1000).contains(&self.max_parallel) {
            return bad(format!(
                "max_parallel must be between 1 and 1000, not {}.",
                self.max_parallel
            ));
        }
        if self.step_timeout_seconds == 0 || self.gate_timeout_seconds == 0 {
            return bad(
                "step_timeout_seconds and gate_timeout_seconds must be above 0.".to_owned(),
            );
        }
        for window in &self.windows {
            super::window::Window::parse(window)
                .map_err(|e| ManagementError::BadRequest(e.to_string()))?;
        }
        Ok(())
    }
}

/// Where a campaign stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignState {
    /// Devices are being changed.
    Running,
    /// Nothing new starts: a device failed, or an operator paused it. Devices already under way
    /// finish their change.
    Paused,
    /// Aborted while devices were under way: they finish their change, nothing else starts.
    Aborting,
    /// Aborted: nothing more happens.
    Aborted,
    /// Every device is done.
    Completed,
    /// Changed devices are being put back on the volume they ran before.
    RollingBack,
    /// Every changed device runs what it ran before.
    RolledBack,
}

impl CampaignState {
    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignState::Running => "running",
            CampaignState::Paused => "paused",
            CampaignState::Aborting => "aborting",
            CampaignState::Aborted => "aborted",
            CampaignState::Completed => "completed",
            CampaignState::RollingBack => "rolling_back",
            CampaignState::RolledBack => "rolled_back",
        }
    }

    /// The state from its name.
    pub fn parse(text: &str) -> ManagementResult<Self> {
        [
            CampaignState::Running,
            CampaignState::Paused,
            CampaignState::Aborting,
            CampaignState::Aborted,
            CampaignState::Completed,
            CampaignState::RollingBack,
            CampaignState::RolledBack,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| ManagementError::BadRequest(format!("unknown campaign state {text:?}.")))
    }

    /// Whether nothing more will happen.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CampaignState::Aborted | CampaignState::Completed | CampaignState::RolledBack
        )
    }

    /// Whether new devices may start.
    pub fn starts_devices(self) -> bool {
        matches!(self, CampaignState::Running | CampaignState::RollingBack)
    }
}

/// Which way a device is moving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// To the campaign's target.
    Forward,
    /// Back to the volume it ran before.
    Rollback,
}

impl Phase {
    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Forward => "forward",
            Phase::Rollback => "rollback",
        }
    }

    /// The phase from its name.
    pub fn parse(text: &str) -> ManagementResult<Self> {
        match text {
            "forward" => Ok(Phase::Forward),
            "rollback" => Ok(Phase::Rollback),
            other => Err(ManagementError::BadRequest(format!(
                "unknown campaign phase {other:?}."
            ))),
        }
    }
}

/// A campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Campaign {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it installs.
    pub target: Target,
    /// How it runs.
    pub policy: Policy,
    /// Where it stands.
    pub state: CampaignState,
    /// Why it paused (the failed device and step), when it did.
    pub reason: Option<String>,
    /// The user who created it.
    pub created_by: Option<String>,
    /// When it was created (ms since the Unix epoch).
    pub created_ms: i64,
    /// When its state last changed.
    pub updated_ms: i64,
    /// When it ended.
    pub finished_ms: Option<i64>,
}

/// One device's place in a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignDevice {
    /// The device.
    pub device_id: String,
    /// Its name when the campaign began.
    pub device_name: String,
    /// Its place in campaign order.
    pub position: i64,
    /// Its HA peer (a device id), when it is in a pair.
    pub peer_id: Option<String>,
    /// Its HA role when the campaign began.
    pub role: Role,
    /// Which way it is moving.
    pub phase: Phase,
    /// Where it stands.
    pub progress: Progress,
    /// The step it is at.
    pub step: Step,
    /// Whether that step was issued to the device.
    pub started: bool,
    /// When it reached that step (ms).
    pub step_since_ms: Option<i64>,
    /// The volume it ran from before the campaign.
    pub from_volume: Option<String>,
    /// The version it ran before the campaign.
    pub from_version: Option<String>,
    /// The volume the target is installed to.
    pub to_volume: Option<String>,
    /// The backup taken before its change.
    pub backup_id: Option<String>,
    /// The maintenance state it returns to when done.
    pub state_before: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

impl CampaignDevice {
    /// The volume and version this device's phase moves it to: the campaign's target going
    /// forward, what it ran before in a rollback.
    pub fn destination<'a>(&'a self, target: &'a Target) -> (Option<&'a str>, Option<&'a str>) {
        match self.phase {
            Phase::Forward => (self.to_volume.as_deref(), Some(target.version.as_str())),
            Phase::Rollback => (self.from_volume.as_deref(), self.from_version.as_deref()),
        }
    }
}

/// Which devices a campaign covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Selector {
    /// Only devices of this kind.
    pub kind: Option<String>,
    /// Only these devices, by name.
    pub names: Option<Vec<String>>,
    /// Only devices carrying this provider's load balancers.
    pub provider: Option<String>,
}

/// `POST /v1/management/campaigns`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = json!({"name": "hotfix-17.1.1.1", "target": {"kind": "hotfix",
    "name": "Hotfix-BIGIP-17.1.1.1-0.0.2-ENG.iso", "version": "17.1.1.1"},
    "devices": {"kind": "bigip"}, "max_parallel": 2}))]
#[serde(deny_unknown_fields)]
pub struct CampaignRequest {
    /// Its name.
    pub name: String,
    /// What it installs.
    pub target: Target,
    /// Which devices.
    pub devices: Selector,
    /// The named policy it runs under (`default` when absent).
    #[serde(default)]
    pub policy: Option<String>,
    /// Overrides the policy's `max_parallel`.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1000)]
    pub max_parallel: Option<usize>,
    /// Overrides the policy's `canary`.
    #[serde(default)]
    pub canary: Option<usize>,
    /// Overrides the policy's `backup`.
    #[serde(default)]
    pub backup: Option<bool>,
}

impl Progress {
    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            Progress::Pending => "pending",
            Progress::InProgress => "in_progress",
            Progress::Done => "done",
            Progress::Failed => "failed",
        }
    }

    /// The progress from its name.
    pub fn parse(text: &str) -> ManagementResult<Self> {
        match text {
            "pending" => Ok(Progress::Pending),
            "in_progress" => Ok(Progress::InProgress),
            "done" => Ok(Progress::Done),
            "failed" => Ok(Progress::Failed),
            other => Err(ManagementError::BadRequest(format!(
                "unknown device progress {other:?}."
            ))),
        }
    }
}

impl Role {
    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Active => "active",
            Role::Standby => "standby",
            Role::Single => "single",
        }
    }

    /// The role from its name (a device's `ha_role` fact); anything else is a single device.
    pub fn parse(text: &str) -> Self {
        match text {
            "active" => Role::Active,
            "standby" => Role::Standby,
            _ => Role::Single,
        }
    }
}
