//! The inventory's SQL: devices, the load balancers they carry, and the day-2 requests already
//! handled. Queries use `$n` placeholders, which SQLite and PostgreSQL both take.
//!
//! Passwords are stored sealed ([`SecretBox`]): sealed on every write, opened on every read. A
//! password that does not open leaves the device without one and with its
//! `credentials_error`, so reading the inventory never fails for it.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::model::{
    Connection, Device, DeviceKind, DeviceSource, Facts, MaintenanceState, Registration,
};
use crate::error::{ManagementError, ManagementResult};
use crate::secrets::SecretBox;
use fulcrum_store::ModuleDb;
use std::sync::Arc;

const COLUMNS: &str = "id, name, kind, source, provider, ha_peer, addresses, username, password, \
                       ca_bundle, verify_tls, config_dir, haproxy_binary, state, resume_state, \
                       failures, last_error, facts, last_seen_ms, created_ms";

/// Filters of a device listing.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeviceQuery {
    /// Only devices of this kind.
    #[param(value_type = Option<super::model::DeviceKind>)]
    pub kind: Option<String>,
    /// Only devices in this maintenance state.
    #[param(value_type = Option<super::model::MaintenanceState>)]
    pub state: Option<String>,
}

/// The inventory's tables.
#[derive(Debug, Clone)]
pub struct DeviceStore {
    db: ModuleDb,
    secrets: Arc<SecretBox>,
}

fn device(row: &AnyRow, secrets: &SecretBox) -> ManagementResult<Device> {
    let stored: Option<String> = row.try_get("password")?;
    let (password, credentials_error) = match stored.as_deref().map(|s| secrets.open(s)) {
        None => (None, None),
        Some(Ok(password)) => (Some(password), None),
        Some(Err(error)) => (None, Some(error.to_string())),
    };
    let addresses: String = row.try_get("addresses")?;
    let facts: Option<String> = row.try_get("facts")?;
    let resume_state: Option<String> = row.try_get("resume_state")?;
    let verify_tls: i64 = row.try_get("verify_tls")?;
    Ok(Device {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        kind: DeviceKind::parse(&row.try_get::<String, _>("kind")?)?,
        source: DeviceSource::parse(&row.try_get::<String, _>("source")?)?,
        provider: row.try_get("provider")?,
        ha_peer: row.try_get("ha_peer")?,
        connection: Connection {
            addresses: serde_json::from_str(&addresses).unwrap_or_default(),
            username: row.try_get("username")?,
            password,
            ca_bundle: row.try_get("ca_bundle")?,
            verify_tls: verify_tls != 0,
            config_dir: row.try_get("config_dir")?,
            haproxy_binary: row.try_get("haproxy_binary")?,
        },
        state: MaintenanceState::parse(&row.try_get::<String, _>("state")?)?,
        resume_state: resume_state
            .as_deref()
            .map(MaintenanceState::parse)
            .transpose()?,
        failures: row.try_get("failures")?,
        last_error: row.try_get("last_error")?,
        facts: facts.and_then(|f| serde_json::from_str::<Facts>(&f).ok()),
        last_seen_ms: row.try_get("last_seen_ms")?,
        created_ms: row.try_get("created_ms")?,
        credentials_error,
    })
}

fn addresses_json(connection: &Connection) -> String {
    serde_json::to_string(&connection.addresses).unwrap_or_else(|_| "[]".to_owned())
}

impl DeviceStore {
    /// The inventory in `db`, its passwords sealed with `secrets`.
    pub fn new(db: ModuleDb, secrets: Arc<SecretBox>) -> Self {
        DeviceStore { db, secrets }
    }

    fn seal(&self, password: Option<&String>) -> Option<String> {
        password.map(|p| self.secrets.seal(p))
    }

    fn device(&self, row: &AnyRow) -> ManagementResult<Device> {
        device(row, &self.secrets)
    }

    /// Seal the passwords stored before sealing; how many there were.
    pub async fn seal_plain_passwords(&self) -> ManagementResult<u64> {
        let rows = sqlx::query(
            "SELECT id, password FROM mgmt_devices WHERE password IS NOT NULL \
             AND password NOT LIKE 'sealed:%'",
        )
        .fetch_all(self.db.reader())
        .await?;
        let mut sealed = 0;
        for row in rows {
            let id: String = row.try_get("id")?;
            let plain: String = row.try_get("password")?;
            sealed += sqlx::query(
                "UPDATE mgmt_devices SET password = $1 WHERE id = $2 AND password = $3",
            )
            .bind(self.secrets.seal(&plain))
            .bind(&id)
            .bind(&plain)
            .execute(self.db.writer())
            .await?
            .rows_affected();
        }
        Ok(sealed)
    }

