//! The committed OpenAPI document is the one the code generates, the server serves it, and it
//! describes the API: a client that follows it is understood, and what it states (root keys,
//! statuses, faults, limits) is what the server does. Every test that goes through
//! `TestServer::call` also checks its exchanges against the document (`common::contract`).

mod common;

use common::{Db, TestServer};
use serde_json::{Value, json};

fn generated() -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .arg("openapi")
        .output()
        .expect("fulcrum openapi runs");
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn committed_document_matches_the_code() {
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .expect("openapi/openapi.json is committed"),
    )
    .expect("JSON");
    assert!(
        committed == generated(),
        "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[tokio::test]
async fn served_document_matches_the_code() {
    let s = TestServer::start(Db::Sqlite).await;
    let served = s.get("/openapi.json").await;
    assert_eq!(served, generated());
    assert!(served["paths"]["/v2/lbaas/pools/{pool_id}/members"]["put"].is_object());
}

/// Every operation of the document with its method, as `(path, method, operation)`.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "put", "post", "patch", "delete"] {
            if let Some(op) = item.get(method) {
                found.push((path.clone(), method.to_string(), op.clone()));
            }
        }
    }
    found
}

fn request_schema(op: &Value) -> Option<&Value> {
    op.pointer("/requestBody/content/application~1json/schema")
}

/// Whether `path` is one of Octavia's (or Fulcrum's provider API), rather than management's.
fn is_octavia(path: &str) -> bool {
    !path.starts_with("/v1/management/")
}

#[test]
fn every_request_body_is_wrapped_in_its_root_key() {
    let doc = generated();
    let mut bodies = 0;
    for (path, method, op) in operations(&doc) {
        if !is_octavia(&path) {
            continue;
        }
        let Some(schema) = request_schema(&op) else {
            continue;
        };
        bodies += 1;
        let properties = schema["properties"].as_object().unwrap_or_else(|| {
            panic!("{method} {path}: the body is not an object with its root key: {schema}")
        });
        assert_eq!(properties.len(), 1, "{method} {path}: {schema}");
        let root = properties.keys().next().unwrap();
        assert_eq!(
            schema["required"],
            json!([root]),
            "{method} {path}: the root key is mandatory"
        );
    }
    assert_eq!(bodies, 34, "operations with a request body");
}

#[test]
fn every_operation_documents_octavia_faults() {
    let doc = generated();
    let fault = &doc["components"]["schemas"]["Fault"];
    assert_eq!(
        fault["required"],
        json!(["faultcode", "faultstring", "debuginfo"])
    );
    for (path, method, op) in operations(&doc) {
        if path == "/" {
            continue;
        }
        let mut expected = vec!["400", "401", "403", "414", "500", "503"];
        if method != "get" {
            expected.push("409");
        }
        if request_schema(&op).is_some() {
            expected.extend(["413", "415"]);
        }
        for status in expected {
            let schema = op.pointer(&format!(
                "/responses/{status}/content/application~1json/schema/$ref"
            ));
            let body = if status == "401" {
                "#/components/schemas/Unauthorized"
            } else {
                "#/components/schemas/Fault"
            };
            assert_eq!(
                schema,
                Some(&json!(body)),
                "{method} {path}: {status} with the fault body"
            );
        }
    }
}

/// Each create operation, in an order that creates what a later one refers to: its path and the
/// root key of its body.
const CREATES: [(&str, &str); 11] = [
    ("/v2/lbaas/flavorprofiles", "flavorprofile"),
    ("/v2/lbaas/flavors", "flavor"),
    (
        "/v2/lbaas/availabilityzoneprofiles",
        "availability_zone_profile",
    ),
    ("/v2/lbaas/availabilityzones", "availability_zone"),
    ("/v2/lbaas/loadbalancers", "loadbalancer"),
    ("/v2/lbaas/listeners", "listener"),
    ("/v2/lbaas/pools", "pool"),
    ("/v2/lbaas/pools/{pool_id}/members", "member"),
    ("/v2/lbaas/healthmonitors", "healthmonitor"),
    ("/v2/lbaas/l7policies", "l7policy"),
    ("/v2/lbaas/l7policies/{l7policy_id}/rules", "rule"),
];

