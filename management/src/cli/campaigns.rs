//! `fulcrum manage campaigns ...`: create, list, show, steer and follow hotfix and upgrade
//! campaigns. `watch` (and `create --watch`) follows one with a live display of its progress,
//! overall and per device, until it ends or pauses: on a terminal it redraws in place, elsewhere
//! it prints a line whenever something changed.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

use super::{CliError, Client, Output, list_under, path_segment};

/// `fulcrum manage campaigns ...`.
#[derive(Debug, Subcommand)]
pub enum CampaignsCommand {
    /// Campaigns, newest first.
    List {
        /// Only campaigns in this state (`running`, `paused`, `completed`, ...).
        #[arg(long)]
        state: Option<String>,
    },
    /// One campaign and each of its devices.
    Show {
        /// The campaign's id.
        id: String,
    },
    /// Start a campaign.
    Create {
        /// Its name.
        #[arg(long)]
        name: String,
        /// `hotfix` or `image`.
        #[arg(long, default_value = "hotfix")]
        target_kind: String,
        /// The ISO's name, already on the devices.
        #[arg(long)]
        iso: String,
        /// The version the devices run once done.
        #[arg(long)]
        version: String,
        /// Only devices of this kind.
        #[arg(long)]
        kind: Option<String>,
        /// Only these devices (repeat the flag).
        #[arg(long = "device")]
        devices: Vec<String>,
        /// Only devices of this provider.
        #[arg(long)]
        provider: Option<String>,
        /// The policy (`default` when absent).
        #[arg(long)]
        policy: Option<String>,
        /// Devices changed at once, overriding the policy.
        #[arg(long)]
        max_parallel: Option<usize>,
        /// Canary devices, overriding the policy.
        #[arg(long)]
        canary: Option<usize>,
        /// Take no backup before each change.
        #[arg(long)]
        no_backup: bool,
        /// Follow it until it ends or pauses.
        #[arg(long)]
        watch: bool,
    },
    /// Follow a campaign until it ends or pauses.
    Watch {
        /// The campaign's id.
        id: String,
        /// Milliseconds between two looks.
        #[arg(long, default_value_t = 1000)]
        interval_ms: u64,
    },
    /// Start no new device (devices under way finish).
    Pause {
        /// The campaign's id.
        id: String,
    },
    /// Go on after a pause, looking again at failed devices.
    Resume {
        /// The campaign's id.
        id: String,
    },
    /// Stop for good (devices under way finish).
    Abort {
        /// The campaign's id.
        id: String,
    },
    /// Put the changed devices back on the volume they ran before.
    Rollback {
        /// The campaign's id.
        id: String,
    },
    /// What happened to each device, step by step.
    History {
        /// The campaign's id.
        id: String,
    },
    /// The policies campaigns may name.
    Policies,
}

const CAMPAIGN_COLUMNS: &[&str] = &[
    "id", "name", "state", "version", "done", "percent", "reason",
];

const DEVICE_COLUMNS: &[&str] = &["name", "role", "phase", "progress", "step", "error"];

/// Run a campaigns command.
pub async fn run(client: &Client, command: CampaignsCommand) -> Result<Output, CliError> {
    let one = |id: &str| format!("/v1/management/campaigns/{}", path_segment(id));
    let (body, watch) = match command {
        CampaignsCommand::List { state } => {
            let body = client
                .get("/v1/management/campaigns", &[("state", state.as_deref())])
                .await?;
            let rows = list_under(&body, "campaigns")?
                .into_iter()
                .map(summary)
                .collect();
            return Ok(Output::List {
                columns: CAMPAIGN_COLUMNS,
                rows,
            });
        }
        CampaignsCommand::Show { id } => {
            let body = client.get(&one(&id), &[]).await?;
            return Ok(with_devices(&body["campaign"]));
        }
        CampaignsCommand::History { id } => {
            let body = client.get(&format!("{}/history", one(&id)), &[]).await?;
            return Ok(Output::List {
                columns: &["at_ms", "device_id", "phase", "step", "action", "detail"],
                rows: list_under(&body, "history")?,
            });
        }
        CampaignsCommand::Policies => {
            let body = client.get("/v1/management/campaign-policies", &[]).await?;
            return Ok(Output::List {
                columns: &[
                    "name",
                    "max_parallel",
                    "canary",
                    "backup",
                    "gates",
                    "windows",
                ],
                rows: list_under(&body, "campaign_policies")?,
            });
        }
        CampaignsCommand::Create {
            name,
            target_kind,
            iso,
            version,
            kind,
            devices,
            provider,
            policy,
            max_parallel,
            canary,
            no_backup,
            watch,
        } => {
            let mut request = json!({
                "name": name,
                "target": {"kind": target_kind, "name": iso, "version": version},
                "devices": {"kind": kind, "provider": provider},
                "policy": policy,
                "max_parallel": max_parallel,
                "canary": canary,
            });
            if !devices.is_empty() {
                request["devices"]["names"] = json!(devices);
            }
            if no_backup {
                request["backup"] = json!(false);
            }
            let body = client
                .send(
                    Method::POST,
                    "/v1/management/campaigns",
                    &[],
                    Some(&request),
                )
                .await?;
            (body, watch.then_some(1000))
        }
        CampaignsCommand::Watch { id, interval_ms } => {
            (client.get(&one(&id), &[]).await?, Some(interval_ms))
        }
        CampaignsCommand::Pause { id } => (act(client, &one(&id), "pause").await?, None),
        CampaignsCommand::Resume { id } => (act(client, &one(&id), "resume").await?, None),
        CampaignsCommand::Abort { id } => (act(client, &one(&id), "abort").await?, None),
        CampaignsCommand::Rollback { id } => (act(client, &one(&id), "rollback").await?, None),
    };
    let campaign = body["campaign"].clone();
    match watch {
        Some(interval_ms) => follow(client, &campaign, interval_ms).await,
        None => Ok(with_devices(&campaign)),
    }
}

