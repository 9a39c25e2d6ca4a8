//! The mapping: an Octavia load balancer tree as the NSX Policy objects that realize it.
//!
//! | Octavia | NSX Policy |
//! |---|---|
//! | load balancer | `LBService` on its Tier-1 (`connectivity_path`: the configured one, or its VIP router's), `size` from the flavor's `size` or the configured default; or one service shared by the load balancers of the Tier-1 ([`shared`]) |
//! | listener | `LBVirtualServer` on the VIP and port, with its own app profile: `LBHttpProfile` (HTTP, TERMINATED_HTTPS), `LBFastTcpProfile` (TCP, HTTPS passed through), `LBFastUdpProfile` (UDP); `connection_limit` as `max_concurrent_connections` |
//! | TERMINATED_HTTPS | the certificates under `/infra/certificates`, an `LBClientSslProfile` with the listener's ciphers and TLS versions ([`tls`]) and the client SSL binding (default certificate, SNI certificates) |
//! | pool | `LBPool` (ROUND_ROBIN → WEIGHTED_ROUND_ROBIN, LEAST_CONNECTIONS → WEIGHTED_LEAST_CONNECTION, SOURCE_IP → IP_HASH; SNAT auto-map), members inline with weight, backup and admin state; TLS to members through an `LBServerSslProfile` (the pool's ciphers and TLS versions, [`tls`]) bound on the virtual servers using it |
//! | session persistence | `LBSourceIpPersistenceProfile` or `LBCookiePersistenceProfile`, on the virtual servers whose default pool it is |
//! | health monitor | `LBHttpMonitorProfile`, `LBHttpsMonitorProfile`, `LBTcpMonitorProfile`, `LBIcmpMonitorProfile` as the pool's active monitor |
//! | L7 policies and rules | `LBRule`s of the virtual server in position order: all rules of a policy must match; `LBSelectPoolAction` with the pool's path, `LBHttpRedirectAction`, `LBHttpRejectAction` |
//!
//! NSX's PATCH merges the fields it is sent into what it holds, so a field the mapping sets only
//! for some trees (a default pool, a persistence profile, a TLS binding) is sent as `null` in the
//! others: the manager then drops what an earlier apply set.
//!
//! Ids are the kit's backend names of the Octavia objects (`fulcrum-pool-<id>`), and every
//! object carries the kit's ownership tags, so what the manager holds is traced back to its
//! load balancer. What NSX cannot express is refused with an unsupported-option error before
//! anything is stored ([`render`] is also the driver's validation).

use std::collections::{BTreeMap, BTreeSet};

use fulcrum_core::driver::{DriverError, LoadBalancerGraph};
use fulcrum_core::model::{
    ClientAuthentication, HealthMonitor, HealthMonitorType, HttpMethod, Kind, LbAlgorithm,
    Listener, ListenerProtocol, Pool, PoolProtocol, SessionPersistenceType,
};
use serde_json::{Value, json};

use super::collections::{
    APP_PROFILES, CERTIFICATES, CLIENT_SSL_PROFILES, Collection, MONITOR_PROFILES,
    PERSISTENCE_PROFILES, POOLS, SERVER_SSL_PROFILES, SERVICES, VIRTUAL_SERVERS,
};
use super::config::SIZES;
use super::{l7, shared, tls};
use crate::kit::tags::{Ownership, backend_name};
use crate::kit::tree::ResolvedCertificates;

/// The flavor metadata key that chooses the service size.
pub const FLAVOR_SIZE: &str = "size";

/// What the mapping needs besides the tree.
#[derive(Debug, Clone)]
pub struct Placement<'a> {
    /// The Tier-1 the service attaches to.
    pub tier1_path: String,
    /// The size when the flavor names none.
    pub default_size: &'a str,
    /// Whether the load balancers of the Tier-1 share one service (see [`shared`]).
    pub share_lb_service: bool,
}

