//! Driver calls, timed and counted: every `apply`, `remove` and `observe` of the tasks goes
//! through [`metered`], which records its latency by provider and operation and, when it fails,
//! its [`DriverError`] kind.

use std::future::Future;
use std::time::Instant;

use fulcrum_core::driver::DriverError;

/// Seconds each driver call took, by provider and operation.
const DURATION: &str = "fulcrum_driver_operation_duration_seconds";
/// Failed driver calls, by provider, operation and error kind.
const ERRORS: &str = "fulcrum_driver_errors_total";

/// A driver operation, as its metrics label it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Operation {
    /// `Driver::apply`.
    Apply,
    /// `Driver::remove`.
    Remove,
    /// `Driver::observe`.
    Observe,
}

impl Operation {
    fn label(self) -> &'static str {
        match self {
            Operation::Apply => "apply",
            Operation::Remove => "remove",
            Operation::Observe => "observe",
        }
    }
}

/// Run one call of `provider`'s driver, recording how long it took and how it failed.
pub(super) async fn metered<T>(
    provider: &str,
    operation: Operation,
    call: impl Future<Output = Result<T, DriverError>>,
) -> Result<T, DriverError> {
    let started = Instant::now();
    let result = call.await;
    let provider = provider.to_string();
    let operation = operation.label();
    metrics::histogram!(DURATION, "provider" => provider.clone(), "operation" => operation)
        .record(started.elapsed().as_secs_f64());
    if let Err(error) = &result {
        metrics::counter!(
            ERRORS,
            "provider" => provider,
            "operation" => operation,
            "kind" => error.kind().as_str()
        )
        .increment(1);
    }
    result
}

/// Describe the driver call metrics, for the exposition's `HELP`.
pub(super) fn describe_metrics() {
    metrics::describe_histogram!(
        DURATION,
        metrics::Unit::Seconds,
        "Seconds each driver call took, by provider and operation (apply, remove, observe)."
    );
    metrics::describe_counter!(
        ERRORS,
        "Failed driver calls, by provider, operation and error kind (transient, unsupported, \
         authentication, not_found, conflict, invalid_configuration, rejected)."
    );
}
