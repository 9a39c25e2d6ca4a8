//! What every management handler shares: request bodies and queries whose refusal is a 400 fault
//! naming the problem, and the caller the API's gate authenticated.
//!
//! No text holding the NUL character reaches the database, which PostgreSQL could not store:
//! a body holding one is refused ([`JsonBody`]), and so is a URL ([`refuse_nul_in_url`]).

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fulcrum_core::{Caller, Fault};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ManagementError;

/// The refusal of a value holding the NUL character.
const NUL: &str = "Value must not contain the NUL character.";

/// A JSON body; a malformed one is refused with 400 and serde's message, and so is one with a
/// NUL character in any of its strings.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ManagementError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|rejection| ManagementError::BadRequest(rejection.body_text()))?;
        let request = Request::from_parts(parts, Body::from(bytes.clone()));
        match axum::Json::<T>::from_request(request, state).await {
            Ok(_) if holds_nul(&bytes) => Err(ManagementError::BadRequest(NUL.to_owned())),
            Ok(axum::Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(ManagementError::BadRequest(json_message(&rejection))),
        }
    }
}

/// Whether a JSON text has a string (or a key) holding the NUL character, which JSON writes
/// `\u0000` only.
fn holds_nul(json: &[u8]) -> bool {
    fn any_nul(value: &Value) -> bool {
        match value {
            Value::String(text) => text.contains('\0'),
            Value::Array(items) => items.iter().any(any_nul),
            Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || any_nul(v)),
            _ => false,
        }
    }
    json.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000"))
        && serde_json::from_slice::<Value>(json).is_ok_and(|value| any_nul(&value))
}

/// Refuse a URL holding the NUL character (`%00`): in the path it names nothing (404), in the
/// query it is a bad value (400).
pub async fn refuse_nul_in_url(request: Request, next: Next) -> Response {
    let uri = request.uri();
    if uri.path().contains("%00") {
        let message = format!("The resource could not be found: {}", uri.path());
        return (StatusCode::NOT_FOUND, Json(Fault::new(404, message))).into_response();
    }
    if uri.query().is_some_and(|query| query.contains("%00")) {
        return ManagementError::BadRequest(NUL.to_owned()).into_response();
    }
    next.run(request).await
}

fn json_message(rejection: &JsonRejection) -> String {
    match rejection {
        JsonRejection::JsonDataError(e) => format!("Invalid input: {}", e.body_text()),
        JsonRejection::JsonSyntaxError(e) => format!("Malformed JSON: {}", e.body_text()),
        JsonRejection::MissingJsonContentType(_) => {
            "Expected a JSON body with Content-Type: application/json.".to_owned()
        }
        other => other.body_text(),
    }
}

/// Query parameters; unknown values are refused with 400.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<S, T> FromRequestParts<S> for QueryParams<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ManagementError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(QueryParams(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => Err(
                ManagementError::BadRequest(format!("Invalid query: {}", e.body_text())),
            ),
            Err(other) => Err(ManagementError::BadRequest(other.body_text())),
        }
    }
}

/// The authenticated caller (the default, an anonymous one, when the request passed no gate:
/// in tests of the router alone).
#[derive(Debug, Clone, Default)]
pub struct Who(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Who {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Who(parts
            .extensions
            .get::<Caller>()
            .cloned()
            .unwrap_or_default()))
    }
}
