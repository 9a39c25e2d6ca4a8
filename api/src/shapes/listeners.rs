//! Shapes of `/v2/lbaas/listeners`.

use std::collections::BTreeMap;

use fulcrum_core::model::{
    ClientAuthentication, Kind, Listener, ListenerProtocol, OperatingStatus, ProvisioningStatus,
};
use fulcrum_core::patch::Patch;
use fulcrum_core::wsme;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{IdRef, Related, Rooted, id_refs, text_or_empty};
use crate::listing::Link;

/// Body of `POST /v2/lbaas/listeners`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"name": "http", "loadbalancer_id": "0b6f4d6e-5a7c-4a38-9f7b-3c1e2d4f5a60", "protocol": "HTTP", "protocol_port": 80}))]
#[serde(deny_unknown_fields)]
pub struct CreateListener {
    /// The load balancer.
    pub loadbalancer_id: String,
    /// Protocol.
    pub protocol: ListenerProtocol,
    /// Port on the VIP.
    #[serde(deserialize_with = "wsme::convert")]
    #[schema(minimum = 1, maximum = 65535)]
    pub protocol_port: i64,
    /// Name.
    #[schema(max_length = 255)]
    pub name: Option<String>,
    /// Free text.
    #[schema(max_length = 255)]
    pub description: Option<String>,
    /// Whether it serves (default true).
    #[serde(default, deserialize_with = "wsme::convert")]
    pub admin_state_up: Option<bool>,
    /// Max connections (-1 unlimited).
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = -1, maximum = 2147483647)]
    pub connection_limit: Option<i64>,
    /// Certificate for TERMINATED_HTTPS.
    pub default_tls_container_ref: Option<String>,
    /// SNI certificates.
    pub sni_container_refs: Option<Vec<String>>,
    /// Default pool.
    pub default_pool_id: Option<String>,
    /// Headers to insert.
    pub insert_headers: Option<BTreeMap<String, String>>,
    /// Client inactivity timeout, ms.
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 0, maximum = 2073600000)]
    pub timeout_client_data: Option<i64>,
    /// Member connect timeout, ms.
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 0, maximum = 2073600000)]
    pub timeout_member_connect: Option<i64>,
    /// Member inactivity timeout, ms.
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 0, maximum = 2073600000)]
    pub timeout_member_data: Option<i64>,
    /// Inspection timeout, ms.
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 0, maximum = 2073600000)]
    pub timeout_tcp_inspect: Option<i64>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// Client CA.
    pub client_ca_tls_container_ref: Option<String>,
    /// Client certificate mode.
    pub client_authentication: Option<ClientAuthentication>,
    /// Client CRL.
    pub client_crl_container_ref: Option<String>,
    /// Allowed source CIDRs.
    pub allowed_cidrs: Option<Vec<String>>,
    /// Cipher string.
    #[schema(max_length = 2048)]
    pub tls_ciphers: Option<String>,
    /// TLS versions.
    pub tls_versions: Option<Vec<String>>,
    /// ALPN protocols.
    pub alpn_protocols: Option<Vec<String>>,
    /// HSTS max-age.
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 0)]
    pub hsts_max_age: Option<i64>,
    /// HSTS includeSubDomains.
    #[serde(default, deserialize_with = "wsme::convert")]
    pub hsts_include_subdomains: Option<bool>,
    /// HSTS preload.
    #[serde(default, deserialize_with = "wsme::convert")]
    pub hsts_preload: Option<bool>,
    /// Ignored: the project is the load balancer's.
    pub project_id: Option<String>,
    /// Ignored alias of `project_id`.
    pub tenant_id: Option<String>,
}

impl Rooted for CreateListener {
    const ROOT: &'static str = "listener";
    const ARGUMENT: &'static str = "listener_";
}

/// Body of `PUT /v2/lbaas/listeners/{id}`; `null` resets a field to its default.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct UpdateListener {
    #[serde(default)]
    #[schema(max_length = 255, value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(max_length = 255, value_type = Option<String>)]
    pub description: Patch<String>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(value_type = Option<bool>)]
    pub admin_state_up: Patch<bool>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = -1, maximum = 2147483647, value_type = Option<i64>)]
    pub connection_limit: Patch<i64>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub default_tls_container_ref: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub sni_container_refs: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub default_pool_id: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub insert_headers: Patch<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 0, maximum = 2073600000, value_type = Option<i64>)]
    pub timeout_client_data: Patch<i64>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 0, maximum = 2073600000, value_type = Option<i64>)]
    pub timeout_member_connect: Patch<i64>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 0, maximum = 2073600000, value_type = Option<i64>)]
    pub timeout_member_data: Patch<i64>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 0, maximum = 2073600000, value_type = Option<i64>)]
    pub timeout_tcp_inspect: Patch<i64>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub tags: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub client_ca_tls_container_ref: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<ClientAuthentication>)]
    pub client_authentication: Patch<ClientAuthentication>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub client_crl_container_ref: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub allowed_cidrs: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(max_length = 2048, value_type = Option<String>)]
    pub tls_ciphers: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub tls_versions: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub alpn_protocols: Patch<Vec<String>>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 0, value_type = Option<i64>)]
    pub hsts_max_age: Patch<i64>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(value_type = Option<bool>)]
    pub hsts_include_subdomains: Patch<bool>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(value_type = Option<bool>)]
    pub hsts_preload: Patch<bool>,
}

