//! Cluster duties: work that one process performs for every replica sharing the database, such as
//! the full sync and the observer, which would only repeat each other's calls to the backends if
//! every replica ran them.
//!
//! A duty is held by one [`WorkHolder`] at a time. Its holder keeps it for as long as it asks for
//! it again and stays alive; another holder takes it over as soon as the holder is provably gone,
//! by the rule that frees a lease (see the `holders` module): retired (shut down, or replaced by a
//! newer run of its replica) or silent for longer than the holder timeout. A holder that is not
//! registered at all counts as gone.

use fulcrum_core::timestamp;

use crate::{Store, StoreError, WorkHolder};

impl Store {
    /// Ask to perform `duty` as `holder`: `true` when `holder` performs it now, because it already
    /// did, nobody did, or its previous holder is gone (retired, or no heartbeat for
    /// `holder_timeout_ms`). Atomic: of replicas asking at once, exactly one gets a free duty.
    pub async fn hold_duty(
        &self,
        duty: &str,
        holder: &WorkHolder,
        holder_timeout_ms: i64,
    ) -> Result<bool, StoreError> {
        let now = timestamp::now_millis();
        let taken = sqlx::query(
            "INSERT INTO cluster_duties (duty, holder, claimed_at) VALUES ($1, $2, $3) \
             ON CONFLICT (duty) DO UPDATE SET holder = excluded.holder, \
             claimed_at = CASE WHEN cluster_duties.holder = excluded.holder \
                 THEN cluster_duties.claimed_at ELSE excluded.claimed_at END \
             WHERE cluster_duties.holder = excluded.holder OR NOT EXISTS \
             (SELECT 1 FROM work_holders h WHERE h.holder = cluster_duties.holder \
              AND h.heartbeat_at > $4)",
        )
        .bind(duty)
        .bind(holder.id())
        .bind(now)
        .bind(now - holder_timeout_ms)
        .execute(self.write_pool())
        .await?
        .rows_affected();
        Ok(taken == 1)
    }

    /// The holder id performing `duty`, if any holder ever took it.
    pub async fn duty_holder(&self, duty: &str) -> Result<Option<String>, StoreError> {
        let holder = sqlx::query_scalar("SELECT holder FROM cluster_duties WHERE duty = $1")
            .bind(duty)
            .fetch_optional(self.read_pool())
            .await?;
        Ok(holder)
    }
}
