//! The flavor metadata the HAProxy driver understands: process-wide settings of one load
//! balancer's HAProxy.
//!
//! Every load balancer is its own HAProxy on a shared host, so the defaults are modest (one
//! thread, 4,096 connections); a flavor lets an operator give chosen load balancers more. The
//! metadata is checked strictly when a flavor profile is stored (unknown keys, wrong types and
//! values out of range are refused with the reason), and parsed again with the same rules when a
//! tree is rendered, so that only what this driver accepted ever reaches a configuration.

use serde_json::{Map, Value};

/// The process settings a flavor chooses for one load balancer's HAProxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessTuning {
    /// Worker threads (`nbthread`).
    pub nbthread: u64,
    /// Connections the whole process accepts at once (`global maxconn`).
    pub maxconn: u64,
}

impl Default for ProcessTuning {
    /// One thread each, so that many load balancers do not oversubscribe the host's cores, and a
    /// connection limit within common file-descriptor limits (HAProxy needs about two per
    /// connection).
    fn default() -> Self {
        ProcessTuning {
            nbthread: 1,
            maxconn: 4096,
        }
    }
}

/// One integer flavor key: its name, meaning and accepted range.
struct IntegerKey {
    name: &'static str,
    description: &'static str,
    min: u64,
    max: u64,
}

/// HAProxy 2.6 runs at most 64 threads per process.
const NBTHREAD: IntegerKey = IntegerKey {
    name: "nbthread",
    description: "Worker threads of this load balancer's HAProxy, 1 to 64 (default 1).",
    min: 1,
    max: 64,
};

/// HAProxy needs about two file descriptors per connection, and Linux gives one process at most
/// 1,048,576 by default (`fs.nr_open`). The host's own limit may be lower: HAProxy then refuses to
/// start and the load balancer goes to ERROR with HAProxy's reason.
const MAXCONN: IntegerKey = IntegerKey {
    name: "maxconn",
    description: "Connections this load balancer's HAProxy accepts at once, over all its \
                  listeners, 1 to 500000 (default 4096).",
    min: 1,
    max: 500_000,
};

const KEYS: [&IntegerKey; 2] = [&NBTHREAD, &MAXCONN];

/// The flavor metadata keys, as (name, description) pairs.
pub fn capabilities() -> Vec<(String, String)> {
    KEYS.iter()
        .map(|k| (k.name.to_string(), k.description.to_string()))
        .collect()
}

/// Check the metadata of a flavor profile for this driver; the error says what is wrong.
pub fn validate(metadata: &Value) -> Result<(), String> {
    match metadata {
        Value::Object(map) => ProcessTuning::from_metadata(map).map(|_| ()),
        _ => Err("The flavor metadata must be a JSON object.".into()),
    }
}

impl ProcessTuning {
    /// The settings a load balancer's flavor metadata chooses; keys it leaves out keep their
    /// defaults, and anything [`validate`] refuses is an error here too.
    pub fn from_metadata(metadata: &Map<String, Value>) -> Result<Self, String> {
        let unknown: Vec<&str> = metadata
            .keys()
            .map(String::as_str)
            .filter(|name| !KEYS.iter().any(|key| key.name == *name))
            .collect();
        if !unknown.is_empty() {
            return Err(format!(
                "Unsupported flavor metadata key(s): {}",
                unknown.join(", ")
            ));
        }
        let defaults = ProcessTuning::default();
        Ok(ProcessTuning {
            nbthread: integer(metadata, &NBTHREAD)?.unwrap_or(defaults.nbthread),
            maxconn: integer(metadata, &MAXCONN)?.unwrap_or(defaults.maxconn),
        })
    }
}

/// The value of an integer key, if present and within its range.
fn integer(metadata: &Map<String, Value>, key: &IntegerKey) -> Result<Option<u64>, String> {
    let Some(value) = metadata.get(key.name) else {
        return Ok(None);
    };
    match value.as_u64() {
        Some(n) if (key.min..=key.max).contains(&n) => Ok(Some(n)),
        _ => Err(format!(
            "Flavor metadata key {} must be an integer from {} to {}, not {value}.",
            key.name, key.min, key.max
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tuning(metadata: Value) -> Result<ProcessTuning, String> {
        validate(&metadata)?;
        let Value::Object(map) = metadata else {
            unreachable!("validate accepts only objects")
        };
        ProcessTuning::from_metadata(&map)
    }

    #[test]
    fn empty_metadata_keeps_the_defaults() {
        assert_eq!(
            tuning(json!({})).unwrap(),
            ProcessTuning {
                nbthread: 1,
                maxconn: 4096
            }
        );
    }

    #[test]
    fn both_keys_are_taken_alone_or_together() {
        assert_eq!(
            tuning(json!({"nbthread": 2, "maxconn": 2000})).unwrap(),
            ProcessTuning {
                nbthread: 2,
                maxconn: 2000
            }
        );
        assert_eq!(tuning(json!({"nbthread": 64})).unwrap().maxconn, 4096);
        assert_eq!(tuning(json!({"maxconn": 500000})).unwrap().nbthread, 1);
        assert_eq!(tuning(json!({"maxconn": 1})).unwrap().maxconn, 1);
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let err = tuning(json!({"bogus": 1, "nbthread": 2, "extra": "x"})).unwrap_err();
        assert_eq!(err, "Unsupported flavor metadata key(s): bogus, extra");
        let map = json!({"bogus": 1}).as_object().unwrap().clone();
        let err = ProcessTuning::from_metadata(&map).unwrap_err();
        assert_eq!(err, "Unsupported flavor metadata key(s): bogus");
    }

    #[test]
    fn wrong_types_and_ranges_are_refused_with_the_rule() {
        for (metadata, shown) in [
            (json!({"nbthread": "two"}), "\"two\""),
            (json!({"nbthread": "2"}), "\"2\""),
            (json!({"nbthread": 2.5}), "2.5"),
            (json!({"nbthread": 2.0}), "2.0"),
            (json!({"nbthread": true}), "true"),
            (json!({"nbthread": null}), "null"),
            (json!({"nbthread": 0}), "0"),
            (json!({"nbthread": 65}), "65"),
            (json!({"nbthread": -1}), "-1"),
        ] {
            let err = tuning(metadata.clone()).unwrap_err();
            assert_eq!(
                err,
                format!(
                    "Flavor metadata key nbthread must be an integer from 1 to 64, not {shown}."
                ),
                "{metadata}"
            );
        }
        for bad in [json!(0), json!(500_001), json!("4096"), json!([1])] {
            let err = tuning(json!({ "maxconn": bad })).unwrap_err();
            assert!(
                err.starts_with("Flavor metadata key maxconn must be an integer from 1 to 500000"),
                "{err}"
            );
        }
    }

    #[test]
    fn metadata_must_be_an_object() {
        for metadata in [json!([]), json!("nbthread"), json!(2)] {
            let err = validate(&metadata).unwrap_err();
            assert_eq!(
                err, "The flavor metadata must be a JSON object.",
                "{metadata}"
            );
        }
    }

    #[test]
    fn capabilities_name_every_key_with_its_range() {
        let caps = capabilities();
        let names: Vec<&str> = caps.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["nbthread", "maxconn"]);
        assert!(caps[0].1.contains("1 to 64"), "{}", caps[0].1);
        assert!(caps[1].1.contains("1 to 500000"), "{}", caps[1].1);
    }
}
