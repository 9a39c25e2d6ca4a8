//! What the network back-end lists, and the VIP ports of load balancers, for the read-only
//! Neutron view that OpenStack clients resolve names through.

use fulcrum_core::Error;
use fulcrum_core::model::LoadBalancer;
use fulcrum_core::network::{Network, Subnet};
use fulcrum_store::ListQuery;

use super::Service;
use super::read::matches_nothing;
use crate::auth::RequestContext;

impl Service {
    /// Every network the back-end lists, with its subnets.
    pub async fn networks(&self) -> Result<Vec<(Network, Vec<Subnet>)>, Error> {
        let subnets = self.networks.listed_subnets().await?;
        Ok(self
            .networks
            .listed_networks()
            .await?
            .into_iter()
            .map(|n| {
                let of_network = subnets
                    .iter()
                    .filter(|s| s.network_id == n.id)
                    .cloned()
                    .collect();
                (n, of_network)
            })
            .collect())
    }

    /// Every subnet the back-end lists.
    pub async fn subnets(&self) -> Result<Vec<Subnet>, Error> {
        self.networks.listed_subnets().await
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
        if matches_nothing(&mut query)? {
            return Ok(Vec::new());
        }
        Ok(self.store.list(&query).await?)
    }
}
