//! The NSX API: the Policy paths a load-balancer driver calls, sessions and the version, behind
//! one gate that counts each call, applies the rate limit, injects faults and authenticates.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, Request, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Extension, Json, Router};
use serde_json::{Map, Value, json};

use super::auth::{SESSION_COOKIE, XSRF_HEADER};
use super::error::{self, NsxError};
use super::kinds::{self, Kind};
use super::revision::WriteMode;
use super::schema::Schema;
use super::store::{RevisionCheck, Store, Transaction};
use super::{Shared, hapi, list, lock, status};
use crate::faults::Decision;

const SESSION_CREATE: &str = "/api/session/create";

/// The header that lets a write change objects another principal identity protects.
const ALLOW_OVERWRITE: &str = "x-allow-overwrite";

/// The authenticated user of a request.
#[derive(Debug, Clone)]
struct Caller {
    /// The user name, or the principal identity's name.
    name: String,
    /// Whether the caller authenticated with a client certificate.
    principal_identity: bool,
    /// Whether the call carries `X-Allow-Overwrite: true`.
    allow_overwrite: bool,
}

impl Caller {
    /// A transaction on `store` made by this caller.
    fn begin<'a>(&self, store: &'a Store, schema: Option<&'a Schema>) -> Transaction<'a> {
        store
            .begin(schema, &self.name)
            .by_principal_identity(self.principal_identity)
            .allowing_overwrite(self.allow_overwrite)
    }
}

type Answer = Result<Response, NsxError>;

/// The NSX API's routes, gated.
pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(SESSION_CREATE, post(create_session))
        .route("/api/v1/node/version", get(version))
        .route("/policy/api/v1/infra", patch(hierarchical))
        .route(
            "/policy/api/v1/infra/realized-state/realized-entities",
            get(realized_entities),
        )
        .route(
            "/policy/api/v1/infra/realized-state/status",
            get(realized_status),
        )
        .route(
            "/policy/api/v1/infra/lb-services/{id}/detailed-status",
            get(detailed_status),
        )
        .route(
            "/policy/api/v1/infra/lb-services/{id}/statistics",
            get(statistics),
        )
        .route("/policy/api/v1/search/query", get(search))
        .route("/policy/api/v1/infra/{collection}", get(list_objects))
        .route(
            "/policy/api/v1/infra/{collection}/{id}",
            get(get_object)
                .patch(patch_object)
                .put(put_object)
                .delete(delete_object),
        )
        .merge(super::manager::router())
        .fallback(unknown_path)
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared)
}

/// Rate limit and injected faults first, then authentication, as NSX orders them; every call
/// answered is counted.
async fn gate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    match admit(&shared, &method, &path) {
        Err(refused) => {
            let response = refused.into_response();
            lock(&shared.calls).record(method.as_str(), &path, response.status().as_u16());
            response
        }
        Ok(None) => serve(shared, method, path, request, next).await,
        Ok(Some(hold)) => {
            // A held call is served even when its client has given up, as a manager would.
            let held = tokio::spawn(async move {
                tokio::time::sleep(hold).await;
                serve(shared, method, path, request, next).await
            });
            held.await
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
    }
}

/// Whether a call gets through the rate limit and the fault plan, and how long it is held.
fn admit(shared: &Shared, method: &Method, path: &str) -> Result<Option<Duration>, NsxError> {
    {
        let mut bucket = lock(&shared.bucket);
        if !bucket.try_take() {
            return Err(NsxError::too_many_requests(bucket.per_second()));
        }
    }
    let decision = lock(&shared.faults).decide(0, method, path);
    match decision {
        Decision::Pass => Ok(None),
        Decision::Fail(status) => Err(NsxError::injected(status)),
        Decision::Hold(hold) => Ok(Some(hold)),
    }
}

/// Authenticate the call, run it and count it.
async fn serve(
    shared: Arc<Shared>,
    method: Method,
    path: String,
    mut request: Request,
    next: Next,
) -> Response {
    let authenticated = if path == SESSION_CREATE {
        Ok(())
    } else {
        identify(&shared, &method, &path, &request).map(|caller| {
            request.extensions_mut().insert(caller);
        })
    };
    let response = match authenticated {
        Ok(()) => next.run(request).await,
        Err(refused) => refused.into_response(),
    };
    lock(&shared.calls).record(method.as_str(), &path, response.status().as_u16());
    response
}

