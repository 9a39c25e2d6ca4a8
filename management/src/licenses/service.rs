//! [`Licenses`]: the operations on license pools that the API and the registration of devices
//! call, each audited with its caller (none for the module itself): pools made, renewed, given
//! keys and deleted; licenses given to devices (the key installed on the device first) and
//! revoked (the key given up on the device first).

use fulcrum_core::Caller;

use super::exhausted_key;
use super::model::{Assignment, NewKeys, NewPool, Pool, PoolChange, PoolKind, PoolView};
use super::store::{Held, LicenseStore};
use crate::alerts::Alerts;
use crate::alerts::from_events::Raised;
use crate::audit::Audit;
use crate::devices::model::Device;
use crate::devices::ops::LicenseOrder;
use crate::devices::ops_for;
use crate::devices::store::DeviceStore;
use crate::error::{ManagementError, ManagementResult};

/// The license pools and what is done with them.
#[derive(Debug, Clone)]
pub struct Licenses {
    /// Their tables.
    pub store: LicenseStore,
    devices: DeviceStore,
    alerts: Alerts,
    audit: Audit,
}

impl Licenses {
    /// The pools in `store`, for the devices of `devices`, raising `alerts` and recording to
    /// `audit`.
    pub fn new(store: LicenseStore, devices: DeviceStore, alerts: Alerts, audit: Audit) -> Self {
        Licenses {
            store,
            devices,
            alerts,
            audit,
        }
    }

    /// The devices licenses are given to.
    pub fn devices(&self) -> &DeviceStore {
        &self.devices
    }

    /// The alerts the pools raise.
    pub fn alerts(&self) -> &Alerts {
        &self.alerts
    }

    async fn audited<T>(
        &self,
        caller: Option<&Caller>,
        action: &str,
        target: &str,
        result: &ManagementResult<T>,
        detail: &str,
    ) {
        self.audit
            .record_result_with(caller, action, target, result, detail)
            .await;
    }

    /// Every pool with its usage.
    pub async fn views(&self) -> ManagementResult<Vec<PoolView>> {
        let mut views = Vec::new();
        for pool in self.store.pools().await? {
            views.push(self.view(&pool).await?);
        }
        Ok(views)
    }

    /// `pool` with its usage.
    pub async fn view(&self, pool: &Pool) -> ManagementResult<PoolView> {
        Ok(PoolView::new(pool, self.store.usage(pool).await?))
    }

    /// Make a pool (`license-pool.create`).
    pub async fn create_pool(
        &self,
        caller: Option<&Caller>,
        new: &NewPool,
    ) -> ManagementResult<PoolView> {
        let (pool, keys) = new.validate(
            uuid::Uuid::new_v4().to_string(),
            fulcrum_core::timestamp::now_millis(),
        )?;
        let result = self.store.insert_pool(&pool, &keys).await;
        let detail = format!("{} ({} {})", pool.name, keys.len(), pool.kind.as_str());
        self.audited(caller, "license-pool.create", &pool.id, &result, &detail)
            .await;
        result?;
        self.view(&pool).await
    }

    /// Add keys to the `keys` pool `id` (`license-pool.add-keys`).
    pub async fn add_keys(
        &self,
        caller: Option<&Caller>,
        id: &str,
        new: &NewKeys,
    ) -> ManagementResult<PoolView> {
        let pool = self.store.pool(id).await?;
        if pool.kind != PoolKind::Keys {
            return Err(ManagementError::BadRequest(format!(
                "License pool {} counts seats; it holds no keys.",
                pool.name
            )));
        }
        let keys = new.validate()?;
        let result = self.store.add_keys(id, &keys).await;
        let detail = format!("{} key(s)", keys.len());
        self.audited(caller, "license-pool.add-keys", id, &result, &detail)
            .await;
        result?;
        self.view(&pool).await
    }

