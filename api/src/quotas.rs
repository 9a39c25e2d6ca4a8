//! Placeholder.

use std::sync::Arc;

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

/// The routes of this module.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
}
