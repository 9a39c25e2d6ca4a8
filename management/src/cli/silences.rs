//! `fulcrum manage silences ...`: the Alertmanager-compatible silences
//! (`/v1/management/api/v2/silences`) from the command line, as `amtool silence` offers them:
//! list, create from matchers and a duration, expire.

use clap::Subcommand;
use fulcrum_core::timestamp::now_millis;
use reqwest::Method;
use serde_json::{Value, json};

use super::{CliError, Client, Output, path_segment};
use crate::alerts::matchers::{MatchType, Matcher};
use crate::alerts::model::rfc3339;
use crate::alerts::silences::ApiMatcher;

const COLUMNS: &[&str] = &[
    "id",
    "state",
    "matchers_text",
    "startsAt",
    "endsAt",
    "createdBy",
    "comment",
];

/// `fulcrum manage silences ...`.
#[derive(Debug, Subcommand)]
pub enum SilencesCommand {
    /// Active and pending silences, newest first (expired ones instead with `--expired`).
    List {
        /// Matchers the silences' own matchers must satisfy (`alertname="DiskFull"`).
        #[arg(long)]
        filter: Vec<String>,
        /// Show expired silences instead.
        #[arg(long)]
        expired: bool,
    },
    /// Silence the alerts matching every `--matcher`, from now for `--duration`.
    Create {
        /// A matcher: `alertname="DiskFull"`, `device=~"bigip-.*"`, `severity!="info"`;
        /// repeat it for several.
        #[arg(long = "matcher", required = true)]
        matchers: Vec<String>,
        /// How long: `90s`, `30m`, `2h`, `1d`, `1h30m`.
        #[arg(long)]
        duration: String,
        /// Why.
        #[arg(long)]
        comment: String,
        /// Who makes it (the user running the command, `$USER`, by default).
        #[arg(long)]
        created_by: Option<String>,
    },
    /// End a silence now.
    Expire {
        /// The silence's id.
        id: String,
    },
}

/// Run a silences command.
pub async fn run(client: &Client, command: SilencesCommand) -> Result<Output, CliError> {
    match command {
        SilencesCommand::List { filter, expired } => {
            let query: Vec<(&str, &str)> = filter.iter().map(|f| ("filter", f.as_str())).collect();
            let body = client
                .send(Method::GET, "/v1/management/api/v2/silences", &query, None)
                .await?;
            let rows = match body {
                Value::Array(rows) => rows,
                other => return Err(CliError::Unexpected(format!("not a list: {other}"))),
            };
            let rows = rows
                .into_iter()
                .filter(|s| (s["status"]["state"] == "expired") == expired)
                .map(shown)
                .collect();
            Ok(Output::List {
                columns: COLUMNS,
                rows,
            })
        }
        SilencesCommand::Create {
            matchers,
            duration,
            comment,
            created_by,
        } => {
            let matchers = matchers
                .iter()
                .map(|text| api_matcher(text))
                .collect::<Result<Vec<_>, _>>()?;
            let duration_ms = parse_duration(&duration)
                .map_err(|e| CliError::Usage(format!("--duration: {e}")))?;
            let created_by = created_by
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "fulcrum manage".to_owned());
            let now = now_millis();
            let body = json!({
                "matchers": matchers,
                "startsAt": rfc3339(now),
                "endsAt": rfc3339(now.saturating_add(duration_ms)),
                "createdBy": created_by,
                "comment": comment,
            });
            let created = client
                .send(
                    Method::POST,
                    "/v1/management/api/v2/silences",
                    &[],
                    Some(&body),
                )
                .await?;
            let id = created["silenceID"]
                .as_str()
                .ok_or_else(|| CliError::Unexpected(format!("no silenceID: {created}")))?;
            show(client, id).await
        }
        SilencesCommand::Expire { id } => {
            client.send(Method::DELETE, &one(&id), &[], None).await?;
            show(client, &id).await
        }
    }
}

fn one(id: &str) -> String {
    format!("/v1/management/api/v2/silence/{}", path_segment(id))
}

async fn show(client: &Client, id: &str) -> Result<Output, CliError> {
    let silence = client.get(&one(id), &[]).await?;
    Ok(Output::Object(shown(silence)))
}

/// A silence with its state and matchers as one line each, for tables.
fn shown(mut silence: Value) -> Value {
    silence["state"] = silence["status"]["state"].clone();
    let matchers: Vec<ApiMatcher> =
        serde_json::from_value(silence["matchers"].clone()).unwrap_or_default();
    let text: Vec<String> = matchers
        .iter()
        .map(|m| {
            let operator = match (m.is_regex, m.is_equal) {
                (false, true) => "=",
                (false, false) => "!=",
                (true, true) => "=~",
                (true, false) => "!~",
            };
            format!("{}{operator}{:?}", m.name, m.value)
        })
        .collect();
    silence["matchers_text"] = json!(text.join(", "));
    silence
}

/// A matcher's text as the silences API takes it.
fn api_matcher(text: &str) -> Result<ApiMatcher, CliError> {
    let matcher = Matcher::parse(text).map_err(|e| CliError::Usage(format!("--matcher: {e}")))?;
    let Matcher {
        name, kind, value, ..
    } = matcher;
    Ok(ApiMatcher {
        name,
        value,
        is_regex: matches!(kind, MatchType::Regex | MatchType::NotRegex),
        is_equal: matches!(kind, MatchType::Equal | MatchType::Regex),
    })
}

/// Milliseconds from a duration such as `90s`, `30m`, `2h`, `1d` or `1h30m`.
fn parse_duration(text: &str) -> Result<i64, String> {
    let invalid = || format!("{text:?} is not a duration such as 90s, 30m, 2h, 1d or 1h30m.");
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: i64 = match c {
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            _ => return Err(invalid()),
        };
        let count: i64 = digits.parse().map_err(|_| invalid())?;
        total = count
            .checked_mul(unit)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(invalid)?;
        digits.clear();
    }
    if !digits.is_empty() || total == 0 {
        return Err(invalid());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_read_as_amtool_writes_them() {
        assert_eq!(parse_duration("90s"), Ok(90_000));
        assert_eq!(parse_duration("2h"), Ok(7_200_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("1d"), Ok(86_400_000));
        for bad in [
            "",
            "2",
            "0h",
            "h",
            "2y",
            "-1h",
            "1.5h",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn matchers_are_sent_in_the_apis_shape() {
        let m = api_matcher("device!~\"bigip-.*\"").unwrap();
        assert_eq!(
            (m.name.as_str(), m.value.as_str(), m.is_regex, m.is_equal),
            ("device", "bigip-.*", true, false)
        );
        let m = api_matcher("alertname=DiskFull").unwrap();
        assert!(!m.is_regex && m.is_equal);
        assert!(api_matcher("alertname").is_err());
        assert!(api_matcher("device=~\"(\"").is_err());
    }
}
