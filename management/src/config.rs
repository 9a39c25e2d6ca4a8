//! `[management]`: how the management module runs; `[management.alerts]`: grouping, inhibition
//! and receivers of alerts; `[management.devices]`: the inventory's schedule and the devices
//! registered by configuration; `[management.backups]`: where backups are kept and their
//! schedules; `[management.licenses]`: how often licenses are watched.

use serde::Deserialize;

use crate::alerts::matchers::Matcher;
use crate::backups::schedule::BackupSchedule;
use crate::campaigns::model::Policy;
use crate::devices::model::Registration;

/// The `[management]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ManagementConfig {
    /// Serve the management API and run its jobs (on by default).
    pub enabled: bool,
    /// How often orchestration's events are read when nothing wakes the reader sooner.
    pub events_interval_seconds: u64,
    /// `[management.alerts]`.
    pub alerts: AlertsConfig,
    /// The device inventory.
    pub devices: DevicesConfig,
    /// `[management.backups]`.
    pub backups: BackupsConfig,
    /// `[management.campaigns]`.
    pub campaigns: CampaignsConfig,
    /// `[management.licenses]`.
    pub licenses: LicensesConfig,
    /// The file holding the key that seals device passwords (32 random bytes in base64), which
    /// must exist; when neither this nor `secret_key` is set, `state/management.key`, created on
    /// first start. Replicas on one database must share the key.
    pub secret_key_file: Option<String>,
    /// The key itself (32 random bytes in base64), e.g. from `FULCRUM__MANAGEMENT__SECRET_KEY`
    /// out of a secret store, in place of `secret_key_file`.
    pub secret_key: Option<SecretKeyText>,
}

/// A key given in the configuration: never shown by `Debug`.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct SecretKeyText(pub String);

impl std::fmt::Debug for SecretKeyText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKeyText(***)")
    }
}

impl Default for ManagementConfig {
    fn default() -> Self {
        ManagementConfig {
            enabled: true,
            events_interval_seconds: 2,
            alerts: AlertsConfig::default(),
            devices: DevicesConfig::default(),
            backups: BackupsConfig::default(),
            campaigns: CampaignsConfig::default(),
            licenses: LicensesConfig::default(),
            secret_key_file: None,
            secret_key: None,
        }
    }
}

/// `[management.alerts]`: grouping, inhibition, receivers and delivery of alerts.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsConfig {
    /// An alert posted without `endsAt` and not posted again within this many seconds resolves
    /// (Alertmanager's `resolve_timeout`; 300).
    pub resolve_timeout_seconds: u64,
    /// The labels whose values make a group: one notification per group per change
    /// (`["alertname"]`).
    pub group_by: Vec<String>,
    /// Where notifications go (none by default).
    pub receivers: Vec<ReceiverConfig>,
    /// Alertmanager's `inhibit_rules` (by default: an active `DeviceUnreachable` inhibits the
    /// other alerts of the same `device`).
    pub inhibit_rules: Vec<InhibitRuleConfig>,
    /// How often groups are evaluated and due notifications delivered (5).
    pub delivery_interval_seconds: u64,
    /// The first wait before retrying a failed delivery, doubled at each attempt (1000 ms).
    pub retry_initial_ms: u64,
    /// The longest wait between two attempts (60000 ms).
    pub retry_max_ms: u64,
    /// Attempts before a notification is given up (10).
    pub max_attempts: u32,
    /// How long one delivery may take (10 s).
    pub request_timeout_seconds: u64,
    /// The `externalURL` of webhook payloads: where operators reach Fulcrum ("").
    pub external_url: String,
    /// How often firing alerts are forwarded again to Alertmanager receivers, which resolve an
    /// alert not sent again within their own resolve timeout (60 s, as Prometheus resends).
    pub forward_repeat_seconds: u64,
    /// Days resolved alerts, delivered or given-up notifications and expired silences are kept
    /// (7).
    pub keep_resolved_days: u64,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            resolve_timeout_seconds: 300,
            group_by: vec!["alertname".to_owned()],
            receivers: Vec::new(),
            inhibit_rules: vec![InhibitRuleConfig::device_unreachable()],
            delivery_interval_seconds: 5,
            retry_initial_ms: 1000,
            retry_max_ms: 60_000,
            max_attempts: 10,
            request_timeout_seconds: 10,
            external_url: String::new(),
            forward_repeat_seconds: 60,
            keep_resolved_days: 7,
        }
    }
}

/// One receiver of notifications.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverConfig {
    /// Its name, shown in alerts' `receivers` and in webhook payloads.
    pub name: String,
    /// What it is.
    pub kind: ReceiverKind,
    /// The webhook's URL, or the Alertmanager's base URL (`http://am:9093`).
    pub url: String,
}

