//! What drivers, and only drivers, need from a load balancer tree.
//!
//! The questions the API asks too (live objects, their order, effective L7 policies, which
//! listeners use a pool, the certificate references in use) are methods of
//! [`LoadBalancerGraph`]. What is here goes further than the API ever does: fetching the TLS
//! material those references name, all of it before a driver changes anything on the backend,
//! so that a missing certificate fails the whole apply up front and names every missing
//! reference at once.

use std::collections::BTreeMap;

use fulcrum_core::driver::{DriverError, LoadBalancerGraph};
use fulcrum_core::secrets::{self, CertificateStore};

/// The PEM bytes of every certificate reference a tree uses, by reference.
pub type ResolvedCertificates = BTreeMap<String, Vec<u8>>;

/// Stand-ins for the TLS material of every certificate reference of the tree, for showing what a
/// driver would send (`Driver::render`) without printing private keys: each is a certificate and
/// a key block whose contents say what they stand for.
pub fn placeholder_certificates(graph: &LoadBalancerGraph) -> ResolvedCertificates {
    graph
        .certificate_references()
        .into_iter()
        .map(|reference| {
            let pem = format!(
                "-----BEGIN CERTIFICATE-----\nthe certificate of {reference}, not shown\n\
                 -----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nthe key of \
                 {reference}, not shown\n-----END PRIVATE KEY-----\n"
            );
            (reference.to_string(), pem.into_bytes())
        })
        .collect()
}

/// The references a certificate store could not resolve, each with the store's reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(|(r, why)| format!("{r}: {why}")).collect::<Vec<_>>().join("; "))]
pub struct MissingCertificates(pub Vec<(String, String)>);

/// Fetch every certificate reference of the tree ([`LoadBalancerGraph::certificate_references`])
/// from `store`. Fails with [not found](DriverError::not_found) naming every reference that
/// cannot be had, in Octavia's words ("Could not retrieve certificate: ['a', 'b']"); the store's
/// reasons are the error's source. A store without material (the noop store's
/// [placeholders](secrets::PLACEHOLDER)) is the driver's [configuration
/// error](DriverError::invalid_configuration), naming the references and why.
pub fn resolve_certificates(
    store: &dyn CertificateStore,
    graph: &LoadBalancerGraph,
) -> Result<ResolvedCertificates, DriverError> {
    let mut found = ResolvedCertificates::new();
    let mut missing = Vec::new();
    let mut placeholders = Vec::new();
    for reference in graph.certificate_references() {
        match store.fetch(reference) {
            Ok(pem) if secrets::is_placeholder(&pem) => {
                placeholders.push(format!("'{reference}'"));
            }
            Ok(pem) => {
                found.insert(reference.to_string(), pem);
            }
            Err(why) => missing.push((reference.to_string(), why)),
        }
    }
    if !placeholders.is_empty() {
        return Err(DriverError::invalid_configuration(format!(
            "No TLS material for certificate references [{}]: {}.",
            placeholders.join(", "),
            secrets::PLACEHOLDER_REASON
        )));
    }
    if missing.is_empty() {
        return Ok(found);
    }
    let names: Vec<String> = missing.iter().map(|(r, _)| format!("'{r}'")).collect();
    Err(DriverError::not_found(format!(
        "Could not retrieve certificate: [{}]",
        names.join(", ")
    ))
    .with_source(MissingCertificates(missing)))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::error::Error as _;

    use fulcrum_core::driver::{DriverErrorKind, fixtures};
    use fulcrum_core::model::{LbAlgorithm, Listener, ListenerProtocol, Pool, PoolProtocol};

    use super::*;

    /// Certificates held in memory; anything else is "not in the store".
    struct Store(HashMap<&'static str, &'static str>);

    impl CertificateStore for Store {
        fn fetch(&self, reference: &str) -> Result<Vec<u8>, String> {
            self.0
                .get(reference)
                .map(|pem| pem.as_bytes().to_vec())
                .ok_or_else(|| format!("{reference} is not in the store"))
        }
    }

    /// A TLS listener with an SNI certificate in front of a pool that verifies its members.
    fn graph() -> LoadBalancerGraph {
        let mut graph = fixtures::graph(fixtures::load_balancer("lb1"));
        graph.listeners.push(Listener {
            default_tls_container_ref: Some("tls".into()),
            sni_container_refs: vec!["sni".into()],
            default_pool_id: Some("p1".into()),
            ..fixtures::listener("l1", "lb1", ListenerProtocol::TerminatedHttps, 443)
        });
        graph.pools.push(Pool {
            ca_tls_container_ref: Some("ca".into()),
            tls_enabled: true,
            ..fixtures::pool("p1", "lb1", PoolProtocol::Http, LbAlgorithm::RoundRobin)
        });
        graph
    }

    #[test]
    fn every_reference_is_fetched() {
        let store = Store(HashMap::from([("tls", "T"), ("sni", "S"), ("ca", "C")]));
        let resolved = resolve_certificates(&store, &graph()).unwrap();
        let got: Vec<(&str, &[u8])> = resolved
            .iter()
            .map(|(r, pem)| (r.as_str(), pem.as_slice()))
            .collect();
        assert_eq!(
            got,
            [("ca", &b"C"[..]), ("sni", &b"S"[..]), ("tls", &b"T"[..])]
        );
    }

    #[test]
    fn every_missing_reference_is_named() {
        let store = Store(HashMap::from([("sni", "S")]));
        let e = resolve_certificates(&store, &graph()).unwrap_err();
        assert_eq!(e.kind(), DriverErrorKind::NotFound);
        assert_eq!(e.message(), "Could not retrieve certificate: ['ca', 'tls']");
        assert_eq!(
            e.source().unwrap().to_string(),
            "ca: ca is not in the store; tls: tls is not in the store"
        );
    }

    #[test]
    fn placeholders_of_a_store_without_material_are_a_configuration_error() {
        let e = resolve_certificates(&secrets::NoopCertificates, &graph()).unwrap_err();
        assert_eq!(e.kind(), DriverErrorKind::InvalidConfiguration);
        assert_eq!(
            e.message(),
            "No TLS material for certificate references ['ca', 'sni', 'tls']: the certificate \
             store is \"noop\" ([certificates] backend), which accepts every reference but holds \
             no TLS material."
        );
    }
}
