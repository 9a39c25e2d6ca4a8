//! VIP allocation: the subnet a load balancer's VIP comes from, and a free address of it.

use std::net::IpAddr;
use std::sync::atomic::Ordering;

use fulcrum_core::network::Subnet;
use fulcrum_core::{Error, validate};

use super::Service;
use crate::shapes::load_balancers::CreateLoadBalancer;

impl Service {
    /// Resolve where the VIP comes from: (subnet, requested address).
    pub(crate) fn resolve_vip(
        &self,
        req: &CreateLoadBalancer,
    ) -> Result<(Subnet, Option<IpAddr>), Error> {
        let address = req
            .vip_address
            .as_deref()
            .map(|a| validate::ip_address("vip_address", a))
            .transpose()?;
        if let Some(port) = &req.vip_port_id {
            return Err(Error::BadRequest(format!("Port {port} not found.")));
        }
        if let Some(subnet_id) = &req.vip_subnet_id {
            let subnet = self
                .networks
                .subnet(subnet_id)
                .ok_or_else(|| Error::BadRequest(format!("Subnet {subnet_id} not found.")))?;
            if let Some(net) = &req.vip_network_id
                && *net != subnet.network_id
            {
                return Err(Error::validation(format!(
                    "Subnet {subnet_id} is not in network {net}."
                )));
            }
            return Ok((subnet, address));
        }
        if let Some(network_id) = &req.vip_network_id {
            if self.networks.network(network_id).is_none() {
                return Err(Error::BadRequest(format!(
                    "Network {network_id} not found."
                )));
            }
            let mut subnets = self.networks.subnets_of(network_id);
            subnets.sort_by_key(|s| s.ip_version());
            let chosen = match address {
                Some(a) => subnets
                    .into_iter()
                    .find(|s| s.cidr.contains(&a))
                    .ok_or_else(|| {
                        Error::validation(
                            "Supplied network does not contain a subnet for VIP address specified.",
                        )
                    })?,
                None => subnets.into_iter().next().ok_or_else(|| {
                    Error::validation(format!(
                        "Network {network_id} has no subnet to take a VIP from."
                    ))
                })?,
            };
            return Ok((chosen, address));
        }
        Err(Error::validation(
            "VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.",
        ))
    }

    /// A free address of the subnet's allocation range. Concurrent allocations in this process start
    /// their search at different offsets (the cursor is claimed atomically), so they rarely pick the
    /// same address; the unique index settles the rest.
    pub(crate) async fn free_address(&self, subnet: &Subnet) -> Result<IpAddr, Error> {
        const WINDOW: u128 = 64;
        let size = subnet.range_size();
        let start = u128::from(self.vip_cursor.fetch_add(1, Ordering::Relaxed));
        let mut scanned = 0u128;
        while scanned < size {
            let candidates =
                subnet.candidates((start + scanned) % size, WINDOW.min(size - scanned));
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
        Err(Error::validation(format!(
            "No free VIP address left in subnet {}.",
            subnet.id
        )))
    }

    /// The requested VIP address, or a free one of the subnet.
    pub(crate) async fn vip_address(
        &self,
        subnet: &Subnet,
        requested: Option<IpAddr>,
    ) -> Result<IpAddr, Error> {
        match requested {
            Some(a) => Ok(a),
            None => self.free_address(subnet).await,
        }
    }
}
