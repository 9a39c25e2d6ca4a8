//! What an alert is: a label set (its identity), annotations, and the time it fires between.
//!
//! # Fingerprint
//!
//! An alert's identity is its label set; its fingerprint is the 64-bit FNV-1a hash of the labels
//! sorted by name, each name and value followed by the byte `0xff`, written as 16 lower-case hex
//! digits. That is the hash Alertmanager and Prometheus compute, so an alert forwarded to an
//! Alertmanager keeps the fingerprint it has here. Posting the same labels again updates the
//! alert that has that fingerprint; it never makes a second one.

use std::collections::BTreeMap;

use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Labels or annotations, sorted by name.
pub type Labels = BTreeMap<String, String>;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
const SEPARATOR: u8 = 0xff;

/// The fingerprint of a label set (see the module's documentation).
pub fn fingerprint(labels: &Labels) -> String {
    let mut hash = FNV_OFFSET;
    for (name, value) in labels {
        for byte in name
            .bytes()
            .chain([SEPARATOR])
            .chain(value.bytes())
            .chain([SEPARATOR])
        {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(FNV_PRIME);
        }
    }
    format!("{hash:016x}")
}

/// Whether `name` is a valid label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A moment (milliseconds since the Unix epoch) as Alertmanager writes it (RFC 3339, UTC).
pub fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// An RFC 3339 time as milliseconds since the Unix epoch; the error names `field`.
pub fn parse_rfc3339(field: &str, text: &str) -> Result<i64, String> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map(|at| (at.unix_timestamp_nanos() / 1_000_000) as i64)
        .map_err(|_| format!("{field} {text:?} is not an RFC 3339 time."))
}

/// One alert as Prometheus posts it (Alertmanager's `postableAlert`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"labels": {"alertname": "MemberDown", "device": "bigip-1"},
    "annotations": {"summary": "member 10.0.0.5:80 is down"},
    "startsAt": "2026-11-30T19:49:40Z", "generatorURL": "http://prometheus:9090/graph"}))]
pub struct PostableAlert {
    /// Its identity.
    pub labels: Labels,
    /// What it says.
    #[serde(default)]
    pub annotations: Labels,
    /// When it started firing; now when absent.
    #[serde(rename = "startsAt", default)]
    pub starts_at: Option<String>,
    /// When it stops firing; in the past for a resolved alert; absent for "until not posted
    /// again within the resolve timeout".
    #[serde(rename = "endsAt", default)]
    pub ends_at: Option<String>,
    /// Where it came from.
    #[serde(rename = "generatorURL", default)]
    pub generator_url: Option<String>,
}

/// An alert ready to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlert {
    /// Its labels (none empty).
    pub labels: Labels,
    /// Its annotations.
    pub annotations: Labels,
    /// When it started.
    pub starts_at_ms: i64,
    /// When it ends; `None` until it is cleared.
    pub ends_at_ms: Option<i64>,
    /// Where it came from.
    pub generator_url: String,
    /// For an alert raised from orchestration's events, the key that clears it.
    pub source_key: Option<String>,
}

impl PostableAlert {
    /// Check it as Alertmanager does and make it an alert received at `now_ms`: labels with an
    /// empty value are dropped, at least one must remain, names must be valid, and `endsAt`
    /// may not precede `startsAt`; without `endsAt` it ends `resolve_timeout_ms` from now.
    pub fn validate(self, now_ms: i64, resolve_timeout_ms: i64) -> Result<NewAlert, String> {
        let labels: Labels = self
            .labels
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .collect();
        if labels.is_empty() {
            return Err("an alert needs at least one label with a value.".to_owned());
        }
        if let Some(name) = labels
            .keys()
            .chain(self.annotations.keys())
            .find(|name| !valid_label_name(name))
        {
            return Err(format!("invalid label name {name:?}."));
        }
        let starts_at_ms = match self.starts_at.as_deref() {
            Some(text) if !text.is_empty() => parse_rfc3339("startsAt", text)?,
            _ => now_ms,
        };
        let ends_at_ms = match self.ends_at.as_deref() {
            Some(text) if !text.is_empty() => parse_rfc3339("endsAt", text)?,
            _ => now_ms.max(starts_at_ms) + resolve_timeout_ms,
        };
        if ends_at_ms < starts_at_ms {
            return Err("endsAt must not be before startsAt.".to_owned());
        }
        Ok(NewAlert {
            labels,
            annotations: self.annotations,
            starts_at_ms,
            ends_at_ms: Some(ends_at_ms),
            generator_url: self.generator_url.unwrap_or_default(),
            source_key: None,
        })
    }
}

/// A recorded alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Its identity's hash.
    pub fingerprint: String,
    /// Its identity.
    pub labels: Labels,
    /// What it says.
    pub annotations: Labels,
    /// When it started.
    pub starts_at_ms: i64,
    /// When it ends or ended; `None` until cleared.
    pub ends_at_ms: Option<i64>,
    /// When it was last posted or raised.
    pub updated_at_ms: i64,
    /// Where it came from.
    pub generator_url: String,
    /// The user who acknowledged it (empty for an anonymous caller), if anyone did.
    pub acknowledged_by: Option<String>,
    /// When it was acknowledged.
    pub acknowledged_at_ms: Option<i64>,
}

impl Alert {
    /// Whether it had ended by `now_ms`.
    pub fn is_resolved(&self, now_ms: i64) -> bool {
        self.ends_at_ms.is_some_and(|end| end <= now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_fingerprint_is_alertmanagers_and_ignores_order() {
        // FNV-1a 64 of the empty input is its offset basis.
        assert_eq!(fingerprint(&Labels::new()), "cbf29ce484222325");
        let a = labels(&[("alertname", "MemberDown"), ("device", "bigip-1")]);
        let b = labels(&[("device", "bigip-1"), ("alertname", "MemberDown")]);
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(
            fingerprint(&a),
            fingerprint(&labels(&[
                ("alertname", "MemberDown"),
                ("device", "bigip-2")
            ]))
        );
        // The separator keeps `ab`+`c` apart from `a`+`bc`.
        assert_ne!(
            fingerprint(&labels(&[("a", "bc")])),
            fingerprint(&labels(&[("ab", "c")]))
        );
    }

    #[test]
    fn times_round_trip_through_rfc3339() {
        let ms = parse_rfc3339("startsAt", "2026-11-30T19:49:40.250Z").unwrap();
        assert_eq!(rfc3339(ms), "2026-11-30T19:49:40.25Z");
        assert!(parse_rfc3339("endsAt", "yesterday").is_err());
    }
}
