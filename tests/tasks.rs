//! Operators read what each background task did last; only administrators may.

mod common;

use common::{Db, TestServer, assert_fault};
use serde_json::Value;

async fn operators_read_the_background_tasks(db: Db) {
    let s = TestServer::start(db).await;
    let lb = s.active_lb("tasks").await;
    assert_eq!(lb["provisioning_status"], "ACTIVE");

    let body = s.get("/v1/status/tasks").await;
    let tasks = body["tasks"].as_array().expect("a task list");
    let named = |name: &str| -> &Value {
        tasks
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no task {name} in {body}"))
    };
    let converge = named("converge");
    assert!(converge["activations"].as_u64().unwrap() >= 1, "{converge}");
    assert_eq!(converge["period_seconds"], 0.1, "poll_interval_ms = 100");
    let sync = named("full-sync");
    // The full sync runs once at start-up, before the first period ends.
    assert!(sync["activations"].as_u64().unwrap() >= 1, "{sync}");
    assert_eq!(sync["last_result"], "ok", "{sync}");
    assert!(sync["last_report"]["queued"].is_u64(), "{sync}");
    assert!(sync["last_started_at"].is_string(), "{sync}");
    named("observer");
    let retention = named("event-retention");
    assert_eq!(retention["last_result"], "ok", "{retention}");
    assert_eq!(retention["period_seconds"], 3600.0, "{retention}");

    let refused = s
        .call_as("GET", "/v1/status/tasks", None, Some("some-project"))
        .await;
    assert_fault(
        &refused,
        403,
        "Policy does not allow this request to be performed.",
    );
}

on_both_databases!(operators_read_the_background_tasks);

/// A log written to a file (here, the test's server.log) is plain text: terminal colour codes
/// only go to a terminal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_logs_in_a_file_carry_no_colour_codes() {
    let s = TestServer::start(Db::Sqlite).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !s.log().contains("full sync") {
        assert!(
            std::time::Instant::now() < deadline,
            "the full sync logged nothing:\n{}",
            s.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let log = s.log();
    assert!(log.contains("INFO"), "{log}");
    assert!(
        !log.contains("\x1b["),
        "colour codes in a log file:\n{log:?}"
    );
}
