//! How the API shows alerts and silences: Alertmanager's `gettableAlert` and `gettableSilence`
//! under `/v1/management/api/v2/`, and Fulcrum's own alert, with its acknowledgement, under
//! `/v1/management/alerts`.

use serde::Serialize;
use utoipa::ToSchema;

use super::Evaluated;
use super::model::{Labels, rfc3339};
use super::silences::{ApiMatcher, Silence};

/// Alertmanager's `gettableAlert`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GettableAlert {
    /// The hash of its labels.
    pub fingerprint: String,
    /// Whether it is muted, and by what.
    pub status: AlertStatus,
    /// The receivers it is routed to.
    pub receivers: Vec<ReceiverName>,
    /// When it started firing (RFC 3339).
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    /// When it ends or ended (RFC 3339).
    #[serde(rename = "endsAt")]
    pub ends_at: Option<String>,
    /// When it was last posted or raised (RFC 3339).
    #[serde(rename = "updatedAt")]
    pub updated_at: String,
    /// Its identity.
    pub labels: Labels,
    /// What it says.
    pub annotations: Labels,
    /// Where it came from.
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
}

/// Alertmanager's `alertStatus`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertStatus {
    /// `active`, or `suppressed` by a silence or an inhibiting alert.
    #[schema(pattern = "^(active|suppressed)$")]
    pub state: &'static str,
    /// The ids of the silences muting it.
    #[serde(rename = "silencedBy")]
    pub silenced_by: Vec<String>,
    /// The fingerprints of the alerts inhibiting it.
    #[serde(rename = "inhibitedBy")]
    pub inhibited_by: Vec<String>,
}

/// A receiver, by name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReceiverName {
    /// Its name in `[management.alerts]`.
    pub name: String,
}

/// An alert as Fulcrum shows it, with its acknowledgement.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertView {
    /// The hash of its labels.
    pub fingerprint: String,
    /// `firing`, or `resolved` once its end is past.
    #[schema(pattern = "^(firing|resolved)$")]
    pub status: &'static str,
    /// Its identity.
    pub labels: Labels,
    /// What it says.
    pub annotations: Labels,
    /// When it started firing (RFC 3339).
    pub starts_at: String,
    /// When it ends or ended (RFC 3339).
    pub ends_at: Option<String>,
    /// When it was last posted or raised (RFC 3339).
    pub updated_at: String,
    /// Where it came from.
    pub generator_url: String,
    /// The ids of the silences muting it.
    pub silenced_by: Vec<String>,
    /// The fingerprints of the alerts inhibiting it.
    pub inhibited_by: Vec<String>,
    /// Whether someone acknowledged it.
    pub acknowledged: bool,
    /// Who acknowledged it (empty for an anonymous caller).
    pub acknowledged_by: Option<String>,
    /// When it was acknowledged (RFC 3339).
    pub acknowledged_at: Option<String>,
}

/// Alertmanager's `gettableSilence`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GettableSilence {
    /// Its id.
    pub id: String,
    /// Where it stands now.
    pub status: SilenceStatus,
    /// When it was last changed (RFC 3339).
    #[serde(rename = "updatedAt")]
    pub updated_at: String,
    /// What it mutes.
    pub matchers: Vec<ApiMatcher>,
    /// From when (RFC 3339).
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    /// Until when (RFC 3339).
    #[serde(rename = "endsAt")]
    pub ends_at: String,
    /// Who made it.
    #[serde(rename = "createdBy")]
    pub created_by: String,
    /// Why.
    pub comment: String,
}

/// Alertmanager's `silenceStatus`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SilenceStatus {
    /// `pending`, `active` or `expired`.
    #[schema(pattern = "^(pending|active|expired)$")]
    pub state: &'static str,
}

impl Evaluated {
    /// Alertmanager's `gettableAlert`, routed to `receivers`.
    pub fn to_api(&self, receivers: &[String]) -> GettableAlert {
        let alert = &self.alert;
        GettableAlert {
            fingerprint: alert.fingerprint.clone(),
            status: AlertStatus {
                state: if self.is_suppressed() {
                    "suppressed"
                } else {
                    "active"
                },
                silenced_by: self.silenced_by.clone(),
                inhibited_by: self.inhibited_by.clone(),
            },
            receivers: receivers
                .iter()
                .map(|name| ReceiverName { name: name.clone() })
                .collect(),
            starts_at: rfc3339(alert.starts_at_ms),
            ends_at: alert.ends_at_ms.map(rfc3339),
            updated_at: rfc3339(alert.updated_at_ms),
            labels: alert.labels.clone(),
            annotations: alert.annotations.clone(),
            generator_url: alert.generator_url.clone(),
        }
    }

    /// Fulcrum's shape of it at `now_ms`, with its acknowledgement.
    pub fn to_fulcrum(&self, now_ms: i64) -> AlertView {
        let alert = &self.alert;
        AlertView {
            fingerprint: alert.fingerprint.clone(),
            status: if alert.is_resolved(now_ms) {
                "resolved"
            } else {
                "firing"
            },
            labels: alert.labels.clone(),
            annotations: alert.annotations.clone(),
            starts_at: rfc3339(alert.starts_at_ms),
            ends_at: alert.ends_at_ms.map(rfc3339),
            updated_at: rfc3339(alert.updated_at_ms),
            generator_url: alert.generator_url.clone(),
            silenced_by: self.silenced_by.clone(),
            inhibited_by: self.inhibited_by.clone(),
            acknowledged: alert.acknowledged_at_ms.is_some(),
            acknowledged_by: alert.acknowledged_by.clone(),
            acknowledged_at: alert.acknowledged_at_ms.map(rfc3339),
        }
    }
}

impl Silence {
    /// Alertmanager's `gettableSilence` at `now_ms`.
    pub fn to_api(&self, now_ms: i64) -> GettableSilence {
        GettableSilence {
            id: self.id.clone(),
            status: SilenceStatus {
                state: self.state(now_ms).as_str(),
            },
            updated_at: rfc3339(self.updated_at_ms),
            matchers: self.api_matchers.clone(),
            starts_at: rfc3339(self.starts_at_ms),
            ends_at: rfc3339(self.ends_at_ms),
            created_by: self.created_by.clone(),
            comment: self.comment.clone(),
        }
    }
}
