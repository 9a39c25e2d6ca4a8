//! Fulcrum's domain core: the Octavia object model, its validation rules, the provisioning status
//! machine, the driver seam every backend implements, the VIP network seam and the events through
//! which orchestration tells management about day-2 concerns (the store records them; see
//! [`events`]).
//!
//! Nothing in here does I/O. The store persists these types, the API validates requests with them,
//! and the reconciler hands [`driver::LoadBalancerGraph`]s to [`driver::Driver`]s.

pub mod caller;
pub mod devices;
pub mod driver;
pub mod error;
pub mod events;
pub mod fault;
pub mod model;
pub mod network;
pub mod patch;
pub mod secrets;
pub mod tasks;
pub mod timestamp;
pub mod validate;
pub mod wsme;

pub use caller::Caller;
pub use error::Error;
pub use fault::Fault;
