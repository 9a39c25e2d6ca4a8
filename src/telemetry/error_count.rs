//! [`ErrorCounter`]: a tracing layer that counts every event logged at error level in
//! `fulcrum_errors_total`, labelled with the event's target (the module that logged it), so that
//! nothing logged as an error goes uncounted.

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Events logged at error level, by the module that logged them.
const ERRORS: &str = "fulcrum_errors_total";

/// Counts error events; add it to the subscriber beside the log output.
#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorCounter;

impl<S: Subscriber> Layer<S> for ErrorCounter {
    fn on_event(&self, event: &Event<'_>, _context: Context<'_, S>) {
        let metadata = event.metadata();
        if *metadata.level() == Level::ERROR {
            metrics::counter!(ERRORS, "component" => metadata.target()).increment(1);
        }
    }
}

/// Describe the error counter, for the exposition's `HELP`.
pub(super) fn describe_metrics() {
    metrics::describe_counter!(
        ERRORS,
        "Events logged at error level, by component (the module that logged them)."
    );
}

#[cfg(test)]
mod tests {
    use metrics_exporter_prometheus::PrometheusBuilder;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[test]
    fn every_error_event_is_counted_by_its_target() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let subscriber = tracing_subscriber::registry().with(ErrorCounter);
        metrics::with_local_recorder(&recorder, || {
            tracing::subscriber::with_default(subscriber, || {
                tracing::error!(target: "fulcrum::somewhere", "one");
                tracing::error!(target: "fulcrum::somewhere", "two");
                tracing::warn!(target: "fulcrum::somewhere", "not an error");
                tracing::error!(target: "fulcrum::elsewhere", "three");
            });
        });
        let text = handle.render();
        assert!(
            text.contains("fulcrum_errors_total{component=\"fulcrum::somewhere\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("fulcrum_errors_total{component=\"fulcrum::elsewhere\"} 1"),
            "{text}"
        );
    }
}
