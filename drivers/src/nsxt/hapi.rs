//! The body of one hierarchical `PATCH /policy/api/v1/infra`: a whole load balancer, each
//! object in its `Child*` wrapper, with the `_revision` the manager holds for those that exist
//! (so that a change made meanwhile is refused with 412 rather than overwritten; not for a
//! shared service joined as it is) and
//! `marked_for_delete` for what the manager holds that is no longer desired.

use serde_json::{Value, json};

use super::collections;
use super::inventory::Held;
use super::render::Desired;

/// The `Infra` body that makes the manager go from `held` to `desired`.
pub fn infra(desired: &Desired, held: &Held) -> Value {
    let mut children = Vec::new();
    for (path, body) in &desired.objects {
        let Some((collection, _)) = collections::parse_path(path) else {
            continue;
        };
        let mut object = body.clone();
        if let Some(revision) = held.get(path).and_then(|h| h.get("_revision"))
            && !desired.unguarded.contains(path)
        {
            object["_revision"] = revision.clone();
        }
        children.push(json!({
            "resource_type": collection.wrapper,
            collection.base_type: object,
        }));
    }
    for (path, object) in held {
        if desired.objects.contains_key(path) {
            continue;
        }
        let Some((collection, id)) = collections::parse_path(path) else {
            continue;
        };
        children.push(json!({
            "resource_type": collection.wrapper,
            "marked_for_delete": true,
            collection.base_type: {
                "id": id,
                "resource_type": object["resource_type"],
                "marked_for_delete": true,
            },
        }));
    }
    json!({"resource_type": "Infra", "children": children})
}