/// Who makes a request: the principal identity of its client certificate, else the user its
/// credentials or session name, who must be allowed to write if it writes.
fn identify(
    shared: &Shared,
    method: &Method,
    path: &str,
    request: &Request,
) -> Result<Caller, NsxError> {
    let allow_overwrite = request
        .headers()
        .get(ALLOW_OVERWRITE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
    let principal = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .and_then(|ConnectInfo(peer)| lock(&shared.principals).get(&peer.port()).cloned());
    if let Some(name) = principal {
        return Ok(Caller {
            name,
            principal_identity: true,
            allow_overwrite,
        });
    }
    let user = lock(&shared.auth).authenticate(request.headers())?;
    if user.read_only && method != Method::GET {
        return Err(NsxError::not_permitted(&user.name, method.as_str(), path));
    }
    Ok(Caller {
        name: user.name,
        principal_identity: false,
        allow_overwrite,
    })
}

async fn unknown_path(request: Request) -> NsxError {
    NsxError::not_found(request.uri().path())
}

async fn create_session(State(shared): State<Arc<Shared>>, body: Bytes) -> Answer {
    let mut username = String::new();
    let mut password = String::new();
    for (key, value) in form_urlencoded::parse(&body) {
        match key.as_ref() {
            "j_username" => username = value.into_owned(),
            "j_password" => password = value.into_owned(),
            _ => {}
        }
    }
    let session = lock(&shared.auth).create_session(&username, &password)?;
    let cookie = format!("{SESSION_COOKIE}={}; Path=/; Secure; HttpOnly", session.id);
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    headers.insert(SET_COOKIE, header_value(&cookie));
    headers.insert(XSRF_HEADER, header_value(&session.xsrf_token));
    Ok(response)
}

fn header_value(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).expect("ids and tokens are visible ASCII")
}

async fn version(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let version = lock(&shared.manager).version.clone();
    Json(json!({
        "node_version": version,
        "product_version": version,
    }))
}

fn json_object(body: &Bytes, at: &str) -> Result<Value, NsxError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        NsxError::bad_request(
            error::INVALID_REQUEST,
            format!("The body for {at} is not valid JSON: {e}"),
        )
    })?;
    if !value.is_object() {
        return Err(NsxError::bad_request(
            error::INVALID_REQUEST,
            format!("The body for {at} must be a JSON object."),
        ));
    }
    Ok(value)
}

async fn hierarchical(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Answer {
    let params = list::params(query.as_deref())?;
    let check = match params.get("enforce_revision_check").map(String::as_str) {
        Some("true") => RevisionCheck::Enforce,
        _ => RevisionCheck::Skip,
    };
    let infra = json_object(&body, kinds::INFRA)?;
    let mut store = lock(&shared.store);
    let mut tx = caller.begin(&store, shared.schema.as_ref());
    hapi::stage(&mut tx, &infra, check)?;
    let changes = tx.commit()?;
    store.apply(changes);
    Ok(StatusCode::OK.into_response())
}

fn kind_of(collection: &str, path: &str) -> Result<&'static Kind, NsxError> {
    kinds::by_collection(collection).ok_or_else(|| NsxError::not_found(path))
}

fn policy_path(collection: &str, id: Option<&str>) -> String {
    match id {
        Some(id) => format!("{}/{collection}/{id}", kinds::INFRA),
        None => format!("{}/{collection}", kinds::INFRA),
    }
}

async fn list_objects(
    State(shared): State<Arc<Shared>>,
    Path(collection): Path<String>,
    RawQuery(query): RawQuery,
) -> Answer {
    let kind = kind_of(&collection, &policy_path(&collection, None))?;
    let params = list::params(query.as_deref())?;
    let store = lock(&shared.store);
    let items = store
        .of_kind(kind)
        .map(|o| (o.body["path"].as_str().unwrap_or_default(), &o.body));
    Ok(Json(list::page(items, &params)?).into_response())
}

async fn get_object(
    State(shared): State<Arc<Shared>>,
    Path((collection, id)): Path<(String, String)>,
) -> Answer {
    let path = policy_path(&collection, Some(&id));
    kind_of(&collection, &path)?;
    let store = lock(&shared.store);
    let object = store.get(&path).ok_or_else(|| NsxError::not_found(&path))?;
    Ok(Json(object.body.clone()).into_response())
}

