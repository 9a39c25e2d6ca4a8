//! `/v1/management/campaigns`: create, list, show, pause, resume, abort, roll back, and each
//! campaign's history; `/v1/management/campaign-policies` lists the policies campaigns may name.
//! Each action is audited with its caller.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::CampaignView;
use super::model::{CampaignRequest, Policy};
use super::store::HistoryEntry;
use crate::Management;
use crate::error::{ManagementError, ManagementResult};
use crate::http::{JsonBody, QueryParams, Who};

type Answer = ManagementResult<Json<CampaignBody>>;

/// The campaigns' routes.
pub fn routes() -> OpenApiRouter<Arc<Management>> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show))
        .routes(routes!(history))
        .routes(routes!(act))
        .routes(routes!(policies))
}

/// Filters of a campaign listing.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only campaigns in this state.
    #[param(value_type = Option<super::model::CampaignState>)]
    state: Option<String>,
}

/// The body of an answer about one campaign.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignBody {
    /// The campaign, with its devices.
    pub campaign: CampaignView,
}

/// The body of `GET /v1/management/campaigns`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignList {
    /// The campaigns, newest first, without their devices.
    pub campaigns: Vec<CampaignView>,
}

/// The body of `GET /v1/management/campaigns/{id}/history`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignHistory {
    /// Every step issued, completed or failed, in order.
    pub history: Vec<HistoryEntry>,
}

/// The body of `GET /v1/management/campaign-policies`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyList {
    /// The policies a campaign may name.
    pub campaign_policies: Vec<Policy>,
}

/// What an operator may do to a campaign under way.
#[derive(Debug, Clone, Copy, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum CampaignAction {
    /// Start no more devices; those under way finish.
    Pause,
    /// Run again after a pause.
    Resume,
    /// End it: devices under way finish, nothing else starts.
    Abort,
    /// Put the changed devices back on the volume they ran before.
    Rollback,
}

impl CampaignAction {
    /// The action `name` names; not found otherwise.
    fn parse(name: &str) -> ManagementResult<Self> {
        match name {
            "pause" => Ok(CampaignAction::Pause),
            "resume" => Ok(CampaignAction::Resume),
            "abort" => Ok(CampaignAction::Abort),
            "rollback" => Ok(CampaignAction::Rollback),
            _ => Err(ManagementError::NotFound {
                kind: "Campaign action",
                id: name.to_owned(),
            }),
        }
    }
}

/// Create a campaign over the devices its selector picks; it starts running at once.
#[utoipa::path(post, path = "/v1/management/campaigns", tag = "campaigns",
    request_body(content = CampaignRequest),
    responses((status = 201, body = CampaignBody)))]
async fn create(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    JsonBody(request): JsonBody<CampaignRequest>,
) -> ManagementResult<(StatusCode, Json<CampaignBody>)> {
    let campaign = management.campaigns.create(request, &caller).await?;
    Ok((StatusCode::CREATED, Json(CampaignBody { campaign })))
}

/// List campaigns with their overall progress.
#[utoipa::path(get, path = "/v1/management/campaigns", tag = "campaigns", params(ListQuery),
    responses((status = 200, body = CampaignList)))]
async fn list(
    State(management): State<Arc<Management>>,
    QueryParams(query): QueryParams<ListQuery>,
) -> ManagementResult<Json<CampaignList>> {
    let campaigns = management.campaigns.list(query.state.as_deref()).await?;
    Ok(Json(CampaignList { campaigns }))
}

/// Show a campaign with the progress of each of its devices.
#[utoipa::path(get, path = "/v1/management/campaigns/{id}", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    responses((status = 200, body = CampaignBody)))]
async fn show(State(management): State<Arc<Management>>, Path(id): Path<String>) -> Answer {
    let campaign = management.campaigns.show(&id).await?;
    Ok(Json(CampaignBody { campaign }))
}

/// A campaign's history: each step issued to a device and how it ended.
#[utoipa::path(get, path = "/v1/management/campaigns/{id}/history", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    responses((status = 200, body = CampaignHistory)))]
async fn history(
    State(management): State<Arc<Management>>,
    Path(id): Path<String>,
) -> ManagementResult<Json<CampaignHistory>> {
    let history = management.campaigns.history(&id).await?;
    Ok(Json(CampaignHistory { history }))
}

/// Pause, resume, abort or roll back a campaign.
#[utoipa::path(post, path = "/v1/management/campaigns/{id}/{action}", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id"),
        ("action" = CampaignAction, Path, description = "What to do")),
    responses((status = 200, body = CampaignBody)))]
async fn act(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path((id, action)): Path<(String, String)>,
) -> Answer {
    let campaigns = &management.campaigns;
    let act = CampaignAction::parse(&action)?;
    let result = match act {
        CampaignAction::Pause => campaigns.pause(&id, &caller).await,
        CampaignAction::Resume => campaigns.resume(&id).await,
        CampaignAction::Abort => campaigns.abort(&id).await,
        CampaignAction::Rollback => campaigns.rollback(&id).await,
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
    if !matches!(act, CampaignAction::Pause) {
        management
            .alerts
            .clear(
                &format!("campaign-step-failed:{id}"),
                "",
                fulcrum_core::timestamp::now_millis(),
            )
            .await?;
    }
    Ok(Json(CampaignBody { campaign }))
}

/// The policies campaigns may name: `default` and those of the configuration.
#[utoipa::path(get, path = "/v1/management/campaign-policies", tag = "campaigns",
    responses((status = 200, body = PolicyList)))]
async fn policies(State(management): State<Arc<Management>>) -> Json<PolicyList> {
    Json(PolicyList {
        campaign_policies: management.campaigns.policies(),
    })
}
