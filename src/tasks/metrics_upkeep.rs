//! The metrics-upkeep task: folds the samples histograms buffered since the last upkeep into
//! their buckets, so that memory stays bounded however rarely `/metrics` is scraped.

use async_trait::async_trait;
use fulcrum_core::tasks::{BackgroundTask, Report};
use metrics_exporter_prometheus::PrometheusHandle;

/// Runs the recorder's upkeep.
pub struct MetricsUpkeepTask {
    recorder: PrometheusHandle,
}

impl MetricsUpkeepTask {
    /// The upkeep of `recorder`.
    pub fn new(recorder: PrometheusHandle) -> Self {
        MetricsUpkeepTask { recorder }
    }
}

#[async_trait]
impl BackgroundTask for MetricsUpkeepTask {
    fn name(&self) -> &'static str {
        "metrics-upkeep"
    }

    fn description(&self) -> &'static str {
        "Folds buffered histogram samples into their buckets so that metrics memory stays bounded."
    }

    async fn activate(&self) -> Result<Report, String> {
        self.recorder.run_upkeep();
        Ok(Report::new())
    }
}
