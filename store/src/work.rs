//! Work items: the reconciler's durable to-do list, one item per load balancer, claimed with an
//! expiring lease so that a crashed worker's work is picked up by the next one.

use fulcrum_core::driver::Observation;
use fulcrum_core::events::Event;
use fulcrum_core::model::{Kind, ProvisioningStatus, Stats};
use fulcrum_core::timestamp;
use sqlx::Row;

use crate::record::Tree;
use crate::settle::Completion;
use crate::table::Table;
use crate::{Store, StoreError};
use crate::{outbox, provider_feed};

/// What converging a load balancer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkAction {
    /// Apply the desired tree, then settle pending statuses.
    Apply,
    /// Remove the load balancer from its backend, then from the store.
    Delete,
    /// Re-apply an already converged tree to repair drift; statuses stay as they are.
    Sync,
}

impl WorkAction {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkAction::Apply => "apply",
            WorkAction::Delete => "delete",
            WorkAction::Sync => "sync",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "apply" => Ok(WorkAction::Apply),
            "delete" => Ok(WorkAction::Delete),
            "sync" => Ok(WorkAction::Sync),
            other => Err(StoreError::Corrupt {
                table: "work_items",
                message: format!("unknown action {other}"),
            }),
        }
    }
}

/// A claimed work item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkItem {
    /// The load balancer to converge.
    pub load_balancer_id: String,
    /// What to do.
    pub action: WorkAction,
    /// Bumped by every new write; completion only counts for the generation that was worked on.
    pub generation: i64,
    /// Claims so far, this one included.
    pub attempts: i64,
}

/// Each row of a tree with its kind and statuses, the load balancer first.
pub fn rows_of(
    tree: &Tree,
) -> Vec<(
    Kind,
    &str,
    ProvisioningStatus,
    fulcrum_core::model::OperatingStatus,
)> {
    let g = &tree.rows;
    let mut out = vec![(
        Kind::LoadBalancer,
        g.load_balancer.id.as_str(),
        g.load_balancer.provisioning_status,
        g.load_balancer.operating_status,
    )];
    macro_rules! push {
        ($rows:expr, $kind:expr) => {
            for r in &$rows {
                out.push((
                    $kind,
                    r.id.as_str(),
                    r.provisioning_status,
                    r.operating_status,
                ));
            }
        };
    }
    push!(g.listeners, Kind::Listener);
    push!(g.pools, Kind::Pool);
    push!(g.members, Kind::Member);
    push!(g.health_monitors, Kind::HealthMonitor);
    push!(g.l7policies, Kind::L7Policy);
    push!(g.l7rules, Kind::L7Rule);
    out
}

/// How a completed item leaves its tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The backend matches: pending rows settle (ACTIVE, or removed when marked for deletion).
    Converged,
    /// The backend refused: pending rows go to ERROR.
    Failed,
}

