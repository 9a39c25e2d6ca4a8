//! Protocol details every Octavia response has: an `x-openstack-request-id` header, 406 for a
//! client that accepts no JSON, 414 for a URI longer than the servers Octavia runs behind take,
//! and an error body on every error, including the bodyless or plain-text ones the HTTP stack
//! gives on its own (an unrouted method, a query string it cannot deserialize).

use axum::body::to_bytes;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::fault::{fault, http_error};

/// The header OpenStack clients log and show for every request.
pub const REQUEST_ID: &str = "x-openstack-request-id";

/// Whether an `Accept` header allows a JSON answer (no header allows anything).
fn accepts_json(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    accept.split(',').any(|item| {
        let media = item.split(';').next().unwrap_or("").trim();
        let quality_zero = item
            .split(';')
            .skip(1)
            .any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
        !quality_zero
            && matches!(
                media.to_ascii_lowercase().as_str(),
                "application/json" | "application/*" | "*/*" | ""
            )
    })
}

/// The longest request target (path and query) answered: Apache's and eventlet's limit on the
/// request line, the front servers Octavia runs behind. Longer ones get 414 with a fault body
/// (hyper refuses targets over 64 KiB itself, before this runs; [`crate::wire`] gives that 414 its
/// body).
pub const MAX_URI_BYTES: usize = 8190;

/// The most of a plain-text error body kept as the faultstring.
const MAX_ERROR_TEXT: usize = 4096;

/// Tag every response with a request id, refuse clients that accept no JSON and URIs too long,
/// and give every error a body.
pub async fn openstack_protocol(request: Request, next: Next) -> Response {
    let request_id = format!("req-{}", uuid::Uuid::new_v4());
    let target_len = request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    let mut response = if !accepts_json(request.headers()) {
        http_error(
            StatusCode::NOT_ACCEPTABLE,
            "Only content type application/json is accepted.",
        )
    } else if target_len > MAX_URI_BYTES {
        fault(
            StatusCode::URI_TOO_LONG,
            format!("The request URI is longer than {MAX_URI_BYTES} bytes."),
        )
    } else {
        with_error_body(next.run(request).await).await
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// An error response the HTTP stack made without a JSON body, given one: pecan's for 405 (the
/// `Allow` header kept), a fault whose faultstring is the text (or the status's reason) for the
/// others.
async fn with_error_body(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let status = response.status();
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    if status == StatusCode::METHOD_NOT_ALLOWED {
        let mut answer = http_error(status, "");
        if let Some(allow) = parts.headers.get(header::ALLOW) {
            answer.headers_mut().insert(header::ALLOW, allow.clone());
        }
        return answer;
    }
    let text = to_bytes(body, MAX_ERROR_TEXT)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or_default().to_string()
    } else {
        text
    };
    fault(status, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> bool {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        accepts_json(&h)
    }

    #[test]
    fn json_acceptance() {
        assert!(accepts_json(&HeaderMap::new()));
        assert!(accept("application/json"));
        assert!(accept("text/html, */*;q=0.8"));
        assert!(accept("application/*"));
        assert!(!accept("text/html"));
        assert!(!accept("application/xml, application/json;q=0"));
    }
}
