//! `/metrics`: this process's metrics in Prometheus' text exposition format, on the API's address
//! (for anyone, or for administrators only: rule `fulcrum:metrics:get`) or on an address of its
//! own. What the metrics are and how they are gathered is behind [`Exposition`]; this module only
//! serves them.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::auth::gate::{Gate, gate};

/// The content type of Prometheus' text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The source of the metrics served.
#[async_trait::async_trait]
pub trait Exposition: Send + Sync {
    /// Every metric of this process now, in the text exposition format.
    async fn render(&self) -> String;
}

/// Who may read `/metrics`.
#[derive(Clone)]
pub enum Access {
    /// Anyone who can reach the address.
    Public,
    /// Callers the gate lets through: authenticated, and allowed by `fulcrum:metrics:get`.
    Gated(Gate),
}

/// The `/metrics` route over `exposition`, open to whom `access` says.
pub fn routes(exposition: Arc<dyn Exposition>, access: Access) -> Router {
    let router = Router::new().route("/metrics", get(metrics));
    let router = match access {
        Access::Public => router,
        Access::Gated(checks) => {
            router.route_layer(axum::middleware::from_fn_with_state(checks, gate))
        }
    };
    router.with_state(exposition)
}

async fn metrics(State(exposition): State<Arc<dyn Exposition>>) -> Response {
    let mut response = exposition.render().await.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}
