//! One load-balancer service per Tier-1, shared by the load balancers behind it, when the
//! operator chooses so (`share_lb_service = true`): an edge runs one service per gateway, so
//! sharing saves edge capacity where many small load balancers sit behind one Tier-1.
//!
//! The shared service `fulcrum-lbs-<tier1 id>` belongs to no single load balancer, and records
//! none: it carries only the created-by tag and a [`SHARED_SCOPE`] tag naming the Tier-1, so
//! any number of load balancers can share it (NSX keeps at most 30 tags on an object). Who
//! uses it is what points at it: the virtual servers attached to it (`lb_service_path`), each
//! tagged with its own load balancer. So:
//!
//! - a load balancer with listeners desires the service (created with its first virtual
//!   server, its size the largest asked for, as the sizes others asked for are not recorded);
//!   one without listeners has nothing to serve and desires none;
//! - the full sync attributes the service to every load balancer with a virtual server on it,
//!   and a service no virtual server points at to its own id, which no load balancer has: an
//!   orphan the full sync removes ([`orphan_path`]);
//! - after a load balancer's virtual servers leave it (its last listener deleted, or the load
//!   balancer), the service is deleted if no other virtual server points at it
//!   ([`unused`], then one PATCH). NSX refuses to delete a service a virtual server still
//!   references, so a load balancer joining meanwhile keeps it; one joining after the deletion
//!   creates it again in its own PATCH.

use fulcrum_core::driver::DriverError;
use serde_json::Value;

use super::client::NsxClient;
use super::collections::{SERVICES, VIRTUAL_SERVERS};
use super::config::SIZES;
use super::inventory::{self, Held};
use super::render::Desired;
use crate::kit::tags::{self, Tag};

/// The tag scope that marks a shared service; its tag is the Tier-1's id.
pub const SHARED_SCOPE: &str = "fulcrum-lbs-tier1";

/// The prefix of shared services' ids.
const PREFIX: &str = "fulcrum-lbs-";

/// The id of the shared service of a Tier-1.
pub fn service_id(tier1_id: &str) -> String {
    format!("{PREFIX}{tier1_id}")
}

/// The tags of the shared service of a Tier-1.
pub fn tags(tier1_id: &str) -> Vec<Tag> {
    vec![
        Tag::new(tags::CREATED_BY, tags::CREATOR),
        Tag::new(SHARED_SCOPE, tier1_id),
    ]
}

