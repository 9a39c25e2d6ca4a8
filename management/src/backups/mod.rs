//! Configuration backups: when they are taken ([`cron`] schedules), how long they are kept
//! ([`retention`]), and where, with a checksum that every read checks ([`archive`]).

pub mod archive;
pub mod cron;
pub mod retention;
