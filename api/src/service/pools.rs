//! Pools: the members a listener or an L7 policy sends traffic to, with a balancing algorithm.

use fulcrum_core::Error;
use fulcrum_core::model::{
    Kind, L7Policy, Listener, LoadBalancer, OperatingStatus, Pool, ProvisioningStatus,
};
use fulcrum_core::{timestamp, validate};
use fulcrum_store::WorkAction;

use super::capabilities::Needs;
use super::read::WithRelated;
use super::tls::{new_tls, patch_tls};
use super::write::Parent;
use super::{Service, new_id, not_null};
use crate::auth::RequestContext;
use crate::shapes::pools::{CreatePool, UpdatePool};

impl Service {
    /// Create a pool on a load balancer, or as the default pool of a listener.
    pub async fn create_pool(
        &self,
        ctx: &RequestContext,
        req: CreatePool,
    ) -> Result<WithRelated<Pool>, Error> {
        let listener: Option<Listener> = match &req.listener_id {
            Some(id) => Some(self.visible(ctx, id).await?),
            None => None,
        };
        let lb_id = match (&req.loadbalancer_id, &listener) {
            (_, Some(l)) => l.loadbalancer_id.clone(),
            (Some(id), None) => id.clone(),
            (None, None) => {
                return Err(Error::validation(
                    "Must provide at least one of: loadbalancer_id, listener_id",
                ));
            }
        };
        let lb: LoadBalancer = self.visible(ctx, &lb_id).await?;
        if let Some(l) = &listener {
            if req
                .loadbalancer_id
                .as_ref()
                .is_some_and(|id| *id != l.loadbalancer_id)
            {
                return Err(Error::validation(
                    "Listener and pool must be on the same load balancer.",
                ));
            }
            validate::listener_pool_protocols(l.protocol, req.protocol)?;
            if l.default_pool_id.is_some() {
                return Err(has_default_pool());
            }
        }
        let listener_id = req.listener_id.clone();
        let pool = build_pool(self, &lb, req)?;
        let mut change = self.change().await?;
        change.lock(Parent::LoadBalancer(&lb.id)).await?;
        change.insert(&pool).await?;
        if let Some(listener_id) = &listener_id {
            let mut l: Listener = change
                .tx()
                .get(listener_id)
                .await?
                .ok_or_else(|| Error::not_found("Listener", listener_id))?;
            if l.default_pool_id.is_some() {
                return Err(has_default_pool());
            }
            l.default_pool_id = Some(pool.id.clone());
            l.provisioning_status = ProvisioningStatus::PendingUpdate;
            change.tx().update(&l).await?;
        }
        change.commit(&lb.id, WorkAction::Apply).await?;
        self.with_related(pool).await
    }

    /// Change a pool.
    pub async fn update_pool(
        &self,
        ctx: &RequestContext,
        id: &str,
        req: UpdatePool,
    ) -> Result<WithRelated<Pool>, Error> {
        let mut p: Pool = self.visible(ctx, id).await?;
        let lb: LoadBalancer = self.visible(ctx, &p.loadbalancer_id).await?;
        req.name.apply_opt(&mut p.name);
        req.description.apply_opt(&mut p.description);
        req.admin_state_up.apply_to(&mut p.admin_state_up, || false);
        if let Some(algorithm) = not_null(req.lb_algorithm, "lb_algorithm")? {
            p.lb_algorithm = algorithm;
        }
        req.session_persistence
            .apply_opt(&mut p.session_persistence);
        req.tags.apply_to(&mut p.tags, Vec::new);
        req.tls_container_ref.apply_opt(&mut p.tls_container_ref);
        req.ca_tls_container_ref
            .apply_opt(&mut p.ca_tls_container_ref);
        req.crl_container_ref.apply_opt(&mut p.crl_container_ref);
        req.tls_enabled.apply_to(&mut p.tls_enabled, || false);
        patch_tls(
            p.tls_enabled,
            (req.tls_ciphers, req.tls_versions, req.alpn_protocols),
            (
                &mut p.tls_ciphers,
                &mut p.tls_versions,
                &mut p.alpn_protocols,
            ),
        );
        validate::pool(&p)?;
        self.check_pool(&lb, &p)?;
        p.provisioning_status = ProvisioningStatus::PendingUpdate;
        p.updated_at = Some(timestamp::now());
        self.save(Parent::LoadBalancer(&lb.id), &p).await?;
        self.with_related(p).await
    }

