//! Shapes of `/v2/lbaas/healthmonitors`.

use fulcrum_core::model::{
    HealthMonitor, HealthMonitorType, HttpMethod, OperatingStatus, ProvisioningStatus,
};
use fulcrum_core::patch::Patch;
use fulcrum_core::wsme;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{IdRef, Rooted, text_or_empty};
use crate::listing::Link;

/// Body of `POST /v2/lbaas/healthmonitors`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"pool_id": "4c0f8b7e-2d3a-4e5f-8a9b-0c1d2e3f4a5b", "type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 3, "url_path": "/healthz", "expected_codes": "200"}))]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct CreateHealthMonitor {
    pub pool_id: String,
    #[serde(rename = "type")]
    pub kind: HealthMonitorType,
    #[serde(deserialize_with = "wsme::convert")]
    #[schema(minimum = 0, maximum = 2147483647)]
    pub delay: i64,
    #[serde(deserialize_with = "wsme::convert")]
    #[schema(minimum = 0, maximum = 2147483647)]
    pub timeout: i64,
    #[serde(deserialize_with = "wsme::convert")]
    #[schema(minimum = 1, maximum = 10)]
    pub max_retries: i64,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 1, maximum = 10)]
    pub max_retries_down: Option<i64>,
    #[schema(max_length = 255)]
    pub name: Option<String>,
    pub http_method: Option<HttpMethod>,
    pub url_path: Option<String>,
    pub expected_codes: Option<String>,
    #[serde(default, deserialize_with = "wsme::convert")]
    pub http_version: Option<f64>,
    pub domain_name: Option<String>,
    #[serde(default, deserialize_with = "wsme::convert")]
    pub admin_state_up: Option<bool>,
    pub tags: Option<Vec<String>>,
    pub project_id: Option<String>,
    pub tenant_id: Option<String>,
}

impl Rooted for CreateHealthMonitor {
    const ROOT: &'static str = "healthmonitor";
    const ARGUMENT: &'static str = "health_monitor_";
}

/// Body of `PUT /v2/lbaas/healthmonitors/{id}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct UpdateHealthMonitor {
    #[serde(default)]
    #[schema(max_length = 255, value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 0, maximum = 2147483647, value_type = Option<i64>)]
    pub delay: Patch<i64>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 0, maximum = 2147483647, value_type = Option<i64>)]
    pub timeout: Patch<i64>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 1, maximum = 10, value_type = Option<i64>)]
    pub max_retries: Patch<i64>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 1, maximum = 10, value_type = Option<i64>)]
    pub max_retries_down: Patch<i64>,
    #[serde(default)]
    #[schema(value_type = Option<HttpMethod>)]
    pub http_method: Patch<HttpMethod>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub url_path: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub expected_codes: Patch<String>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(value_type = Option<bool>)]
    pub admin_state_up: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub tags: Patch<Vec<String>>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(value_type = Option<f64>)]
    pub http_version: Patch<f64>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub domain_name: Patch<String>,
}

impl Rooted for UpdateHealthMonitor {
    const ROOT: &'static str = "healthmonitor";
    const ARGUMENT: &'static str = "health_monitor_";
}

/// A health monitor as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[allow(missing_docs)]
pub struct HealthMonitorView {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: HealthMonitorType,
    pub delay: i64,
    pub timeout: i64,
    pub max_retries: i64,
    pub max_retries_down: i64,
    pub http_method: Option<HttpMethod>,
    pub url_path: Option<String>,
    pub expected_codes: Option<String>,
    pub admin_state_up: bool,
    pub project_id: Option<String>,
    pub tenant_id: Option<String>,
    pub pools: Vec<IdRef>,
    pub provisioning_status: ProvisioningStatus,
    pub operating_status: OperatingStatus,
    pub created_at: String,
    pub updated_at: Option<String>,
    pub tags: Vec<String>,
    pub http_version: Option<f64>,
    pub domain_name: Option<String>,
}

impl HealthMonitorView {
    /// The view of a health monitor.
    pub fn new(h: HealthMonitor) -> Self {
        HealthMonitorView {
            name: text_or_empty(&h.name),
            tenant_id: h.project_id.clone(),
            pools: vec![IdRef {
                id: h.pool_id.clone(),
            }],
            id: h.id,
            kind: h.kind,
            delay: h.delay,
            timeout: h.timeout,
            max_retries: h.max_retries,
            max_retries_down: h.max_retries_down,
            http_method: h.http_method,
            url_path: h.url_path,
            expected_codes: h.expected_codes,
            admin_state_up: h.admin_state_up,
            project_id: h.project_id,
            provisioning_status: h.provisioning_status,
            operating_status: h.operating_status,
            created_at: h.created_at,
            updated_at: h.updated_at,
            tags: h.tags,
            http_version: h.http_version,
            domain_name: h.domain_name,
        }
    }
}

/// `{"healthmonitor": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthMonitorBody {
    /// The health monitor.
    pub healthmonitor: HealthMonitorView,
}

/// `{"healthmonitors": [...], "healthmonitors_links": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthMonitorList {
    /// A page of health monitors.
    pub healthmonitors: Vec<HealthMonitorView>,
    /// Paging links.
    pub healthmonitors_links: Vec<Link>,
}
