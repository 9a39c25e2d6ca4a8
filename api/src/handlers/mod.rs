//! The HTTP handlers, one module per resource. A handler parses its request, calls one method of
//! the [`Service`](crate::service::Service) with the caller's
//! [`RequestContext`](crate::auth::RequestContext), and shapes what it returns into Octavia's
//! response: root keys, `fields=`, paging links, status codes.

pub mod amphorae;
pub mod capabilities;
pub mod flavors;
pub mod graph;
pub mod health_monitors;
pub mod l7policies;
pub mod l7rules;
pub mod listeners;
pub mod load_balancers;
pub mod members;
pub mod neutron;
pub mod pools;
pub mod profiles;
pub mod providers;
pub mod quotas;
pub mod tasks;
pub mod versions;

use std::convert::Infallible;

use axum::Json;
use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use fulcrum_core::Error;
use fulcrum_store::{CatalogRecord, Record};
use serde::Serialize;
use serde_json::Value;

use crate::listing::ListParams;
use crate::service::catalog::CatalogEntry;
use crate::service::read::Page;
use crate::shapes::{CatalogView, Related, to_value};
use crate::state::AppState;

/// `http://host` of the request, for links.
pub fn base_url(headers: &HeaderMap, path: &str) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}{path}")
}

/// Wrap a serialized object in its root key.
pub fn rooted(root: &str, value: Value) -> Value {
    let mut map = serde_json::Map::new();
    map.insert(root.to_string(), value);
    Value::Object(map)
}

/// A single object body with `fields=` applied.
pub fn show_body<T: Serialize>(root: &str, view: &T, raw: Option<&str>) -> Value {
    let fields = crate::listing::fields_of(raw);
    rooted(root, crate::listing::project(to_value(view), &fields))
}

/// What a list handler takes from its request besides the caller: the query string (paging,
/// filters, `fields=`) and the URL the paging links point back to.
#[derive(Debug)]
pub struct ListRequest {
    query: Option<String>,
    url: String,
}

impl<S: Send + Sync> FromRequestParts<S> for ListRequest {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        let OriginalUri(uri) = OriginalUri::from_request_parts(parts, state).await?;
        Ok(ListRequest {
            query: uri.query().map(str::to_owned),
            url: base_url(&parts.headers, uri.path()),
        })
    }
}

impl ListRequest {
    /// The query string.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// The body of a list: `{"<plural>": [...], "<plural>_links": [...]}` with the page's
    /// objects as `view` shows them, `fields=` applied, and the paging links.
    pub fn page_body<T: Record, V: Serialize>(
        &self,
        page: Page<T>,
        plural: &str,
        view: impl Fn(T, &Related) -> V,
    ) -> Value {
        let links_key = format!("{plural}_links");
        let first = page.items.first().map(|i| i.id().to_string());
        let last = page.items.last().map(|i| i.id().to_string());
        let count = page.items.len();
        let rendered = page
            .items
            .into_iter()
            .map(|item| to_value(&view(item, &page.related)))
            .collect();
        let markers = (count, first.as_deref(), last.as_deref());
        self.body(&page.params, (plural, &links_key), markers, rendered)
    }

    /// `{"<items_key>": [...], "<links_key>": [...]}`; `markers` are the page's size and the keys
    /// of its first and last rows.
    fn body(
        &self,
        params: &ListParams,
        (items_key, links_key): (&str, &str),
        (count, first, last): (usize, Option<&str>, Option<&str>),
        rendered: Vec<Value>,
    ) -> Value {
        let links = params.links(&self.url, count, first, last);
        let rendered: Vec<Value> = rendered.into_iter().map(|v| params.project(v)).collect();
        let mut map = serde_json::Map::new();
        map.insert(items_key.to_string(), Value::Array(rendered));
        map.insert(links_key.to_string(), to_value(&links));
        Value::Object(map)
    }
}

/// The body of a list of catalog rows (flavors, zones and their profiles), whose links Octavia
/// names in the singular for profiles (`flavorprofile_links`).
pub async fn catalog_list<T: CatalogView>(
    state: &AppState,
    list: &ListRequest,
) -> Result<Value, Error> {
    let page = state.service.list_catalog::<T>(list.query()).await?;
    let markers = (
        page.items.len(),
        page.items.first().map(CatalogRecord::key),
        page.items.last().map(CatalogRecord::key),
    );
    let rendered = page.items.iter().map(T::view).collect();
    Ok(list.body(&page.params, T::PLURAL, markers, rendered))
}

/// The body of one catalog row, `fields=` applied.
pub async fn catalog_show<T: CatalogView + CatalogEntry>(
    state: &AppState,
    key: &str,
    raw: Option<&str>,
) -> Result<Value, Error> {
    let row: T = state.service.catalog_entry(key).await?;
    Ok(show_body(T::ROOT, &row.view(), raw))
}

/// `201 Created` with a new catalog row.
pub fn created<T: CatalogView>(row: &T) -> (StatusCode, Json<Value>) {
    (StatusCode::CREATED, Json(rooted(T::ROOT, row.view())))
}

/// oslo's `bool_from_string`: anything but a true-ish word is false.
pub fn bool_from_string(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "true" | "1" | "yes" | "t" | "y" | "on"
    )
}