fn write_object(
    shared: &Shared,
    caller: &Caller,
    collection: &str,
    id: &str,
    body: &Bytes,
    mode: WriteMode,
) -> Result<Value, NsxError> {
    let path = policy_path(collection, Some(id));
    let kind = kind_of(collection, &path)?;
    let sent = json_object(body, &path)?;
    let sent: &Map<String, Value> = sent.as_object().expect("checked to be an object");
    let mut store = lock(&shared.store);
    let mut tx = caller.begin(&store, shared.schema.as_ref());
    tx.write(kind, id, sent, mode, RevisionCheck::Enforce)?;
    let changes = tx.commit()?;
    store.apply(changes);
    Ok(store
        .get(&path)
        .map(|o| o.body.clone())
        .unwrap_or(Value::Null))
}

async fn patch_object(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    Path((collection, id)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    write_object(&shared, &caller, &collection, &id, &body, WriteMode::Patch)?;
    Ok(StatusCode::OK.into_response())
}

async fn put_object(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    Path((collection, id)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let stored = write_object(&shared, &caller, &collection, &id, &body, WriteMode::Put)?;
    Ok(Json(stored).into_response())
}

async fn delete_object(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    Path((collection, id)): Path<(String, String)>,
) -> Answer {
    let path = policy_path(&collection, Some(&id));
    kind_of(&collection, &path)?;
    let mut store = lock(&shared.store);
    let mut tx = caller.begin(&store, shared.schema.as_ref());
    tx.delete(&path)?;
    let changes = tx.commit()?;
    store.apply(changes);
    Ok(StatusCode::OK.into_response())
}

fn intent_path(query: Option<&str>) -> Result<String, NsxError> {
    list::params(query)?
        .remove("intent_path")
        .ok_or_else(|| NsxError::bad_request(error::INVALID_REQUEST, "intent_path is required."))
}

async fn realized_entities(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Answer {
    let path = intent_path(query.as_deref())?;
    let store = lock(&shared.store);
    let realization = lock(&shared.realization);
    let results: Vec<Value> = store
        .get(&path)
        .map(|object| realization.entity(&path, object))
        .into_iter()
        .collect();
    Ok(Json(json!({ "result_count": results.len(), "results": results })).into_response())
}

async fn realized_status(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Answer {
    let path = intent_path(query.as_deref())?;
    let store = lock(&shared.store);
    let object = store.get(&path).ok_or_else(|| NsxError::not_found(&path))?;
    Ok(Json(lock(&shared.realization).consolidated(&path, object)).into_response())
}

async fn detailed_status(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let path = status::service_path(&id);
    let store = lock(&shared.store);
    let service = store.get(&path).ok_or_else(|| NsxError::not_found(&path))?;
    let realization = lock(&shared.realization);
    let members = lock(&shared.members);
    Ok(Json(status::detailed_status(
        &store,
        service,
        &realization,
        &members,
    ))
    .into_response())
}

async fn statistics(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let path = status::service_path(&id);
    let store = lock(&shared.store);
    let service = store.get(&path).ok_or_else(|| NsxError::not_found(&path))?;
    Ok(Json(status::statistics(&store, service)).into_response())
}

async fn search(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Answer {
    let params = list::params(query.as_deref())?;
    let query = params
        .get("query")
        .ok_or_else(|| NsxError::bad_request(error::INVALID_REQUEST, "query is required."))?;
    let query = list::Query::parse(query)?;
    let store = lock(&shared.store);
    if query.asks_for_realized_entities() {
        // Realized entities, one per intent object, in intent path order: those of the paths
        // the query names, or of every object.
        let realization = lock(&shared.realization);
        let entities: Vec<(String, Value)> = match query.intent_paths() {
            Some(paths) => {
                let mut paths: Vec<&String> = paths.iter().collect();
                paths.sort();
                paths.dedup();
                paths
                    .into_iter()
                    .filter_map(|path| store.get(path).map(|object| (path.clone(), object)))
                    .map(|(path, object)| {
                        let entity = realization.entity(&path, object);
                        (path, entity)
                    })
                    .collect()
            }
            None => store
                .iter()
                .map(|(path, object)| (path.clone(), realization.entity(path, object)))
                .collect(),
        };
        let items = entities
            .iter()
            .filter(|(_, entity)| query.matches(entity))
            .map(|(path, entity)| (path.as_str(), entity));
        return Ok(Json(list::page(items, &params)?).into_response());
    }
    let items = store
        .iter()
        .filter(|(_, object)| query.matches(&object.body))
        .map(|(path, object)| (path.as_str(), &object.body));
    Ok(Json(list::page(items, &params)?).into_response())
}