/// Whether an object is a shared service Fulcrum made.
pub fn is_shared(object: &Value) -> bool {
    let tags = object["tags"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    tags.iter()
        .any(|t| t["scope"] == tags::CREATED_BY && t["tag"] == tags::CREATOR)
        && tags.iter().any(|t| t["scope"] == SHARED_SCOPE)
}

/// The path of the shared service that the full sync reports, under its own id, as held by
/// no load balancer: `Some` when `load_balancer_id` is such an id.
pub fn orphan_path(load_balancer_id: &str) -> Option<String> {
    load_balancer_id
        .starts_with(PREFIX)
        .then(|| SERVICES.path(load_balancer_id))
}

/// The shared services the virtual servers among `held` are attached to.
pub fn services_of(held: &Held) -> Vec<String> {
    let mut paths: Vec<String> = held
        .iter()
        .filter(|(path, _)| path.starts_with(&VIRTUAL_SERVERS.path("")))
        .filter_map(|(_, vs)| vs["lb_service_path"].as_str())
        .filter(|path| path.starts_with(&SERVICES.path(PREFIX)))
        .map(str::to_string)
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

fn rank(size: &str) -> usize {
    SIZES.iter().position(|s| *s == size).unwrap_or(0)
}

/// `desired` joined with what the manager holds of the shared service it names. A service
/// held at least as large as asked is sent without its size and without `_revision`
/// ([`Desired::unguarded`]): the PATCH then changes nothing the other load balancers rely on,
/// so load balancers joining at once do not conflict on it, and it creates the service again
/// if it was deleted meanwhile. A larger size is sent with `_revision`, so that two load
/// balancers growing it at once cannot shrink it.
pub fn join(desired: &mut Desired, held: &Held) {
    for (path, body) in desired.objects.iter_mut() {
        if !is_shared(body) {
            continue;
        }
        let Some(held_size) = held.get(path).and_then(|h| h["size"].as_str()) else {
            continue;
        };
        if rank(held_size) >= rank(body["size"].as_str().unwrap_or_default())
            && let Some(fields) = body.as_object_mut()
        {
            fields.remove("size");
            desired.unguarded.insert(path.clone());
        }
    }
}

/// `desired` as one load balancer sees it: a shared service without a size, so that other
/// load balancers growing the service are not its drift.
pub fn own_view(desired: &Desired) -> Desired {
    let mut view = desired.clone();
    for body in view.objects.values_mut().filter(|b| is_shared(b)) {
        if let Some(fields) = body.as_object_mut() {
            fields.remove("size");
        }
    }
    view
}

/// Whether no virtual server is attached to the shared service at `path` (one search).
pub async fn unused(client: &NsxClient, path: &str) -> Result<bool, DriverError> {
    let query = format!(
        "resource_type:{} AND lb_service_path:{}",
        VIRTUAL_SERVERS.base_type,
        inventory::escape(path)
    );
    let found = client
        .list_all("/search/query", &[("query", query)])
        .await?;
    Ok(found.is_empty())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const PATH: &str = "/infra/lb-services/fulcrum-lbs-t1";

    fn service(size: &str) -> Value {
        json!({
            "resource_type": "LBService",
            "id": "fulcrum-lbs-t1",
            "display_name": "fulcrum-lbs-t1",
            "connectivity_path": "/infra/tier-1s/t1",
            "size": size,
            "enabled": true,
            "_revision": 4,
            "tags": tags("t1"),
        })
    }

    fn desired(size: &str) -> Desired {
        let mut body = service(size);
        body.as_object_mut().unwrap().remove("_revision");
        Desired {
            objects: [(PATH.to_string(), body)].into_iter().collect(),
            ..Desired::default()
        }
    }

    #[test]
    fn joining_keeps_the_largest_size() {
        let held: Held = [(PATH.to_string(), service("LARGE"))].into();
        let mut want = desired("SMALL");
        join(&mut want, &held);
        assert!(want.objects[PATH].get("size").is_none(), "kept as it is");
        assert!(want.unguarded.contains(PATH));
        let mut larger = desired("XLARGE");
        join(&mut larger, &held);
        assert_eq!(larger.objects[PATH]["size"], "XLARGE");
        assert!(larger.unguarded.is_empty(), "growing it checks _revision");
        let mut new = desired("MEDIUM");
        join(&mut new, &Held::new());
        assert_eq!(new.objects[PATH]["size"], "MEDIUM");
        assert!(own_view(&larger).objects[PATH].get("size").is_none());
        assert_eq!(own_view(&want).objects[PATH]["tags"], json!(tags("t1")));
    }

    #[test]
    fn the_services_of_a_load_balancer_are_those_its_virtual_servers_attach_to() {
        let held: Held = [
            (
                "/infra/lb-virtual-servers/a".to_string(),
                json!({"lb_service_path": PATH}),
            ),
            (
                "/infra/lb-virtual-servers/b".to_string(),
                json!({"lb_service_path": PATH}),
            ),
            (
                "/infra/lb-virtual-servers/c".to_string(),
                json!({"lb_service_path": "/infra/lb-services/fulcrum-lb-x"}),
            ),
            ("/infra/lb-pools/p".to_string(), json!({})),
        ]
        .into();
        assert_eq!(services_of(&held), [PATH]);
        assert_eq!(orphan_path("fulcrum-lbs-t1").as_deref(), Some(PATH));
        assert_eq!(orphan_path("lb1"), None);
    }
}
