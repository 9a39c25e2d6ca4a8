//! Protocol details every Octavia response has: an `x-openstack-request-id` header, and 406 for
//! a client that accepts no JSON.

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

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

/// Tag every response with a request id, and refuse clients that accept no JSON.
pub async fn openstack_protocol(request: Request, next: Next) -> Response {
    let request_id = format!("req-{}", uuid::Uuid::new_v4());
    let mut response = if accepts_json(request.headers()) {
        next.run(request).await
    } else {
        let body = json!({"errors": [{
            "status": 406,
            "title": "Not Acceptable",
            "detail": "Only content type application/json is accepted.",
            "request_id": request_id,
        }]});
        (StatusCode::NOT_ACCEPTABLE, Json(body)).into_response()
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
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
