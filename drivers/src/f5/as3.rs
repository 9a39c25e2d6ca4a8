//! A load balancer as an AS3 Application: the mapping, and nothing else (no I/O).
//!
//! | Octavia | AS3 |
//! |---|---|
//! | load balancer | an `Application` named `fulcrum-lb-<id>`, remark `fulcrum lb=<id>` |
//! | listener HTTP | `Service_HTTP` |
//! | listener TERMINATED_HTTPS | `Service_HTTPS` with a `TLS_Server` and a `Certificate` |
//! | listener HTTPS (pass-through), TCP | `Service_TCP` |
//! | listener UDP | `Service_UDP` |
//! | connection limit, admin state, one allowed CIDR | `maxConnections`, `enable`, `[vip, cidr]` in `virtualAddresses` |
//! | pool | `Pool`: round robin or least connections, `ratio-…` when weights differ |
//! | member | `serverAddresses` + `servicePort`, `ratio` from weight, backup members in priority group 0 (others 1, `minimumMembersActive` 1), admin state down `offline`, weight 0 `disable` |
//! | health monitor | `Monitor` (`http`, `https`, `tcp`, `udp`, `icmp`) |
//! | session persistence | `source-address`, `cookie`, or a `Persist` cookie-hash object for APP_COOKIE |
//! | L7 policies of an HTTP or TERMINATED_HTTPS listener | an `Endpoint_Policy` (see [`super::l7`]) |
//!
//! Not mapped, and refused before they are stored ([`check`]): more than one allowed CIDR,
//! client certificate authentication, SNI certificates, inserted headers, TLS towards members.
//! Listener timeouts, TLS versions, ciphers, ALPN and HSTS keep the device's defaults.
//!
//! Every object is named after its Octavia id (`fulcrum-listener-<id>`, …), so what the device
//! holds traces back to Octavia.

use fulcrum_core::driver::{DriverError, LoadBalancerGraph};
use fulcrum_core::model::{
    HealthMonitor, HealthMonitorType, Kind, LbAlgorithm, Listener, ListenerProtocol, Pool,
    SessionPersistenceType,
};
use serde_json::{Map, Value, json};

use super::l7;
use crate::kit::{Ownership, ResolvedCertificates, backend_name};

/// The AS3 schema version declarations are written for.
pub const SCHEMA_VERSION: &str = "3.56.0";

/// The Application name of a load balancer.
pub fn application_name(load_balancer_id: &str) -> String {
    backend_name(Kind::LoadBalancer, load_balancer_id)
}

/// The AS3 request that declares `tenant` (a `Tenant` object) on its own.
pub fn request(tenant_name: &str, tenant: Value) -> Value {
    let mut adc = json!({
        "class": "ADC",
        "schemaVersion": SCHEMA_VERSION,
        "id": format!("fulcrum-{tenant_name}"),
        "controls": { "class": "Controls" },
    });
    adc[tenant_name] = tenant;
    json!({ "class": "AS3", "action": "deploy", "persist": true, "declaration": adc })
}

/// What the driver can map; anything else is refused before it is stored.
pub fn check(graph: &LoadBalancerGraph) -> Result<(), DriverError> {
    let refuse = |what: &str, id: &str, option: &str| {
        Err(DriverError::unsupported(format!(
            "{what} {id}: the F5 provider does not support {option}."
        )))
    };
    for listener in graph.live_listeners() {
        if listener.allowed_cidrs.len() > 1 {
            return refuse("Listener", &listener.id, "more than one allowed CIDR");
        }
        if listener.client_ca_tls_container_ref.is_some() {
            return refuse(
                "Listener",
                &listener.id,
                "client certificate authentication",
            );
        }
        if !listener.sni_container_refs.is_empty() {
            return refuse("Listener", &listener.id, "SNI certificates");
        }
        if !listener.insert_headers.is_empty() {
            return refuse("Listener", &listener.id, "inserted headers");
        }
    }
    for pool in graph.live_pools() {
        if pool.tls_enabled {
            return refuse("Pool", &pool.id, "TLS towards members");
        }
    }
    l7::check(graph)
}

