//! The provider API: what Octavia's provider driver for Fulcrum calls when a real Octavia
//! delegates load balancers to Fulcrum (`openstack loadbalancer create --provider fulcrum`).
//!
//! Octavia calls its driver inside its own database transaction, with the objects under the ids
//! Octavia gave them, and must get an answer fast. So every write here is an idempotent upsert
//! or delete *by Octavia's id*: the request's objects are built and validated by the builders of
//! Fulcrum's own API ([`edit`]), put into the load balancer's desired tree, and only the
//! [difference](diff) is written — in one [`Change`](super::write::Change) with its work item,
//! checked by the provider's driver like any other write (what the backend cannot do is
//! Octavia's 501 with the driver's message). Sending the same thing twice changes nothing.
//!
//! Octavia serializes the writes to one load balancer's tree itself (its objects stay
//! `PENDING_*` until the driver reports back), so a write arriving while Fulcrum still converges
//! the previous one is taken, and supersedes it; only a tree being deleted refuses writes.
//!
//! Octavia learns what became of its objects from the provider feed
//! ([`fulcrum_store::FeedEntry`]), which the driver's agent reads from a cursor: the settled
//! statuses and the counters of every delegated load balancer. A write that changes nothing
//! writes the statuses the tree holds to the feed again, since Octavia waits for them.

mod diff;
mod edit;

use fulcrum_core::Error;
use fulcrum_core::driver::LoadBalancerGraph;
use fulcrum_core::model::{
    HealthMonitor, Kind, L7Policy, L7Rule, Listener, LoadBalancer, Member, OperatingStatus, Pool,
    ProvisioningStatus,
};
use fulcrum_core::{timestamp, validate};
use fulcrum_store::{FeedEntry, WorkAction};

use super::Service;
use crate::shapes::health_monitors::CreateHealthMonitor;
use crate::shapes::l7policies::CreateL7Policy;
use crate::shapes::l7rules::CreateL7Rule;
use crate::shapes::listeners::CreateListener;
use crate::shapes::members::CreateMember;
use crate::shapes::pools::CreatePool;
use crate::shapes::provider::{ProviderLoadBalancer, ProviderMember, ProviderWrite};

/// The states a delegated load balancer may be written in.
const PROVIDER_WRITABLE: &[ProvisioningStatus] = &[
    ProvisioningStatus::Active,
    ProvisioningStatus::Error,
    ProvisioningStatus::PendingCreate,
    ProvisioningStatus::PendingUpdate,
];

/// The most feed entries one read returns.
pub const MAX_FEED_PAGE: i64 = 1000;

fn storable_id(field: &str, id: &str) -> Result<(), Error> {
    if id.is_empty() || id.len() > 255 || !validate::storable(id) {
        return Err(Error::InvalidInput(format!(
            "Invalid input for field/attribute {field}. Value: '{}'. Value should be an id",
            id.escape_debug()
        )));
    }
    Ok(())
}

fn unchanged(load_balancer_id: Option<&str>) -> ProviderWrite {
    ProviderWrite {
        loadbalancer_id: load_balancer_id.map(str::to_owned),
        changed: false,
    }
}

impl Service {
    /// Create or update a load balancer with the objects below it that the request gives.
    pub async fn provider_put_load_balancer(
        &self,
        id: &str,
        req: ProviderLoadBalancer,
    ) -> Result<ProviderWrite, Error> {
        storable_id("id", id)?;
        validate::max_len("name", req.name.as_deref(), 255)?;
        validate::max_len("description", req.description.as_deref(), 255)?;
        validate::strings_max_len("tags", req.tags.as_deref().unwrap_or_default(), 255)?;
        validate::ip_address("vip_address", &req.vip_address)?;
        let provider = self
            .resolve_for_load_balancer(req.provider.as_deref(), None, None)
            .await?
            .provider;
        // A load balancer is placed when it is created; one that exists stays where it is.
        let placement =
            if self.places(&provider) && self.store.get::<LoadBalancer>(id).await?.is_none() {
                self.placement_for_new(&provider).await?
            } else {
                None
            };
        self.converge(id, |current| {
            let lb = load_balancer(
                id,
                current.as_ref().map(|g| &g.load_balancer),
                &req,
                provider,
                placement,
            );
            let mut g = match current {
                Some(mut g) => {
                    g.load_balancer = lb;
                    g
                }
                None => edit::empty(lb),
            };
            let mut default_pools = Vec::new();
            for p in req.pools {
                if let Some(listener_id) = edit::pool(self, &mut g, &p.id, p.pool)? {
                    default_pools.push((listener_id, p.id.clone()));
                }
                if let Some(h) = p.healthmonitor {
                    edit::health_monitor(self, &mut g, &h.id, h.healthmonitor)?;
                }
                for m in p.members {
                    edit::member(&mut g, &p.id, &m.id, m.member)?;
                }
            }
            for l in req.listeners {
                edit::listener(self, &mut g, &l.id, l.listener)?;
                for policy in l.l7policies {
                    edit::l7policy(self, &mut g, &policy.id, policy.l7policy)?;
                    for r in policy.rules {
                        edit::l7rule(&mut g, &policy.id, &r.id, r.rule)?;
                    }
                }
            }
            for (listener_id, pool_id) in default_pools {
                edit::link_default_pool(&mut g, &listener_id, &pool_id)?;
            }
            Ok(g)
        })
        .await
    }

