//! Fulcrum's drivers: one module per backend, each implementing [`fulcrum_core::driver::Driver`]
//! and registering a [`DriverFactory`] in [`factories`].
//!
//! - [`haproxy`]: the embedded default; one supervised HAProxy per load balancer on this host.
//! - [`f5`]: F5 BIG-IP through AS3, a tenant per project, on the active device of a pair.
//! - [`noop`]: realizes nothing, remembers what it was given; for tests, benchmarks and trying the
//!   API without a data plane.
//!
//! - [`kit`]: what backends share: HTTP client, error classification, retry, rate limit,
//!   ownership names and tags, certificate resolution.
//!
//! Adding a backend is a new folder here plus one line in [`factories`]; the binary builds
//! whatever `[providers] enabled` names from that list.

use std::sync::Arc;

use fulcrum_core::driver::DriverFactory;

pub mod f5;
pub mod haproxy;
pub mod kit;
pub mod noop;

/// Every driver this build knows, by factory.
pub fn factories() -> Vec<Arc<dyn DriverFactory>> {
    vec![
        Arc::new(f5::F5Factory),
        Arc::new(haproxy::HaproxyFactory),
        Arc::new(noop::NoopFactory),
    ]
}
