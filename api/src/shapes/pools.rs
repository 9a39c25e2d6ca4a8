//! Shapes of `/v2/lbaas/pools`.

use fulcrum_core::model::{
    Kind, LbAlgorithm, OperatingStatus, Pool, PoolProtocol, ProvisioningStatus, SessionPersistence,
};
use fulcrum_core::patch::Patch;
use fulcrum_core::wsme;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{IdRef, Related, Rooted, id_refs, text_or_empty};
use crate::listing::Link;

/// Body of `POST /v2/lbaas/pools`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"name": "web", "loadbalancer_id": "0b6f4d6e-5a7c-4a38-9f7b-3c1e2d4f5a60", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}))]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct CreatePool {
    pub protocol: PoolProtocol,
    pub lb_algorithm: LbAlgorithm,
    pub loadbalancer_id: Option<String>,
    pub listener_id: Option<String>,
    #[schema(max_length = 255)]
    pub name: Option<String>,
    #[schema(max_length = 255)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "wsme::convert")]
    pub admin_state_up: Option<bool>,
    pub session_persistence: Option<SessionPersistence>,
    pub tags: Option<Vec<String>>,
    pub tls_container_ref: Option<String>,
    pub ca_tls_container_ref: Option<String>,
    pub crl_container_ref: Option<String>,
    #[serde(default, deserialize_with = "wsme::convert")]
    pub tls_enabled: Option<bool>,
    #[schema(max_length = 2048)]
    pub tls_ciphers: Option<String>,
    pub tls_versions: Option<Vec<String>>,
    pub alpn_protocols: Option<Vec<String>>,
    pub project_id: Option<String>,
    pub tenant_id: Option<String>,
}

impl Rooted for CreatePool {
    const ROOT: &'static str = "pool";
    const ARGUMENT: &'static str = "pool_";
}

/// Body of `PUT /v2/lbaas/pools/{id}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct UpdatePool {
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
    #[schema(value_type = Option<LbAlgorithm>)]
    pub lb_algorithm: Patch<LbAlgorithm>,
    #[serde(default)]
    #[schema(value_type = Option<SessionPersistence>)]
    pub session_persistence: Patch<SessionPersistence>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub tags: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub tls_container_ref: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub ca_tls_container_ref: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub crl_container_ref: Patch<String>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(value_type = Option<bool>)]
    pub tls_enabled: Patch<bool>,
    #[serde(default)]
    #[schema(max_length = 2048, value_type = Option<String>)]
    pub tls_ciphers: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub tls_versions: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub alpn_protocols: Patch<Vec<String>>,
}

impl Rooted for UpdatePool {
    const ROOT: &'static str = "pool";
    const ARGUMENT: &'static str = "pool_";
}

/// A pool as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[allow(missing_docs)]
pub struct PoolView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub provisioning_status: ProvisioningStatus,
    pub operating_status: OperatingStatus,
    pub admin_state_up: bool,
    pub protocol: PoolProtocol,
    pub lb_algorithm: LbAlgorithm,
    pub session_persistence: Option<SessionPersistence>,
    pub project_id: Option<String>,
    pub tenant_id: Option<String>,
    pub loadbalancers: Vec<IdRef>,
    pub listeners: Vec<IdRef>,
    pub created_at: String,
    pub updated_at: Option<String>,
    pub healthmonitor_id: Option<String>,
    pub members: Vec<IdRef>,
    pub tags: Vec<String>,
    pub tls_container_ref: Option<String>,
    pub ca_tls_container_ref: Option<String>,
    pub crl_container_ref: Option<String>,
    pub tls_enabled: bool,
    pub tls_ciphers: Option<String>,
    pub tls_versions: Option<Vec<String>>,
    pub alpn_protocols: Option<Vec<String>>,
}

impl PoolView {
    /// The view of a pool with the ids of the listeners it serves, its members and its health
    /// monitor.
    pub fn new(p: Pool, related: &Related) -> Self {
        PoolView {
            name: text_or_empty(&p.name),
            description: text_or_empty(&p.description),
            tenant_id: p.project_id.clone(),
            loadbalancers: vec![IdRef {
                id: p.loadbalancer_id.clone(),
            }],
            listeners: id_refs(related.ids(Kind::Listener, &p.id)),
            members: id_refs(related.ids(Kind::Member, &p.id)),
            healthmonitor_id: related.ids(Kind::HealthMonitor, &p.id).first().cloned(),
            id: p.id,
            provisioning_status: p.provisioning_status,
            operating_status: p.operating_status,
            admin_state_up: p.admin_state_up,
            protocol: p.protocol,
            lb_algorithm: p.lb_algorithm,
            session_persistence: p.session_persistence,
            project_id: p.project_id,
            created_at: p.created_at,
            updated_at: p.updated_at,
            tags: p.tags,
            tls_container_ref: p.tls_container_ref,
            ca_tls_container_ref: p.ca_tls_container_ref,
            crl_container_ref: p.crl_container_ref,
            tls_enabled: p.tls_enabled,
            tls_ciphers: p.tls_ciphers,
            tls_versions: p.tls_versions,
            alpn_protocols: p.alpn_protocols,
        }
    }
}

/// `{"pool": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PoolBody {
    /// The pool.
    pub pool: PoolView,
}

/// `{"pools": [...], "pools_links": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PoolList {
    /// A page of pools.
    pub pools: Vec<PoolView>,
    /// Paging links.
    pub pools_links: Vec<Link>,
}
