//! `fulcrum manage`: the management API from the command line, against a real server: tables
//! in the `openstack` command's style, JSON on request, and the server's own words when it
//! refuses.

mod common;

use std::process::Output;

use common::{Db, TestServer};
use serde_json::Value;

fn manage(base: &str, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .arg("manage")
        .args(["--url", base])
        .args(args)
        .env_remove("OS_TOKEN")
        .output()
        .expect("fulcrum manage runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_prints_as_a_table_or_json() {
    let s = TestServer::start(Db::Sqlite).await;
    let out = manage(&s.base, &["audit", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.lines()
            .nth(1)
            .is_some_and(|header| header.starts_with("| at ") && header.contains("| action ")),
        "a header row under a border: {text}"
    );

    let out = manage(
        &s.base,
        &["--format", "json", "audit", "list", "--limit", "5"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(listed, Value::Array(vec![]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_is_reported_in_the_servers_words_with_a_failing_status() {
    let s = TestServer::start(Db::Sqlite).await;
    let out = manage(&s.base, &["audit", "list", "--result", "maybe"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "error: 400 Bad Request: result must be success or failure, not \"maybe\"."
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn an_unreachable_server_is_named() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let out = manage(&base, &["audit", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!(
            "cannot reach Fulcrum at {base}/v1/management/audit"
        )),
        "{}",
        stderr(&out)
    );
}
