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
pub mod provider;
pub mod providers;
pub mod quotas;
pub mod tasks;
pub mod versions;

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use fulcrum_core::Error;
use fulcrum_store::{CatalogRecord, Record};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
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
    ) -> Result<ListBody, Error> {
        let links_key = format!("{plural}_links");
        let first = page.items.first().map(|i| i.id().to_string());
        let last = page.items.last().map(|i| i.id().to_string());
        let count = page.items.len();
        let rendered: Vec<V> = page
            .items
            .into_iter()
            .map(|item| view(item, &page.related))
            .collect();
        let markers = (count, first.as_deref(), last.as_deref());
        self.body(&page.params, (plural, &links_key), markers, &rendered)
    }

    /// The body of a list whose objects' views are rendered already (each holds its `id`), in
    /// page order: as [`ListRequest::page_body`] makes it.
    pub fn views_body(
        &self,
        params: &ListParams,
        plural: &str,
        views: &[Arc<Value>],
    ) -> Result<ListBody, Error> {
        let links_key = format!("{plural}_links");
        let first = views.first().and_then(|v| v["id"].as_str());
        let last = views.last().and_then(|v| v["id"].as_str());
        let markers = (views.len(), first, last);
        let rendered: Vec<&Value> = views.iter().map(AsRef::as_ref).collect();
        self.body(params, (plural, &links_key), markers, &rendered)
    }

    /// `{"<items_key>": [...], "<links_key>": [...]}`; `markers` are the page's size and the keys
    /// of its first and last rows.
    fn body<V: Serialize>(
        &self,
        params: &ListParams,
        (items_key, links_key): (&str, &str),
        (count, first, last): (usize, Option<&str>, Option<&str>),
        rendered: &[V],
    ) -> Result<ListBody, Error> {
        let links = params.links(&self.url, count, first, last);
        let items = Items {
            views: rendered,
            fields: &params.fields,
        };
        let mut out = Vec::with_capacity(512 * rendered.len() + 256);
        let mut ser = serde_json::Serializer::new(&mut out);
        let mut map = ser.serialize_map(Some(2)).map_err(unserializable)?;
        map.serialize_entry(items_key, &items)
            .and_then(|()| map.serialize_entry(links_key, &links))
            .and_then(|()| map.end())
            .map_err(unserializable)?;
        Ok(ListBody(out))
    }
}

fn unserializable(e: serde_json::Error) -> Error {
    Error::Internal(format!("a list could not be serialized: {e}"))
}

/// The objects of a page: serialized as they are, or, with `fields=`, each cut down to the fields
/// asked for.
struct Items<'a, V> {
    views: &'a [V],
    fields: &'a [String],
}

impl<V: Serialize> Serialize for Items<'_, V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        if self.fields.is_empty() {
            return self.views.serialize(serializer);
        }
        let mut seq = serializer.serialize_seq(Some(self.views.len()))?;
        for view in self.views {
            seq.serialize_element(&crate::listing::project(to_value(view), self.fields))?;
        }
        seq.end()
    }
}

/// A list response body, serialized straight from the views into JSON (a page of a thousand
/// objects never becomes a tree of `serde_json::Value`s).
#[derive(Debug)]
pub struct ListBody(Vec<u8>);

impl IntoResponse for ListBody {
    fn into_response(self) -> Response {
        (
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            self.0,
        )
            .into_response()
    }
}

/// The body of a list of catalog rows (flavors, zones and their profiles), whose links Octavia
/// names in the singular for profiles (`flavorprofile_links`).
pub async fn catalog_list<T: CatalogView>(
    state: &AppState,
    list: &ListRequest,
) -> Result<ListBody, Error> {
    let page = state.service.list_catalog::<T>(list.query()).await?;
    let markers = (
        page.items.len(),
        page.items.first().map(CatalogRecord::key),
        page.items.last().map(CatalogRecord::key),
    );
    let rendered: Vec<Value> = page.items.iter().map(T::view).collect();
    list.body(&page.params, T::PLURAL, markers, &rendered)
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
