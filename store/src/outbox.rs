//! The events outbox: [`Event`]s written in the transaction of the change that causes them, read
//! back in id order by consumers that each keep a cursor (see [`crate::EventConsumer`]).
//!
//! # Ids become visible in increasing order
//!
//! A consumer reads `id > cursor` and then moves its cursor to the last id it read. That is only
//! safe if no smaller id can become visible after a larger one: with a PostgreSQL sequence, two
//! transactions can take ids 10 and 11 and commit 11 first, and a consumer reading in between
//! moves past 10 for good. So ids do not come from a sequence but from the one row of the
//! `event_counter` table, which the writing transaction increments:
//!
//! - on **PostgreSQL** the increment holds that row's lock until the transaction ends, so the next
//!   event-writing transaction waits at its own increment until the previous one has committed
//!   (and become visible) or rolled back. Commit order is id order. The price is that
//!   event-writing transactions are serialized from their first event to their commit: append
//!   events as the last statements of a transaction, which also rules out deadlocks against the
//!   row locks the transaction took before.
//! - on **SQLite** there is one writer at a time anyway; the counter changes nothing about
//!   concurrency.
//!
//! A rolled-back transaction rolls its increment back too, so ids have no holes either: the only
//! gap a consumer can meet is at the start, where [`Store::prune_events`] removed old events.
//! Transactions that write no event never touch the counter.
//!
//! # Retention
//!
//! Events are kept for a retention period, not until every consumer has read them: a consumer
//! that is away for longer than the retention misses the events pruned meanwhile (its next read
//! starts at the oldest event left, and says how many it missed).

use std::time::Duration;

use fulcrum_core::events::Event;
use fulcrum_core::timestamp;
use sqlx::Row;
use time::OffsetDateTime;

use crate::{Store, StoreError, Tx};

/// An event read back from the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Its place in the outbox: ids increase in commit order, without holes.
    pub id: i64,
    /// What happened.
    pub event: Event,
    /// When it was written (Octavia's timestamp format, UTC).
    pub created_at: String,
}

/// Rows per `INSERT` (five parameters each).
const INSERT_CHUNK: usize = 200;

/// Write `events` on `conn`, inside the caller's transaction, and return their ids in order.
pub(crate) async fn append(
    conn: &mut sqlx::AnyConnection,
    events: &[Event],
) -> Result<Vec<i64>, StoreError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let count = i64::try_from(events.len()).expect("a batch of events fits in an i64");
    let last: i64 = sqlx::query(
        "UPDATE event_counter SET last_id = last_id + $1 WHERE id = 1 RETURNING last_id",
    )
    .bind(count)
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)?;
    let first = last - count + 1;
    let created_at = timestamp::now();
    let mut next_id = first;
    for chunk in events.chunks(INSERT_CHUNK) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = i * 5;
                format!(
                    "(${}, ${}, ${}, ${}, ${})",
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO events (id, kind, load_balancer_id, payload, created_at) VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for event in chunk {
            let (kind, payload) = event.to_parts();
            query = query
                .bind(next_id)
                .bind(kind)
                .bind(event.load_balancer_id().map(str::to_owned))
                .bind(payload.to_string())
                .bind(created_at.clone());
            next_id += 1;
        }
        query.execute(&mut *conn).await?;
    }
    Ok((first..=last).collect())
}

impl Tx {
    /// Write an event in this transaction: it becomes visible when the transaction commits, and
    /// never if it rolls back. Returns its id. Event-writing transactions queue behind each other
    /// from their first event to their commit, so append events last (see the module doc).
    pub async fn append_event(&mut self, event: &Event) -> Result<i64, StoreError> {
        let ids = append(self.conn(), std::slice::from_ref(event)).await?;
        Ok(ids[0])
    }
}

impl Store {
    /// Write events in a transaction of their own (observations that change no other row).
    /// Returns their ids, in order.
    pub async fn append_events(&self, events: &[Event]) -> Result<Vec<i64>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin().await?;
        let ids = append(tx.conn(), events).await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// Up to `limit` events with an id above `after_id`, in id order.
    pub async fn events_after(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, payload, created_at FROM events WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(limit)
        .fetch_all(self.read_pool())
        .await?;
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get(0)?;
                let kind: String = row.try_get(1)?;
                let payload: String = row.try_get(2)?;
                let corrupt = |e: serde_json::Error| StoreError::Corrupt {
                    table: "events",
                    message: format!("event {id} ({kind}): {e}"),
                };
                let payload = serde_json::from_str(&payload).map_err(corrupt)?;
                let event = Event::from_parts(&kind, payload).map_err(corrupt)?;
                Ok(StoredEvent {
                    id,
                    event,
                    created_at: row.try_get(3)?,
                })
            })
            .collect()
    }

    /// The id of the last event committed (0 before the first), for reporting how far a consumer
    /// lags behind.
    pub async fn last_event_id(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query("SELECT last_id FROM event_counter WHERE id = 1")
                .fetch_one(self.read_pool())
                .await?
                .try_get(0)?,
        )
    }

    /// The last event id `consumer` has handled; 0 for a consumer never seen.
    pub async fn event_cursor(&self, consumer: &str) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT last_id FROM event_cursors WHERE consumer = $1")
            .bind(consumer)
            .fetch_optional(self.read_pool())
            .await?;
        Ok(match row {
            Some(row) => row.try_get(0)?,
            None => 0,
        })
    }

    /// Record that `consumer` has handled every event up to `to_id`. The cursor never moves
    /// backwards, and never past the last event committed (a cursor ahead of the outbox would
    /// skip events not written yet).
    pub async fn advance_event_cursor(&self, consumer: &str, to_id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO event_cursors (consumer, last_id, updated_at) \
             SELECT $1, CASE WHEN $2 < last_id THEN $2 ELSE last_id END, $3 \
             FROM event_counter WHERE id = 1 \
             ON CONFLICT (consumer) DO UPDATE SET last_id = excluded.last_id, \
             updated_at = excluded.updated_at WHERE event_cursors.last_id <= excluded.last_id",
        )
        .bind(consumer)
        .bind(to_id)
        .bind(timestamp::now())
        .execute(self.write_pool())
        .await?;
        Ok(())
    }

    /// Delete the events written more than `retention` ago; returns how many. A consumer that
    /// has not read for longer than `retention` never sees them.
    pub async fn prune_events(&self, retention: Duration) -> Result<u64, StoreError> {
        let cutoff = time::Duration::try_from(retention)
            .ok()
            .and_then(|r| OffsetDateTime::now_utc().checked_sub(r));
        let Some(cutoff) = cutoff else {
            // Longer ago than time can say: nothing is that old.
            return Ok(0);
        };
        let done = sqlx::query("DELETE FROM events WHERE created_at < $1")
            .bind(timestamp::format(cutoff))
            .execute(self.write_pool())
            .await?;
        Ok(done.rows_affected())
    }
}
