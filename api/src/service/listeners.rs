//! Listeners: a protocol and port on a load balancer's VIP.

use std::collections::BTreeMap;

use fulcrum_core::Error;
use fulcrum_core::model::{
    ClientAuthentication, Kind, Listener, ListenerProtocol, LoadBalancer, OperatingStatus, Pool,
    ProvisioningStatus, Stats,
};
use fulcrum_core::patch::Patch;
use fulcrum_core::{timestamp, validate};
use fulcrum_store::WorkAction;

use super::access::visible_in;
use super::capabilities::Needs;
use super::read::WithRelated;
use super::tls::{new_tls, patch_tls};
use super::write::Parent;
use super::{Service, new_id};
use crate::auth::RequestContext;
use crate::shapes::listeners::{CreateListener, UpdateListener};

impl Service {
    /// Create a listener on a load balancer.
    pub async fn create_listener(
        &self,
        ctx: &RequestContext,
        req: CreateListener,
    ) -> Result<Listener, Error> {
        let lb: LoadBalancer = self.visible(ctx, &req.loadbalancer_id).await?;
        let listener = build_listener(self, &lb, req)?;
        self.record_listener(ctx, &lb, &listener, true).await?;
        Ok(listener)
    }

    /// Change a listener; `null` resets a field to its default.
    pub async fn update_listener(
        &self,
        ctx: &RequestContext,
        id: &str,
        req: UpdateListener,
    ) -> Result<WithRelated<Listener>, Error> {
        let mut l: Listener = self.visible(ctx, id).await?;
        let lb: LoadBalancer = self.visible(ctx, &l.loadbalancer_id).await?;
        let d = &self.defaults;
        let tls = l.protocol == ListenerProtocol::TerminatedHttps;
        req.name.apply_opt(&mut l.name);
        req.description.apply_opt(&mut l.description);
        req.admin_state_up.apply_to(&mut l.admin_state_up, || false);
        req.connection_limit
            .apply_to(&mut l.connection_limit, || -1);
        req.default_tls_container_ref
            .apply_opt(&mut l.default_tls_container_ref);
        req.sni_container_refs
            .apply_to(&mut l.sni_container_refs, Vec::new);
        req.default_pool_id.apply_opt(&mut l.default_pool_id);
        req.insert_headers
            .apply_to(&mut l.insert_headers, BTreeMap::new);
        req.timeout_client_data
            .apply_to(&mut l.timeout_client_data, || d.timeout_client_data);
        req.timeout_member_connect
            .apply_to(&mut l.timeout_member_connect, || d.timeout_member_connect);
        req.timeout_member_data
            .apply_to(&mut l.timeout_member_data, || d.timeout_member_data);
        req.timeout_tcp_inspect
            .apply_to(&mut l.timeout_tcp_inspect, || d.timeout_tcp_inspect);
        req.tags.apply_to(&mut l.tags, Vec::new);
        req.client_ca_tls_container_ref
            .apply_opt(&mut l.client_ca_tls_container_ref);
        req.client_authentication
            .apply_to(&mut l.client_authentication, || ClientAuthentication::None);
        req.client_crl_container_ref
            .apply_opt(&mut l.client_crl_container_ref);
        if let Patch::Value(cidrs) = req.allowed_cidrs {
            l.allowed_cidrs = normalize_cidrs(cidrs)?;
        } else if req.allowed_cidrs == Patch::Null {
            l.allowed_cidrs.clear();
        }
        patch_tls(
            tls,
            (req.tls_ciphers, req.tls_versions, req.alpn_protocols),
            (
                &mut l.tls_ciphers,
                &mut l.tls_versions,
                &mut l.alpn_protocols,
            ),
        );
        req.hsts_max_age.apply_opt(&mut l.hsts_max_age);
        req.hsts_include_subdomains
            .apply_to(&mut l.hsts_include_subdomains, || false);
        req.hsts_preload.apply_to(&mut l.hsts_preload, || false);
        l.provisioning_status = ProvisioningStatus::PendingUpdate;
        l.updated_at = Some(timestamp::now());
        self.check_listener(&lb, &l)?;
        self.record_listener(ctx, &lb, &l, false).await?;
        self.with_related(l).await
    }

    /// Delete a listener with its L7 policies and their rules.
    pub async fn delete_listener(&self, ctx: &RequestContext, id: &str) -> Result<(), Error> {
        let l: Listener = self.visible(ctx, id).await?;
        self.remove(
            Parent::LoadBalancer(&l.loadbalancer_id),
            Kind::Listener,
            &l.id,
        )
        .await
    }

    /// Traffic counters of a listener.
    pub async fn listener_stats(&self, ctx: &RequestContext, id: &str) -> Result<Stats, Error> {
        let l: Listener = self.visible(ctx, id).await?;
        Ok(self.store.listener_stats(&l.id).await?)
    }

