//! What a license pool is, what creating one and adding keys ask for (and the checks made before
//! anything is stored), and a license given to a device. Registration keys never leave the
//! module whole: the API shows them [`mask`]ed.

use serde::{Deserialize, Serialize};
use time::Date;
use time::macros::format_description;

use crate::devices::model::DeviceKind;
use crate::error::{ManagementError, ManagementResult};

/// The most keys one request may add.
pub const MAX_KEYS: usize = 1000;

/// What a pool hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PoolKind {
    /// Registration keys, each installed on at most one device.
    Keys,
    /// A count of seats, with nothing to install.
    Seats,
}

impl PoolKind {
    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            PoolKind::Keys => "keys",
            PoolKind::Seats => "seats",
        }
    }

    /// The kind from its stored name.
    pub fn parse(text: &str) -> ManagementResult<Self> {
        match text {
            "keys" => Ok(PoolKind::Keys),
            "seats" => Ok(PoolKind::Seats),
            other => Err(ManagementError::BadRequest(format!(
                "a pool's kind is keys or seats, not {other:?}."
            ))),
        }
    }
}

/// A license pool as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    /// Its id.
    pub id: String,
    /// Its name, unique.
    pub name: String,
    /// The kind of device its licenses are for.
    pub device_kind: DeviceKind,
    /// Keys or seats.
    pub kind: PoolKind,
    /// How many seats (a `seats` pool).
    pub seats: Option<i64>,
    /// The day its licenses end.
    pub expires_on: Date,
    /// How many days before `expires_on` `LicenseExpiring` is raised.
    pub alert_ahead_days: i64,
    /// Whether a device of its kind takes a license from it when registered.
    pub assign_on_registration: bool,
    /// When it was made (ms since the Unix epoch).
    pub created_ms: i64,
}

impl Pool {
    /// Whether its expiry is within its alert-ahead days of `today` (or past).
    pub fn expiring(&self, today: Date) -> bool {
        (self.expires_on - today).whole_days() <= self.alert_ahead_days
    }
}

/// How much of a pool is used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Usage {
    /// Keys or seats in all.
    pub total: i64,
    /// Held by devices (being installed or installed).
    pub assigned: i64,
    /// Free to assign.
    pub available: i64,
}

/// A pool as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = LicensePoolView)]
pub struct PoolView {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The kind of device its licenses are for.
    pub device_kind: DeviceKind,
    /// `keys` or `seats`.
    pub kind: PoolKind,
    /// How many seats (a `seats` pool).
    pub seats: Option<i64>,
    /// The day its licenses end (`YYYY-MM-DD`).
    pub expires_on: String,
    /// Days ahead of the end at which `LicenseExpiring` is raised.
    pub alert_ahead_days: i64,
    /// Whether registering a device of its kind takes a license from it.
    pub assign_on_registration: bool,
    /// Its usage.
    pub usage: Usage,
    /// When it was made (UTC).
    pub created_at: String,
}

impl PoolView {
    /// `pool` with its `usage`.
    pub fn new(pool: &Pool, usage: Usage) -> Self {
        PoolView {
            id: pool.id.clone(),
            name: pool.name.clone(),
            device_kind: pool.device_kind,
            kind: pool.kind,
            seats: pool.seats,
            expires_on: format_date(pool.expires_on),
            alert_ahead_days: pool.alert_ahead_days,
            assign_on_registration: pool.assign_on_registration,
            usage,
            created_at: fulcrum_core::timestamp::format_millis(pool.created_ms),
        }
    }
}

/// One key of a pool as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KeyView {
    /// Its id.
    pub id: String,
    /// The key, masked.
    pub key: String,
    /// The device holding it.
    pub device_id: Option<String>,
    /// What a device answered when it refused the key.
    pub refused: Option<String>,
}

/// The body of `POST /v1/management/license-pools`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "bigip-keys", "device_kind": "bigip",
    "keys": ["AAAAA-BBBBB-CCCCC-DDDDD-EEEEEEE"], "expires_on": "2030-01-31",
    "alert_ahead_days": 30}))]
