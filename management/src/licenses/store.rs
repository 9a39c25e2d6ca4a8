//! The SQL of license pools, their keys and the licenses given to devices. Keys are sealed with
//! the module's [`SecretBox`] and kept unique by their SHA-256; the partial unique indexes of
//! `mgmt_license_assignments` make a key or a seat held once and a device hold one license per
//! pool, however many replicas assign at once: [`LicenseStore::reserve`] takes the first free
//! key or seat and tries again when another took it first.

use std::sync::Arc;

use fulcrum_store::ModuleDb;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::model::{
    Assignment, AssignmentState, KeyView, Pool, PoolKind, Usage, format_date, mask, parse_date,
};
use crate::backups::archive::sha256_hex;
use crate::devices::model::DeviceKind;
use crate::error::{ManagementError, ManagementResult};
use crate::secrets::SecretBox;
use crate::sql;

const POOL_COLUMNS: &str = "id, name, device_kind, kind, seats, expires_on, alert_ahead_days, \
                            assign_on_registration, created_ms";

const ASSIGNMENT_SELECT: &str = "SELECT a.id, a.pool_id, a.device_id, a.key_id, k.masked, \
                                 a.seat, a.state, a.assigned_ms, a.revoked_ms \
                                 FROM mgmt_license_assignments a \
                                 LEFT JOIN mgmt_license_keys k ON k.id = a.key_id";

/// How many times a reservation is tried again when another took the same key or seat.
const RESERVE_ATTEMPTS: usize = 8;

/// Filters of a listing of licenses.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LicenseQuery {
    /// Only those of this pool.
    pub pool_id: Option<String>,
    /// Only those of this device.
    pub device_id: Option<String>,
    /// Only those in this state (`installing`, `active`, `revoked`).
    #[param(pattern = "^(installing|active|revoked)$")]
    pub state: Option<String>,
    /// At most this many (100; 1 to 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// A license reserved for a device, to be installed.
#[derive(Debug, Clone)]
pub struct Reservation {
    /// The license.
    pub assignment: Assignment,
    /// The registration key to install (a `keys` pool).
    pub key: Option<String>,
}

/// A license a device holds, with its key whole, for reconciliation.
#[derive(Debug, Clone)]
pub struct Held {
    /// The license.
    pub assignment: Assignment,
    /// Its registration key (a `keys` pool).
    pub key: Option<String>,
}

/// The tables of license pools.
#[derive(Debug, Clone)]
pub struct LicenseStore {
    db: ModuleDb,
    secrets: Arc<SecretBox>,
}

fn pool(row: &AnyRow) -> ManagementResult<Pool> {
    let assign: i64 = row.try_get("assign_on_registration")?;
    Ok(Pool {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        device_kind: DeviceKind::parse(&row.try_get::<String, _>("device_kind")?)?,
        kind: PoolKind::parse(&row.try_get::<String, _>("kind")?)?,
        seats: row.try_get("seats")?,
        expires_on: parse_date(&row.try_get::<String, _>("expires_on")?)?,
        alert_ahead_days: row.try_get("alert_ahead_days")?,
        assign_on_registration: assign != 0,
        created_ms: row.try_get("created_ms")?,
    })
}

fn assignment(row: &AnyRow) -> ManagementResult<Assignment> {
    let revoked_ms: Option<i64> = row.try_get("revoked_ms")?;
    Ok(Assignment {
        id: row.try_get("id")?,
        pool_id: row.try_get("pool_id")?,
        device_id: row.try_get("device_id")?,
        key_id: row.try_get("key_id")?,
        key: row.try_get("masked")?,
        seat: row.try_get("seat")?,
        state: AssignmentState::parse(&row.try_get::<String, _>("state")?)?,
        assigned_at: fulcrum_core::timestamp::format_millis(row.try_get("assigned_ms")?),
        revoked_at: revoked_ms.map(fulcrum_core::timestamp::format_millis),
    })
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(d) if d.is_unique_violation())
}

impl LicenseStore {
    /// The tables in `db`, keys sealed with `secrets`.
    pub fn new(db: ModuleDb, secrets: Arc<SecretBox>) -> Self {
        LicenseStore { db, secrets }
    }

