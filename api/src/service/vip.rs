//! VIPs: what a load balancer create names (port, network, subnet, address), resolved through the
//! network back-end with Octavia's rules (`LoadBalancersController._validate_vip_request_object`),
//! then the ids and address the load balancer gets (the back-end's `allocate_vip`).
//!
//! Octavia looks the port, network and subnet up with the caller's own token, so a project sees
//! only its own objects and shared ones; here the back-end answers with its owner and sharing, and
//! what the caller's project could not see is "not found", exactly like a missing object
//! (administrators see everything). A back-end that allocates VIPs as ports (Neutron) creates the
//! port here, before the load balancer is stored; the caller deletes it if storing fails.

use std::net::IpAddr;
use std::sync::atomic::Ordering;

use fulcrum_core::model::{AdditionalVip, LoadBalancer};
use fulcrum_core::network::{AddressRequest, AddressUse, VipPortRequest, VipSubnet, Visibility};
use fulcrum_core::{Error, validate};

use super::{Service, new_id};
use crate::auth::RequestContext;
use crate::shapes::load_balancers::{AdditionalVipRequest, CreateLoadBalancer};

/// Who asks for a VIP: what the caller's project may see.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Viewer<'a> {
    project_id: Option<&'a str>,
    is_admin: bool,
}

impl<'a> Viewer<'a> {
    /// The caller of a request.
    pub(crate) fn of(ctx: &'a RequestContext) -> Self {
        Viewer {
            project_id: ctx.project_id(),
            is_admin: ctx.is_admin(),
        }
    }

    fn sees(&self, visibility: &Visibility) -> bool {
        visibility.visible_to(self.project_id, self.is_admin)
    }
}

/// Where a load balancer's VIP comes from, as its create request resolved.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedVip {
    /// The subnet the address is on.
    pub subnet: VipSubnet,
    /// The network, when the request or the back-end named one.
    pub network_id: Option<String>,
    /// The port the request named.
    pub port_id: Option<String>,
    /// The address the request (or its port) named.
    pub address: Option<IpAddr>,
}

/// A further address a create request asks for, as validated against its VIP.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedAdditionalVip {
    /// The subnet the address is on.
    pub subnet: VipSubnet,
    /// The address the request named.
    pub address: Option<IpAddr>,
}

/// A VIP as a load balancer holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Vip {
    /// Its subnet.
    pub subnet_id: String,
    /// Its network.
    pub network_id: String,
    /// Its port.
    pub port_id: String,
    /// Its address.
    pub address: IpAddr,
    /// Whether the port was created for this load balancer (and is deleted if it is not stored).
    pub created_port: bool,
    /// Its additional VIPs, in the order asked for.
    pub additional_vips: Vec<AdditionalVip>,
    /// The router behind its subnet, as the back-end knows it.
    pub router_id: Option<String>,
}

