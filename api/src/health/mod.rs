//! Health checks for load balancers, monitoring and orchestrators, answered without
//! authentication:
//!
//! - `/healthcheck`: Octavia's (oslo.middleware's `healthcheck` with Octavia's database check):
//!   200 `OK` while this process serves and its database answers; 503 with the reason when the
//!   database does not answer a `SELECT 1` within two seconds, or once shutdown has begun;
//! - `/healthcheck/ready`: the same checks, for a readiness probe (take the process out of
//!   rotation while it cannot do its work);
//! - `/healthcheck/live`: 200 as long as the process answers at all, whatever its database does,
//!   for a liveness probe (restarting Fulcrum does not bring a database back).
//!
//! Each answers `GET` and `HEAD` in oslo's shapes (see [`report`]).

mod report;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use axum::routing::get;
use fulcrum_store::Store;

/// Longest the database gets to answer a health check.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

/// The reason given while the database does not answer (as Octavia's "The Octavia database is
/// unavailable.").
pub const DATABASE_UNAVAILABLE: &str = "The Fulcrum database is unavailable.";

/// The reason given once shutdown has begun.
pub const SHUTTING_DOWN: &str = "Fulcrum is shutting down.";

/// What the health checks look at. Cheap to clone; clones share the shutdown flag.
#[derive(Clone)]
pub struct Health {
    store: Store,
    shutting_down: Arc<AtomicBool>,
}

impl Health {
    /// Health checks of a process whose database is `store`.
    pub fn new(store: Store) -> Self {
        Health {
            store,
            shutting_down: Arc::default(),
        }
    }

    /// Say that shutdown has begun: from now on the readiness checks fail.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    /// Why this process should not get requests now; empty when it should.
    async fn unready_reasons(&self) -> Vec<&'static str> {
        let mut reasons = Vec::new();
        if self.shutting_down.load(Ordering::SeqCst) {
            reasons.push(SHUTTING_DOWN);
        }
        match tokio::time::timeout(DATABASE_TIMEOUT, self.store.ping()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(%error, "health check: the database does not answer");
                reasons.push(DATABASE_UNAVAILABLE);
            }
            Err(_) => {
                tracing::warn!(
                    timeout_ms = DATABASE_TIMEOUT.as_millis() as u64,
                    "health check: the database did not answer in time"
                );
                reasons.push(DATABASE_UNAVAILABLE);
            }
        }
        reasons
    }
}

/// The routes of the health checks.
pub fn routes(health: Health) -> Router {
    Router::new()
        .route("/healthcheck", get(ready))
        .route("/healthcheck/ready", get(ready))
        .route("/healthcheck/live", get(live))
        .with_state(health)
}

/// `/healthcheck` and `/healthcheck/ready`: serving, with a database, not shutting down.
async fn ready(State(health): State<Health>, method: Method, headers: HeaderMap) -> Response {
    let reasons = health.unready_reasons().await;
    report::render(&method, &headers, &reasons)
}

/// `/healthcheck/live`: the process answers.
async fn live(method: Method, headers: HeaderMap) -> Response {
    report::render(&method, &headers, &[])
}
