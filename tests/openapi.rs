//! The committed OpenAPI document is the one the code generates, and the server serves it.

mod common;

use common::{Db, TestServer};

fn generated() -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .arg("openapi")
        .output()
        .expect("fulcrum openapi runs");
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn committed_document_matches_the_code() {
    let committed: serde_json::Value = serde_json::from_str(
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
