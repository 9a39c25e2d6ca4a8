//! The `noop` network back-end: every network, subnet and port exists, as with Octavia's noop
//! network driver (`octavia/network/drivers/noop_driver/driver.py`), for running Octavia's own
//! conformance suite (octavia-tempest-plugin with `test_with_noop`) and for tests and benchmarks
//! that need no real network.
//!
//! What Octavia, with that driver, answers for a load balancer create, and so what the API
//! answers here (the API applies Octavia's rules to what this back-end returns):
//!
//! | request | `vip_subnet_id` | `vip_network_id` | `vip_port_id` | `vip_address` |
//! |---|---|---|---|---|
//! | subnet | as given | a new id | a new id | as given, else one of the range |
//! | network (and subnet) | as given, else the network's one subnet | as given | a new id | as given, else one of the range |
//! | port, subnet and address | as given | a new id | as given | as given |
//!
//! Octavia's noop driver knows no subnet's network (`get_subnet` returns one without, and
//! `allocate_vip` then makes a network id up), holds every subnet asked about in every network
//! (its `subnets` list "contains" anything), and answers for a network without a subnet with one
//! subnet of a new id; here that subnet's id is derived from the network's, so one network keeps
//! its subnet across requests and processes (Octavia keeps it for the life of its API process).
//! Its ports have no fixed IPs, so a request with `vip_port_id` needs `vip_subnet_id` and
//! `vip_address` too, or gets Octavia's 400. An address with `vip_network_id` and no subnet,
//! which makes Octavia's noop driver fail with a 500 (its subnets have no CIDR to match), is
//! accepted on the network's subnet. Where Octavia always hands out 198.51.100.1, addresses come
//! from a configured range ([`NoopNetworkConfig`]); a requested address is accepted as given,
//! inside the range or not, and several load balancers may share one ([`AddressUse::Shared`]).
//! The read-only Neutron view lists no networks or subnets.

use std::net::IpAddr;

use async_trait::async_trait;
use ipnet::IpNet;
use serde::Deserialize;

use super::{
    AddressRange, AddressUse, Network, Networks, Port, Subnet, VipNetwork, VipSubnet, Visibility,
};
use crate::Error;

/// `[network.noop]`: where VIP addresses come from when a request names none.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoopNetworkConfig {
    /// The network the range lies in (default `198.51.100.0/24`, whose first host is the address
    /// Octavia's noop driver hands out).
    #[serde(default = "default_cidr")]
    pub cidr: IpNet,
    /// First address handed out (default: the CIDR's first host).
    #[serde(default)]
    pub allocation_start: Option<IpAddr>,
    /// Last address handed out (default: the CIDR's last host).
    #[serde(default)]
    pub allocation_end: Option<IpAddr>,
}

fn default_cidr() -> IpNet {
    "198.51.100.0/24".parse().expect("a CIDR")
}

impl Default for NoopNetworkConfig {
    fn default() -> Self {
        NoopNetworkConfig {
            cidr: default_cidr(),
            allocation_start: None,
            allocation_end: None,
        }
    }
}

impl NoopNetworkConfig {
    /// The allocation range: the given bounds, or the CIDR's first and last hosts.
    pub fn range(&self) -> Result<AddressRange, String> {
        let hosts = AddressRange::hosts_of(&self.cidr);
        AddressRange::within(
            &self.cidr,
            self.allocation_start.unwrap_or(hosts.start()),
            self.allocation_end.unwrap_or(hosts.end()),
        )
        .map_err(|why| format!("network.noop: {why}"))
    }
}

/// Every network, subnet and port exists; addresses come from one range and may be shared.
#[derive(Debug, Clone)]
pub struct NoopNetworks {
    range: AddressRange,
}

impl NoopNetworks {
    /// A back-end handing out addresses of the configured range.
    pub fn new(config: &NoopNetworkConfig) -> Result<Self, String> {
        Ok(NoopNetworks {
            range: config.range()?,
        })
    }

    fn vip_subnet(&self, id: &str, network_id: Option<&str>) -> VipSubnet {
        VipSubnet {
            id: id.to_string(),
            network_id: network_id.map(str::to_string),
            cidr: None,
            range: self.range,
            address_use: AddressUse::Shared,
            visibility: Visibility::everyone(),
        }
    }
}

