//! Simulators of the vendor APIs Fulcrum's drivers speak.
//!
//! Drivers for NSX-T and F5 BIG-IP cannot be tested against real devices here, and a user should
//! be able to try Fulcrum without them. Each simulator is an HTTP server that answers the calls
//! its driver makes the way the vendor's product answers them — including the unpleasant parts
//! (revision conflicts, rate limits, busy devices, slow realization, failing calls) — and gives
//! tests a control handle to count calls and inject faults ([`faults`], shared by all). Tests
//! start one in-process on `127.0.0.1:0`; the `fulcrum-sim` binary runs one for a user.

pub mod f5;
pub mod faults;
pub mod nsxt;
