//! `fulcrum manage backups ...` and `fulcrum manage backup-schedules ...`. Taking a backup
//! waits for the device, so `take` shows that it is working (a spinner and the time elapsed on
//! stderr, when stderr is a terminal) and then prints the result.

use std::future::Future;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

use super::{CliError, Client, Output, list_under, path_segment};

/// `fulcrum manage backups ...`.
#[derive(Debug, Subcommand)]
pub enum BackupsCommand {
    /// Backups, newest first.
    List {
        /// Only backups of this device (its id).
        #[arg(long)]
        device: Option<String>,
        /// Only `stored` or `failed` ones.
        #[arg(long)]
        status: Option<String>,
        /// Only those taken for this reason (`manual`, `schedule:<name>`).
        #[arg(long)]
        reason: Option<String>,
        /// At most this many.
        #[arg(long)]
        limit: Option<u32>,
    },
    /// One backup.
    Show {
        /// The backup's id.
        id: String,
    },
    /// Take a backup of a device now, showing progress until it ends.
    Take {
        /// The device's id or name.
        device: String,
    },
    /// Check that a backup is in the archive with the checksum it was stored with.
    Verify {
        /// The backup's id.
        id: String,
    },
    /// Put a backup back on its device, replacing its configuration.
    Restore {
        /// The backup's id.
        id: String,
        /// The name of the device, to confirm.
        #[arg(long)]
        confirm: String,
    },
    /// Delete a backup and its file.
    Delete {
        /// The backup's id.
        id: String,
    },
}

/// `fulcrum manage backup-schedules ...`.
#[derive(Debug, Subcommand)]
pub enum SchedulesCommand {
    /// Schedules, those of the configuration first, with their last and next runs.
    List,
    /// Make a schedule.
    Create {
        /// Its name.
        name: String,
        /// When it runs: five cron fields, in UTC (`"0 2 * * *"`).
        #[arg(long)]
        cron: String,
        /// Only devices of this kind (`bigip`, `haproxy_host`).
        #[arg(long)]
        kind: Option<String>,
        /// Only this device (by name); may repeat.
        #[arg(long = "device")]
        devices: Vec<String>,
        /// Keep the newest this many backups of each device.
        #[arg(long)]
        keep_count: Option<u32>,
        /// Remove backups older than this many days.
        #[arg(long)]
        keep_days: Option<u32>,
    },
    /// Delete a schedule made through the API.
    Delete {
        /// Its name.
        name: String,
    },
}

const COLUMNS: &[&str] = &[
    "id",
    "device_name",
    "reason",
    "status",
    "size",
    "created",
    "error",
];

/// A backup as a row: its time readable.
fn row(mut backup: Value) -> Value {
    if let Some(ms) = backup["created_ms"].as_i64() {
        backup["created"] = json!(fulcrum_core::timestamp::format_millis(ms));
    }
    backup
}

fn one(body: Value) -> Output {
    Output::Object(body.get("backup").cloned().map(row).unwrap_or(body))
}

