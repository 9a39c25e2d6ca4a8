//! One load-balancer service per Tier-1, shared by the load balancers behind it, when the
//! operator chooses so (`share_lb_service = true`): an edge runs one service per gateway, so
//! sharing saves edge capacity where many small load balancers sit behind one Tier-1.
//!
//! The shared service `fulcrum-lbs-<tier1 id>` belongs to no single load balancer. Who uses it
//! is written on the service itself, one `os-lbaas-lb-id` tag per load balancer, beside the
//! created-by tag and a [`SHARED_SCOPE`] tag naming the Tier-1. So the search by a load
//! balancer's tag finds the service with its own objects, the full sync attributes it to every
//! load balancer that uses it (never an orphan while one does), and the last load balancer to
//! leave deletes it. Joining and leaving change the tags in the same hierarchical PATCH as the
//! load balancer's objects, with the service's `_revision`: two load balancers joining at once
//! get a 412 for one of them, which reads the service again and joins after the other.
//!
//! The size is the largest asked for: a load balancer joining with a larger flavor grows the
//! service; it does not shrink while the service is shared, as the sizes the other load
//! balancers asked for are not recorded on the manager.

use fulcrum_core::driver::DriverError;
use serde_json::{Value, json};

use super::collections::SERVICES;
use super::config::SIZES;
use super::inventory::Held;
use super::render::Desired;
use crate::kit::tags::{self, Tag};

/// The tag scope that marks a shared service; its tag is the Tier-1's id.
pub const SHARED_SCOPE: &str = "fulcrum-lbs-tier1";

/// How many load balancers one shared service can record: NSX keeps at most 30 tags on an
/// object, two of which mark the service.
pub const MAX_USERS: usize = 28;

/// The id of the shared service of a Tier-1.
pub fn service_id(tier1_id: &str) -> String {
    format!("fulcrum-lbs-{tier1_id}")
}

