//! The `neutron` network back-end: VIPs are Neutron ports, as with Octavia's
//! `allowed_address_pairs` network driver.
//!
//! It lives in the `api` crate because it authenticates as Fulcrum with the Keystone client the
//! API already holds (`auth::keystone`: one service token, renewed and shared, and the catalog
//! the Neutron endpoint is found in); the drivers' kit is for backends, which may not use `api`.
//!
//! - **Resolution**: `GET /v2.0/networks/{id}`, `/v2.0/subnets/{id}`, `/v2.0/subnets?network_id=`
//!   and `/v2.0/ports/{id}`, with Fulcrum's (administrative) view; a 404 is "no such object", and
//!   each object carries its owner and whether it is shared, so that the API hides what the
//!   caller's project could not see in Neutron (Octavia asks with the caller's own token).
//! - **VIP ports**: a load balancer created without `vip_port_id` gets a port made as Octavia
//!   makes it (`octavia-lb-<id>`, device `lb-<id>`, device owner `Octavia`, the load balancer's
//!   project, disabled, the address asked for or one Neutron allocates), described with
//!   [`VIP_PORT_MARK`] so that the full sync can tell Fulcrum's ports from Octavia's.
//! - **Routers**: when a VIP is allocated, the router behind its subnet is the `device_id` of a
//!   router interface port on the subnet (`GET /v2.0/ports?device_owner=...&fixed_ips=subnet_id=`),
//!   kept with the load balancer for drivers that place it by its router (NSX-T's Tier-1).
//! - **Release**: the reconciler deletes a load balancer's port once the load balancer is gone,
//!   only if it carries the mark and the load balancer's device id (a port the user supplied is
//!   never deleted); a release that fails is not retried there, because the full sync removes the
//!   port later: a marked port whose load balancer the store does not hold, older than
//!   `leaked_port_grace_seconds`, is deleted (one filtered list call per sync).

mod client;
mod config;
mod wire;

use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;
use fulcrum_core::Error;
use fulcrum_core::network::{
    AddressRange, AddressRequest, AddressUse, CreatedVipPort, FixedIp, Network, Networks, Port,
    Subnet, VipNetwork, VipPortRequest, VipSubnet, Visibility,
};
use ipnet::IpNet;
use reqwest::Method;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use client::{NeutronAuth, NeutronClient, NeutronError};
pub use config::NeutronConfig;
use wire::{NetworkBody, NeutronPort, NeutronSubnet, PortBody, PortsBody, SubnetBody, SubnetsBody};

/// The description of every VIP port Fulcrum creates: how the full sync knows its own ports.
pub const VIP_PORT_MARK: &str = "VIP port of a Fulcrum load balancer";

/// The device owner of VIP ports, as Octavia sets it.
pub const VIP_DEVICE_OWNER: &str = "Octavia";

/// The device owners of a router's interface ports, as Neutron sets them (its
/// `ROUTER_INTERFACE_OWNERS`): a legacy, distributed (DVR) or HA router; the port's `device_id`
/// is the router's id.
pub const ROUTER_INTERFACE_OWNERS: &[&str] = &[
    "network:router_interface",
    "network:router_interface_distributed",
    "network:ha_router_replicated_interface",
];

/// VIPs from Neutron.
pub struct NeutronNetworks {
    client: NeutronClient,
}

impl NeutronNetworks {
    /// A back-end on `config`, authenticating with `auth`.
    pub fn new(config: NeutronConfig, auth: NeutronAuth) -> Result<Self, String> {
        Ok(NeutronNetworks {
            client: NeutronClient::new(config, auth)?,
        })
    }