    /// Create or replace a listener.
    pub async fn provider_put_listener(
        &self,
        id: &str,
        req: CreateListener,
    ) -> Result<ProviderWrite, Error> {
        storable_id("id", id)?;
        let lb_id = req.loadbalancer_id.clone();
        self.converge_existing(&lb_id, |g| edit::listener(self, g, id, req))
            .await
    }

    /// Create or replace a pool (with a `listener_id`, the listener's default pool).
    pub async fn provider_put_pool(
        &self,
        id: &str,
        req: CreatePool,
    ) -> Result<ProviderWrite, Error> {
        storable_id("id", id)?;
        let lb_id = match (&req.loadbalancer_id, &req.listener_id) {
            (Some(lb), _) => lb.clone(),
            (None, Some(listener)) => self.tree_of::<Listener>(listener).await?,
            (None, None) => {
                return Err(Error::validation(
                    "Either loadbalancer_id or listener_id must be specified.",
                ));
            }
        };
        self.converge_existing(&lb_id, |g| {
            if let Some(listener_id) = edit::pool(self, g, id, req)? {
                edit::link_default_pool(g, &listener_id, id)?;
            }
            Ok(())
        })
        .await
    }

    /// Create or replace a member of a pool.
    pub async fn provider_put_member(
        &self,
        pool_id: &str,
        id: &str,
        req: CreateMember,
    ) -> Result<ProviderWrite, Error> {
        storable_id("id", id)?;
        let lb_id = self.tree_of::<Pool>(pool_id).await?;
        self.converge_existing(&lb_id, |g| edit::member(g, pool_id, id, req))
            .await
    }

    /// Replace every member of a pool (Octavia's batch update).
    pub async fn provider_replace_members(
        &self,
        pool_id: &str,
        members: Vec<ProviderMember>,
    ) -> Result<ProviderWrite, Error> {
        for m in &members {
            storable_id("id", &m.id)?;
        }
        let lb_id = self.tree_of::<Pool>(pool_id).await?;
        let members = members.into_iter().map(|m| (m.id, m.member)).collect();
        self.converge_existing(&lb_id, |g| edit::replace_members(g, pool_id, members))
            .await
    }

    /// Create or replace the health monitor of a pool.
    pub async fn provider_put_health_monitor(
        &self,
        id: &str,
        req: CreateHealthMonitor,
    ) -> Result<ProviderWrite, Error> {
        storable_id("id", id)?;
        let lb_id = self.tree_of::<Pool>(&req.pool_id).await?;
        self.converge_existing(&lb_id, |g| edit::health_monitor(self, g, id, req))
            .await
    }

    /// Create or replace an L7 policy (its rules are put on their own).
    pub async fn provider_put_l7policy(
        &self,
        id: &str,
        req: CreateL7Policy,
    ) -> Result<ProviderWrite, Error> {
        storable_id("id", id)?;
        let lb_id = self.tree_of::<Listener>(&req.listener_id).await?;
        self.converge_existing(&lb_id, |g| edit::l7policy(self, g, id, req))
            .await
    }

    /// Create or replace a rule of an L7 policy.
    pub async fn provider_put_l7rule(
        &self,
        policy_id: &str,
        id: &str,
        req: CreateL7Rule,
    ) -> Result<ProviderWrite, Error> {
        storable_id("id", id)?;
        let lb_id = self.tree_of::<L7Policy>(policy_id).await?;
        self.converge_existing(&lb_id, |g| edit::l7rule(g, policy_id, id, req))
            .await
    }

