//! Telemetry: the metrics this process keeps and serves at `/metrics`.
//!
//! Events are recorded where they happen, through the `metrics` facade, into one Prometheus
//! recorder per process ([`recorder`]): API requests (`fulcrum_api::http_metrics`), Keystone
//! calls and its token cache, background task runs (`fulcrum_core::tasks`), driver calls and
//! retries (`crate::tasks`), and every event logged at error level ([`error_count`]).
//! Snapshots are taken when scraped instead ([`exposition`]): what the store holds (objects by
//! status, the work queue, the event outbox's lag) and the process's own figures from
//! `/proc/self`.

pub mod error_count;
pub mod exposition;

mod census;
mod process;
mod text;

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Upper bounds of the buckets of every histogram (all of them count seconds).
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// The handle of this process's metrics recorder, installed as the global recorder (with every
/// metric described) on first use.
pub fn recorder() -> PrometheusHandle {
    RECORDER
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(BUCKETS)
                .expect("the bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed; /metrics shows no events");
            }
            describe_metrics();
            handle
        })
        .clone()
}

/// Describe every recorded metric, for the exposition's `HELP` lines.
fn describe_metrics() {
    fulcrum_core::tasks::describe_metrics();
    fulcrum_api::http_metrics::describe_metrics();
    fulcrum_api::wire::describe_metrics();
    fulcrum_api::auth::keystone::describe_metrics();
    fulcrum_api::service::placement::describe_metrics();
    crate::tasks::describe_metrics();
    error_count::describe_metrics();
}
