//! What the manager holds that Fulcrum created, read in as few calls as NSX allows: one search
//! by ownership tag, in pages of 1,000, for one load balancer or for all of them. A shared
//! service is held by every load balancer with a virtual server on it, and one without any by
//! its own id (see [`super::shared`]).

use std::collections::BTreeMap;

use fulcrum_core::driver::DriverError;
use serde_json::Value;

use super::client::NsxClient;
use super::{collections, shared};
use crate::kit::tags::{self, Ownership, Tag};

/// Objects by Policy path.
pub type Held = BTreeMap<String, Value>;

/// Every object Fulcrum created for one load balancer.
pub async fn held_for(client: &NsxClient, load_balancer_id: &str) -> Result<Held, DriverError> {
    let query = format!(
        "tags.scope:{} AND tags.tag:{}",
        escape(tags::LOAD_BALANCER_ID),
        escape(load_balancer_id)
    );
    let mut all = search(client, &query).await?;
    Ok(all.remove(load_balancer_id).unwrap_or_default())
}

/// Every object Fulcrum created, by load balancer id.
pub async fn held_by_all(client: &NsxClient) -> Result<BTreeMap<String, Held>, DriverError> {
    let query = format!(
        "tags.scope:{} AND tags.tag:{}",
        escape(tags::CREATED_BY),
        escape(tags::CREATOR)
    );
    search(client, &query).await
}

async fn search(client: &NsxClient, query: &str) -> Result<BTreeMap<String, Held>, DriverError> {
    let results = client
        .list_all("/search/query", &[("query", query.to_string())])
        .await?;
    let mut by_load_balancer: BTreeMap<String, Held> = BTreeMap::new();
    let mut shared_services = Vec::new();
    for object in results {
        let Some(path) = object["path"].as_str().map(str::to_string) else {
            continue;
        };
        if collections::parse_path(&path).is_none() {
            continue;
        }
        if shared::is_shared(&object) {
            shared_services.push((path, object));
            continue;
        }
        let object_tags: Vec<Tag> =
            serde_json::from_value(object["tags"].clone()).unwrap_or_default();
        let Some(owner) = Ownership::from_tags(&object_tags) else {
            continue;
        };
        by_load_balancer
            .entry(owner.load_balancer_id)
            .or_default()
            .insert(path, object);
    }
    for (path, service) in shared_services {
        let users: Vec<String> = by_load_balancer
            .iter()
            .filter(|(_, held)| shared::services_of(held).contains(&path))
            .map(|(id, _)| id.clone())
            .collect();
        if users.is_empty() {
            let id = service["id"].as_str().unwrap_or_default().to_string();
            by_load_balancer
                .entry(id)
                .or_default()
                .insert(path, service);
            continue;
        }
        for user in users {
            by_load_balancer
                .entry(user)
                .or_default()
                .insert(path.clone(), service.clone());
        }
    }
    Ok(by_load_balancer)
}

/// A value as a Lucene term: its special characters escaped.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if "+-&|!(){}[]^\"~*?:\\/ ".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lucene_specials_are_escaped() {
        assert_eq!(escape("os-lbaas-lb-id"), r"os\-lbaas\-lb\-id");
        assert_eq!(escape("a:b c"), r"a\:b\ c");
    }
}