    /// Renew the pool `id` or change its settings (`license-pool.update`).
    pub async fn update_pool(
        &self,
        caller: Option<&Caller>,
        id: &str,
        change: &PoolChange,
    ) -> ManagementResult<PoolView> {
        let pool = self.store.pool(id).await?;
        let changed = change.apply(&pool)?;
        let result = self.store.update_pool(&changed).await;
        let detail = format!(
            "expires on {}, {} days ahead",
            super::model::format_date(changed.expires_on),
            changed.alert_ahead_days
        );
        self.audited(caller, "license-pool.update", id, &result, &detail)
            .await;
        result?;
        self.view(&changed).await
    }

    /// Delete the pool `id`, which no device may hold a license of (`license-pool.delete`).
    pub async fn delete_pool(&self, caller: Option<&Caller>, id: &str) -> ManagementResult<()> {
        let pool = self.store.pool(id).await?;
        let result = self.store.delete_pool(id).await;
        self.audited(caller, "license-pool.delete", id, &result, &pool.name)
            .await;
        result
    }

    /// Give `device` a license of `pool` (`license.assign`): the first free key is reserved,
    /// installed on the device, then active; a device that refuses it leaves the key free
    /// (marked refused) and answers the device's error. A device of another kind, or one
    /// already holding a license of the pool, or a pool with nothing left, changes nothing.
    pub async fn assign(
        &self,
        caller: Option<&Caller>,
        pool: &Pool,
        device: &Device,
    ) -> ManagementResult<Assignment> {
        if device.kind != pool.device_kind {
            return Err(ManagementError::BadRequest(format!(
                "License pool {} is for {} devices; {} is a {} device.",
                pool.name,
                pool.device_kind.as_str(),
                device.name,
                device.kind.as_str()
            )));
        }
        let ops = match pool.kind {
            PoolKind::Keys => Some(ops_for(device).map_err(|e| e.for_device(&device.name))?),
            PoolKind::Seats => None,
        };
        let result = self.reserve_and_install(pool, device, ops).await;
        let detail = format!("{} from pool {}", device.name, pool.name);
        self.audited(caller, "license.assign", &device.id, &result, &detail)
            .await;
        result
    }

    async fn reserve_and_install(
        &self,
        pool: &Pool,
        device: &Device,
        ops: Option<Box<dyn crate::devices::ops::DeviceOps>>,
    ) -> ManagementResult<Assignment> {
        let reservation = self.store.reserve(pool, &device.id).await?;
        let (Some(ops), Some(key)) = (ops, reservation.key) else {
            return Ok(reservation.assignment);
        };
        match ops.license(&LicenseOrder::Install(key)).await {
            Ok(_) => self.store.activate(&reservation.assignment.id).await,
            Err(refusal) => {
                let error = refusal.for_device(&device.name);
                self.store
                    .release(&reservation.assignment, Some(&error.to_string()))
                    .await?;
                Err(error)
            }
        }
    }

    /// Give the license `id` back to its pool (`license.revoke`): a key is revoked on its
    /// device first (a device that fails keeps it, and nothing changes), unless the device is
    /// gone from the inventory.
    pub async fn revoke(&self, caller: Option<&Caller>, id: &str) -> ManagementResult<Assignment> {
        let assignment = self.store.assignment(id).await?;
        let result = match self.revoke_on_device(&assignment).await {
            Ok(()) => self.store.revoke(id).await,
            Err(error) => Err(error),
        };
        let detail = format!("license {id}");
        self.audited(
            caller,
            "license.revoke",
            &assignment.device_id,
            &result,
            &detail,
        )
        .await;
        result
    }

