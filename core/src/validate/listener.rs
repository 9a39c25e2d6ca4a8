//! Listener rules (Octavia's listener controller).

use std::net::IpAddr;

use super::{alpn_protocols, cidr, max_len, range, strings_max_len, tls_ciphers, tls_versions};
use crate::Error;
use crate::model::{ClientAuthentication, Listener, ListenerProtocol, PoolProtocol};

/// Headers HTTP listeners may insert.
pub const HTTP_HEADERS: [&str; 6] = [
    "X-Forwarded-For",
    "X-Forwarded-Port",
    "X-Forwarded-Proto",
    "X-Forwarded-IP",
    "X-Client-IP",
    "X-Real-IP",
];

/// Client-certificate headers TERMINATED_HTTPS listeners may insert.
pub const SSL_HEADERS: [&str; 8] = [
    "X-SSL-Client-Verify",
    "X-SSL-Client-Has-Cert",
    "X-SSL-Client-DN",
    "X-SSL-Client-CN",
    "X-SSL-Issuer",
    "X-SSL-Client-SHA1",
    "X-SSL-Client-Not-Before",
    "X-SSL-Client-Not-After",
];

/// Longest timeout Octavia accepts, ms (24 days).
pub const MAX_TIMEOUT: i64 = 24 * 24 * 60 * 60 * 1000;

fn python_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("'{i}'")).collect();
    format!("[{}]", quoted.join(", "))
}

/// Check a listener as it would be stored, against the VIP address of its load balancer.
pub fn listener(l: &Listener, vip: IpAddr) -> Result<(), Error> {
    max_len("name", l.name.as_deref(), 255)?;
    max_len("description", l.description.as_deref(), 255)?;
    strings_max_len("tags", &l.tags, 255)?;
    range("protocol_port", l.protocol_port, 1, 65535)?;
    range(
        "connection_limit",
        l.connection_limit,
        -1,
        i64::from(i32::MAX),
    )?;
    for (field, value) in [
        ("timeout_client_data", l.timeout_client_data),
        ("timeout_member_connect", l.timeout_member_connect),
        ("timeout_member_data", l.timeout_member_data),
        ("timeout_tcp_inspect", l.timeout_tcp_inspect),
    ] {
        range(field, value, 0, MAX_TIMEOUT)?;
    }
    insert_headers(l)?;
    tls_references(l)?;
    if let Some(ciphers) = &l.tls_ciphers {
        tls_ciphers(ciphers)?;
    }
    if l.protocol == ListenerProtocol::TerminatedHttps {
        if let Some(v) = &l.tls_versions {
            tls_versions(v)?;
        }
        if let Some(a) = &l.alpn_protocols {
            alpn_protocols(a)?;
        }
    }
    for allowed in &l.allowed_cidrs {
        let net = cidr("allowed_cidrs", allowed)?;
        if net.addr().is_ipv4() != vip.is_ipv4() {
            return Err(Error::validation(format!(
                "CIDR {allowed} IP version incompatible with all VIPs ['{vip}'] IP version."
            )));
        }
    }
    hsts(l)
}

fn insert_headers(l: &Listener) -> Result<(), Error> {
    if l.insert_headers.is_empty() {
        return Ok(());
    }
    if !matches!(
        l.protocol,
        ListenerProtocol::Http | ListenerProtocol::TerminatedHttps
    ) {
        return Err(Error::invalid_option(
            "insert-headers",
            &format!("a {} protocol listener.", l.protocol),
        ));
    }
    let keys: Vec<&str> = l.insert_headers.keys().map(String::as_str).collect();
    let unknown: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| !HTTP_HEADERS.contains(k) && !SSL_HEADERS.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(Error::invalid_option(
            python_list(&unknown),
            "insert_headers",
        ));
    }
    let ssl: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| SSL_HEADERS.contains(k))
        .collect();
    if !ssl.is_empty() && l.protocol != ListenerProtocol::TerminatedHttps {
        return Err(Error::invalid_option(
            python_list(&ssl),
            &format!("{} protocol listener.", l.protocol),
        ));
    }
    for value in l.insert_headers.values() {
        max_len("insert_headers", Some(value), 255)?;
    }
    Ok(())
}

fn tls_references(l: &Listener) -> Result<(), Error> {
    let has_cert = l.default_tls_container_ref.is_some() || !l.sni_container_refs.is_empty();
    let has_any_ref = has_cert || l.client_ca_tls_container_ref.is_some();
    if matches!(l.protocol, ListenerProtocol::Udp | ListenerProtocol::Sctp) && has_any_ref {
        return Err(Error::validation(format!(
            "{} protocol listener does not support TLS.",
            l.protocol
        )));
    }
    if has_any_ref
        && !matches!(
            l.protocol,
            ListenerProtocol::TerminatedHttps | ListenerProtocol::Prometheus
        )
    {
        return Err(Error::validation(format!(
            "Certificate container references are not allowed on {} protocol listeners.",
            l.protocol
        )));
    }
    if l.client_ca_tls_container_ref.is_some() && !has_cert {
        return Err(Error::validation(
            "An SNI or default certificate container reference must be provided with a client CA container reference.",
        ));
    }
    if l.protocol == ListenerProtocol::TerminatedHttps && !has_cert {
        return Err(Error::validation(
            "An SNI or default certificate container reference must be provided for TERMINATED_HTTPS protocol listeners.",
        ));
    }
    if l.client_authentication != ClientAuthentication::None
        && l.client_ca_tls_container_ref.is_none()
    {
        return Err(Error::validation(format!(
            "Client authentication setting {} requires a client CA container reference.",
            l.client_authentication
        )));
    }
    if l.client_crl_container_ref.is_some() && l.client_ca_tls_container_ref.is_none() {
        return Err(Error::validation(
            "A client authentication CA reference is required to specify a client authentication revocation list.",
        ));
    }
    Ok(())
}

fn hsts(l: &Listener) -> Result<(), Error> {
    if let Some(age) = l.hsts_max_age {
        range("hsts_max_age", age, 0, i64::MAX)?;
        if l.protocol != ListenerProtocol::TerminatedHttps {
            return Err(Error::validation(
                "The HSTS feature can only be used for listeners using the TERMINATED_HTTPS protocol.",
            ));
        }
    } else if l.hsts_include_subdomains || l.hsts_preload {
        return Err(Error::validation(
            "HSTS configuration options hsts_include_subdomains and hsts_preload only make sense if hsts_max_age is set as well.",
        ));
    }
    Ok(())
}

/// Whether a listener of one protocol may send traffic to a pool of another.
pub fn listener_pool_protocols(
    listener: ListenerProtocol,
    pool: PoolProtocol,
) -> Result<(), Error> {
    if listener == ListenerProtocol::Prometheus {
        return Err(Error::validation(
            "Protocol PROMETHEUS listeners cannot have child objects.",
        ));
    }
    if listener.allowed_pool_protocols().contains(&pool) {
        Ok(())
    } else {
        Err(Error::validation(format!(
            "The pool protocol '{pool}' is invalid while the listener protocol is '{listener}'."
        )))
    }
}
