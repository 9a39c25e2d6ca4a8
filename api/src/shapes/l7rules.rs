//! Shapes of `/v2/lbaas/l7policies/{l7policy_id}/rules`.

use fulcrum_core::model::{L7CompareType, L7Rule, L7RuleType, OperatingStatus, ProvisioningStatus};
use fulcrum_core::patch::Patch;
use fulcrum_core::wsme;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Rooted;
use crate::listing::Link;

/// Body of `POST /v2/lbaas/l7policies/{l7policy_id}/rules` (and one entry of a policy's `rules`).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"type": "PATH", "compare_type": "STARTS_WITH", "value": "/api"}))]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct CreateL7Rule {
    #[serde(rename = "type")]
    pub kind: L7RuleType,
    pub compare_type: L7CompareType,
    #[schema(max_length = 255)]
    pub value: String,
    #[schema(max_length = 255)]
    pub key: Option<String>,
    #[serde(default, deserialize_with = "wsme::convert")]
    pub invert: Option<bool>,
    #[serde(default, deserialize_with = "wsme::convert")]
    pub admin_state_up: Option<bool>,
    pub tags: Option<Vec<String>>,
    pub project_id: Option<String>,
    pub tenant_id: Option<String>,
}

impl Rooted for CreateL7Rule {
    const ROOT: &'static str = "rule";
    const ARGUMENT: &'static str = "rule_";
}

/// Body of `PUT /v2/lbaas/l7policies/{l7policy_id}/rules/{rule_id}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct UpdateL7Rule {
    #[serde(default, rename = "type")]
    #[schema(value_type = Option<L7RuleType>)]
    pub kind: Patch<L7RuleType>,
    #[serde(default)]
    #[schema(value_type = Option<L7CompareType>)]
    pub compare_type: Patch<L7CompareType>,
    #[serde(default)]
    #[schema(max_length = 255, value_type = Option<String>)]
    pub key: Patch<String>,
    #[serde(default)]
    #[schema(max_length = 255, value_type = Option<String>)]
    pub value: Patch<String>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(value_type = Option<bool>)]
    pub invert: Patch<bool>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(value_type = Option<bool>)]
    pub admin_state_up: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub tags: Patch<Vec<String>>,
}

impl Rooted for UpdateL7Rule {
    const ROOT: &'static str = "rule";
    const ARGUMENT: &'static str = "l7rule_";
}

/// An L7 rule as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[allow(missing_docs)]
pub struct L7RuleView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: L7RuleType,
    pub compare_type: L7CompareType,
    pub key: Option<String>,
    pub value: String,
    pub invert: bool,
    pub provisioning_status: ProvisioningStatus,
    pub operating_status: OperatingStatus,
    pub created_at: String,
    pub updated_at: Option<String>,
    pub project_id: Option<String>,
    pub tenant_id: Option<String>,
    pub admin_state_up: bool,
    pub tags: Vec<String>,
}

impl From<L7Rule> for L7RuleView {
    fn from(r: L7Rule) -> Self {
        L7RuleView {
            tenant_id: r.project_id.clone(),
            id: r.id,
            kind: r.kind,
            compare_type: r.compare_type,
            key: r.key,
            value: r.value,
            invert: r.invert,
            provisioning_status: r.provisioning_status,
            operating_status: r.operating_status,
            created_at: r.created_at,
            updated_at: r.updated_at,
            project_id: r.project_id,
            admin_state_up: r.admin_state_up,
            tags: r.tags,
        }
    }
}

/// `{"rule": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct L7RuleBody {
    /// The rule.
    pub rule: L7RuleView,
}

/// `{"rules": [...], "rules_links": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct L7RuleList {
    /// A page of rules.
    pub rules: Vec<L7RuleView>,
    /// Paging links.
    pub rules_links: Vec<Link>,
}
