//! Shapes of `/v2/lbaas/providers`.

use serde::Serialize;
use utoipa::ToSchema;

/// One provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct Provider {
    /// The name a load balancer's `provider` takes.
    pub name: String,
    /// What it is.
    pub description: String,
}

/// `{"providers": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderList {
    /// The enabled providers.
    pub providers: Vec<Provider>,
}
