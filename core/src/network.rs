//! The VIP network seam: where load-balancer VIPs come from.
//!
//! [`Networks`] resolves the `vip_subnet_id` / `vip_network_id` of a request. The built-in
//! [`StaticNetworks`] serves networks and subnets declared in configuration, so Fulcrum needs no
//! Neutron; a Neutron-backed implementation can stand behind the same trait. Which addresses are in
//! use is the store's knowledge, not the network's: allocation asks the store.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::Deserialize;

/// A network, as declared in configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Network {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// A subnet of a network with the range VIPs are allocated from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Subnet {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The network it belongs to.
    pub network_id: String,
    /// Its CIDR.
    pub cidr: IpNet,
    /// First address handed out.
    pub allocation_start: IpAddr,
    /// Last address handed out.
    pub allocation_end: IpAddr,
}

impl Subnet {
    /// 4 or 6.
    pub fn ip_version(&self) -> u8 {
        match self.cidr {
            IpNet::V4(_) => 4,
            IpNet::V6(_) => 6,
        }
    }

    /// Whether `addr` lies in the allocation range.
    pub fn in_range(&self, addr: IpAddr) -> bool {
        self.cidr.contains(&addr)
            && ip_to_u128(addr) >= ip_to_u128(self.allocation_start)
            && ip_to_u128(addr) <= ip_to_u128(self.allocation_end)
    }

    /// Up to `count` addresses of the allocation range, starting at the `offset`-th one and
    /// wrapping around; the caller removes those in use and takes the first left.
    pub fn candidates(&self, offset: u128, count: u128) -> Vec<IpAddr> {
        let start = ip_to_u128(self.allocation_start);
        let size = self.range_size();
        let v6 = matches!(self.cidr, IpNet::V6(_));
        (0..count.min(size))
            .map(|i| u128_to_ip(start + (offset + i) % size, v6))
            .collect()
    }

    /// How many addresses the allocation range holds.
    pub fn range_size(&self) -> u128 {
        ip_to_u128(self.allocation_end) - ip_to_u128(self.allocation_start) + 1
    }

    /// Check the declaration: range inside the CIDR, start before end.
    pub fn check(&self) -> Result<(), String> {
        let ok = self.cidr.contains(&self.allocation_start)
            && self.cidr.contains(&self.allocation_end)
            && ip_to_u128(self.allocation_start) <= ip_to_u128(self.allocation_end);
        if ok {
            Ok(())
        } else {
            Err(format!(
                "subnet {}: allocation range {}-{} is not inside {}",
                self.id, self.allocation_start, self.allocation_end, self.cidr
            ))
        }
    }
}

fn ip_to_u128(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u32::from(a) as u128,
        IpAddr::V6(a) => u128::from(a),
    }
}

fn u128_to_ip(n: u128, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(n.into())
    } else {
        IpAddr::V4((n as u32).into())
    }
}

/// Resolves networks and subnets for VIPs.
pub trait Networks: Send + Sync {
    /// Every network.
    fn networks(&self) -> Vec<Network>;
    /// Every subnet.
    fn subnets(&self) -> Vec<Subnet>;

    /// One subnet by id.
    fn subnet(&self, id: &str) -> Option<Subnet> {
        self.subnets().into_iter().find(|s| s.id == id)
    }

    /// One network by id.
    fn network(&self, id: &str) -> Option<Network> {
        self.networks().into_iter().find(|n| n.id == id)
    }

    /// The subnets of a network, in declaration order.
    fn subnets_of(&self, network_id: &str) -> Vec<Subnet> {
        self.subnets()
            .into_iter()
            .filter(|s| s.network_id == network_id)
            .collect()
    }
}

/// Networks and subnets declared in configuration.
#[derive(Debug, Clone, Default)]
pub struct StaticNetworks {
    networks: Vec<Network>,
    subnets: Vec<Subnet>,
}

impl StaticNetworks {
    /// Build from declarations, checking that every subnet names a declared network and has a
    /// range inside its CIDR.
    pub fn new(networks: Vec<Network>, subnets: Vec<Subnet>) -> Result<Self, String> {
        for subnet in &subnets {
            subnet.check()?;
            if !networks.iter().any(|n| n.id == subnet.network_id) {
                return Err(format!(
                    "subnet {} names unknown network {}",
                    subnet.id, subnet.network_id
                ));
            }
        }
        Ok(StaticNetworks { networks, subnets })
    }
}

impl Networks for StaticNetworks {
    fn networks(&self) -> Vec<Network> {
        self.networks.clone()
    }
    fn subnets(&self) -> Vec<Subnet> {
        self.subnets.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet() -> Subnet {
        Subnet {
            id: "s".into(),
            name: "s".into(),
            network_id: "n".into(),
            cidr: "127.0.10.0/24".parse().unwrap(),
            allocation_start: "127.0.10.10".parse().unwrap(),
            allocation_end: "127.0.10.12".parse().unwrap(),
        }
    }

    #[test]
    fn candidates_wrap_around_the_range() {
        let got: Vec<String> = subnet()
            .candidates(2, 3)
            .iter()
            .map(|a| a.to_string())
            .collect();
        assert_eq!(got, ["127.0.10.12", "127.0.10.10", "127.0.10.11"]);
    }

    #[test]
    fn range_outside_cidr_is_refused() {
        let mut s = subnet();
        s.allocation_end = "127.0.11.1".parse().unwrap();
        assert!(
            StaticNetworks::new(
                vec![Network {
                    id: "n".into(),
                    name: "n".into()
                }],
                vec![s]
            )
            .is_err()
        );
    }
}
