//! Version discovery: `GET /` lists the API versions as Octavia does; `GET /v2` answers `"v2"`.

use axum::Json;
use axum::http::HeaderMap;
use serde_json::Value;

use crate::shapes::versions::{Version, Versions};

/// Octavia's microversions v2.0 … v2.30 by the date each was introduced; the last is current.
const VERSIONS: [&str; 31] = [
    "2016-12-11T00:00:00Z",
    "2018-04-20T00:00:00Z",
    "2018-07-31T00:00:00Z",
    "2018-12-18T00:00:00Z",
    "2018-12-19T00:00:00Z",
    "2019-01-21T00:00:00Z",
    "2019-01-25T00:00:00Z",
    "2018-01-25T12:00:00Z",
    "2019-02-12T00:00:00Z",
    "2019-03-04T00:00:00Z",
    "2019-03-05T00:00:00Z",
    "2019-06-24T00:00:00Z",
    "2019-09-11T00:00:00Z",
    "2019-09-13T00:00:00Z",
    "2019-11-10T00:00:00Z",
    "2020-03-10T00:00:00Z",
    "2020-03-15T00:00:00Z",
    "2020-04-29T00:00:00Z",
    "2020-04-29T01:00:00Z",
    "2020-05-12T00:00:00Z",
    "2020-08-02T00:00:00Z",
    "2020-09-03T00:00:00Z",
    "2020-09-04T00:00:00Z",
    "2020-09-07T00:00:00Z",
    "2020-10-15T00:00:00Z",
    "2021-10-02T00:00:00Z",
    "2022-08-29T00:00:00Z",
    "2023-05-05T00:00:00Z",
    "2023-11-08T00:00:00Z",
    "2024-10-15T00:00:00Z",
    "2025-02-26T00:00:00Z",
];

/// Version discovery.
#[utoipa::path(get, path = "/", tag = "versions", responses((status = 200, body = Versions)))]
pub async fn root(headers: HeaderMap) -> Json<Versions> {
    let href = super::base_url(&headers, "/v2");
    let last = VERSIONS.len() - 1;
    let versions = VERSIONS
        .iter()
        .enumerate()
        .map(|(i, date)| Version {
            id: format!("v2.{i}"),
            status: if i == last { "CURRENT" } else { "SUPPORTED" },
            updated: date,
            links: vec![crate::listing::Link {
                href: href.clone(),
                rel: "self".into(),
            }],
        })
        .collect();
    Json(Versions { versions })
}

/// The v2 root, as Octavia answers it.
#[utoipa::path(get, path = "/v2", tag = "versions",
    responses((status = 200, body = String, content_type = "application/json")))]
pub async fn v2() -> Json<Value> {
    Json(Value::String("v2".into()))
}
