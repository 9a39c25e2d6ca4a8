//! The provider feed: what a real Octavia, delegating load balancers to Fulcrum through a
//! provider driver, must learn back — provisioning and operating statuses, and listener
//! statistics — in commit order, each entry under a cursor its agent resumes from.
//!
//! Only load balancers written through the provider API are *delegated*
//! ([`Tx::delegate_to_provider`]); their entries are written in the transactions that settle
//! their work ([`crate::Store::complete_all`]) or record what the data plane reports
//! ([`crate::Store::record_observation`]), so an entry exists exactly when its change does: a
//! restart of Fulcrum or of the agent loses none. Statuses in an entry are final (ACTIVE, ERROR,
//! DELETED): Octavia owns the `PENDING_*` states while it waits for them.
//!
//! Cursors follow commit order as the events outbox's ids do (see `outbox`): they come from the
//! one row of `provider_feed_counter`, incremented by the writing transaction, which on
//! PostgreSQL holds that row's lock until it commits. Write feed entries last in a transaction.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use fulcrum_core::driver::LoadBalancerGraph;
use fulcrum_core::model::{Kind, OperatingStatus, ProvisioningStatus};
use fulcrum_core::timestamp;
use serde_json::{Map, Value, json};
use sqlx::Row;
use time::OffsetDateTime;

use crate::record::Tree;
use crate::settle::Completion;
use crate::table::Table;
use crate::work::{Outcome, WorkAction, rows_of};
use crate::{Store, StoreError, Tx};

/// An entry of the provider feed.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEntry {
    /// Its place in the feed: cursors increase in commit order, without holes.
    pub cursor: i64,
    /// The load balancer whose tree changed.
    pub load_balancer_id: String,
    /// Statuses, in the shape of octavia-lib's `update_loadbalancer_status` argument.
    pub status: Option<Value>,
    /// Listener counters, in the shape of octavia-lib's `update_listener_statistics` argument.
    pub statistics: Option<Value>,
    /// When it was written (Octavia's timestamp format, UTC).
    pub created_at: String,
}

/// The key of a kind in Octavia's status update (`loadbalancers`, `listeners`, ...).
pub fn status_key(kind: Kind) -> &'static str {
    match kind {
        Kind::LoadBalancer => "loadbalancers",
        Kind::Listener => "listeners",
        Kind::Pool => "pools",
        Kind::Member => "members",
        Kind::HealthMonitor => "healthmonitors",
        Kind::L7Policy => "l7policies",
        Kind::L7Rule => "l7rules",
    }
}

/// An Octavia status update being assembled.
#[derive(Default)]
struct StatusUpdate(Map<String, Value>);

impl StatusUpdate {
    fn push(&mut self, kind: Kind, entry: Value) {
        if let Value::Array(list) = self
            .0
            .entry(status_key(kind))
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            list.push(entry);
        }
    }

    fn into_value(self) -> Option<Value> {
        (!self.0.is_empty()).then_some(Value::Object(self.0))
    }
}

async fn is_delegated(tx: &mut Tx, load_balancer_id: &str) -> Result<bool, StoreError> {
    Ok(
        sqlx::query("SELECT 1 FROM provider_load_balancers WHERE id = $1")
            .bind(load_balancer_id)
            .fetch_optional(tx.conn())
            .await?
            .is_some(),
    )
}

