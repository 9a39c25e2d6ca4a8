//! [`ModuleDb`]: a module's own tables in the store's database.
//!
//! Management keeps devices, alerts, campaigns and its audit trail in tables that orchestration
//! never reads, so the store does not model them: it hands the module the connections and runs
//! the module's migrations, recorded under the module's name in `module_migrations`. The module
//! writes its own queries, with `$n` placeholders that both databases accept.

use sqlx::{AnyPool, Executor, Row};

use crate::{Backend, Store, StoreError};

/// One migration of a module: applied once, in version order, in its own transaction.
#[derive(Debug, Clone, Copy)]
pub struct ModuleMigration {
    /// Its version: unique within the module, increasing.
    pub version: i64,
    /// A short name, recorded with the version.
    pub name: &'static str,
    /// The SQL, portable between SQLite and PostgreSQL.
    pub sql: &'static str,
}

/// The store's database as a module sees it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ModuleDb {
    store: Store,
    module: &'static str,
}

impl Store {
    /// The database for the module named `module`, whose migrations are recorded under that name.
    pub fn module_db(&self, module: &'static str) -> ModuleDb {
        ModuleDb {
            store: self.clone(),
            module,
        }
    }
}

impl ModuleDb {
    /// The module's name.
    pub fn module(&self) -> &'static str {
        self.module
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.store.backend()
    }

    /// Connections for reads.
    pub fn reader(&self) -> &AnyPool {
        self.store.read_pool()
    }

    /// The connection(s) for writes: on SQLite the one writer, so write transactions queue in
    /// the process instead of failing busy.
    pub fn writer(&self) -> &AnyPool {
        self.store.write_pool()
    }

    /// Apply, in version order, each of `migrations` not yet recorded for this module. Each runs
    /// with its record in one transaction, so a failed migration leaves nothing half applied; on
    /// PostgreSQL an advisory lock keeps two replicas starting at once from applying one twice.
    pub async fn migrate(&self, migrations: &[ModuleMigration]) -> Result<(), StoreError> {
        let mut ordered = migrations.to_vec();
        ordered.sort_by_key(|m| m.version);
        for migration in ordered {
            let mut tx = self.writer().begin().await?;
            if self.backend() == Backend::Postgres {
                sqlx::query("SELECT pg_advisory_xact_lock(hashtext('fulcrum-module-migrations'))")
                    .execute(&mut *tx)
                    .await?;
            }
            let applied: i64 = sqlx::query(
                "SELECT COUNT(*) FROM module_migrations WHERE module = $1 AND version = $2",
            )
            .bind(self.module)
            .bind(migration.version)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
            if applied > 0 {
                continue;
            }
            tx.execute(migration.sql).await.map_err(|e| {
                StoreError::InvalidQuery(format!(
                    "migration {} ({}) of {}: {e}",
                    migration.version, migration.name, self.module
                ))
            })?;
            sqlx::query(
                "INSERT INTO module_migrations (module, version, name, applied_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(self.module)
            .bind(migration.version)
            .bind(migration.name)
            .bind(fulcrum_core::timestamp::now())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// The versions applied for this module, in order.
    pub async fn applied_versions(&self) -> Result<Vec<i64>, StoreError> {
        let rows =
            sqlx::query("SELECT version FROM module_migrations WHERE module = $1 ORDER BY version")
                .bind(self.module)
                .fetch_all(self.reader())
                .await?;
        rows.iter()
            .map(|row| row.try_get::<i64, _>(0).map_err(StoreError::from))
            .collect()
    }
}
