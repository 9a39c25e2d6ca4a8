//! Licenses: listed, added when valid and not expired, deleted.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::{Answer, INVALID_LICENSE, action, now_ms, object, required_str};
use crate::nsxt::error::NsxError;
use crate::nsxt::{Shared, lock};

pub(super) async fn licenses(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let manager = lock(&shared.manager);
    let results: Vec<Value> = manager
        .installed_licenses
        .iter()
        .map(|key| manager.license_body(key))
        .collect();
    Json(json!({"result_count": results.len(), "results": results}))
}

fn well_formed_key(key: &str) -> bool {
    let groups: Vec<&str> = key.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .all(|g| g.len() == 5 && g.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// `POST /api/v1/licenses` adds a key; `?action=delete` removes one.
pub(super) async fn license_action(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Answer {
    const PATH: &str = "/api/v1/licenses";
    let delete = match query.as_deref() {
        None => false,
        Some(_) => action(query.as_deref(), PATH, &["delete"])? == "delete",
    };
    let body = object(&body, PATH)?;
    let key = required_str(&body, "license_key", PATH)?.to_owned();
    let mut manager = lock(&shared.manager);
    if delete {
        let before = manager.installed_licenses.len();
        manager.installed_licenses.retain(|k| *k != key);
        if manager.installed_licenses.len() == before {
            return Err(NsxError::not_found(&format!("license {}", mask(&key))));
        }
        return Ok(StatusCode::OK.into_response());
    }
    let refused = |why: &str| {
        Err(NsxError::bad_request(
            INVALID_LICENSE,
            format!("License key {} is {why}.", mask(&key)),
        ))
    };
    if !well_formed_key(&key) {
        return refused("not a valid license key");
    }
    let Some(expiry) = manager.issued_licenses.get(&key).copied() else {
        return refused("not a valid license key");
    };
    if expiry <= now_ms() {
        return refused("expired");
    }
    if !manager.installed_licenses.contains(&key) {
        manager.installed_licenses.push(key.clone());
    }
    Ok(Json(manager.license_body(&key)).into_response())
}

/// A key as NSX shows it in messages: its last group only.
fn mask(key: &str) -> String {
    let tail: String = key
        .chars()
        .rev()
        .take(5)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("*****-{tail}")
}
