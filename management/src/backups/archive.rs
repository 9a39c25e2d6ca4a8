//! Where backups are kept: the [`Archive`] seam (a directory here; object storage would be
//! another implementation) and [`DirectoryArchive`]. Each backup is stored with the SHA-256 of
//! its content, written atomically (a temporary file, synced, then renamed), and checked against
//! that checksum whenever it is read back, so a corrupted or truncated file is never restored.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use sha2::{Digest, Sha256};

/// Why the archive failed.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The key cannot name a stored object (empty, absolute, or with `..`).
    #[error("invalid backup key {0:?}")]
    InvalidKey(String),
    /// Nothing is stored under the key.
    #[error("backup {0} is missing from the archive")]
    Missing(String),
    /// The stored content does not match its checksum.
    #[error("backup {key} is corrupt: its SHA-256 is {found}, {expected} was recorded")]
    Corrupt {
        /// The backup's key.
        key: String,
        /// The checksum recorded when it was stored.
        expected: String,
        /// The checksum of what is stored now.
        found: String,
    },
    /// Reading or writing failed.
    #[error("archive I/O on {key}: {source}")]
    Io {
        /// The backup's key.
        key: String,
        /// The error.
        source: std::io::Error,
    },
}

/// What was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The key it is stored under.
    pub key: String,
    /// The SHA-256 of its content, in hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

/// A place to keep backups.
#[async_trait]
pub trait Archive: Send + Sync + std::fmt::Debug {
    /// Store `bytes` under `key` (`device/name`), replacing nothing: a key is written once.
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<Stored, ArchiveError>;

    /// The content under `key`, checked against `sha256`.
    async fn get(&self, key: &str, sha256: &str) -> Result<Vec<u8>, ArchiveError>;

    /// Remove what is under `key` (nothing to do when it is gone already).
    async fn delete(&self, key: &str) -> Result<(), ArchiveError>;
}

/// The SHA-256 of `bytes`, in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Backups as files under a directory.
#[derive(Debug, Clone)]
pub struct DirectoryArchive {
    root: PathBuf,
}

impl DirectoryArchive {
    /// An archive under `root` (created when first written).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirectoryArchive { root: root.into() }
    }

    fn path_of(&self, key: &str) -> Result<PathBuf, ArchiveError> {
        let relative = Path::new(key);
        let plain = relative
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if key.is_empty() || !plain {
            return Err(ArchiveError::InvalidKey(key.to_owned()));
        }
        Ok(self.root.join(relative))
    }
}

fn io(key: &str) -> impl FnOnce(std::io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Io {
        key: key.to_owned(),
        source,
    }
}

#[async_trait]
impl Archive for DirectoryArchive {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<Stored, ArchiveError> {
        let path = self.path_of(key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io(key))?;
        }
        let partial = path.with_extension("partial");
        let mut file = tokio::fs::File::create(&partial).await.map_err(io(key))?;
        tokio::io::AsyncWriteExt::write_all(&mut file, bytes)
            .await
            .map_err(io(key))?;
        file.sync_all().await.map_err(io(key))?;
        drop(file);
        if tokio::fs::try_exists(&path).await.map_err(io(key))? {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(ArchiveError::Io {
                key: key.to_owned(),
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "a backup is already stored under this key",
                ),
            });
        }
        tokio::fs::rename(&partial, &path).await.map_err(io(key))?;
        Ok(Stored {
            key: key.to_owned(),
            sha256: sha256_hex(bytes),
            size: bytes.len() as u64,
        })
    }

    async fn get(&self, key: &str, sha256: &str) -> Result<Vec<u8>, ArchiveError> {
        let path = self.path_of(key)?;
        let bytes = match tokio::fs::read(&path).await {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ArchiveError::Missing(key.to_owned()));
            }
            Err(e) => return Err(io(key)(e)),
        };
        let found = sha256_hex(&bytes);
        if found != sha256 {
            return Err(ArchiveError::Corrupt {
                key: key.to_owned(),
                expected: sha256.to_owned(),
                found,
            });
        }
        Ok(bytes)
    }

    async fn delete(&self, key: &str) -> Result<(), ArchiveError> {
        let path = self.path_of(key)?;
        match tokio::fs::remove_file(&path).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(key)(e)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stored_backup_reads_back_only_while_intact() {
        let dir = tempfile::tempdir().unwrap();
        let archive = DirectoryArchive::new(dir.path());
        let stored = archive
            .put("bigip-1/2026-11-30.ucs", b"config")
            .await
            .unwrap();
        assert_eq!(stored.sha256, sha256_hex(b"config"));
        assert_eq!(stored.size, 6);
        assert_eq!(
            archive.get(&stored.key, &stored.sha256).await.unwrap(),
            b"config"
        );

        std::fs::write(dir.path().join("bigip-1/2026-11-30.ucs"), b"c0nfig").unwrap();
        let error = archive.get(&stored.key, &stored.sha256).await.unwrap_err();
        assert!(matches!(error, ArchiveError::Corrupt { .. }), "{error}");

        archive.delete(&stored.key).await.unwrap();
        archive.delete(&stored.key).await.unwrap();
        assert!(matches!(
            archive.get(&stored.key, &stored.sha256).await.unwrap_err(),
            ArchiveError::Missing(_)
        ));
    }

    #[tokio::test]
    async fn a_key_is_written_once_and_stays_inside_the_archive() {
        let dir = tempfile::tempdir().unwrap();
        let archive = DirectoryArchive::new(dir.path().join("archive"));
        archive.put("d/one", b"first").await.unwrap();
        assert!(archive.put("d/one", b"second").await.is_err());
        assert_eq!(
            archive.get("d/one", &sha256_hex(b"first")).await.unwrap(),
            b"first"
        );
        for key in ["", "../escape", "/etc/passwd", "d/../../x"] {
            assert!(
                matches!(
                    archive.put(key, b"x").await.unwrap_err(),
                    ArchiveError::InvalidKey(_)
                ),
                "{key:?} is refused"
            );
        }
        assert!(!dir.path().join("escape").exists());
    }
}