impl Service {
    /// Resolve the VIP of a create request with Octavia's rules: a port decides the network and,
    /// through its fixed IPs, the subnet and address; else a network decides the subnet (the one
    /// named, the one holding the address, or its first IPv4 one); else the subnet decides the
    /// network.
    pub(crate) async fn resolve_vip(
        &self,
        viewer: Viewer<'_>,
        req: &CreateLoadBalancer,
    ) -> Result<ResolvedVip, Error> {
        let mut address = req
            .vip_address
            .as_deref()
            .map(|a| validate::ip_address("vip_address", a))
            .transpose()?;
        let subnet_id = req.vip_subnet_id.as_deref();
        let (subnet, network_id, port_id) = if let Some(port_id) = &req.vip_port_id {
            let port = self
                .networks
                .port(port_id)
                .await?
                .filter(|p| viewer.sees(&p.visibility))
                .ok_or_else(|| Error::BadRequest(format!("Port {port_id} not found.")))?;
            if let Some(device) = &port.device_id {
                return Err(Error::validation(format!(
                    "Port {port_id} is already used by device {device} "
                )));
            }
            let subnet = if let Some(subnet_id) = subnet_id {
                let subnet = self.vip_subnet(viewer, subnet_id).await?;
                match port.fixed_ips.iter().find(|f| f.subnet_id == subnet_id) {
                    Some(fixed) => address = Some(fixed.ip_address),
                    None if address.is_none() => {
                        return Err(Error::validation(
                            "No VIP address found on the specified VIP port within the \
                             specified subnet.",
                        ));
                    }
                    None => {}
                }
                subnet
            } else if let Some(a) = address {
                let fixed = port
                    .fixed_ips
                    .iter()
                    .find(|f| f.ip_address == a)
                    .ok_or_else(|| {
                        Error::validation(
                            "Specified VIP address not found on the specified VIP port.",
                        )
                    })?;
                self.vip_subnet(viewer, &fixed.subnet_id).await?
            } else if let [fixed] = port.fixed_ips.as_slice() {
                address = Some(fixed.ip_address);
                self.vip_subnet(viewer, &fixed.subnet_id).await?
            } else {
                return Err(Error::validation(
                    "VIP port's subnet could not be determined. Please specify either a VIP \
                     subnet or address.",
                ));
            };
            (subnet, port.network_id, Some(port.id))
        } else if let Some(network_id) = &req.vip_network_id {
            let network = self
                .networks
                .network(network_id)
                .await?
                .filter(|n| viewer.sees(&n.visibility))
                .ok_or_else(|| Error::BadRequest(format!("Network {network_id} not found.")))?;
            let subnet = match (subnet_id, address) {
                (Some(subnet_id), _) => self
                    .networks
                    .subnet_of(&network, subnet_id)
                    .await?
                    .filter(|s| viewer.sees(&s.visibility))
                    .ok_or_else(|| Error::BadRequest(format!("Subnet {subnet_id} not found.")))?,
                (None, Some(a)) => network
                    .subnets
                    .iter()
                    .find(|s| s.accepts(a))
                    .cloned()
                    .ok_or_else(|| {
                        Error::validation(
                            "Supplied network does not contain a subnet for VIP address \
                             specified.",
                        )
                    })?,
                (None, None) => network
                    .subnets
                    .iter()
                    .find(|s| s.ip_version() == Some(4))
                    .or(network.subnets.first())
                    .cloned()
                    .ok_or_else(|| {
                        Error::validation("Supplied network does not contain a subnet.")
                    })?,
            };
            (subnet, Some(network.id), None)
        } else if let Some(subnet_id) = subnet_id {
            let subnet = self.vip_subnet(viewer, subnet_id).await?;
            let network_id = subnet.network_id.clone();
            (subnet, network_id, None)
        } else {
            return Err(Error::validation(
                "VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.",
            ));
        };
        if let Some(a) = address
            && !subnet.accepts(a)
        {
            return Err(Error::validation(format!(
                "VIP address {a} is not in subnet {}.",
                subnet.id
            )));
        }
        let network_id = network_id.or_else(|| subnet.network_id.clone());
        Ok(ResolvedVip {
            subnet,
            network_id,
            port_id,
            address,
        })
    }

