//! `/v1/management/campaigns`: create, list, show, pause, resume, abort, roll back, and each
//! campaign's history; `/v1/management/campaign-policies` lists the policies campaigns may name.
//! Each action is audited with its caller.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::model::CampaignRequest;
use crate::Management;
use crate::error::ManagementResult;
use crate::http::{JsonBody, QueryParams, Who};

type Answer = ManagementResult<Json<Value>>;

/// The campaigns' routes.
pub fn routes() -> Router<Arc<Management>> {
    Router::new()
        .route("/v1/management/campaigns", get(list).post(create))
        .route("/v1/management/campaigns/{id}", get(show))
        .route("/v1/management/campaigns/{id}/history", get(history))
        .route("/v1/management/campaigns/{id}/{action}", post(act))
        .route("/v1/management/campaign-policies", get(policies))
}

/// Filters of a campaign listing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    state: Option<String>,
}

async fn create(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    JsonBody(request): JsonBody<CampaignRequest>,
) -> ManagementResult<(StatusCode, Json<Value>)> {
    let created = management.campaigns.create(request, &caller).await?;
    Ok((StatusCode::CREATED, Json(json!({ "campaign": created }))))
}

async fn list(
    State(management): State<Arc<Management>>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Answer {
    let campaigns = management.campaigns.list(query.state.as_deref()).await?;
    Ok(Json(json!({ "campaigns": campaigns })))
}

async fn show(State(management): State<Arc<Management>>, Path(id): Path<String>) -> Answer {
    let campaign = management.campaigns.show(&id).await?;
    Ok(Json(json!({ "campaign": campaign })))
}

async fn history(State(management): State<Arc<Management>>, Path(id): Path<String>) -> Answer {
    let history = management.campaigns.history(&id).await?;
    Ok(Json(json!({ "history": history })))
}

async fn act(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path((id, action)): Path<(String, String)>,
) -> Answer {
    let campaigns = &management.campaigns;
    let result = match action.as_str() {
        "pause" => campaigns.pause(&id, &caller).await,
        "resume" => campaigns.resume(&id).await,
        "abort" => campaigns.abort(&id).await,
        "rollback" => campaigns.rollback(&id).await,
        _ => {
            return Err(crate::error::ManagementError::NotFound {
                kind: "Campaign action",
                id: action,
            });
        }
    };
    management
        .audit
        .record_result(
            Some(&caller),
            &format!("campaign.{action}"),
            Some(&id),
            &result,
        )
        .await;
    let campaign = result?;
    if action != "pause" {
        management
            .alerts
            .clear(
                &format!("campaign-step-failed:{id}"),
                "",
                fulcrum_core::timestamp::now_millis(),
            )
            .await?;
    }
    Ok(Json(json!({ "campaign": campaign })))
}

async fn policies(State(management): State<Arc<Management>>) -> Answer {
    Ok(Json(
        json!({ "campaign_policies": management.campaigns.policies() }),
    ))
}
