//! [`Census`]: counts of what the store holds, read with a few grouped queries so that they can
//! be taken at every metrics scrape: objects by provider and status, the work queue, and how far
//! each consumer of the event outbox lags behind.

use fulcrum_core::model::Kind;
use fulcrum_core::timestamp;
use sqlx::Row;

use crate::table::Table;
use crate::{Store, StoreError};

/// What the store holds right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Census {
    /// Objects of each kind, by provider and statuses; combinations with no object are absent.
    pub objects: Vec<ObjectCount>,
    /// The reconciler's work items.
    pub work: WorkQueue,
    /// The event outbox and its consumers.
    pub outbox: Outbox,
}

/// How many objects of one kind share a provider and a pair of statuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectCount {
    /// The kind of object.
    pub kind: Kind,
    /// The provider of its load balancer.
    pub provider: String,
    /// Its `provisioning_status`.
    pub provisioning_status: String,
    /// Its `operating_status`.
    pub operating_status: String,
    /// How many.
    pub count: u64,
}

/// The work items of every process sharing the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkQueue {
    /// Waiting for their first claim.
    pub queued: u64,
    /// Claimed before and waiting again: a retry after a transient failure, or a lease that
    /// expired.
    pub retrying: u64,
    /// Held by a live lease (unexpired, its holder alive): being converged now.
    pub in_flight: u64,
    /// When the longest-waiting item was first queued (milliseconds since the Unix epoch).
    pub oldest_queued_at_ms: Option<i64>,
}

/// The event outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbox {
    /// The id of the last event committed (0 before the first).
    pub last_id: i64,
    /// Each consumer's position.
    pub consumers: Vec<ConsumerPosition>,
}

/// Where one consumer of the outbox stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerPosition {
    /// The consumer's name.
    pub consumer: String,
    /// The last event id it has handled.
    pub last_id: i64,
    /// When the first event it has not handled was written; `None` when it has handled all.
    pub oldest_unread_at: Option<time::OffsetDateTime>,
}

impl Store {
    /// Count what the store holds (see [`Census`]). A lease counts as live while it has not
    /// expired and its holder has beaten within `holder_timeout_ms` (see the `holders` module).
    pub async fn census(&self, holder_timeout_ms: i64) -> Result<Census, StoreError> {
        Ok(Census {
            objects: self.object_counts().await?,
            work: self.work_queue(holder_timeout_ms).await?,
            outbox: self.outbox_positions().await?,
        })
    }

    async fn object_counts(&self) -> Result<Vec<ObjectCount>, StoreError> {
        let lbs = Table::of(Kind::LoadBalancer).name;
        let sql = Kind::ALL
            .iter()
            .map(|kind| {
                let table = Table::of(*kind);
                let join = if *kind == Kind::LoadBalancer {
                    String::new()
                } else {
                    format!("JOIN {lbs} lb ON lb.id = t.{} ", table.tree_column)
                };
                let provider = if *kind == Kind::LoadBalancer {
                    "t.provider"
                } else {
                    "lb.provider"
                };
                format!(
                    "SELECT '{table}', {provider}, t.provisioning_status, t.operating_status, \
                     COUNT(*) FROM {table} t {join}GROUP BY {provider}, t.provisioning_status, \
                     t.operating_status",
                    table = table.name
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let rows = sqlx::query(&sql).fetch_all(self.read_pool()).await?;
        rows.iter()
            .map(|row| {
                let table: String = row.try_get(0)?;
                let kind = Kind::ALL
                    .into_iter()
                    .find(|kind| Table::of(*kind).name == table)
                    .ok_or_else(|| StoreError::Corrupt {
                        table: "census",
                        message: format!("unknown table {table}"),
                    })?;
                let count: i64 = row.try_get(4)?;
                Ok(ObjectCount {
                    kind,
                    provider: row.try_get(1)?,
                    provisioning_status: row.try_get(2)?,
                    operating_status: row.try_get(3)?,
                    count: count.max(0) as u64,
                })
            })
            .collect()
    }

    async fn work_queue(&self, holder_timeout_ms: i64) -> Result<WorkQueue, StoreError> {
        const LIVE: &str = "lease_expires_at >= $1 AND EXISTS (SELECT 1 FROM work_holders h \
             WHERE h.holder = work_items.lease_owner AND h.heartbeat_at >= $2)";
        let now = timestamp::now_millis();
        let row = sqlx::query(&format!(
            "SELECT \
             COALESCE(SUM(CASE WHEN {LIVE} THEN 0 WHEN attempts = 0 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN {LIVE} THEN 0 WHEN attempts > 0 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN {LIVE} THEN 1 ELSE 0 END), 0), \
             MIN(queued_at) FROM work_items"
        ))
        .bind(now)
        .bind(now - holder_timeout_ms)
        .fetch_one(self.read_pool())
        .await?;
        let count =
            |i: usize| -> Result<u64, StoreError> { Ok(row.try_get::<i64, _>(i)?.max(0) as u64) };
        Ok(WorkQueue {
            queued: count(0)?,
            retrying: count(1)?,
            in_flight: count(2)?,
            oldest_queued_at_ms: row.try_get(3)?,
        })
    }

    async fn outbox_positions(&self) -> Result<Outbox, StoreError> {
        let rows = sqlx::query(
            "SELECT c.consumer, c.last_id, (SELECT e.created_at FROM events e \
             WHERE e.id > c.last_id ORDER BY e.id LIMIT 1) FROM event_cursors c ORDER BY c.consumer",
        )
        .fetch_all(self.read_pool())
        .await?;
        let consumers = rows
            .iter()
            .map(|row| {
                let created_at: Option<String> = row.try_get(2)?;
                Ok(ConsumerPosition {
                    consumer: row.try_get(0)?,
                    last_id: row.try_get(1)?,
                    oldest_unread_at: created_at.as_deref().and_then(timestamp::parse),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Outbox {
            last_id: self.last_event_id().await?,
            consumers,
        })
    }
}