    /// Delete an object below a load balancer with everything below it. Deleting what is not
    /// stored (any more) succeeds and changes nothing; when `parent` (the pool of a member, the
    /// policy of a rule) names a stored object, the feed reports the object DELETED with the
    /// statuses its tree holds, since Octavia waits to hear them.
    pub async fn provider_delete(
        &self,
        kind: Kind,
        id: &str,
        parent: Option<&str>,
    ) -> Result<ProviderWrite, Error> {
        if !validate::storable(id) {
            return Ok(unchanged(None));
        }
        let lb_id = match kind {
            Kind::LoadBalancer => return self.provider_delete_load_balancer(id).await,
            Kind::Listener => self.stored_tree_of::<Listener>(id).await?,
            Kind::Pool => self.stored_tree_of::<Pool>(id).await?,
            Kind::Member => self.stored_tree_of::<Member>(id).await?,
            Kind::HealthMonitor => self.stored_tree_of::<HealthMonitor>(id).await?,
            Kind::L7Policy => self.stored_tree_of::<L7Policy>(id).await?,
            Kind::L7Rule => self.stored_tree_of::<L7Rule>(id).await?,
        };
        let Some(lb_id) = lb_id else {
            return self.report_missing(kind, id, parent).await;
        };
        self.converge_existing(&lb_id, |g| {
            edit::remove(g, kind, id);
            Ok(())
        })
        .await
    }

    /// Report an object that is not stored at all as DELETED, with the statuses of the tree
    /// its `parent` belongs to (nothing when that is unknown or the object is on its way out).
    async fn report_missing(
        &self,
        kind: Kind,
        id: &str,
        parent: Option<&str>,
    ) -> Result<ProviderWrite, Error> {
        let lb_id = match (kind, parent) {
            (Kind::Member, Some(pool)) if self.store.get::<Member>(id).await?.is_none() => {
                self.stored_tree_of::<Pool>(pool).await?
            }
            (Kind::L7Rule, Some(policy)) if self.store.get::<L7Rule>(id).await?.is_none() => {
                self.stored_tree_of::<L7Policy>(policy).await?
            }
            _ => None,
        };
        let Some(lb_id) = lb_id else {
            return Ok(unchanged(None));
        };
        let mut tx = self.store.begin().await?;
        tx.feed_current_status(&lb_id, &[(kind, id)]).await?;
        tx.commit().await?;
        Ok(unchanged(Some(&lb_id)))
    }

    /// Delete a load balancer with its whole tree. A load balancer that is not stored is
    /// reported DELETED on the feed, since Octavia waits to hear it.
    async fn provider_delete_load_balancer(&self, id: &str) -> Result<ProviderWrite, Error> {
        let mut change = self.change().await?;
        match change.tx().get::<LoadBalancer>(id).await? {
            None => {
                drop(change);
                let mut tx = self.store.begin().await?;
                tx.feed_deleted(id, &[(Kind::LoadBalancer, id)]).await?;
                tx.commit().await?;
                return Ok(unchanged(Some(id)));
            }
            Some(lb) if lb.provisioning_status == ProvisioningStatus::PendingDelete => {
                return Ok(unchanged(Some(id)));
            }
            Some(_) => {}
        }
        change
            .lock_load_balancer(id, ProvisioningStatus::PendingDelete, PROVIDER_WRITABLE)
            .await?;
        change.mark_deleted(Kind::LoadBalancer, id).await?;
        change.commit(id, WorkAction::Delete).await?;
        Ok(ProviderWrite {
            loadbalancer_id: Some(id.to_string()),
            changed: true,
        })
    }

    /// Up to `limit` entries of the provider feed after `after`.
    pub async fn provider_feed(&self, after: i64, limit: i64) -> Result<Vec<FeedEntry>, Error> {
        Ok(self
            .store
            .provider_feed_after(after, limit.clamp(1, MAX_FEED_PAGE))
            .await?)
    }

    /// The load balancer of a stored object the request names, or Octavia's 404.
    async fn tree_of<T: fulcrum_store::Record + HasTree>(&self, id: &str) -> Result<String, Error> {
        self.stored_tree_of::<T>(id)
            .await?
            .ok_or_else(|| Error::not_found(T::KIND.display_name(), id))
    }

    async fn stored_tree_of<T: fulcrum_store::Record + HasTree>(
        &self,
        id: &str,
    ) -> Result<Option<String>, Error> {
        if !validate::storable(id) {
            return Ok(None);
        }
        Ok(self
            .store
            .get::<T>(id)
            .await?
            .filter(|o| o.provisioning_status() != ProvisioningStatus::PendingDelete)
            .map(|o| o.tree().to_string()))
    }

