//! What the full sync reads and queues: every load balancer with its provider and provisioning
//! status, and drift-repairing sync work for the ones a driver no longer realizes as applied.

use fulcrum_core::model::ProvisioningStatus;
use fulcrum_core::timestamp;
use sqlx::Row;

use crate::{Backend, Store, StoreError};

/// A load balancer as the full sync weighs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncCandidate {
    /// Its id.
    pub id: String,
    /// The provider (driver) that realizes it.
    pub provider: String,
    /// Where it is in its life cycle: only `ACTIVE` and `ERROR` ones are synced.
    pub provisioning_status: ProvisioningStatus,
}

/// How many ids one `INSERT … WHERE id IN (…)` binds.
const IDS_PER_STATEMENT: usize = 500;

impl Store {
    /// Every load balancer in the store, with its provider and provisioning status.
    pub async fn sync_candidates(&self) -> Result<Vec<SyncCandidate>, StoreError> {
        let rows = sqlx::query("SELECT id, provider, provisioning_status FROM load_balancers")
            .fetch_all(self.read_pool())
            .await?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get(2)?;
                Ok(SyncCandidate {
                    id: r.try_get(0)?,
                    provider: r.try_get(1)?,
                    provisioning_status: status.parse().map_err(|message| StoreError::Corrupt {
                        table: "load_balancers",
                        message,
                    })?,
                })
            })
            .collect()
    }

    /// Queue a drift-repairing sync for each of `ids` that is converged (`ACTIVE` or `ERROR`)
    /// and has no work pending; returns how many were queued.
    pub async fn enqueue_sync(&self, ids: &[String]) -> Result<u64, StoreError> {
        let mut queued = 0;
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            // SQLite looks up the name of every numbered parameter as it binds it; anonymous
            // ones skip that walk.
            let placeholders: Vec<String> = match self.backend() {
                Backend::Sqlite => vec!["?".to_string(); chunk.len()],
                Backend::Postgres => (2..chunk.len() + 2).map(|i| format!("${i}")).collect(),
            };
            let now = match self.backend() {
                Backend::Sqlite => "?",
                Backend::Postgres => "$1",
            };
            let sql = format!(
                "INSERT INTO work_items (loadbalancer_id, action, generation, attempts, \
                 not_before, queued_at) SELECT id, 'sync', 1, 0, 0, {now} FROM load_balancers \
                 WHERE provisioning_status IN ('ACTIVE', 'ERROR') AND id IN ({}) \
                 ON CONFLICT (loadbalancer_id) DO NOTHING",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql).bind(timestamp::now_millis());
            for id in chunk {
                query = query.bind(id.as_str());
            }
            queued += query.execute(self.write_pool()).await?.rows_affected();
        }
        Ok(queued)
    }
}
