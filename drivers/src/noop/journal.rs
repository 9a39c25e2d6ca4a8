//! The noop driver's journal: one line per driver call, appended to a file that several processes
//! may share, so that a test can check across replicas what the backend was asked and when (for
//! instance, that no two applies of one load balancer ever overlapped).
//!
//! Each line is `<milliseconds since the Unix epoch> <process id> <event> <load balancer id>`,
//! written with a single `write` to a file opened for appending, so that lines of concurrent
//! writers never interleave. Events: `apply-begin`, `apply-end`, `remove-begin`, `remove-end`,
//! and `inventory` (with `-` for the id) when the driver is asked what it holds.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use fulcrum_core::driver::DriverError;
use fulcrum_core::timestamp;

/// What a journal line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// An apply started.
    ApplyBegin,
    /// An apply ended (successfully or not).
    ApplyEnd,
    /// A remove started.
    RemoveBegin,
    /// A remove ended.
    RemoveEnd,
    /// The driver was asked what it holds.
    Inventory,
}

impl Entry {
    fn as_str(self) -> &'static str {
        match self {
            Entry::ApplyBegin => "apply-begin",
            Entry::ApplyEnd => "apply-end",
            Entry::RemoveBegin => "remove-begin",
            Entry::RemoveEnd => "remove-end",
            Entry::Inventory => "inventory",
        }
    }
}

/// An open journal file.
#[derive(Debug)]
pub struct Journal {
    file: Mutex<File>,
}

impl Journal {
    /// Open (creating it if needed) the journal at `path` for appending.
    pub fn open(path: &Path) -> Result<Self, DriverError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| {
                DriverError::invalid_configuration(format!(
                    "[providers.noop] journal {}: {e}",
                    path.display()
                ))
            })?;
        Ok(Journal {
            file: Mutex::new(file),
        })
    }

    /// Append one line; a failing write is logged, never fails the driver call.
    pub fn record(&self, entry: Entry, load_balancer_id: &str) {
        let line = format!(
            "{} {} {} {}\n",
            timestamp::now_millis(),
            std::process::id(),
            entry.as_str(),
            load_balancer_id
        );
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = file.write_all(line.as_bytes()) {
            tracing::warn!(error = %e, "writing the noop driver's journal failed");
        }
    }
}