/// The tags of a shared service used by `users`.
pub fn tags<'a>(tier1_id: &str, users: impl IntoIterator<Item = &'a str>) -> Vec<Tag> {
    let mut out = vec![
        Tag::new(tags::CREATED_BY, tags::CREATOR),
        Tag::new(SHARED_SCOPE, tier1_id),
    ];
    out.extend(
        users
            .into_iter()
            .map(|u| Tag::new(tags::LOAD_BALANCER_ID, u)),
    );
    out
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

/// The load balancers a shared service records as its users, in the order it holds them.
pub fn users(object: &Value) -> Vec<String> {
    object["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["scope"] == tags::LOAD_BALANCER_ID)
        .filter_map(|t| t["tag"].as_str())
        .map(str::to_string)
        .collect()
}

fn tier1_of(object: &Value) -> Option<&str> {
    object["tags"]
        .as_array()?
        .iter()
        .find(|t| t["scope"] == SHARED_SCOPE)?["tag"]
        .as_str()
}

fn rank(size: &str) -> usize {
    SIZES.iter().position(|s| *s == size).unwrap_or(0)
}

/// `desired` of `load_balancer_id` joined with what the manager holds of the shared service it
/// names: the users held stay users, and the size is the larger of the held and the asked.
pub fn join(desired: &mut Desired, held: &Held, load_balancer_id: &str) -> Result<(), DriverError> {
    for (path, body) in desired.objects.iter_mut() {
        if !is_shared(body) {
            continue;
        }
        let Some(holding) = held.get(path) else {
            continue;
        };
        let tier1 = tier1_of(body).unwrap_or_default().to_string();
        let mut users = users(holding);
        if !users.iter().any(|u| u == load_balancer_id) {
            users.push(load_balancer_id.to_string());
        }
        if users.len() > MAX_USERS {
            return Err(DriverError::rejected(format!(
                "The load-balancer service shared on the Tier-1 {tier1} already serves \
                 {MAX_USERS} load balancers, as many as NSX can record on it."
            )));
        }
        body["tags"] = json!(tags(&tier1, users.iter().map(String::as_str)));
        if let Some(held_size) = holding["size"].as_str()
            && rank(held_size) > rank(body["size"].as_str().unwrap_or_default())
        {
            body["size"] = json!(held_size);
        }
    }
    Ok(())
}

/// `desired` as one load balancer sees it: a shared service with only its own user tag and
/// without a size, so that other load balancers joining, leaving or growing the service are
/// not its drift.
pub fn own_view(desired: &Desired, load_balancer_id: &str) -> Desired {
    let mut view = desired.clone();
    for body in view.objects.values_mut() {
        if let Some(tier1) = tier1_of(body).map(str::to_string) {
            body["tags"] = json!(tags(&tier1, [load_balancer_id]));
            if let Some(fields) = body.as_object_mut() {
                fields.remove("size");
            }
        }
    }
    view
}

/// What stays of `held` when `load_balancer_id` leaves: each shared service it used, without
/// its user tag, unless it was the last user (then the service goes with its objects).
pub fn leave(held: &Held, load_balancer_id: &str) -> Desired {
    let mut stays = Desired::default();
    for (path, object) in held {
        let Some(tier1) = tier1_of(object) else {
            continue;
        };
        let others: Vec<String> = users(object)
            .into_iter()
            .filter(|u| u != load_balancer_id)
            .collect();
        if others.is_empty() {
            continue;
        }
        let mut body = json!({
            "resource_type": SERVICES.base_type,
            "tags": tags(tier1, others.iter().map(String::as_str)),
        });
        for field in ["id", "display_name", "connectivity_path", "size", "enabled"] {
            if let Some(value) = object.get(field) {
                body[field] = value.clone();
            }
        }
        stays.objects.insert(path.clone(), body);
    }
    stays
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/infra/lb-services/fulcrum-lbs-t1";

    fn service(users: &[&str], size: &str) -> Value {
        json!({
            "resource_type": "LBService",
            "id": "fulcrum-lbs-t1",
            "display_name": "fulcrum-lbs-t1",
            "connectivity_path": "/infra/tier-1s/t1",
            "size": size,
            "enabled": true,
            "_revision": 4,
            "tags": tags("t1", users.iter().copied()),
        })
    }

    fn desired(lb: &str, size: &str) -> Desired {
        let mut body = service(&[lb], size);
        body.as_object_mut().unwrap().remove("_revision");
        Desired {
            objects: [(PATH.to_string(), body)].into_iter().collect(),
        }
    }

    #[test]
    fn joining_keeps_the_users_and_the_largest_size() {
        let held: Held = [(PATH.to_string(), service(&["a", "b"], "LARGE"))].into();
        let mut want = desired("c", "SMALL");
        join(&mut want, &held, "c").unwrap();
        assert_eq!(users(&want.objects[PATH]), ["a", "b", "c"]);
        assert_eq!(want.objects[PATH]["size"], "LARGE");
        let mut larger = desired("a", "XLARGE");
        join(&mut larger, &held, "a").unwrap();
        assert_eq!(users(&larger.objects[PATH]), ["a", "b"]);
        assert_eq!(larger.objects[PATH]["size"], "XLARGE");
        let own = own_view(&want, "c");
        assert_eq!(users(&own.objects[PATH]), ["c"], "only itself is recorded");
        assert!(own.objects[PATH].get("size").is_none());
    }

    #[test]
    fn a_full_service_is_refused() {
        let names: Vec<String> = (0..MAX_USERS).map(|i| format!("lb{i}")).collect();
        let held: Held = [(
            PATH.to_string(),
            service(
                &names.iter().map(String::as_str).collect::<Vec<_>>(),
                "SMALL",
            ),
        )]
        .into();
        let mut want = desired("one-more", "SMALL");
        let e = join(&mut want, &held, "one-more").unwrap_err();
        assert!(e.message().contains("already serves 28"), "{e}");
        let mut again = desired("lb3", "SMALL");
        join(&mut again, &held, "lb3").unwrap();
    }

    #[test]
    fn leaving_keeps_the_service_for_the_others_and_the_last_removes_it() {
        let held: Held = [
            (PATH.to_string(), service(&["a", "b"], "MEDIUM")),
            ("/infra/lb-pools/fulcrum-pool-p".to_string(), json!({})),
        ]
        .into();
        let stays = leave(&held, "a");
        let body = &stays.objects[PATH];
        assert_eq!(users(body), ["b"]);
        assert_eq!(body["size"], "MEDIUM");
        assert!(body.get("_revision").is_none());
        assert_eq!(stays.objects.len(), 1);
        let only: Held = [(PATH.to_string(), service(&["b"], "MEDIUM"))].into();
        assert!(leave(&only, "b").objects.is_empty());
    }
}
