//! Hotfix and upgrade campaigns: a target version rolled over a selection of devices, a few at a
//! time, HA pairs standby first, each device backed up before its change and checked by health
//! gates after it.
//!
//! [`schedule`] decides which devices may start next from the campaign's persisted progress
//! alone, so a restarted process resumes from what the database says, with the same rules.

pub mod schedule;
pub mod steps;