pub struct NewPool {
    /// Its name.
    #[schema(min_length = 1, max_length = 255, pattern = "\\S")]
    pub name: String,
    /// The kind of device its licenses are for.
    pub device_kind: DeviceKind,
    /// Its registration keys (a `keys` pool), each 1 to 255 printable characters, each once.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 1000)]
    pub keys: Option<Vec<String>>,
    /// Its count of seats (a `seats` pool).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub seats: Option<i64>,
    /// The day its licenses end (`YYYY-MM-DD`).
    #[schema(format = Date)]
    pub expires_on: String,
    /// Days ahead of the end at which `LicenseExpiring` is raised (30).
    #[serde(default = "thirty")]
    #[schema(minimum = 0, maximum = 3650, default = 30)]
    pub alert_ahead_days: i64,
    /// Whether registering a device of its kind takes a license from it (no).
    #[serde(default)]
    pub assign_on_registration: bool,
}

fn thirty() -> i64 {
    30
}

impl NewPool {
    /// Check it; the pool to store (with `id` and `created_ms`) and its keys, trimmed.
    pub fn validate(&self, id: String, created_ms: i64) -> ManagementResult<(Pool, Vec<String>)> {
        let bad = |m: &str| Err(ManagementError::BadRequest(m.to_owned()));
        if self.name.trim().is_empty() || self.name.len() > 255 {
            return bad("name must hold 1 to 255 characters.");
        }
        let (kind, keys) = match (&self.keys, self.seats) {
            (Some(keys), None) => (PoolKind::Keys, checked_keys(keys)?),
            (None, Some(seats)) if seats >= 1 => (PoolKind::Seats, Vec::new()),
            (None, Some(_)) => return bad("seats must be 1 or more."),
            _ => return bad("a pool holds either keys (a list) or seats (a count), not both."),
        };
        Ok((
            Pool {
                id,
                name: self.name.clone(),
                device_kind: self.device_kind,
                kind,
                seats: self.seats,
                expires_on: parse_date(&self.expires_on)?,
                alert_ahead_days: checked_ahead(self.alert_ahead_days)?,
                assign_on_registration: self.assign_on_registration,
                created_ms,
            },
            keys,
        ))
    }
}

/// The body of `PATCH /v1/management/license-pools/{id}`: a renewal, or other settings.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolChange {
    /// A new end (`YYYY-MM-DD`).
    #[serde(default)]
    #[schema(format = Date)]
    pub expires_on: Option<String>,
    /// New alert-ahead days.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 3650)]
    pub alert_ahead_days: Option<i64>,
    /// Whether registering a device takes a license from it.
    #[serde(default)]
    pub assign_on_registration: Option<bool>,
}

impl PoolChange {
    /// `pool` changed as asked, once every change is checked.
    pub fn apply(&self, pool: &Pool) -> ManagementResult<Pool> {
        let mut changed = pool.clone();
        if let Some(expires_on) = &self.expires_on {
            changed.expires_on = parse_date(expires_on)?;
        }
        if let Some(days) = self.alert_ahead_days {
            changed.alert_ahead_days = checked_ahead(days)?;
        }
        if let Some(on) = self.assign_on_registration {
            changed.assign_on_registration = on;
        }
        Ok(changed)
    }
}

/// The body of `POST /v1/management/license-pools/{id}/keys`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeys {
    /// The registration keys to add, each 1 to 255 printable characters, each once.
    #[schema(min_items = 1, max_items = 1000)]
    pub keys: Vec<String>,
}

impl NewKeys {
    /// The keys, checked and trimmed.
    pub fn validate(&self) -> ManagementResult<Vec<String>> {
        checked_keys(&self.keys)
    }
}

/// The body of `POST /v1/management/license-pools/{id}/assign`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignTo {
    /// The device to license.
    pub device_id: String,
}

/// Keys trimmed, refused when none, blank, too long, too many, or one given twice.
fn checked_keys(keys: &[String]) -> ManagementResult<Vec<String>> {
    let bad = |m: String| Err(ManagementError::BadRequest(m));
    if keys.is_empty() {
        return bad("keys must hold at least one registration key.".to_owned());
    }
    if keys.len() > MAX_KEYS {
        return bad(format!("at most {MAX_KEYS} keys may be added at once."));
    }
    let mut checked: Vec<String> = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        let key = key.trim();
        if key.is_empty() || key.len() > 255 || key.chars().any(char::is_control) {
            return bad(format!(
                "keys[{i}] must hold 1 to 255 printable characters."
            ));
        }
        if checked.iter().any(|k| k == key) {
            return bad(format!("keys[{i}] is given twice."));
        }
        checked.push(key.to_owned());
    }
    Ok(checked)
}