    /// [`Service::converge`] on a load balancer that must exist.
    async fn converge_existing(
        &self,
        lb_id: &str,
        edit: impl FnOnce(&mut LoadBalancerGraph) -> Result<(), Error>,
    ) -> Result<ProviderWrite, Error> {
        self.converge(lb_id, |current| {
            let mut g = current.ok_or_else(|| Error::not_found("Load Balancer", lb_id))?;
            edit(&mut g)?;
            Ok(g)
        })
        .await
    }

    /// Turn the desired tree of `lb_id` (`None` when nothing is stored) into what `edit`
    /// returns, writing only the difference, in one change with its work item.
    async fn converge(
        &self,
        lb_id: &str,
        edit: impl FnOnce(Option<LoadBalancerGraph>) -> Result<LoadBalancerGraph, Error>,
    ) -> Result<ProviderWrite, Error> {
        let mut change = self.change().await?;
        let stored = change.tx().get::<LoadBalancer>(lb_id).await?;
        if let Some(lb) = &stored {
            change
                .lock_load_balancer(&lb.id, ProvisioningStatus::PendingUpdate, PROVIDER_WRITABLE)
                .await?;
        }
        let current = match stored {
            Some(_) => change.tx().tree(lb_id).await?.map(|t| t.desired()),
            None => None,
        };
        let desired = edit(current.clone())?;
        let difference = match &current {
            Some(current) => diff::difference(current, &desired),
            None => diff::Difference {
                grows: true,
                shrinks: false,
            },
        };
        if !difference.any() {
            drop(change);
            let mut tx = self.store.begin().await?;
            tx.feed_current_status(lb_id, &[]).await?;
            tx.commit().await?;
            return Ok(unchanged(Some(lb_id)));
        }
        for member in diff::new_members(current.as_ref(), &desired) {
            self.check_member_subnet(member.subnet_id.as_deref())
                .await?;
        }
        diff::write(change.tx(), current.as_ref(), &desired).await?;
        if current.is_none() {
            change.tx().delegate_to_provider(lb_id).await?;
        }
        if difference.grows {
            change.checked_by(&desired.load_balancer.provider);
        }
        change.commit(lb_id, WorkAction::Apply).await?;
        Ok(ProviderWrite {
            loadbalancer_id: Some(lb_id.to_string()),
            changed: true,
        })
    }
}

/// A stored object that belongs to a load balancer's tree.
trait HasTree {
    /// The load balancer whose tree holds it.
    fn tree(&self) -> &str;
}

macro_rules! has_tree {
    ($($ty:ty),*) => {$(
        impl HasTree for $ty {
            fn tree(&self) -> &str {
                &self.loadbalancer_id
            }
        }
    )*};
}

has_tree!(Listener, Pool, Member, HealthMonitor, L7Policy, L7Rule);

/// The load balancer a request describes: a new one with Octavia's VIP, Fulcrum's `provider`
/// and its `placement`, or the stored one with the fields Octavia may change.
fn load_balancer(
    id: &str,
    stored: Option<&LoadBalancer>,
    req: &ProviderLoadBalancer,
    provider: String,
    placement: Option<String>,
) -> LoadBalancer {
    let mut lb = stored.cloned().unwrap_or_else(|| LoadBalancer {
        id: id.to_string(),
        project_id: req.project_id.clone(),
        name: None,
        description: None,
        admin_state_up: true,
        provisioning_status: ProvisioningStatus::PendingCreate,
        operating_status: OperatingStatus::Offline,
        vip_address: req.vip_address.clone(),
        vip_port_id: req.vip_port_id.clone().unwrap_or_default(),
        vip_subnet_id: req.vip_subnet_id.clone().unwrap_or_default(),
        vip_network_id: req.vip_network_id.clone().unwrap_or_default(),
        vip_qos_policy_id: None,
        vip_router_id: None,
        placement,
        additional_vips: Vec::new(),
        provider,
        flavor_id: None,
        availability_zone: None,
        tags: Vec::new(),
        created_at: timestamp::now(),
        updated_at: None,
    });
    lb.name = req.name.clone();
    lb.description = req.description.clone();
    lb.admin_state_up = req.admin_state_up.unwrap_or(true);
    lb.vip_qos_policy_id = req.vip_qos_policy_id.clone();
    lb.tags = req.tags.clone().unwrap_or_default();
    lb
}