impl Store {
    /// Claim for `owner`, for `lease_ms`, up to `limit` due items that nobody holds: never
    /// leased, leased until a time now past, or leased by a holder that is gone (retired, or
    /// silent for over `holder_timeout_ms`; see the `holders` module).
    pub async fn claim(
        &self,
        owner: &str,
        lease_ms: i64,
        holder_timeout_ms: i64,
        limit: i64,
    ) -> Result<Vec<WorkItem>, StoreError> {
        const FREE: &str = "(lease_expires_at IS NULL OR lease_expires_at < $3 OR lease_owner IN \
             (SELECT holder FROM work_holders WHERE heartbeat_at < $5))";
        let now = timestamp::now_millis();
        let rows = sqlx::query(&format!(
            "UPDATE work_items SET lease_owner = $1, lease_expires_at = $2, attempts = attempts + 1 \
             WHERE loadbalancer_id IN (SELECT loadbalancer_id FROM work_items \
                 WHERE {FREE} AND not_before <= $3 ORDER BY not_before LIMIT $4) \
             AND {FREE} \
             RETURNING loadbalancer_id, action, generation, attempts"
        ))
        .bind(owner)
        .bind(now + lease_ms)
        .bind(now)
        .bind(limit)
        .bind(now - holder_timeout_ms)
        .fetch_all(self.write_pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(WorkItem {
                    load_balancer_id: r.try_get(0)?,
                    action: WorkAction::parse(&r.try_get::<String, _>(1)?)?,
                    generation: r.try_get(2)?,
                    attempts: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// Drop an item that has nothing left to do (its load balancer is gone, or a sync failed and
    /// will be retried by the next full sync). Only the lease holder can.
    pub async fn discard(&self, item: &WorkItem, owner: &str) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM work_items WHERE loadbalancer_id = $1 AND generation = $2 AND lease_owner = $3",
        )
        .bind(item.load_balancer_id.as_str())
        .bind(item.generation)
        .bind(owner)
        .execute(self.write_pool())
        .await?;
        Ok(())
    }

    /// Give an item back for another try after `delay_ms`, recording why.
    pub async fn retry_later(
        &self,
        item: &WorkItem,
        owner: &str,
        delay_ms: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE work_items SET lease_owner = NULL, lease_expires_at = NULL, not_before = $1, \
             last_error = $2 WHERE loadbalancer_id = $3 AND lease_owner = $4",
        )
        .bind(timestamp::now_millis() + delay_ms)
        .bind(error)
        .bind(item.load_balancer_id.as_str())
        .bind(owner)
        .execute(self.write_pool())
        .await?;
        Ok(())
    }

    /// Finish one item: [`Store::complete_all`] for a batch of one. Returns `false` when a newer
    /// write superseded the work.
    pub async fn complete(
        &self,
        item: &WorkItem,
        owner: &str,
        tree: &Tree,
        outcome: Outcome,
        observation: Option<&Observation>,
        events: &[Event],
    ) -> Result<bool, StoreError> {
        let completion = Completion {
            item: item.clone(),
            tree: tree.clone(),
            outcome,
            observation: observation.cloned(),
            refused: Default::default(),
            events: events.to_vec(),
        };
        Ok(self.complete_all(owner, &[completion]).await?[0])
    }

    /// Store what the data plane reports for a converged tree, outside any work item, with the
    /// `events` it gave rise to in the same transaction.
    pub async fn record_observation(
        &self,
        tree: &Tree,
        observation: &Observation,
        events: &[Event],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let mut changed = Vec::new();
        for (kind, id, _, op) in rows_of(tree) {
            if let Some(observed) = observation.operating_status.get(id)
                && *observed != op
            {
                changed.push((kind, id, *observed));
                let sql = format!(
                    "UPDATE {} SET operating_status = $1 WHERE id = $2",
                    Table::of(kind).name
                );
                sqlx::query(&sql)
                    .bind(observed.as_str())
                    .bind(id)
                    .execute(tx.conn())
                    .await?;
            }
        }
        let counters_before =
            provider_feed::counters_if_delegated(&mut tx, &tree.rows.load_balancer.id).await?;
        write_stats(
            &mut tx,
            &tree.rows.load_balancer.id,
            &observation.listener_stats,
        )
        .await?;
        provider_feed::record_observed(&mut tx, tree, &changed, counters_before).await?;
        outbox::append(tx.conn(), events).await?;
        tx.commit().await
    }
}

/// Add a counter reading to a cumulative value: the growth since the last reading, or the whole
/// reading when the counter restarted (it went down).
fn accumulate(cumulative: i64, last_raw: i64, raw: i64) -> i64 {
    cumulative + if raw >= last_raw { raw - last_raw } else { raw }
}

pub(crate) async fn write_stats(
    tx: &mut crate::Tx,
    lb_id: &str,
    stats: &std::collections::HashMap<String, Stats>,
) -> Result<(), StoreError> {
    if stats.is_empty() {
        return Ok(());
    }
    let rows = sqlx::query(
        "SELECT listener_id, bytes_in, bytes_out, total_connections, request_errors, raw_bytes_in, \
         raw_bytes_out, raw_total_connections, raw_request_errors FROM listener_stats \
         WHERE loadbalancer_id = $1",
    )
    .bind(lb_id)
    .fetch_all(tx.conn())
    .await?;
    let mut previous: std::collections::HashMap<String, [i64; 8]> =
        std::collections::HashMap::new();
    for row in rows {
        let mut v = [0i64; 8];
        for (i, slot) in v.iter_mut().enumerate() {
            *slot = row.try_get(i + 1)?;
        }
        previous.insert(row.try_get(0)?, v);
    }
    for (listener_id, raw) in stats {
        let [b_in, b_out, total, errors, r_in, r_out, r_total, r_errors] =
            previous.get(listener_id).copied().unwrap_or_default();
        sqlx::query(
            "INSERT INTO listener_stats (listener_id, loadbalancer_id, bytes_in, bytes_out, \
             active_connections, total_connections, request_errors, raw_bytes_in, raw_bytes_out, \
             raw_total_connections, raw_request_errors) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (listener_id) DO UPDATE SET bytes_in = excluded.bytes_in, \
             bytes_out = excluded.bytes_out, active_connections = excluded.active_connections, \
             total_connections = excluded.total_connections, request_errors = excluded.request_errors, \
             raw_bytes_in = excluded.raw_bytes_in, raw_bytes_out = excluded.raw_bytes_out, \
             raw_total_connections = excluded.raw_total_connections, \
             raw_request_errors = excluded.raw_request_errors",
        )
        .bind(listener_id.as_str())
        .bind(lb_id)
        .bind(accumulate(b_in, r_in, raw.bytes_in))
        .bind(accumulate(b_out, r_out, raw.bytes_out))
        .bind(raw.active_connections)
        .bind(accumulate(total, r_total, raw.total_connections))
        .bind(accumulate(errors, r_errors, raw.request_errors))
        .bind(raw.bytes_in)
        .bind(raw.bytes_out)
        .bind(raw.total_connections)
        .bind(raw.request_errors)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::accumulate;

    #[test]
    fn counters_survive_restarts() {
        assert_eq!(accumulate(100, 40, 50), 110, "growth is added");
        assert_eq!(
            accumulate(100, 40, 5),
            105,
            "a restarted counter adds its whole reading"
        );
        assert_eq!(accumulate(0, 0, 0), 0);
    }
}
