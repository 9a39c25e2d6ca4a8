//! The inventory's part in orchestration's events.
//!
//! - `device_seen`: the device carries the load balancer named; a device the inventory does not
//!   know is added as `discovered` (kind from the provider, no address: listed, not operated).
//! - `day_two_request` with action `failover`: the devices carrying the load balancer, with
//!   their HA peers, are asked who is active, and the active one of the pair hands over to its
//!   peer. The outcome is audited under no user. Each request is handled once: a batch read again
//!   after a crash does not fail the pair back.
//!
//! A device that fails is audited and logged, not returned as an error: the event reader would
//! otherwise read the same batch forever while the device is down.

use std::sync::Arc;

use async_trait::async_trait;
use fulcrum_core::events::Event;
use fulcrum_store::StoredEvent;

use super::model::{Connection, Device, DeviceKind, DeviceSource, Registration};
use super::ops_for;
use super::store::DeviceStore;
use crate::audit::Audit;
use crate::error::{ManagementError, ManagementResult};
use crate::events::EventHandler;

/// Handles device events and day-2 requests.
#[derive(Debug)]
pub struct DeviceEvents {
    store: DeviceStore,
    audit: Audit,
}

impl DeviceEvents {
    /// A handler recording into `store`, auditing into `audit`.
    pub fn new(store: DeviceStore, audit: Audit) -> Arc<Self> {
        Arc::new(DeviceEvents { store, audit })
    }

    async fn seen(
        &self,
        provider: &str,
        device_id: &str,
        load_balancer_id: Option<&str>,
    ) -> ManagementResult<()> {
        let device = match self.store.by_name(device_id).await? {
            Some(device) => device,
            None => {
                let Some(kind) = DeviceKind::of_provider(provider) else {
                    tracing::warn!(
                        provider,
                        device_id,
                        "a device of an unknown kind of provider is not recorded"
                    );
                    return Ok(());
                };
                let registration = Registration {
                    name: device_id.to_owned(),
                    kind,
                    provider: Some(provider.to_owned()),
                    ha_peer: None,
                    connection: Connection::default(),
                };
                self.store
                    .insert(&registration, DeviceSource::Discovered)
                    .await?
            }
        };
        if let Some(load_balancer_id) = load_balancer_id {
            self.store
                .record_carried(&device.id, load_balancer_id)
                .await?;
        }
        Ok(())
    }

    /// The devices carrying the load balancer and their HA peers.
    async fn pair_of(&self, load_balancer_id: &str) -> ManagementResult<Vec<Device>> {
        let mut devices = self.store.carrying(load_balancer_id).await?;
        let peers: Vec<String> = devices.iter().filter_map(|d| d.ha_peer.clone()).collect();
        for peer in peers {
            if !devices.iter().any(|d| d.name == peer)
                && let Some(device) = self.store.by_name(&peer).await?
            {
                devices.push(device);
            }
        }
        Ok(devices)
    }

    async fn failover(&self, load_balancer_id: &str) -> ManagementResult<()> {
        let devices = self.pair_of(load_balancer_id).await?;
        if devices.is_empty() {
            tracing::info!(
                load_balancer_id,
                "failover requested; no known device carries it"
            );
            return Ok(());
        }
        let mut errors = Vec::new();
        for device in &devices {
            let ops = match ops_for(device) {
                Ok(ops) => ops,
                Err(e) => {
                    errors.push(format!("{}: {e}", device.name));
                    continue;
                }
            };
            let facts = match ops.facts().await {
                Ok(facts) => facts,
                Err(e) => {
                    errors.push(format!("{}: {e}", device.name));
                    continue;
                }
            };
            if facts.ha_role.as_deref() != Some("active") {
                continue;
            }
            let result = ops.failover().await.map_err(|e| e.for_device(&device.name));
            self.audit
                .record_result(None, "device.failover", Some(&device.id), &result)
                .await;
            if let Err(error) = result {
                tracing::warn!(device = %device.name, %error, "failover failed");
            }
            return Ok(());
        }
        let names: Vec<&str> = devices.iter().map(|d| d.name.as_str()).collect();
        let why = if errors.is_empty() {
            format!(
                "no active device of an HA pair carries load balancer {load_balancer_id} \
                 (devices: {})",
                names.join(", ")
            )
        } else {
            errors.join("; ")
        };
        let result: ManagementResult<()> = Err(ManagementError::Conflict(why));
        self.audit
            .record_result(None, "device.failover", Some(load_balancer_id), &result)
            .await;
        Ok(())
    }
}

#[async_trait]
impl EventHandler for DeviceEvents {
    async fn handle(&self, stored: &StoredEvent) -> ManagementResult<()> {
        match &stored.event {
            Event::DeviceSeen {
                provider,
                device_id,
                load_balancer_id,
            } => {
                self.seen(provider, device_id, load_balancer_id.as_deref())
                    .await
            }
            Event::DayTwoRequest {
                action,
                load_balancer_id,
            } if action == "failover" => {
                if self.store.claim_request(stored.id).await? {
                    self.failover(load_balancer_id).await?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}