    /// Add a device; a name already taken is a conflict.
    pub async fn insert(
        &self,
        registration: &Registration,
        source: DeviceSource,
    ) -> ManagementResult<Device> {
        if self.by_name(&registration.name).await?.is_some() {
            return Err(ManagementError::Conflict(format!(
                "A device named {:?} is already registered.",
                registration.name
            )));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let c = &registration.connection;
        sqlx::query(&format!(
            "INSERT INTO mgmt_devices ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13, $14, NULL, 0, NULL, NULL, NULL, $15)"
        ))
        .bind(&id)
        .bind(&registration.name)
        .bind(registration.kind.as_str())
        .bind(source.as_str())
        .bind(&registration.provider)
        .bind(&registration.ha_peer)
        .bind(addresses_json(c))
        .bind(&c.username)
        .bind(self.seal(c.password.as_ref()))
        .bind(&c.ca_bundle)
        .bind(i64::from(c.verify_tls))
        .bind(&c.config_dir)
        .bind(&c.haproxy_binary)
        .bind(MaintenanceState::Ready.as_str())
        .bind(fulcrum_core::timestamp::now_millis())
        .execute(self.db.writer())
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                ManagementError::Conflict(format!(
                    "A device named {:?} is already registered.",
                    registration.name
                ))
            }
            other => other.into(),
        })?;
        self.get(&id).await
    }

    /// Register a device of the configuration: added when new, its kind and connection brought
    /// up to date when known (its state and facts are kept).
    pub async fn upsert_configured(&self, registration: &Registration) -> ManagementResult<Device> {
        let Some(known) = self.by_name(&registration.name).await? else {
            return self.insert(registration, DeviceSource::Config).await;
        };
        let c = &registration.connection;
        sqlx::query(
            "UPDATE mgmt_devices SET kind = $1, source = $2, provider = $3, ha_peer = $4, \
             addresses = $5, username = $6, password = $7, ca_bundle = $8, verify_tls = $9, \
             config_dir = $10, haproxy_binary = $11 WHERE id = $12",
        )
        .bind(registration.kind.as_str())
        .bind(DeviceSource::Config.as_str())
        .bind(&registration.provider)
        .bind(&registration.ha_peer)
        .bind(addresses_json(c))
        .bind(&c.username)
        .bind(self.seal(c.password.as_ref()))
        .bind(&c.ca_bundle)
        .bind(i64::from(c.verify_tls))
        .bind(&c.config_dir)
        .bind(&c.haproxy_binary)
        .bind(&known.id)
        .execute(self.db.writer())
        .await?;
        self.get(&known.id).await
    }

    /// The device with this id.
    pub async fn get(&self, id: &str) -> ManagementResult<Device> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM mgmt_devices WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.db.reader())
            .await?;
        match row {
            Some(row) => self.device(&row),
            None => Err(ManagementError::NotFound {
                kind: "Device",
                id: id.to_owned(),
            }),
        }
    }

    /// The device with this name, if any.
    pub async fn by_name(&self, name: &str) -> ManagementResult<Option<Device>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM mgmt_devices WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(self.db.reader())
        .await?;
        row.as_ref().map(|r| self.device(r)).transpose()
    }

    /// Devices matching `query`, by name.
    pub async fn list(&self, query: &DeviceQuery) -> ManagementResult<Vec<Device>> {
        let kind = query.kind.as_deref().map(DeviceKind::parse).transpose()?;
        let state = query
            .state
            .as_deref()
            .map(MaintenanceState::parse)
            .transpose()?;
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM mgmt_devices WHERE ($1 = '' OR kind = $1) \
             AND ($2 = '' OR state = $2) ORDER BY name"
        ))
        .bind(kind.map_or("", DeviceKind::as_str))
        .bind(state.map_or("", MaintenanceState::as_str))
        .fetch_all(self.db.reader())
        .await?;
        rows.iter().map(|r| self.device(r)).collect()
    }

    /// Remove a device and what it was recorded carrying; the licenses it held go back to
    /// their pools.
    pub async fn delete(&self, id: &str) -> ManagementResult<()> {
        let mut tx = self.db.writer().begin().await?;
        sqlx::query(
            "UPDATE mgmt_license_assignments SET state = 'revoked', revoked_ms = $1 \
             WHERE device_id = $2 AND state <> 'revoked'",
        )
        .bind(fulcrum_core::timestamp::now_millis())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM mgmt_device_load_balancers WHERE device_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM mgmt_devices WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Set the maintenance state (and the state an unreachable device returns to).
    pub async fn set_state(
        &self,
        id: &str,
        state: MaintenanceState,
        resume_state: Option<MaintenanceState>,
    ) -> ManagementResult<()> {
        sqlx::query("UPDATE mgmt_devices SET state = $1, resume_state = $2 WHERE id = $3")
            .bind(state.as_str())
            .bind(resume_state.map(MaintenanceState::as_str))
            .bind(id)
            .execute(self.db.writer())
            .await?;
        Ok(())
    }

    /// Record facts just read: the device answered, its failures are forgotten.
    pub async fn record_facts(&self, id: &str, facts: &Facts) -> ManagementResult<()> {
        let facts = serde_json::to_string(facts).unwrap_or_default();
        sqlx::query(
            "UPDATE mgmt_devices SET facts = $1, last_seen_ms = $2, failures = 0, \
             last_error = NULL WHERE id = $3",
        )
        .bind(facts)
        .bind(fulcrum_core::timestamp::now_millis())
        .bind(id)
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    /// Record a failure to read facts; the failures in a row now.
    pub async fn record_failure(&self, id: &str, error: &str) -> ManagementResult<i64> {
        sqlx::query(
            "UPDATE mgmt_devices SET failures = failures + 1, last_error = $1 WHERE id = $2",
        )
        .bind(error)
        .bind(id)
        .execute(self.db.writer())
        .await?;
        Ok(self.get(id).await?.failures)
    }

    /// Record that `device_id` carries `load_balancer_id`.
    pub async fn record_carried(
        &self,
        device_id: &str,
        load_balancer_id: &str,
    ) -> ManagementResult<()> {
        let now = fulcrum_core::timestamp::now_millis();
        sqlx::query(
            "INSERT INTO mgmt_device_load_balancers (device_id, load_balancer_id, seen_ms) \
             VALUES ($1, $2, $3) ON CONFLICT (device_id, load_balancer_id) \
             DO UPDATE SET seen_ms = $3",
        )
        .bind(device_id)
        .bind(load_balancer_id)
        .bind(now)
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    /// The load balancers a device carries.
    pub async fn carried(&self, device_id: &str) -> ManagementResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT load_balancer_id FROM mgmt_device_load_balancers WHERE device_id = $1 \
             ORDER BY load_balancer_id",
        )
        .bind(device_id)
        .fetch_all(self.db.reader())
        .await?;
        rows.iter()
            .map(|r| r.try_get("load_balancer_id").map_err(Into::into))
            .collect()
    }

    /// The devices carrying a load balancer, by name.
    pub async fn carrying(&self, load_balancer_id: &str) -> ManagementResult<Vec<Device>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM mgmt_devices WHERE id IN (SELECT device_id FROM \
             mgmt_device_load_balancers WHERE load_balancer_id = $1) ORDER BY name"
        ))
        .bind(load_balancer_id)
        .fetch_all(self.db.reader())
        .await?;
        rows.iter().map(|r| self.device(r)).collect()
    }

    /// Mark a day-2 request's event handled; false if it was already.
    pub async fn claim_request(&self, event_id: i64) -> ManagementResult<bool> {
        let done = sqlx::query(
            "INSERT INTO mgmt_device_requests (event_id, handled_ms) VALUES ($1, $2) \
             ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(event_id)
        .bind(fulcrum_core::timestamp::now_millis())
        .execute(self.db.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Forget the day-2 requests handled before `before_ms`; how many.
    pub async fn prune_requests(&self, before_ms: i64) -> ManagementResult<u64> {
        let done = sqlx::query("DELETE FROM mgmt_device_requests WHERE handled_ms < $1")
            .bind(before_ms)
            .execute(self.db.writer())
            .await?;
        Ok(done.rows_affected())
    }
}