/// The example the document gives for the body of `POST path`, wrapped in its root key.
fn example_body(doc: &Value, path: &str) -> Value {
    let envelope = doc["paths"][path]["post"]
        .pointer("/requestBody/content/application~1json/schema")
        .unwrap_or_else(|| panic!("POST {path} has a body"));
    let (root, inner) = envelope["properties"]
        .as_object()
        .and_then(|p| p.iter().next())
        .unwrap_or_else(|| panic!("POST {path}: a root key"));
    let name = inner["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .unwrap_or_else(|| panic!("POST {path}: the body's schema is a component"));
    let example = doc["components"]["schemas"][name]["example"].clone();
    assert!(example.is_object(), "{name} has an example");
    json!({ root: example })
}

/// The ids an example names (`loadbalancer_id`, ...), replaced by those of objects created
/// before it, and the path parameters likewise.
fn refer_to(body: &mut Value, path: &str, created: &[(&str, String)]) -> String {
    let mut path = path.to_string();
    let inner = body
        .as_object_mut()
        .and_then(|b| b.values_mut().next())
        .and_then(Value::as_object_mut)
        .expect("an object under the root key");
    for (key, id) in created {
        if let Some(value) = inner.get_mut(*key) {
            *value = json!(id);
        }
        path = path.replace(&format!("{{{key}}}"), id);
    }
    path
}

/// The name other bodies and paths give the id of an object created under `root`.
fn id_key(root: &'static str) -> &'static str {
    match root {
        "flavorprofile" => "flavor_profile_id",
        "availability_zone_profile" => "availability_zone_profile_id",
        "flavor" => "flavor_id",
        "l7policy" => "l7policy_id",
        "loadbalancer" => "loadbalancer_id",
        "listener" => "listener_id",
        "pool" => "pool_id",
        other => other,
    }
}

#[tokio::test]
async fn a_body_built_from_each_create_example_is_accepted() {
    let s = TestServer::start(Db::Sqlite).await;
    let doc = s.contract().await.document().clone();
    let mut documented: Vec<String> = operations(&doc)
        .into_iter()
        // The provider API's POSTs check metadata; they create nothing.
        .filter(|(path, method, _)| {
            method == "post" && is_octavia(path) && !path.starts_with("/v2/fulcrum/provider/")
        })
        .map(|(path, _, _)| path)
        .collect();
    documented.sort();
    let mut covered: Vec<String> = CREATES.iter().map(|(p, _)| p.to_string()).collect();
    covered.sort();
    assert_eq!(documented, covered, "every create operation is tried");

    let mut created: Vec<(&str, String)> = Vec::new();
    let mut lb_id = None;
    for (path, root) in CREATES {
        let mut body = example_body(&doc, path);
        let url = refer_to(&mut body, path, &created);
        let (status, answer) = s.call("POST", &url, Some(body.clone())).await;
        assert_eq!(status, 201, "POST {url} {body}: {answer}");
        let object = &answer[root];
        let key = if root == "availability_zone" {
            "name"
        } else {
            "id"
        };
        let id = object[key].as_str().expect("an id").to_string();
        if root == "loadbalancer" {
            lb_id = Some(id.clone());
        }
        created.push((id_key(root), id));
        if let Some(lb) = &lb_id {
            s.settle(lb).await;
        }
    }
}

/// Each limit a create body's schema states (an integer's minimum and maximum, a string's
/// length) is the server's: a value just past it is refused with 400.
#[tokio::test]
async fn a_value_past_a_documented_limit_is_refused() {
    let s = TestServer::start(Db::Sqlite).await;
    let doc = s.contract().await.document().clone();
    let lb = s.active_lb("limits").await;
    let lb_id = lb["id"].as_str().unwrap().to_string();
    let listener = s
        .create(
            "/v2/lbaas/listeners",
            "listener",
            json!({"loadbalancer_id": lb_id, "protocol": "HTTP", "protocol_port": 80}),
        )
        .await;
    s.settle(&lb_id).await;
    let pool = s
        .create(
            "/v2/lbaas/pools",
            "pool",
            json!({"loadbalancer_id": lb_id, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await;
    s.settle(&lb_id).await;
    let policy = s
        .create(
            "/v2/lbaas/l7policies",
            "l7policy",
            json!({"listener_id": listener["id"], "action": "REJECT"}),
        )
        .await;
    s.settle(&lb_id).await;
    let created = [
        ("loadbalancer_id", lb_id.clone()),
        ("listener_id", listener["id"].as_str().unwrap().to_string()),
        ("pool_id", pool["id"].as_str().unwrap().to_string()),
        ("l7policy_id", policy["id"].as_str().unwrap().to_string()),
    ];
    let mut tried = 0;
    for (path, _) in &CREATES[4..] {
        let body = example_body(&doc, path);
        let root = body.as_object().unwrap().keys().next().unwrap().clone();
        let schema_ref = doc["paths"][path]["post"]
            .pointer(&format!(
                "/requestBody/content/application~1json/schema/properties/{root}/$ref"
            ))
            .and_then(Value::as_str)
            .unwrap();
        let name = schema_ref.rsplit('/').next().unwrap();
        let properties = doc["components"]["schemas"][name]["properties"]
            .as_object()
            .unwrap();
        for (field, schema) in properties {
            let mut past = Vec::new();
            if let Some(max) = schema["maximum"].as_i64() {
                past.push(json!(max + 1));
            }
            if let Some(min) = schema["minimum"].as_i64() {
                past.push(json!(min - 1));
            }
            if let Some(len) = schema["maxLength"].as_u64() {
                past.push(json!("x".repeat(len as usize + 1)));
            }
            for value in past {
                let mut body = body.clone();
                body[&root][field] = value.clone();
                let url = refer_to(&mut body, path, &created);
                let (status, answer) = s.call("POST", &url, Some(body)).await;
                assert_eq!(status, 400, "POST {url} with {field} = {value}: {answer}");
                tried += 1;
            }
        }
    }
    assert!(tried >= 30, "{tried} limits tried");
    s.settle(&lb_id).await;
}

#[test]
fn every_reference_resolves() {
    fn walk(value: &Value, doc: &Value, refs: &mut usize) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    let pointer = target.strip_prefix('#').expect("a local reference");
                    assert!(
                        doc.pointer(pointer).is_some(),
                        "{target} is not in the document"
                    );
                    *refs += 1;
                }
                map.values().for_each(|v| walk(v, doc, refs));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, doc, refs)),
            _ => {}
        }
    }
    let doc = generated();
    let mut refs = 0;
    walk(&doc, &doc, &mut refs);
    assert!(refs > 100, "{refs} references");
}