/// Of `load_balancer_ids`, those written through the provider API, in one query per
/// [`crate::settle::CHUNK`] ids.
async fn delegated_among(
    tx: &mut Tx,
    load_balancer_ids: &[&str],
) -> Result<HashSet<String>, StoreError> {
    let mut delegated = HashSet::new();
    for chunk in load_balancer_ids.chunks(crate::settle::CHUNK) {
        let sql = format!(
            "SELECT id FROM provider_load_balancers WHERE id IN ({})",
            crate::settle::placeholders(0, chunk.len())
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(tx.conn()).await? {
            delegated.insert(row.try_get::<String, _>(0)?);
        }
    }
    Ok(delegated)
}

/// The statuses of the stored rows of a tree that `report` keeps (given kind, id, provisioning
/// and operating status); a pending provisioning status is left out (its change will be settled
/// and reported later). Returns the ids of every stored row, reported or not.
async fn stored_statuses(
    tx: &mut Tx,
    load_balancer_id: &str,
    update: &mut StatusUpdate,
    report: impl Fn(Kind, &str, &str, &str) -> bool,
) -> Result<HashSet<String>, StoreError> {
    let mut seen = HashSet::new();
    for kind in Kind::ALL {
        let table = Table::of(kind);
        let sql = format!(
            "SELECT id, provisioning_status, operating_status FROM {} WHERE {} = $1",
            table.name, table.tree_column
        );
        let rows = sqlx::query(&sql)
            .bind(load_balancer_id)
            .fetch_all(tx.conn())
            .await?;
        for row in rows {
            let id: String = row.try_get(0)?;
            let provisioning: String = row.try_get(1)?;
            let operating: String = row.try_get(2)?;
            if !report(kind, &id, &provisioning, &operating) {
                seen.insert(id);
                continue;
            }
            let mut entry = json!({ "id": id, "operating_status": operating });
            if !provisioning.starts_with("PENDING_") {
                entry["provisioning_status"] = Value::String(provisioning);
            }
            update.push(kind, entry);
            seen.insert(id);
        }
    }
    Ok(seen)
}

/// The cumulative counters of a load balancer's listeners.
async fn stored_statistics(
    tx: &mut Tx,
    load_balancer_id: &str,
) -> Result<Option<Value>, StoreError> {
    let rows = sqlx::query(
        "SELECT listener_id, bytes_in, bytes_out, active_connections, total_connections, \
         request_errors FROM listener_stats WHERE loadbalancer_id = $1 ORDER BY listener_id",
    )
    .bind(load_balancer_id)
    .fetch_all(tx.conn())
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let listeners = rows
        .iter()
        .map(|r| {
            Ok(json!({
                "id": r.try_get::<String, _>(0)?,
                "bytes_in": r.try_get::<i64, _>(1)?,
                "bytes_out": r.try_get::<i64, _>(2)?,
                "active_connections": r.try_get::<i64, _>(3)?,
                "total_connections": r.try_get::<i64, _>(4)?,
                "request_errors": r.try_get::<i64, _>(5)?,
            }))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Some(json!({ "listeners": listeners })))
}

async fn append(
    tx: &mut Tx,
    load_balancer_id: &str,
    status: Option<Value>,
    statistics: Option<Value>,
) -> Result<(), StoreError> {
    if status.is_none() && statistics.is_none() {
        return Ok(());
    }
    let cursor: i64 = sqlx::query(
        "UPDATE provider_feed_counter SET last_id = last_id + 1 WHERE id = 1 RETURNING last_id",
    )
    .fetch_one(tx.conn())
    .await?
    .try_get(0)?;
    sqlx::query(
        "INSERT INTO provider_feed (id, loadbalancer_id, status, statistics, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(cursor)
    .bind(load_balancer_id)
    .bind(status.map(|v| v.to_string()))
    .bind(statistics.map(|v| v.to_string()))
    .bind(timestamp::now())
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Write the feed entries of settled work, in the settling transaction: for each delegated load
/// balancer, the statuses its tree settled to (DELETED for rows the settling removed) and, after
/// a converged apply that observed counters, its listeners' statistics. As from Octavia's own
/// providers, the statuses are those of the load balancer, of the objects pending when the work
/// was claimed with the ancestors Octavia held pending with them ([`with_ancestors`]), and of
/// objects whose status the work changed: Octavia stamps `updated_at` on every object it is
/// told about, so the objects a change did not touch are left out.
pub(crate) async fn record_settled(tx: &mut Tx, settled: &[&Completion]) -> Result<(), StoreError> {
    let ids: Vec<&str> = settled
        .iter()
        .map(|c| c.item.load_balancer_id.as_str())
        .collect();
    let delegated = delegated_among(tx, &ids).await?;
    for c in settled {
        let lb_id = c.item.load_balancer_id.as_str();
        if !delegated.contains(lb_id) {
            continue;
        }
        let claimed: HashMap<&str, (ProvisioningStatus, OperatingStatus)> = rows_of(&c.tree)
            .into_iter()
            .map(|(_, id, provisioning, operating)| (id, (provisioning, operating)))
            .collect();
        let pending: HashSet<&str> = claimed
            .iter()
            .filter(|(_, (p, _))| p.as_str().starts_with("PENDING_"))
            .map(|(id, _)| *id)
            .collect();
        let locked = with_ancestors(&c.tree.rows, pending);
        let settled = |kind: Kind, id: &str, provisioning: &str, operating: &str| {
            kind == Kind::LoadBalancer
                || locked.contains(id)
                || claimed
                    .get(id)
                    .map_or(!provisioning.starts_with("PENDING_"), |(p, o)| {
                        p.as_str() != provisioning || o.as_str() != operating
                    })
        };
        let mut update = StatusUpdate::default();
        let seen = stored_statuses(tx, lb_id, &mut update, settled).await?;
        for (kind, id, _, _) in rows_of(&c.tree) {
            if !seen.contains(id) {
                update.push(
                    kind,
                    json!({ "id": id, "provisioning_status": ProvisioningStatus::Deleted.as_str() }),
                );
            }
        }
        let observed_counters = c.outcome == Outcome::Converged
            && c.item.action != WorkAction::Delete
            && c.observation
                .as_ref()
                .is_some_and(|o| !o.listener_stats.is_empty());
        let statistics = if observed_counters {
            stored_statistics(tx, lb_id).await?
        } else {
            None
        };
        append(tx, lb_id, update.into_value(), statistics).await?;
        if seen.is_empty() {
            sqlx::query("DELETE FROM provider_load_balancers WHERE id = $1")
                .bind(lb_id)
                .execute(tx.conn())
                .await?;
        }
    }
    Ok(())
}

/// `objects` with the ancestors Octavia's API holds pending while a change of them is realized,
/// up to (not including) the load balancer: a member's or health monitor's pool, a pool's
/// listeners (by default pool or by an L7 policy redirecting to it), a rule's policy and a
/// policy's listener.
fn with_ancestors<'a>(rows: &'a LoadBalancerGraph, objects: HashSet<&'a str>) -> HashSet<&'a str> {
    let mut all = objects;
    for r in &rows.l7rules {
        if all.contains(r.id.as_str()) {
            all.insert(&r.l7policy_id);
        }
    }
    for m in &rows.members {
        if all.contains(m.id.as_str()) {
            all.insert(&m.pool_id);
        }
    }
    for h in &rows.health_monitors {
        if all.contains(h.id.as_str()) {
            all.insert(&h.pool_id);
        }
    }
    for p in &rows.l7policies {
        let redirects_to_changed_pool = p
            .redirect_pool_id
            .as_deref()
            .is_some_and(|pool| all.contains(pool));
        if all.contains(p.id.as_str()) || redirects_to_changed_pool {
            all.insert(&p.listener_id);
        }
    }
    for l in &rows.listeners {
        if l.default_pool_id
            .as_deref()
            .is_some_and(|pool| all.contains(pool))
        {
            all.insert(&l.id);
        }
    }
    all
}

/// The counters of a delegated load balancer before an observation is written (`None` for a
/// load balancer that is not delegated), for [`record_observed`] to tell whether they moved.
pub(crate) async fn counters_if_delegated(
    tx: &mut Tx,
    load_balancer_id: &str,
) -> Result<Option<Option<Value>>, StoreError> {
    if !is_delegated(tx, load_balancer_id).await? {
        return Ok(None);
    }
    Ok(Some(stored_statistics(tx, load_balancer_id).await?))
}

/// Write the feed entry of an observation of a delegated load balancer (`counters_before`
/// from [`counters_if_delegated`]): the operating statuses that changed and, when they moved,
/// its listeners' statistics. An observation that changed nothing writes nothing.
pub(crate) async fn record_observed(
    tx: &mut Tx,
    tree: &Tree,
    changed: &[(Kind, &str, OperatingStatus)],
    counters_before: Option<Option<Value>>,
) -> Result<(), StoreError> {
    let Some(before) = counters_before else {
        return Ok(());
    };
    let lb_id = tree.rows.load_balancer.id.as_str();
    let mut update = StatusUpdate::default();
    for (kind, id, status) in changed {
        update.push(
            *kind,
            json!({ "id": id, "operating_status": status.as_str() }),
        );
    }
    let after = stored_statistics(tx, lb_id).await?;
    let statistics = if after != before { after } else { None };
    append(tx, lb_id, update.into_value(), statistics).await
}

impl Tx {
    /// Mark a load balancer as delegated by a provider driver: from now on its settled statuses
    /// and observations are written to the provider feed.
    pub async fn delegate_to_provider(&mut self, load_balancer_id: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO provider_load_balancers (id, created_at) VALUES ($1, $2) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(load_balancer_id)
        .bind(timestamp::now())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Write a feed entry with the final statuses the tree of a delegated load balancer holds
    /// now, for a provider request that had nothing to change (Octavia still waits to hear
    /// where the objects it named stand). `gone` are objects to report as DELETED. Nothing is
    /// written for a load balancer that is not delegated.
    pub async fn feed_current_status(
        &mut self,
        load_balancer_id: &str,
        gone: &[(Kind, &str)],
    ) -> Result<(), StoreError> {
        if !is_delegated(self, load_balancer_id).await? {
            return Ok(());
        }
        let mut update = StatusUpdate::default();
        stored_statuses(self, load_balancer_id, &mut update, |_, _, _, _| true).await?;
        for (kind, id) in gone {
            update.push(
                *kind,
                json!({ "id": id, "provisioning_status": ProvisioningStatus::Deleted.as_str() }),
            );
        }
        append(self, load_balancer_id, update.into_value(), None).await
    }

    /// Write a feed entry saying that these objects of `load_balancer_id` are deleted, whether
    /// or not the load balancer is known (a delete of what was never stored, or is gone).
    pub async fn feed_deleted(
        &mut self,
        load_balancer_id: &str,
        gone: &[(Kind, &str)],
    ) -> Result<(), StoreError> {
        let mut update = StatusUpdate::default();
        for (kind, id) in gone {
            update.push(
                *kind,
                json!({ "id": id, "provisioning_status": ProvisioningStatus::Deleted.as_str() }),
            );
        }
        append(self, load_balancer_id, update.into_value(), None).await
    }
}

impl Store {
    /// Up to `limit` feed entries with a cursor above `after`, in cursor order.
    pub async fn provider_feed_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<FeedEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, loadbalancer_id, status, statistics, created_at FROM provider_feed \
             WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(self.read_pool())
        .await?;
        rows.iter()
            .map(|row| {
                let cursor: i64 = row.try_get(0)?;
                let parse = |text: Option<String>| {
                    text.map(|t| serde_json::from_str::<Value>(&t))
                        .transpose()
                        .map_err(|e| StoreError::Corrupt {
                            table: "provider_feed",
                            message: format!("entry {cursor}: {e}"),
                        })
                };
                Ok(FeedEntry {
                    cursor,
                    load_balancer_id: row.try_get(1)?,
                    status: parse(row.try_get(2)?)?,
                    statistics: parse(row.try_get(3)?)?,
                    created_at: row.try_get(4)?,
                })
            })
            .collect()
    }

    /// Delete the feed entries written more than `retention` ago; returns how many. Cursors go
    /// on from where they were: an agent away longer than `retention` resumes at the oldest
    /// entry left.
    pub async fn prune_provider_feed(&self, retention: Duration) -> Result<u64, StoreError> {
        let cutoff = time::Duration::try_from(retention)
            .ok()
            .and_then(|r| OffsetDateTime::now_utc().checked_sub(r));
        let Some(cutoff) = cutoff else {
            return Ok(0);
        };
        let done = sqlx::query("DELETE FROM provider_feed WHERE created_at < $1")
            .bind(timestamp::format(cutoff))
            .execute(self.write_pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// The cursor of the last feed entry committed (0 before the first).
    pub async fn last_provider_cursor(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query("SELECT last_id FROM provider_feed_counter WHERE id = 1")
                .fetch_one(self.read_pool())
                .await?
                .try_get(0)?,
        )
    }
}
