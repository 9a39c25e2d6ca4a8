//! Validation of bodies against the vendor's Swagger 2.0 definitions.
//!
//! The NSX Policy spec is Swagger 2.0: a `definitions` map whose types extend their bases with
//! `allOf` and pick a subtype by a `discriminator` field. JSON Schema validators know neither
//! Swagger nor discriminators, so the definitions are turned into one draft-4 document:
//! - an empty `required` (invalid in draft 4) is dropped, and so is `discriminator`;
//! - a field whose type is a discriminated base (an `LBRuleAction`, an `LBSnatTranslation`) is
//!   checked against the subtype its discriminator names: for each subtype, "the discriminator
//!   is not this subtype's name, or the value is valid as this subtype";
//! - the custom formats `ip`, `port-or-range` and `address-or-block-or-range` are checked.
//!
//! An object is validated against its concrete definition, chosen by its `resource_type`. The
//! hierarchical API's `children` are taken off first: each child is validated on its own.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

/// The file name of the vendor's definitions.
pub const SCHEMA_FILE: &str = "nsx_policy_lb_schemas.json";
/// The environment variable that names the definitions file.
pub const SCHEMA_ENV: &str = "FULCRUM_NSX_SCHEMA";

/// The wrapper type of the hierarchical API's children; its subtypes are validated one by one.
const CHILD_BASE: &str = "ChildPolicyConfigResource";

/// Why the definitions could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The file could not be read.
    #[error("cannot read the NSX schema {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not JSON or has no `definitions`.
    #[error("the NSX schema {path} is not a Swagger 2.0 document with definitions: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Where the vendor definitions are looked for: `FULCRUM_NSX_SCHEMA`, else
/// `../shared/vendor/nsx_policy_lb_schemas.json` relative to the workspace root.
pub fn default_path() -> PathBuf {
    match std::env::var_os(SCHEMA_ENV) {
        Some(path) => PathBuf::from(path),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/vendor")
            .join(SCHEMA_FILE),
    }
}

/// The vendor definitions, ready to validate bodies; validators are compiled on first use.
pub struct Schema {
    document: Value,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schema").finish_non_exhaustive()
    }
}

