//! Request metrics of the API: every request counted and timed by route template (as the router
//! matched it, so `/v2/lbaas/loadbalancers/{id}`, never an id), method and status.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

/// Requests answered, by route, method and status.
const REQUESTS: &str = "fulcrum_http_requests_total";
/// Seconds from a request's arrival until its response headers, by route, method and status.
const DURATION: &str = "fulcrum_http_request_duration_seconds";
/// The route label of a request no route matched.
const UNMATCHED: &str = "unmatched";

/// Count and time one request.
pub async fn record(matched: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let route = matched.map_or_else(|| UNMATCHED.to_string(), |m| m.as_str().to_string());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = [
        ("route", route),
        ("method", method.to_string()),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::histogram!(DURATION, &labels).record(started.elapsed().as_secs_f64());
    metrics::counter!(REQUESTS, &labels).increment(1);
    response
}

/// The method as a label: one of HTTP's own methods, or `other` (so that a client cannot make up
/// label values).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Describe the request metrics, for the exposition's `HELP`.
pub fn describe_metrics() {
    metrics::describe_counter!(
        REQUESTS,
        "API requests answered, by route template, method and status."
    );
    metrics::describe_histogram!(
        DURATION,
        metrics::Unit::Seconds,
        "Seconds from an API request's arrival until its response, by route template, method and status."
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_methods_share_one_label() {
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
