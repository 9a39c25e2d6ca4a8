//! Neutron's JSON, as the networking API reference (v2.0) describes it: the parts Fulcrum reads.

use serde::Deserialize;

/// `{"network": {...}}`.
#[derive(Debug, Deserialize)]
pub(super) struct NetworkBody {
    pub network: NeutronNetwork,
}

/// A network.
#[derive(Debug, Deserialize)]
pub(super) struct NeutronNetwork {
    pub id: String,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub shared: bool,
}

/// `{"subnet": {...}}`.
#[derive(Debug, Deserialize)]
pub(super) struct SubnetBody {
    pub subnet: NeutronSubnet,
}

/// `{"subnets": [...]}`.
#[derive(Debug, Deserialize)]
pub(super) struct SubnetsBody {
    pub subnets: Vec<NeutronSubnet>,
}

/// A subnet.
#[derive(Debug, Deserialize)]
pub(super) struct NeutronSubnet {
    pub id: String,
    pub network_id: String,
    #[serde(default)]
    pub project_id: Option<String>,
    pub cidr: String,
    #[serde(default)]
    pub allocation_pools: Vec<AllocationPool>,
}

/// An allocation pool of a subnet.
#[derive(Debug, Deserialize)]
pub(super) struct AllocationPool {
    pub start: String,
    pub end: String,
}

/// `{"port": {...}}`.
#[derive(Debug, Deserialize)]
pub(super) struct PortBody {
    pub port: NeutronPort,
}

/// `{"ports": [...]}`.
#[derive(Debug, Deserialize)]
pub(super) struct PortsBody {
    pub ports: Vec<NeutronPort>,
}

/// A port.
#[derive(Debug, Deserialize)]
pub(super) struct NeutronPort {
    pub id: String,
    pub network_id: String,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub device_id: String,
    #[serde(default)]
    pub device_owner: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub fixed_ips: Vec<NeutronFixedIp>,
    #[serde(default)]
    pub created_at: Option<String>,
}

/// An address of a port.
#[derive(Debug, Deserialize)]
pub(super) struct NeutronFixedIp {
    pub subnet_id: String,
    pub ip_address: String,
}

/// Neutron's error body: `{"NeutronError": {"type", "message", "detail"}}`.
#[derive(Debug, Deserialize)]
pub(super) struct ErrorBody {
    #[serde(rename = "NeutronError")]
    pub error: NeutronFault,
}

/// What a Neutron error says.
#[derive(Debug, Deserialize)]
pub(super) struct NeutronFault {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub message: String,
}