    async fn revoke_on_device(&self, assignment: &Assignment) -> ManagementResult<()> {
        if assignment.key_id.is_none() || assignment.state != super::model::AssignmentState::Active
        {
            return Ok(());
        }
        let device = match self.devices.get(&assignment.device_id).await {
            Ok(device) => device,
            Err(ManagementError::NotFound { .. }) => return Ok(()),
            Err(error) => return Err(error),
        };
        let ops = ops_for(&device).map_err(|e| e.for_device(&device.name))?;
        ops.license(&LicenseOrder::Revoke)
            .await
            .map_err(|e| e.for_device(&device.name))?;
        Ok(())
    }

    /// Settle a license left `installing` by a process that stopped between reserving its key
    /// and hearing the device's answer (`license.settle`, recorded under no user): the device is
    /// asked what it holds; the license is `active` if it holds the key, else released, the
    /// key free again and not marked refused. A device gone from the inventory holds nothing;
    /// one that cannot be read leaves the license as it is.
    pub async fn settle(&self, license: &Held) -> ManagementResult<Settlement> {
        let assignment = &license.assignment;
        let holds = match self.devices.get(&assignment.device_id).await {
            Ok(device) => {
                let reported = match ops_for(&device) {
                    Ok(ops) => ops.license(&LicenseOrder::Show).await,
                    Err(error) => Err(error),
                };
                match reported {
                    Ok(reported) => {
                        reported.registration_key.is_some()
                            && reported.registration_key == license.key
                    }
                    Err(error) => {
                        tracing::warn!(device = %device.name, %error, license = %assignment.id,
                            "a license left installing cannot be settled: the device's license cannot be read");
                        return Ok(Settlement::Unsettled);
                    }
                }
            }
            Err(ManagementError::NotFound { .. }) => false,
            Err(error) => return Err(error),
        };
        let (settlement, result) = if holds {
            let result = self.store.activate(&assignment.id).await.map(|_| ());
            (Settlement::Active, result)
        } else {
            let result = self.store.release(assignment, None).await;
            (Settlement::Released, result)
        };
        let detail = match settlement {
            Settlement::Active => {
                format!("license {} active: the device holds its key", assignment.id)
            }
            _ => format!(
                "license {} released: the device does not hold its key",
                assignment.id
            ),
        };
        self.audited(
            None,
            "license.settle",
            &assignment.device_id,
            &result,
            &detail,
        )
        .await;
        result.map(|()| settlement)
    }

    /// What registering `device` takes: a license from the first pool for its kind marked
    /// `assign_on_registration` with one left. When every such pool is exhausted, each raises
    /// `LicensePoolExhausted`; the registration stands either way, and a device that refuses
    /// its key is only logged (and audited).
    pub async fn on_registration(&self, caller: Option<&Caller>, device: &Device) {
        if let Err(error) = self.assign_on_registration(caller, device).await {
            tracing::warn!(device = %device.name, %error, "no license given on registration");
        }
    }

    async fn assign_on_registration(
        &self,
        caller: Option<&Caller>,
        device: &Device,
    ) -> ManagementResult<()> {
        let pools: Vec<Pool> = self
            .store
            .pools()
            .await?
            .into_iter()
            .filter(|p| p.assign_on_registration && p.device_kind == device.kind)
            .collect();
        let mut full = Vec::new();
        for pool in &pools {
            if self.store.usage(pool).await?.available == 0 {
                full.push(pool);
                continue;
            }
            return self.assign(caller, pool, device).await.map(|_| ());
        }
        let now_ms = fulcrum_core::timestamp::now_millis();
        for pool in full {
            let raised = Raised {
                key: exhausted_key(&pool.name),
                load_balancer_id: String::new(),
                provider: String::new(),
                message: format!(
                    "License pool {} has no license left for device {}.",
                    pool.name, device.name
                ),
            };
            self.alerts.raise(&raised, now_ms).await?;
        }
        Ok(())
    }
}

/// How [`Licenses::settle`] left a license found `installing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// The device holds its key: it is `active`.
    Active,
    /// The device does not hold its key: it is forgotten, the key free again.
    Released,
    /// The device could not say: it is `installing` still.
    Unsettled,
}