async fn act(client: &Client, path: &str, action: &str) -> Result<Value, CliError> {
    client
        .send(Method::POST, &format!("{path}/{action}"), &[], None)
        .await
}

/// A campaign's row: its counts flattened.
fn summary(mut campaign: Value) -> Value {
    let progress = campaign["progress"].clone();
    campaign["version"] = campaign["target"]["version"].clone();
    campaign["done"] = json!(format!("{}/{}", progress["done"], progress["total"]));
    campaign["percent"] = json!(format!("{}%", progress["percent"]));
    campaign
}

/// A campaign's fields, then its devices.
fn with_devices(campaign: &Value) -> Output {
    let mut fields = summary(campaign.clone());
    let devices = fields
        .as_object_mut()
        .and_then(|o| o.remove("devices"))
        .and_then(|d| d.as_array().cloned())
        .unwrap_or_default();
    for key in ["progress", "target", "policy"] {
        if let Some(o) = fields.as_object_mut() {
            o.remove(key);
        }
    }
    Output::Detail {
        json: campaign.clone(),
        object: fields,
        columns: DEVICE_COLUMNS,
        rows: devices,
    }
}

/// Follow `campaign` until it ends or pauses; its final state, or an error when it did not
/// complete.
async fn follow(client: &Client, campaign: &Value, interval_ms: u64) -> Result<Output, CliError> {
    let id = campaign["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("/v1/management/campaigns/{}", path_segment(&id));
    let terminal = std::io::stdout().is_terminal();
    let mut last = String::new();
    loop {
        let body = client.get(&path, &[]).await?;
        let campaign = &body["campaign"];
        let frame = progress_frame(campaign);
        if frame != last {
            let mut out = std::io::stdout().lock();
            if terminal {
                // Home and clear, then draw the frame again.
                let _ = write!(out, "\x1b[H\x1b[2J{frame}");
            } else {
                let _ = write!(out, "{frame}");
            }
            let _ = out.flush();
            last = frame;
        }
        let state = campaign["state"].as_str().unwrap_or_default();
        match state {
            "completed" | "rolled_back" => return Ok(with_devices(campaign)),
            "paused" | "aborted" => {
                return Err(CliError::Unfinished(format!(
                    "campaign {id} is {state}{}",
                    campaign["reason"]
                        .as_str()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                )));
            }
            _ => tokio::time::sleep(Duration::from_millis(interval_ms.max(100))).await,
        }
    }
}

/// The progress display: the campaign overall, then each device under way or failed.
pub fn progress_frame(campaign: &Value) -> String {
    let progress = &campaign["progress"];
    let percent = progress["percent"].as_u64().unwrap_or(0).min(100) as usize;
    let filled = percent / 5;
    let mut frame = format!(
        "{} {} [{}{}] {percent}% | {} done, {} in progress, {} failed, {} pending of {}\n",
        campaign["name"].as_str().unwrap_or_default(),
        campaign["state"].as_str().unwrap_or_default(),
        "#".repeat(filled),
        ".".repeat(20 - filled),
        progress["done"],
        progress["in_progress"],
        progress["failed"],
        progress["pending"],
        progress["total"],
    );
    for device in campaign["devices"].as_array().into_iter().flatten() {
        let state = device["progress"].as_str().unwrap_or_default();
        if state == "in_progress" || state == "failed" {
            frame.push_str(&format!(
                "  {:<24} {:<11} {:<9}{}\n",
                device["name"].as_str().unwrap_or_default(),
                state,
                device["step"].as_str().unwrap_or_default(),
                device["error"]
                    .as_str()
                    .map(|e| format!(" {e}"))
                    .unwrap_or_default()
            ));
        }
    }
    if let Some(reason) = campaign["reason"].as_str() {
        frame.push_str(&format!("  reason: {reason}\n"));
    }
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frame_shows_the_whole_and_the_devices_under_way() {
        let campaign = json!({
            "name": "hotfix", "state": "running",
            "progress": {"total": 4, "pending": 1, "in_progress": 1, "done": 1, "failed": 1,
                         "percent": 25},
            "devices": [
                {"name": "a", "progress": "done", "step": "gates"},
                {"name": "b", "progress": "in_progress", "step": "install"},
                {"name": "c", "progress": "failed", "step": "gates", "error": "HA is not in sync"},
                {"name": "d", "progress": "pending", "step": "backup"},
            ],
        });
        let frame = progress_frame(&campaign);
        let lines: Vec<&str> = frame.lines().collect();
        assert_eq!(
            lines[0],
            "hotfix running [#####...............] 25% | 1 done, 1 in progress, 1 failed, 1 \
             pending of 4"
        );
        assert!(lines[1].starts_with("  b ") && lines[1].contains("install"));
        assert!(lines[2].contains("failed") && lines[2].ends_with("HA is not in sync"));
        assert_eq!(lines.len(), 3);
    }
}
