//! Shapes of `/v2/lbaas/l7policies`.

use fulcrum_core::model::{Kind, L7Policy, L7PolicyAction, OperatingStatus, ProvisioningStatus};
use fulcrum_core::patch::Patch;
use fulcrum_core::wsme;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::l7rules::CreateL7Rule;
use super::{IdRef, Related, Rooted, id_refs, text_or_empty};
use crate::listing::Link;

/// Body of `POST /v2/lbaas/l7policies`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"name": "api", "listener_id": "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b", "action": "REDIRECT_TO_URL", "redirect_url": "https://www.example.com/"}))]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct CreateL7Policy {
    pub listener_id: String,
    pub action: L7PolicyAction,
    #[schema(max_length = 255)]
    pub name: Option<String>,
    #[schema(max_length = 255)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "wsme::convert")]
    pub admin_state_up: Option<bool>,
    pub redirect_pool_id: Option<String>,
    #[schema(max_length = 255)]
    pub redirect_url: Option<String>,
    #[schema(max_length = 255)]
    pub redirect_prefix: Option<String>,
    #[serde(default, deserialize_with = "wsme::convert")]
    pub redirect_http_code: Option<i64>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 1, maximum = 2147483647)]
    pub position: Option<i64>,
    pub rules: Option<Vec<CreateL7Rule>>,
    pub tags: Option<Vec<String>>,
    pub project_id: Option<String>,
    pub tenant_id: Option<String>,
}

impl Rooted for CreateL7Policy {
    const ROOT: &'static str = "l7policy";
    const ARGUMENT: &'static str = "l7policy_";
}

/// Body of `PUT /v2/lbaas/l7policies/{id}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct UpdateL7Policy {
    #[serde(default)]
    #[schema(max_length = 255, value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(max_length = 255, value_type = Option<String>)]
    pub description: Patch<String>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(value_type = Option<bool>)]
    pub admin_state_up: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = Option<L7PolicyAction>)]
    pub action: Patch<L7PolicyAction>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub redirect_pool_id: Patch<String>,
    #[serde(default)]
    #[schema(max_length = 255, value_type = Option<String>)]
    pub redirect_url: Patch<String>,
    #[serde(default)]
    #[schema(max_length = 255, value_type = Option<String>)]
    pub redirect_prefix: Patch<String>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 1, maximum = 2147483647, value_type = Option<i64>)]
    pub position: Patch<i64>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub tags: Patch<Vec<String>>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(value_type = Option<i64>)]
    pub redirect_http_code: Patch<i64>,
}

impl Rooted for UpdateL7Policy {
    const ROOT: &'static str = "l7policy";
    const ARGUMENT: &'static str = "l7policy_";
}

impl UpdateL7Policy {
    /// Whether the request changes nothing.
    pub fn is_empty(&self) -> bool {
        !(self.name.is_present()
            || self.description.is_present()
            || self.admin_state_up.is_present()
            || self.touches_redirect()
            || self.position.is_present()
            || self.tags.is_present()
            || self.redirect_http_code.is_present())
    }

    /// Whether the request says anything about what the policy does.
    pub fn touches_redirect(&self) -> bool {
        self.action.is_present()
            || self.redirect_pool_id.is_present()
            || self.redirect_url.is_present()
            || self.redirect_prefix.is_present()
    }
}

/// An L7 policy as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[allow(missing_docs)]
pub struct L7PolicyView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub provisioning_status: ProvisioningStatus,
    pub operating_status: OperatingStatus,
    pub admin_state_up: bool,
    pub project_id: Option<String>,
    pub tenant_id: Option<String>,
    pub action: L7PolicyAction,
    pub listener_id: String,
    pub redirect_pool_id: Option<String>,
    pub redirect_url: Option<String>,
    pub redirect_prefix: Option<String>,
    pub position: i64,
    pub rules: Vec<IdRef>,
    pub created_at: String,
    pub updated_at: Option<String>,
    pub tags: Vec<String>,
    pub redirect_http_code: Option<i64>,
}

impl L7PolicyView {
    /// The view of a policy with the ids of its rules.
    pub fn new(p: L7Policy, related: &Related) -> Self {
        L7PolicyView {
            name: text_or_empty(&p.name),
            description: text_or_empty(&p.description),
            tenant_id: p.project_id.clone(),
            rules: id_refs(related.ids(Kind::L7Rule, &p.id)),
            id: p.id,
            provisioning_status: p.provisioning_status,
            operating_status: p.operating_status,
            admin_state_up: p.admin_state_up,
            project_id: p.project_id,
            action: p.action,
            listener_id: p.listener_id,
            redirect_pool_id: p.redirect_pool_id,
            redirect_url: p.redirect_url,
            redirect_prefix: p.redirect_prefix,
            position: p.position,
            created_at: p.created_at,
            updated_at: p.updated_at,
            tags: p.tags,
            redirect_http_code: p.redirect_http_code,
        }
    }
}

/// `{"l7policy": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct L7PolicyBody {
    /// The L7 policy.
    pub l7policy: L7PolicyView,
}

/// `{"l7policies": [...], "l7policies_links": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct L7PolicyList {
    /// A page of L7 policies.
    pub l7policies: Vec<L7PolicyView>,
    /// Paging links.
    pub l7policies_links: Vec<Link>,
}