impl Placement<'_> {
    /// The id of the service a load balancer's virtual servers attach to: its own, or the one
    /// shared on the Tier-1.
    pub fn service_id(&self, load_balancer_id: &str) -> String {
        if self.share_lb_service {
            shared::service_id(self.tier1_path.rsplit('/').next().unwrap_or_default())
        } else {
            service_id(load_balancer_id)
        }
    }

    /// The path of [`Self::service_id`].
    pub fn service_path(&self, load_balancer_id: &str) -> String {
        SERVICES.path(&self.service_id(load_balancer_id))
    }
}

/// The Policy objects of one load balancer, by path, each body with its `resource_type`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Desired {
    /// Objects by path.
    pub objects: BTreeMap<String, Value>,
    /// The paths sent without the `_revision` the manager holds: a shared service joined as it
    /// is, which load balancers joining at once must not conflict on (see [`shared::join`]).
    pub unguarded: BTreeSet<String>,
}

/// The id of the `LBService` of a load balancer.
pub fn service_id(load_balancer_id: &str) -> String {
    backend_name(Kind::LoadBalancer, load_balancer_id)
}

/// The path of a listener's virtual server.
pub fn virtual_server_path(listener_id: &str) -> String {
    VIRTUAL_SERVERS.path(&backend_name(Kind::Listener, listener_id))
}

/// The path of a pool's `LBPool`.
pub fn pool_path(pool_id: &str) -> String {
    POOLS.path(&backend_name(Kind::Pool, pool_id))
}

fn unsupported(message: String) -> DriverError {
    DriverError::unsupported(message)
}

/// Map a whole tree. `certificates` holds the TLS material of its references; without it (when
/// only validating) certificate bodies are left empty.
pub fn render(
    graph: &LoadBalancerGraph,
    placement: &Placement<'_>,
    certificates: Option<&ResolvedCertificates>,
) -> Result<Desired, DriverError> {
    let owner = Ownership::of(graph);
    let mut out = Renderer {
        graph,
        owner,
        certificates,
        service_path: placement.service_path(&graph.load_balancer.id),
        shares_service: placement.share_lb_service,
        desired: Desired::default(),
    };
    out.service(placement)?;
    for pool in graph.live_pools() {
        out.pool(pool)?;
    }
    for listener in graph.live_listeners() {
        out.listener(listener)?;
    }
    Ok(out.desired)
}

struct Renderer<'a> {
    graph: &'a LoadBalancerGraph,
    owner: Ownership,
    certificates: Option<&'a ResolvedCertificates>,
    service_path: String,
    shares_service: bool,
    desired: Desired,
}