    /// Store a new pool with its keys, all or nothing: a name or a key already stored is a
    /// conflict.
    pub async fn insert_pool(&self, pool: &Pool, keys: &[String]) -> ManagementResult<()> {
        let mut tx = self.db.writer().begin().await?;
        sqlx::query(&format!(
            "INSERT INTO mgmt_license_pools ({POOL_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(&pool.id)
        .bind(&pool.name)
        .bind(pool.device_kind.as_str())
        .bind(pool.kind.as_str())
        .bind(pool.seats)
        .bind(format_date(pool.expires_on))
        .bind(pool.alert_ahead_days)
        .bind(i64::from(pool.assign_on_registration))
        .bind(pool.created_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                ManagementError::Conflict(format!(
                    "A license pool named {:?} exists already.",
                    pool.name
                ))
            } else {
                e.into()
            }
        })?;
        self.insert_keys(&mut tx, &pool.id, keys).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Add keys to the pool `pool_id`, all or nothing: a key already stored is a conflict.
    pub async fn add_keys(&self, pool_id: &str, keys: &[String]) -> ManagementResult<()> {
        let mut tx = self.db.writer().begin().await?;
        self.insert_keys(&mut tx, pool_id, keys).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_keys(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        pool_id: &str,
        keys: &[String],
    ) -> ManagementResult<()> {
        let now = fulcrum_core::timestamp::now_millis();
        for (i, key) in keys.iter().enumerate() {
            sqlx::query(
                "INSERT INTO mgmt_license_keys \
                 (id, pool_id, fingerprint, sealed, masked, refused, added_ms) \
                 VALUES ($1, $2, $3, $4, $5, NULL, $6)",
            )
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(pool_id)
            .bind(sha256_hex(key.as_bytes()))
            .bind(self.secrets.seal(key))
            .bind(mask(key))
            .bind(now + i as i64)
            .execute(&mut **tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    ManagementError::Conflict(format!(
                        "keys[{i}] ({}) is in a license pool already.",
                        mask(key)
                    ))
                } else {
                    e.into()
                }
            })?;
        }
        Ok(())
    }

    /// Every pool, oldest first.
    pub async fn pools(&self) -> ManagementResult<Vec<Pool>> {
        let rows = sqlx::query(&format!(
            "SELECT {POOL_COLUMNS} FROM mgmt_license_pools ORDER BY created_ms, id"
        ))
        .fetch_all(self.db.reader())
        .await?;
        rows.iter().map(pool).collect()
    }

