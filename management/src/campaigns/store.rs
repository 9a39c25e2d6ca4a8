//! The campaigns' SQL: campaigns, their devices, and each device's history. Every change of a
//! device's place is written before the device is acted on, so the table is always the truth a
//! restarted process resumes from.

use fulcrum_store::ModuleDb;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::model::{Campaign, CampaignDevice, CampaignState, Phase, Policy, Target, TargetKind};
use super::schedule::{Progress, Role};
use super::steps::Step;
use crate::error::{ManagementError, ManagementResult};

const CAMPAIGN_COLUMNS: &str = "id, name, target_kind, target_name, target_version, policy, \
                                state, reason, created_by, created_ms, updated_ms, finished_ms";

const DEVICE_COLUMNS: &str = "device_id, device_name, position, peer_id, role, phase, progress, \
                              step, started, step_since_ms, from_volume, from_version, \
                              to_volume, backup_id, state_before, error";

/// One line of a device's history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    /// The device.
    pub device_id: String,
    /// Forward or rollback.
    pub phase: String,
    /// The step.
    pub step: String,
    /// `issued` (the step was asked of the device), `completed`, `done`, `failed`, `resumed`.
    pub action: String,
    /// The reason of a failure, or what was done.
    pub detail: Option<String>,
    /// When (ms since the Unix epoch).
    pub at_ms: i64,
}

/// The campaigns' tables.
#[derive(Debug, Clone)]
pub struct CampaignStore {
    db: ModuleDb,
}

fn campaign(row: &AnyRow) -> ManagementResult<Campaign> {
    let policy: String = row.try_get("policy")?;
    Ok(Campaign {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        target: Target {
            kind: TargetKind::parse(&row.try_get::<String, _>("target_kind")?)?,
            name: row.try_get("target_name")?,
            version: row.try_get("target_version")?,
        },
        policy: serde_json::from_str::<Policy>(&policy).unwrap_or_default(),
        state: CampaignState::parse(&row.try_get::<String, _>("state")?)?,
        reason: row.try_get("reason")?,
        created_by: row.try_get("created_by")?,
        created_ms: row.try_get("created_ms")?,
        updated_ms: row.try_get("updated_ms")?,
        finished_ms: row.try_get("finished_ms")?,
    })
}

fn device(row: &AnyRow) -> ManagementResult<CampaignDevice> {
    let step: String = row.try_get("step")?;
    Ok(CampaignDevice {
        device_id: row.try_get("device_id")?,
        device_name: row.try_get("device_name")?,
        position: row.try_get("position")?,
        peer_id: row.try_get("peer_id")?,
        role: Role::parse(&row.try_get::<String, _>("role")?),
        phase: Phase::parse(&row.try_get::<String, _>("phase")?)?,
        progress: Progress::parse(&row.try_get::<String, _>("progress")?)?,
        step: Step::parse(&step).ok_or_else(|| {
            ManagementError::BadRequest(format!("unknown campaign step {step:?}."))
        })?,
        started: row.try_get::<i64, _>("started")? != 0,
        step_since_ms: row.try_get("step_since_ms")?,
        from_volume: row.try_get("from_volume")?,
        from_version: row.try_get("from_version")?,
        to_volume: row.try_get("to_volume")?,
        backup_id: row.try_get("backup_id")?,
        state_before: row.try_get("state_before")?,
        error: row.try_get("error")?,
    })
}

fn now() -> i64 {
    fulcrum_core::timestamp::now_millis()
}

impl CampaignStore {
    /// The campaigns in `db`.
    pub fn new(db: ModuleDb) -> Self {
        CampaignStore { db }
    }

