//! [`AppState`]: what every handler shares.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use fulcrum_core::driver::Providers;
use fulcrum_core::network::Networks;
use fulcrum_store::Store;
use tokio::sync::Notify;

use crate::auth::Authenticator;

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

/// Shared by all handlers.
pub struct AppState {
    /// The durable store.
    pub store: Store,
    /// Where VIPs come from.
    pub networks: Arc<dyn Networks>,
    /// Enabled drivers.
    pub providers: Providers,
    /// Configuration defaults.
    pub defaults: ApiDefaults,
    /// Quotas of projects without explicit ones (the `[quotas]` section).
    pub quota_defaults: crate::quotas::QuotaDefaults,
    /// Who is asking.
    pub auth: Arc<dyn Authenticator>,
    /// What they may do.
    pub policy: Arc<crate::policy::Policy>,
    /// Where TLS material named by certificate references comes from.
    pub certificates: Arc<dyn fulcrum_core::secrets::CertificateStore>,
    /// Woken after every committed write, so the local reconciler starts at once.
    pub work_ready: Arc<Notify>,
    /// The orchestration → management events channel.
    pub events: fulcrum_core::events::EventBus,
    /// Rendered load balancers for repeated `GET`s.
    pub views: crate::view_cache::ViewCache,
    /// Where the next VIP search starts (a hint; the store decides what is free).
    pub vip_cursor: AtomicU64,
    /// What each background task of this process did last.
    pub tasks: Arc<fulcrum_core::tasks::TaskStatuses>,
}