impl Renderer<'_> {
    /// Add an object: id, display name and ownership tags filled in.
    fn add(
        &mut self,
        collection: Collection,
        kind: Kind,
        octavia_id: &str,
        id: String,
        name: Option<&str>,
        mut body: Value,
    ) -> String {
        let path = collection.path(&id);
        let display_name = name.filter(|n| !n.is_empty()).unwrap_or(&id).to_string();
        body["id"] = json!(id);
        body["display_name"] = json!(display_name);
        body["tags"] = json!(self.owner.object_tags(kind, octavia_id));
        self.desired.objects.insert(path.clone(), body);
        path
    }

    fn service(&mut self, placement: &Placement<'_>) -> Result<(), DriverError> {
        let lb = &self.graph.load_balancer;
        let size = match self.graph.flavor_metadata.get(FLAVOR_SIZE) {
            Some(size) => size_of(size)?,
            None => placement.default_size.to_string(),
        };
        let body = json!({
            "resource_type": "LBService",
            "connectivity_path": placement.tier1_path.as_str(),
            "size": size,
            "enabled": lb.admin_state_up,
        });
        if placement.share_lb_service {
            // Without virtual servers nothing uses the shared service (see `shared`).
            if self.graph.live_listeners().is_empty() {
                return Ok(());
            }
            let id = placement.service_id(&lb.id);
            let tier1 = placement.tier1_path.rsplit('/').next().unwrap_or_default();
            let mut body = body;
            body["id"] = json!(id);
            body["display_name"] = json!(id);
            body["tags"] = json!(shared::tags(tier1));
            // One load balancer's admin state is its own virtual servers', not the others'.
            body["enabled"] = json!(true);
            self.desired.objects.insert(SERVICES.path(&id), body);
        } else {
            self.add(
                SERVICES,
                Kind::LoadBalancer,
                &lb.id,
                service_id(&lb.id),
                lb.name.as_deref(),
                body,
            );
        }
        Ok(())
    }

    fn pool(&mut self, pool: &Pool) -> Result<(), DriverError> {
        let algorithm = match pool.lb_algorithm {
            LbAlgorithm::RoundRobin => "WEIGHTED_ROUND_ROBIN",
            LbAlgorithm::LeastConnections => "WEIGHTED_LEAST_CONNECTION",
            LbAlgorithm::SourceIp => "IP_HASH",
            LbAlgorithm::SourceIpPort => {
                return Err(unsupported(
                    "NSX-T has no SOURCE_IP_PORT balancing algorithm.".into(),
                ));
            }
        };
        if matches!(
            pool.protocol,
            PoolProtocol::Proxy | PoolProtocol::ProxyV2 | PoolProtocol::Sctp
        ) {
            return Err(unsupported(format!(
                "NSX-T pools cannot speak {} to members.",
                pool.protocol
            )));
        }
        if pool.tls_container_ref.is_some()
            || pool.ca_tls_container_ref.is_some()
            || pool.crl_container_ref.is_some()
        {
            return Err(unsupported(
                "The NSX-T provider does not present client certificates to members or verify \
                 them against a CA or CRL."
                    .into(),
            ));
        }
        let mut members = Vec::new();
        for member in self.graph.live_members_of(&pool.id) {
            if member.monitor_address.is_some() || member.monitor_port.is_some() {
                return Err(unsupported(
                    "NSX-T checks members' health on their own address and port: \
                     monitor_address and monitor_port are not supported."
                        .into(),
                ));
            }
            let admin_state = if !pool.admin_state_up || !member.admin_state_up {
                "DISABLED"
            } else if member.weight == 0 {
                "GRACEFUL_DISABLED"
            } else {
                "ENABLED"
            };
            members.push(json!({
                "display_name": member.name.as_deref().filter(|n| !n.is_empty()).unwrap_or(&member.id),
                "ip_address": member.address,
                "port": member.protocol_port.to_string(),
                "weight": member.weight.clamp(1, 256),
                "backup_member": member.backup,
                "admin_state": admin_state,
            }));
        }
        let mut body = json!({
            "resource_type": "LBPool",
            "algorithm": algorithm,
            "snat_translation": {"type": "LBSnatAutoMap"},
            "members": members,
        });
        if let Some(monitor) = self.graph.live_health_monitor_of(&pool.id) {
            let path = self.monitor(monitor, pool)?;
            body["active_monitor_paths"] = if monitor.admin_state_up {
                json!([path])
            } else {
                json!([])
            };
        } else {
            body["active_monitor_paths"] = json!([]);
        }
        if let Some(persistence) = &pool.session_persistence {
            let id = backend_name(Kind::Pool, &pool.id);
            let profile = match persistence.kind {
                SessionPersistenceType::SourceIp => json!({
                    "resource_type": "LBSourceIpPersistenceProfile",
                    "timeout": persistence.persistence_timeout.unwrap_or(300).max(1),
                }),
                SessionPersistenceType::HttpCookie => json!({
                    "resource_type": "LBCookiePersistenceProfile",
                    "cookie_mode": "INSERT",
                    "cookie_name": "NSXLB",
                }),
                SessionPersistenceType::AppCookie => json!({
                    "resource_type": "LBCookiePersistenceProfile",
                    "cookie_mode": "PREFIX",
                    "cookie_name": persistence.cookie_name.clone().unwrap_or_default(),
                }),
            };
            self.add(
                PERSISTENCE_PROFILES,
                Kind::Pool,
                &pool.id,
                id,
                pool.name.as_deref(),
                profile,
            );
        }
        if pool.tls_enabled {
            let profile = tls::ssl_profile(
                "LBServerSslProfile",
                pool.tls_ciphers.as_deref(),
                pool.tls_versions.as_deref(),
                pool.alpn_protocols.as_deref(),
            )?;
            self.add(
                SERVER_SSL_PROFILES,
                Kind::Pool,
                &pool.id,
                backend_name(Kind::Pool, &pool.id),
                pool.name.as_deref(),
                profile,
            );
        }
        self.add(
            POOLS,
            Kind::Pool,
            &pool.id,
            backend_name(Kind::Pool, &pool.id),
            pool.name.as_deref(),
            body,
        );
        Ok(())
    }

    fn monitor(&mut self, monitor: &HealthMonitor, pool: &Pool) -> Result<String, DriverError> {
        let resource_type = match monitor.kind {
            HealthMonitorType::Http => "LBHttpMonitorProfile",
            HealthMonitorType::Https => "LBHttpsMonitorProfile",
            HealthMonitorType::Tcp => "LBTcpMonitorProfile",
            HealthMonitorType::Ping => "LBIcmpMonitorProfile",
            other => {
                return Err(unsupported(format!(
                    "NSX-T has no {other} health monitor for a {} pool.",
                    pool.protocol
                )));
            }
        };
        let mut body = json!({
            "resource_type": resource_type,
            "interval": monitor.delay.max(1),
            "timeout": monitor.timeout.max(1),
            "rise_count": monitor.max_retries.max(1),
            "fall_count": monitor.max_retries_down.max(1),
        });
        if monitor.kind.is_http() {
            let method = monitor.http_method.unwrap_or(HttpMethod::Get);
            if !matches!(
                method,
                HttpMethod::Get
                    | HttpMethod::Head
                    | HttpMethod::Post
                    | HttpMethod::Put
                    | HttpMethod::Options
            ) {
                return Err(unsupported(format!(
                    "NSX-T health monitors cannot send {method} requests."
                )));
            }
            body["request_method"] = json!(method.as_str());
            body["request_url"] = json!(monitor.url_path.as_deref().unwrap_or("/"));
            body["request_version"] = json!(match monitor.http_version {
                Some(v) if v < 1.05 => "HTTP_VERSION_1_0",
                _ => "HTTP_VERSION_1_1",
            });
            body["response_status_codes"] = json!(status_codes(
                monitor.expected_codes.as_deref().unwrap_or("200")
            )?);
            body["request_headers"] = match &monitor.domain_name {
                Some(host) => json!([{"header_name": "Host", "header_value": host}]),
                None => json!([]),
            };
        }
        let path = self.add(
            MONITOR_PROFILES,
            Kind::HealthMonitor,
            &monitor.id,
            backend_name(Kind::HealthMonitor, &monitor.id),
            monitor.name.as_deref(),
            body,
        );
        Ok(path)
    }

    fn listener(&mut self, listener: &Listener) -> Result<(), DriverError> {
        let id = backend_name(Kind::Listener, &listener.id);
        let profile = self.app_profile(listener)?;
        let profile_path = self.add(
            APP_PROFILES,
            Kind::Listener,
            &listener.id,
            id.clone(),
            listener.name.as_deref(),
            profile,
        );
        let lb = &self.graph.load_balancer;
        let mut body = json!({
            "resource_type": "LBVirtualServer",
            "lb_service_path": self.service_path,
            "ip_address": lb.vip_address,
            "ports": [listener.protocol_port.to_string()],
            "application_profile_path": profile_path,
            "enabled": listener.admin_state_up
                && (self.graph.load_balancer.admin_state_up || !self.shares_service),
            "pool_path": null,
            "lb_persistence_profile_path": null,
            "max_concurrent_connections": null,
            "client_ssl_profile_binding": null,
            "server_ssl_profile_binding": null,
            "rules": [],
        });
        if listener.connection_limit > 0 {
            body["max_concurrent_connections"] = json!(listener.connection_limit);
        }
        if let Some(pool) = listener
            .default_pool_id
            .as_deref()
            .and_then(|id| self.graph.live_pool(id))
        {
            body["pool_path"] = json!(pool_path(&pool.id));
            let http = matches!(
                listener.protocol,
                ListenerProtocol::Http | ListenerProtocol::TerminatedHttps
            );
            let cookie = pool
                .session_persistence
                .as_ref()
                .is_some_and(|p| p.kind != SessionPersistenceType::SourceIp);
            if !http && (cookie || pool.tls_enabled) {
                return Err(unsupported(format!(
                    "NSX-T keeps cookie persistence and TLS towards members only on HTTP virtual \
                     servers, not on a {} listener.",
                    listener.protocol
                )));
            }
            if pool.session_persistence.is_some() {
                body["lb_persistence_profile_path"] =
                    json!(PERSISTENCE_PROFILES.path(&backend_name(Kind::Pool, &pool.id)));
            }
            if pool.tls_enabled {
                body["server_ssl_profile_binding"] = json!({
                    "ssl_profile_path": SERVER_SSL_PROFILES.path(&backend_name(Kind::Pool, &pool.id)),
                });
            }
        }
        if listener.protocol == ListenerProtocol::TerminatedHttps {
            body["client_ssl_profile_binding"] = self.client_ssl(listener)?;
        }
        body["rules"] = json!(l7::rules(self.graph, listener)?);
        self.add(
            VIRTUAL_SERVERS,
            Kind::Listener,
            &listener.id,
            id,
            listener.name.as_deref(),
            body,
        );
        Ok(())
    }

    fn app_profile(&self, listener: &Listener) -> Result<Value, DriverError> {
        if !listener.allowed_cidrs.is_empty() {
            return Err(unsupported(
                "The NSX-T provider does not restrict listeners to allowed_cidrs.".into(),
            ));
        }
        if listener.hsts_max_age.is_some() {
            return Err(unsupported(
                "NSX-T virtual servers cannot send HSTS headers.".into(),
            ));
        }
        if listener.client_authentication != ClientAuthentication::None
            || listener.client_ca_tls_container_ref.is_some()
            || listener.client_crl_container_ref.is_some()
        {
            return Err(unsupported(
                "The NSX-T provider does not authenticate clients by certificate.".into(),
            ));
        }
        let idle = seconds(listener.timeout_client_data);
        let profile = match listener.protocol {
            ListenerProtocol::Http | ListenerProtocol::TerminatedHttps => {
                let mut profile = json!({
                    "resource_type": "LBHttpProfile",
                    "idle_timeout": idle.min(5400),
                    "response_timeout": seconds(listener.timeout_member_data),
                    "x_forwarded_for": null,
                });
                for (header, value) in &listener.insert_headers {
                    let on = matches!(value.to_ascii_lowercase().as_str(), "true" | "1" | "yes");
                    match header.as_str() {
                        "X-Forwarded-For" if on => profile["x_forwarded_for"] = json!("INSERT"),
                        "X-Forwarded-For" => {}
                        other => {
                            return Err(unsupported(format!(
                                "NSX-T cannot insert the header {other}: only X-Forwarded-For."
                            )));
                        }
                    }
                }
                profile
            }
            ListenerProtocol::Tcp | ListenerProtocol::Https => {
                json!({"resource_type": "LBFastTcpProfile", "idle_timeout": idle})
            }
            ListenerProtocol::Udp => {
                json!({"resource_type": "LBFastUdpProfile", "idle_timeout": idle})
            }
            other => {
                return Err(unsupported(format!(
                    "NSX-T virtual servers do not serve {other}."
                )));
            }
        };
        if !listener.insert_headers.is_empty()
            && !matches!(
                listener.protocol,
                ListenerProtocol::Http | ListenerProtocol::TerminatedHttps
            )
        {
            return Err(unsupported(format!(
                "Headers cannot be inserted on a {} listener.",
                listener.protocol
            )));
        }
        Ok(profile)
    }

    fn client_ssl(&mut self, listener: &Listener) -> Result<Value, DriverError> {
        let Some(default_ref) = listener.default_tls_container_ref.as_deref() else {
            return Err(DriverError::rejected(
                "A TERMINATED_HTTPS listener needs a default_tls_container_ref.",
            ));
        };
        let id = backend_name(Kind::Listener, &listener.id);
        let default_path = self.certificate(listener, format!("{id}-default"), default_ref)?;
        let mut sni = Vec::new();
        for (i, reference) in listener.sni_container_refs.iter().enumerate() {
            sni.push(self.certificate(listener, format!("{id}-sni-{i}"), reference)?);
        }
        let profile = tls::ssl_profile(
            "LBClientSslProfile",
            listener.tls_ciphers.as_deref(),
            listener.tls_versions.as_deref(),
            listener.alpn_protocols.as_deref(),
        )?;
        let profile_path = self.add(
            CLIENT_SSL_PROFILES,
            Kind::Listener,
            &listener.id,
            id,
            listener.name.as_deref(),
            profile,
        );
        Ok(json!({
            "ssl_profile_path": profile_path,
            "default_certificate_path": default_path,
            "sni_certificate_paths": sni,
        }))
    }

    fn certificate(
        &mut self,
        listener: &Listener,
        id: String,
        reference: &str,
    ) -> Result<String, DriverError> {
        let (chain, key) = match self.certificates {
            Some(found) => {
                let pem = found.get(reference).ok_or_else(|| {
                    DriverError::not_found(format!(
                        "Could not retrieve certificate: ['{reference}']"
                    ))
                })?;
                split_pem(pem)
            }
            None => (String::new(), String::new()),
        };
        let key = if key.is_empty() {
            Value::Null
        } else {
            json!(key)
        };
        let body =
            json!({"resource_type": "TlsCertificate", "pem_encoded": chain, "private_key": key});
        Ok(self.add(CERTIFICATES, Kind::Listener, &listener.id, id, None, body))
    }
}

