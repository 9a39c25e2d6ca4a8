//! The edges of the protocol and list layer, answered as Octavia answers them: methods a resource
//! does not have, paging and sorting parameters out of range or repeated, URIs too long, headers
//! the server cannot read, clients that accept no JSON and bodies that are not JSON.

mod common;

use common::{DEFAULT_SUBNET, Db, TestServer, assert_fault};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Send a request and return its status, headers and JSON body.
async fn send(req: reqwest::RequestBuilder) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, body)
}

/// pecan's body for an error raised while routing.
fn assert_pecan_error(body: &Value, code: u16, title: &str, description: &str) {
    assert_eq!(
        body,
        &json!({"code": code, "title": title, "description": description}),
        "{body}"
    );
}

async fn wrong_methods_are_405(db: Db) {
    let s = TestServer::start(db).await;
    let lb = s
        .create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"name": "lb", "vip_subnet_id": DEFAULT_SUBNET}),
        )
        .await;
    let item = format!("/v2/lbaas/loadbalancers/{}", lb["id"].as_str().unwrap());
    let cases = [
        ("PATCH", item.as_str(), "DELETE, GET, PUT"),
        ("POST", item.as_str(), "DELETE, GET, PUT"),
        ("TRACE", item.as_str(), "DELETE, GET, PUT"),
        ("PATCH", "/v2/lbaas/loadbalancers", "GET, POST"),
        ("DELETE", "/v2/lbaas/loadbalancers", "GET, POST"),
        ("PUT", "/v2.0/lbaas/pools", "GET, POST"),
        ("PUT", "/v2/lbaas/providers", "GET"),
        ("POST", "/v2", "GET,HEAD"),
    ];
    for (method, path, allow) in cases {
        let method_ = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let (status, headers, body) = send(
            s.http
                .request(method_, format!("{}{path}", s.base))
                .json(&json!({"loadbalancer": {"name": "x"}})),
        )
        .await;
        assert_eq!(status, 405, "{method} {path}: {body}");
        assert_eq!(headers["allow"], allow, "{method} {path}");
        assert!(headers.contains_key("x-openstack-request-id"));
        assert_pecan_error(&body, 405, "Method Not Allowed", "");
    }
    let log = s.log();
    assert!(!log.contains("ERROR"), "an ERROR was logged: {log}");
    assert!(!log.contains("no policy rule"), "{log}");
    // Nothing was changed by the refused requests.
    assert_eq!(s.get(&item).await["loadbalancer"]["name"], "lb");
}

