//! `[management]`: how the management module runs.

use serde::Deserialize;

/// The `[management]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ManagementConfig {
    /// Serve the management API and run its jobs (on by default).
    pub enabled: bool,
    /// How often orchestration's events are read when nothing wakes the reader sooner.
    pub events_interval_seconds: u64,
}

impl Default for ManagementConfig {
    fn default() -> Self {
        ManagementConfig {
            enabled: true,
            events_interval_seconds: 2,
        }
    }
}
