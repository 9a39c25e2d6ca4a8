//! Shapes of `/v2/lbaas/loadbalancers`.

use fulcrum_core::model::{AdditionalVip, Kind, LoadBalancer, OperatingStatus, ProvisioningStatus};
use fulcrum_core::patch::Patch;
use fulcrum_core::wsme;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::graph::{ListenerSingleCreate, PoolSingleCreate};
use super::{IdRef, Related, Rooted, id_refs, text_or_empty};
use crate::listing::Link;

/// Body of `POST /v2/lbaas/loadbalancers`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"name": "web", "vip_subnet_id": "5f3a0c6e-6a0e-4c59-9a55-000000000002"}))]
#[serde(deny_unknown_fields)]
pub struct CreateLoadBalancer {
    /// Name.
    #[schema(max_length = 255)]
    pub name: Option<String>,
    /// Free text.
    #[schema(max_length = 255)]
    pub description: Option<String>,
    /// Whether it should serve (default true).
    #[serde(default, deserialize_with = "wsme::convert")]
    pub admin_state_up: Option<bool>,
    /// A specific VIP address.
    pub vip_address: Option<String>,
    /// An existing port for the VIP.
    pub vip_port_id: Option<String>,
    /// The subnet to take the VIP from.
    pub vip_subnet_id: Option<String>,
    /// The network to take the VIP from.
    pub vip_network_id: Option<String>,
    /// QoS policy of the VIP port.
    pub vip_qos_policy_id: Option<String>,
    /// Further addresses, each on another subnet of the VIP's network (not updatable).
    pub additional_vips: Option<Vec<AdditionalVipRequest>>,
    /// Owning project (admins; otherwise the caller's).
    pub project_id: Option<String>,
    /// Deprecated alias of `project_id`.
    pub tenant_id: Option<String>,
    /// Provider to realize it (default from configuration).
    pub provider: Option<String>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// Flavor.
    pub flavor_id: Option<String>,
    /// Availability zone.
    pub availability_zone: Option<String>,
    /// Listeners to create with it (graph create), each with its default pool and L7 policies.
    pub listeners: Option<Vec<ListenerSingleCreate>>,
    /// Pools to create with it (graph create), each with its members and health monitor.
    pub pools: Option<Vec<PoolSingleCreate>>,
}

/// One entry of `additional_vips` in a create request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdditionalVipRequest {
    /// The subnet to take the address from.
    pub subnet_id: String,
    /// A specific address of that subnet (default: one the network back-end allocates).
    pub ip_address: Option<String>,
}

/// One entry of `additional_vips` in a load balancer's view.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdditionalVipView {
    /// Its subnet.
    pub subnet_id: String,
    /// Its address.
    pub ip_address: String,
}

impl From<AdditionalVip> for AdditionalVipView {
    fn from(vip: AdditionalVip) -> Self {
        AdditionalVipView {
            subnet_id: vip.subnet_id,
            ip_address: vip.ip_address,
        }
    }
}

impl Rooted for CreateLoadBalancer {
    const ROOT: &'static str = "loadbalancer";
    const ARGUMENT: &'static str = "load_balancer";
}

/// Body of `PUT /v2/lbaas/loadbalancers/{id}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLoadBalancer {
    /// Name.
    #[serde(default)]
    #[schema(max_length = 255, value_type = Option<String>)]
    pub name: Patch<String>,
    /// Free text.
    #[serde(default)]
    #[schema(max_length = 255, value_type = Option<String>)]
    pub description: Patch<String>,
    /// Whether it should serve.
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(value_type = Option<bool>)]
    pub admin_state_up: Patch<bool>,
    /// QoS policy of the VIP port.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub vip_qos_policy_id: Patch<String>,
    /// Tags (replaces the list).
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub tags: Patch<Vec<String>>,
}

impl Rooted for UpdateLoadBalancer {
    const ROOT: &'static str = "loadbalancer";
    const ARGUMENT: &'static str = "load_balancer";
}

/// A load balancer as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoadBalancerView {
    /// Id.
    pub id: String,
    /// Name ("" when unset).
    pub name: String,
    /// Description ("" when unset).
    pub description: String,
    /// Life-cycle state.
    pub provisioning_status: ProvisioningStatus,
    /// Data-plane state.
    pub operating_status: OperatingStatus,
    /// Whether it should serve.
    pub admin_state_up: bool,
    /// Owning project.
    pub project_id: Option<String>,
    /// Same as `project_id`.
    pub tenant_id: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: Option<String>,
    /// VIP address.
    pub vip_address: String,
    /// VIP port.
    pub vip_port_id: String,
    /// VIP subnet.
    pub vip_subnet_id: String,
    /// VIP network.
    pub vip_network_id: String,
    /// VIP QoS policy.
    pub vip_qos_policy_id: Option<String>,
    /// VIP security groups (none: the built-in network has none).
    pub vip_sg_ids: Vec<String>,
    /// Further addresses it answers on.
    pub additional_vips: Vec<AdditionalVipView>,
    /// Its listeners.
    pub listeners: Vec<IdRef>,
    /// Its pools.
    pub pools: Vec<IdRef>,
    /// Provider.
    pub provider: String,
    /// Flavor.
    pub flavor_id: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Availability zone.
    pub availability_zone: Option<String>,
    /// VNIC type of the VIP port.
    pub vip_vnic_type: String,
}

impl LoadBalancerView {
    /// The view of a load balancer with the ids of its listeners and pools.
    pub fn new(lb: LoadBalancer, related: &Related) -> Self {
        LoadBalancerView {
            name: text_or_empty(&lb.name),
            description: text_or_empty(&lb.description),
            tenant_id: lb.project_id.clone(),
            listeners: id_refs(related.ids(Kind::Listener, &lb.id)),
            pools: id_refs(related.ids(Kind::Pool, &lb.id)),
            vip_sg_ids: vec![],
            additional_vips: lb.additional_vips.into_iter().map(Into::into).collect(),
            vip_vnic_type: "normal".into(),
            id: lb.id,
            provisioning_status: lb.provisioning_status,
            operating_status: lb.operating_status,
            admin_state_up: lb.admin_state_up,
            project_id: lb.project_id,
            created_at: lb.created_at,
            updated_at: lb.updated_at,
            vip_address: lb.vip_address,
            vip_port_id: lb.vip_port_id,
            vip_subnet_id: lb.vip_subnet_id,
            vip_network_id: lb.vip_network_id,
            vip_qos_policy_id: lb.vip_qos_policy_id,
            provider: lb.provider,
            flavor_id: lb.flavor_id,
            tags: lb.tags,
            availability_zone: lb.availability_zone,
        }
    }
}

/// `{"loadbalancer": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoadBalancerBody {
    /// The load balancer.
    pub loadbalancer: LoadBalancerView,
}

/// `{"loadbalancers": [...], "loadbalancers_links": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoadBalancerList {
    /// A page of load balancers.
    pub loadbalancers: Vec<LoadBalancerView>,
    /// Paging links.
    pub loadbalancers_links: Vec<Link>,
}

/// Query of `DELETE /v2/lbaas/loadbalancers/{id}`.
#[derive(Debug, Default, Deserialize)]
pub struct DeleteParams {
    /// Delete everything below it too.
    pub cascade: Option<String>,
}
