//! The operator's command line for the management API: `fulcrum manage <area> <verb>`, a client
//! of a running Fulcrum that prints tables (as the `openstack` command does) or JSON.
//!
//! It speaks HTTP only, so it runs anywhere the API is reachable and needs no configuration file:
//! the URL, and a Keystone token (`--os-token`, `OS_TOKEN`) or, for a Fulcrum without Keystone,
//! nothing (the caller is then an administrator) come from flags or the environment.

mod backups;
mod campaigns;
mod client;
mod licenses;
mod silences;
mod table;

pub use campaigns::CampaignsCommand;
use clap::{Args, Subcommand, ValueEnum};
use reqwest::Method;
use serde_json::Value;

pub use backups::{BackupsCommand, SchedulesCommand};
pub use client::{CliError, Client};
pub use licenses::{LicensesCommand, PoolsCommand};
pub use silences::SilencesCommand;
pub use table::Table;

/// `fulcrum manage`: the management API from the command line.
#[derive(Debug, Args)]
pub struct ManageArgs {
    /// Fulcrum's API address.
    #[arg(long, env = "FULCRUM_URL", default_value = "http://127.0.0.1:9876")]
    pub url: String,
    /// A Keystone token, sent as `X-Auth-Token`.
    #[arg(long = "os-token", env = "OS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// How to print what comes back.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// What to do.
    #[command(subcommand)]
    pub command: ManageCommand,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table with a header row.
    Table,
    /// The API's JSON, pretty-printed.
    Json,
}

/// The areas of the management API.
#[derive(Debug, Subcommand)]
pub enum ManageCommand {
    /// The audit trail of management actions.
    Audit {
        /// What to do with it.
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The device inventory.
    Devices {
        /// What to do with it.
        #[command(subcommand)]
        command: DevicesCommand,
    },
    /// Alerts, from Prometheus and from Fulcrum itself.
    Alerts {
        /// What to do with them.
        #[command(subcommand)]
        command: AlertsCommand,
    },
    /// Hotfix and upgrade campaigns.
    Campaigns {
        /// What to do with them.
        #[command(subcommand)]
        command: CampaignsCommand,
    },
    /// Silences muting alerts for a while.
    Silences {
        /// What to do with them.
        #[command(subcommand)]
        command: SilencesCommand,
    },
    /// Configuration backups of devices.
    Backups {
        /// What to do with them.
        #[command(subcommand)]
        command: BackupsCommand,
    },
    /// When backups are taken, of which devices, and how long they are kept.
    BackupSchedules {
        /// What to do with them.
        #[command(subcommand)]
        command: SchedulesCommand,
    },
    /// License pools and the licenses given to devices.
    Licenses {
        /// What to do with them.
        #[command(subcommand)]
        command: LicensesCommand,
    },
}

/// `fulcrum manage devices ...`.
#[derive(Debug, Subcommand)]
pub enum DevicesCommand {
    /// Devices, by name.
    List {
        /// Only this kind (`bigip`, `haproxy_host`, `nsx_manager`, `nsx_edge`).
        #[arg(long)]
        kind: Option<String>,
        /// Only devices in this state (`ready`, `maintenance`, `draining`, `unreachable`).
        #[arg(long)]
        state: Option<String>,
    },
    /// One device with its last facts.
    Show {
        /// The device's id.
        id: String,
    },
    /// Set a device's maintenance state (`ready`, `maintenance`, `draining`).
    SetState {
        /// The device's id.
        id: String,
        /// The state.
        state: String,
    },
    /// Read a device's facts now.
    Refresh {
        /// The device's id.
        id: String,
    },
    /// Push a device's configuration to its HA peer (config-sync).
    Sync {
        /// The device's id.
        id: String,
    },
}

/// `fulcrum manage alerts ...`.
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Firing alerts (and resolved ones with `--resolved`).
    List {
        /// Alertmanager matchers the labels must match (`severity="critical"`, `device=~"bigip-.*"`).
        #[arg(long)]
        filter: Vec<String>,
        /// Include resolved alerts.
        #[arg(long)]
        resolved: bool,
    },
    /// Acknowledge a firing alert.
    Acknowledge {
        /// The alert's fingerprint.
        fingerprint: String,
    },
}

/// `fulcrum manage audit ...`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recorded actions, newest first.
    List {
        /// Only this action (`device.register`, ...).
        #[arg(long)]
        action: Option<String>,
        /// Only actions on this object.
        #[arg(long)]
        target: Option<String>,
        /// Only this user's actions.
        #[arg(long)]
        user: Option<String>,
        /// Only `success` or `failure`.
        #[arg(long)]
        result: Option<String>,
        /// At most this many.
        #[arg(long)]
        limit: Option<u32>,
    },
}

/// Run one command and print its result to stdout.
pub async fn run(args: ManageArgs) -> Result<(), CliError> {
    let client = Client::new(&args.url, args.token.as_deref())?;
    let output = match args.command {
        ManageCommand::Audit { command } => audit(&client, command).await?,
        ManageCommand::Devices { command } => devices(&client, command).await?,
        ManageCommand::Alerts { command } => alerts(&client, command).await?,
        ManageCommand::Campaigns { command } => campaigns::run(&client, command).await?,
        ManageCommand::Silences { command } => silences::run(&client, command).await?,
        ManageCommand::Backups { command } => backups::backups(&client, command).await?,
        ManageCommand::BackupSchedules { command } => backups::schedules(&client, command).await?,
        ManageCommand::Licenses { command } => licenses::run(&client, command).await?,
    };
    print!("{}", output.render(args.format));
    Ok(())
}

