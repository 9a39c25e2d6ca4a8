//! Background tasks: the one shape every periodic job of Fulcrum has (converging work, the full
//! sync, observing data planes, event retention; the management module's jobs too).
//!
//! A task is idempotent: each [`BackgroundTask::activate`] looks at the world as it is now and
//! does what is due, so running it once more than needed is harmless and missing a tick loses
//! nothing. An [`Activator`] runs a task on a timer *and* on demand (a [`Wake`] that anyone may
//! signal, e.g. the API after a commit), never two activations of one task at once; shutdown is
//! handled once, here, for every task. Each activation's start, end, result and counts are kept
//! in a [`TaskStatuses`] registry that operators read through the API, and counted in the
//! `fulcrum_task_run_duration_seconds` and `fulcrum_task_runs_total` metrics.

mod activator;
mod status;

use async_trait::async_trait;

pub use activator::{Activator, Wake, describe_metrics, run_tasks};
pub use status::{TaskStatus, TaskStatuses};

/// What one activation did: named counts (items claimed, load balancers queued, events pruned).
pub type Report = std::collections::BTreeMap<&'static str, u64>;

/// A job that runs in the background, on a timer and on demand.
#[async_trait]
pub trait BackgroundTask: Send + Sync + 'static {
    /// A short, stable name (`converge`, `full-sync`, ...), shown in the task status.
    fn name(&self) -> &'static str;

    /// One line on what the task does, for operators.
    fn description(&self) -> &'static str;

    /// Do what is due now. An error is recorded in the task's status and logged; the next
    /// activation runs as usual.
    async fn activate(&self) -> Result<Report, String>;

    /// Called once at shutdown after the last activation: finish or hand back work still in
    /// flight. Nothing by default.
    async fn finish(&self) {}
}

/// Which duties this process performs for the whole cluster: a job that must run on one replica at
/// a time (the full sync, management's event handling) asks before each activation.
#[async_trait]
pub trait Duties: Send + Sync + 'static {
    /// Whether this process performs `duty` now: it holds it already, or took it over because no
    /// live holder had it. An error means the answer is unknown; the caller skips this round.
    async fn performs(&self, duty: &str) -> Result<bool, String>;
}
