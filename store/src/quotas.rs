//! Per-project quotas: the explicitly set limits ([`QuotaLimits`]), and the per-project lock and
//! count that make a quota check and the insert it guards atomic ([`Tx::lock_project`],
//! [`Tx::count_in_project`]).

use fulcrum_core::model::Kind;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::table::Table;
use crate::{Store, StoreError, Tx};

/// A project's limits per object kind: `None` uses the configured default, -1 is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuotaLimits {
    /// Load balancers.
    pub load_balancer: Option<i64>,
    /// Listeners.
    pub listener: Option<i64>,
    /// Pools.
    pub pool: Option<i64>,
    /// Health monitors.
    pub health_monitor: Option<i64>,
    /// Members.
    pub member: Option<i64>,
    /// L7 policies.
    pub l7policy: Option<i64>,
    /// L7 rules.
    pub l7rule: Option<i64>,
}

impl QuotaLimits {
    /// The limit of one kind.
    pub fn of(&self, kind: Kind) -> Option<i64> {
        match kind {
            Kind::LoadBalancer => self.load_balancer,
            Kind::Listener => self.listener,
            Kind::Pool => self.pool,
            Kind::HealthMonitor => self.health_monitor,
            Kind::Member => self.member,
            Kind::L7Policy => self.l7policy,
            Kind::L7Rule => self.l7rule,
        }
    }

    /// The slot of one kind's limit.
    pub fn slot(&mut self, kind: Kind) -> &mut Option<i64> {
        match kind {
            Kind::LoadBalancer => &mut self.load_balancer,
            Kind::Listener => &mut self.listener,
            Kind::Pool => &mut self.pool,
            Kind::HealthMonitor => &mut self.health_monitor,
            Kind::Member => &mut self.member,
            Kind::L7Policy => &mut self.l7policy,
            Kind::L7Rule => &mut self.l7rule,
        }
    }

    fn from_row(row: &AnyRow, first: usize) -> Result<QuotaLimits, StoreError> {
        let mut limits = QuotaLimits::default();
        for (i, kind) in Kind::ALL.iter().enumerate() {
            *limits.slot(*kind) = row.try_get::<Option<i64>, _>(first + i)?;
        }
        Ok(limits)
    }
}

/// The quota column of each kind, in [`Kind::ALL`] order.
fn column(kind: Kind) -> &'static str {
    match kind {
        Kind::LoadBalancer => "load_balancer",
        Kind::Listener => "listener",
        Kind::Pool => "pool",
        Kind::Member => "member",
        Kind::HealthMonitor => "health_monitor",
        Kind::L7Policy => "l7policy",
        Kind::L7Rule => "l7rule",
    }
}

fn columns() -> String {
    Kind::ALL.map(column).join(", ")
}

impl Store {
    /// The explicitly set quotas of a project, if any were set.
    pub async fn quota(&self, project_id: &str) -> Result<Option<QuotaLimits>, StoreError> {
        let sql = format!("SELECT {} FROM quotas WHERE project_id = $1", columns());
        let row = sqlx::query(&sql)
            .bind(project_id)
            .fetch_optional(self.read_pool())
            .await?;
        row.map(|r| QuotaLimits::from_row(&r, 0)).transpose()
    }

    /// Every project with explicitly set quotas (or only `project_id`), ordered by project.
    pub async fn quotas(
        &self,
        project_id: Option<&str>,
    ) -> Result<Vec<(String, QuotaLimits)>, StoreError> {
        let filter = if project_id.is_some() {
            " WHERE project_id = $1"
        } else {
            ""
        };
        let sql = format!(
            "SELECT project_id, {} FROM quotas{filter} ORDER BY project_id",
            columns()
        );
        let mut query = sqlx::query(&sql);
        if let Some(p) = project_id {
            query = query.bind(p);
        }
        let rows = query.fetch_all(self.read_pool()).await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, QuotaLimits::from_row(r, 1)?)))
            .collect()
    }
}

impl Tx {
    /// Take the project's quota lock for the rest of this transaction: concurrent transactions
    /// that take it for the same project wait for this one to end (a row lock on PostgreSQL; the
    /// single writer on SQLite).
    pub async fn lock_project(&mut self, project_id: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO project_quota_locks (project_id, counter) VALUES ($1, 1) \
             ON CONFLICT (project_id) DO UPDATE SET counter = project_quota_locks.counter + 1",
        )
        .bind(project_id)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// How many objects of a kind the project has stored (any status). Take
    /// [`Tx::lock_project`] first so that the count stays true until commit.
    pub async fn count_in_project(
        &mut self,
        kind: Kind,
        project_id: &str,
    ) -> Result<i64, StoreError> {
        let sql = format!(
            "SELECT COUNT(*) FROM {} WHERE project_id = $1",
            Table::of(kind).name
        );
        let row = sqlx::query(&sql)
            .bind(project_id)
            .fetch_one(self.conn())
            .await?;
        Ok(row.try_get(0)?)
    }

    /// The explicitly set quotas of a project, read in this transaction.
    pub async fn quota(&mut self, project_id: &str) -> Result<Option<QuotaLimits>, StoreError> {
        let sql = format!("SELECT {} FROM quotas WHERE project_id = $1", columns());
        let row = sqlx::query(&sql)
            .bind(project_id)
            .fetch_optional(self.conn())
            .await?;
        row.map(|r| QuotaLimits::from_row(&r, 0)).transpose()
    }

    /// Store a project's quotas (the whole row; `None` limits use the default).
    pub async fn set_quota(
        &mut self,
        project_id: &str,
        limits: &QuotaLimits,
    ) -> Result<(), StoreError> {
        let updates: Vec<String> = Kind::ALL
            .iter()
            .map(|k| format!("{0} = excluded.{0}", column(*k)))
            .collect();
        let sql = format!(
            "INSERT INTO quotas (project_id, {}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (project_id) DO UPDATE SET {}",
            columns(),
            updates.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(project_id);
        for kind in Kind::ALL {
            query = query.bind(limits.of(kind));
        }
        query.execute(self.conn()).await?;
        Ok(())
    }

    /// Forget a project's quotas (back to the defaults).
    pub async fn delete_quota(&mut self, project_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM quotas WHERE project_id = $1")
            .bind(project_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}