/// What a command prints: a list under its columns, or one object.
#[derive(Debug)]
pub enum Output {
    /// Rows of objects, shown under `columns`.
    List {
        /// The fields shown as columns, in order.
        columns: &'static [&'static str],
        /// The objects.
        rows: Vec<Value>,
    },
    /// One object, shown as field/value rows.
    Object(Value),
    /// One object's fields, then a list of its parts; in JSON, the object as the API gave it.
    Detail {
        /// What JSON prints.
        json: Value,
        /// The fields shown as field/value rows.
        object: Value,
        /// The parts' fields shown as columns.
        columns: &'static [&'static str],
        /// The parts.
        rows: Vec<Value>,
    },
}

impl Output {
    /// The text printed in `format`.
    pub fn render(&self, format: Format) -> String {
        match (self, format) {
            (Output::List { rows, .. }, Format::Json) => pretty(&Value::Array(rows.clone())),
            (Output::Object(object), Format::Json) => pretty(object),
            (Output::List { columns, rows }, Format::Table) => {
                Table::of_objects(columns, rows).render()
            }
            (Output::Object(object), Format::Table) => Table::of_fields(object).render(),
            (Output::Detail { json, .. }, Format::Json) => pretty(json),
            (
                Output::Detail {
                    object,
                    columns,
                    rows,
                    ..
                },
                Format::Table,
            ) => format!(
                "{}{}",
                Table::of_fields(object).render(),
                Table::of_objects(columns, rows).render()
            ),
        }
    }
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

async fn audit(client: &Client, command: AuditCommand) -> Result<Output, CliError> {
    match command {
        AuditCommand::List {
            action,
            target,
            user,
            result,
            limit,
        } => {
            let limit = limit.map(|l| l.to_string());
            let query = [
                ("action", action.as_deref()),
                ("target", target.as_deref()),
                ("user_id", user.as_deref()),
                ("result", result.as_deref()),
                ("limit", limit.as_deref()),
            ];
            let body = client.get("/v1/management/audit", &query).await?;
            Ok(Output::List {
                columns: &["at", "user_id", "action", "target", "result", "detail"],
                rows: list_under(&body, "audit")?,
            })
        }
    }
}

async fn devices(client: &Client, command: DevicesCommand) -> Result<Output, CliError> {
    let one = |id: &str| format!("/v1/management/devices/{}", path_segment(id));
    let body = match command {
        DevicesCommand::List { kind, state } => {
            let query = [("kind", kind.as_deref()), ("state", state.as_deref())];
            let body = client.get("/v1/management/devices", &query).await?;
            let rows = list_under(&body, "devices")?
                .into_iter()
                .map(|mut device| {
                    device["version"] = device["facts"]["version"].clone();
                    device["ha_role"] = device["facts"]["ha_role"].clone();
                    device
                })
                .collect();
            return Ok(Output::List {
                columns: &[
                    "id",
                    "name",
                    "kind",
                    "state",
                    "provider",
                    "version",
                    "ha_role",
                    "last_seen",
                ],
                rows,
            });
        }
        DevicesCommand::Show { id } => client.get(&one(&id), &[]).await?,
        DevicesCommand::SetState { id, state } => {
            let body = serde_json::json!({ "state": state });
            client
                .send(Method::PATCH, &one(&id), &[], Some(&body))
                .await?
        }
        DevicesCommand::Refresh { id } => {
            let path = format!("{}/refresh", one(&id));
            client.send(Method::POST, &path, &[], None).await?
        }
        DevicesCommand::Sync { id } => {
            let path = format!("{}/sync", one(&id));
            client.send(Method::POST, &path, &[], None).await?
        }
    };
    Ok(Output::Object(body.get("device").cloned().unwrap_or(body)))
}

async fn alerts(client: &Client, command: AlertsCommand) -> Result<Output, CliError> {
    match command {
        AlertsCommand::List { filter, resolved } => {
            let mut query: Vec<(&str, &str)> =
                filter.iter().map(|f| ("filter", f.as_str())).collect();
            if resolved {
                query.push(("resolved", "true"));
            }
            let body = client
                .send(Method::GET, "/v1/management/alerts", &query, None)
                .await?;
            let rows = list_under(&body, "alerts")?
                .into_iter()
                .map(|mut alert| {
                    alert["alertname"] = alert["labels"]["alertname"].clone();
                    alert["device"] = alert["labels"]["device"].clone();
                    alert
                })
                .collect();
            Ok(Output::List {
                columns: &[
                    "fingerprint",
                    "status",
                    "alertname",
                    "device",
                    "starts_at",
                    "acknowledged_by",
                ],
                rows,
            })
        }
        AlertsCommand::Acknowledge { fingerprint } => {
            let path = format!(
                "/v1/management/alerts/{}/acknowledge",
                path_segment(&fingerprint)
            );
            let body = client.send(Method::POST, &path, &[], None).await?;
            Ok(Output::Object(body.get("alert").cloned().unwrap_or(body)))
        }
    }
}

/// `text` percent-encoded for one path segment.
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The array under `key` of a response body.
pub fn list_under(body: &Value, key: &str) -> Result<Vec<Value>, CliError> {
    body.get(key)
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| CliError::Unexpected(format!("no {key:?} list in the answer: {body}")))
}