    /// Validate the `additional_vips` of a create request against its resolved VIP with
    /// Octavia's rules: each names a subnet the caller may see, of the VIP's network, neither the
    /// VIP's subnet nor one named before; an address given lies in its subnet. A network
    /// back-end that cannot allocate them refuses them.
    pub(crate) async fn resolve_additional_vips(
        &self,
        viewer: Viewer<'_>,
        primary: &ResolvedVip,
        requested: Vec<AdditionalVipRequest>,
    ) -> Result<Vec<ResolvedAdditionalVip>, Error> {
        if requested.is_empty() {
            return Ok(Vec::new());
        }
        if !self.networks.allocates_additional_vips() {
            return Err(Error::validation(format!(
                "The {} network driver does not support additional VIPs.",
                self.networks.name()
            )));
        }
        if let Some(port) = primary
            .port_id
            .as_deref()
            .filter(|_| self.networks.creates_vip_ports())
        {
            return Err(Error::validation(format!(
                "Additional VIPs are addresses of a VIP port made for the load balancer; port \
                 {port} cannot take them. Leave out vip_port_id to have one made."
            )));
        }
        let mut subnets = vec![primary.subnet.id.as_str()];
        let mut resolved = Vec::with_capacity(requested.len());
        for vip in &requested {
            if subnets.contains(&vip.subnet_id.as_str()) {
                return Err(Error::validation(
                    "Duplicate VIP subnet(s) specified. Only one IP can be bound per subnet.",
                ));
            }
            subnets.push(&vip.subnet_id);
            let address = vip
                .ip_address
                .as_deref()
                .map(|a| validate::ip_address("ip_address", a))
                .transpose()?;
            let subnet = self.vip_subnet(viewer, &vip.subnet_id).await?;
            if let (Some(network), Some(vip_network)) = (&subnet.network_id, &primary.network_id)
                && network != vip_network
            {
                return Err(Error::validation(
                    "Additional VIP subnets must all belong to the same network.",
                ));
            }
            if let Some(a) = address
                && !subnet.accepts(a)
            {
                return Err(Error::validation(format!(
                    "Additional VIP address {a} is not in subnet {}.",
                    subnet.id
                )));
            }
            resolved.push(ResolvedAdditionalVip { subnet, address });
        }
        Ok(resolved)
    }

    /// The addresses of validated additional VIPs: those requested (Octavia's 409 for one a load
    /// balancer already uses on a subnet whose addresses serve one each), else one of each
    /// subnet's range that no load balancer uses. A concurrent create may take one meanwhile:
    /// the claims stored with the load balancer (see [`vip_claims`]) catch that, and
    /// [`Service::reallocate_taken`] answers it.
    async fn allocate_additional_vips(
        &self,
        resolved: &[ResolvedAdditionalVip],
    ) -> Result<Vec<AdditionalVip>, Error> {
        let mut allocated = Vec::with_capacity(resolved.len());
        for vip in resolved {
            let address = match vip.address {
                Some(a) => {
                    let text = a.to_string();
                    if vip.subnet.address_use == AddressUse::Exclusive
                        && self.is_taken(&vip.subnet.id, &text).await?
                    {
                        return Err(in_use(&text));
                    }
                    a
                }
                None => self.free_address(&vip.subnet).await?,
            };
            allocated.push(AdditionalVip {
                subnet_id: vip.subnet.id.clone(),
                ip_address: address.to_string(),
            });
        }
        Ok(allocated)
    }

    /// After a new load balancer lost a race for an address (its claims conflicted): Octavia's
    /// 409 when an address the request named is now another's; a new one for each address
    /// Fulcrum chose that another load balancer took meanwhile.
    pub(crate) async fn reallocate_taken(
        &self,
        lb: &mut LoadBalancer,
        vip: &ResolvedVip,
        additional: &[ResolvedAdditionalVip],
    ) -> Result<(), Error> {
        if vip.subnet.address_use == AddressUse::Exclusive
            && self.is_taken(&vip.subnet.id, &lb.vip_address).await?
        {
            if vip.address.is_some() {
                return Err(in_use(&lb.vip_address));
            }
            lb.vip_address = self.free_address(&vip.subnet).await?.to_string();
        }
        for taken in &mut lb.additional_vips {
            let Some(resolved) = exclusive_additional(additional, &taken.subnet_id) else {
                continue;
            };
            if self.is_taken(&taken.subnet_id, &taken.ip_address).await? {
                if resolved.address.is_some() {
                    return Err(in_use(&taken.ip_address));
                }
                taken.ip_address = self.free_address(&resolved.subnet).await?.to_string();
            }
        }
        Ok(())
    }

