//! Request and response shapes: what Octavia's clients send and get back, one module per
//! resource. A request shape is the body of a create or update as it arrives (unwrapped from its
//! root key); a view is an object as the API shows it, built from the stored model and the ids of
//! the objects it lists ([`Related`]).
//!
//! Shapes know neither HTTP nor the store: handlers parse into them and render from them, the
//! service takes them as input. Their names are the OpenAPI schema names, so they are part of the
//! published document.

pub mod amphorae;
pub mod capabilities;
pub mod envelope;
pub mod flavors;
pub mod graph;
pub mod health_monitors;
pub mod l7policies;
pub mod l7rules;
pub mod listeners;
pub mod load_balancers;
pub mod members;
pub mod neutron;
pub mod pools;
pub mod profiles;
pub mod provider;
pub mod providers;
pub mod quotas;
pub mod status;
pub mod tasks;
pub mod versions;

use std::collections::HashMap;

use fulcrum_core::model::{Kind, Stats};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A body type and the root key it arrives under.
pub trait Rooted: DeserializeOwned {
    /// The root key, e.g. `"loadbalancer"`.
    const ROOT: &'static str;
    /// The name Octavia's messages give the whole body: the argument of its controller method
    /// (`listener_`, `load_balancer`, `quotas`, ...), which WSME names when a value of the body
    /// cannot be converted.
    const ARGUMENT: &'static str;
}

/// An `{"id": ...}` reference to a related object.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IdRef {
    /// The related object's id.
    pub id: String,
}

/// Id references from ids.
pub fn id_refs<'a>(ids: impl IntoIterator<Item = &'a String>) -> Vec<IdRef> {
    ids.into_iter().map(|id| IdRef { id: id.clone() }).collect()
}

/// Octavia renders a missing name or description as "".
pub fn text_or_empty(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// Serialize a view.
pub fn to_value<T: Serialize>(view: &T) -> Value {
    serde_json::to_value(view).unwrap_or(Value::Null)
}

/// The ids of the objects a view lists besides its own fields (a load balancer's listeners, a
/// pool's members, ...): by the kind of the listed objects, then by the id of the object they
/// belong to. One `Related` serves a whole page of objects.
#[derive(Debug, Default)]
pub struct Related(HashMap<Kind, HashMap<String, Vec<String>>>);

impl Related {
    /// The relations known without asking the store: `ids` of `kind` belong to `owner`.
    pub fn of(kind: Kind, owner: &str, ids: Vec<String>) -> Self {
        let mut related = Related::default();
        related.add(kind, HashMap::from([(owner.to_string(), ids)]));
        related
    }

    /// Add ids of `kind` by owner; an id already listed for an owner is not repeated.
    pub fn add(&mut self, kind: Kind, by_owner: HashMap<String, Vec<String>>) {
        let slot = self.0.entry(kind).or_default();
        for (owner, ids) in by_owner {
            let listed = slot.entry(owner).or_default();
            for id in ids {
                if !listed.contains(&id) {
                    listed.push(id);
                }
            }
        }
    }

    /// The ids of objects of `kind` that belong to `owner`.
    pub fn ids(&self, kind: Kind, owner: &str) -> &[String] {
        self.0
            .get(&kind)
            .and_then(|by_owner| by_owner.get(owner))
            .map_or(&[], Vec::as_slice)
    }
}

/// `{"stats": {...}}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatsBody {
    /// The counters.
    pub stats: Stats,
}

/// How a catalog row (a flavor, an availability zone, or a profile of either) is shown.
pub trait CatalogView: fulcrum_store::CatalogRecord {
    /// The root key of one row.
    const ROOT: &'static str;
    /// The key of a page of rows and the key of its links.
    const PLURAL: (&'static str, &'static str);
    /// The row as the API shows it.
    fn view(&self) -> Value;
}

#[cfg(test)]
mod tests {
    /// The source of every shape module.
    const SOURCES: [(&str, &str); 19] = [
        ("amphorae", include_str!("amphorae.rs")),
        ("capabilities", include_str!("capabilities.rs")),
        ("flavors", include_str!("flavors.rs")),
        ("graph", include_str!("graph.rs")),
        ("health_monitors", include_str!("health_monitors.rs")),
        ("l7policies", include_str!("l7policies.rs")),
        ("l7rules", include_str!("l7rules.rs")),
        ("listeners", include_str!("listeners.rs")),
        ("load_balancers", include_str!("load_balancers.rs")),
        ("members", include_str!("members.rs")),
        ("neutron", include_str!("neutron.rs")),
        ("pools", include_str!("pools.rs")),
        ("profiles", include_str!("profiles.rs")),
        ("provider", include_str!("provider.rs")),
        ("providers", include_str!("providers.rs")),
        ("quotas", include_str!("quotas.rs")),
        ("status", include_str!("status.rs")),
        ("tasks", include_str!("tasks.rs")),
        ("versions", include_str!("versions.rs")),
    ];

    /// Octavia converts every number and boolean of a request body (WSME), so every such field of
    /// a request shape goes through `wsme::convert`; a new field without it would refuse `"80"`.
    #[test]
    fn every_number_and_boolean_of_a_request_is_converted() {
        let scalar = ["i64", "bool", "f64"];
        let mut missing = Vec::new();
        let mut converted = 0;
        for (module, source) in SOURCES {
            let mut deserialized = false;
            let mut in_request = false;
            let mut attributes: Vec<&str> = Vec::new();
            for line in source.lines() {
                let line = line.trim();
                if line.starts_with("#[derive(") {
                    deserialized = line.contains("Deserialize");
                } else if line.starts_with("pub struct ") && line.ends_with('{') {
                    in_request = deserialized;
                } else if line == "}" {
                    in_request = false;
                }
                if line.starts_with("#[") {
                    attributes.push(line);
                    continue;
                }
                if in_request
                    && let Some((name, ty)) =
                        line.strip_prefix("pub ").and_then(|f| f.split_once(": "))
                {
                    let ty = ty.trim_end_matches(',');
                    let inner = ty
                        .strip_prefix("Option<")
                        .or_else(|| ty.strip_prefix("Patch<"))
                        .and_then(|t| t.strip_suffix('>'))
                        .unwrap_or(ty);
                    if scalar.contains(&inner) {
                        if attributes
                            .iter()
                            .any(|a| a.contains("deserialize_with = \"wsme::convert\""))
                        {
                            converted += 1;
                        } else {
                            missing.push(format!("{module}: {name}"));
                        }
                    }
                }
                if !line.starts_with("///") {
                    attributes.clear();
                }
            }
        }
        assert!(missing.is_empty(), "not converted: {missing:?}");
        assert_eq!(converted, 92, "fields converted");
    }
}
