//! Writes: every change is one [`Change`], a store transaction that takes the write lock on the
//! load balancer's tree (the [`Parent`] of what changes), counts new objects against the
//! project's quotas, records the desired objects with their `PENDING_*` statuses, and queues
//! the tree for the reconciler when it commits, together with the events management must learn
//! of (a failover request). Reads a change's checks depend on happen in the
//! same transaction, before the lock.

use fulcrum_core::Error;
use fulcrum_core::events::Event;
use fulcrum_core::model::{Kind, L7Policy, LoadBalancer, Pool, ProvisioningStatus};
use fulcrum_store::{LockOutcome, Record, Tx, WorkAction};

use super::Service;
use super::access::HasProject;

/// The states an object may be changed from: an object in ERROR can always be updated or
/// deleted; only a change in flight (`PENDING_*`) makes it wait. Octavia also refuses changes
/// below a load balancer in ERROR, but its controller never leaves one there for a child's
/// fault; a whole-tree apply can, and the way out is to fix or remove that child.
pub(crate) const WRITABLE: &[ProvisioningStatus] =
    &[ProvisioningStatus::Active, ProvisioningStatus::Error];

/// What a change below a load balancer locks before it writes. Every variant takes the load
/// balancer from ACTIVE (or ERROR) to PENDING_UPDATE, or fails with Octavia's 409 when it is
/// busy.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Parent<'a> {
    /// The load balancer (its listeners or pools change).
    LoadBalancer(&'a str),
    /// A listener of the load balancer, which moves to PENDING_UPDATE (its L7 policies change).
    Listener {
        /// The load balancer.
        load_balancer_id: &'a str,
        /// The listener.
        listener_id: &'a str,
    },
    /// A pool, which must not be busy and moves to PENDING_UPDATE (its members or health monitor
    /// change).
    Pool(&'a Pool),
    /// An L7 policy, which must not be busy; it and its listener move to PENDING_UPDATE (its
    /// rules change).
    L7Policy(&'a L7Policy),
}

impl Parent<'_> {
    /// The load balancer whose tree is locked.
    pub(crate) fn load_balancer_id(&self) -> &str {
        match self {
            Parent::LoadBalancer(id) => id,
            Parent::Listener {
                load_balancer_id, ..
            } => load_balancer_id,
            Parent::Pool(pool) => &pool.loadbalancer_id,
            Parent::L7Policy(policy) => &policy.loadbalancer_id,
        }
    }

    /// Take the lock; returns the locked load balancer.
    async fn lock(self, tx: &mut Tx) -> Result<LoadBalancer, Error> {
        match self {
            Parent::LoadBalancer(id) => lock_tree(tx, id).await,
            Parent::Listener {
                load_balancer_id,
                listener_id,
            } => lock_listener(tx, load_balancer_id, listener_id).await,
            Parent::Pool(pool) => {
                match tx.get::<Pool>(&pool.id).await? {
                    Some(p) if WRITABLE.contains(&p.provisioning_status) => {}
                    Some(_) => return Err(immutable("Pool", &pool.id)),
                    None => return Err(Error::not_found("Pool", &pool.id)),
                }
                let lb = lock_tree(tx, &pool.loadbalancer_id).await?;
                pending_update(tx, Kind::Pool, &pool.id).await?;
                Ok(lb)
            }
            Parent::L7Policy(policy) => {
                let current: Option<L7Policy> = tx.get(&policy.id).await?;
                if !current.is_some_and(|p| WRITABLE.contains(&p.provisioning_status)) {
                    return Err(immutable("L7Policy", &policy.id));
                }
                let lb = lock_listener(tx, &policy.loadbalancer_id, &policy.listener_id).await?;
                pending_update(tx, Kind::L7Policy, &policy.id).await?;
                Ok(lb)
            }
        }
    }
}

fn immutable(resource: &'static str, id: &str) -> Error {
    Error::Immutable {
        resource,
        id: id.to_string(),
    }
}

async fn pending_update(tx: &mut Tx, kind: Kind, id: &str) -> Result<(), Error> {
    Ok(tx
        .set_status(kind, id, ProvisioningStatus::PendingUpdate)
        .await?)
}

/// Take the write lock on a load balancer's tree for a change below it: the load balancer moves
/// from ACTIVE or ERROR to PENDING_UPDATE, or the request gets Octavia's 409.
async fn lock_tree(tx: &mut Tx, load_balancer_id: &str) -> Result<LoadBalancer, Error> {
    match tx
        .lock_load_balancer(
            load_balancer_id,
            ProvisioningStatus::PendingUpdate,
            WRITABLE,
        )
        .await?
    {
        LockOutcome::Locked(lb) => Ok(*lb),
        LockOutcome::NotFound => Err(Error::not_found("Load Balancer", load_balancer_id)),
        LockOutcome::Busy(_) => Err(immutable("Load Balancer", load_balancer_id)),
    }
}

async fn lock_listener(
    tx: &mut Tx,
    load_balancer_id: &str,
    listener_id: &str,
) -> Result<LoadBalancer, Error> {
    let lb = lock_tree(tx, load_balancer_id).await?;
    pending_update(tx, Kind::Listener, listener_id).await?;
    Ok(lb)
}

/// One write transaction of a request. Dropping it without [`Change::commit`] records nothing.
pub(crate) struct Change<'s> {
    service: &'s Service,
    tx: Tx,
    events: Vec<Event>,
    /// The provider whose driver checks the tree this change leaves before it commits.
    provider: Option<String>,
}

