//! The health checks as load balancers, monitoring and Kubernetes use them: `/healthcheck` in
//! oslo.middleware's shapes, without authentication, failing while the database is away (and
//! recovering when it is back) and once shutdown has begun; `/healthcheck/live` passing all the
//! while.

mod common;

use std::time::{Duration, Instant};

use common::{Db, Options, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// GET `path` with an `Accept` header; status, content type and body.
async fn get(s: &TestServer, path: &str, accept: Option<&str>) -> (StatusCode, String, String) {
    let mut request = s.http.get(format!("{}{path}", s.base));
    if let Some(accept) = accept {
        request = request.header("Accept", accept);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

/// Poll `path` until it answers `status`; its body then.
async fn wait_for_status(s: &TestServer, path: &str, status: StatusCode) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (got, _, body) = get(s, path, None).await;
        if got == status {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{path} never answered {status}: last {got} {body}\nlog:\n{}",
            s.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Keystone settings that point at a port nobody serves, so that only unauthenticated routes
/// answer anything but 401 or 503.
const UNREACHABLE_KEYSTONE: &str = "[auth]\nstrategy = \"keystone\"\n[auth.keystone]\n\
    auth_url = \"http://127.0.0.1:9/v3\"\nusername = \"fulcrum\"\npassword = \"pw\"\n\
    project_name = \"service\"\n";

/// Healthy answers in each of oslo's shapes, to a caller without a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_answers_in_oslos_shapes_without_authentication() {
    let s = TestServer::start_with(
        Db::Sqlite,
        Options {
            extra_toml: UNREACHABLE_KEYSTONE.into(),
            ..Default::default()
        },
    )
    .await;
    let (status, _) = s.call("GET", "/v2/lbaas/loadbalancers", None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the API does need a token"
    );

    for path in ["/healthcheck", "/healthcheck/ready", "/healthcheck/live"] {
        assert_eq!(
            get(&s, path, None).await,
            (
                StatusCode::OK,
                "text/plain; charset=UTF-8".into(),
                "OK".into()
            ),
            "{path}"
        );
        let (status, content_type, body) = get(&s, path, Some("application/json")).await;
        assert_eq!(
            (status, content_type.as_str()),
            (StatusCode::OK, "application/json")
        );
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            json!({"detailed": false, "reasons": ["OK"]})
        );
        let (status, content_type, body) = get(&s, path, Some("text/html")).await;
        assert_eq!(
            (status, content_type.as_str()),
            (StatusCode::OK, "text/html; charset=UTF-8")
        );
        assert!(body.contains("<TD>OK</TD>"), "{body}");
        let (status, content_type, _) = get(&s, path, Some("image/png")).await;
        assert_eq!(
            (status, content_type.as_str()),
            (StatusCode::OK, "text/plain; charset=UTF-8"),
            "no acceptable type: plain text, never 406"
        );
        let response = s
            .http
            .head(format!("{}{path}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "HEAD {path}");
    }
    let response = s
        .http
        .post(format!("{}/healthcheck", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

/// With its PostgreSQL database away, the process stays alive but is not ready: `/healthcheck`
/// answers 503 with the reason, the metrics say the database is down; once the database is
/// back, both recover without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_follows_the_database() {
    let s = TestServer::start(Db::Postgres).await;
    wait_for_status(&s, "/healthcheck", StatusCode::OK).await;

    s.db.set_reachable(false);
    let body = wait_for_status(&s, "/healthcheck", StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(body, "The Fulcrum database is unavailable.");
    let (status, _, body) = get(&s, "/healthcheck/ready", Some("application/json")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"detailed": false, "reasons": ["The Fulcrum database is unavailable."]})
    );
    let response = s
        .http
        .head(format!("{}/healthcheck", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(get(&s, "/healthcheck/live", None).await.0, StatusCode::OK);
    let metrics = s.metrics_text().await;
    assert!(
        metrics.lines().any(|l| l == "fulcrum_database_up 0"),
        "{metrics}"
    );

    s.db.set_reachable(true);
    assert_eq!(
        wait_for_status(&s, "/healthcheck", StatusCode::OK).await,
        "OK"
    );
    s.active_lb("after-the-outage").await;
}

/// Between SIGTERM and the closing of the listener (`shutdown_delay_seconds`), requests are
/// still served but the readiness checks fail; the process then exits cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_fails_once_shutdown_begins() {
    let mut s = TestServer::start_with(
        Db::Sqlite,
        Options {
            shutdown_delay_seconds: 5,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(get(&s, "/healthcheck", None).await.0, StatusCode::OK);

    s.send_sigterm();
    let body = wait_for_status(&s, "/healthcheck", StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(body, "Fulcrum is shutting down.");
    assert_eq!(
        get(&s, "/healthcheck/ready", None).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(get(&s, "/healthcheck/live", None).await.0, StatusCode::OK);
    let (status, _) = s.call("GET", "/v2/lbaas/loadbalancers", None).await;
    assert_eq!(status, StatusCode::OK, "requests are still served");
    assert!(s.wait_for_exit(), "clean exit; log:\n{}", s.log());
}
