//! TLS settings as NSX SSL profiles: Octavia's cipher string, TLS versions and ALPN protocols of
//! a TERMINATED_HTTPS listener (`LBClientSslProfile`) or of a pool that speaks TLS to its members
//! (`LBServerSslProfile`).
//!
//! - **Ciphers.** Octavia takes an OpenSSL cipher string; NSX takes a list of IANA cipher names
//!   (`cipher_group_label` `CUSTOM`). Each name of the string NSX offers is translated; names it
//!   does not offer (TLS 1.3 suites, DHE, ChaCha20, OpenSSL keywords such as `HIGH`) are left
//!   out. A string of which NSX offers none is refused.
//! - **Versions.** SSLv3 to TLSv1.2 as NSX's `protocols`; TLSv1.3, which NSX does not offer, is
//!   left out, and a list of nothing else is refused.
//! - **ALPN.** NSX virtual servers negotiate no ALPN, so clients speak HTTP/1.x. A list that
//!   offers HTTP/1.1 or HTTP/1.0 is served that way; one that offers only `h2` is refused.

use fulcrum_core::driver::DriverError;
use serde_json::{Value, json};

/// OpenSSL's names of the ciphers NSX offers, with NSX's (IANA) names.
const CIPHERS: [(&str, &str); 31] = [
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    ),
    ("ECDHE-RSA-AES256-SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
    (
        "ECDHE-ECDSA-AES256-SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    ),
    (
        "ECDH-ECDSA-AES256-SHA",
        "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA",
    ),
    ("ECDH-RSA-AES256-SHA", "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA"),
    ("AES256-SHA", "TLS_RSA_WITH_AES_256_CBC_SHA"),
    ("AES128-SHA", "TLS_RSA_WITH_AES_128_CBC_SHA"),
    ("DES-CBC3-SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
    ("ECDHE-RSA-AES128-SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
    (
        "ECDHE-RSA-AES128-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    ),
    (
        "ECDHE-RSA-AES256-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    ),
    ("AES128-SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA256"),
    ("AES128-GCM-SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256"),
    ("AES256-SHA256", "TLS_RSA_WITH_AES_256_CBC_SHA256"),
    ("AES256-GCM-SHA384", "TLS_RSA_WITH_AES_256_GCM_SHA384"),
    (
        "ECDHE-ECDSA-AES128-SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    ),
    (
        "ECDHE-ECDSA-AES128-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    ),
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-ECDSA-AES256-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    ),
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDH-ECDSA-AES128-SHA",
        "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA",
    ),
    (
        "ECDH-ECDSA-AES128-SHA256",
        "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256",
    ),
    (
        "ECDH-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDH-ECDSA-AES256-SHA384",
        "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384",
    ),
    (
        "ECDH-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384",
    ),
    ("ECDH-RSA-AES128-SHA", "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA"),
    (
        "ECDH-RSA-AES128-SHA256",
        "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256",
    ),
    (
        "ECDH-RSA-AES128-GCM-SHA256",
        "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDH-RSA-AES256-SHA384",
        "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384",
    ),
    (
        "ECDH-RSA-AES256-GCM-SHA384",
        "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384",
    ),
];

/// An SSL profile of `resource_type` for these settings; a setting NSX cannot honour is an
/// unsupported-option error.
pub fn ssl_profile(
    resource_type: &str,
    ciphers: Option<&str>,
    versions: Option<&[String]>,
    alpn: Option<&[String]>,
) -> Result<Value, DriverError> {
    check_alpn(alpn)?;
    let mut profile = json!({
        "resource_type": resource_type,
        "cipher_group_label": "BALANCED",
        "protocols": null,
    });
    if let Some(ciphers) = ciphers {
        profile["cipher_group_label"] = json!("CUSTOM");
        profile["ciphers"] = json!(nsx_ciphers(ciphers)?);
    }
    if let Some(versions) = versions {
        let protocols = nsx_protocols(versions)?;
        if !protocols.is_empty() {
            profile["protocols"] = json!(protocols);
        }
    }
    Ok(profile)
}

/// NSX's names of the ciphers of an OpenSSL cipher string that NSX offers, in its order.
fn nsx_ciphers(ciphers: &str) -> Result<Vec<&'static str>, DriverError> {
    let mut named = Vec::new();
    for name in ciphers.split([':', ',', ' ']).filter(|n| !n.is_empty()) {
        if let Some((_, nsx)) = CIPHERS.iter().find(|(openssl, _)| *openssl == name)
            && !named.contains(nsx)
        {
            named.push(*nsx);
        }
    }
    if named.is_empty() {
        return Err(DriverError::unsupported(format!(
            "NSX-T offers none of the ciphers {ciphers:?}; name at least one of its TLS 1.2 \
             ciphers, e.g. ECDHE-RSA-AES128-GCM-SHA256."
        )));
    }
    Ok(named)
}

/// NSX's names of the TLS versions it offers of `versions`; empty when none is asked for.
fn nsx_protocols(versions: &[String]) -> Result<Vec<&'static str>, DriverError> {
    let protocols: Vec<&str> = versions
        .iter()
        .filter_map(|v| match v.as_str() {
            "SSLv3" => Some("SSL_V3"),
            "TLSv1" => Some("TLS_V1"),
            "TLSv1.1" => Some("TLS_V1_1"),
            "TLSv1.2" => Some("TLS_V1_2"),
            _ => None,
        })
        .collect();
    if protocols.is_empty() && !versions.is_empty() {
        return Err(DriverError::unsupported(format!(
            "NSX-T cannot offer only the TLS versions {}: it offers SSLv3 to TLSv1.2.",
            versions.join(", ")
        )));
    }
    Ok(protocols)
}

/// Refuse an ALPN list that HTTP/1.x, all NSX serves, does not satisfy.
fn check_alpn(alpn: Option<&[String]>) -> Result<(), DriverError> {
    match alpn {
        Some(protocols)
            if !protocols.is_empty()
                && !protocols.iter().any(|p| p == "http/1.1" || p == "http/1.0") =>
        {
            Err(DriverError::unsupported(format!(
                "NSX-T virtual servers negotiate no ALPN and serve HTTP/1.x only, so they cannot \
                 offer only {}.",
                protocols.join(", ")
            )))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use fulcrum_core::driver::DriverErrorKind;
    use fulcrum_core::validate::{
        DEFAULT_TLS_CIPHERS, default_alpn_protocols, default_tls_versions,
    };

    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn octavias_defaults_become_the_tls_1_2_ciphers_nsx_offers() {
        let profile = ssl_profile(
            "LBClientSslProfile",
            Some(DEFAULT_TLS_CIPHERS),
            Some(&default_tls_versions()),
            Some(&default_alpn_protocols()),
        )
        .unwrap();
        assert_eq!(profile["cipher_group_label"], "CUSTOM");
        assert_eq!(
            profile["ciphers"],
            json!([
                "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            ])
        );
        assert_eq!(profile["protocols"], json!(["TLS_V1_2"]));
    }

    #[test]
    fn without_settings_the_profile_is_nsxs_balanced_group() {
        let profile = ssl_profile("LBServerSslProfile", None, None, None).unwrap();
        assert_eq!(
            profile,
            json!({"resource_type": "LBServerSslProfile", "cipher_group_label": "BALANCED",
                   "protocols": null})
        );
    }

    #[test]
    fn names_nsx_does_not_offer_are_left_out_and_none_at_all_is_refused() {
        let profile = ssl_profile(
            "LBClientSslProfile",
            Some("HIGH:!aNULL:AES128-SHA:AES128-SHA"),
            None,
            None,
        )
        .unwrap();
        assert_eq!(profile["ciphers"], json!(["TLS_RSA_WITH_AES_128_CBC_SHA"]));
        for refused in [
            "HIGH:!aNULL",
            "TLS_AES_128_GCM_SHA256:DHE-RSA-AES128-GCM-SHA256",
        ] {
            let e = ssl_profile("LBClientSslProfile", Some(refused), None, None).unwrap_err();
            assert_eq!(e.kind(), DriverErrorKind::Unsupported, "{refused}");
            assert!(e.message().contains("offers none of the ciphers"), "{e:?}");
        }
    }

    #[test]
    fn versions_and_alpn_nsx_cannot_serve_are_refused() {
        let e = ssl_profile(
            "LBClientSslProfile",
            None,
            Some(&strings(&["TLSv1.3"])),
            None,
        )
        .unwrap_err();
        assert_eq!(e.kind(), DriverErrorKind::Unsupported);
        let e = ssl_profile("LBClientSslProfile", None, None, Some(&strings(&["h2"]))).unwrap_err();
        assert_eq!(e.kind(), DriverErrorKind::Unsupported);
        assert!(e.message().contains("negotiate no ALPN"), "{e:?}");
        for served in [vec![], strings(&["h2", "http/1.1"]), strings(&["http/1.0"])] {
            assert!(
                ssl_profile("LBClientSslProfile", None, None, Some(&served)).is_ok(),
                "{served:?}"
            );
        }
    }
}
