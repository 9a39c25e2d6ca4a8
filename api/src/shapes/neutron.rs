//! Shapes of the read-only Neutron view (`/v2.0/networks`, `/v2.0/subnets`, `/v2.0/ports`).

use serde::Deserialize;

/// The filters Neutron clients use to resolve names.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct NeutronFilter {
    /// Only the object with this id.
    pub id: Option<String>,
    /// Only objects with this name.
    pub name: Option<String>,
    /// Only objects of this network (subnets and ports).
    pub network_id: Option<String>,
}

impl NeutronFilter {
    /// Whether an object passes the filters.
    pub fn keeps(&self, id: &str, name: &str, network_id: Option<&str>) -> bool {
        self.id.as_deref().is_none_or(|f| f == id)
            && self.name.as_deref().is_none_or(|f| f == name)
            && self
                .network_id
                .as_deref()
                .is_none_or(|f| Some(f) == network_id)
    }
}
