//! What AS3 checks in a declaration after the schema: the shape of the request (an `AS3`
//! request wrapping an `ADC` declaration, or an `ADC` declaration), its tenants, the references
//! between objects of a tenant, and the objects the device refuses.
//!
//! References AS3 resolves within a tenant, and that a driver can get wrong:
//! - a service's `pool`, `serverTLS`, `clientTLS`, `policyEndpoint` and `iRules` by name;
//! - a pool's `monitors` by `{ "use": … }` (plain strings name built-in monitors);
//! - a `TLS_Server`'s `certificates[].certificate` by name;
//! - any `{ "use": "name" }` anywhere.
//!
//! A name resolves in its own Application, then in the tenant's `Shared` one; a path
//! `/Tenant/Application/name` must exist in the tenant; `/Common/…` is taken to exist.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::bad_objects::BadObjects;
use super::schema::As3Schema;

/// The fields whose references are checked for the class of what they name.
const CHECKED_FIELDS: [&str; 7] = [
    "pool",
    "serverTLS",
    "clientTLS",
    "policyEndpoint",
    "iRules",
    "monitors",
    "certificates",
];

/// AS3's word for an Application's class.
const APPLICATION: &str = "Application";

/// Why a request is not a declaration the simulator takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShapeError {
    /// Not a single `AS3` or `ADC` object (arrays of declarations are not simulated).
    Unsupported(String),
}

/// The `ADC` declaration a request carries, and whether it asks for `updateMode: complete`.
#[derive(Debug, Clone)]
pub struct Request {
    /// The declaration.
    pub adc: Map<String, Value>,
    /// Whether tenants absent from the declaration are to be removed (a `POST /declare`).
    pub complete: bool,
}

/// Take the `ADC` declaration out of a request body.
pub fn request(body: &Value) -> Result<Request, ShapeError> {
    let object = body.as_object().ok_or_else(|| {
        ShapeError::Unsupported("the simulator takes one declaration object per request".into())
    })?;
    let adc = match object.get("class").and_then(Value::as_str) {
        Some("AS3") => object
            .get("declaration")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                ShapeError::Unsupported("an AS3 request without a declaration object".into())
            })?,
        Some("ADC") => object,
        other => {
            return Err(ShapeError::Unsupported(format!(
                "a request of class {other:?}; send class AS3 or ADC"
            )));
        }
    };
    Ok(Request {
        complete: adc.get("updateMode").and_then(Value::as_str) == Some("complete"),
        adc: adc.clone(),
    })
}

/// The tenants of a declaration, by name.
pub fn tenants(adc: &Map<String, Value>) -> BTreeMap<String, Value> {
    adc.iter()
        .filter(|(_, value)| value.get("class").and_then(Value::as_str) == Some("Tenant"))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// The Applications of a tenant, by name.
pub fn applications(tenant: &Value) -> impl Iterator<Item = (&String, &Map<String, Value>)> {
    tenant
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(name, value)| {
            let app = value.as_object()?;
            (app.get("class").and_then(Value::as_str) == Some(APPLICATION)).then_some((name, app))
        })
}

/// The declared objects of an Application (name, class, body).
pub fn objects(app: &Map<String, Value>) -> impl Iterator<Item = (&String, &str, &Value)> {
    app.iter().filter_map(|(name, value)| {
        let class = value.get("class").and_then(Value::as_str)?;
        Some((name, class, value))
    })
}

/// Whether a tenant declares no Application (AS3 removes such a tenant).
pub fn is_empty(tenant: &Value) -> bool {
    applications(tenant).next().is_none()
}

/// How many objects a tenant declares (AS3's `lineCount` stands in for it).
pub fn object_count(tenant: &Value) -> usize {
    applications(tenant)
        .map(|(_, app)| objects(app).count() + 1)
        .sum()
}

struct Resolver<'a> {
    tenant_name: &'a str,
    tenant: &'a Value,
}