fn checked_ahead(days: i64) -> ManagementResult<i64> {
    if !(0..=3650).contains(&days) {
        return Err(ManagementError::BadRequest(
            "alert_ahead_days must be between 0 and 3650.".to_owned(),
        ));
    }
    Ok(days)
}

/// A `YYYY-MM-DD` date.
pub fn parse_date(text: &str) -> ManagementResult<Date> {
    Date::parse(text, format_description!("[year]-[month]-[day]")).map_err(|_| {
        ManagementError::BadRequest(format!(
            "expires_on must be a date as YYYY-MM-DD, not {text:?}."
        ))
    })
}

/// `date` as `YYYY-MM-DD`.
pub fn format_date(date: Date) -> String {
    date.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// A registration key as the API shows it: every letter and digit but the last four hidden.
pub fn mask(key: &str) -> String {
    let shown_from = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .count()
        .saturating_sub(4);
    let mut seen = 0;
    key.chars()
        .map(|c| {
            if !c.is_ascii_alphanumeric() {
                return c;
            }
            seen += 1;
            if seen > shown_from { c } else { '*' }
        })
        .collect()
}

/// Where a license given to a device stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentState {
    /// Reserved while the device installs it.
    Installing,
    /// Installed (or, for a seat, counted).
    Active,
    /// Given back to the pool.
    Revoked,
}

impl AssignmentState {
    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            AssignmentState::Installing => "installing",
            AssignmentState::Active => "active",
            AssignmentState::Revoked => "revoked",
        }
    }

    /// The state from its stored name.
    pub fn parse(text: &str) -> ManagementResult<Self> {
        match text {
            "installing" => Ok(AssignmentState::Installing),
            "active" => Ok(AssignmentState::Active),
            "revoked" => Ok(AssignmentState::Revoked),
            other => Err(ManagementError::BadRequest(format!(
                "state must be installing, active or revoked, not {other:?}."
            ))),
        }
    }
}

/// A license given to a device, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Assignment {
    /// Its id.
    pub id: String,
    /// The pool it came from.
    pub pool_id: String,
    /// The device holding it.
    pub device_id: String,
    /// The key's id (a `keys` pool).
    pub key_id: Option<String>,
    /// The key, masked.
    pub key: Option<String>,
    /// The seat's number (a `seats` pool).
    pub seat: Option<i64>,
    /// Where it stands.
    pub state: AssignmentState,
    /// When it was given (UTC).
    pub assigned_at: String,
    /// When it was given back (UTC).
    pub revoked_at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(keys: Option<Vec<&str>>, seats: Option<i64>) -> NewPool {
        NewPool {
            name: "p".into(),
            device_kind: DeviceKind::Bigip,
            keys: keys.map(|k| k.into_iter().map(str::to_owned).collect()),
            seats,
            expires_on: "2030-01-31".into(),
            alert_ahead_days: 30,
            assign_on_registration: false,
        }
    }

    #[test]
    fn a_pool_holds_keys_or_seats() {
        let (made, keys) = pool(Some(vec![" A-1 ", "B-2"]), None)
            .validate("id".into(), 0)
            .unwrap();
        assert_eq!(made.kind, PoolKind::Keys);
        assert_eq!(keys, ["A-1", "B-2"]);
        assert!(pool(Some(vec![]), None).validate("id".into(), 0).is_err());
        assert!(
            pool(Some(vec!["A", "A"]), None)
                .validate("id".into(), 0)
                .is_err()
        );
        assert!(pool(None, Some(-1)).validate("id".into(), 0).is_err());
        assert!(pool(None, None).validate("id".into(), 0).is_err());
        assert!(
            pool(Some(vec!["A"]), Some(2))
                .validate("id".into(), 0)
                .is_err()
        );
        assert_eq!(
            pool(None, Some(2)).validate("id".into(), 0).unwrap().0.kind,
            PoolKind::Seats
        );
    }

    #[test]
    fn keys_are_masked_but_their_last_four_characters() {
        assert_eq!(mask("ABCDE-FGHIJ-KLMNO"), "*****-*****-*LMNO");
        assert_eq!(mask("ab"), "ab");
    }

    #[test]
    fn a_pool_expires_within_its_alert_ahead_days() {
        let (made, _) = pool(None, Some(1)).validate("id".into(), 0).unwrap();
        assert!(!made.expiring(parse_date("2029-12-31").unwrap()));
        assert!(made.expiring(parse_date("2030-01-01").unwrap()));
        assert!(made.expiring(parse_date("2030-02-01").unwrap()));
    }
}
