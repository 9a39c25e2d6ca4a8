//! Fulcrum: an Octavia v2-compatible LBaaS driver service.
//!
//! This crate is the binary's wiring: configuration ([`config`]), the background tasks that
//! converge what the API records ([`tasks`]), the metrics served at `/metrics` ([`telemetry`]), and
//! the server that puts API, store, drivers and tasks together ([`server`]), and what a driver would
//! send its backend for one load balancer ([`render`]).

pub mod config;
mod open_files;
pub mod render;
pub mod server;
pub mod tasks;
pub mod telemetry;
