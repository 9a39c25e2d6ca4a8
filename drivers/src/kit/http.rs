//! The HTTP client of REST backends (NSX-T Policy API, F5 iControl REST and AS3).
//!
//! Appliances are usually reached over TLS with a private CA, sometimes with a client
//! certificate instead of a password, and from a host whose other traffic must not suffer when
//! an appliance hangs. So every REST driver builds its client the same way, here:
//!
//! - TLS through the system's OpenSSL (`native-tls`), as the design asks, even in a build where
//!   another crate brings in rustls as well; a configured CA bundle is then the *only* trust
//!   anchor, so a backend must present a certificate that chains to it;
//! - an optional client certificate and key (PEM) for mutual TLS;
//! - `insecure` to skip verification, for labs only, said loudly in the log at every build;
//! - a connect timeout and a timeout for the whole request, so no call hangs a reconciliation;
//! - the user agent `fulcrum/<version>`, so backend audit logs show who called;
//! - optionally a [`TokenBucket`] every request waits on (see [`super::rate_limit`]).
//!
//! Files that cannot be read or parsed fail the build with an invalid-configuration error that
//! names the file, at start-up (`fulcrum check-config`) rather than at the first request.
//! [`HttpClient::send`] classifies whatever goes wrong with [`super::errors`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fulcrum_core::driver::DriverError;
use reqwest::{Method, RequestBuilder, Response, Url};
use serde::de::DeserializeOwned;

use super::errors;
use super::rate_limit::TokenBucket;

/// The user agent of every request: `fulcrum/<version>`.
pub const USER_AGENT: &str = concat!("fulcrum/", env!("CARGO_PKG_VERSION"));

/// How long establishing a connection may take by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a whole request may take by default, answer included.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Builds an [`HttpClient`] for one backend.
#[derive(Debug, Clone)]
pub struct HttpClientBuilder {
    base_url: String,
    ca_bundle: Option<PathBuf>,
    client_certificate: Option<(PathBuf, PathBuf)>,
    insecure: bool,
    connect_timeout: Duration,
    request_timeout: Duration,
    rate_limit: Option<Arc<TokenBucket>>,
}

impl HttpClientBuilder {
    /// A builder for the backend at `base_url` (`https://nsx.example`, or with a path prefix
    /// that every request path is appended to), with the default timeouts.
    pub fn new(base_url: impl Into<String>) -> Self {
        HttpClientBuilder {
            base_url: base_url.into(),
            ca_bundle: None,
            client_certificate: None,
            insecure: false,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            rate_limit: None,
        }
    }

    /// Trust only the CA certificates in this PEM file.
    pub fn ca_bundle(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_bundle = Some(path.into());
        self
    }

    /// Present this client certificate (PEM, with its chain if needed) and its private key (PEM,
    /// PKCS#8: `BEGIN PRIVATE KEY`) for mutual TLS.
    pub fn client_certificate(
        mut self,
        certificate: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> Self {
        self.client_certificate = Some((certificate.into(), key.into()));
        self
    }

    /// Skip verifying the backend's certificate and host name. For labs only.
    pub fn insecure(mut self, insecure: bool) -> Self {
        self.insecure = insecure;
        self
    }

    /// How long establishing a connection may take.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a whole request may take, from sending it to the end of the answer.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Wait on this bucket before every request.
    pub fn rate_limit(mut self, bucket: Arc<TokenBucket>) -> Self {
        self.rate_limit = Some(bucket);
        self
    }

    /// Build the client, reading the PEM files it names.
    pub fn build(self) -> Result<HttpClient, DriverError> {
        let base = base_url(&self.base_url)?;
        let mut builder = reqwest::Client::builder()
            .use_native_tls()
            .user_agent(USER_AGENT)
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout);
        if let Some(path) = &self.ca_bundle {
            let pem = read_pem(path, "CA bundle")?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                DriverError::invalid_configuration(format!(
                    "The CA bundle {} does not hold valid PEM certificates.",
                    path.display()
                ))
                .with_source(e)
            })?;
            if certificates.is_empty() {
                return Err(DriverError::invalid_configuration(format!(
                    "The CA bundle {} holds no PEM certificate.",
                    path.display()
                )));
            }
            builder = builder.tls_built_in_root_certs(false);
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        if let Some((certificate, key)) = &self.client_certificate {
            let certificate_pem = read_pem(certificate, "client certificate")?;
            let key_pem = read_pem(key, "client key")?;
            let identity =
                reqwest::Identity::from_pkcs8_pem(&certificate_pem, &key_pem).map_err(|e| {
                    DriverError::invalid_configuration(format!(
                        "The client certificate {} and key {} cannot be used: the certificate \
                         must be PEM and the key PEM in PKCS#8 form (BEGIN PRIVATE KEY).",
                        certificate.display(),
                        key.display()
                    ))
                    .with_source(e)
                })?;
            builder = builder.identity(identity);
        }
        if self.insecure {
            tracing::warn!(
                backend = %base,
                "TLS verification is OFF for this backend: its certificate and host name are not \
                 checked, and anyone on the path can read and change its traffic"
            );
            builder = builder
                .danger_accept_invalid_certs(true)
                .danger_accept_invalid_hostnames(true);
        }
        let inner = builder.build().map_err(|e| {
            let message = match &self.client_certificate {
                Some((certificate, key)) => format!(
                    "The HTTP client for {base} cannot be built with the client certificate {} \
                     and key {}: does the key belong to the certificate?",
                    certificate.display(),
                    key.display()
                ),
                None => format!("The HTTP client for {base} cannot be built."),
            };
            DriverError::invalid_configuration(message).with_source(e)
        })?;
        Ok(HttpClient {
            inner,
            base,
            rate_limit: self.rate_limit,
        })
    }
}

