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

use fulcrum_core::Error;
use fulcrum_core::driver::Providers;
use fulcrum_core::events::EventBus;
use fulcrum_core::network::Networks;
use fulcrum_core::patch::Patch;
use fulcrum_core::secrets::CertificateStore;
use fulcrum_store::Store;
use tokio::sync::Notify;

use config::{ApiDefaults, QuotaDefaults};

pub mod access;
pub mod capabilities;
pub mod catalog;
pub mod config;
pub mod flavors;
pub mod graph;
pub mod health_monitors;
pub mod l7policies;
pub mod l7rules;
pub mod listeners;
pub mod load_balancers;
pub mod members;
pub mod networks;
pub mod placement;
pub mod pools;
pub mod profiles;
pub mod provider;
pub mod providers;
pub mod quotas;
pub mod read;
pub mod realizable;
pub mod tls;
pub mod vip;
pub mod write;

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
    /// Wakes event consumers of this process after events were committed.
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
    store: Store,
    networks: Arc<dyn Networks>,
    providers: Providers,
    certificates: Arc<dyn CertificateStore>,
    events: EventBus,
    work_ready: Arc<Notify>,
    defaults: ApiDefaults,
    quota_defaults: QuotaDefaults,
    /// Where the next VIP search starts (a hint; the store decides what is free).
    vip_cursor: AtomicU64,
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

/// A fresh object id.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The new value of a field that may be changed but not cleared, if the request gives one; an
/// explicit `null` is Octavia's 400 ("None is not a valid option for `field`").
pub(crate) fn not_null<T>(patch: Patch<T>, field: &str) -> Result<Option<T>, Error> {
    match patch {
        Patch::Absent => Ok(None),
        Patch::Null => Err(Error::invalid_option("None", field)),
        Patch::Value(v) => Ok(Some(v)),
    }
}
