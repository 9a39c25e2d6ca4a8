//! Simulators of the vendor APIs Fulcrum's drivers speak.
//!
//! Drivers for NSX-T cannot be tested against a real manager here, and a user should be able to
//! try Fulcrum without one. Each simulator is an HTTP server that answers the calls its driver
//! makes the way the vendor's product answers them — including the unpleasant parts (revision
//! conflicts, rate limits, slow realization, failing calls) — and gives tests a control handle
//! to count calls and inject faults. Tests start one in-process on `127.0.0.1:0`; the
//! `fulcrum-sim` binary runs one for a user.

pub mod nsxt;
