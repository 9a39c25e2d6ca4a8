//! [`Activator`]: runs one task on a timer and on demand until shutdown, recording each
//! activation in the [`TaskStatuses`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::{BackgroundTask, TaskStatuses};

/// Asks a task to run now. Cheap to clone; waking a task that is running makes it run once more
/// when it ends, and any number of wakes meanwhile count as one.
#[derive(Debug, Clone, Default)]
pub struct Wake(Arc<Notify>);

impl Wake {
    /// A wake-up nobody listens to yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Ask for an activation.
    pub fn wake(&self) {
        self.0.notify_one();
    }

    /// The wake-up behind a [`Notify`] that others already signal.
    pub fn from_notify(notify: Arc<Notify>) -> Self {
        Wake(notify)
    }

    async fn woken(&self) {
        self.0.notified().await;
    }
}

/// One task with its timer and its wake-up.
pub struct Activator {
    task: Arc<dyn BackgroundTask>,
    period: Duration,
    wake: Wake,
    at_start: bool,
}

impl Activator {
    /// Run `task` every `period` (counted from the end of an activation).
    pub fn new(task: Arc<dyn BackgroundTask>, period: Duration) -> Self {
        Activator {
            task,
            period,
            wake: Wake::new(),
            at_start: false,
        }
    }

    /// Also run it whenever `wake` is signalled.
    pub fn woken_by(mut self, wake: Wake) -> Self {
        self.wake = wake;
        self
    }

    /// Run it once as soon as it starts, not only after the first period.
    pub fn at_start(mut self) -> Self {
        self.at_start = true;
        self
    }

    async fn run(self, statuses: Arc<TaskStatuses>, mut shutdown: watch::Receiver<bool>) {
        let name = self.task.name();
        let mut due = self.at_start;
        loop {
            if !due {
                tokio::select! {
                    biased;
                    _ = shutdown.changed() => {}
                    _ = self.wake.woken() => {}
                    _ = tokio::time::sleep(self.period) => {}
                }
            }
            if *shutdown.borrow() {
                break;
            }
            due = false;
            statuses.started(name);
            let started = Instant::now();
            let result = self.task.activate().await;
            if let Err(error) = &result {
                tracing::warn!(task = name, %error, "background task failed");
            }
            record_run(name, started.elapsed(), result.is_ok());
            statuses.finished(name, &result);
        }
        self.task.finish().await;
        tracing::debug!(task = name, "background task stopped");
    }
}

/// Seconds each activation of a task took, by task.
const RUN_DURATION: &str = "fulcrum_task_run_duration_seconds";
/// Activations of each task, by task and result (`ok`, `error`).
const RUNS: &str = "fulcrum_task_runs_total";

/// Count one activation of the task `name` and how long it took.
fn record_run(name: &'static str, took: Duration, ok: bool) {
    metrics::histogram!(RUN_DURATION, "task" => name).record(took.as_secs_f64());
    let result = if ok { "ok" } else { "error" };
    metrics::counter!(RUNS, "task" => name, "result" => result).increment(1);
}

/// Describe the metrics every task's activations are counted in, for the exposition's `HELP`.
pub fn describe_metrics() {
    metrics::describe_histogram!(
        RUN_DURATION,
        metrics::Unit::Seconds,
        "How long each activation of a background task took, by task."
    );
    metrics::describe_counter!(
        RUNS,
        "Activations of each background task, by task and result (ok, error)."
    );
}

/// Run every activator until `shutdown` turns true; resolves once each task's last activation
/// and its [`BackgroundTask::finish`] are done.
pub async fn run_tasks(
    activators: Vec<Activator>,
    statuses: Arc<TaskStatuses>,
    shutdown: watch::Receiver<bool>,
) {
    let mut running = JoinSet::new();
    for activator in activators {
        statuses.register(
            activator.task.name(),
            activator.task.description(),
            activator.period,
        );
        running.spawn(activator.run(statuses.clone(), shutdown.clone()));
    }
    while running.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::tasks::Report;

    #[derive(Default)]
    struct Counting {
        runs: AtomicU64,
        finished: AtomicU64,
        fail_on: Option<u64>,
    }

    #[async_trait]
    impl BackgroundTask for Counting {
        fn name(&self) -> &'static str {
            "counting"
        }
        fn description(&self) -> &'static str {
            "counts its activations"
        }
        async fn activate(&self) -> Result<Report, String> {
            let n = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
            if Some(n) == self.fail_on {
                return Err(format!("activation {n} failed"));
            }
            Ok(Report::from([("run", n)]))
        }
        async fn finish(&self) {
            self.finished.fetch_add(1, Ordering::SeqCst);
        }
    }

    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn runs_on_its_timer_and_on_demand_and_finishes_once() {
        let task = Arc::new(Counting::default());
        let wake = Wake::new();
        let statuses = Arc::new(TaskStatuses::new());
        let (stop, stopped) = watch::channel(false);
        let runner = tokio::spawn(run_tasks(
            vec![Activator::new(task.clone(), Duration::from_secs(60)).woken_by(wake.clone())],
            statuses.clone(),
            stopped,
        ));
        settle().await;
        assert_eq!(task.runs.load(Ordering::SeqCst), 0, "not before its period");
        wake.wake();
        settle().await;
        assert_eq!(task.runs.load(Ordering::SeqCst), 1, "on demand");
        tokio::time::advance(Duration::from_secs(61)).await;
        settle().await;
        assert_eq!(task.runs.load(Ordering::SeqCst), 2, "on its timer");
        stop.send(true).unwrap();
        runner.await.unwrap();
        assert_eq!(task.finished.load(Ordering::SeqCst), 1);
        let status = &statuses.snapshot()[0];
        assert_eq!(status.name, "counting");
        assert_eq!(status.activations, 2);
        assert!(!status.running);
        assert_eq!(status.last_result.as_deref(), Some("ok"));
        assert_eq!(status.last_report.get("run"), Some(&2));
        assert_eq!(status.period_seconds, 60.0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_activation_is_recorded_and_the_next_one_runs() {
        let task = Arc::new(Counting {
            fail_on: Some(1),
            ..Default::default()
        });
        let statuses = Arc::new(TaskStatuses::new());
        let (stop, stopped) = watch::channel(false);
        let runner = tokio::spawn(run_tasks(
            vec![Activator::new(task.clone(), Duration::from_secs(5)).at_start()],
            statuses.clone(),
            stopped,
        ));
        settle().await;
        let status = statuses.snapshot()[0].clone();
        assert_eq!(status.last_result.as_deref(), Some("error"));
        assert_eq!(status.last_error.as_deref(), Some("activation 1 failed"));
        tokio::time::advance(Duration::from_secs(6)).await;
        settle().await;
        let status = statuses.snapshot()[0].clone();
        assert_eq!(status.activations, 2);
        assert_eq!(status.last_result.as_deref(), Some("ok"));
        assert_eq!(status.last_error, None);
        stop.send(true).unwrap();
        runner.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn wakes_during_shutdown_start_nothing() {
        let task = Arc::new(Counting::default());
        let wake = Wake::new();
        let statuses = Arc::new(TaskStatuses::new());
        let (stop, stopped) = watch::channel(false);
        stop.send(true).unwrap();
        wake.wake();
        run_tasks(
            vec![Activator::new(task.clone(), Duration::from_secs(1)).woken_by(wake)],
            statuses,
            stopped,
        )
        .await;
        assert_eq!(task.runs.load(Ordering::SeqCst), 0);
        assert_eq!(task.finished.load(Ordering::SeqCst), 1);
    }
}