fn link(page: &Value, rel: &str) -> Option<String> {
    page["loadbalancers_links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == rel)
        .map(|l| l["href"].as_str().unwrap().to_string())
}

fn names(page: &Value) -> Vec<&str> {
    page["loadbalancers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|lb| lb["name"].as_str().unwrap())
        .collect()
}

async fn list_parameter_edges(db: Db) {
    let s = TestServer::start(db).await;
    for name in ["a", "b", "c"] {
        s.create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"name": name, "vip_subnet_id": DEFAULT_SUBNET}),
        )
        .await;
    }

    // Octavia reads a limit under 1 as "no limit": every object, and (the limit being None) a
    // next link whose `limit=None` Octavia itself refuses when followed.
    for limit in ["0", "-1"] {
        let page = s
            .get(&format!(
                "/v2/lbaas/loadbalancers?limit={limit}&sort=name:asc"
            ))
            .await;
        assert_eq!(names(&page), ["a", "b", "c"], "limit={limit}");
        let next = link(&page, "next").expect("a next link");
        assert!(next.contains("limit=None&sort=name:asc&marker="), "{next}");
        let followed = s.call("GET", &next[s.base.len()..], None).await;
        assert_fault(
            &followed,
            400,
            "Supplied pagination limit 'None' is not valid.",
        );
    }

    // A sort direction is checked where Octavia reads one: in `sort`, or with `sort_key`.
    assert_fault(
        &s.call(
            "GET",
            "/v2/lbaas/loadbalancers?sort_key=name&sort_dir=up",
            None,
        )
        .await,
        400,
        "Supplied sort direction 'up' is not valid.",
    );
    assert_fault(
        &s.call(
            "GET",
            "/v2/lbaas/loadbalancers?sort_key=name&sort_dir=UP",
            None,
        )
        .await,
        400,
        "Supplied sort direction 'up' is not valid.",
    );
    assert_fault(
        &s.call("GET", "/v2/lbaas/loadbalancers?sort=name:up", None)
            .await,
        400,
        "Supplied sort direction 'up' is not valid.",
    );
    // Without `sort_key` Octavia never reads `sort_dir`; `sort` wins over `sort_key`.
    let page = s.get("/v2/lbaas/loadbalancers?sort_dir=up").await;
    assert_eq!(page["loadbalancers"].as_array().unwrap().len(), 3);
    let page = s
        .get("/v2/lbaas/loadbalancers?sort=name:desc&sort_key=name&sort_dir=asc")
        .await;
    assert_eq!(names(&page), ["c", "b", "a"]);

    // Octavia pages backwards on `page_reverse=True` alone; any other value pages forwards.
    let first = s.get("/v2/lbaas/loadbalancers?sort=name:asc&limit=1").await;
    let marker = first["loadbalancers"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let forwards = s
        .get(&format!(
            "/v2/lbaas/loadbalancers?sort=name:asc&limit=5&marker={marker}&page_reverse=maybe"
        ))
        .await;
    assert_eq!(names(&forwards), ["b", "c"]);
    let last = s
        .get("/v2/lbaas/loadbalancers?sort=name:desc&limit=1")
        .await;
    let marker = last["loadbalancers"][0]["id"].as_str().unwrap().to_string();
    let backwards = s
        .get(&format!(
            "/v2/lbaas/loadbalancers?sort=name:asc&limit=5&marker={marker}&page_reverse=True"
        ))
        .await;
    assert_eq!(names(&backwards), ["a", "b"]);

    // A paging parameter given twice is refused, as a filter given twice is.
    for query in [
        "limit=1&limit=2",
        "marker=x&marker=y",
        "sort=name&sort=id",
        "page_reverse=True&page_reverse=False",
        "name=a&name=b",
    ] {
        assert_fault(
            &s.call("GET", &format!("/v2/lbaas/loadbalancers?{query}"), None)
                .await,
            400,
            "One or more arguments are either duplicate or invalid",
        );
    }
    // A query the HTTP layer refuses on its own still gets a fault body.
    let lb = s.get("/v2/lbaas/loadbalancers?name=a").await["loadbalancers"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = s
        .call(
            "DELETE",
            &format!("/v2/lbaas/loadbalancers/{lb}?cascade=true&cascade=false"),
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["faultcode"], "Client", "{body}");
    assert!(body["debuginfo"].is_null(), "{body}");
    assert_eq!(
        s.get("/v2/lbaas/loadbalancers?name=a").await["loadbalancers"][0]["id"],
        lb
    );
}

async fn protocol_errors_have_bodies(db: Db) {
    let s = TestServer::start(db).await;

    // A client that accepts no JSON: pecan's body, as Octavia's ContentTypeHook raises it.
    let (status, headers, body) = send(
        s.http
            .get(format!("{}/v2/lbaas/loadbalancers", s.base))
            .header("Accept", "application/xml"),
    )
    .await;
    assert_eq!(status, 406);
    assert_eq!(headers["content-type"], "application/json");
    assert_pecan_error(
        &body,
        406,
        "Not Acceptable",
        "Only content type application/json is accepted.",
    );

    // A URI longer than the servers in front of Octavia take.
    let long = format!("/v2/lbaas/loadbalancers?name={}", "x".repeat(9000));
    let got = s.call("GET", &long, None).await;
    assert_fault(&got, 414, "The request URI is longer than 8190 bytes.");
    // Longer than hyper takes (and than HTTP clients send): hyper answers before the
    // application, still with a fault body.
    let request = format!(
        "GET /v2/lbaas/loadbalancers?name={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "x".repeat(70_000)
    );
    let (status, body) = raw_request(&s.base, request.as_bytes()).await;
    assert_eq!(status, 414);
    assert_eq!(
        serde_json::from_str::<Value>(&body).ok(),
        Some(json!({"faultcode": "Client", "faultstring": "URI Too Long", "debuginfo": null}))
    );

    // A body that says it is not JSON: WSME refuses it with 415 before reading it.
    let body = json!({"loadbalancer": {"name": "plain", "vip_subnet_id": DEFAULT_SUBNET}});
    for content_type in [Some("text/plain"), Some("application/xml"), None] {
        let mut req = s
            .http
            .post(format!("{}/v2/lbaas/loadbalancers", s.base))
            .body(body.to_string());
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let (status, _, got) = send(req).await;
        assert_fault(
            &(status, got),
            415,
            &format!("Unknown mimetype: {}", content_type.unwrap_or("")),
        );
    }
    let lbs = s.get("/v2/lbaas/loadbalancers").await;
    assert_eq!(
        lbs["loadbalancers"],
        json!([]),
        "nothing refused was stored"
    );
    // JSON under the other names WSME reads as JSON is taken.
    let (status, _, got) = send(
        s.http
            .post(format!("{}/v2/lbaas/loadbalancers", s.base))
            .header("content-type", "application/json; charset=UTF-8")
            .body(body.to_string()),
    )
    .await;
    assert_eq!(status, 201, "{got}");

    // A control character in a header value.
    let (status, body) = raw_request(
        &s.base,
        b"GET /v2/lbaas/loadbalancers HTTP/1.1\r\nHost: x\r\nX-Custom: a\x01b\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    assert_eq!(
        body,
        json!({"faultcode": "Client", "faultstring": "Bad Request", "debuginfo": null})
    );
    // The server still answers after it.
    assert_eq!(s.call("GET", "/v2/lbaas/loadbalancers", None).await.0, 200);
}

/// Send bytes no HTTP client would send, and return the status and body of the answer.
async fn raw_request(base: &str, request: &[u8]) -> (u16, String) {
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("write");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

on_both_databases!(
    wrong_methods_are_405,
    list_parameter_edges,
    protocol_errors_have_bodies,
);
