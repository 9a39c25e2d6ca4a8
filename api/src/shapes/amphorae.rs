//! Shapes of `/v2/octavia/amphorae`.

use serde::Serialize;
use utoipa::ToSchema;

use crate::listing::Link;

/// `{"amphorae": [], "amphorae_links": []}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AmphoraList {
    /// Always empty.
    #[schema(value_type = Vec<Object>)]
    pub amphorae: Vec<serde_json::Value>,
    /// Always empty.
    pub amphorae_links: Vec<Link>,
}
