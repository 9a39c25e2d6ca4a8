//! The alerts API. Alertmanager's v2 shapes under `/v1/management/api/v2/` (so Prometheus and
//! Alertmanager's own tools talk to Fulcrum unchanged), and Fulcrum's own
//! `/v1/management/alerts`, which adds acknowledgement.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use fulcrum_core::timestamp::now_millis;
use serde_json::{Value, json};

use super::matchers::{MatchType, Matcher};
use super::model::PostableAlert;
use super::silences::PostableSilence;
use crate::Management;
use crate::error::{ManagementError, ManagementResult};
use crate::http::{JsonBody, Who};

/// The alerts routes.
pub fn routes() -> Router<Arc<Management>> {
    Router::new()
        .route(
            "/v1/management/api/v2/alerts",
            post(post_alerts).get(get_alerts),
        )
        .route(
            "/v1/management/api/v2/silences",
            post(post_silence).get(get_silences),
        )
        .route(
            "/v1/management/api/v2/silence/{id}",
            get(get_silence).delete(delete_silence),
        )
        .route("/v1/management/alerts", get(list_alerts))
        .route(
            "/v1/management/alerts/{fingerprint}/acknowledge",
            post(acknowledge),
        )
}

/// A query's parameters: `filter` may repeat, `receiver` is a regex on receiver names (where
/// allowed), the others are booleans; anything else is refused.
struct Query {
    filter: Vec<Matcher>,
    receiver: Option<Matcher>,
    flags: Vec<(String, bool)>,
}

impl Query {
    fn parse(raw: Option<String>, allowed: &[&str]) -> ManagementResult<Query> {
        let mut query = Query {
            filter: Vec::new(),
            receiver: None,
            flags: Vec::new(),
        };
        for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            if name == "filter" {
                query.filter.push(
                    Matcher::parse(&value)
                        .map_err(|e| ManagementError::BadRequest(format!("filter: {e}")))?,
                );
            } else if name == "receiver" && allowed.contains(&"receiver") {
                query.receiver = Some(
                    Matcher::new("receiver", MatchType::Regex, &value)
                        .map_err(|e| ManagementError::BadRequest(format!("receiver: {e}")))?,
                );
            } else if allowed.contains(&name.as_ref()) {
                let flag = value.parse().map_err(|_| {
                    ManagementError::BadRequest(format!(
                        "{name} must be true or false, not {value:?}."
                    ))
                })?;
                query.flags.push((name.into_owned(), flag));
            } else {
                return Err(ManagementError::BadRequest(format!(
                    "Invalid query: unknown parameter {name:?}."
                )));
            }
        }
        Ok(query)
    }

    fn flag(&self, name: &str) -> Option<bool> {
        self.flags
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }
}

/// `POST /v1/management/api/v2/alerts`: a JSON array of `postableAlert`; 200, empty.
async fn post_alerts(
    State(management): State<Arc<Management>>,
    JsonBody(alerts): JsonBody<Vec<PostableAlert>>,
) -> ManagementResult<StatusCode> {
    management.alerts.ingest(alerts).await?;
    Ok(StatusCode::OK)
}

/// `GET /v1/management/api/v2/alerts?filter=&active=&silenced=&inhibited=&unprocessed=&receiver=`.
/// Every alert is routed to every receiver, so `receiver` keeps all alerts when it matches a
/// configured receiver's name and none otherwise.
async fn get_alerts(
    State(management): State<Arc<Management>>,
    RawQuery(raw): RawQuery,
) -> ManagementResult<axum::Json<Value>> {
    let query = Query::parse(
        raw,
        &["active", "silenced", "inhibited", "unprocessed", "receiver"],
    )?;
    let active = query.flag("active").unwrap_or(true);
    let silenced = query.flag("silenced").unwrap_or(true);
    let inhibited = query.flag("inhibited").unwrap_or(true);
    let receivers = management.alerts.receiver_names();
    if let Some(receiver) = &query.receiver
        && !receivers
            .iter()
            .any(|name| receiver.matches(&[("receiver".to_owned(), name.clone())].into()))
    {
        return Ok(axum::Json(Value::Array(Vec::new())));
    }
    let alerts: Vec<Value> = management
        .alerts
        .evaluate(false)
        .await?
        .iter()
        .filter(|e| super::matches_filter(&query.filter, &e.alert))
        .filter(|e| {
            (active || e.is_suppressed())
                && (silenced || e.silenced_by.is_empty())
                && (inhibited || e.inhibited_by.is_empty())
        })
        .map(|e| e.to_api(&receivers))
        .collect();
    Ok(axum::Json(Value::Array(alerts)))
}

