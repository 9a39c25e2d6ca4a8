//! The built-in networks VIPs come from, and the VIP ports of load balancers, for the read-only
//! Neutron view that OpenStack clients resolve names through.

use fulcrum_core::Error;
use fulcrum_core::model::LoadBalancer;
use fulcrum_core::network::{Network, Subnet};
use fulcrum_store::ListQuery;

use super::Service;
use crate::auth::RequestContext;

impl Service {
    /// Every network, with its subnets.
    pub fn networks(&self) -> Vec<(Network, Vec<Subnet>)> {
        let subnets = self.networks.subnets();
        self.networks
            .networks()
            .into_iter()
            .map(|n| {
                let of_network = subnets
                    .iter()
                    .filter(|s| s.network_id == n.id)
                    .cloned()
                    .collect();
                (n, of_network)
            })
            .collect()
    }

    /// Every subnet.
    pub fn subnets(&self) -> Vec<Subnet> {
        self.networks.subnets()
    }

    /// The load balancers whose VIP ports the caller may list (`port_id`: only that port's).
    pub async fn vip_ports(
        &self,
        ctx: &RequestContext,
        port_id: Option<&str>,
    ) -> Result<Vec<LoadBalancer>, Error> {
        let mut query = ListQuery {
            limit: None,
            ..Default::default()
        };
        if let Some(id) = port_id {
            query.filters.push(("vip_port_id".into(), id.to_string()));
        }
        if let Some(project) = ctx.list_scope(None)? {
            query.filters.push(("project_id".into(), project));
        }
        Ok(self.store.list(&query).await?)
    }
}
