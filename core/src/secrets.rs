//! The certificate seam: where TLS material named by `*_container_ref` fields comes from.
//!
//! The built-in [`DirectoryCertificates`] serves PEM bundles an operator places in a directory;
//! a Barbican-backed store can stand behind the same trait.

use std::path::PathBuf;

/// Resolves a certificate container reference to PEM bytes (certificate, key and chain, or a CA
/// bundle or CRL, depending on the field that names it).
pub trait CertificateStore: Send + Sync {
    /// The PEM bytes of a reference, or why they cannot be had.
    fn fetch(&self, reference: &str) -> Result<Vec<u8>, String>;
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
}