/// The id of the subnet a network without one is given: a name-based UUID of the network id,
/// so that the same network always gets the same subnet.
fn subnet_of_network(network_id: &str) -> String {
    // FNV-1a, 128 bits, over a fixed prefix and the network id.
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for byte in "fulcrum-noop-subnet/".bytes().chain(network_id.bytes()) {
        hash ^= u128::from(byte);
        hash = hash.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    uuid::Builder::from_custom_bytes(hash.to_be_bytes())
        .into_uuid()
        .to_string()
}

#[async_trait]
impl Networks for NoopNetworks {
    fn name(&self) -> &'static str {
        "noop"
    }

    async fn listed_networks(&self) -> Result<Vec<Network>, Error> {
        Ok(Vec::new())
    }

    async fn listed_subnets(&self) -> Result<Vec<Subnet>, Error> {
        Ok(Vec::new())
    }

    async fn network(&self, id: &str) -> Result<Option<VipNetwork>, Error> {
        Ok(Some(VipNetwork {
            id: id.to_string(),
            subnets: vec![self.vip_subnet(&subnet_of_network(id), Some(id))],
            visibility: Visibility::everyone(),
        }))
    }

    async fn subnet(&self, id: &str) -> Result<Option<VipSubnet>, Error> {
        Ok(Some(self.vip_subnet(id, None)))
    }

    async fn subnet_of(
        &self,
        network: &VipNetwork,
        subnet_id: &str,
    ) -> Result<Option<VipSubnet>, Error> {
        Ok(Some(self.vip_subnet(subnet_id, Some(&network.id))))
    }

    async fn port(&self, id: &str) -> Result<Option<Port>, Error> {
        Ok(Some(Port {
            id: id.to_string(),
            network_id: None,
            fixed_ips: Vec::new(),
            device_id: None,
            visibility: Visibility::everyone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noop() -> NoopNetworks {
        NoopNetworks::new(&NoopNetworkConfig::default()).unwrap()
    }

    #[tokio::test]
    async fn any_subnet_exists_without_a_network() {
        let s = noop().subnet("any-subnet").await.unwrap().unwrap();
        assert_eq!(s.id, "any-subnet");
        assert_eq!(s.network_id, None);
        assert_eq!(s.address_use, AddressUse::Shared);
        assert!(s.accepts("198.18.33.33".parse().unwrap()));
        assert!(s.accepts("2001:db8:33:33:33:33:33:33".parse().unwrap()));
    }

    #[tokio::test]
    async fn any_network_holds_any_subnet_and_one_of_its_own() {
        let nets = noop();
        let n = nets.network("net-a").await.unwrap().unwrap();
        assert_eq!(n.id, "net-a");
        assert_eq!(n.subnets.len(), 1);
        let own = &n.subnets[0];
        assert_eq!(own.network_id.as_deref(), Some("net-a"));
        assert!(uuid::Uuid::parse_str(&own.id).is_ok());
        let again = nets.network("net-a").await.unwrap().unwrap();
        assert_eq!(again.subnets[0].id, own.id, "one network keeps its subnet");
        let other = nets.network("net-b").await.unwrap().unwrap();
        assert_ne!(other.subnets[0].id, own.id);
        let named = nets.subnet_of(&n, "sub-x").await.unwrap().unwrap();
        assert_eq!(named.id, "sub-x");
        assert_eq!(named.network_id.as_deref(), Some("net-a"));
    }

    #[tokio::test]
    async fn any_port_exists_without_addresses() {
        let p = noop().port("port-1").await.unwrap().unwrap();
        assert_eq!(p.id, "port-1");
        assert_eq!(p.network_id, None);
        assert!(p.fixed_ips.is_empty());
        assert_eq!(p.device_id, None);
    }

    #[tokio::test]
    async fn the_neutron_view_lists_nothing() {
        assert!(noop().listed_networks().await.unwrap().is_empty());
        assert!(noop().listed_subnets().await.unwrap().is_empty());
    }

    #[test]
    fn the_default_range_starts_at_octavias_noop_address() {
        let r = NoopNetworkConfig::default().range().unwrap();
        assert_eq!(r.start().to_string(), "198.51.100.1");
        assert_eq!(r.end().to_string(), "198.51.100.254");
    }

    #[test]
    fn configured_ranges_are_checked() {
        let config = |start: Option<&str>, end: Option<&str>| NoopNetworkConfig {
            cidr: "203.0.113.0/24".parse().unwrap(),
            allocation_start: start.map(|a| a.parse().unwrap()),
            allocation_end: end.map(|a| a.parse().unwrap()),
        };
        let r = config(Some("203.0.113.10"), None).range().unwrap();
        assert_eq!(
            (r.start().to_string(), r.end().to_string()),
            ("203.0.113.10".into(), "203.0.113.254".into())
        );
        let e = config(Some("203.0.113.10"), Some("203.0.114.1"))
            .range()
            .unwrap_err();
        assert_eq!(
            e,
            "network.noop: allocation range 203.0.113.10-203.0.114.1 is not inside 203.0.113.0/24"
        );
        assert!(
            config(Some("203.0.113.20"), Some("203.0.113.10"))
                .range()
                .is_err()
        );
        assert!(config(Some("2001:db8::1"), None).range().is_err());
    }
}