/// The Application of a load balancer; `certificates` holds the PEM of every reference the
/// graph names.
pub fn application(
    graph: &LoadBalancerGraph,
    certificates: &ResolvedCertificates,
) -> Result<Value, DriverError> {
    check(graph)?;
    let mut app = Map::new();
    app.insert("class".into(), json!("Application"));
    app.insert("remark".into(), json!(Ownership::of(graph).remark()));
    for listener in graph.live_listeners() {
        service(graph, listener, certificates, &mut app)?;
    }
    for pool in graph.live_pools() {
        let name = backend_name(Kind::Pool, &pool.id);
        app.insert(name, pool_object(graph, pool));
        if let Some(monitor) = graph
            .live_health_monitor_of(&pool.id)
            .filter(|m| m.admin_state_up)
        {
            app.insert(
                backend_name(Kind::HealthMonitor, &monitor.id),
                monitor_object(monitor),
            );
        }
        if let Some(persistence) = &pool.session_persistence
            && persistence.kind == SessionPersistenceType::AppCookie
        {
            app.insert(
                persistence_name(pool),
                json!({
                    "class": "Persist",
                    "persistenceMethod": "cookie",
                    "cookieMethod": "hash",
                    "cookieName": persistence.cookie_name.clone().unwrap_or_else(|| "JSESSIONID".into()),
                }),
            );
        }
    }
    Ok(Value::Object(app))
}

fn persistence_name(pool: &Pool) -> String {
    format!("{}-persist", backend_name(Kind::Pool, &pool.id))
}

fn service(
    graph: &LoadBalancerGraph,
    listener: &Listener,
    certificates: &ResolvedCertificates,
    app: &mut Map<String, Value>,
) -> Result<(), DriverError> {
    let name = backend_name(Kind::Listener, &listener.id);
    let class = match listener.protocol {
        ListenerProtocol::Http => "Service_HTTP",
        ListenerProtocol::TerminatedHttps => "Service_HTTPS",
        ListenerProtocol::Https | ListenerProtocol::Tcp => "Service_TCP",
        ListenerProtocol::Udp => "Service_UDP",
        other => {
            return Err(DriverError::unsupported(format!(
                "Listener {}: the F5 provider does not serve {other}.",
                listener.id
            )));
        }
    };
    let vip = graph.load_balancer.vip_address.clone();
    let address = match listener.allowed_cidrs.first() {
        Some(cidr) => json!([vip, cidr]),
        None => json!(vip),
    };
    let mut service = json!({
        "class": class,
        "virtualAddresses": [address],
        "virtualPort": listener.protocol_port,
        "enable": listener.admin_state_up,
        "remark": format!("fulcrum listener={}", listener.id),
    });
    if listener.connection_limit > 0 {
        service["maxConnections"] = json!(listener.connection_limit);
    }
    if let Some(pool) = listener
        .default_pool_id
        .as_deref()
        .and_then(|id| graph.live_pool(id))
    {
        service["pool"] = json!(backend_name(Kind::Pool, &pool.id));
        if let Some(persistence) = &pool.session_persistence {
            service["persistenceMethods"] = match persistence.kind {
                SessionPersistenceType::SourceIp => json!(["source-address"]),
                SessionPersistenceType::HttpCookie => json!(["cookie"]),
                SessionPersistenceType::AppCookie => json!([{ "use": persistence_name(pool) }]),
            };
        }
    }
    if matches!(
        listener.protocol,
        ListenerProtocol::Http | ListenerProtocol::TerminatedHttps
    ) && let Some(policy) = l7::endpoint_policy(graph, listener)
    {
        let policy_name = l7::policy_name(listener);
        service["policyEndpoint"] = json!(policy_name);
        app.insert(policy_name, policy);
    }
    if listener.protocol == ListenerProtocol::TerminatedHttps {
        service["redirect80"] = json!(false);
        let reference = listener
            .default_tls_container_ref
            .as_deref()
            .ok_or_else(|| {
                DriverError::rejected(format!(
                    "Listener {}: TERMINATED_HTTPS needs a default TLS container.",
                    listener.id
                ))
            })?;
        let pem = certificates.get(reference).ok_or_else(|| {
            DriverError::not_found(format!("Could not retrieve certificate: ['{reference}']"))
        })?;
        let (certificate, key) = split_pem(pem).ok_or_else(|| {
            DriverError::rejected(format!(
                "The TLS container '{reference}' does not hold a certificate and a private key in PEM."
            ))
        })?;
        let tls = format!("{name}-tls");
        let cert = format!("{name}-cert");
        service["serverTLS"] = json!(tls);
        app.insert(
            tls,
            json!({ "class": "TLS_Server", "certificates": [{ "certificate": cert }] }),
        );
        app.insert(
            cert,
            json!({ "class": "Certificate", "certificate": certificate, "privateKey": key }),
        );
    }
    app.insert(name, service);
    Ok(())
}

