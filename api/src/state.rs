//! [`AppState`]: what every handler shares. The domain side is the [`Service`]; the rest is what
//! only HTTP needs: who is asking, what they may do, and rendered views for repeated reads.

use std::sync::Arc;

use fulcrum_core::tasks::TaskStatuses;

use crate::auth::Authenticator;
use crate::policy::Policy;
use crate::service::Service;
use crate::view_cache::ViewCache;

/// Shared by all handlers.
pub struct AppState {
    /// The domain operations.
    pub service: Service,
    /// Who is asking.
    pub auth: Arc<dyn Authenticator>,
    /// What they may do.
    pub policy: Arc<Policy>,
    /// Rendered load balancers for repeated `GET`s.
    pub views: ViewCache,
    /// What each background task of this process did last.
    pub tasks: Arc<TaskStatuses>,
}

impl AppState {
    /// The state of an API over `service`, authenticating with `auth` under `policy`, that
    /// reports the background tasks of `tasks`.
    pub fn new(
        service: Service,
        auth: Arc<dyn Authenticator>,
        policy: Arc<Policy>,
        tasks: Arc<TaskStatuses>,
    ) -> Self {
        AppState {
            service,
            auth,
            policy,
            views: ViewCache::default(),
            tasks,
        }
    }
}
