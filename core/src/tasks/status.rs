//! [`TaskStatuses`]: what each background task did last, for operators.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::Report;
use crate::timestamp;

/// The status of one background task, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TaskStatus {
    /// The task's name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// Seconds between timer activations.
    pub period_seconds: f64,
    /// Activations since the process started.
    pub activations: u64,
    /// Whether an activation is running now.
    pub running: bool,
    /// When the last activation started (UTC, Octavia's timestamp format).
    pub last_started_at: Option<String>,
    /// When the last activation ended.
    pub last_finished_at: Option<String>,
    /// How long the last activation took, in milliseconds.
    pub last_duration_ms: Option<u64>,
    /// `ok` or `error`; absent before the first activation ended.
    pub last_result: Option<String>,
    /// The error of the last activation, when it failed.
    pub last_error: Option<String>,
    /// What the last activation did, as named counts.
    #[schema(value_type = Object)]
    pub last_report: BTreeMap<String, u64>,
}

/// The statuses of every task of this process, by name.
#[derive(Debug, Default)]
pub struct TaskStatuses {
    tasks: Mutex<BTreeMap<String, Entry>>,
}

#[derive(Debug)]
struct Entry {
    status: TaskStatus,
    started: Option<Instant>,
}

impl TaskStatuses {
    /// Statuses with no task registered.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Entry>> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Make a task known before its first activation.
    pub(crate) fn register(&self, name: &str, description: &str, period: Duration) {
        self.lock().insert(
            name.to_string(),
            Entry {
                status: TaskStatus {
                    name: name.to_string(),
                    description: description.to_string(),
                    period_seconds: period.as_secs_f64(),
                    activations: 0,
                    running: false,
                    last_started_at: None,
                    last_finished_at: None,
                    last_duration_ms: None,
                    last_result: None,
                    last_error: None,
                    last_report: BTreeMap::new(),
                },
                started: None,
            },
        );
    }

    pub(crate) fn started(&self, name: &str) {
        if let Some(e) = self.lock().get_mut(name) {
            e.status.activations += 1;
            e.status.running = true;
            e.status.last_started_at = Some(timestamp::now());
            e.started = Some(Instant::now());
        }
    }

    pub(crate) fn finished(&self, name: &str, result: &Result<Report, String>) {
        if let Some(e) = self.lock().get_mut(name) {
            let s = &mut e.status;
            s.running = false;
            s.last_finished_at = Some(timestamp::now());
            s.last_duration_ms = e
                .started
                .take()
                .map(|t| u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX));
            match result {
                Ok(report) => {
                    s.last_result = Some("ok".into());
                    s.last_error = None;
                    s.last_report = report.iter().map(|(k, v)| ((*k).to_string(), *v)).collect();
                }
                Err(message) => {
                    s.last_result = Some("error".into());
                    s.last_error = Some(message.clone());
                }
            }
        }
    }

    /// A snapshot of every task's status, by name.
    pub fn snapshot(&self) -> Vec<TaskStatus> {
        self.lock().values().map(|e| e.status.clone()).collect()
    }
}
