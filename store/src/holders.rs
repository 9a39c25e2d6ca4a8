//! Work holders: the processes that claim work items, each known by a holder id (the name of the
//! replica it runs as and an id of this run of it) and kept alive by a heartbeat.
//!
//! A lease ends when it expires, and it must be long enough for the slowest driver call. A holder
//! that is provably gone should not make its work wait that long, so a lease is free at once
//! (see [`Store::claim`]) when its holder is
//!
//! - **retired**: a process registering under a replica name retires every earlier incarnation of
//!   that name, so a restarted process takes its own work back at once; a process that shuts down
//!   cleanly retires itself;
//! - **silent**: its last heartbeat is older than the holder timeout, as for a replica that was
//!   killed or cut off from the database: the other replicas take its work over within seconds.
//!
//! So replica names must be unique among the processes sharing a database (the host name is, on
//! separate hosts or pods); two processes running under one name take each other's work.

use fulcrum_core::timestamp;

use crate::{Store, StoreError};

/// The identity under which a process claims work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkHolder {
    id: String,
    replica: String,
}

impl WorkHolder {
    /// A new incarnation of `replica`: a holder id no other run has.
    pub fn new(replica: &str) -> Self {
        WorkHolder {
            id: format!("{replica}/{}", uuid::Uuid::new_v4().simple()),
            replica: replica.to_string(),
        }
    }

    /// The holder id, the lease owner of the items it claims.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The name of the replica it runs as.
    pub fn replica(&self) -> &str {
        &self.replica
    }
}

impl Store {
    /// Register `holder` as alive, retire every earlier incarnation of its replica (their leases
    /// become free at once) and forget retired or silent holders that hold no lease any more.
    /// Returns how many earlier incarnations were retired.
    pub async fn register_holder(
        &self,
        holder: &WorkHolder,
        holder_timeout_ms: i64,
    ) -> Result<u64, StoreError> {
        let now = timestamp::now_millis();
        let mut tx = self.begin().await?;
        let retired = sqlx::query(
            "UPDATE work_holders SET heartbeat_at = 0 \
             WHERE replica = $1 AND holder <> $2 AND heartbeat_at > 0",
        )
        .bind(holder.replica())
        .bind(holder.id())
        .execute(tx.conn())
        .await?
        .rows_affected();
        sqlx::query(
            "DELETE FROM work_holders WHERE heartbeat_at < $1 AND NOT EXISTS \
             (SELECT 1 FROM work_items WHERE work_items.lease_owner = work_holders.holder)",
        )
        .bind(now - holder_timeout_ms)
        .execute(tx.conn())
        .await?;
        upsert(tx.conn(), holder, now).await?;
        tx.commit().await?;
        Ok(retired)
    }

    /// Record that `holder` is alive. Returns `false` when it was no longer registered alive (it
    /// had been retired by another process registering under the same replica name, or was silent
    /// long enough to be forgotten); it is registered again.
    pub async fn heartbeat(&self, holder: &WorkHolder) -> Result<bool, StoreError> {
        let now = timestamp::now_millis();
        let beat = sqlx::query(
            "UPDATE work_holders SET heartbeat_at = $1 WHERE holder = $2 AND heartbeat_at > 0",
        )
        .bind(now)
        .bind(holder.id())
        .execute(self.write_pool())
        .await?
        .rows_affected();
        if beat == 1 {
            return Ok(true);
        }
        upsert(self.write_pool(), holder, now).await?;
        Ok(false)
    }

    /// Retire `holder` (a clean shutdown): whatever it still holds is free at once.
    pub async fn retire_holder(&self, holder: &WorkHolder) -> Result<(), StoreError> {
        sqlx::query("UPDATE work_holders SET heartbeat_at = 0 WHERE holder = $1")
            .bind(holder.id())
            .execute(self.write_pool())
            .await?;
        Ok(())
    }
}

async fn upsert<'e, E>(executor: E, holder: &WorkHolder, now: i64) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO work_holders (holder, replica, started_at, heartbeat_at) \
         VALUES ($1, $2, $3, $3) ON CONFLICT (holder) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
    )
    .bind(holder.id())
    .bind(holder.replica())
    .bind(now)
    .execute(executor)
    .await?;
    Ok(())
}
