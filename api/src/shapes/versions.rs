//! Shapes of version discovery.

use serde::Serialize;
use utoipa::ToSchema;

/// One API version.
#[derive(Debug, Serialize, ToSchema)]
pub struct Version {
    /// "v2.N".
    pub id: String,
    /// "CURRENT" or "SUPPORTED".
    pub status: &'static str,
    /// When it was introduced.
    pub updated: &'static str,
    /// Where it is served.
    pub links: Vec<crate::listing::Link>,
}

/// `{"versions": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Versions {
    /// Every version.
    pub versions: Vec<Version>,
}
