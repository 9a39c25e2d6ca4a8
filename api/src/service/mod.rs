//! The service layer: the domain operations under the HTTP handlers.
//!
//! A handler parses a request, passes the caller's [`RequestContext`](crate::auth::RequestContext)
//! and the parsed request shape to one method of [`Service`], and shapes what it returns into a
//! response. Everything between is here: loading the objects a request names (and the policy check
//! on their project, which can only happen once they are loaded), validation with
//! `fulcrum_core::validate`, provider capabilities, quotas, flavor and zone resolution, VIP
//! allocation, and recording intent through one store transaction that locks the load
//! balancer's tree, writes the desired objects with their `PENDING_*` statuses and queues the
//! work item for the reconciler.
//!
//! Nothing in this module knows HTTP: errors are `fulcrum_core::Error`, mapped to Octavia's fault
//! bodies by [`crate::fault`]; request and response shapes come from [`crate::shapes`].

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use fulcrum_core::driver::Providers;
use fulcrum_core::events::EventBus;
use fulcrum_core::network::Networks;
use fulcrum_core::secrets::CertificateStore;
use fulcrum_store::Store;
use tokio::sync::Notify;

pub use quotas::QuotaDefaults;

pub mod quotas;

/// Defaults Octavia takes from its configuration.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiDefaults {
    /// Listener client inactivity timeout, ms.
    pub timeout_client_data: i64,
    /// Listener member connect timeout, ms.
    pub timeout_member_connect: i64,
    /// Listener member inactivity timeout, ms.
    pub timeout_member_data: i64,
    /// Listener content inspection timeout, ms.
    pub timeout_tcp_inspect: i64,
    /// Largest page a list returns; also the default page size.
    pub pagination_max_limit: u64,
}

impl Default for ApiDefaults {
    fn default() -> Self {
        ApiDefaults {
            timeout_client_data: 50_000,
            timeout_member_connect: 5_000,
            timeout_member_data: 50_000,
            timeout_tcp_inspect: 0,
            pagination_max_limit: 1000,
        }
    }
}

/// What a [`Service`] is built from: the seams to the outside and the configured defaults.
pub struct ServiceParts {
    /// The durable store.
    pub store: Store,
    /// Where VIPs come from.
    pub networks: Arc<dyn Networks>,
    /// Enabled drivers.
    pub providers: Providers,
    /// Where TLS material named by certificate references comes from.
    pub certificates: Arc<dyn CertificateStore>,
    /// The orchestration → management events channel.
    pub events: EventBus,
    /// Woken after every committed write, so the local reconciler starts at once.
    pub work_ready: Arc<Notify>,
    /// Configuration defaults (the `[api]` section).
    pub defaults: ApiDefaults,
    /// Quotas of projects without explicit ones (the `[quotas]` section).
    pub quota_defaults: QuotaDefaults,
}

/// The domain operations of the API, over the store and the other seams. Its methods live in
/// the module of the resource they act on.
pub struct Service {
    pub(crate) store: Store,
    pub(crate) networks: Arc<dyn Networks>,
    pub(crate) providers: Providers,
    pub(crate) certificates: Arc<dyn CertificateStore>,
    pub(crate) events: EventBus,
    pub(crate) work_ready: Arc<Notify>,
    pub(crate) defaults: ApiDefaults,
    pub(crate) quota_defaults: QuotaDefaults,
    /// Where the next VIP search starts (a hint; the store decides what is free).
    pub(crate) vip_cursor: AtomicU64,
}

impl Service {
    /// A service over `parts`.
    pub fn new(parts: ServiceParts) -> Self {
        Service {
            store: parts.store,
            networks: parts.networks,
            providers: parts.providers,
            certificates: parts.certificates,
            events: parts.events,
            work_ready: parts.work_ready,
            defaults: parts.defaults,
            quota_defaults: parts.quota_defaults,
            vip_cursor: AtomicU64::new(0),
        }
    }
}