impl Resolver<'_> {
    fn app(&self, name: &str) -> Option<&Map<String, Value>> {
        self.tenant
            .get(name)
            .and_then(Value::as_object)
            .filter(|app| app.get("class").and_then(Value::as_str) == Some(APPLICATION))
    }

    /// The class of the object a reference names; `Some(None)` when it exists outside the
    /// tenant (in `/Common`), `None` when it does not exist.
    fn class_of(&self, app: &str, reference: &str) -> Option<Option<String>> {
        let class = |app: &Map<String, Value>, name: &str| {
            app.get(name)
                .and_then(|o| o.get("class"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        if let Some(path) = reference.strip_prefix('/') {
            let parts: Vec<&str> = path.split('/').collect();
            return match parts.as_slice() {
                ["Common", ..] => Some(None),
                [tenant, app, name] if *tenant == self.tenant_name => {
                    class(self.app(app)?, name).map(Some)
                }
                _ => None,
            };
        }
        self.app(app)
            .and_then(|a| class(a, reference))
            .or_else(|| self.app("Shared").and_then(|a| class(a, reference)))
            .map(Some)
    }

    fn check(
        &self,
        app: &str,
        at: &str,
        reference: &str,
        expected: Option<&str>,
        errors: &mut Vec<String>,
    ) {
        match self.class_of(app, reference) {
            None => errors.push(format!(
                "{at}: contains path to non-existent object {reference}"
            )),
            Some(Some(class)) if expected.is_some_and(|e| !class.starts_with(e)) => {
                errors.push(format!(
                    "{at}: {reference} is a {class}, where a {} is expected",
                    expected.unwrap_or_default()
                ));
            }
            Some(_) => {}
        }
    }
}

/// A reference field: a name, `{ "use": name }`, or `{ "bigip": path }` (taken to exist).
fn reference(value: &Value) -> Option<&str> {
    value
        .as_str()
        .or_else(|| value.get("use").and_then(Value::as_str))
}

/// The references of a tenant that name nothing (or the wrong kind of thing), as AS3 words
/// them: `/Tenant/App/object/field: contains path to non-existent object name`.
pub fn unresolved_references(tenant_name: &str, tenant: &Value) -> Vec<String> {
    let resolver = Resolver {
        tenant_name,
        tenant,
    };
    let mut errors = Vec::new();
    for (app_name, app) in applications(tenant) {
        for (name, class, object) in objects(app) {
            let at = |field: &str| format!("/{tenant_name}/{app_name}/{name}/{field}");
            if class.starts_with("Service_") {
                for (field, expected) in [
                    ("pool", "Pool"),
                    ("serverTLS", "TLS_Server"),
                    ("clientTLS", "TLS_Client"),
                ] {
                    if let Some(target) = object.get(field).and_then(reference) {
                        resolver.check(app_name, &at(field), target, Some(expected), &mut errors);
                    }
                }
                for (field, expected) in
                    [("policyEndpoint", "Endpoint_Policy"), ("iRules", "iRule")]
                {
                    let values = match object.get(field) {
                        Some(Value::Array(items)) => items.iter().collect(),
                        Some(value) => vec![value],
                        None => Vec::new(),
                    };
                    for target in values.into_iter().filter_map(reference) {
                        resolver.check(app_name, &at(field), target, Some(expected), &mut errors);
                    }
                }
            }
            if class == "Pool" {
                for monitor in object
                    .get("monitors")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(target) = monitor.get("use").and_then(Value::as_str) {
                        resolver.check(
                            app_name,
                            &at("monitors"),
                            target,
                            Some("Monitor"),
                            &mut errors,
                        );
                    }
                }
            }
            if class == "TLS_Server" {
                for certificate in object
                    .get("certificates")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(target) = certificate.get("certificate").and_then(Value::as_str) {
                        resolver.check(
                            app_name,
                            &at("certificates"),
                            target,
                            Some("Certificate"),
                            &mut errors,
                        );
                    }
                }
            }
            for (field, value) in object.as_object().into_iter().flatten() {
                if !CHECKED_FIELDS.contains(&field.as_str()) {
                    every_use(value, &mut |target| {
                        resolver.check(app_name, &at(field), target, None, &mut errors);
                    });
                }
            }
        }
    }
    errors.sort();
    errors.dedup();
    errors
}