/// Milliseconds as whole seconds, at least one.
fn seconds(milliseconds: i64) -> i64 {
    ((milliseconds + 999) / 1000).max(1)
}

/// The flavor's size, checked.
pub fn size_of(value: &Value) -> Result<String, DriverError> {
    match value.as_str() {
        Some(size) if SIZES.contains(&size) => Ok(size.to_string()),
        _ => Err(DriverError::invalid_configuration(format!(
            "The flavor's {FLAVOR_SIZE} must be one of {}, not {value}.",
            SIZES.join(", ")
        ))),
    }
}

/// Octavia's `expected_codes` (`200`, `200,202`, `200-204`) as a list of codes.
fn status_codes(expected: &str) -> Result<Vec<i64>, DriverError> {
    let invalid = || DriverError::rejected(format!("expected_codes {expected:?} is not valid."));
    let mut codes = Vec::new();
    for part in expected.split(',').map(str::trim) {
        match part.split_once('-') {
            Some((from, to)) => {
                let from: i64 = from.trim().parse().map_err(|_| invalid())?;
                let to: i64 = to.trim().parse().map_err(|_| invalid())?;
                if to < from || to - from > 100 {
                    return Err(invalid());
                }
                codes.extend(from..=to);
            }
            None => codes.push(part.parse().map_err(|_| invalid())?),
        }
    }
    Ok(codes)
}

