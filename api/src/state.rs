//! [`AppState`]: what every handler shares. The domain side is the [`Service`]; the rest is what
//! only HTTP needs: who is asking, what they may do, and rendered views for repeated reads.

use std::sync::Arc;

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
}

impl AppState {
    /// The state of an API over `service`, authenticating with `auth` under `policy`.
    pub fn new(service: Service, auth: Arc<dyn Authenticator>, policy: Arc<Policy>) -> Self {
        AppState {
            service,
            auth,
            policy,
            views: ViewCache::default(),
        }
    }
}