/// Run a backups command.
pub async fn backups(client: &Client, command: BackupsCommand) -> Result<Output, CliError> {
    let path =
        |id: &str, action: &str| format!("/v1/management/backups/{}{action}", path_segment(id));
    match command {
        BackupsCommand::List {
            device,
            status,
            reason,
            limit,
        } => {
            let limit = limit.map(|l| l.to_string());
            let query = [
                ("device_id", device.as_deref()),
                ("status", status.as_deref()),
                ("reason", reason.as_deref()),
                ("limit", limit.as_deref()),
            ];
            let body = client.get("/v1/management/backups", &query).await?;
            Ok(Output::List {
                columns: COLUMNS,
                rows: list_under(&body, "backups")?.into_iter().map(row).collect(),
            })
        }
        BackupsCommand::Show { id } => Ok(one(client.get(&path(&id, ""), &[]).await?)),
        BackupsCommand::Take { device } => {
            let device = device_id(client, &device).await?;
            let take = format!("/v1/management/devices/{}/backups", path_segment(&device));
            let body = with_progress(
                "taking a backup",
                client.send(Method::POST, &take, &[], None),
            )
            .await?;
            Ok(one(body))
        }
        BackupsCommand::Verify { id } => {
            let body = client
                .send(Method::POST, &path(&id, "/verify"), &[], None)
                .await?;
            Ok(one(body))
        }
        BackupsCommand::Restore { id, confirm } => {
            let body = json!({ "confirm": confirm });
            let restored = with_progress(
                "restoring",
                client.send(Method::POST, &path(&id, "/restore"), &[], Some(&body)),
            )
            .await?;
            Ok(one(restored))
        }
        BackupsCommand::Delete { id } => {
            client
                .send(Method::DELETE, &path(&id, ""), &[], None)
                .await?;
            Ok(Output::Object(json!({ "deleted": id })))
        }
    }
}

/// Run a backup-schedules command.
pub async fn schedules(client: &Client, command: SchedulesCommand) -> Result<Output, CliError> {
    const ROOT: &str = "/v1/management/backup-schedules";
    match command {
        SchedulesCommand::List => {
            let body = client.get(ROOT, &[]).await?;
            Ok(Output::List {
                columns: &[
                    "name",
                    "cron",
                    "kind",
                    "devices",
                    "keep_count",
                    "keep_days",
                    "source",
                    "last_run",
                    "next_run",
                ],
                rows: list_under(&body, "backup_schedules")?,
            })
        }
        SchedulesCommand::Create {
            name,
            cron,
            kind,
            devices,
            keep_count,
            keep_days,
        } => {
            let body = json!({
                "name": name, "cron": cron, "kind": kind, "devices": devices,
                "keep_count": keep_count, "keep_days": keep_days,
            });
            let created = client.send(Method::POST, ROOT, &[], Some(&body)).await?;
            Ok(Output::Object(
                created.get("backup_schedule").cloned().unwrap_or(created),
            ))
        }
        SchedulesCommand::Delete { name } => {
            let path = format!("{ROOT}/{}", path_segment(&name));
            client.send(Method::DELETE, &path, &[], None).await?;
            Ok(Output::Object(json!({ "deleted": name })))
        }
    }
}

/// The id of the device named or identified by `device`.
async fn device_id(client: &Client, device: &str) -> Result<String, CliError> {
    let body = client.get("/v1/management/devices", &[]).await?;
    list_under(&body, "devices")?
        .iter()
        .find(|d| d["id"] == device || d["name"] == device)
        .and_then(|d| d["id"].as_str().map(str::to_owned))
        .ok_or_else(|| CliError::Usage(format!("no device has the id or name {device:?}")))
}

/// Wait for `work`, showing on stderr what is being done and for how long: a spinner while it
/// runs when stderr is a terminal, then the time it took.
async fn with_progress<T>(what: &str, work: impl Future<Output = T>) -> T {
    const FRAMES: [char; 4] = ['|', '/', '-', '\\'];
    let started = Instant::now();
    let terminal = std::io::stderr().is_terminal();
    if !terminal {
        eprintln!("{what}...");
    }
    let mut ticks = tokio::time::interval(Duration::from_millis(150));
    tokio::pin!(work);
    let mut frame = 0;
    loop {
        tokio::select! {
            result = &mut work => {
                let elapsed = started.elapsed().as_secs_f64();
                if terminal {
                    eprint!("\r\x1b[2K");
                }
                eprintln!("{what} took {elapsed:.1}s");
                return result;
            }
            _ = ticks.tick() => {
                if terminal {
                    let elapsed = started.elapsed().as_secs_f64();
                    eprint!("\r{} {what}... {elapsed:.1}s", FRAMES[frame % FRAMES.len()]);
                    frame += 1;
                }
            }
        }
    }
}