/// `GET /v1/management/alerts?filter=&resolved=&acknowledged=`: Fulcrum's list, firing alerts
/// only unless `resolved=true`.
async fn list_alerts(
    State(management): State<Arc<Management>>,
    RawQuery(raw): RawQuery,
) -> ManagementResult<axum::Json<Value>> {
    let query = Query::parse(raw, &["resolved", "acknowledged"])?;
    let now = now_millis();
    let acknowledged = query.flag("acknowledged");
    let alerts: Vec<Value> = management
        .alerts
        .evaluate(query.flag("resolved").unwrap_or(false))
        .await?
        .iter()
        .filter(|e| super::matches_filter(&query.filter, &e.alert))
        .filter(|e| acknowledged.is_none_or(|a| a == e.alert.acknowledged_at_ms.is_some()))
        .map(|e| e.to_fulcrum(now))
        .collect();
    Ok(axum::Json(json!({ "alerts": alerts })))
}

/// `POST /v1/management/alerts/{fingerprint}/acknowledge`.
async fn acknowledge(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path(fingerprint): Path<String>,
) -> ManagementResult<axum::Json<Value>> {
    let user = caller.user_id.clone().unwrap_or_default();
    let result = management.alerts.acknowledge(&fingerprint, &user).await;
    management
        .audit
        .record_result(
            Some(&caller),
            "alert.acknowledge",
            Some(&fingerprint),
            &result,
        )
        .await;
    let alert = result?;
    let evaluated = super::Evaluated {
        alert,
        silenced_by: Vec::new(),
        inhibited_by: Vec::new(),
    };
    Ok(axum::Json(
        json!({ "alert": evaluated.to_fulcrum(now_millis()) }),
    ))
}

/// `POST /v1/management/api/v2/silences`: `{"silenceID"}`.
async fn post_silence(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    JsonBody(silence): JsonBody<PostableSilence>,
) -> ManagementResult<axum::Json<Value>> {
    let updating = silence.id.clone().filter(|id| !id.is_empty());
    let result = management.alerts.save_silence(silence).await;
    let (action, target) = match (&updating, &result) {
        (Some(id), _) => ("silence.update", Some(id.as_str())),
        (None, Ok(id)) => ("silence.create", Some(id.as_str())),
        (None, Err(_)) => ("silence.create", None),
    };
    if !matches!(result, Err(ManagementError::BadRequest(_))) {
        management
            .audit
            .record_result(Some(&caller), action, target, &result)
            .await;
    }
    Ok(axum::Json(json!({ "silenceID": result? })))
}

/// `GET /v1/management/api/v2/silences?filter=`.
async fn get_silences(
    State(management): State<Arc<Management>>,
    RawQuery(raw): RawQuery,
) -> ManagementResult<axum::Json<Value>> {
    let query = Query::parse(raw, &[])?;
    let now = now_millis();
    let silences: Vec<Value> = management
        .alerts
        .store
        .silences()
        .await?
        .iter()
        .filter(|s| {
            // As Alertmanager: the filter matches the silence's own matchers taken as labels.
            let labels = s
                .matchers
                .iter()
                .map(|m| (m.name.clone(), m.value.clone()))
                .collect();
            super::matchers::all_match(&query.filter, &labels)
        })
        .map(|s| s.to_api(now))
        .collect();
    Ok(axum::Json(Value::Array(silences)))
}

/// `GET /v1/management/api/v2/silence/{id}`.
async fn get_silence(
    State(management): State<Arc<Management>>,
    Path(id): Path<String>,
) -> ManagementResult<axum::Json<Value>> {
    let silence = management.alerts.store.silence(&id).await?;
    Ok(axum::Json(silence.to_api(now_millis())))
}

/// `DELETE /v1/management/api/v2/silence/{id}`: expire it now.
async fn delete_silence(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path(id): Path<String>,
) -> ManagementResult<StatusCode> {
    let result = management.alerts.expire_silence(&id).await;
    management
        .audit
        .record_result(Some(&caller), "silence.expire", Some(&id), &result)
        .await;
    result?;
    Ok(StatusCode::OK)
}
