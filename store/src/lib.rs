//! Fulcrum's durable store.
//!
//! One code path for SQLite (the embedded default, WAL mode) and PostgreSQL (for replicas), through
//! sqlx's `Any` driver with runtime queries and `$n` placeholders, which both databases accept.
//! SQLite writes go through a single connection so that write transactions queue in the process
//! instead of failing with `SQLITE_BUSY`.
//!
//! The store knows rows, not rules: the API decides what to write and does so inside one [`Tx`]
//! (desired state, `PENDING_*` statuses and the work item together), and the reconciler claims
//! [`WorkItem`]s with expiring leases, as a [`WorkHolder`] whose heartbeat lets others take its
//! work over at once when it is gone. Work done once for the whole cluster (the full sync, the
//! observer) is a duty that one holder performs at a time ([`Store::hold_duty`]).
//!
//! Events for management go to an outbox in the same transactions as the changes that cause them
//! ([`Tx::append_event`], and the `events` of [`Store::complete`] and
//! [`Store::record_observation`]); [`EventConsumer`]s read them back in commit order from stored
//! cursors (see the `outbox` module for how ids are made to follow commit order).
//!
//! A module with tables of its own (management) gets a [`ModuleDb`]: the same database, its own
//! migrations, and queries the store does not know about.
//!
//! Load balancers that a real Octavia delegates through the provider API have their settled
//! statuses and moving counters written, the same way, to the provider feed that Octavia's
//! provider agent reads from a cursor (see the `provider_feed` module).

mod census;
mod connect;
mod consumer;
mod duties;
mod error;
mod flavors;
mod holders;
mod list;
mod module;
mod outbox;
mod provider_feed;
mod quotas;
mod record;
mod row_de;
mod settle;
mod sync;
mod table;
mod tx;
mod work;
mod write_feed;

pub use census::{Census, ConsumerPosition, ObjectCount, Outbox, WorkQueue};
pub use connect::{Backend, Store, StoreOptions};
pub use consumer::EventConsumer;
pub use error::StoreError;
pub use flavors::{
    AvailabilityZone, AvailabilityZoneProfile, Catalog, CatalogRecord, Flavor, FlavorProfile,
};
pub use holders::WorkHolder;
pub use list::{ListQuery, SortDir, TagFilter};
pub use module::{ModuleDb, ModuleMigration};
pub use outbox::StoredEvent;
pub use provider_feed::{FeedEntry, status_key};
pub use quotas::QuotaLimits;
pub use record::{Record, Tree};
pub use settle::Completion;
pub use sync::SyncCandidate;
pub use tx::{LockOutcome, Tx};
pub use work::{Outcome, WorkAction, WorkItem, rows_of};