impl Service {
    /// Start a change.
    pub(crate) async fn change(&self) -> Result<Change<'_>, Error> {
        Ok(Change {
            service: self,
            tx: self.store.begin().await?,
            events: Vec::new(),
            provider: None,
        })
    }

    /// Record a changed object below `parent`.
    pub(crate) async fn save<T: Record>(
        &self,
        parent: Parent<'_>,
        object: &T,
    ) -> Result<(), Error> {
        let mut change = self.change().await?;
        change.lock(parent).await?;
        change.tx.update(object).await?;
        change
            .commit(parent.load_balancer_id(), WorkAction::Apply)
            .await
    }

    /// Mark an object and everything below it PENDING_DELETE, below `parent`.
    pub(crate) async fn remove(
        &self,
        parent: Parent<'_>,
        kind: Kind,
        id: &str,
    ) -> Result<(), Error> {
        let mut change = self.change().await?;
        change.lock(parent).await?;
        change.mark_deleted(kind, id).await?;
        change
            .commit(parent.load_balancer_id(), WorkAction::Apply)
            .await
    }
}

impl Change<'_> {
    /// The transaction, for the reads and writes particular to one change.
    pub(crate) fn tx(&mut self) -> &mut Tx {
        &mut self.tx
    }

    /// Take the write lock of `parent`; returns the locked load balancer.
    pub(crate) async fn lock(&mut self, parent: Parent<'_>) -> Result<LoadBalancer, Error> {
        let lb = parent.lock(&mut self.tx).await?;
        self.provider = Some(lb.provider.clone());
        Ok(lb)
    }

    /// Have `provider`'s driver check the tree before the change commits (the locks below a
    /// load balancer set it; a change of the load balancer itself says so).
    pub(crate) fn checked_by(&mut self, provider: &str) {
        self.provider = Some(provider.to_string());
    }

    /// Move a load balancer itself to `to` if it is in one of `from`, or Octavia's 409 naming
    /// the state it is in.
    pub(crate) async fn lock_load_balancer(
        &mut self,
        id: &str,
        to: ProvisioningStatus,
        from: &[ProvisioningStatus],
    ) -> Result<LoadBalancer, Error> {
        match self.tx.lock_load_balancer(id, to, from).await? {
            LockOutcome::Locked(lb) => Ok(*lb),
            LockOutcome::NotFound => Err(Error::not_found("Load Balancer", id)),
            LockOutcome::Busy(status) => Err(Error::InvalidState {
                status: status.to_string(),
                id: id.to_string(),
            }),
        }
    }

    /// Count `wanted` new objects against `project`'s quotas ([`Service::reserve`]).
    pub(crate) async fn reserve(
        &mut self,
        project: Option<&str>,
        wanted: &[(Kind, usize)],
    ) -> Result<(), Error> {
        self.service.reserve(&mut self.tx, project, wanted).await
    }

    /// Count a new object against its project's quota and store it.
    pub(crate) async fn insert<T: Record + HasProject>(&mut self, object: &T) -> Result<(), Error> {
        self.reserve(object.project(), &[(T::KIND, 1)]).await?;
        Ok(self.tx.insert(object).await?)
    }

    /// Mark an object and everything below it PENDING_DELETE. A removal is never refused by
    /// the driver: it asks for nothing new, and must stay possible when the tree holds what the
    /// driver refuses.
    pub(crate) async fn mark_deleted(&mut self, kind: Kind, id: &str) -> Result<(), Error> {
        self.provider = None;
        Ok(self
            .tx
            .mark_subtree(kind, id, ProvisioningStatus::PendingDelete)
            .await?)
    }

    /// Queue the load balancer's tree for the reconciler, commit, and wake the local reconciler.
    /// Tell management about this change: the event is written with it, or not at all.
    pub(crate) fn emit(&mut self, event: Event) {
        self.events.push(event);
    }

    /// Check that the provider can realize the tree this change leaves (unless it removes
    /// something), queue the work item, write the events (last: appending them
    /// serializes event-writing transactions until they commit), commit, and wake the converge
    /// task and event consumers.
    pub(crate) async fn commit(
        mut self,
        load_balancer_id: &str,
        action: WorkAction,
    ) -> Result<(), Error> {
        if let Some(provider) = self.provider.take() {
            self.service
                .check_realizable(&mut self.tx, &provider, load_balancer_id)
                .await?;
        }
        self.tx.enqueue(load_balancer_id, action).await?;
        for event in &self.events {
            self.tx.append_event(event).await?;
        }
        self.tx.commit().await?;
        self.service.work_ready.notify_one();
        if !self.events.is_empty() {
            self.service.events.notify_committed();
        }
        Ok(())
    }
}
