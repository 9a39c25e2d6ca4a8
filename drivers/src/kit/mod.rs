//! The driver kit: what every backend driver shares, so that each REST backend (NSX-T, F5)
//! behaves the same where it should and its own folder holds only what is its own.
//!
//! - [`http`]: the HTTP client of REST backends (TLS through OpenSSL, CA bundle, mutual TLS,
//!   timeouts, user agent), whose failures come back classified;
//! - [`errors`]: how transport failures and HTTP statuses become [`DriverError`] kinds, with
//!   the backend's `Retry-After` and explanation;
//! - [`retry`](mod@retry): jittered exponential back-off for transient failures, never sooner
//!   than the backend asked;
//! - [`rate_limit`]: a token bucket per backend endpoint;
//! - [`tags`]: names and tags that trace every backend object to its Octavia object (orphan
//!   detection in full sync);
//! - [`tree`]: what drivers need from a load balancer tree beyond
//!   [`LoadBalancerGraph`](fulcrum_core::driver::LoadBalancerGraph)'s queries, such as the TLS
//!   material it names.
//!
//! [`DriverError`]: fulcrum_core::driver::DriverError

pub mod errors;
pub mod http;
pub mod rate_limit;
pub mod retry;
pub mod tags;
pub mod tree;

pub use errors::StatusError;
pub use http::{HttpClient, HttpClientBuilder, USER_AGENT};
pub use rate_limit::{RateLimit, RateLimiters, TokenBucket, endpoint_key};
pub use retry::{RetryPolicy, retry, retry_with};
pub use tags::{Ownership, Tag, backend_name, backend_name_within, parse_backend_name};
pub use tree::{
    MissingCertificates, ResolvedCertificates, placeholder_certificates, resolve_certificates,
};