/// The kinds of receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiverKind {
    /// Alertmanager's webhook payload (version 4), POSTed to the URL.
    Webhook,
    /// The alerts POSTed to an Alertmanager's `/api/v2/alerts`.
    Alertmanager,
}

/// One inhibition rule, as Alertmanager's `inhibit_rules`: while an alert matching
/// `source_matchers` fires, alerts matching `target_matchers` with the same values of the
/// `equal` labels are inhibited.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitRuleConfig {
    /// What the inhibiting alert matches (`alertname="DeviceUnreachable"`).
    pub source_matchers: Vec<Matcher>,
    /// What the inhibited alerts match (all alerts when empty).
    #[serde(default)]
    pub target_matchers: Vec<Matcher>,
    /// Labels whose values must be equal in both.
    #[serde(default)]
    pub equal: Vec<String>,
}

impl InhibitRuleConfig {
    /// The default rule: a device that cannot be reached inhibits its other alerts.
    pub fn device_unreachable() -> Self {
        InhibitRuleConfig {
            source_matchers: vec![
                Matcher::parse("alertname=\"DeviceUnreachable\"")
                    .expect("the default matcher is valid"),
            ],
            target_matchers: Vec::new(),
            equal: vec!["device".to_owned()],
        }
    }
}

/// `[management.devices]`, with its `[[management.devices.static]]` entries.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DevicesConfig {
    /// How often every device's facts are read.
    pub facts_interval_seconds: u64,
    /// Fact readings failed in a row after which a device is `unreachable`.
    pub unreachable_after: i64,
    /// Devices registered by configuration (name, kind, addresses, credentials, CA bundle or
    /// `verify_tls`, HA peer, provider; `config_dir` for HAProxy hosts). They are added or
    /// brought up to date when the module opens, and cannot be deleted through the API.
    #[serde(rename = "static")]
    pub registered: Vec<Registration>,
    /// Days the record of a handled day-2 request (a failover) is kept (30).
    pub keep_requests_days: u64,
}

impl Default for DevicesConfig {
    fn default() -> Self {
        DevicesConfig {
            facts_interval_seconds: 300,
            unreachable_after: 3,
            registered: Vec::new(),
            keep_requests_days: 30,
        }
    }
}

/// `[management.backups]`: where device backups are kept, how often schedules are looked at,
/// and the schedules of the configuration (`[[management.backups.schedules]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupsConfig {
    /// The directory backups are kept under, one folder per device (`state/backups`).
    pub directory: String,
    /// How often the backup job looks for schedules that are due (60 s).
    pub interval_seconds: u64,
    /// Schedules of the configuration: name, cron, the devices (`kind`, `devices` by name;
    /// neither: all) and retention (`keep_count`, `keep_days`). Listed by the API, changed only
    /// here.
    pub schedules: Vec<BackupSchedule>,
}

impl Default for BackupsConfig {
    fn default() -> Self {
        BackupsConfig {
            directory: "state/backups".to_owned(),
            interval_seconds: 60,
            schedules: Vec::new(),
        }
    }
}

/// `[management.campaigns]`, with its `[[management.campaigns.policies]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CampaignsConfig {
    /// How often running campaigns are moved on when nothing wakes them sooner (2 s).
    pub interval_seconds: u64,
    /// The policies campaigns may name (pace, canaries, backups, gates, windows, timeouts);
    /// `default` is built in unless one of these is named so.
    pub policies: Vec<Policy>,
}

impl Default for CampaignsConfig {
    fn default() -> Self {
        CampaignsConfig {
            interval_seconds: 2,
            policies: Vec::new(),
        }
    }
}

/// `[management.licenses]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LicensesConfig {
    /// How often the licenses job looks at the pools' ends and the licenses devices report
    /// (3600 s).
    pub interval_seconds: u64,
}

impl Default for LicensesConfig {
    fn default() -> Self {
        LicensesConfig {
            interval_seconds: 3600,
        }
    }
}

impl BackupsConfig {
    /// Check each schedule of the configuration, and that no two share a name.
    pub fn validate(&self) -> crate::ManagementResult<()> {
        for (i, schedule) in self.schedules.iter().enumerate() {
            schedule.validate().map_err(|e| {
                crate::ManagementError::BadRequest(format!(
                    "management.backups.schedules[{i}]: {e}"
                ))
            })?;
            if self.schedules[..i].iter().any(|s| s.name == schedule.name) {
                return Err(crate::ManagementError::BadRequest(format!(
                    "management.backups.schedules: {} is named twice.",
                    schedule.name
                )));
            }
        }
        Ok(())
    }
}
