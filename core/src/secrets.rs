//! The certificate seam: where TLS material named by `*_container_ref` fields comes from.
//!
//! Two stores are built in, chosen with `[certificates] backend`: [`DirectoryCertificates`]
//! (`directory`) serves PEM bundles an operator places in a directory, and [`NoopCertificates`]
//! (`noop`) accepts any reference, as Octavia's noop certificate manager does. A Barbican-backed
//! store can stand behind the same trait.
//!
//! The API asks [`CertificateStore::fetch`] whether each reference of a new or changed object
//! resolves (Octavia's 400 "Could not retrieve certificate" when one does not); drivers fetch the
//! bytes when they apply a tree.

use std::path::PathBuf;

/// Resolves a certificate container reference to PEM bytes (certificate, key and chain, or a CA
/// bundle or CRL, depending on the field that names it).
pub trait CertificateStore: Send + Sync {
    /// The PEM bytes of a reference, or why they cannot be had. A store that holds no material
    /// answers with [`PLACEHOLDER`].
    fn fetch(&self, reference: &str) -> Result<Vec<u8>, String>;
}

/// What [`NoopCertificates`] hands out for every reference: not PEM, and no TLS material. A
/// driver that does not read certificates (the noop provider) never looks at it; one that does
/// recognizes it with [`is_placeholder`] and fails the apply with [`PLACEHOLDER_REASON`].
pub const PLACEHOLDER: &[u8] = b"fulcrum noop certificate store: no TLS material\n";

/// Why a placeholder cannot serve as TLS material, for a driver's error.
pub const PLACEHOLDER_REASON: &str = "the certificate store is \"noop\" ([certificates] backend), \
     which accepts every reference but holds no TLS material";

/// Whether `bytes` are the [`PLACEHOLDER`] of a store without material.
pub fn is_placeholder(bytes: &[u8]) -> bool {
    bytes == PLACEHOLDER
}

/// Accepts every reference and holds no material: each fetch is [`PLACEHOLDER`]. Octavia's noop
/// certificate manager (`octavia/certificates/manager/noop.py`) likewise answers every reference,
/// so listeners and pools with any `*_container_ref` are accepted; only drivers that need the
/// material (HAProxy) fail, when they apply.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopCertificates;

impl CertificateStore for NoopCertificates {
    fn fetch(&self, _reference: &str) -> Result<Vec<u8>, String> {
        Ok(PLACEHOLDER.to_vec())
    }
}

/// PEM bundles in a directory: a reference names the file `<dir>/<name>.pem`, where `<name>` is
/// the reference itself or, for URL-style references (`https://.../containers/<name>`), its last
/// path segment.
#[derive(Debug, Clone)]
pub struct DirectoryCertificates {
    dir: PathBuf,
}

impl DirectoryCertificates {
    /// Serve bundles from `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DirectoryCertificates { dir: dir.into() }
    }

    /// The file a reference names, if the name is acceptable.
    pub fn path_of(&self, reference: &str) -> Option<PathBuf> {
        let name = reference.trim_end_matches('/').rsplit('/').next()?;
        let name = name.strip_suffix(".pem").unwrap_or(name);
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && !name.starts_with('.');
        valid.then(|| self.dir.join(format!("{name}.pem")))
    }
}

impl CertificateStore for DirectoryCertificates {
    fn fetch(&self, reference: &str) -> Result<Vec<u8>, String> {
        let path = self
            .path_of(reference)
            .ok_or_else(|| format!("Could not retrieve certificate: ['{reference}']"))?;
        std::fs::read(&path).map_err(|_| format!("Could not retrieve certificate: ['{reference}']"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_map_to_files_in_the_directory() {
        let store = DirectoryCertificates::new("/certs");
        assert_eq!(
            store.path_of("web").unwrap(),
            PathBuf::from("/certs/web.pem")
        );
        assert_eq!(
            store
                .path_of("https://kms.example/v1/containers/web-2")
                .unwrap(),
            PathBuf::from("/certs/web-2.pem")
        );
        assert!(store.path_of("..").is_none());
        assert!(store.path_of("a b").is_none());
        assert!(store.path_of("").is_none());
    }

    #[test]
    fn the_noop_store_answers_every_reference_with_the_placeholder() {
        for reference in ["web", "https://kms.example/v1/containers/x", "", "a b"] {
            let got = NoopCertificates.fetch(reference).unwrap();
            assert!(is_placeholder(&got), "{reference}");
        }
        assert!(!is_placeholder(b"-----BEGIN CERTIFICATE-----"));
    }
}
