//! `/metrics` as Prometheus scrapes it: what real requests, driver calls and background tasks
//! leave there, labelled by route template and never by id; who may read it on the API's address
//! and on an address of its own; and `fulcrum check-config` on a bad address.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{Db, Options, TestServer};
use reqwest::StatusCode;

/// One sample of the text exposition: name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The samples of a scrape (label values here never hold `,` or `"`).
fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a value");
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => (name, labels.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split(',')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').expect("label=value");
                    (k.to_string(), v.trim_matches('"').to_string())
                })
                .collect();
            Sample {
                name: name.to_string(),
                labels,
                value: value.parse().expect("a number"),
            }
        })
        .collect()
}

/// The sum of the samples named `name` that carry every label of `labels`; `None` when there is
/// no such sample.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<f64> = samples(text)
        .into_iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .collect();
    (!matching.is_empty()).then(|| matching.iter().sum())
}

/// GET `url` as an administrator, expecting 200 and Prometheus' content type.
async fn scrape(http: &reqwest::Client, url: &str) -> String {
    let response = http.get(url).send().await.expect("scrape");
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    response.text().await.unwrap()
}

/// Scrape until `done` holds for the text (counters of background work lag behind the API).
async fn scrape_until(
    http: &reqwest::Client,
    url: &str,
    what: &str,
    done: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = scrape(http, url).await;
        if done(&text) {
            return text;
        }
        assert!(Instant::now() < deadline, "never {what}:\n{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Requests are counted and timed by route template, method and status, never by id; the
/// store's census, the tasks, driver calls and the process have their figures too.
async fn requests_tasks_and_objects_are_counted(db: Db) {
    let s = TestServer::start(db).await;
    let lb = s.active_lb("metered").await;
    let id = lb["id"].as_str().unwrap();
    s.get(&format!("/v2/lbaas/loadbalancers/{id}")).await;
    s.get(&format!("/v2.0/lbaas/loadbalancers/{id}")).await;
    let missing = "c0ffee00-0000-4000-8000-000000000000";
    let (status, _) = s
        .call("GET", &format!("/v2/lbaas/loadbalancers/{missing}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    s.call("GET", "/no/such/route", None).await;

    let url = format!("{}/metrics", s.base);
    let text = scrape_until(&s.http, &url, "counted the driver's apply", |t| {
        value(
            t,
            "fulcrum_driver_operation_duration_seconds_count",
            &[("provider", "noop"), ("operation", "apply")],
        )
        .is_some()
    })
    .await;
    assert!(!text.contains(id), "an id in a label:\n{text}");
    assert!(!text.contains(missing), "an id in a label:\n{text}");
    let one = "/v2/lbaas/loadbalancers/{id}";
    let requests = |route: &str, method: &str, status: &str| {
        value(
            &text,
            "fulcrum_http_requests_total",
            &[("route", route), ("method", method), ("status", status)],
        )
    };
    assert!(requests(one, "GET", "200").unwrap() >= 2.0, "{text}");
    assert_eq!(requests(one, "GET", "404"), Some(1.0), "{text}");
    assert_eq!(
        requests("/v2/lbaas/loadbalancers", "POST", "201"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(requests("unmatched", "GET", "404"), Some(1.0), "{text}");
    assert_eq!(
        value(
            &text,
            "fulcrum_http_request_duration_seconds_count",
            &[("route", "/v2/lbaas/loadbalancers"), ("method", "POST")],
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        value(
            &text,
            "fulcrum_http_request_duration_seconds_bucket",
            &[("route", one), ("status", "200"), ("le", "+Inf")],
        )
        .unwrap()
            >= 2.0,
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "fulcrum_objects",
            &[
                ("kind", "loadbalancer"),
                ("provider", "noop"),
                ("provisioning_status", "ACTIVE"),
            ],
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(value(&text, "fulcrum_database_up", &[]), Some(1.0));
    for state in ["queued", "retrying", "in_flight"] {
        assert!(
            value(&text, "fulcrum_work_items", &[("state", state)]).is_some(),
            "{text}"
        );
    }
    for name in [
        "fulcrum_work_oldest_item_age_seconds",
        "fulcrum_event_outbox_last_id",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_start_time_seconds",
    ] {
        assert!(value(&text, name, &[]).is_some(), "{name}:\n{text}");
    }
    assert!(
        value(
            &text,
            "fulcrum_task_runs_total",
            &[("task", "converge"), ("result", "ok")],
        )
        .unwrap()
            >= 1.0,
        "{text}"
    );
    assert!(
        value(
            &text,
            "fulcrum_task_run_duration_seconds_count",
            &[("task", "full-sync")],
        )
        .is_some(),
        "{text}"
    );
    assert!(text.contains("# TYPE fulcrum_http_request_duration_seconds histogram"));
    assert!(text.contains("# HELP fulcrum_http_requests_total "));

    // Under noauth, a caller of a project is no administrator.
    let (status, _) = s.call_as("GET", "/metrics", None, Some("p1")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// A failing driver call is counted by provider, operation and kind, and each retry too.
async fn driver_errors_are_counted_by_kind(db: Db) {
    let s = TestServer::start_with(
        db,
        Options {
            noop_fail: Some(("flaky".into(), 2)),
            ..Default::default()
        },
    )
    .await;
    s.active_lb("flaky-one").await;
    let url = format!("{}/metrics", s.base);
    let text = scrape(&s.http, &url).await;
    assert_eq!(
        value(
            &text,
            "fulcrum_driver_errors_total",
            &[
                ("provider", "noop"),
                ("operation", "apply"),
                ("kind", "transient")
            ],
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "fulcrum_work_item_retries_total",
            &[("provider", "noop")]
        ),
        Some(2.0),
        "{text}"
    );
}

on_both_databases!(
    requests_tasks_and_objects_are_counted,
    driver_errors_are_counted_by_kind,
);

/// Keystone settings that point at a port nobody serves: every token is refused with 503.
const UNREACHABLE_KEYSTONE: &str = "[auth]\nstrategy = \"keystone\"\n[auth.keystone]\n\
    auth_url = \"http://127.0.0.1:9/v3\"\nusername = \"fulcrum\"\npassword = \"pw\"\n\
    project_name = \"service\"\ntimeout_seconds = 2\n";

fn options(extra: &str) -> Options {
    Options {
        extra_toml: format!("{UNREACHABLE_KEYSTONE}{extra}"),
        ..Default::default()
    }
}

/// On the API's address `/metrics` needs a token the policy lets through, unless it is public;
/// on an address of its own it is served to anyone, and the API's address has none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_read_metrics() {
    let gated = TestServer::start_with(Db::Sqlite, options("")).await;
    let url = format!("{}/metrics", gated.base);
    let response = gated.http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = gated
        .http
        .get(&url)
        .header("X-Auth-Token", "some-token")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "the token was sent to Keystone"
    );
    drop(gated);

    let public = TestServer::start_with(Db::Sqlite, options("[metrics]\npublic = true\n")).await;
    scrape(&public.http, &format!("{}/metrics", public.base)).await;
    drop(public);

    let apart =
        TestServer::start_with(Db::Sqlite, options("[metrics]\nlisten = \"127.0.0.1:0\"\n")).await;
    let metrics_base = apart.metrics_base.clone().expect("a metrics address");
    assert_ne!(metrics_base, apart.base);
    let response = apart
        .http
        .get(format!("{}/metrics", apart.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // A token Keystone cannot validate: a cache miss, a call that found no Keystone, and an error
    // logged, hence counted.
    let response = apart
        .http
        .get(format!("{}/v2/lbaas/loadbalancers", apart.base))
        .header("X-Auth-Token", "some-token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let text = scrape(&apart.http, &format!("{metrics_base}/metrics")).await;
    assert_eq!(
        value(
            &text,
            "fulcrum_keystone_token_cache_lookups_total",
            &[("result", "miss")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "fulcrum_keystone_request_duration_seconds_count",
            &[("request", "service_token"), ("status", "unreachable")],
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "fulcrum_errors_total",
            &[("component", "fulcrum_api::auth::gate")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "fulcrum_http_requests_total",
            &[("route", "/v2/lbaas/loadbalancers"), ("status", "503")],
        ),
        Some(1.0),
        "{text}"
    );
}

/// `fulcrum check-config` refuses a `[metrics] listen` that is no address, naming the key.
#[test]
fn check_config_refuses_a_bad_metrics_address() {
    let dir = tempfile::tempdir().unwrap();
    let check = |toml: &str| {
        let config = dir.path().join("fulcrum.toml");
        std::fs::write(
            &config,
            format!(
                "[database]\nurl = \"sqlite://{}\"\n[providers]\nenabled = [\"noop\"]\n\
                 default = \"noop\"\n{toml}",
                dir.path().join("f.db").display()
            ),
        )
        .unwrap();
        common::check_config(&config)
    };
    let out = check("[metrics]\nlisten = \"9464\"\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("metrics.listen \"9464\" is not an address (e.g. \"127.0.0.1:9464\")"),
        "{stderr}"
    );
    let out = check("[metrics]\nlisten = \"127.0.0.1:9464\"\npublic = true\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = check("[metrics]\nport = 9464\n");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unknown field `port`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
