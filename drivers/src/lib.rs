//! Fulcrum's drivers: one module per backend, each implementing [`fulcrum_core::driver::Driver`].
//!
//! - [`haproxy`]: the embedded default; one supervised HAProxy per load balancer on this host.
//! - [`noop`]: realizes nothing, remembers what it was given; for tests, benchmarks and trying the
//!   API without a data plane.

pub mod haproxy;
pub mod noop;
