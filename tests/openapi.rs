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
        for method in ["get", "put", "post", "delete"] {
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

#[test]
fn every_request_body_is_wrapped_in_its_root_key() {
    let doc = generated();
    let mut bodies = 0;
    for (path, method, op) in operations(&doc) {
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
    assert_eq!(bodies, 32, "operations with a request body");
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
        .filter(|(_, method, _)| method == "post")
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