    /// A Neutron object by path, `None` on 404.
    async fn find<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<Option<T>, Error> {
        match self.client.call(Method::GET, path, None).await {
            Ok(found) => Ok(Some(found)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(failure(e)),
        }
    }

    async fn network_shared(&self, id: &str) -> Result<Option<bool>, Error> {
        let found: Option<NetworkBody> = self.find(&format!("/v2.0/networks/{}", enc(id))).await?;
        Ok(found.map(|b| b.network.shared))
    }
}

/// Neutron's error type for a QoS policy that does not exist.
const QOS_POLICY_NOT_FOUND: &str = "QosPolicyNotFound";

/// Octavia's refusal of a QoS policy Neutron does not know (its `InvalidSubresource`).
fn unknown_qos_policy(id: &str) -> Error {
    Error::BadRequest(format!("qos_policy {id} not found."))
}

/// A Neutron failure as the API answers it: 500 with what Neutron said.
fn failure(e: NeutronError) -> Error {
    Error::Internal(e.to_string())
}

/// Which of the addresses asked for Neutron's refusal `message` names as allocated already: the
/// one it quotes, else the VIP's own.
fn address_in_use(
    message: &str,
    primary: &AddressRequest,
    additional: &[AddressRequest],
) -> String {
    let asked = || {
        std::iter::once(primary)
            .chain(additional)
            .filter_map(|wanted| wanted.address)
    };
    asked()
        .find(|a| message.split_whitespace().any(|word| word == a.to_string()))
        .or_else(|| asked().next())
        .map(|a| a.to_string())
        .unwrap_or_default()
}

/// A path segment or query value, percent-encoded.
fn enc(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn vip_subnet(subnet: NeutronSubnet, shared: bool) -> Result<VipSubnet, Error> {
    let cidr: IpNet = subnet.cidr.parse().map_err(|e| {
        Error::Internal(format!(
            "Neutron subnet {} has an unreadable CIDR {:?}: {e}",
            subnet.id, subnet.cidr
        ))
    })?;
    let pool = subnet
        .allocation_pools
        .first()
        .and_then(|p| AddressRange::within(&cidr, p.start.parse().ok()?, p.end.parse().ok()?).ok());
    Ok(VipSubnet {
        id: subnet.id,
        network_id: Some(subnet.network_id),
        cidr: Some(cidr),
        range: pool.unwrap_or_else(|| AddressRange::hosts_of(&cidr)),
        // Neutron holds each address to one port.
        address_use: AddressUse::Shared,
        visibility: Visibility {
            project_id: subnet.project_id,
            shared,
        },
    })
}

fn port_of(port: NeutronPort) -> Result<Port, Error> {
    let fixed_ips = port
        .fixed_ips
        .into_iter()
        .map(|f| {
            let ip_address: IpAddr = f.ip_address.parse().map_err(|e| {
                Error::Internal(format!(
                    "Neutron port {} has an unreadable address {:?}: {e}",
                    port.id, f.ip_address
                ))
            })?;
            Ok(FixedIp {
                subnet_id: f.subnet_id,
                ip_address,
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok(Port {
        id: port.id,
        network_id: Some(port.network_id),
        fixed_ips,
        device_id: Some(port.device_id).filter(|d| !d.is_empty()),
        visibility: Visibility {
            project_id: port.project_id,
            shared: false,
        },
    })
}

/// The device id of a load balancer's VIP port, as Octavia sets it.
fn device_id(load_balancer_id: &str) -> String {
    format!("lb-{load_balancer_id}")
}

/// How long ago Neutron says a port was created; `None` when it does not say.
fn age(created_at: Option<&str>, now: OffsetDateTime) -> Option<Duration> {
    let created = OffsetDateTime::parse(created_at?, &Rfc3339).ok()?;
    Some(Duration::try_from(now - created).unwrap_or(Duration::ZERO))
}

#[async_trait]
impl Networks for NeutronNetworks {
    fn name(&self) -> &'static str {
        "neutron"
    }

    async fn listed_networks(&self) -> Result<Vec<Network>, Error> {
        Ok(Vec::new())
    }

    async fn listed_subnets(&self) -> Result<Vec<Subnet>, Error> {
        Ok(Vec::new())
    }

    async fn network(&self, id: &str) -> Result<Option<VipNetwork>, Error> {
        let Some(found) = self
            .find::<NetworkBody>(&format!("/v2.0/networks/{}", enc(id)))
            .await?
        else {
            return Ok(None);
        };
        let network = found.network;
        let subnets: SubnetsBody = self
            .client
            .call(
                Method::GET,
                &format!("/v2.0/subnets?network_id={}", enc(&network.id)),
                None,
            )
            .await
            .map_err(failure)?;
        Ok(Some(VipNetwork {
            subnets: subnets
                .subnets
                .into_iter()
                .map(|s| vip_subnet(s, network.shared))
                .collect::<Result<_, _>>()?,
            id: network.id,
            visibility: Visibility {
                project_id: network.project_id,
                shared: network.shared,
            },
        }))
    }

    async fn subnet(&self, id: &str) -> Result<Option<VipSubnet>, Error> {
        let Some(found) = self
            .find::<SubnetBody>(&format!("/v2.0/subnets/{}", enc(id)))
            .await?
        else {
            return Ok(None);
        };
        let shared = self
            .network_shared(&found.subnet.network_id)
            .await?
            .unwrap_or(false);
        vip_subnet(found.subnet, shared).map(Some)
    }

    async fn port(&self, id: &str) -> Result<Option<Port>, Error> {
        match self
            .find::<PortBody>(&format!("/v2.0/ports/{}", enc(id)))
            .await?
        {
            Some(found) => port_of(found.port).map(Some),
            None => Ok(None),
        }
    }

    /// The router of the first interface port Neutron lists on the subnet (one list call,
    /// filtered by the interface owners and the subnet), as vmware-nsx finds a load balancer's
    /// router.
    async fn router_of_subnet(&self, subnet_id: &str) -> Result<Option<String>, Error> {
        let owners: String = ROUTER_INTERFACE_OWNERS
            .iter()
            .map(|owner| format!("device_owner={}&", enc(owner)))
            .collect();
        let path = format!(
            "/v2.0/ports?{owners}fixed_ips={}",
            enc(&format!("subnet_id={subnet_id}"))
        );
        let listed: PortsBody = self
            .client
            .call(Method::GET, &path, None)
            .await
            .map_err(failure)?;
        Ok(listed
            .ports
            .into_iter()
            .filter(|p| ROUTER_INTERFACE_OWNERS.contains(&p.device_owner.as_str()))
            .filter(|p| p.fixed_ips.iter().any(|f| f.subnet_id == subnet_id))
            .map(|p| p.device_id)
            .find(|router| !router.is_empty()))
    }

    fn creates_vip_ports(&self) -> bool {
        true
    }

    async fn create_vip_port(&self, request: &VipPortRequest) -> Result<Option<Port>, Error> {
        let primary = AddressRequest {
            subnet_id: request.subnet_id.clone(),
            address: request.address,
        };
        let fixed_ips: Vec<serde_json::Value> = std::iter::once(&primary)
            .chain(&request.additional)
            .map(|wanted| {
                let mut fixed_ip = serde_json::json!({"subnet_id": wanted.subnet_id});
                if let Some(address) = wanted.address {
                    fixed_ip["ip_address"] = address.to_string().into();
                }
                fixed_ip
            })
            .collect();
        let mut port = serde_json::json!({
            "name": format!("octavia-lb-{}", request.load_balancer_id),
            "network_id": request.network_id,
            "admin_state_up": false,
            "device_id": device_id(&request.load_balancer_id),
            "device_owner": VIP_DEVICE_OWNER,
            "description": VIP_PORT_MARK,
            "fixed_ips": fixed_ips,
        });
        if let Some(project) = &request.project_id {
            port["project_id"] = project.clone().into();
        }
        if let Some(qos) = &request.qos_policy_id {
            port["qos_policy_id"] = qos.clone().into();
        }
        let body = serde_json::json!({ "port": port });
        match self
            .client
            .call::<PortBody>(Method::POST, "/v2.0/ports", Some(&body))
            .await
        {
            Ok(created) => port_of(created.port).map(Some),
            Err(NeutronError::Refused { kind, message, .. })
                if kind == "IpAddressAlreadyAllocated" =>
            {
                Err(Error::Conflict(format!(
                    "The VIP IP address is already in use: {}",
                    address_in_use(&message, &primary, &request.additional)
                )))
            }
            Err(NeutronError::Refused { kind, .. }) if kind == QOS_POLICY_NOT_FOUND => Err(
                unknown_qos_policy(request.qos_policy_id.as_deref().unwrap_or_default()),
            ),
            Err(e) => Err(Error::Internal(format!(
                "Creating the VIP port failed: {e}"
            ))),
        }
    }

    async fn set_vip_port_qos(
        &self,
        port_id: &str,
        qos_policy_id: Option<&str>,
    ) -> Result<(), Error> {
        let body = serde_json::json!({ "port": { "qos_policy_id": qos_policy_id } });
        let path = format!("/v2.0/ports/{}", enc(port_id));
        match self
            .client
            .call::<PortBody>(Method::PUT, &path, Some(&body))
            .await
        {
            Ok(_) => Ok(()),
            Err(NeutronError::Refused { kind, .. }) if kind == QOS_POLICY_NOT_FOUND => {
                Err(unknown_qos_policy(qos_policy_id.unwrap_or_default()))
            }
            Err(e) => Err(Error::Internal(format!(
                "Setting the QoS policy of VIP port {port_id} failed: {e}"
            ))),
        }
    }

    async fn release_vip_port(&self, load_balancer_id: &str, port_id: &str) -> Result<(), Error> {
        let Some(found) = self
            .find::<PortBody>(&format!("/v2.0/ports/{}", enc(port_id)))
            .await?
        else {
            return Ok(());
        };
        let port = found.port;
        let ours = port.device_owner == VIP_DEVICE_OWNER
            && port.description == VIP_PORT_MARK
            && port.device_id == device_id(load_balancer_id);
        if ours {
            self.delete_vip_port(port_id).await?;
        }
        Ok(())
    }

    async fn settled_vip_ports(&self) -> Result<Vec<CreatedVipPort>, Error> {
        let path = format!(
            "/v2.0/ports?device_owner={}&description={}",
            enc(VIP_DEVICE_OWNER),
            enc(VIP_PORT_MARK)
        );
        let listed: PortsBody = self
            .client
            .call(Method::GET, &path, None)
            .await
            .map_err(failure)?;
        let grace = Duration::from_secs(self.client.config().leaked_port_grace_seconds);
        let now = OffsetDateTime::now_utc();
        Ok(listed
            .ports
            .into_iter()
            // A port Neutron gives no creation time for is never taken for a leaked one.
            .filter(|p| p.device_owner == VIP_DEVICE_OWNER && p.description == VIP_PORT_MARK)
            .filter_map(|p| {
                let age = age(p.created_at.as_deref(), now)?;
                let load_balancer_id = p.device_id.strip_prefix("lb-")?.to_string();
                (age >= grace).then_some(CreatedVipPort {
                    id: p.id,
                    load_balancer_id,
                    age,
                })
            })
            .collect())
    }

    async fn delete_vip_port(&self, port_id: &str) -> Result<(), Error> {
        match self
            .client
            .send(
                Method::DELETE,
                &format!("/v2.0/ports/{}", enc(port_id)),
                None,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(failure(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_come_from_neutrons_creation_time() {
        let now = OffsetDateTime::parse("2026-01-01T00:10:00Z", &Rfc3339).unwrap();
        assert_eq!(
            age(Some("2026-01-01T00:00:00Z"), now),
            Some(Duration::from_secs(600))
        );
        assert_eq!(age(Some("2026-01-01T00:20:00Z"), now), Some(Duration::ZERO));
        assert_eq!(age(Some("yesterday"), now), None);
        assert_eq!(age(None, now), None);
    }

    #[test]
    fn ids_are_encoded_in_paths() {
        assert_eq!(enc("a b/c"), "a%20b%2Fc");
        assert_eq!(enc("3f2a-9b"), "3f2a-9b");
    }
}