    /// Store a new campaign and its devices, in one transaction.
    pub async fn insert(
        &self,
        campaign: &Campaign,
        devices: &[CampaignDevice],
    ) -> ManagementResult<()> {
        let policy = serde_json::to_string(&campaign.policy)
            .map_err(|e| ManagementError::BadRequest(e.to_string()))?;
        let mut tx = self.db.writer().begin().await?;
        sqlx::query(&format!(
            "INSERT INTO mgmt_campaigns ({CAMPAIGN_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(&campaign.id)
        .bind(&campaign.name)
        .bind(campaign.target.kind.as_str())
        .bind(&campaign.target.name)
        .bind(&campaign.target.version)
        .bind(policy)
        .bind(campaign.state.as_str())
        .bind(&campaign.reason)
        .bind(&campaign.created_by)
        .bind(campaign.created_ms)
        .bind(campaign.updated_ms)
        .bind(campaign.finished_ms)
        .execute(&mut *tx)
        .await?;
        for d in devices {
            sqlx::query(&format!(
                "INSERT INTO mgmt_campaign_devices (campaign_id, {DEVICE_COLUMNS}, updated_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
                 $17, $18)"
            ))
            .bind(&campaign.id)
            .bind(&d.device_id)
            .bind(&d.device_name)
            .bind(d.position)
            .bind(&d.peer_id)
            .bind(d.role.as_str())
            .bind(d.phase.as_str())
            .bind(d.progress.as_str())
            .bind(d.step.as_str())
            .bind(i64::from(d.started))
            .bind(d.step_since_ms)
            .bind(&d.from_volume)
            .bind(&d.from_version)
            .bind(&d.to_volume)
            .bind(&d.backup_id)
            .bind(&d.state_before)
            .bind(&d.error)
            .bind(campaign.created_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The campaign `id`.
    pub async fn get(&self, id: &str) -> ManagementResult<Campaign> {
        let row = sqlx::query(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM mgmt_campaigns WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.db.reader())
        .await?;
        match row {
            Some(row) => campaign(&row),
            None => Err(ManagementError::NotFound {
                kind: "Campaign",
                id: id.to_owned(),
            }),
        }
    }

    /// Every campaign, newest first; only those in `state` when given.
    pub async fn list(&self, state: Option<CampaignState>) -> ManagementResult<Vec<Campaign>> {
        let mut sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM mgmt_campaigns");
        if state.is_some() {
            sql.push_str(" WHERE state = $1");
        }
        sql.push_str(" ORDER BY created_ms DESC, id DESC");
        let mut query = sqlx::query(&sql);
        if let Some(state) = state {
            query = query.bind(state.as_str());
        }
        let rows = query.fetch_all(self.db.reader()).await?;
        rows.iter().map(campaign).collect()
    }

    /// The campaigns something may still happen in.
    pub async fn unfinished(&self) -> ManagementResult<Vec<Campaign>> {
        let rows = sqlx::query(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM mgmt_campaigns WHERE state IN \
             ('running', 'paused', 'aborting', 'rolling_back') ORDER BY created_ms, id"
        ))
        .fetch_all(self.db.reader())
        .await?;
        rows.iter().map(campaign).collect()
    }

    /// The ids of the devices of unfinished campaigns among `device_ids`.
    pub async fn busy_devices(&self, device_ids: &[String]) -> ManagementResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT d.device_id FROM mgmt_campaign_devices d JOIN mgmt_campaigns c \
             ON c.id = d.campaign_id WHERE c.state IN \
             ('running', 'paused', 'aborting', 'rolling_back')",
        )
        .fetch_all(self.db.reader())
        .await?;
        let mut busy = Vec::new();
        for row in rows {
            let id: String = row.try_get("device_id")?;
            if device_ids.contains(&id) && !busy.contains(&id) {
                busy.push(id);
            }
        }
        Ok(busy)
    }

    /// A campaign's devices, in campaign order.
    pub async fn devices(&self, campaign_id: &str) -> ManagementResult<Vec<CampaignDevice>> {
        let rows = sqlx::query(&format!(
            "SELECT {DEVICE_COLUMNS} FROM mgmt_campaign_devices WHERE campaign_id = $1 \
             ORDER BY position"
        ))
        .bind(campaign_id)
        .fetch_all(self.db.reader())
        .await?;
        rows.iter().map(device).collect()
    }

    /// Set a campaign's state and reason; `finished` stamps its end.
    pub async fn set_state(
        &self,
        id: &str,
        state: CampaignState,
        reason: Option<&str>,
    ) -> ManagementResult<()> {
        let at = now();
        sqlx::query(
            "UPDATE mgmt_campaigns SET state = $1, reason = $2, updated_ms = $3, \
             finished_ms = $4 WHERE id = $5",
        )
        .bind(state.as_str())
        .bind(reason)
        .bind(at)
        .bind(state.is_final().then_some(at))
        .bind(id)
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    /// Write a device's place in its campaign (everything but its identity and order).
    pub async fn save_device(&self, campaign_id: &str, d: &CampaignDevice) -> ManagementResult<()> {
        sqlx::query(
            "UPDATE mgmt_campaign_devices SET phase = $1, progress = $2, step = $3, \
             started = $4, step_since_ms = $5, from_volume = $6, from_version = $7, \
             to_volume = $8, backup_id = $9, state_before = $10, error = $11, updated_ms = $12 \
             WHERE campaign_id = $13 AND device_id = $14",
        )
        .bind(d.phase.as_str())
        .bind(d.progress.as_str())
        .bind(d.step.as_str())
        .bind(i64::from(d.started))
        .bind(d.step_since_ms)
        .bind(&d.from_volume)
        .bind(&d.from_version)
        .bind(&d.to_volume)
        .bind(&d.backup_id)
        .bind(&d.state_before)
        .bind(&d.error)
        .bind(now())
        .bind(campaign_id)
        .bind(&d.device_id)
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    /// Add a line to a device's history.
    pub async fn record(
        &self,
        campaign_id: &str,
        d: &CampaignDevice,
        action: &str,
        detail: Option<&str>,
    ) -> ManagementResult<()> {
        sqlx::query(
            "INSERT INTO mgmt_campaign_history (id, campaign_id, device_id, phase, step, action, \
             detail, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(campaign_id)
        .bind(&d.device_id)
        .bind(d.phase.as_str())
        .bind(d.step.as_str())
        .bind(action)
        .bind(detail)
        .bind(now())
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    /// A campaign's history, oldest first.
    pub async fn history(&self, campaign_id: &str) -> ManagementResult<Vec<HistoryEntry>> {
        let rows = sqlx::query(
            "SELECT device_id, phase, step, action, detail, at_ms FROM mgmt_campaign_history \
             WHERE campaign_id = $1 ORDER BY at_ms, id",
        )
        .bind(campaign_id)
        .fetch_all(self.db.reader())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(HistoryEntry {
                    device_id: row.try_get("device_id")?,
                    phase: row.try_get("phase")?,
                    step: row.try_get("step")?,
                    action: row.try_get("action")?,
                    detail: row.try_get("detail")?,
                    at_ms: row.try_get("at_ms")?,
                })
            })
            .collect()
    }
}