fn every_use(value: &Value, found: &mut impl FnMut(&str)) {
    match value {
        Value::Object(object) => {
            for (key, value) in object {
                match (key.as_str(), value) {
                    ("use", Value::String(target)) => found(target),
                    _ => every_use(value, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| every_use(item, found)),
        _ => {}
    }
}

/// Where a declaration that fails the schema fails: each object of each tenant checked against
/// its class's definition, violations prefixed with `/Tenant/Application/object`.
pub fn object_violations(schema: &As3Schema, adc: &Map<String, Value>) -> Vec<String> {
    let mut violations = Vec::new();
    for (tenant_name, tenant) in tenants(adc) {
        for (app_name, app) in applications(&tenant) {
            for (name, class, object) in objects(app) {
                let at = format!("/{tenant_name}/{app_name}/{name}");
                if let Err(found) = schema.validate_object(class, &at, object) {
                    violations.extend(found);
                }
            }
        }
    }
    violations
}

/// The device's refusals of a tenant's objects, in the words of BIG-IP's configuration errors;
/// each names the object.
pub fn refused_objects(tenant_name: &str, tenant: &Value, bad: &BadObjects) -> Vec<String> {
    let mut refusals = Vec::new();
    for (app_name, app) in applications(tenant) {
        for (name, class, object) in objects(app) {
            let path = format!("/{tenant_name}/{app_name}/{name}");
            if class == "Certificate" && bad.certificates.contains(name) {
                refusals.push(format!(
                    "01070313:3: Error reading key PEM file {path}.key: \
                     error:0906D06C:PEM routines:PEM_read_bio:no start line"
                ));
            }
            if class == "Pool" {
                let addresses = object
                    .get("members")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|member| member.get("serverAddresses"))
                    .filter_map(Value::as_array)
                    .flatten()
                    .filter_map(Value::as_str);
                for address in addresses.filter(|a| bad.addresses.contains(*a)) {
                    refusals.push(format!(
                        "01070734:3: Configuration error: pool {path} member {address} is refused by the device"
                    ));
                }
            }
        }
    }
    refusals
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tenant() -> Value {
        json!({
            "class": "Tenant",
            "app": {
                "class": "Application",
                "vs": { "class": "Service_HTTP", "virtualAddresses": ["10.0.0.1"], "pool": "web" },
                "web": { "class": "Pool", "monitors": ["http", { "use": "mon" }],
                         "members": [{ "servicePort": 80, "serverAddresses": ["192.0.2.1"] }] },
                "mon": { "class": "Monitor", "monitorType": "http" }
            }
        })
    }

    #[test]
    fn references_that_resolve_pass() {
        assert!(unresolved_references("t", &tenant()).is_empty());
    }

    #[test]
    fn a_missing_pool_or_monitor_is_named() {
        let mut tenant = tenant();
        tenant["app"]["vs"]["pool"] = json!("nope");
        tenant["app"]["web"]["monitors"] = json!([{ "use": "gone" }]);
        let errors = unresolved_references("t", &tenant);
        assert!(
            errors
                .contains(&"/t/app/vs/pool: contains path to non-existent object nope".to_owned())
        );
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("/t/app/web/monitors:") && e.ends_with("gone"))
        );
    }

    #[test]
    fn a_reference_to_the_wrong_class_is_refused() {
        let mut tenant = tenant();
        tenant["app"]["vs"]["pool"] = json!("mon");
        let errors = unresolved_references("t", &tenant);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("where a Pool is expected"));
    }

    #[test]
    fn a_bad_member_address_is_named() {
        let bad = BadObjects {
            addresses: ["192.0.2.1".to_owned()].into(),
            ..BadObjects::default()
        };
        let refusals = refused_objects("t", &tenant(), &bad);
        assert_eq!(refusals.len(), 1);
        assert!(refusals[0].contains("192.0.2.1") && refusals[0].contains("/t/app/web"));
    }

    #[test]
    fn an_as3_request_wraps_its_declaration() {
        let body = json!({ "class": "AS3", "declaration": { "class": "ADC", "updateMode": "complete", "t": tenant() } });
        let request = request(&body).unwrap();
        assert!(request.complete);
        assert_eq!(tenants(&request.adc).len(), 1);
        assert!(super::request(&json!([])).is_err());
    }
}
