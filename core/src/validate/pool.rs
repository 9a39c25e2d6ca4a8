//! Pool rules (Octavia's pool controller).

use super::{alpn_protocols, max_len, strings_max_len, tls_ciphers, tls_versions};
use crate::Error;
use crate::model::{Pool, SessionPersistenceType};

/// Check a pool as it would be stored.
pub fn pool(p: &Pool) -> Result<(), Error> {
    max_len("name", p.name.as_deref(), 255)?;
    max_len("description", p.description.as_deref(), 255)?;
    strings_max_len("tags", &p.tags, 255)?;
    if let Some(sp) = &p.session_persistence {
        if p.protocol.is_udp_like() {
            if sp.cookie_name.is_some() {
                return Err(Error::validation(
                    "Cookie names are not supported for UDP/SCTP pools.",
                ));
            }
            if sp.kind != SessionPersistenceType::SourceIp {
                return Err(Error::validation(format!(
                    "Session persistence of type {} is not supported for UDP/SCTP protocol pools.",
                    sp.kind
                )));
            }
        } else if sp.persistence_timeout.is_some() || sp.persistence_granularity.is_some() {
            return Err(Error::validation(
                "persistence_timeout and persistence_granularity is only for UDP and SCTP protocol pools.",
            ));
        }
        match (&sp.kind, &sp.cookie_name) {
            (SessionPersistenceType::AppCookie, None) => {
                return Err(Error::validation(
                    "Field \"cookie_name\" must be specified when using the \"APP_COOKIE\" session persistence type.",
                ));
            }
            (SessionPersistenceType::AppCookie, Some(name)) => {
                max_len("cookie_name", Some(name), 255)?;
                let bad = name.is_empty()
                    || name
                        .chars()
                        .any(|c| c.is_control() || c == ' ' || "\"(),/:;<=>?@[\\]{}".contains(c));
                if bad {
                    return Err(Error::validation("Supplied \"cookie_name\" is invalid."));
                }
            }
            (_, Some(_)) => {
                return Err(Error::validation(
                    "Field \"cookie_name\" can only be specified with session persistence of type \"APP_COOKIE\".",
                ));
            }
            (_, None) => {}
        }
    }
    if p.crl_container_ref.is_some() && p.ca_tls_container_ref.is_none() {
        return Err(Error::validation(
            "A CA certificate reference is required to specify a revocation list.",
        ));
    }
    if let Some(ciphers) = &p.tls_ciphers {
        tls_ciphers(ciphers)?;
    }
    if p.tls_enabled {
        if let Some(v) = &p.tls_versions {
            tls_versions(v)?;
        }
        if let Some(a) = &p.alpn_protocols {
            alpn_protocols(a)?;
        }
    }
    Ok(())
}
