//! Silences: matchers that mute the alerts they match between two times, in Alertmanager's
//! shapes (`postableSilence` in, `gettableSilence` out). A silenced alert is still recorded and
//! listed (as `suppressed`, with `silencedBy`), but no receiver is notified of it. Expiring a
//! silence ends it now; an expired silence is kept for the record and silences nothing.

use serde::{Deserialize, Serialize};

use super::matchers::{MatchType, Matcher};
use super::model::{Labels, parse_rfc3339};

/// A matcher as the silences API writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiMatcher {
    /// The label.
    pub name: String,
    /// The value, or the regex.
    pub value: String,
    /// Whether `value` is a regex.
    #[serde(rename = "isRegex")]
    pub is_regex: bool,
    /// `false` for a negative matcher (`!=`, `!~`); `true` when absent.
    #[serde(rename = "isEqual", default = "yes")]
    #[schema(default = true)]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

impl ApiMatcher {
    /// The matcher it describes.
    pub fn to_matcher(&self) -> Result<Matcher, String> {
        let kind = match (self.is_regex, self.is_equal) {
            (false, true) => MatchType::Equal,
            (false, false) => MatchType::NotEqual,
            (true, true) => MatchType::Regex,
            (true, false) => MatchType::NotRegex,
        };
        Matcher::new(&self.name, kind, &self.value)
    }
}

/// A silence as posted (Alertmanager's `postableSilence`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"matchers": [{"name": "device", "value": "bigip-1", "isRegex": false}],
    "startsAt": "2026-11-30T20:00:00Z", "endsAt": "2099-12-01T02:00:00Z",
    "createdBy": "operator", "comment": "maintenance of bigip-1"}))]
pub struct PostableSilence {
    /// The silence to replace, when updating one.
    #[serde(default)]
    pub id: Option<String>,
    /// What it mutes; at least one.
    pub matchers: Vec<ApiMatcher>,
    /// From when.
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    /// Until when.
    #[serde(rename = "endsAt")]
    pub ends_at: String,
    /// Who made it.
    #[serde(rename = "createdBy")]
    pub created_by: String,
    /// Why.
    pub comment: String,
}

/// A recorded silence.
#[derive(Debug, Clone)]
pub struct Silence {
    /// Its id.
    pub id: String,
    /// What it mutes, as posted.
    pub api_matchers: Vec<ApiMatcher>,
    /// The same, compiled.
    pub matchers: Vec<Matcher>,
    /// From when.
    pub starts_at_ms: i64,
    /// Until when.
    pub ends_at_ms: i64,
    /// When it was last changed.
    pub updated_at_ms: i64,
    /// Who made it.
    pub created_by: String,
    /// Why.
    pub comment: String,
}

/// A silence's state at some moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SilenceState {
    /// Not started yet.
    Pending,
    /// Muting.
    Active,
    /// Over.
    Expired,
}

impl SilenceState {
    /// Alertmanager's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Pending => "pending",
            SilenceState::Active => "active",
            SilenceState::Expired => "expired",
        }
    }
}

impl PostableSilence {
    /// Check it at `now_ms`: at least one matcher, each valid, times in order and the end not
    /// already past, a creator and a comment.
    pub fn validate(&self, now_ms: i64) -> Result<(Vec<Matcher>, i64, i64), String> {
        if self.matchers.is_empty() {
            return Err("a silence needs at least one matcher.".to_owned());
        }
        let matchers = self
            .matchers
            .iter()
            .map(ApiMatcher::to_matcher)
            .collect::<Result<Vec<_>, _>>()?;
        let starts = parse_rfc3339("startsAt", &self.starts_at)?;
        let ends = parse_rfc3339("endsAt", &self.ends_at)?;
        if ends <= starts {
            return Err("endsAt must be after startsAt.".to_owned());
        }
        if ends <= now_ms {
            return Err("endsAt is already in the past.".to_owned());
        }
        if self.created_by.trim().is_empty() {
            return Err("createdBy is required.".to_owned());
        }
        if self.comment.trim().is_empty() {
            return Err("comment is required.".to_owned());
        }
        Ok((matchers, starts, ends))
    }
}

impl Silence {
    /// Its state at `now_ms`.
    pub fn state(&self, now_ms: i64) -> SilenceState {
        if self.ends_at_ms <= now_ms {
            SilenceState::Expired
        } else if self.starts_at_ms > now_ms {
            SilenceState::Pending
        } else {
            SilenceState::Active
        }
    }

    /// Whether it mutes an alert with `labels` at `now_ms`.
    pub fn mutes(&self, labels: &Labels, now_ms: i64) -> bool {
        self.state(now_ms) == SilenceState::Active
            && super::matchers::all_match(&self.matchers, labels)
    }
}
