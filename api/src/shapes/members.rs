//! Shapes of `/v2/lbaas/pools/{pool_id}/members`, the batch update included.

use fulcrum_core::model::{Member, OperatingStatus, ProvisioningStatus};
use fulcrum_core::patch::Patch;
use fulcrum_core::wsme;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Rooted, text_or_empty};
use crate::listing::Link;

/// Body of `POST /v2/lbaas/pools/{pool_id}/members`, and one item of a batch update.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = json!({"name": "web-1", "address": "192.0.2.10", "protocol_port": 8080, "weight": 1}))]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct CreateMember {
    pub address: String,
    #[serde(deserialize_with = "wsme::convert")]
    #[schema(minimum = 1, maximum = 65535)]
    pub protocol_port: i64,
    #[schema(max_length = 255)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "wsme::convert")]
    pub admin_state_up: Option<bool>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 0, maximum = 256)]
    pub weight: Option<i64>,
    #[serde(default, deserialize_with = "wsme::convert")]
    pub backup: Option<bool>,
    pub subnet_id: Option<String>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 1, maximum = 65535)]
    pub monitor_port: Option<i64>,
    pub monitor_address: Option<String>,
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "wsme::convert")]
    pub request_sriov: Option<bool>,
    pub project_id: Option<String>,
    pub tenant_id: Option<String>,
}

impl Rooted for CreateMember {
    const ROOT: &'static str = "member";
    const ARGUMENT: &'static str = "member_";
}

/// Body of `PUT /v2/lbaas/pools/{pool_id}/members/{member_id}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct UpdateMember {
    #[serde(default)]
    #[schema(max_length = 255, value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(value_type = Option<bool>)]
    pub admin_state_up: Patch<bool>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 0, maximum = 256, value_type = Option<i64>)]
    pub weight: Patch<i64>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(value_type = Option<bool>)]
    pub backup: Patch<bool>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 1, maximum = 65535, value_type = Option<i64>)]
    pub monitor_port: Patch<i64>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub monitor_address: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub tags: Patch<Vec<String>>,
}

impl Rooted for UpdateMember {
    const ROOT: &'static str = "member";
    const ARGUMENT: &'static str = "member_";
}

/// Body of the batch update `PUT /v2/lbaas/pools/{pool_id}/members`: `{"members": [...]}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct BatchMembers {
    /// The complete desired member set (or the members to add/update with `additive_only`).
    pub members: Vec<CreateMember>,
}

impl Rooted for BatchMembers {
    const ROOT: &'static str = "members";
    const ARGUMENT: &'static str = "members_";
}

/// Query of the batch update.
#[derive(Debug, Default, Deserialize)]
pub struct BatchParams {
    /// Only add and update members; leave the others alone.
    pub additive_only: Option<String>,
}

/// A member as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[allow(missing_docs)]
pub struct MemberView {
    pub id: String,
    pub name: String,
    pub operating_status: OperatingStatus,
    pub provisioning_status: ProvisioningStatus,
    pub admin_state_up: bool,
    pub address: String,
    pub protocol_port: i64,
    pub weight: i64,
    pub backup: bool,
    pub subnet_id: Option<String>,
    pub project_id: Option<String>,
    pub tenant_id: Option<String>,
    pub created_at: String,
    pub updated_at: Option<String>,
    pub monitor_address: Option<String>,
    pub monitor_port: Option<i64>,
    pub tags: Vec<String>,
    pub vnic_type: String,
}

impl MemberView {
    /// The view of a member.
    pub fn new(m: Member) -> Self {
        MemberView {
            name: text_or_empty(&m.name),
            tenant_id: m.project_id.clone(),
            id: m.id,
            operating_status: m.operating_status,
            provisioning_status: m.provisioning_status,
            admin_state_up: m.admin_state_up,
            address: m.address,
            protocol_port: m.protocol_port,
            weight: m.weight,
            backup: m.backup,
            subnet_id: m.subnet_id,
            project_id: m.project_id,
            created_at: m.created_at,
            updated_at: m.updated_at,
            monitor_address: m.monitor_address,
            monitor_port: m.monitor_port,
            tags: m.tags,
            vnic_type: "normal".into(),
        }
    }
}

/// `{"member": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberBody {
    /// The member.
    pub member: MemberView,
}

/// `{"members": [...], "members_links": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberList {
    /// A page of members.
    pub members: Vec<MemberView>,
    /// Paging links.
    pub members_links: Vec<Link>,
}