impl Rooted for UpdateListener {
    const ROOT: &'static str = "listener";
    const ARGUMENT: &'static str = "listener_";
}

/// A listener as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[allow(missing_docs)]
pub struct ListenerView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub provisioning_status: ProvisioningStatus,
    pub operating_status: OperatingStatus,
    pub admin_state_up: bool,
    pub protocol: ListenerProtocol,
    pub protocol_port: i64,
    pub connection_limit: i64,
    pub default_tls_container_ref: Option<String>,
    pub sni_container_refs: Vec<String>,
    pub project_id: Option<String>,
    pub tenant_id: Option<String>,
    pub default_pool_id: Option<String>,
    pub l7policies: Vec<IdRef>,
    pub insert_headers: BTreeMap<String, String>,
    pub created_at: String,
    pub updated_at: Option<String>,
    pub loadbalancers: Vec<IdRef>,
    pub timeout_client_data: i64,
    pub timeout_member_connect: i64,
    pub timeout_member_data: i64,
    pub timeout_tcp_inspect: i64,
    pub tags: Vec<String>,
    pub client_ca_tls_container_ref: Option<String>,
    pub client_authentication: ClientAuthentication,
    pub client_crl_container_ref: Option<String>,
    pub allowed_cidrs: Option<Vec<String>>,
    pub tls_ciphers: Option<String>,
    pub tls_versions: Option<Vec<String>>,
    pub alpn_protocols: Option<Vec<String>>,
    pub hsts_max_age: Option<i64>,
    pub hsts_include_subdomains: bool,
    pub hsts_preload: bool,
}

impl ListenerView {
    /// The view of a listener with the ids of its L7 policies.
    pub fn new(l: Listener, related: &Related) -> Self {
        ListenerView {
            name: text_or_empty(&l.name),
            description: text_or_empty(&l.description),
            tenant_id: l.project_id.clone(),
            l7policies: id_refs(related.ids(Kind::L7Policy, &l.id)),
            loadbalancers: vec![IdRef {
                id: l.loadbalancer_id.clone(),
            }],
            allowed_cidrs: (!l.allowed_cidrs.is_empty()).then_some(l.allowed_cidrs),
            id: l.id,
            provisioning_status: l.provisioning_status,
            operating_status: l.operating_status,
            admin_state_up: l.admin_state_up,
            protocol: l.protocol,
            protocol_port: l.protocol_port,
            connection_limit: l.connection_limit,
            default_tls_container_ref: l.default_tls_container_ref,
            sni_container_refs: l.sni_container_refs,
            project_id: l.project_id,
            default_pool_id: l.default_pool_id,
            insert_headers: l.insert_headers,
            created_at: l.created_at,
            updated_at: l.updated_at,
            timeout_client_data: l.timeout_client_data,
            timeout_member_connect: l.timeout_member_connect,
            timeout_member_data: l.timeout_member_data,
            timeout_tcp_inspect: l.timeout_tcp_inspect,
            tags: l.tags,
            client_ca_tls_container_ref: l.client_ca_tls_container_ref,
            client_authentication: l.client_authentication,
            client_crl_container_ref: l.client_crl_container_ref,
            tls_ciphers: l.tls_ciphers,
            tls_versions: l.tls_versions,
            alpn_protocols: l.alpn_protocols,
            hsts_max_age: l.hsts_max_age,
            hsts_include_subdomains: l.hsts_include_subdomains,
            hsts_preload: l.hsts_preload,
        }
    }
}

/// `{"listener": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListenerBody {
    /// The listener.
    pub listener: ListenerView,
}

/// `{"listeners": [...], "listeners_links": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListenerList {
    /// A page of listeners.
    pub listeners: Vec<ListenerView>,
    /// Paging links.
    pub listeners_links: Vec<Link>,
}
