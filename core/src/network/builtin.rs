//! The `builtin` network back-end: networks and subnets declared in configuration.

use async_trait::async_trait;

use super::{AddressUse, Network, Networks, Port, Subnet, VipNetwork, VipSubnet, Visibility};
use crate::Error;

/// Networks and subnets declared in configuration (`[[network.networks]]`,
/// `[[network.subnets]]`). Fulcrum manages their addresses: each serves one load balancer. It
/// knows no ports, so a `vip_port_id` is never found.
#[derive(Debug, Clone, Default)]
pub struct BuiltinNetworks {
    networks: Vec<Network>,
    subnets: Vec<Subnet>,
}

impl BuiltinNetworks {
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
        Ok(BuiltinNetworks { networks, subnets })
    }

    fn vip_subnet(subnet: &Subnet) -> VipSubnet {
        VipSubnet {
            id: subnet.id.clone(),
            network_id: Some(subnet.network_id.clone()),
            cidr: Some(subnet.cidr),
            range: subnet.range(),
            address_use: AddressUse::Exclusive,
            visibility: Visibility::everyone(),
        }
    }
}

#[async_trait]
impl Networks for BuiltinNetworks {
    fn name(&self) -> &'static str {
        "builtin"
    }

    async fn listed_networks(&self) -> Result<Vec<Network>, Error> {
        Ok(self.networks.clone())
    }

    async fn listed_subnets(&self) -> Result<Vec<Subnet>, Error> {
        Ok(self.subnets.clone())
    }

    async fn network(&self, id: &str) -> Result<Option<VipNetwork>, Error> {
        Ok(self
            .networks
            .iter()
            .find(|n| n.id == id)
            .map(|n| VipNetwork {
                id: n.id.clone(),
                subnets: self
                    .subnets
                    .iter()
                    .filter(|s| s.network_id == n.id)
                    .map(Self::vip_subnet)
                    .collect(),
                visibility: Visibility::everyone(),
            }))
    }

    async fn subnet(&self, id: &str) -> Result<Option<VipSubnet>, Error> {
        Ok(self
            .subnets
            .iter()
            .find(|s| s.id == id)
            .map(Self::vip_subnet))
    }

    async fn port(&self, _id: &str) -> Result<Option<Port>, Error> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network() -> Network {
        Network {
            id: "n".into(),
            name: "n".into(),
        }
    }

    fn subnet(id: &str, cidr: &str, start: &str, end: &str) -> Subnet {
        Subnet {
            id: id.into(),
            name: id.into(),
            network_id: "n".into(),
            cidr: cidr.parse().unwrap(),
            allocation_start: start.parse().unwrap(),
            allocation_end: end.parse().unwrap(),
        }
    }

    #[test]
    fn range_outside_cidr_is_refused() {
        let s = subnet("s", "127.0.10.0/24", "127.0.10.10", "127.0.11.1");
        assert!(BuiltinNetworks::new(vec![network()], vec![s]).is_err());
    }

    #[test]
    fn subnet_of_unknown_network_is_refused() {
        let mut s = subnet("s", "127.0.10.0/24", "127.0.10.10", "127.0.10.20");
        s.network_id = "elsewhere".into();
        let e = BuiltinNetworks::new(vec![network()], vec![s]).unwrap_err();
        assert_eq!(e, "subnet s names unknown network elsewhere");
    }

    #[tokio::test]
    async fn declared_objects_resolve_and_others_do_not() {
        let nets = BuiltinNetworks::new(
            vec![network()],
            vec![
                subnet("v4", "127.0.10.0/24", "127.0.10.10", "127.0.10.20"),
                subnet("v6", "fd00::/64", "fd00::10", "fd00::20"),
            ],
        )
        .unwrap();
        let s = nets.subnet("v4").await.unwrap().unwrap();
        assert_eq!(s.network_id.as_deref(), Some("n"));
        assert_eq!(s.address_use, AddressUse::Exclusive);
        assert!(s.accepts("127.0.10.99".parse().unwrap()));
        assert!(!s.accepts("10.0.0.1".parse().unwrap()));
        assert!(nets.subnet("nope").await.unwrap().is_none());
        let n = nets.network("n").await.unwrap().unwrap();
        let ids: Vec<&str> = n.subnets.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["v4", "v6"]);
        assert!(nets.subnet_of(&n, "v6").await.unwrap().is_some());
        assert!(nets.subnet_of(&n, "other").await.unwrap().is_none());
        assert!(nets.network("nope").await.unwrap().is_none());
        assert!(nets.port("p").await.unwrap().is_none());
        assert_eq!(nets.listed_subnets().await.unwrap().len(), 2);
    }
}