/// The base URL, checked: absolute, `http` or `https`, without query or fragment.
fn base_url(text: &str) -> Result<Url, DriverError> {
    let invalid =
        |why: &str| DriverError::invalid_configuration(format!("The backend URL {text:?} {why}."));
    let url = Url::parse(text).map_err(|e| invalid("is not a valid URL").with_source(e))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid("must be an http:// or https:// URL with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("must not have a query or fragment"));
    }
    Ok(url)
}

/// The bytes of a PEM file named by the configuration.
fn read_pem(path: &Path, what: &str) -> Result<Vec<u8>, DriverError> {
    std::fs::read(path).map_err(|e| {
        DriverError::invalid_configuration(format!(
            "The {what} file {} cannot be read: {e}.",
            path.display()
        ))
        .with_source(e)
    })
}

/// A client of one REST backend: requests by path under the base URL, every answer that is not
/// a success turned into a classified [`DriverError`]. Cheap to clone; clones share connections.
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    base: Url,
    rate_limit: Option<Arc<TokenBucket>>,
}

impl HttpClient {
    /// The backend's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The URL of `path` under the base URL: `https://h/api` and `/infra/x` (or `infra/x`) make
    /// `https://h/api/infra/x`; `path` may carry a query.
    pub fn url(&self, path: &str) -> Result<Url, DriverError> {
        let base = self.base.as_str().trim_end_matches('/');
        let joined = format!("{base}/{}", path.trim_start_matches('/'));
        Url::parse(&joined).map_err(|e| {
            DriverError::invalid_configuration(format!("The backend path {path:?} is not valid."))
                .with_source(e)
        })
    }

    /// A request for `path` (see [`Self::url`]), to add headers and a body to and [`Self::send`].
    pub fn request(&self, method: Method, path: &str) -> Result<RequestBuilder, DriverError> {
        Ok(self.inner.request(method, self.url(path)?))
    }

    /// Send a request, after waiting for the rate limit if there is one. A successful answer is
    /// returned; anything else is classified (see [`super::errors`]).
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, DriverError> {
        if let Some(bucket) = &self.rate_limit {
            bucket.acquire().await;
        }
        let request = request.build().map_err(errors::transport_error)?;
        let (method, url) = (request.method().clone(), request.url().clone());
        let started = Instant::now();
        let response = self.inner.execute(request).await.map_err(|e| {
            tracing::debug!(%method, %url, error = %e, "backend request failed");
            errors::transport_error(e)
        })?;
        tracing::debug!(
            %method,
            %url,
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "backend request"
        );
        errors::check(response).await
    }

    /// [`Self::send`], then read the answer as JSON. An answer that is not the JSON expected is
    /// a rejection: retrying would get the same.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
    ) -> Result<T, DriverError> {
        let response = self.send(request).await?;
        let body = response.bytes().await.map_err(errors::transport_error)?;
        serde_json::from_slice(&body).map_err(|e| {
            DriverError::rejected(format!(
                "The backend's answer is not what Fulcrum expects: {e}"
            ))
            .with_source(e)
        })
    }
}

#[cfg(test)]
mod tests {
    use fulcrum_core::driver::DriverErrorKind;

    use super::*;

    fn message(result: Result<HttpClient, DriverError>) -> String {
        let e = result.unwrap_err();
        assert_eq!(e.kind(), DriverErrorKind::InvalidConfiguration, "{e}");
        e.message().to_string()
    }

    #[test]
    fn base_urls_are_checked() {
        for (url, why) in [
            ("nsx.example", "is not a valid URL"),
            ("ftp://nsx.example", "must be an http:// or https:// URL"),
            ("https://nsx.example/?a=1", "must not have a query"),
        ] {
            let m = message(HttpClientBuilder::new(url).build());
            assert!(m.contains(why), "{url}: {m}");
        }
    }

    #[test]
    fn paths_are_appended_to_the_base() {
        let client = HttpClientBuilder::new("https://h.example/api/")
            .build()
            .unwrap();
        assert_eq!(
            client.url("/infra/x?y=1").unwrap().as_str(),
            "https://h.example/api/infra/x?y=1"
        );
        let client = HttpClientBuilder::new("https://h.example").build().unwrap();
        assert_eq!(
            client.url("mgmt/tm/sys").unwrap().as_str(),
            "https://h.example/mgmt/tm/sys"
        );
        assert_eq!(client.base_url().as_str(), "https://h.example/");
    }

    #[test]
    fn unreadable_or_invalid_pem_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate\n").unwrap();
        let broken = dir.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let base = || HttpClientBuilder::new("https://h.example");

        let m = message(base().ca_bundle(&missing).build());
        assert!(
            m.starts_with(&format!(
                "The CA bundle file {} cannot be read",
                missing.display()
            )),
            "{m}"
        );
        let m = message(base().ca_bundle(&garbage).build());
        assert_eq!(
            m,
            format!(
                "The CA bundle {} holds no PEM certificate.",
                garbage.display()
            )
        );
        let m = message(base().ca_bundle(&broken).build());
        assert_eq!(
            m,
            format!(
                "The CA bundle {} does not hold valid PEM certificates.",
                broken.display()
            )
        );
        let m = message(base().client_certificate(&garbage, &missing).build());
        assert!(m.starts_with("The client key file"), "{m}");
        let m = message(base().client_certificate(&garbage, &garbage).build());
        assert!(m.contains("cannot be used: "), "{m}");
    }
}
