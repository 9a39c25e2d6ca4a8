//! Octavia's validation rules, on the objects a request would store. The API merges a request
//! with defaults (create) or with the stored object (update) and runs these before anything is
//! written; every failure carries the message Octavia gives.

mod field;
mod health_monitor;
mod l7;
mod listener;
mod member;
mod pool;
mod text;

pub use field::{cidr, ip_address, max_len, range, strings_max_len};
pub use health_monitor::health_monitor;
pub use l7::{MAX_POSITION, l7policy, l7rule};
pub use listener::{listener, listener_pool_protocols};
pub use member::member;
pub use pool::pool;
pub use text::{body_text, storable};

/// TLS versions Octavia knows, oldest first.
pub const TLS_VERSIONS: [&str; 5] = ["SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

/// ALPN protocol ids Octavia accepts.
pub const ALPN_PROTOCOLS: [&str; 3] = ["h2", "http/1.1", "http/1.0"];

/// Default TLS versions of TLS listeners and pools.
pub fn default_tls_versions() -> Vec<String> {
    vec!["TLSv1.2".into(), "TLSv1.3".into()]
}

/// Default ALPN protocols of TLS listeners and pools.
pub fn default_alpn_protocols() -> Vec<String> {
    ALPN_PROTOCOLS.iter().map(|s| s.to_string()).collect()
}

/// Default cipher string of TLS listeners and pools (OWASP "Suite B"-style modern ciphers).
pub const DEFAULT_TLS_CIPHERS: &str = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";

use crate::Error;

/// Check a TLS version list: not empty, every entry known.
pub(crate) fn tls_versions(versions: &[String]) -> Result<(), Error> {
    if versions.is_empty() {
        return Err(Error::validation(
            "Empty TLS version list. Either specify at least one TLS version or remove this parameter to use the default.",
        ));
    }
    let unknown: Vec<&str> = versions
        .iter()
        .filter(|v| !TLS_VERSIONS.contains(&v.as_str()))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(Error::validation(format!(
            "Invalid TLS versions: {}",
            unknown.join(", ")
        )));
    }
    Ok(())
}

/// Check an ALPN protocol list: not empty, every entry known.
pub(crate) fn alpn_protocols(protocols: &[String]) -> Result<(), Error> {
    if protocols.is_empty() {
        return Err(Error::validation(
            "Empty ALPN protocol list. Either specify at least one ALPN protocol or remove this parameter to use the default.",
        ));
    }
    if let Some(bad) = protocols
        .iter()
        .find(|p| !ALPN_PROTOCOLS.contains(&p.as_str()))
    {
        return Err(Error::invalid_field(
            "alpn_protocols",
            bad,
            "Value should be a valid ALPN protocol ID",
        ));
    }
    Ok(())
}

/// Check a cipher string's characters.
pub(crate) fn tls_ciphers(ciphers: &str) -> Result<(), Error> {
    if ciphers.len() > 2048 {
        return Err(Error::invalid_field(
            "tls_ciphers",
            ciphers,
            "Value should have a maximum character requirement of 2048",
        ));
    }
    let ok = ciphers
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-+!:@=_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::validation(
            "Invalid characters in cipher string. Only alphanumeric, -, +, !, :, @, =, _, and . are allowed.",
        ))
    }
}