fn pool_object(graph: &LoadBalancerGraph, pool: &Pool) -> Value {
    let members = graph.live_members_of(&pool.id);
    let weighted = members.iter().any(|m| m.weight != 1);
    let mode = match (pool.lb_algorithm, weighted) {
        (LbAlgorithm::LeastConnections, false) => "least-connections-member",
        (LbAlgorithm::LeastConnections, true) => "ratio-least-connections-member",
        (_, false) => "round-robin",
        (_, true) => "ratio-member",
    };
    let has_backup = members.iter().any(|m| m.backup);
    let members: Vec<Value> = members
        .iter()
        .map(|member| {
            let state = if !member.admin_state_up {
                "offline"
            } else if member.weight == 0 {
                "disable"
            } else {
                "enable"
            };
            let mut object = json!({
                "servicePort": member.protocol_port,
                "serverAddresses": [member.address],
                "ratio": member.weight.max(1),
                "adminState": state,
                "shareNodes": true,
                "remark": format!("fulcrum member={}", member.id),
            });
            if has_backup {
                object["priorityGroup"] = json!(if member.backup { 0 } else { 1 });
            }
            object
        })
        .collect();
    let mut object = json!({
        "class": "Pool",
        "loadBalancingMode": mode,
        "members": members,
        "remark": format!("fulcrum pool={}", pool.id),
    });
    if has_backup {
        object["minimumMembersActive"] = json!(1);
    }
    if let Some(monitor) = graph
        .live_health_monitor_of(&pool.id)
        .filter(|m| m.admin_state_up)
    {
        object["monitors"] = json!([{ "use": backend_name(Kind::HealthMonitor, &monitor.id) }]);
    }
    object
}

fn monitor_object(monitor: &HealthMonitor) -> Value {
    let monitor_type = match monitor.kind {
        HealthMonitorType::Http => "http",
        HealthMonitorType::Https => "https",
        HealthMonitorType::UdpConnect => "udp",
        HealthMonitorType::Ping => "icmp",
        _ => "tcp",
    };
    let interval = monitor.delay.max(1);
    let mut object = json!({
        "class": "Monitor",
        "monitorType": monitor_type,
        "interval": interval,
        "timeout": interval * monitor.max_retries_down.max(1) + 1,
        "remark": format!("fulcrum monitor={}", monitor.id),
    });
    if matches!(
        monitor.kind,
        HealthMonitorType::Http | HealthMonitorType::Https
    ) {
        let method = monitor
            .http_method
            .map_or("GET".to_owned(), |m| m.to_string());
        let path = monitor.url_path.as_deref().unwrap_or("/");
        object["send"] = json!(format!("{method} {path} HTTP/1.0\r\n\r\n"));
        object["receive"] = json!(receive_pattern(
            monitor.expected_codes.as_deref().unwrap_or("200")
        ));
    }
    object
}

/// Octavia's expected codes (`200`, `200,202`, `200-204`) as the status line a monitor
/// expects.
fn receive_pattern(codes: &str) -> String {
    let codes: Vec<String> = codes
        .split(',')
        .flat_map(|part| match part.trim().split_once('-') {
            Some((low, high)) => match (low.parse::<u16>(), high.parse::<u16>()) {
                (Ok(low), Ok(high)) if low <= high => (low..=high).map(|c| c.to_string()).collect(),
                _ => vec![part.trim().to_owned()],
            },
            None => vec![part.trim().to_owned()],
        })
        .collect();
    format!("HTTP/1\\.[01] ({})", codes.join("|"))
}

/// The certificate (with its chain) and the private key of a PEM bundle.
fn split_pem(pem: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(pem).ok()?;
    let mut certificates = String::new();
    let mut key = None;
    let mut current: Option<String> = None;
    for line in text.lines().map(str::trim_end) {
        if line.starts_with("-----BEGIN ") {
            current = Some(String::new());
        }
        if let Some(block) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
        if line.starts_with("-----END ")
            && let Some(block) = current.take()
        {
            if line.contains("PRIVATE KEY") {
                key = Some(block);
            } else if line.contains("CERTIFICATE") {
                certificates.push_str(&block);
            }
        }
    }
    (!certificates.is_empty()).then_some(())?;
    Some((certificates, key?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_codes_become_a_status_line_pattern() {
        assert_eq!(receive_pattern("200"), "HTTP/1\\.[01] (200)");
        assert_eq!(
            receive_pattern("200-202,204"),
            "HTTP/1\\.[01] (200|201|202|204)"
        );
    }

    #[test]
    fn a_bundle_splits_into_certificates_and_key() {
        let pem = b"-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nBBB\n-----END PRIVATE KEY-----\n";
        let (certificate, key) = split_pem(pem).unwrap();
        assert!(certificate.contains("AAA") && !certificate.contains("BBB"));
        assert!(key.contains("BBB"));
        assert!(
            split_pem(b"-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n").is_none()
        );
    }
}
