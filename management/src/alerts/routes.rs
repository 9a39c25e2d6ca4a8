//! The alerts API. Alertmanager's v2 shapes under `/v1/management/api/v2/` (so Prometheus and
//! Alertmanager's own tools talk to Fulcrum unchanged), and Fulcrum's own
//! `/v1/management/alerts`, which adds acknowledgement.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use fulcrum_core::timestamp::now_millis;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::matchers::{MatchType, Matcher};
use super::model::PostableAlert;
use super::silences::PostableSilence;
use super::views::{AlertView, GettableAlert, GettableSilence};
use crate::Management;
use crate::error::{ManagementError, ManagementResult};
use crate::http::{JsonBody, Who};

/// The alerts routes.
pub fn routes() -> OpenApiRouter<Arc<Management>> {
    OpenApiRouter::new()
        .routes(routes!(post_alerts, get_alerts))
        .routes(routes!(post_silence, get_silences))
        .routes(routes!(get_silence, delete_silence))
        .routes(routes!(list_alerts))
        .routes(routes!(acknowledge))
}

/// The body of `GET /v1/management/alerts`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertList {
    /// The alerts, firing ones only unless `resolved=true`.
    pub alerts: Vec<AlertView>,
}

/// The body of `POST /v1/management/alerts/{fingerprint}/acknowledge`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertBody {
    /// The alert, acknowledged.
    pub alert: AlertView,
}

/// The body of `POST /v1/management/api/v2/silences`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SilenceCreated {
    /// The id of the silence made or replaced.
    #[serde(rename = "silenceID")]
    pub silence_id: String,
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

/// Post alerts, as Prometheus does (Alertmanager's `postAlerts`): a batch with one bad alert
/// records none.
#[utoipa::path(post, path = "/v1/management/api/v2/alerts", tag = "alertmanager",
    request_body(content = Vec<PostableAlert>, description = "Alertmanager's `postableAlerts`"),
    responses((status = 200, description = "Recorded")))]
async fn post_alerts(
    State(management): State<Arc<Management>>,
    JsonBody(alerts): JsonBody<Vec<PostableAlert>>,
) -> ManagementResult<StatusCode> {
    management.alerts.ingest(alerts).await?;
    Ok(StatusCode::OK)
}

/// List alerts (Alertmanager's `getAlerts`). Every alert is routed to every receiver, so
/// `receiver` keeps all alerts when it matches a configured receiver's name and none otherwise.
#[utoipa::path(get, path = "/v1/management/api/v2/alerts", tag = "alertmanager",
    params(
        ("filter" = Option<Vec<String>>, Query, description = FILTER),
        ("active" = Option<bool>, Query, description = "Include active alerts (true)"),
        ("silenced" = Option<bool>, Query, description = "Include silenced alerts (true)"),
        ("inhibited" = Option<bool>, Query, description = "Include inhibited alerts (true)"),
        ("unprocessed" = Option<bool>, Query, description = "Accepted; every alert is processed"),
        ("receiver" = Option<String>, Query, description = "A regex on receiver names"),
    ),
    responses((status = 200, body = Vec<GettableAlert>)))]
async fn get_alerts(
    State(management): State<Arc<Management>>,
    RawQuery(raw): RawQuery,
) -> ManagementResult<Json<Vec<GettableAlert>>> {
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
        return Ok(Json(Vec::new()));
    }
    let alerts = management
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
    Ok(Json(alerts))
}

/// What a `filter` query parameter holds.
const FILTER: &str = "A matcher on labels (`name=\"value\"`, `!=`, `=~`, `!~`); repeat it for more";

/// List alerts with their acknowledgement: firing alerts only unless `resolved=true`.
#[utoipa::path(get, path = "/v1/management/alerts", tag = "alerts",
    params(
        ("filter" = Option<Vec<String>>, Query, description = FILTER),
        ("resolved" = Option<bool>, Query, description = "Include resolved alerts (false)"),
        ("acknowledged" = Option<bool>, Query, description = "Only acknowledged (true) or unacknowledged (false) alerts"),
    ),
    responses((status = 200, body = AlertList)))]
async fn list_alerts(
    State(management): State<Arc<Management>>,
    RawQuery(raw): RawQuery,
) -> ManagementResult<Json<AlertList>> {
    let query = Query::parse(raw, &["resolved", "acknowledged"])?;
    let now = now_millis();
    let acknowledged = query.flag("acknowledged");
    let alerts = management
        .alerts
        .evaluate(query.flag("resolved").unwrap_or(false))
        .await?
        .iter()
        .filter(|e| super::matches_filter(&query.filter, &e.alert))
        .filter(|e| acknowledged.is_none_or(|a| a == e.alert.acknowledged_at_ms.is_some()))
        .map(|e| e.to_fulcrum(now))
        .collect();
    Ok(Json(AlertList { alerts }))
}

/// Acknowledge an alert: it stays listed, marked with who acknowledged it and when.
#[utoipa::path(post, path = "/v1/management/alerts/{fingerprint}/acknowledge", tag = "alerts",
    params(("fingerprint" = String, Path, description = "The alert's fingerprint")),
    responses((status = 200, body = AlertBody)))]
async fn acknowledge(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path(fingerprint): Path<String>,
) -> ManagementResult<Json<AlertBody>> {
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
    Ok(Json(AlertBody {
        alert: evaluated.to_fulcrum(now_millis()),
    }))
}

/// Make a silence, or replace the one `id` names (Alertmanager's `postSilences`).
#[utoipa::path(post, path = "/v1/management/api/v2/silences", tag = "alertmanager",
    request_body(content = PostableSilence, description = "Alertmanager's `postableSilence`"),
    responses((status = 200, body = SilenceCreated)))]
async fn post_silence(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    JsonBody(silence): JsonBody<PostableSilence>,
) -> ManagementResult<Json<SilenceCreated>> {
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
    Ok(Json(SilenceCreated {
        silence_id: result?,
    }))
}

/// List silences, expired ones included (Alertmanager's `getSilences`).
#[utoipa::path(get, path = "/v1/management/api/v2/silences", tag = "alertmanager",
    params(("filter" = Option<Vec<String>>, Query, description = FILTER)),
    responses((status = 200, body = Vec<GettableSilence>)))]
async fn get_silences(
    State(management): State<Arc<Management>>,
    RawQuery(raw): RawQuery,
) -> ManagementResult<Json<Vec<GettableSilence>>> {
    let query = Query::parse(raw, &[])?;
    let now = now_millis();
    let silences = management
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
    Ok(Json(silences))
}

/// Show a silence (Alertmanager's `getSilence`).
#[utoipa::path(get, path = "/v1/management/api/v2/silence/{id}", tag = "alertmanager",
    params(("id" = String, Path, description = "Silence id")),
    responses((status = 200, body = GettableSilence)))]
async fn get_silence(
    State(management): State<Arc<Management>>,
    Path(id): Path<String>,
) -> ManagementResult<Json<GettableSilence>> {
    let silence = management.alerts.store.silence(&id).await?;
    Ok(Json(silence.to_api(now_millis())))
}

/// Expire a silence now (Alertmanager's `deleteSilence`); it stays listed as `expired`.
#[utoipa::path(delete, path = "/v1/management/api/v2/silence/{id}", tag = "alertmanager",
    params(("id" = String, Path, description = "Silence id")),
    responses((status = 200, description = "Expired")))]
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