#[test]
fn every_operation_behind_the_gate_requires_a_keystone_token() {
    let doc = generated();
    assert_eq!(
        doc["components"]["securitySchemes"]["keystone"],
        json!({"type": "apiKey", "in": "header", "name": "X-Auth-Token",
               "description": "A Keystone token; not needed when `[auth] strategy` is `noauth`"})
    );
    let mut management = 0;
    for (path, method, op) in operations(&doc) {
        if path == "/" {
            assert!(op.get("security").is_none(), "version discovery is open");
            continue;
        }
        assert_eq!(op["security"], json!([{"keystone": []}]), "{method} {path}");
        management += usize::from(!is_octavia(&path));
    }
    assert_eq!(management, 43, "management operations");
}

/// Each management operation that makes something from a body alone, in an order that makes
/// what a later one selects (a campaign picks the registered device): its path and the list
/// that shows what it made.
const MANAGEMENT_CREATES: [(&str, &str); 6] = [
    ("/v1/management/devices", "/v1/management/devices"),
    ("/v1/management/campaigns", "/v1/management/campaigns"),
    (
        "/v1/management/backup-schedules",
        "/v1/management/backup-schedules",
    ),
    (
        "/v1/management/license-pools",
        "/v1/management/license-pools",
    ),
    (
        "/v1/management/api/v2/silences",
        "/v1/management/api/v2/silences",
    ),
    (
        "/v1/management/api/v2/alerts",
        "/v1/management/api/v2/alerts",
    ),
];

/// The schema of a component named by a `$ref`.
fn component<'a>(doc: &'a Value, reference: &Value) -> &'a Value {
    let name = reference
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .unwrap_or_else(|| panic!("{reference} names a component"));
    &doc["components"]["schemas"][name]
}

/// The body the document's example gives for `POST path` (a list of one for a list body), and
/// the schema of the object it holds.
fn management_example(doc: &Value, path: &str) -> (Value, Value) {
    let schema = request_schema(&doc["paths"][path]["post"])
        .unwrap_or_else(|| panic!("POST {path} has a body"));
    let (item, list) = match schema.get("items") {
        Some(items) => (component(doc, &items["$ref"]), true),
        None => (component(doc, &schema["$ref"]), false),
    };
    let example = item["example"].clone();
    assert!(
        example.is_object(),
        "POST {path}: its body's schema has an example"
    );
    let body = if list { json!([example]) } else { example };
    (body, item.clone())
}

/// The properties of an object schema, those of the parts of an `allOf` included.
fn properties(doc: &Value, schema: &Value) -> Vec<(String, Value)> {
    let mut found: Vec<(String, Value)> = schema["properties"]
        .as_object()
        .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        let part = if part.get("$ref").is_some() {
            component(doc, &part["$ref"])
        } else {
            part
        };
        found.extend(properties(doc, part));
    }
    found
}

