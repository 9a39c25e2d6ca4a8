//! Members of a pool, including the batch update that replaces (or extends) a pool's member set
//! in one request.

use std::collections::{HashMap, HashSet};

use fulcrum_core::Error;
use fulcrum_core::model::{HealthMonitor, Kind, Member, OperatingStatus, Pool, ProvisioningStatus};
use fulcrum_core::{timestamp, validate};
use fulcrum_store::{Tx, WorkAction};

use super::read::Page;
use super::write::Parent;
use super::{Service, new_id};
use crate::auth::RequestContext;
use crate::shapes::members::{CreateMember, UpdateMember};

impl Service {
    /// A page of the members of a pool.
    pub async fn list_members(
        &self,
        ctx: &RequestContext,
        pool_id: &str,
        query: Option<&str>,
    ) -> Result<Page<Member>, Error> {
        let _pool: Pool = self.visible(ctx, pool_id).await?;
        self.page(ctx, query, &[("pool_id", pool_id)]).await
    }

    /// A member of a pool.
    pub async fn member(
        &self,
        ctx: &RequestContext,
        pool_id: &str,
        member_id: &str,
    ) -> Result<Member, Error> {
        Ok(self.member_of(ctx, pool_id, member_id).await?.1)
    }

    /// Add a member to a pool.
    pub async fn create_member(
        &self,
        ctx: &RequestContext,
        pool_id: &str,
        req: CreateMember,
    ) -> Result<Member, Error> {
        let pool: Pool = self.visible(ctx, pool_id).await?;
        let mut m = build_member(&pool, req, false)?;
        self.check_member_subnet(m.subnet_id.as_deref()).await?;
        let mut change = self.change().await?;
        let existing: Vec<Member> = change.tx().children("pool_id", &pool.id).await?;
        check_endpoint_free(&existing, &m)?;
        if pool_has_monitor(change.tx(), &pool.id).await? {
            m.operating_status = OperatingStatus::Offline;
        }
        change.lock(Parent::Pool(&pool)).await?;
        change.insert(&m).await?;
        change
            .commit(&pool.loadbalancer_id, WorkAction::Apply)
            .await?;
        Ok(m)
    }

    /// Change a member of a pool.
    pub async fn update_member(
        &self,
        ctx: &RequestContext,
        pool_id: &str,
        member_id: &str,
        req: UpdateMember,
    ) -> Result<Member, Error> {
        let (pool, mut m) = self.member_of(ctx, pool_id, member_id).await?;
        req.name.apply_opt(&mut m.name);
        req.admin_state_up.apply_to(&mut m.admin_state_up, || false);
        req.weight.apply_to(&mut m.weight, || 1);
        req.backup.apply_to(&mut m.backup, || false);
        req.monitor_port.apply_opt(&mut m.monitor_port);
        req.monitor_address.apply_opt(&mut m.monitor_address);
        req.tags.apply_to(&mut m.tags, Vec::new);
        validate::member(&m)?;
        m.provisioning_status = ProvisioningStatus::PendingUpdate;
        m.updated_at = Some(timestamp::now());
        self.save(Parent::Pool(&pool), &m).await?;
        Ok(m)
    }

    /// Remove a member from its pool.
    pub async fn delete_member(
        &self,
        ctx: &RequestContext,
        pool_id: &str,
        member_id: &str,
    ) -> Result<(), Error> {
        let (pool, m) = self.member_of(ctx, pool_id, member_id).await?;
        self.remove(Parent::Pool(&pool), Kind::Member, &m.id).await
    }

    /// Replace the member set of a pool with `items` (with `additive_only`, only add and update
    /// members): members are matched by address and port.
    pub async fn batch_update_members(
        &self,
        ctx: &RequestContext,
        pool_id: &str,
        items: Vec<CreateMember>,
        additive_only: bool,
    ) -> Result<(), Error> {
        let pool: Pool = self.visible(ctx, pool_id).await?;
        // A batch creates and deletes members too: Octavia checks those rules as well.
        let project = pool.project_id.as_deref();
        ctx.require("os_load-balancer_api:member:post", project)?;
        if !additive_only {
            ctx.require("os_load-balancer_api:member:delete", project)?;
        }
        check_batch_keys(&items)?;
        let mut change = self.change().await?;
        let existing: Vec<Member> = change.tx().children("pool_id", &pool.id).await?;
        let has_monitor = pool_has_monitor(change.tx(), &pool.id).await?;
        let plan = plan_batch(&pool, existing, items, additive_only, has_monitor)?;
        if plan.is_empty() {
            return Ok(());
        }
        for m in &plan.create {
            self.check_member_subnet(m.subnet_id.as_deref()).await?;
        }
        let lb = change.lock(Parent::Pool(&pool)).await?;
        let new_members = [(Kind::Member, plan.create.len())];
        change.reserve(project, &new_members).await?;
        for m in &plan.delete {
            change.mark_deleted(Kind::Member, &m.id).await?;
        }
        for m in &plan.create {
            change.tx().insert(m).await?;
        }
        for m in &plan.update {
            change.tx().update(m).await?;
        }
        if !plan.create.is_empty() || !plan.update.is_empty() {
            change.checked_by(&lb.provider);
        }
        change
            .commit(&pool.loadbalancer_id, WorkAction::Apply)
            .await
    }

    /// A pool the caller may see and one of its members, or Octavia's 404 for the missing one.
    async fn member_of(
        &self,
        ctx: &RequestContext,
        pool_id: &str,
        member_id: &str,
    ) -> Result<(Pool, Member), Error> {
        let pool: Pool = self.visible(ctx, pool_id).await?;
        let m: Member = self.visible(ctx, member_id).await?;
        if m.pool_id != pool.id {
            return Err(Error::not_found("Member", member_id));
        }
        Ok((pool, m))
    }
}

