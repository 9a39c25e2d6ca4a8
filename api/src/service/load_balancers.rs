//! Load balancers: create (with a VIP, and optionally the whole tree below it in one call), show,
//! update, delete (with `cascade`), the status tree, statistics and failover.

use fulcrum_core::driver::LoadBalancerGraph;
use fulcrum_core::events::Event;
use fulcrum_core::model::{Kind, LoadBalancer, OperatingStatus, ProvisioningStatus, Stats};
use fulcrum_core::network::AddressUse;
use fulcrum_core::{Error, timestamp, validate};
use fulcrum_store::{StoreError, WorkAction};

use super::access::owner_for_create;
use super::flavors::Resolved;
use super::graph::{self, Graph};
use super::read::WithRelated;
use super::vip::{ResolvedAdditionalVip, ResolvedVip, Viewer, Vip, vip_claims};
use super::write::WRITABLE;
use super::{Service, new_id};
use crate::auth::RequestContext;
use crate::shapes::Related;
use crate::shapes::graph::{ListenerSingleCreate, PoolSingleCreate};
use crate::shapes::load_balancers::{CreateLoadBalancer, UpdateLoadBalancer};

impl Service {
    /// A load balancer the caller may see, with the ids of its listeners and pools, in one query.
    pub async fn load_balancer(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<WithRelated<LoadBalancer>, Error> {
        if !validate::storable(id) {
            return Err(Error::not_found("Load Balancer", id));
        }
        let found = self
            .store
            .get_with_children::<LoadBalancer>(
                id,
                &[
                    (Kind::Listener, "loadbalancer_id"),
                    (Kind::Pool, "loadbalancer_id"),
                ],
            )
            .await?;
        match found {
            Some((lb, children)) => {
                ctx.authorize(lb.project_id.as_deref())?;
                let mut related = Related::default();
                for (kind, ids) in [Kind::Listener, Kind::Pool].into_iter().zip(children) {
                    related.add(kind, [(lb.id.clone(), ids)].into());
                }
                Ok(WithRelated {
                    object: lb,
                    related,
                })
            }
            None => Err(Error::not_found("Load Balancer", id)),
        }
    }

    /// The store's write epoch, for caches of what was read ([`fulcrum_store::Store::read_epoch`]).
    pub fn read_epoch(&self) -> Option<u64> {
        self.store.read_epoch()
    }

    /// Validate a load balancer and the graph below it, then record all of it in one
    /// transaction with one work item.
    pub async fn create_load_balancer(
        &self,
        ctx: &RequestContext,
        mut req: CreateLoadBalancer,
    ) -> Result<(LoadBalancer, Graph), Error> {
        let project_id = owner_for_create(ctx, req.project_id.take().or(req.tenant_id.take()))?;
        let listeners = req.listeners.take().unwrap_or_default();
        let additional_vips = req.additional_vips.take().unwrap_or_default();
        let pools = req.pools.take().unwrap_or_default();
        let resolved = self
            .resolve_for_load_balancer(
                req.provider.as_deref(),
                req.flavor_id.as_deref(),
                req.availability_zone.as_deref(),
            )
            .await?;
        check_fields(&req)?;
        let vip = self.resolve_vip(Viewer::of(ctx), &req).await?;
        let additional = self
            .resolve_additional_vips(Viewer::of(ctx), &vip, additional_vips)
            .await?;
        if !additional.is_empty()
            && !self
                .providers
                .get(&resolved.provider)?
                .realizes_additional_vips()
        {
            return Err(Error::ProviderUnsupported {
                provider: resolved.provider,
                option: "additional_vips".into(),
            });
        }
        let placement = self.placement_for_new(&resolved.provider).await?;
        let lb_id = new_id();
        let mut allocated = self
            .allocate_vip(
                &vip,
                &additional,
                &lb_id,
                project_id.as_deref(),
                req.vip_qos_policy_id.as_deref(),
            )
            .await?;
        let created_port = allocated.created_port.then(|| allocated.port_id.clone());
        let additional_vips = std::mem::take(&mut allocated.additional_vips);
        let mut lb = new_load_balancer(lb_id.clone(), project_id, req, resolved, allocated);
        lb.additional_vips = additional_vips;
        lb.placement = placement;
        let stored = self
            .store_new_load_balancer(lb, &vip, &additional, listeners, pools)
            .await;
        if let (Err(_), Some(port_id)) = (&stored, &created_port) {
            // Nothing was stored: the port made for it goes too.
            self.release_created_port(&lb_id, port_id).await;
        }
        stored
    }

    /// Plan the graph below a new load balancer, check it, and store all of it in one
    /// transaction with one work item.
    async fn store_new_load_balancer(
        &self,
        mut lb: LoadBalancer,
        vip: &ResolvedVip,
        additional: &[ResolvedAdditionalVip],
        listeners: Vec<ListenerSingleCreate>,
        pools: Vec<PoolSingleCreate>,
    ) -> Result<(LoadBalancer, Graph), Error> {
        let graph = graph::plan(self, &lb, listeners, pools)?;
        for member in graph.pools.iter().flat_map(|p| &p.members) {
            self.check_member_subnet(member.subnet_id.as_deref())
                .await?;
        }
        let exclusive = vip.subnet.address_use == AddressUse::Exclusive;
        // Auto-allocation can race another create (of this replica or another) for the same
        // address; the claims' unique index decides and the loser tries the next one.
        for _ in 0..5 {
            let mut change = self.change().await?;
            change
                .reserve(lb.project_id.as_deref(), &graph.quota_counts())
                .await?;
            let stored = if exclusive {
                change.tx().insert_claiming_vip(&lb).await
            } else {
                change.tx().insert(&lb).await
            };
            let stored = match stored {
                Ok(()) => {
                    let claims = vip_claims(&lb, vip, additional);
                    change.tx().claim_vip_addresses(&lb.id, &claims).await
                }
                Err(e) => Err(e),
            };
            match stored {
                Ok(()) => {
                    graph.insert(change.tx()).await?;
                    change.checked_by(&lb.provider);
                    change.commit(&lb.id, WorkAction::Apply).await?;
                    return Ok((lb, graph));
                }
                Err(StoreError::Conflict(_)) => {
                    drop(change);
                    self.reallocate_taken(&mut lb, vip, additional).await?;
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(Error::Internal("could not allocate a VIP address".into()))
    }

    /// Change a load balancer: the object as this request left it, with the ids of its
    /// listeners and pools as stored now.
    pub async fn update_load_balancer(
        &self,
        ctx: &RequestContext,
        id: &str,
        req: UpdateLoadBalancer,
    ) -> Result<WithRelated<LoadBalancer>, Error> {
        let _: LoadBalancer = self.visible(ctx, id).await?;
        let mut change = self.change().await?;
        let mut lb = change
            .lock_load_balancer(id, ProvisioningStatus::PendingUpdate, WRITABLE)
            .await?;
        change.checked_by(&lb.provider);
        req.name.apply_opt(&mut lb.name);
        req.description.apply_opt(&mut lb.description);
        req.admin_state_up
            .apply_to(&mut lb.admin_state_up, || false);
        let qos_before = lb.vip_qos_policy_id.clone();
        req.vip_qos_policy_id.apply_opt(&mut lb.vip_qos_policy_id);
        req.tags.apply_to(&mut lb.tags, Vec::new);
        validate::max_len("name", lb.name.as_deref(), 255)?;
        validate::max_len("description", lb.description.as_deref(), 255)?;
        validate::strings_max_len("tags", &lb.tags, 255)?;
        if lb.vip_qos_policy_id != qos_before {
            // The VIP port changes with the request, as it was made with it: a refusal (an
            // unknown policy) or a failure leaves the load balancer as it was.
            self.networks
                .set_vip_port_qos(&lb.vip_port_id, lb.vip_qos_policy_id.as_deref())
                .await?;
        }
        lb.updated_at = Some(timestamp::now());
        change.tx().update(&lb).await?;
        change.commit(id, WorkAction::Apply).await?;
        let current = self.load_balancer(ctx, id).await?;
        Ok(WithRelated {
            object: lb,
            related: current.related,
        })
    }

    /// Delete a load balancer; with `cascade`, everything below it too (without, one with
    /// children is refused).
    pub async fn delete_load_balancer(
        &self,
        ctx: &RequestContext,
        id: &str,
        cascade: bool,
    ) -> Result<(), Error> {
        let _: LoadBalancer = self.visible(ctx, id).await?;
        let mut change = self.change().await?;
        change
            .lock_load_balancer(id, ProvisioningStatus::PendingDelete, WRITABLE)
            .await?;
        let tree = change
            .tx()
            .tree(id)
            .await?
            .ok_or_else(|| Error::not_found("Load Balancer", id))?;
        let has_children = !tree.rows.listeners.is_empty() || !tree.rows.pools.is_empty();
        if has_children && !cascade {
            return Err(Error::validation(format!(
                "Cannot delete Load Balancer {id} - it has children"
            )));
        }
        change.mark_deleted(Kind::LoadBalancer, id).await?;
        change.commit(id, WorkAction::Delete).await
    }

    /// The whole tree of a load balancer, for its status.
    pub async fn load_balancer_status(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<LoadBalancerGraph, Error> {
        let lb: LoadBalancer = self.visible(ctx, id).await?;
        let tree = self
            .store
            .tree(&lb.id)
            .await?
            .ok_or_else(|| Error::not_found("Load Balancer", id))?;
        Ok(tree.rows)
    }

    /// Traffic counters of a load balancer.
    pub async fn load_balancer_stats(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<Stats, Error> {
        let lb: LoadBalancer = self.visible(ctx, id).await?;
        Ok(self.store.load_balancer_stats(&lb.id).await?)
    }

    /// Rebuild a load balancer on its backend, and tell management that it was asked for.
    pub async fn failover_load_balancer(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<(), Error> {
        let _: LoadBalancer = self.visible(ctx, id).await?;
        let mut change = self.change().await?;
        change
            .lock_load_balancer(id, ProvisioningStatus::PendingUpdate, WRITABLE)
            .await?;
        change.emit(Event::DayTwoRequest {
            action: "failover".into(),
            load_balancer_id: id.to_string(),
        });
        change.commit(id, WorkAction::Apply).await
    }
}

/// The fields of a create request that are checked before its VIP is resolved.
fn check_fields(req: &CreateLoadBalancer) -> Result<(), Error> {
    validate::max_len("name", req.name.as_deref(), 255)?;
    validate::max_len("description", req.description.as_deref(), 255)?;
    validate::strings_max_len("tags", req.tags.as_deref().unwrap_or_default(), 255)
}

/// A new load balancer from a create request ([checked](check_fields)), with its VIP.
fn new_load_balancer(
    id: String,
    project_id: Option<String>,
    req: CreateLoadBalancer,
    resolved: Resolved,
    vip: Vip,
) -> LoadBalancer {
    LoadBalancer {
        id,
        project_id,
        name: req.name,
        description: req.description,
        admin_state_up: req.admin_state_up.unwrap_or(true),
        provisioning_status: ProvisioningStatus::PendingCreate,
        operating_status: OperatingStatus::Offline,
        vip_address: vip.address.to_string(),
        vip_port_id: vip.port_id,
        vip_subnet_id: vip.subnet_id,
        vip_network_id: vip.network_id,
        vip_qos_policy_id: req.vip_qos_policy_id,
        additional_vips: Vec::new(),
        vip_router_id: vip.router_id,
        placement: None,
        provider: resolved.provider,
        flavor_id: resolved.flavor_id,
        availability_zone: resolved.availability_zone,
        tags: req.tags.unwrap_or_default(),
        created_at: timestamp::now(),
        updated_at: None,
    }
}