/// How many objects a management list answers.
async fn count(s: &TestServer, list: &str) -> usize {
    let (status, body) = s.call("GET", list, None).await;
    assert_eq!(status, 200, "GET {list}: {body}");
    match body {
        Value::Array(items) => items.len(),
        Value::Object(map) => map.values().next().and_then(Value::as_array).unwrap().len(),
        other => panic!("GET {list}: {other}"),
    }
}

#[tokio::test]
async fn each_management_example_is_accepted() {
    let s = TestServer::start(Db::Sqlite).await;
    let doc = s.contract().await.document().clone();
    let mut documented: Vec<String> = operations(&doc)
        .into_iter()
        .filter(|(path, method, op)| {
            method == "post"
                && !is_octavia(path)
                && !path.contains('{')
                && request_schema(op).is_some()
        })
        .map(|(path, _, _)| path)
        .collect();
    documented.sort();
    let mut covered: Vec<String> = MANAGEMENT_CREATES
        .iter()
        .map(|(p, _)| p.to_string())
        .collect();
    covered.sort();
    assert_eq!(documented, covered, "every management create is tried");

    for (path, list) in MANAGEMENT_CREATES {
        let before = count(&s, list).await;
        let (body, _) = management_example(&doc, path);
        let (status, answer) = s.call("POST", path, Some(body.clone())).await;
        assert!(status.is_success(), "POST {path} {body}: {status} {answer}");
        assert_eq!(count(&s, list).await, before + 1, "POST {path} made one");
    }
}

/// Each limit a management create body's schema states (an integer's minimum and maximum, a
/// string's length) is the server's: a value just past it is refused with 400, and nothing is
/// made.
#[tokio::test]
async fn a_value_past_a_documented_management_limit_is_refused_and_changes_nothing() {
    let s = TestServer::start(Db::Sqlite).await;
    let doc = s.contract().await.document().clone();
    let (device, _) = management_example(&doc, "/v1/management/devices");
    let (status, answer) = s.call("POST", "/v1/management/devices", Some(device)).await;
    assert_eq!(status, 201, "{answer}");
    let mut tried = 0;
    for (path, list) in MANAGEMENT_CREATES {
        let (body, schema) = management_example(&doc, path);
        let before = count(&s, list).await;
        for (field, property) in properties(&doc, &schema) {
            let mut past = Vec::new();
            if let Some(max) = property["maximum"].as_i64() {
                past.push(json!(max + 1));
            }
            if let Some(min) = property["minimum"].as_i64() {
                past.push(json!(min - 1));
            }
            if let Some(len) = property["maxLength"].as_u64() {
                past.push(json!("x".repeat(len as usize + 1)));
            }
            if property["minLength"].as_u64() == Some(1) {
                past.push(json!(""));
            }
            for value in past {
                let mut body = body.clone();
                match &mut body {
                    Value::Array(items) => items[0][&field] = value.clone(),
                    object => object[&field] = value.clone(),
                }
                let (status, answer) = s.call("POST", path, Some(body)).await;
                assert_eq!(status, 400, "POST {path} with {field} = {value}: {answer}");
                assert_eq!(answer["faultcode"], "Client", "{answer}");
                tried += 1;
            }
        }
        assert_eq!(count(&s, list).await, before, "POST {path}: nothing made");
    }
    assert!(tried >= 12, "{tried} limits tried");
}

/// Management's part of the document names its schemas apart from Octavia's: merged into one
/// document, a shared name would make one part describe the other's bodies. The fault body is
/// the one both answer.
#[test]
fn management_schemas_take_no_name_of_octavias() {
    let octavia = fulcrum_api::openapi([]);
    let management = fulcrum_management::document::openapi();
    let octavia = octavia.components.expect("components").schemas;
    let management = management.components.expect("components").schemas;
    let shared: Vec<&String> = management
        .keys()
        .filter(|name| octavia.contains_key(*name) && *name != "Fault")
        .collect();
    assert!(shared.is_empty(), "{shared:?}");
}

/// Every documented operation, management's included, is governed by the policy (the gate
/// refuses a route it does not know); management's each by a rule of its own
/// (`fulcrum:management:get` or `:write`), never by authentication alone.
#[test]
fn every_documented_operation_is_governed_by_the_policy() {
    use fulcrum_api::policy::actions::{Governed, for_route};
    let doc = generated();
    for (path, method, _) in operations(&doc) {
        let method = axum::http::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let governed = for_route(&method, &path);
        assert!(governed.is_some(), "{method} {path} has no policy rule");
        if !is_octavia(&path) {
            assert!(
                matches!(governed, Some(Governed::Rule(_))),
                "{method} {path} is governed by a rule"
            );
        }
    }
}