    /// Record a validated listener (new or changed) in one transaction: its default pool must be
    /// on its load balancer and speak a compatible protocol, and a new one needs a free port.
    async fn record_listener(
        &self,
        ctx: &RequestContext,
        lb: &LoadBalancer,
        listener: &Listener,
        is_new: bool,
    ) -> Result<(), Error> {
        let mut change = self.change().await?;
        if let Some(pool_id) = &listener.default_pool_id {
            let pool: Pool = visible_in(change.tx(), ctx, pool_id).await?;
            if pool.loadbalancer_id != listener.loadbalancer_id {
                return Err(Error::not_found("Pool", pool_id));
            }
            validate::listener_pool_protocols(listener.protocol, pool.protocol)?;
        }
        change.lock(Parent::LoadBalancer(&lb.id)).await?;
        if is_new {
            let siblings = change
                .tx()
                .children::<Listener>("loadbalancer_id", &lb.id)
                .await?;
            check_port_free(&siblings, listener)?;
            change.insert(listener).await?;
        } else {
            change.tx().update(listener).await?;
        }
        change.commit(&lb.id, WorkAction::Apply).await
    }

    /// Validate a listener as it would be stored, against its load balancer's VIP and provider.
    fn check_listener(&self, lb: &LoadBalancer, listener: &Listener) -> Result<(), Error> {
        let vip = validate::ip_address("vip_address", &lb.vip_address)?;
        validate::listener(listener, vip)?;
        self.require(&lb.provider, &[Needs::ListenerProtocol(listener.protocol)])?;
        self.check_certificates(
            listener
                .default_tls_container_ref
                .iter()
                .chain(&listener.sni_container_refs)
                .chain(&listener.client_ca_tls_container_ref)
                .chain(&listener.client_crl_container_ref),
        )
    }
}

/// A new listener of `lb` from a create request, with Octavia's defaults, validated (fields,
/// TLS and header rules, provider capabilities). Shared by `POST /listeners` and the load
/// balancer graph create; the checks against stored siblings are the caller's.
pub(crate) fn build_listener(
    service: &Service,
    lb: &LoadBalancer,
    req: CreateListener,
) -> Result<Listener, Error> {
    let d = &service.defaults;
    let tls = req.protocol == ListenerProtocol::TerminatedHttps;
    let (tls_ciphers, tls_versions, alpn_protocols) =
        new_tls(tls, (req.tls_ciphers, req.tls_versions, req.alpn_protocols));
    let listener = Listener {
        id: new_id(),
        project_id: lb.project_id.clone(),
        loadbalancer_id: lb.id.clone(),
        name: req.name,
        description: req.description,
        admin_state_up: req.admin_state_up.unwrap_or(true),
        provisioning_status: ProvisioningStatus::PendingCreate,
        operating_status: OperatingStatus::Offline,
        protocol: req.protocol,
        protocol_port: req.protocol_port,
        connection_limit: req.connection_limit.unwrap_or(-1),
        default_tls_container_ref: req.default_tls_container_ref,
        sni_container_refs: req.sni_container_refs.unwrap_or_default(),
        default_pool_id: req.default_pool_id,
        insert_headers: req.insert_headers.unwrap_or_default(),
        timeout_client_data: req.timeout_client_data.unwrap_or(d.timeout_client_data),
        timeout_member_connect: req
            .timeout_member_connect
            .unwrap_or(d.timeout_member_connect),
        timeout_member_data: req.timeout_member_data.unwrap_or(d.timeout_member_data),
        timeout_tcp_inspect: req.timeout_tcp_inspect.unwrap_or(d.timeout_tcp_inspect),
        tags: req.tags.unwrap_or_default(),
        client_ca_tls_container_ref: req.client_ca_tls_container_ref,
        client_authentication: req
            .client_authentication
            .unwrap_or(ClientAuthentication::None),
        client_crl_container_ref: req.client_crl_container_ref,
        allowed_cidrs: normalize_cidrs(req.allowed_cidrs.unwrap_or_default())?,
        tls_ciphers,
        tls_versions,
        alpn_protocols,
        hsts_max_age: req.hsts_max_age,
        hsts_include_subdomains: req.hsts_include_subdomains.unwrap_or(false),
        hsts_preload: req.hsts_preload.unwrap_or(false),
        created_at: timestamp::now(),
        updated_at: None,
    };
    service.check_listener(lb, &listener)?;
    Ok(listener)
}

/// Octavia's 409 when another listener of the load balancer already uses the port on the same
/// transport protocol.
pub(crate) fn check_port_free<'a>(
    siblings: impl IntoIterator<Item = &'a Listener>,
    listener: &Listener,
) -> Result<(), Error> {
    match siblings.into_iter().find(|o| {
        o.id != listener.id
            && o.protocol_port == listener.protocol_port
            && o.protocol.transport() == listener.protocol.transport()
    }) {
        Some(other) => Err(Error::Conflict(format!(
            "Another Listener on this Load Balancer is already using protocol {} and protocol_port {}",
            other.protocol, other.protocol_port
        ))),
        None => Ok(()),
    }
}

fn normalize_cidrs(cidrs: Vec<String>) -> Result<Vec<String>, Error> {
    let mut out: Vec<String> = Vec::new();
    for c in cidrs {
        let net = validate::cidr("allowed_cidrs", &c)?.to_string();
        if !out.contains(&net) {
            out.push(net);
        }
    }
    Ok(out)
}
