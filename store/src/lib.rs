//! Fulcrum's durable store.
//!
//! One code path for SQLite (the embedded default, WAL mode) and PostgreSQL (for replicas), through
//! sqlx's `Any` driver with runtime queries and `$n` placeholders, which both databases accept.
//! SQLite writes go through a single connection so that write transactions queue in the process
//! instead of failing with `SQLITE_BUSY`.
//!
//! The store knows rows, not rules: the API decides what to write and does so inside one [`Tx`]
//! (desired state, `PENDING_*` statuses and the work item together), and the reconciler claims
//! [`WorkItem`]s with expiring leases.

mod connect;
mod error;
mod flavors;
mod list;
mod quotas;
mod record;
mod table;
mod tx;
mod work;

pub use connect::{Backend, Store, StoreOptions};
pub use error::StoreError;
pub use flavors::{
    AvailabilityZone, AvailabilityZoneProfile, Catalog, CatalogRecord, Flavor, FlavorProfile,
};
pub use list::{ListQuery, SortDir, TagFilter};
pub use quotas::QuotaLimits;
pub use record::{Record, Tree};
pub use tx::{LockOutcome, Tx};
pub use work::{Outcome, WorkAction, WorkItem};
