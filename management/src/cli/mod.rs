//! The operator's command line for the management API: `fulcrum manage <area> <verb>`, a client
//! of a running Fulcrum that prints tables (as the `openstack` command does) or JSON.
//!
//! It speaks HTTP only, so it runs anywhere the API is reachable and needs no configuration file:
//! the URL, and a Keystone token (`--os-token`, `OS_TOKEN`) or, for a Fulcrum without Keystone,
//! nothing (the caller is then an administrator) come from flags or the environment.

mod client;
mod table;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;

pub use client::{CliError, Client};
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

/// The array under `key` of a response body.
pub fn list_under(body: &Value, key: &str) -> Result<Vec<Value>, CliError> {
    body.get(key)
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| CliError::Unexpected(format!("no {key:?} list in the answer: {body}")))
}