    /// The pool `id`.
    pub async fn pool(&self, id: &str) -> ManagementResult<Pool> {
        let row = sqlx::query(&format!(
            "SELECT {POOL_COLUMNS} FROM mgmt_license_pools WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.db.reader())
        .await?;
        match row {
            Some(row) => pool(&row),
            None => Err(ManagementError::NotFound {
                kind: "License pool",
                id: id.to_owned(),
            }),
        }
    }

    /// Store the settings of `changed` (its end, alert-ahead days, assignment on registration).
    pub async fn update_pool(&self, changed: &Pool) -> ManagementResult<()> {
        sqlx::query(
            "UPDATE mgmt_license_pools SET expires_on = $1, alert_ahead_days = $2, \
             assign_on_registration = $3 WHERE id = $4",
        )
        .bind(format_date(changed.expires_on))
        .bind(changed.alert_ahead_days)
        .bind(i64::from(changed.assign_on_registration))
        .bind(&changed.id)
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    /// How much of `pool` is used.
    pub async fn usage(&self, pool: &Pool) -> ManagementResult<Usage> {
        let assigned: i64 = sqlx::query(
            "SELECT COUNT(*) FROM mgmt_license_assignments WHERE pool_id = $1 \
             AND state <> 'revoked'",
        )
        .bind(&pool.id)
        .fetch_one(self.db.reader())
        .await?
        .try_get(0)?;
        let total = match pool.kind {
            PoolKind::Seats => pool.seats.unwrap_or(0),
            PoolKind::Keys => {
                sqlx::query("SELECT COUNT(*) FROM mgmt_license_keys WHERE pool_id = $1")
                    .bind(&pool.id)
                    .fetch_one(self.db.reader())
                    .await?
                    .try_get(0)?
            }
        };
        Ok(Usage {
            total,
            assigned,
            available: (total - assigned).max(0),
        })
    }

    /// The keys of the pool `pool_id`, masked, with the device holding each.
    pub async fn keys(&self, pool_id: &str) -> ManagementResult<Vec<KeyView>> {
        let rows = sqlx::query(
            "SELECT k.id, k.masked, k.refused, a.device_id FROM mgmt_license_keys k \
             LEFT JOIN mgmt_license_assignments a ON a.key_id = k.id AND a.state <> 'revoked' \
             WHERE k.pool_id = $1 ORDER BY k.added_ms, k.id",
        )
        .bind(pool_id)
        .fetch_all(self.db.reader())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(KeyView {
                    id: row.try_get("id")?,
                    key: row.try_get("masked")?,
                    device_id: row.try_get("device_id")?,
                    refused: row.try_get("refused")?,
                })
            })
            .collect()
    }

    /// Remove the pool `id`, its keys and its history; refused (409) while a device holds one
    /// of its licenses.
    pub async fn delete_pool(&self, id: &str) -> ManagementResult<()> {
        let mut tx = self.db.writer().begin().await?;
        let held: i64 = sqlx::query(
            "SELECT COUNT(*) FROM mgmt_license_assignments WHERE pool_id = $1 \
             AND state <> 'revoked'",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        if held > 0 {
            return Err(ManagementError::Conflict(format!(
                "License pool {id} has {held} license(s) assigned; revoke them first."
            )));
        }
        for table in ["mgmt_license_assignments", "mgmt_license_keys"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE pool_id = $1"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM mgmt_license_pools WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Reserve for `device_id` the first free key (keys not refused by a device first) or seat
    /// of `pool`: `installing` for a key, `active` for a seat. A device already holding one of
    /// the pool's licenses, or a pool with nothing free, is a conflict, and nothing is stored.
    pub async fn reserve(&self, pool: &Pool, device_id: &str) -> ManagementResult<Reservation> {
        for _ in 0..RESERVE_ATTEMPTS {
            if let Some(held) = self.held_in(&pool.id, device_id).await? {
                return Err(ManagementError::Conflict(format!(
                    "The device holds license {} of pool {} already.",
                    held.id, pool.name
                )));
            }
            let (key, seat, state) = match pool.kind {
                PoolKind::Keys => match self.free_key(&pool.id).await? {
                    Some((id, key)) => (Some((id, key)), None, AssignmentState::Installing),
                    None => return Err(exhausted(pool)),
                },
                PoolKind::Seats => match self.free_seat(pool).await? {
                    Some(seat) => (None, Some(seat), AssignmentState::Active),
                    None => return Err(exhausted(pool)),
                },
            };
            let id = uuid::Uuid::new_v4().to_string();
            let inserted = sqlx::query(
                "INSERT INTO mgmt_license_assignments \
                 (id, pool_id, device_id, key_id, seat, state, assigned_ms, revoked_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
            )
            .bind(&id)
            .bind(&pool.id)
            .bind(device_id)
            .bind(key.as_ref().map(|(key_id, _)| key_id.clone()))
            .bind(seat)
            .bind(state.as_str())
            .bind(fulcrum_core::timestamp::now_millis())
            .execute(self.db.writer())
            .await;
            match inserted {
                Ok(_) => {
                    return Ok(Reservation {
                        assignment: self.assignment(&id).await?,
                        key: key.map(|(_, key)| key),
                    });
                }
                Err(error) if is_unique_violation(&error) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(ManagementError::Conflict(format!(
            "License pool {} is being assigned from concurrently; try again.",
            pool.name
        )))
    }

    async fn held_in(
        &self,
        pool_id: &str,
        device_id: &str,
    ) -> ManagementResult<Option<Assignment>> {
        let row = sqlx::query(&format!(
            "{ASSIGNMENT_SELECT} WHERE a.pool_id = $1 AND a.device_id = $2 \
             AND a.state <> 'revoked'"
        ))
        .bind(pool_id)
        .bind(device_id)
        .fetch_optional(self.db.reader())
        .await?;
        row.as_ref().map(assignment).transpose()
    }

    async fn free_key(&self, pool_id: &str) -> ManagementResult<Option<(String, String)>> {
        let row = sqlx::query(
            "SELECT k.id, k.sealed FROM mgmt_license_keys k WHERE k.pool_id = $1 \
             AND NOT EXISTS (SELECT 1 FROM mgmt_license_assignments a \
             WHERE a.key_id = k.id AND a.state <> 'revoked') \
             ORDER BY CASE WHEN k.refused IS NULL THEN 0 ELSE 1 END, k.added_ms, k.id LIMIT 1",
        )
        .bind(pool_id)
        .fetch_optional(self.db.writer())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let sealed: String = row.try_get("sealed")?;
        Ok(Some((row.try_get("id")?, self.secrets.open(&sealed)?)))
    }

    async fn free_seat(&self, pool: &Pool) -> ManagementResult<Option<i64>> {
        let held: Vec<i64> = sqlx::query(
            "SELECT seat FROM mgmt_license_assignments WHERE pool_id = $1 \
             AND state <> 'revoked' ORDER BY seat",
        )
        .bind(&pool.id)
        .fetch_all(self.db.writer())
        .await?
        .iter()
        .map(|row| row.try_get("seat"))
        .collect::<Result<_, _>>()?;
        Ok((1..=pool.seats.unwrap_or(0)).find(|seat| !held.contains(seat)))
    }

    /// The device took the reserved license `id`: it is `active`, and its key no longer counts
    /// as refused.
    pub async fn activate(&self, id: &str) -> ManagementResult<Assignment> {
        let mut tx = self.db.writer().begin().await?;
        sqlx::query("UPDATE mgmt_license_assignments SET state = 'active' WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE mgmt_license_keys SET refused = NULL \
             WHERE id = (SELECT key_id FROM mgmt_license_assignments WHERE id = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.assignment(id).await
    }

    /// The device did not take the reserved license `id`: it is forgotten, its key free again,
    /// marked with what the device answered when it refused it (`refusal`).
    pub async fn release(
        &self,
        reservation: &Assignment,
        refusal: Option<&str>,
    ) -> ManagementResult<()> {
        let mut tx = self.db.writer().begin().await?;
        if let (Some(key_id), Some(refusal)) = (&reservation.key_id, refusal) {
            sqlx::query("UPDATE mgmt_license_keys SET refused = $1 WHERE id = $2")
                .bind(refusal)
                .bind(key_id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM mgmt_license_assignments WHERE id = $1")
            .bind(&reservation.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Give the license `id` back to its pool; a license given back already is a conflict.
    pub async fn revoke(&self, id: &str) -> ManagementResult<Assignment> {
        let revoked = sqlx::query(
            "UPDATE mgmt_license_assignments SET state = 'revoked', revoked_ms = $1 \
             WHERE id = $2 AND state <> 'revoked'",
        )
        .bind(fulcrum_core::timestamp::now_millis())
        .bind(id)
        .execute(self.db.writer())
        .await?
        .rows_affected();
        if revoked == 0 {
            self.assignment(id).await?;
            return Err(ManagementError::Conflict(format!(
                "License {id} is revoked already."
            )));
        }
        self.assignment(id).await
    }

    /// The license `id`.
    pub async fn assignment(&self, id: &str) -> ManagementResult<Assignment> {
        let row = sqlx::query(&format!("{ASSIGNMENT_SELECT} WHERE a.id = $1"))
            .bind(id)
            .fetch_optional(self.db.writer())
            .await?;
        match row {
            Some(row) => assignment(&row),
            None => Err(ManagementError::NotFound {
                kind: "License",
                id: id.to_owned(),
            }),
        }
    }

    /// The registration key of the license `assignment`, whole (none for a seat).
    pub async fn key_of(&self, assignment: &Assignment) -> ManagementResult<Option<String>> {
        let Some(key_id) = &assignment.key_id else {
            return Ok(None);
        };
        let sealed: String = sqlx::query("SELECT sealed FROM mgmt_license_keys WHERE id = $1")
            .bind(key_id)
            .fetch_one(self.db.reader())
            .await?
            .try_get(0)?;
        Ok(Some(self.secrets.open(&sealed)?))
    }

    /// The licenses matching `query`, newest first.
    pub async fn list(&self, query: &LicenseQuery) -> ManagementResult<Vec<Assignment>> {
        if let Some(state) = &query.state {
            AssignmentState::parse(state)?;
        }
        let rows = sql::select_equal(
            &self.db,
            ASSIGNMENT_SELECT,
            &[
                ("a.pool_id", query.pool_id.as_ref()),
                ("a.device_id", query.device_id.as_ref()),
                ("a.state", query.state.as_ref()),
            ],
            "a.assigned_ms DESC, a.id",
            sql::limit(query.limit)?,
        )
        .await?;
        rows.iter().map(assignment).collect()
    }

    /// Every license devices hold (`active`), with its key whole.
    pub async fn held(&self) -> ManagementResult<Vec<Held>> {
        let rows = sqlx::query(&format!(
            "{ASSIGNMENT_SELECT} WHERE a.state = 'active' ORDER BY a.device_id, a.assigned_ms"
        ))
        .fetch_all(self.db.reader())
        .await?;
        self.with_keys(&rows).await
    }

    /// The licenses reserved before `before_ms` (ms since the Unix epoch) and `installing`
    /// still, with their key whole.
    pub async fn installing_before(&self, before_ms: i64) -> ManagementResult<Vec<Held>> {
        let rows = sqlx::query(&format!(
            "{ASSIGNMENT_SELECT} WHERE a.state = 'installing' AND a.assigned_ms < $1 \
             ORDER BY a.assigned_ms, a.id"
        ))
        .bind(before_ms)
        .fetch_all(self.db.writer())
        .await?;
        self.with_keys(&rows).await
    }

    /// The licenses of `rows`, each with its key whole.
    async fn with_keys(&self, rows: &[AnyRow]) -> ManagementResult<Vec<Held>> {
        let mut held = Vec::with_capacity(rows.len());
        for row in rows {
            let assignment = assignment(row)?;
            let key = self.key_of(&assignment).await?;
            held.push(Held { assignment, key });
        }
        Ok(held)
    }
}

fn exhausted(pool: &Pool) -> ManagementError {
    let what = match pool.kind {
        PoolKind::Keys => "key",
        PoolKind::Seats => "seat",
    };
    ManagementError::Conflict(format!(
        "License pool {} has no {what} left to assign.",
        pool.name
    ))
}