    /// Delete a pool with its members and health monitor; listeners it was the default pool of
    /// lose it. Refused while an L7 policy redirects to it.
    pub async fn delete_pool(&self, ctx: &RequestContext, id: &str) -> Result<(), Error> {
        let p: Pool = self.visible(ctx, id).await?;
        let mut change = self.change().await?;
        if let Some(policy) = change
            .tx()
            .children::<L7Policy>("redirect_pool_id", id)
            .await?
            .into_iter()
            .find(|p| p.provisioning_status != ProvisioningStatus::PendingDelete)
        {
            return Err(Error::Conflict(format!(
                "Pool {id} is in use by L7 policy {}",
                policy.id
            )));
        }
        change
            .lock(Parent::LoadBalancer(&p.loadbalancer_id))
            .await?;
        change.mark_deleted(Kind::Pool, id).await?;
        for mut l in change
            .tx()
            .children::<Listener>("default_pool_id", id)
            .await?
        {
            l.default_pool_id = None;
            l.provisioning_status = ProvisioningStatus::PendingUpdate;
            change.tx().update(&l).await?;
        }
        change.commit(&p.loadbalancer_id, WorkAction::Apply).await
    }

    /// What the provider and the certificate store must support for a pool.
    fn check_pool(&self, lb: &LoadBalancer, p: &Pool) -> Result<(), Error> {
        self.check_certificates(
            p.tls_container_ref
                .iter()
                .chain(&p.ca_tls_container_ref)
                .chain(&p.crl_container_ref),
        )?;
        self.require(
            &lb.provider,
            &[
                Needs::PoolProtocol(p.protocol),
                Needs::Algorithm(p.lb_algorithm),
            ],
        )
    }
}

fn has_default_pool() -> Error {
    Error::Conflict("This listener already has a default pool".into())
}

/// A new pool of `lb` from a create request, with Octavia's defaults, validated (fields, TLS and
/// session persistence rules, provider capabilities). Shared by `POST /pools` and the load
/// balancer graph create; the listener it may serve is the caller's to check.
pub(crate) fn build_pool(
    service: &Service,
    lb: &LoadBalancer,
    req: CreatePool,
) -> Result<Pool, Error> {
    let tls = req.tls_enabled.unwrap_or(false);
    let (tls_ciphers, tls_versions, alpn_protocols) =
        new_tls(tls, (req.tls_ciphers, req.tls_versions, req.alpn_protocols));
    let pool = Pool {
        id: new_id(),
        project_id: lb.project_id.clone(),
        loadbalancer_id: lb.id.clone(),
        name: req.name,
        description: req.description,
        admin_state_up: req.admin_state_up.unwrap_or(true),
        provisioning_status: ProvisioningStatus::PendingCreate,
        operating_status: OperatingStatus::Offline,
        protocol: req.protocol,
        lb_algorithm: req.lb_algorithm,
        session_persistence: req.session_persistence,
        tls_container_ref: req.tls_container_ref,
        ca_tls_container_ref: req.ca_tls_container_ref,
        crl_container_ref: req.crl_container_ref,
        tls_enabled: tls,
        tls_ciphers,
        tls_versions,
        alpn_protocols,
        tags: req.tags.unwrap_or_default(),
        created_at: timestamp::now(),
        updated_at: None,
    };
    validate::pool(&pool)?;
    service.check_pool(lb, &pool)?;
    Ok(pool)
}
