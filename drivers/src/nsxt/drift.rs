//! Fingerprints of what the manager holds for a load balancer, compared with what the driver
//! last applied, so that a full sync re-applies only what drifted.
//!
//! The manager adds fields of its own (`_revision`, `path`, defaults), so what it holds is
//! looked at only through what the driver sent: each held object is projected onto the fields
//! of the desired one, recursively. An object missing, or held but no longer desired, changes
//! the fingerprint too.

use fulcrum_core::driver::Fingerprint;
use serde_json::{Map, Value, json};

use super::inventory::Held;
use super::render::Desired;

/// The fingerprint of what the manager holds, seen through `desired`.
pub fn held(held: &Held, desired: &Desired) -> Fingerprint {
    let mut seen = Vec::new();
    for (path, body) in &desired.objects {
        let now = match held.get(path) {
            Some(h) => project(h, body),
            None => json!("missing"),
        };
        seen.push((path.as_str(), now));
    }
    for path in held.keys() {
        if !desired.objects.contains_key(path) {
            seen.push((path.as_str(), json!("extra")));
        }
    }
    Fingerprint::of(serde_json::to_vec(&seen).unwrap_or_default())
}

/// The fingerprint of `desired` itself: what [`held`] gives when the manager holds it exactly.
pub fn desired(desired: &Desired) -> Fingerprint {
    let seen: Vec<(&str, Value)> = desired
        .objects
        .iter()
        .map(|(path, body)| (path.as_str(), project(body, body)))
        .collect();
    Fingerprint::of(serde_json::to_vec(&seen).unwrap_or_default())
}

/// What the driver last applied to a load balancer, kept compact for the full sync: the
/// desired objects as JSON text, read again only when a full sync compares, and their
/// fingerprint.
#[derive(Debug, Clone)]
pub struct Applied {
    objects: Box<str>,
    fingerprint: Fingerprint,
}

impl Applied {
    /// The record of `desired`.
    pub fn of(desired: &Desired) -> Self {
        Applied {
            objects: serde_json::to_string(&desired.objects)
                .unwrap_or_default()
                .into_boxed_str(),
            fingerprint: self::desired(desired),
        }
    }

    /// The fingerprint of what was applied ([`desired`]).
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The fingerprint of what the manager holds, seen through what was applied ([`held`]).
    pub fn held(&self, held: &Held) -> Fingerprint {
        let desired = Desired {
            objects: serde_json::from_str(&self.objects).unwrap_or_default(),
            ..Desired::default()
        };
        self::held(held, &desired)
    }
}

/// Fields a manager takes but never shows again (a certificate's private key): not compared.
const WRITE_ONLY: &[&str] = &["private_key"];

/// `held` seen through the shape of `wanted`: only the keys `wanted` has, recursively; of
/// `tags`, only those `wanted` has (an operator's own tags, or the other users of a shared
/// service, are not drift).
fn project(held: &Value, wanted: &Value) -> Value {
    match (held, wanted) {
        (Value::Object(h), Value::Object(w)) => {
            let mut out = Map::new();
            for (key, w) in w.iter().filter(|(k, _)| !WRITE_ONLY.contains(&k.as_str())) {
                let seen = match (key.as_str(), h.get(key), w) {
                    ("tags", Some(Value::Array(h)), Value::Array(w)) => {
                        Value::Array(w.iter().filter(|t| h.contains(t)).cloned().collect())
                    }
                    (_, Some(h), w) => project(h, w),
                    (_, None, _) => Value::Null,
                };
                out.insert(key.clone(), seen);
            }
            Value::Object(out)
        }
        (Value::Array(h), Value::Array(w)) if h.len() == w.len() => {
            Value::Array(h.iter().zip(w).map(|(h, w)| project(h, w)).collect())
        }
        _ => held.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired_of(objects: &[(&str, Value)]) -> Desired {
        Desired {
            objects: objects
                .iter()
                .map(|(p, v)| (p.to_string(), v.clone()))
                .collect(),
            ..Desired::default()
        }
    }

    #[test]
    fn fields_the_manager_adds_are_not_drift() {
        let want = desired_of(&[("/infra/lb-pools/p", json!({"members": [{"port": "80"}]}))]);
        let mut held = Held::new();
        held.insert(
            "/infra/lb-pools/p".into(),
            json!({"_revision": 3, "members": [{"port": "80", "weight": 1}]}),
        );
        assert_eq!(super::held(&held, &want), desired(&want));
    }

    #[test]
    fn a_record_compares_as_what_it_records() {
        let want = desired_of(&[(
            "/infra/lb-pools/p",
            json!({"members": [{"port": "80", "weight": 2}], "algorithm": "IP_HASH"}),
        )]);
        let record = Applied::of(&want);
        assert_eq!(record.fingerprint(), desired(&want));
        let mut held = Held::new();
        held.insert(
            "/infra/lb-pools/p".into(),
            json!({"_revision": 1, "algorithm": "IP_HASH", "members": [{"weight": 2, "port": "80"}]}),
        );
        assert_eq!(record.held(&held), record.fingerprint());
        held.insert("/infra/lb-pools/p".into(), json!({"algorithm": "IP_HASH"}));
        assert_ne!(record.held(&held), record.fingerprint());
    }

    #[test]
    fn tags_added_on_the_manager_are_not_drift_and_tags_removed_are() {
        let tag = |t: &str| json!({"scope": "s", "tag": t});
        let want = desired_of(&[("/infra/lb-pools/p", json!({"tags": [tag("a")]}))]);
        let mut held = Held::new();
        held.insert(
            "/infra/lb-pools/p".into(),
            json!({"tags": [tag("b"), tag("a")]}),
        );
        assert_eq!(super::held(&held, &want), desired(&want));
        held.insert("/infra/lb-pools/p".into(), json!({"tags": [tag("b")]}));
        assert_ne!(super::held(&held, &want), desired(&want));
    }

    #[test]
    fn a_private_key_the_manager_does_not_show_is_not_drift() {
        let want = desired_of(&[(
            "/infra/certificates/c",
            json!({"pem_encoded": "C", "private_key": "K"}),
        )]);
        let mut held = Held::new();
        held.insert("/infra/certificates/c".into(), json!({"pem_encoded": "C"}));
        assert_eq!(super::held(&held, &want), desired(&want));
    }

    #[test]
    fn a_changed_missing_or_extra_object_is_drift() {
        let want = desired_of(&[("/infra/lb-pools/p", json!({"algorithm": "IP_HASH"}))]);
        let mut changed = Held::new();
        changed.insert(
            "/infra/lb-pools/p".into(),
            json!({"algorithm": "ROUND_ROBIN"}),
        );
        assert_ne!(held(&changed, &want), desired(&want));
        assert_ne!(held(&Held::new(), &want), desired(&want));
        let mut extra = Held::new();
        extra.insert("/infra/lb-pools/p".into(), json!({"algorithm": "IP_HASH"}));
        extra.insert("/infra/lb-pools/q".into(), json!({}));
        assert_ne!(held(&extra, &want), desired(&want));
    }
}
