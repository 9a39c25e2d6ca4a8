//! The API's contract as its OpenAPI document states it, checked on every exchange a test
//! makes through [`TestServer::call`](super::TestServer::call):
//!
//! - the answer's status is one the document lists for the operation, and its body matches the
//!   schema listed for that status (or is empty where the document lists none);
//! - a request body the server accepted (2xx) follows the document's schema: a client generated
//!   from the document could have sent it.
//!
//! Requests to routes the document does not describe (health checks, unknown paths) are not
//! checked. Bodies cut down with `fields=` are not matched against the full object's schema.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

/// One request and its answer.
#[derive(Debug)]
pub struct Exchange<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The path with its query string.
    pub path: &'a str,
    /// The JSON body sent, if any.
    pub request: Option<&'a Value>,
    /// The answer's status.
    pub status: u16,
    /// The answer's body (`Null` when empty; a string when it is not JSON).
    pub response: &'a Value,
}

/// An operation of the document: its method, its path template cut into segments, and where it
/// sits in the document (a JSON pointer).
struct Operation {
    method: String,
    segments: Vec<String>,
    pointer: String,
}

/// The document and the validators compiled from it so far.
pub struct Contract {
    doc: Value,
    operations: Vec<Operation>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

impl Contract {
    /// The contract of a document.
    pub fn new(doc: Value) -> Contract {
        let mut operations = Vec::new();
        if let Some(paths) = doc["paths"].as_object() {
            for (path, item) in paths {
                for method in ["get", "put", "post", "patch", "delete"] {
                    if item.get(method).is_some() {
                        operations.push(Operation {
                            method: method.to_uppercase(),
                            segments: segments(path),
                            pointer: format!("/paths/{}/{method}", escape(path)),
                        });
                    }
                }
            }
        }
        Contract {
            doc,
            operations,
            validators: Mutex::new(HashMap::new()),
        }
    }

    /// The document.
    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// Where the operation that serves `method path` sits in the document: the template with
    /// the most literal segments among those that match.
    pub fn operation(&self, method: &str, path: &str) -> Option<&str> {
        let path = path.split('?').next().unwrap_or_default();
        let path = path
            .strip_prefix("/v2.0/lbaas/")
            .map(|rest| format!("/v2/lbaas/{rest}"))
            .or_else(|| {
                path.strip_prefix("/v2.0/octavia/")
                    .map(|rest| format!("/v2/octavia/{rest}"))
            })
            .unwrap_or_else(|| path.to_string());
        let wanted = segments(&path);
        self.operations
            .iter()
            .filter(|op| op.method.eq_ignore_ascii_case(method))
            .filter(|op| {
                op.segments.len() == wanted.len()
                    && op
                        .segments
                        .iter()
                        .zip(&wanted)
                        .all(|(t, s)| t == s || (is_parameter(t) && !s.is_empty()))
            })
            .max_by_key(|op| op.segments.iter().filter(|t| !is_parameter(t)).count())
            .map(|op| op.pointer.as_str())
    }

    /// What in `exchange` breaks the contract (nothing when it keeps it).
    pub fn violations(&self, exchange: &Exchange) -> Vec<String> {
        let Some(pointer) = self.operation(exchange.method, exchange.path) else {
            return vec![];
        };
        let operation = &self.doc.pointer(pointer).cloned().unwrap_or(Value::Null);
        let mut found = Vec::new();
        let accepted = (200..300).contains(&exchange.status);
        if let (Some(body), true) = (exchange.request, accepted) {
            let schema = format!("{pointer}/requestBody/content/application~1json/schema");
            if self.doc.pointer(&schema).is_some() {
                for error in self.errors(&schema, body) {
                    found.push(format!(
                        "the server accepted a body the document refuses: {error}"
                    ));
                }
            }
        }
        let status = exchange.status.to_string();
        let Some(response) = operation["responses"].get(&status) else {
            found.push(format!(
                "status {status} is not among the documented ones ({})",
                operation["responses"]
                    .as_object()
                    .map(|r| r.keys().cloned().collect::<Vec<_>>().join(", "))
                    .unwrap_or_default()
            ));
            return found;
        };
        let schema = format!("{pointer}/responses/{status}/content/application~1json/schema");
        if response.get("content").is_none() {
            if !exchange.response.is_null() {
                found.push(format!("status {status} is documented without a body"));
            }
        } else if self.doc.pointer(&schema).is_some() {
            let projected = exchange.path.contains("fields=") && accepted;
            if !projected {
                for error in self.errors(&schema, exchange.response) {
                    found.push(format!(
                        "the {status} body does not match its schema: {error}"
                    ));
                }
            }
        }
        found
    }

    /// Where `instance` fails the schema at `pointer` in the document.
    fn errors(&self, pointer: &str, instance: &Value) -> Vec<String> {
        let validator = self.validator(pointer);
        validator
            .iter_errors(instance)
            .map(|e| format!("{e} (at {})", e.instance_path()))
            .collect()
    }

    /// The validator of the schema at `pointer`, its `$ref`s resolved in the document's
    /// components.
    fn validator(&self, pointer: &str) -> Arc<jsonschema::Validator> {
        let mut validators = self.validators.lock().unwrap();
        validators
            .entry(pointer.to_string())
            .or_insert_with(|| {
                let mut schema = match self.doc.pointer(pointer) {
                    Some(Value::Object(schema)) => schema.clone(),
                    _ => Map::new(),
                };
                schema.insert("components".into(), self.doc["components"].clone());
                let schema = Value::Object(schema);
                Arc::new(jsonschema::draft202012::new(&schema).unwrap_or_else(|e| {
                    panic!("the document's schema at {pointer} does not compile: {e}")
                }))
            })
            .clone()
    }
}

fn segments(path: &str) -> Vec<String> {
    path.trim_matches('/')
        .split('/')
        .map(str::to_string)
        .collect()
}

fn is_parameter(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

/// A path as one token of a JSON pointer.
fn escape(path: &str) -> String {
    path.replace('~', "~0").replace('/', "~1")
}
