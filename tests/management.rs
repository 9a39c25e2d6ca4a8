//! The management module as an operator meets it: `/v1/management/...` served beside the Octavia
//! API, to administrators only, with Octavia's fault bodies; its reader of orchestration's
//! events handling what the API records.

mod common;

use std::time::{Duration, Instant};

use common::{Db, Options, TestServer, assert_fault};
use reqwest::StatusCode;
use serde_json::Value;

async fn only_administrators_reach_management(db: Db) {
    let s = TestServer::start(db).await;
    let (status, body) = s.call("GET", "/v1/management/audit", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["audit"], Value::Array(vec![]));

    let refused = s
        .call_as("GET", "/v1/management/audit", None, Some("some-project"))
        .await;
    assert_fault(
        &refused,
        403,
        "Policy does not allow this request to be performed.",
    );
}

on_both_databases!(only_administrators_reach_management);

#[tokio::test]
async fn a_bad_audit_query_is_refused_with_the_reason() {
    let s = TestServer::start(Db::Sqlite).await;
    let limit = s.call("GET", "/v1/management/audit?limit=0", None).await;
    assert_fault(&limit, 400, "limit must be between 1 and 1000.");
    let result = s
        .call("GET", "/v1/management/audit?result=maybe", None)
        .await;
    assert_fault(
        &result,
        400,
        "result must be success or failure, not \"maybe\".",
    );
    let (status, body) = s.call("GET", "/v1/management/audit?colour=red", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["faultstring"].as_str().unwrap().contains("colour"),
        "the unknown parameter is named: {body}"
    );
}

/// The management API answers as Octavia's does on the wire: a request id on every answer, the
/// fault body on an error the HTTP stack makes itself (a path that is not UTF-8), and its
/// requests counted in the metrics by route template, never by id.
#[tokio::test]
async fn management_answers_with_the_apis_protocol_and_is_counted() {
    let s = TestServer::start(Db::Sqlite).await;
    let missing = "c0ffee00-0000-4000-8000-000000000000";
    let answer = s
        .http
        .get(format!("{}/v1/management/devices/{missing}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    let request_id = answer.headers().get("x-openstack-request-id").cloned();
    assert!(
        request_id.is_some_and(|id| id.to_str().unwrap().starts_with("req-")),
        "a request id"
    );

    let (status, body) = s.call("GET", "/v1/management/devices/%FF", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["faultcode"], "Client", "{body}");

    let text = s.metrics_text().await;
    let counted = text.lines().any(|line| {
        line.starts_with("fulcrum_http_requests_total{")
            && line.contains(r#"route="/v1/management/devices/{id}""#)
            && line.contains(r#"status="404""#)
    });
    assert!(counted, "{text}");
    assert!(!text.contains(missing), "an id in a label");
}

/// A NUL character, which PostgreSQL cannot store, names nothing in a management path and is
/// refused in a query and in a body: never a 500, and nothing stored.
async fn a_nul_is_refused_by_management(db: Db) {
    let s = TestServer::start(db).await;
    for path in [
        "/v1/management/devices/a%00b",
        "/v1/management/backups/a%00b",
        "/v1/management/licenses/a%00b",
        "/v1/management/api/v2/silence/a%00b",
    ] {
        let (status, body) = s.call("GET", path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "GET {path}: {body}");
    }
    let query = s
        .call("GET", "/v1/management/audit?action=a%00b", None)
        .await;
    assert_fault(&query, 400, "Value must not contain the NUL character.");
    let device = serde_json::json!({"name": "a\u{0}b", "kind": "nsx_manager"});
    let body = s.call("POST", "/v1/management/devices", Some(device)).await;
    assert_fault(&body, 400, "Value must not contain the NUL character.");
    let alert = serde_json::json!([{"labels": {"alertname": "Nul", "device": "a\u{0}"}}]);
    let body = s
        .call("POST", "/v1/management/api/v2/alerts", Some(alert))
        .await;
    assert_fault(&body, 400, "Value must not contain the NUL character.");
    assert_eq!(
        s.get("/v1/management/devices").await["devices"],
        Value::Array(vec![])
    );
    assert_eq!(
        s.get("/v1/management/api/v2/alerts").await,
        Value::Array(vec![])
    );
}

on_both_databases!(a_nul_is_refused_by_management);

#[tokio::test]
async fn a_disabled_module_serves_nothing() {
    let s = TestServer::start_with(
        Db::Sqlite,
        Options {
            extra_toml: "[management]\nenabled = false\n".into(),
            ..Options::default()
        },
    )
    .await;
    let answer = s
        .http
        .get(format!("{}/v1/management/audit", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    let served = s.get("/openapi.json").await;
    let paths = served["paths"].as_object().unwrap();
    assert!(
        !paths.keys().any(|p| p.starts_with("/v1/management/")),
        "the served document leaves the module out"
    );
    let tasks = s.get("/v1/status/tasks").await;
    assert!(
        !tasks.to_string().contains("management-events"),
        "no management job runs: {tasks}"
    );
}

/// The events the API records (a failover request) are read by management's job, which moves
/// its cursor past them: the outbox's lag for the `management` consumer falls back to 0.
async fn management_reads_orchestrations_events(db: Db) {
    let s = TestServer::start(db).await;
    let lb = s.active_lb("events").await;
    let id = lb["id"].as_str().unwrap();
    let (status, body) = s
        .call(
            "PUT",
            &format!("/v2/lbaas/loadbalancers/{id}/failover"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let metrics = s.metrics_text().await;
        let last_id = gauge(&metrics, "fulcrum_event_outbox_last_id ");
        let lag = gauge(
            &metrics,
            "fulcrum_event_outbox_lag_events{consumer=\"management\"} ",
        );
        if last_id >= Some(1.0) && lag == Some(0.0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "management did not read the failover request (last id {last_id:?}, lag {lag:?})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let tasks = s.get("/v1/status/tasks").await;
    let reader = tasks["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "management-events")
        .cloned()
        .unwrap_or_else(|| panic!("no management-events task in {tasks}"));
    assert_eq!(reader["last_result"], "ok", "{reader}");
}

on_both_databases!(management_reads_orchestrations_events);

/// The value of the sample whose line starts with `prefix`.
fn gauge(metrics: &str, prefix: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(prefix))
        .and_then(|value| value.trim().parse().ok())
}
