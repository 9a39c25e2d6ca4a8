//! [`SecretBox`]: device passwords sealed at rest with AES-256-GCM under a key given in the
//! configuration (`[management] secret_key`, e.g. from `FULCRUM__MANAGEMENT__SECRET_KEY`) or kept
//! in a file (`[management] secret_key_file`; `state/management.key`, created on first start,
//! when neither is set).
//!
//! A sealed value is `sealed:v1:` followed by the base64 of a random 12-byte nonce, the
//! ciphertext and the 16-byte tag. A value without that prefix is a password stored before
//! sealing, read as it is (and sealed again by the inventory). The key file holds 32 random
//! bytes in base64 (`openssl rand -base64 32`); it is never logged, nor is any secret.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::symm::{Cipher, decrypt_aead, encrypt_aead};

/// The prefix of a sealed value.
pub const SEALED_PREFIX: &str = "sealed:v1:";

/// The key file used when `[management] secret_key_file` is not set.
pub const DEFAULT_KEY_FILE: &str = "state/management.key";

/// How errors name a key given in the configuration rather than in a file.
pub const CONFIGURED_KEY: &str = "[management] secret_key";

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Why a key could not be had or a value could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The key file could not be read or written.
    #[error("secret key file {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The key file (or the configured key) does not hold a key.
    #[error(
        "secret key {origin} must hold 32 random bytes in base64 (openssl rand -base64 32): {why}"
    )]
    MalformedKey {
        /// Where the key was read: a file's path, or the configuration key.
        origin: String,
        /// What is wrong with it.
        why: String,
    },
    /// A sealed value does not open with this key.
    #[error(
        "the stored secret does not open with the key in {origin} (sealed under another key, or \
         damaged): restore the key it was sealed with, or register the secret again"
    )]
    WrongKey {
        /// Where the key was read.
        origin: String,
    },
    /// The key is not the one the other processes on this database seal with.
    #[error(
        "the secret key in {origin} is not the key this database's secrets are sealed with \
         (another replica, or an earlier start, sealed them under another key): give every \
         replica on one database the same key, by copying the key file of a replica that starts \
         to each replica ([management] secret_key_file) or setting that key in [management] \
         secret_key (FULCRUM__MANAGEMENT__SECRET_KEY)"
    )]
    NotTheSharedKey {
        /// Where the key was read.
        origin: String,
    },
}

