//! Health monitors: how a pool's members are checked.

use fulcrum_core::Error;
use fulcrum_core::model::{
    HealthMonitor, HttpMethod, Kind, LoadBalancer, OperatingStatus, Pool, ProvisioningStatus,
};
use fulcrum_core::patch::Patch;
use fulcrum_core::{timestamp, validate};
use fulcrum_store::WorkAction;

use super::capabilities::Needs;
use super::write::Parent;
use super::{Service, new_id, not_null};
use crate::auth::RequestContext;
use crate::shapes::health_monitors::{CreateHealthMonitor, UpdateHealthMonitor};

impl Service {
    /// Create the health monitor of a pool.
    pub async fn create_monitor(
        &self,
        ctx: &RequestContext,
        req: CreateHealthMonitor,
    ) -> Result<HealthMonitor, Error> {
        let pool: Pool = self.visible(ctx, &req.pool_id).await?;
        let lb: LoadBalancer = self.visible(ctx, &pool.loadbalancer_id).await?;
        let h = build_monitor(self, &pool, &lb, req)?;
        let mut change = self.change().await?;
        if !change
            .tx()
            .children::<HealthMonitor>("pool_id", &pool.id)
            .await?
            .is_empty()
        {
            return Err(Error::Conflict(
                "This pool already has a health monitor".into(),
            ));
        }
        change.lock(Parent::Pool(&pool)).await?;
        change.insert(&h).await?;
        change.commit(&lb.id, WorkAction::Apply).await?;
        Ok(h)
    }

    /// Change a health monitor.
    pub async fn update_monitor(
        &self,
        ctx: &RequestContext,
        id: &str,
        req: UpdateHealthMonitor,
    ) -> Result<HealthMonitor, Error> {
        let mut h: HealthMonitor = self.visible(ctx, id).await?;
        let pool: Pool = self.visible(ctx, &h.pool_id).await?;
        apply_update(&mut h, req)?;
        validate::health_monitor(&h, pool.protocol)?;
        h.provisioning_status = ProvisioningStatus::PendingUpdate;
        h.updated_at = Some(timestamp::now());
        self.save(Parent::Pool(&pool), &h).await?;
        Ok(h)
    }

    /// Delete a health monitor.
    pub async fn delete_monitor(&self, ctx: &RequestContext, id: &str) -> Result<(), Error> {
        let h: HealthMonitor = self.visible(ctx, id).await?;
        let pool: Pool = self.visible(ctx, &h.pool_id).await?;
        self.remove(Parent::Pool(&pool), Kind::HealthMonitor, &h.id)
            .await
    }
}

/// A new health monitor of `pool` from a create request, with Octavia's defaults.
fn new_monitor(pool: &Pool, lb: &LoadBalancer, req: CreateHealthMonitor) -> HealthMonitor {
    let http = req.kind.is_http();
    HealthMonitor {
        id: new_id(),
        project_id: lb.project_id.clone(),
        loadbalancer_id: lb.id.clone(),
        pool_id: pool.id.clone(),
        name: req.name,
        kind: req.kind,
        delay: req.delay,
        timeout: req.timeout,
        max_retries: req.max_retries,
        max_retries_down: req.max_retries_down.unwrap_or(3),
        http_method: req.http_method.or(http.then_some(HttpMethod::Get)),
        url_path: req.url_path.or_else(|| http.then(|| "/".to_string())),
        expected_codes: req
            .expected_codes
            .or_else(|| http.then(|| "200".to_string())),
        http_version: req.http_version,
        domain_name: req.domain_name,
        admin_state_up: req.admin_state_up.unwrap_or(true),
        provisioning_status: ProvisioningStatus::PendingCreate,
        operating_status: OperatingStatus::Offline,
        tags: req.tags.unwrap_or_default(),
        created_at: timestamp::now(),
        updated_at: None,
    }
}

/// A new health monitor of `pool` from a create request, with Octavia's defaults, validated
/// (fields, pool protocol, provider capabilities). Shared by `POST /healthmonitors` and the load
/// balancer graph create; "one monitor per pool" is the caller's to check.
pub(crate) fn build_monitor(
    service: &Service,
    pool: &Pool,
    lb: &LoadBalancer,
    req: CreateHealthMonitor,
) -> Result<HealthMonitor, Error> {
    let h = new_monitor(pool, lb, req);
    validate::health_monitor(&h, pool.protocol)?;
    service.require(&lb.provider, &[Needs::HealthMonitor(h.kind)])?;
    Ok(h)
}

/// An optional field whose `null` resets it to a default.
fn apply_default<T>(patch: Patch<T>, slot: &mut Option<T>, default: impl FnOnce() -> T) {
    match patch {
        Patch::Absent => {}
        Patch::Null => *slot = Some(default()),
        Patch::Value(v) => *slot = Some(v),
    }
}

/// `http_method`, `url_path` and `expected_codes`: only HTTP/HTTPS monitors take them, and a PUT
/// naming any of them (even as `null`) for another type is refused.
fn apply_http_fields(h: &mut HealthMonitor, req: &mut UpdateHealthMonitor) -> Result<(), Error> {
    let http_method = std::mem::take(&mut req.http_method);
    let url_path = std::mem::take(&mut req.url_path);
    let expected_codes = std::mem::take(&mut req.expected_codes);
    if !h.kind.is_http() {
        for (field, present) in [
            ("http_method", http_method.is_present()),
            ("url_path", url_path.is_present()),
            ("expected_codes", expected_codes.is_present()),
        ] {
            if present {
                return Err(Error::invalid_option(
                    field,
                    &format!("health monitors of type {}", h.kind),
                ));
            }
        }
        return Ok(());
    }
    apply_default(http_method, &mut h.http_method, || HttpMethod::Get);
    apply_default(url_path, &mut h.url_path, || "/".to_string());
    apply_default(expected_codes, &mut h.expected_codes, || "200".to_string());
    Ok(())
}

/// Apply a PUT body to a stored monitor.
fn apply_update(h: &mut HealthMonitor, mut req: UpdateHealthMonitor) -> Result<(), Error> {
    apply_http_fields(h, &mut req)?;
    for (patch, field, slot) in [
        (req.delay, "delay", &mut h.delay),
        (req.timeout, "timeout", &mut h.timeout),
        (req.max_retries, "max_retries", &mut h.max_retries),
    ] {
        if let Some(v) = not_null(patch, field)? {
            *slot = v;
        }
    }
    req.max_retries_down.apply_to(&mut h.max_retries_down, || 3);
    req.name.apply_opt(&mut h.name);
    req.admin_state_up.apply_to(&mut h.admin_state_up, || false);
    req.tags.apply_to(&mut h.tags, Vec::new);
    req.http_version.apply_opt(&mut h.http_version);
    req.domain_name.apply_opt(&mut h.domain_name);
    Ok(())
}
