//! Shapes of `/v2/fulcrum/provider/...`: what Octavia's provider driver for Fulcrum sends and
//! reads. Every object is named by the id Octavia gave it; each object's fields are those of
//! Octavia's create request for its kind ([`CreateListener`], [`CreatePool`], ...), so the same
//! validation applies as on Fulcrum's own API.

use fulcrum_core::wsme;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::Rooted;
use super::health_monitors::CreateHealthMonitor;
use super::l7policies::CreateL7Policy;
use super::l7rules::CreateL7Rule;
use super::listeners::CreateListener;
use super::members::CreateMember;
use super::pools::CreatePool;

/// Body of `PUT /v2/fulcrum/provider/loadbalancers/{id}`: a load balancer as Octavia holds it,
/// with the objects below it that the driver hands over (all of them on a create; none on an
/// update of the load balancer alone). Objects given are created or replaced; objects not given
/// are left as they are (their removal is a `DELETE`).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "project_id": "9d3c4f1a2b3c4d5e6f708192a3b4c5d6",
    "name": "web",
    "vip_address": "203.0.113.10",
    "vip_subnet_id": "5f3a0c6e-6a0e-4c59-9a55-000000000002",
    "listeners": [{"id": "a1b2c3d4-0000-4000-8000-000000000001", "listener": {
        "loadbalancer_id": "a1b2c3d4-0000-4000-8000-000000000000",
        "protocol": "HTTP", "protocol_port": 80}}]
}))]
#[serde(deny_unknown_fields)]
pub struct ProviderLoadBalancer {
    /// Owning project.
    #[schema(max_length = 255)]
    pub project_id: Option<String>,
    /// Name.
    #[schema(max_length = 255)]
    pub name: Option<String>,
    /// Free text.
    #[schema(max_length = 255)]
    pub description: Option<String>,
    /// Whether it should serve (default true).
    #[serde(default, deserialize_with = "wsme::convert")]
    pub admin_state_up: Option<bool>,
    /// The VIP address Octavia allocated.
    pub vip_address: String,
    /// The VIP's port.
    pub vip_port_id: Option<String>,
    /// The VIP's subnet.
    pub vip_subnet_id: Option<String>,
    /// The VIP's network.
    pub vip_network_id: Option<String>,
    /// QoS policy of the VIP port.
    pub vip_qos_policy_id: Option<String>,
    /// Fulcrum's provider (driver) that realizes it; Fulcrum's default when absent. Fixed once
    /// the load balancer exists.
    pub provider: Option<String>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// Listeners, each with its L7 policies.
    #[serde(default)]
    pub listeners: Vec<ProviderListener>,
    /// Pools, each with its members and health monitor.
    #[serde(default)]
    pub pools: Vec<ProviderPool>,
}

impl Rooted for ProviderLoadBalancer {
    const ROOT: &'static str = "loadbalancer";
    const ARGUMENT: &'static str = "load_balancer";
}

/// A listener of a [`ProviderLoadBalancer`].
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderListener {
    /// Octavia's id of the listener.
    pub id: String,
    /// Its fields.
    pub listener: CreateListener,
    /// Its L7 policies.
    #[serde(default)]
    pub l7policies: Vec<ProviderL7Policy>,
}

/// An L7 policy with its rules.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderL7Policy {
    /// Octavia's id of the policy.
    pub id: String,
    /// Its fields (without `rules`: rules come with their ids below).
    pub l7policy: CreateL7Policy,
    /// Its rules.
    #[serde(default)]
    pub rules: Vec<ProviderL7Rule>,
}

/// An L7 rule under its id.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderL7Rule {
    /// Octavia's id of the rule.
    pub id: String,
    /// Its fields.
    pub rule: CreateL7Rule,
}

/// A pool of a [`ProviderLoadBalancer`], with its members and health monitor.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderPool {
    /// Octavia's id of the pool.
    pub id: String,
    /// Its fields.
    pub pool: CreatePool,
    /// Its members.
    #[serde(default)]
    pub members: Vec<ProviderMember>,
    /// Its health monitor.
    pub healthmonitor: Option<ProviderHealthMonitor>,
}

/// A member under its id.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderMember {
    /// Octavia's id of the member.
    pub id: String,
    /// Its fields.
    pub member: CreateMember,
}

/// A health monitor under its id.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderHealthMonitor {
    /// Octavia's id of the health monitor.
    pub id: String,
    /// Its fields.
    pub healthmonitor: CreateHealthMonitor,
}

/// Body of `PUT /v2/fulcrum/provider/pools/{pool_id}/members`: every member the pool is to have
/// (Octavia's member batch update); members not listed are removed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct ProviderMemberList {
    /// The complete desired member set.
    pub members: Vec<ProviderMember>,
}

impl Rooted for ProviderMemberList {
    const ROOT: &'static str = "members";
    const ARGUMENT: &'static str = "members_";
}

/// Body of `POST /v2/fulcrum/provider/providers/{provider}/flavor_metadata`:
/// `{"flavor_metadata": {...}}`, the metadata of an Octavia flavor profile.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(value_type = Object)]
pub struct ProviderFlavorMetadata(
    /// The metadata, as Octavia hands it to `validate_flavor`.
    pub serde_json::Map<String, serde_json::Value>,
);

impl Rooted for ProviderFlavorMetadata {
    const ROOT: &'static str = "flavor_metadata";
    const ARGUMENT: &'static str = "flavor_metadata";
}

/// Body of `POST /v2/fulcrum/provider/providers/{provider}/availability_zone_metadata`:
/// `{"availability_zone_metadata": {...}}`, the metadata of an Octavia availability zone profile.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(value_type = Object)]
pub struct ProviderAvailabilityZoneMetadata(
    /// The metadata, as Octavia hands it to `validate_availability_zone`.
    pub serde_json::Map<String, serde_json::Value>,
);

impl Rooted for ProviderAvailabilityZoneMetadata {
    const ROOT: &'static str = "availability_zone_metadata";
    const ARGUMENT: &'static str = "availability_zone_metadata";
}

/// What a provider write did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderWrite {
    /// The load balancer whose tree was written (none for a delete of an object not stored,
    /// whose tree is unknown).
    pub loadbalancer_id: Option<String>,
    /// Whether anything changed: `false` when the store already held what was sent (its
    /// statuses are then reported again on the status feed).
    pub changed: bool,
}

/// Body of `GET /v2/fulcrum/provider/status`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderStatusFeed {
    /// Entries after the cursor asked for, in order.
    pub entries: Vec<ProviderStatusEntry>,
    /// The cursor to ask from next: the last entry's, or the one asked for when there is none.
    pub cursor: i64,
}

/// An entry of the status feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderStatusEntry {
    /// Its place in the feed; cursors increase in commit order, without holes.
    pub cursor: i64,
    /// The load balancer whose tree it is about.
    pub loadbalancer_id: String,
    /// Statuses, as octavia-lib's `update_loadbalancer_status` takes them:
    /// `{"loadbalancers": [{"id", "provisioning_status", "operating_status"}], "listeners": ...}`.
    #[schema(value_type = Option<Object>)]
    pub status: Option<Value>,
    /// Listener counters, as octavia-lib's `update_listener_statistics` takes them:
    /// `{"listeners": [{"id", "bytes_in", "bytes_out", "active_connections", ...}]}`.
    #[schema(value_type = Option<Object>)]
    pub statistics: Option<Value>,
    /// When it was written.
    pub created_at: String,
}