impl Service {
    /// A subnet a member names must exist in the network back-end (400, not 404, as in
    /// Octavia).
    pub(crate) async fn check_member_subnet(&self, subnet_id: Option<&str>) -> Result<(), Error> {
        match subnet_id {
            Some(id) if self.networks.subnet(id).await?.is_none() => {
                Err(Error::BadRequest(format!("Subnet {id} not found.")))
            }
            _ => Ok(()),
        }
    }
}

/// Whether a pool has a health monitor, which decides a new member's operating status.
async fn pool_has_monitor(tx: &mut Tx, pool_id: &str) -> Result<bool, Error> {
    Ok(!tx
        .children::<HealthMonitor>("pool_id", pool_id)
        .await?
        .is_empty())
}

/// A new member of `pool` from a create request, with Octavia's defaults.
fn new_member(pool: &Pool, req: CreateMember, has_monitor: bool) -> Member {
    Member {
        id: new_id(),
        project_id: pool.project_id.clone(),
        loadbalancer_id: pool.loadbalancer_id.clone(),
        pool_id: pool.id.clone(),
        name: req.name,
        admin_state_up: req.admin_state_up.unwrap_or(true),
        provisioning_status: ProvisioningStatus::PendingCreate,
        operating_status: if has_monitor {
            OperatingStatus::Offline
        } else {
            OperatingStatus::NoMonitor
        },
        address: req.address,
        protocol_port: req.protocol_port,
        weight: req.weight.unwrap_or(1),
        backup: req.backup.unwrap_or(false),
        subnet_id: req.subnet_id,
        monitor_address: req.monitor_address,
        monitor_port: req.monitor_port,
        tags: req.tags.unwrap_or_default(),
        created_at: timestamp::now(),
        updated_at: None,
    }
}

fn same_endpoint(a: &Member, b: &Member) -> bool {
    a.address == b.address && a.protocol_port == b.protocol_port
}

/// A new member of `pool` from a create request, with Octavia's defaults, validated (fields,
/// reserved addresses, SR-IOV). Shared by `POST .../members` and the load balancer graph
/// create; its subnet ([`Service::check_member_subnet`]) and duplicates among the pool's
/// members are the caller's to check.
pub(crate) fn build_member(
    pool: &Pool,
    req: CreateMember,
    has_monitor: bool,
) -> Result<Member, Error> {
    if req.request_sriov == Some(true) {
        return Err(Error::BadRequest(
            "The load balancer flavor does not allow SR-IOV member ports.".into(),
        ));
    }
    let m = new_member(pool, req, has_monitor);
    validate::member(&m)?;
    Ok(m)
}

/// Octavia's 409 when another member of the pool already uses the address and port.
pub(crate) fn check_endpoint_free(existing: &[Member], m: &Member) -> Result<(), Error> {
    if existing.iter().any(|e| e.id != m.id && same_endpoint(e, m)) {
        return Err(Error::Conflict(format!(
            "Another member on this pool is already using ip {} on protocol_port {}",
            m.address, m.protocol_port
        )));
    }
    Ok(())
}

/// What a batch update does to a pool's members.
#[derive(Debug, Default)]
struct BatchPlan {
    create: Vec<Member>,
    update: Vec<Member>,
    delete: Vec<Member>,
}

impl BatchPlan {
    fn is_empty(&self) -> bool {
        self.create.is_empty() && self.update.is_empty() && self.delete.is_empty()
    }
}

/// Each (address, protocol_port) may appear only once in a batch.
fn check_batch_keys(items: &[CreateMember]) -> Result<(), Error> {
    let mut seen = HashSet::new();
    for item in items {
        if !seen.insert((item.address.as_str(), item.protocol_port)) {
            return Err(Error::validation(
                "Member must be updated only once in the same request.",
            ));
        }
    }
    Ok(())
}

/// Overwrite a matched member with a batch item: the defaulted fields always, name and tags
/// only when given.
fn merge_member(mut m: Member, item: CreateMember) -> Member {
    m.admin_state_up = item.admin_state_up.unwrap_or(true);
    m.weight = item.weight.unwrap_or(1);
    m.backup = item.backup.unwrap_or(false);
    m.monitor_address = item.monitor_address;
    m.monitor_port = item.monitor_port;
    if item.name.is_some() {
        m.name = item.name;
    }
    if let Some(tags) = item.tags {
        m.tags = tags;
    }
    m.provisioning_status = ProvisioningStatus::PendingUpdate;
    m.updated_at = Some(timestamp::now());
    m
}

/// Match a batch against the pool's members and validate the outcome.
fn plan_batch(
    pool: &Pool,
    existing: Vec<Member>,
    items: Vec<CreateMember>,
    additive_only: bool,
    has_monitor: bool,
) -> Result<BatchPlan, Error> {
    let mut old: HashMap<(String, i64), Member> = existing
        .into_iter()
        .map(|m| ((m.address.clone(), m.protocol_port), m))
        .collect();
    let mut plan = BatchPlan::default();
    for item in items {
        let key = (item.address.clone(), item.protocol_port);
        let m = match old.remove(&key) {
            Some(current) => {
                let m = merge_member(current, item);
                validate::member(&m)?;
                plan.update.push(m);
                continue;
            }
            None => new_member(pool, item, has_monitor),
        };
        validate::member(&m)?;
        plan.create.push(m);
    }
    if !additive_only {
        plan.delete = old.into_values().collect();
    }
    Ok(plan)
}
