//! `fulcrum manage licenses pools ...` (license pools: list, show with their masked keys,
//! create with keys or seats, add keys, renew, delete) and `fulcrum manage licenses ...`
//! (the licenses given to devices: list, assign, revoke).

use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

use super::{CliError, Client, Output, list_under, path_segment};

const POOLS: &str = "/v1/management/license-pools";

/// `fulcrum manage licenses ...`.
#[derive(Debug, Subcommand)]
pub enum LicensesCommand {
    /// License pools.
    Pools {
        /// What to do with them.
        #[command(subcommand)]
        command: PoolsCommand,
    },
    /// Licenses given to devices, newest first.
    List {
        /// Only those of this pool (its id).
        #[arg(long)]
        pool: Option<String>,
        /// Only those of this device (its id).
        #[arg(long)]
        device: Option<String>,
        /// Only those `installing`, `active` or `revoked`.
        #[arg(long)]
        state: Option<String>,
    },
    /// Give a device a license of a pool (its key installed on the device).
    Assign {
        /// The pool's id.
        pool: String,
        /// The device's id.
        #[arg(long)]
        device: String,
    },
    /// Give a license back to its pool (its key revoked on the device).
    Revoke {
        /// The license's id.
        id: String,
    },
}

/// `fulcrum manage licenses pools ...`.
#[derive(Debug, Subcommand)]
pub enum PoolsCommand {
    /// Pools, with their usage.
    List,
    /// One pool, with its keys (masked).
    Show {
        /// The pool's id.
        id: String,
    },
    /// Make a pool of registration keys (`--key`, repeated) or of seats (`--seats`).
    Create {
        /// Its name.
        name: String,
        /// The kind of device its licenses are for (`bigip`, `haproxy_host`, ...).
        #[arg(long)]
        device_kind: String,
        /// A registration key; may repeat.
        #[arg(long = "key")]
        keys: Vec<String>,
        /// A count of seats instead of keys.
        #[arg(long)]
        seats: Option<i64>,
        /// The day its licenses end (`YYYY-MM-DD`).
        #[arg(long)]
        expires_on: String,
        /// Days ahead of the end at which `LicenseExpiring` is raised (30).
        #[arg(long)]
        alert_ahead_days: Option<i64>,
        /// Give a license to each device of its kind when it is registered.
        #[arg(long)]
        assign_on_registration: bool,
    },
    /// Add registration keys to a pool.
    AddKeys {
        /// The pool's id.
        id: String,
        /// A registration key; may repeat.
        #[arg(long = "key", required = true)]
        keys: Vec<String>,
    },
    /// Renew a pool: its new end.
    Renew {
        /// The pool's id.
        id: String,
        /// The day its licenses now end (`YYYY-MM-DD`).
        #[arg(long)]
        expires_on: String,
    },
    /// Delete a pool none of whose licenses is assigned.
    Delete {
        /// The pool's id.
        id: String,
    },
}

const POOL_COLUMNS: &[&str] = &[
    "id",
    "name",
    "device_kind",
    "kind",
    "total",
    "assigned",
    "available",
    "expires_on",
    "assign_on_registration",
];

const LICENSE_COLUMNS: &[&str] = &[
    "id",
    "pool_id",
    "device_id",
    "key",
    "seat",
    "state",
    "assigned_at",
    "revoked_at",
];

/// A pool as a row: its usage flattened.
fn pool_row(mut pool: Value) -> Value {
    for field in ["total", "assigned", "available"] {
        pool[field] = pool["usage"][field].clone();
    }
    pool
}

fn pool_under(body: Value) -> Value {
    body.get("license_pool").cloned().unwrap_or(body)
}

fn license_under(body: Value) -> Output {
    Output::Object(body.get("license").cloned().unwrap_or(body))
}

/// Run a licenses command.
pub async fn run(client: &Client, command: LicensesCommand) -> Result<Output, CliError> {
    match command {
        LicensesCommand::Pools { command } => pools(client, command).await,
        LicensesCommand::List {
            pool,
            device,
            state,
        } => {
            let query = [
                ("pool_id", pool.as_deref()),
                ("device_id", device.as_deref()),
                ("state", state.as_deref()),
            ];
            let body = client.get("/v1/management/licenses", &query).await?;
            Ok(Output::List {
                columns: LICENSE_COLUMNS,
                rows: list_under(&body, "licenses")?,
            })
        }
        LicensesCommand::Assign { pool, device } => {
            let path = format!("{POOLS}/{}/assign", path_segment(&pool));
            let body = json!({ "device_id": device });
            let assigned = client.send(Method::POST, &path, &[], Some(&body)).await?;
            Ok(license_under(assigned))
        }
        LicensesCommand::Revoke { id } => {
            let path = format!("/v1/management/licenses/{}/revoke", path_segment(&id));
            Ok(license_under(
                client.send(Method::POST, &path, &[], None).await?,
            ))
        }
    }
}

async fn pools(client: &Client, command: PoolsCommand) -> Result<Output, CliError> {
    let one = |id: &str| format!("{POOLS}/{}", path_segment(id));
    match command {
        PoolsCommand::List => {
            let body = client.get(POOLS, &[]).await?;
            Ok(Output::List {
                columns: POOL_COLUMNS,
                rows: list_under(&body, "license_pools")?
                    .into_iter()
                    .map(pool_row)
                    .collect(),
            })
        }
        PoolsCommand::Show { id } => {
            let json = client.get(&one(&id), &[]).await?;
            let mut object = pool_row(pool_under(json.clone()));
            let rows = list_under(&object, "keys")?;
            if let Some(fields) = object.as_object_mut() {
                fields.remove("keys");
                fields.remove("usage");
            }
            Ok(Output::Detail {
                json,
                object,
                columns: &["id", "key", "device_id", "refused"],
                rows,
            })
        }
        PoolsCommand::Create {
            name,
            device_kind,
            keys,
            seats,
            expires_on,
            alert_ahead_days,
            assign_on_registration,
        } => {
            let mut body = json!({
                "name": name, "device_kind": device_kind, "expires_on": expires_on,
                "assign_on_registration": assign_on_registration,
            });
            if let Some(seats) = seats {
                body["seats"] = json!(seats);
            }
            if seats.is_none() || !keys.is_empty() {
                body["keys"] = json!(keys);
            }
            if let Some(days) = alert_ahead_days {
                body["alert_ahead_days"] = json!(days);
            }
            let created = client.send(Method::POST, POOLS, &[], Some(&body)).await?;
            Ok(Output::Object(pool_row(pool_under(created))))
        }
        PoolsCommand::AddKeys { id, keys } => {
            let path = format!("{}/keys", one(&id));
            let body = json!({ "keys": keys });
            let changed = client.send(Method::POST, &path, &[], Some(&body)).await?;
            Ok(Output::Object(pool_row(pool_under(changed))))
        }
        PoolsCommand::Renew { id, expires_on } => {
            let body = json!({ "expires_on": expires_on });
            let changed = client
                .send(Method::PATCH, &one(&id), &[], Some(&body))
                .await?;
            Ok(Output::Object(pool_row(pool_under(changed))))
        }
        PoolsCommand::Delete { id } => {
            client.send(Method::DELETE, &one(&id), &[], None).await?;
            Ok(Output::Object(json!({ "deleted": id })))
        }
    }
}
