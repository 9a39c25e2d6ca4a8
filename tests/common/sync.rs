//! What tests of the full sync read: the task's last report and how many driver applies the
//! server has made.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::TestServer;

/// The full-sync task as `GET /v1/status/tasks` shows it.
pub async fn full_sync_status(s: &TestServer) -> Value {
    task_status(s, "full-sync").await
}

/// The background task `name` as `GET /v1/status/tasks` shows it.
pub async fn task_status(s: &TestServer, name: &str) -> Value {
    let body = s.get("/v1/status/tasks").await;
    body["tasks"]
        .as_array()
        .and_then(|tasks| tasks.iter().find(|t| t["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("no {name} task in {body}"))
}

/// Wait until `n` more full syncs have run to their end; returns the last one's report.
pub async fn after_full_syncs(s: &TestServer, n: u64) -> Value {
    after_activations(s, "full-sync", n).await
}

/// Wait until `n` more activations of the task `name` have run to their end; returns the last
/// one's report.
pub async fn after_activations(s: &TestServer, name: &str, n: u64) -> Value {
    let ended = |task: &Value| {
        let runs = task["activations"].as_u64().unwrap_or(0);
        runs - u64::from(task["running"] == true)
    };
    let target = ended(&task_status(s, name).await) + n;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let task = task_status(s, name).await;
        if ended(&task) >= target {
            assert_eq!(task["last_result"], "ok", "{task}");
            return task["last_report"].clone();
        }
        assert!(Instant::now() < deadline, "no {name} ran: {task}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many times the server has called `provider`'s driver to apply a load balancer.
pub async fn applies(s: &TestServer, provider: &str) -> u64 {
    let text = s.metrics_text().await;
    let labels = [
        "operation=\"apply\"".to_string(),
        format!("provider=\"{provider}\""),
    ];
    text.lines()
        .filter(|l| l.starts_with("fulcrum_driver_operation_duration_seconds_count{"))
        .filter(|l| labels.iter().all(|label| l.contains(label.as_str())))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<u64>().ok())
        .sum()
}