/// A PEM bundle as NSX takes it: the certificate chain, and the private key apart.
fn split_pem(pem: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(pem);
    let mut chain = String::new();
    let mut key = String::new();
    let mut block = String::new();
    for line in text.lines() {
        block.push_str(line.trim_end());
        block.push('\n');
        if line.starts_with("-----END ") {
            if line.contains("PRIVATE KEY") {
                key.push_str(&block);
            } else {
                chain.push_str(&block);
            }
            block.clear();
        }
    }
    (chain, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_codes_expand() {
        assert_eq!(status_codes("200").unwrap(), [200]);
        assert_eq!(status_codes("200, 202").unwrap(), [200, 202]);
        assert_eq!(status_codes("200-203").unwrap(), [200, 201, 202, 203]);
        assert!(status_codes("2xx").is_err());
    }

    #[test]
    fn a_bundle_splits_into_chain_and_key() {
        let pem = b"-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n\
                    -----BEGIN PRIVATE KEY-----\nBBB\n-----END PRIVATE KEY-----\n";
        let (chain, key) = split_pem(pem);
        assert_eq!(
            chain,
            "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n"
        );
        assert_eq!(
            key,
            "-----BEGIN PRIVATE KEY-----\nBBB\n-----END PRIVATE KEY-----\n"
        );
    }
}