    /// Whether a load balancer holds `address` on `subnet_id` (as VIP or claimed additional VIP).
    async fn is_taken(&self, subnet_id: &str, address: &str) -> Result<bool, Error> {
        let used = self
            .store
            .used_vip_addresses(subnet_id, &[address.to_owned()])
            .await?;
        Ok(!used.is_empty())
    }

    /// A subnet the back-end knows and the caller may see, or Octavia's 400 for it.
    async fn vip_subnet(&self, viewer: Viewer<'_>, id: &str) -> Result<VipSubnet, Error> {
        self.networks
            .subnet(id)
            .await?
            .filter(|s| viewer.sees(&s.visibility))
            .ok_or_else(|| Error::BadRequest(format!("Subnet {id} not found.")))
    }

    /// The VIP a resolved request gets, as Octavia's `allocate_vip` hands it out: the port the
    /// request named, else one the back-end creates for load balancer `lb_id` (Neutron), with the
    /// `additional` addresses as further fixed IPs; otherwise what the request named, a new id
    /// for a network the back-end did not name (Octavia's noop driver) and for a port, an address
    /// of the subnet's range unless one was requested, and the additional addresses from their
    /// subnets' ranges. The router behind the subnet, if the back-end knows one, is asked first,
    /// so that a failure to ask leaves no port behind.
    pub(crate) async fn allocate_vip(
        &self,
        resolved: &ResolvedVip,
        additional: &[ResolvedAdditionalVip],
        lb_id: &str,
        project_id: Option<&str>,
        qos_policy_id: Option<&str>,
    ) -> Result<Vip, Error> {
        let router_id = self.networks.router_of_subnet(&resolved.subnet.id).await?;
        if resolved.port_id.is_none()
            && let Some(network_id) = &resolved.network_id
        {
            let request = VipPortRequest {
                load_balancer_id: lb_id.to_string(),
                project_id: project_id.map(str::to_string),
                network_id: network_id.clone(),
                subnet_id: resolved.subnet.id.clone(),
                address: resolved.address,
                qos_policy_id: qos_policy_id.map(str::to_string),
                additional: additional
                    .iter()
                    .map(|vip| AddressRequest {
                        subnet_id: vip.subnet.id.clone(),
                        address: vip.address,
                    })
                    .collect(),
            };
            if let Some(port) = self.networks.create_vip_port(&request).await? {
                let address = port
                    .fixed_ips
                    .iter()
                    .find(|f| f.subnet_id == resolved.subnet.id)
                    .or(port.fixed_ips.first())
                    .map(|f| f.ip_address);
                let additional_vips: Option<Vec<AdditionalVip>> = additional
                    .iter()
                    .map(|vip| {
                        port.fixed_ips
                            .iter()
                            .find(|f| f.subnet_id == vip.subnet.id)
                            .map(|f| AdditionalVip {
                                subnet_id: f.subnet_id.clone(),
                                ip_address: f.ip_address.to_string(),
                            })
                    })
                    .collect();
                let (Some(address), Some(additional_vips)) = (address, additional_vips) else {
                    self.release_created_port(lb_id, &port.id).await;
                    return Err(Error::Internal(format!(
                        "The VIP port {} was created without an address on each subnet asked for",
                        port.id
                    )));
                };
                return Ok(Vip {
                    subnet_id: resolved.subnet.id.clone(),
                    network_id: port.network_id.unwrap_or_else(|| network_id.clone()),
                    port_id: port.id,
                    address,
                    created_port: true,
                    additional_vips,
                    router_id,
                });
            }
        }
        let additional_vips = self.allocate_additional_vips(additional).await?;
        let address = match resolved.address {
            Some(a) => a,
            None => self.free_address(&resolved.subnet).await?,
        };
        Ok(Vip {
            subnet_id: resolved.subnet.id.clone(),
            network_id: resolved.network_id.clone().unwrap_or_else(new_id),
            port_id: resolved.port_id.clone().unwrap_or_else(new_id),
            address,
            created_port: false,
            additional_vips,
            router_id,
        })
    }

