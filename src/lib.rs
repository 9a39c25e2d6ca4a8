//! Fulcrum: an Octavia v2-compatible LBaaS driver service.
//!
//! This crate is the binary's wiring: configuration ([`config`]), the reconciler that converges
//! what the API records ([`reconciler`]), and the server that puts API, store, drivers and
//! reconciler together ([`server`]).

pub mod config;
pub mod reconciler;
pub mod server;