/// A key that seals and opens secrets.
pub struct SecretBox {
    key: [u8; KEY_LEN],
    origin: String,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretBox")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl SecretBox {
    /// The key in `path`, which must exist.
    pub fn load(path: &Path) -> Result<Self, SecretError> {
        let text = std::fs::read_to_string(path).map_err(|source| SecretError::Io {
            path: path.to_owned(),
            source,
        })?;
        let key = Self::from_base64(&text, &path.display().to_string())?;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                path = %path.display(),
                "the secret key file can be read by other users; make it mode 0600"
            );
        }
        Ok(key)
    }

    /// The key in `text` (base64, surrounding blanks ignored); `origin` says where it was read
    /// (a file's path, a configuration key) in errors.
    pub fn from_base64(text: &str, origin: &str) -> Result<Self, SecretError> {
        let malformed = |why: String| SecretError::MalformedKey {
            origin: origin.to_owned(),
            why,
        };
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|e| malformed(format!("not base64 ({e})")))?;
        let key: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| malformed(format!("{} bytes, not 32", b.len())))?;
        Ok(SecretBox {
            key,
            origin: origin.to_owned(),
        })
    }

    /// The key in `path`, created there (32 random bytes, mode 0600, with its directory) when
    /// the file does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, SecretError> {
        let io = |source| SecretError::Io {
            path: path.to_owned(),
            source,
        };
        if path.exists() {
            return Self::load(path);
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut key = [0u8; KEY_LEN];
        openssl::rand::rand_bytes(&mut key).map_err(|e| io(std::io::Error::other(e)))?;
        let created = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
        match created {
            Ok(mut file) => {
                file.write_all(format!("{}\n", STANDARD.encode(key)).as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(io)?;
                tracing::info!(path = %path.display(), "created the secret key file");
                Ok(SecretBox {
                    key,
                    origin: path.display().to_string(),
                })
            }
            // Another process created it meanwhile: its key is the one.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::load(path),
            Err(e) => Err(io(e)),
        }
    }

    /// Where the key was read: a file's path, or the configuration key.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// `secret` sealed: `sealed:v1:<base64(nonce || ciphertext || tag)>`, a fresh nonce each time.
    pub fn seal(&self, secret: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        openssl::rand::rand_bytes(&mut nonce).expect("the system's random generator answers");
        let mut tag = [0u8; TAG_LEN];
        let ciphertext = encrypt_aead(
            Cipher::aes_256_gcm(),
            &self.key,
            Some(&nonce),
            &[],
            secret.as_bytes(),
            &mut tag,
        )
        .expect("AES-256-GCM seals with a 32-byte key and a 12-byte nonce");
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        sealed.extend_from_slice(&tag);
        format!("{SEALED_PREFIX}{}", STANDARD.encode(sealed))
    }

    /// The secret in `stored`: opened when sealed, as it is when stored before sealing.
    pub fn open(&self, stored: &str) -> Result<String, SecretError> {
        let Some(encoded) = stored.strip_prefix(SEALED_PREFIX) else {
            return Ok(stored.to_owned());
        };
        let wrong_key = || SecretError::WrongKey {
            origin: self.origin.clone(),
        };
        let bytes = STANDARD.decode(encoded).map_err(|_| wrong_key())?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(wrong_key());
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        let plain = decrypt_aead(
            Cipher::aes_256_gcm(),
            &self.key,
            Some(nonce),
            &[],
            ciphertext,
            tag,
        )
        .map_err(|_| wrong_key())?;
        String::from_utf8(plain).map_err(|_| wrong_key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_with_its_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/management.key");
        let key = SecretBox::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        let sealed = key.seal("s3cret");
        assert!(sealed.starts_with(SEALED_PREFIX), "{sealed}");
        assert!(!sealed.contains("s3cret"));
        assert_ne!(sealed, key.seal("s3cret"), "a fresh nonce each time");
        assert_eq!(key.open(&sealed).unwrap(), "s3cret");
        assert_eq!(
            SecretBox::load_or_create(&path)
                .unwrap()
                .open(&sealed)
                .unwrap(),
            "s3cret",
            "the file's key is kept"
        );
        assert_eq!(key.open("plain").unwrap(), "plain");

        let other = SecretBox::load_or_create(&dir.path().join("other.key")).unwrap();
        let error = other.open(&sealed).unwrap_err().to_string();
        assert!(error.contains("other.key"), "{error}");
        assert!(!error.contains("s3cret"), "{error}");
        assert!(key.open("sealed:v1:bm90IGEgc2VhbGVkIHZhbHVl").is_err());
        assert!(key.open("sealed:v1:***").is_err());
    }

    #[test]
    fn a_key_file_that_holds_no_key_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let short = dir.path().join("short.key");
        std::fs::write(&short, STANDARD.encode([1u8; 16])).unwrap();
        let error = SecretBox::load_or_create(&short).unwrap_err().to_string();
        assert!(
            error.contains("short.key") && error.contains("16 bytes"),
            "{error}"
        );
        let text = dir.path().join("text.key");
        std::fs::write(&text, "not a key at all!").unwrap();
        let error = SecretBox::load(&text).unwrap_err().to_string();
        assert!(
            error.contains("text.key") && error.contains("base64"),
            "{error}"
        );
        let missing = SecretBox::load(&dir.path().join("missing.key")).unwrap_err();
        assert!(missing.to_string().contains("missing.key"), "{missing}");
    }
}