    /// Delete a port created for load balancer `lb_id` that was not stored; a failure is logged,
    /// and the full sync removes the port later.
    pub(crate) async fn release_created_port(&self, lb_id: &str, port_id: &str) {
        if let Err(e) = self.networks.release_vip_port(lb_id, port_id).await {
            tracing::warn!(load_balancer = %lb_id, port = %port_id, error = %e, "deleting the VIP port of a load balancer that was not stored failed; the full sync removes it");
        }
    }

    /// An address of the subnet's range that no load balancer uses on it. Concurrent allocations
    /// in this process start their search at different offsets (the cursor is claimed
    /// atomically), so they rarely pick the same address; on an exclusive subnet the store's
    /// unique index settles the rest. When every address is in use, an exclusive subnet has none
    /// left, and a shared one hands out the address the search started at.
    pub(crate) async fn free_address(&self, subnet: &VipSubnet) -> Result<IpAddr, Error> {
        let range = subnet.range;
        let size = range.size();
        let start = u128::from(self.vip_cursor.fetch_add(1, Ordering::Relaxed));
        let mut scanned = 0u128;
        while scanned < size {
            let candidates = range.candidates(start + scanned, window(scanned).min(size - scanned));
            let texts: Vec<String> = candidates.iter().map(|a| a.to_string()).collect();
            let used = self.store.used_vip_addresses(&subnet.id, &texts).await?;
            if let Some(pos) = texts.iter().position(|t| !used.contains(t)) {
                let next = start + scanned + pos as u128 + 1;
                self.vip_cursor
                    .fetch_max(u64::try_from(next).unwrap_or(u64::MAX), Ordering::Relaxed);
                return Ok(candidates[pos]);
            }
            scanned += candidates.len() as u128;
        }
        match subnet.address_use {
            AddressUse::Shared => Ok(range.candidates(start, 1)[0]),
            AddressUse::Exclusive => Err(Error::validation(format!(
                "No free VIP address left in subnet {}.",
                subnet.id
            ))),
        }
    }
}

/// How many addresses [`Service::free_address`] asks about at once, having found `scanned` taken:
/// the cursor usually points at a free address, so one first, then wider windows over a run of
/// taken ones (after a restart, the cursor starts at the range's beginning).
fn window(scanned: u128) -> u128 {
    match scanned {
        0 => 1,
        1..8 => 8,
        _ => 64,
    }
}

/// The addresses a new load balancer claims for itself alone, as (subnet id, address): its VIP
/// and its additional VIPs on subnets whose addresses serve one load balancer each.
pub(crate) fn vip_claims<'a>(
    lb: &'a LoadBalancer,
    vip: &ResolvedVip,
    additional: &[ResolvedAdditionalVip],
) -> Vec<(&'a str, &'a str)> {
    let mut claims = Vec::new();
    if vip.subnet.address_use == AddressUse::Exclusive {
        claims.push((lb.vip_subnet_id.as_str(), lb.vip_address.as_str()));
    }
    for extra in &lb.additional_vips {
        if exclusive_additional(additional, &extra.subnet_id).is_some() {
            claims.push((extra.subnet_id.as_str(), extra.ip_address.as_str()));
        }
    }
    claims
}

/// The resolved additional VIP on `subnet_id` when that subnet's addresses serve one load
/// balancer each.
fn exclusive_additional<'a>(
    additional: &'a [ResolvedAdditionalVip],
    subnet_id: &str,
) -> Option<&'a ResolvedAdditionalVip> {
    additional
        .iter()
        .find(|r| r.subnet.id == subnet_id && r.subnet.address_use == AddressUse::Exclusive)
}

/// Octavia's 409 for an address another load balancer holds.
fn in_use(address: &str) -> Error {
    Error::Conflict(format!("The VIP IP address is already in use: {address}"))
}