impl Schema {
    /// Read the Swagger 2.0 file at `path`.
    pub fn load(path: &Path) -> Result<Self, SchemaError> {
        let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let swagger: Value = serde_json::from_str(&text).map_err(|e| SchemaError::Format {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Self::from_swagger(&swagger).map_err(|reason| SchemaError::Format {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Build from a Swagger 2.0 document already parsed.
    pub fn from_swagger(swagger: &Value) -> Result<Self, String> {
        let definitions = swagger
            .get("definitions")
            .and_then(Value::as_object)
            .ok_or("no `definitions` object")?;
        Ok(Self {
            document: json!({ "definitions": draft4_definitions(definitions) }),
            validators: Mutex::new(HashMap::new()),
        })
    }

    /// Whether the definitions hold a type.
    pub fn defines(&self, definition: &str) -> bool {
        self.document["definitions"].get(definition).is_some()
    }

    /// Check `body` against a definition; the violations, each with where it is, when it fails.
    pub fn validate(&self, definition: &str, body: &Value) -> Result<(), Vec<String>> {
        let validator = self
            .validator(definition)
            .map_err(|reason| vec![format!("the definition {definition} is unusable: {reason}")])?;
        let mut body = body.clone();
        if let Some(object) = body.as_object_mut() {
            object.remove("children");
        }
        let violations: Vec<String> = validator
            .iter_errors(&body)
            .map(|error| {
                let at = error.instance_path().to_string();
                if at.is_empty() {
                    error.to_string()
                } else {
                    format!("{at}: {error}")
                }
            })
            .collect();
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations)
        }
    }

    fn validator(&self, definition: &str) -> Result<Arc<jsonschema::Validator>, String> {
        let mut validators = self.validators.lock().expect("schema cache poisoned");
        if let Some(validator) = validators.get(definition) {
            return Ok(validator.clone());
        }
        if !self.defines(definition) {
            return Err("not defined".into());
        }
        let mut root = self.document.clone();
        root["allOf"] = json!([{ "$ref": format!("#/definitions/{definition}") }]);
        let validator = jsonschema::draft4::options()
            .should_validate_formats(true)
            .should_ignore_unknown_formats(true)
            .with_format("ip", |s: &str| s.parse::<IpAddr>().is_ok())
            .with_format("port-or-range", is_port_or_range)
            .with_format("address-or-block-or-range", is_address_block_or_range)
            .build(&root)
            .map_err(|e| e.to_string())?;
        let validator = Arc::new(validator);
        validators.insert(definition.to_owned(), validator.clone());
        Ok(validator)
    }
}

fn is_port(s: &str) -> bool {
    matches!(s.parse::<u32>(), Ok(1..=65535))
}

fn is_port_or_range(s: &str) -> bool {
    match s.split_once('-') {
        Some((low, high)) => {
            is_port(low) && is_port(high) && low.parse::<u32>().ok() <= high.parse::<u32>().ok()
        }
        None => is_port(s),
    }
}

fn is_address_block_or_range(s: &str) -> bool {
    if let Some((address, prefix)) = s.split_once('/') {
        let limit = if address.contains(':') { 128 } else { 32 };
        return address.parse::<IpAddr>().is_ok() && prefix.parse::<u8>().is_ok_and(|p| p <= limit);
    }
    if let Some((low, high)) = s.split_once('-') {
        return low.parse::<IpAddr>().is_ok() && high.parse::<IpAddr>().is_ok();
    }
    s.parse::<IpAddr>().is_ok()
}

/// The definitions rewritten as draft 4, with discriminated fields dispatched to their subtypes.
fn draft4_definitions(definitions: &Map<String, Value>) -> Value {
    let subtypes = discriminated_subtypes(definitions);
    let mut out = Map::new();
    for (name, definition) in definitions {
        let mut definition = definition.clone();
        rewrite(&mut definition, &subtypes, true);
        out.insert(name.clone(), definition);
    }
    Value::Object(out)
}

/// For each base with a discriminator (the wrapper base excepted): its field and its subtypes.
fn discriminated_subtypes(
    definitions: &Map<String, Value>,
) -> HashMap<String, (String, Vec<String>)> {
    let mut bases = HashMap::new();
    for (name, definition) in definitions {
        let parts = std::iter::once(definition).chain(
            definition
                .get("allOf")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        );
        for part in parts {
            if let Some(field) = part.get("discriminator").and_then(Value::as_str)
                && name != CHILD_BASE
            {
                bases.insert(name.clone(), (field.to_owned(), Vec::new()));
            }
        }
    }
    for (name, definition) in definitions {
        for part in definition
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(base) = part.get("$ref").and_then(Value::as_str).and_then(local_ref)
                && let Some((_, subtypes)) = bases.get_mut(base)
            {
                subtypes.push(name.clone());
            }
        }
    }
    bases
}

fn local_ref(reference: &str) -> Option<&str> {
    reference.strip_prefix("#/definitions/")
}

/// Rewrite a schema node in place. `inherits` is true where a `$ref` in an `allOf` names the
/// base a type extends (that one is kept as it is, or every subtype would dispatch to itself).
fn rewrite(node: &mut Value, subtypes: &HashMap<String, (String, Vec<String>)>, inherits: bool) {
    match node {
        Value::Object(object) => {
            object.remove("discriminator");
            if object
                .get("required")
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty)
            {
                object.remove("required");
            }
            if !inherits
                && let Some(base) = object
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(local_ref)
                && let Some((field, names)) = subtypes.get(base)
                && !names.is_empty()
            {
                let base = base.to_owned();
                let mut all = vec![json!({ "$ref": format!("#/definitions/{base}") })];
                for name in names {
                    all.push(json!({ "anyOf": [
                        { "properties": { field.as_str(): { "not": { "enum": [name] } } } },
                        { "$ref": format!("#/definitions/{name}") },
                    ]}));
                }
                object.remove("$ref");
                object.insert("allOf".into(), Value::Array(all));
                return;
            }
            for (key, value) in object.iter_mut() {
                rewrite(value, subtypes, key == "allOf");
            }
        }
        Value::Array(items) => {
            for item in items {
                rewrite(item, subtypes, inherits);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn swagger() -> Value {
        json!({ "definitions": {
            "Action": { "type": "object", "required": ["type"], "discriminator": "type",
                        "properties": { "type": { "type": "string" } } },
            "Select": { "allOf": [ { "$ref": "#/definitions/Action" },
                { "type": "object", "required": ["pool_path"],
                  "properties": { "pool_path": { "type": "string" } } } ] },
            "Rule": { "type": "object", "required": [],
                      "properties": { "actions": { "type": "array",
                          "items": { "$ref": "#/definitions/Action" } },
                          "ip": { "type": "string", "format": "ip" },
                          "port": { "type": "string", "format": "port-or-range" } } }
        }})
    }

    #[test]
    fn a_discriminated_field_is_checked_as_its_subtype() {
        let schema = Schema::from_swagger(&swagger()).unwrap();
        let good = json!({ "actions": [{ "type": "Select", "pool_path": "/p" }] });
        assert!(schema.validate("Rule", &good).is_ok());
        let missing = json!({ "actions": [{ "type": "Select" }] });
        assert!(schema.validate("Rule", &missing).is_err());
    }

    #[test]
    fn custom_formats_are_checked() {
        let schema = Schema::from_swagger(&swagger()).unwrap();
        assert!(
            schema
                .validate("Rule", &json!({ "ip": "10.0.0.1", "port": "80-90" }))
                .is_ok()
        );
        assert!(
            schema
                .validate("Rule", &json!({ "ip": "10.0.0.300" }))
                .is_err()
        );
        assert!(schema.validate("Rule", &json!({ "port": "0" })).is_err());
        assert!(
            schema
                .validate("Rule", &json!({ "port": "90-80" }))
                .is_err()
        );
    }
}
