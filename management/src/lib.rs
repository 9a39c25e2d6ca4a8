//! Fulcrum's management module: the day-2 work on the devices behind the load balancers
//! (inventory, alerts, hotfix and upgrade campaigns, licenses, configuration backups) and the
//! audit trail of all of it.
//!
//! # Management is not orchestration
//!
//! Orchestration makes load balancers exist; management keeps the devices under them patched,
//! licensed, backed up and watched. The two change for different reasons, so they share no
//! tables and no code paths. This crate depends on `core` and `store`, never on the API or the
//! drivers, and meets orchestration at two points only:
//!
//! - **In: events.** Orchestration writes `core::events` to the store's outbox in the transaction
//!   of the change that causes them; [`events::EventsTask`] reads them from management's own
//!   cursor and hands them to the areas that registered an [`events::EventHandler`].
//! - **Out: device availability.** Placement of new load balancers asks whether a device may take
//!   work; management answers from its inventory's maintenance states.
//!
//! # Shape
//!
//! [`Management`] holds the module's database (its own tables, migrated by [`Management::open`]),
//! its configuration, its audit trail, its alerts, its device inventory, its backups and its
//! license pools. [`Management::routes`] serves `/v1/management/...`; the
//! binary mounts them behind the API's authentication gate, whose policy makes them admin-only
//! (`fulcrum:management:*`) and which hands each handler the [`fulcrum_core::Caller`] that the
//! audit trail records; [`document::openapi`] is their part of the OpenAPI document.
//! [`Management::tasks`] are its background jobs, in the one shape every job
//! of Fulcrum has (`core::tasks`).

pub mod alerts;
pub mod audit;
pub mod backups;
pub mod campaigns;
pub mod cli;
pub mod config;
pub mod devices;
pub mod document;
pub mod error;
pub mod events;
pub mod http;
pub mod key_check;
pub mod licenses;
pub mod pruning;
pub mod schema;
pub mod secrets;
pub mod sql;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use fulcrum_core::tasks::{Activator, Duties, Wake};
use fulcrum_store::{ModuleDb, Store};

pub use config::ManagementConfig;
pub use error::{ManagementError, ManagementResult};

/// The module name its tables are migrated under.
pub const MODULE: &str = "management";

/// The management module: its database, configuration, audit trail, alerts and inventory.
#[derive(Debug)]
pub struct Management {
    /// The module's tables.
    pub db: ModuleDb,
    /// The store whose outbox it reads.
    pub store: Store,
    /// How it runs.
    pub config: ManagementConfig,
    /// Its audit trail.
    pub audit: audit::Audit,
    /// Its alerts.
    pub alerts: alerts::Alerts,
    /// The device inventory.
    pub devices: devices::store::DeviceStore,
    /// Device backups.
    pub backups: backups::Backups,
    /// Hotfix and upgrade campaigns.
    pub campaigns: campaigns::Campaigns,
    /// License pools.
    pub licenses: licenses::Licenses,
    /// What runs the campaigns.
    pub campaign_executor: Arc<campaigns::executor::Executor>,
    /// Wakes the campaign executor when the API changes a campaign.
    campaign_wake: Wake,
}

impl Management {
    /// Apply the migrations of the module's tables not yet applied to `store`'s database.
    pub async fn migrate(store: &Store) -> ManagementResult<()> {
        store.module_db(MODULE).migrate(schema::MIGRATIONS).await?;
        Ok(())
    }

    /// Open the module on `store`: migrate its tables, load the key that seals device passwords
    /// (refused when it is not the key the database's secrets are sealed with) and seal those
    /// stored before sealing, ready to serve.
    pub async fn open(store: &Store, config: ManagementConfig) -> ManagementResult<Arc<Self>> {
        Self::migrate(store).await?;
        let db = store.module_db(MODULE);
        config.backups.validate()?;
        let secrets = Arc::new(match (&config.secret_key, &config.secret_key_file) {
            (Some(_), Some(_)) => {
                return Err(ManagementError::BadRequest(
                    "[management] secret_key and secret_key_file name two keys: set one of them."
                        .to_owned(),
                ));
            }
            (Some(key), None) => secrets::SecretBox::from_base64(&key.0, secrets::CONFIGURED_KEY)?,
            (None, Some(path)) => secrets::SecretBox::load(std::path::Path::new(path))?,
            (None, None) => {
                secrets::SecretBox::load_or_create(std::path::Path::new(secrets::DEFAULT_KEY_FILE))?
            }
        });
        key_check::verify_shared_key(&db, &secrets).await?;
        let devices = devices::store::DeviceStore::new(db.clone(), Arc::clone(&secrets));
        let sealed = devices.seal_plain_passwords().await?;
        if sealed > 0 {
            tracing::info!(
                devices = sealed,
                "sealed device passwords stored in plain text"
            );
        }
        let mut registered = Vec::new();
        for registration in &config.devices.registered {
            registration.validate()?;
            let known = devices.by_name(&registration.name).await?.is_some();
            let device = devices.upsert_configured(registration).await?;
            if !known {
                registered.push(device);
            }
        }
        for policy in &config.campaigns.policies {
            policy.validate()?;
        }
        let audit = audit::Audit::new(db.clone());
        let alerts = alerts::Alerts::new(db.clone(), config.alerts.clone());
        let backups = backups::Backups::new(
            db.clone(),
            Arc::new(backups::archive::DirectoryArchive::new(
                &config.backups.directory,
            )),
        );
        let licenses = licenses::Licenses::new(
            licenses::store::LicenseStore::new(db.clone(), secrets),
            devices.clone(),
            alerts.clone(),
            audit.clone(),
        );
        for device in &registered {
            licenses.on_registration(None, device).await;
        }
        let campaign_store = campaigns::store::CampaignStore::new(db.clone());
        let campaign_wake = Wake::new();
        let campaigns = campaigns::Campaigns::new(
            campaign_store.clone(),
            devices.clone(),
            audit.clone(),
            config.campaigns.policies.clone(),
            campaign_wake.clone(),
        );
        let campaign_executor = Arc::new(campaigns::executor::Executor::new(
            campaign_store,
            devices.clone(),
            backups.clone(),
            alerts.clone(),
            audit.clone(),
        ));
        Ok(Arc::new(Management {
            audit,
            alerts,
            devices,
            backups,
            campaigns,
            campaign_executor,
            campaign_wake,
            licenses,
            db,
            store: store.clone(),
            config,
        }))
    }

    /// The management API (`/v1/management/...`), to be mounted behind the authentication gate;
    /// [`document::openapi`] describes it.
    pub fn routes(self: &Arc<Self>) -> Router {
        let (router, _) = document::router().split_for_parts();
        router
            .layer(axum::middleware::from_fn(http::refuse_nul_in_url))
            .with_state(Arc::clone(self))
    }

    /// The module's background jobs; `duties` says which cluster-wide ones this process runs,
    /// `events_committed` wakes the event reader when this process commits events.
    pub fn tasks(
        self: &Arc<Self>,
        duties: Arc<dyn Duties>,
        events_committed: Wake,
    ) -> Vec<Activator> {
        vec![
            Activator::new(
                Arc::new(events::EventsTask::new(
                    self.store.clone(),
                    self.event_handlers(),
                    Arc::clone(&duties),
                )),
                Duration::from_secs(self.config.events_interval_seconds.max(1)),
            )
            .woken_by(events_committed)
            .at_start(),
            Activator::new(
                Arc::new(alerts::receivers::DeliveryTask::new(
                    self.alerts.clone(),
                    self.db.clone(),
                    Arc::clone(&duties),
                )),
                Duration::from_secs(self.config.alerts.delivery_interval_seconds.max(1)),
            ),
            Activator::new(
                Arc::new(devices::facts_task::FactsTask::new(
                    self.devices.clone(),
                    self.config.devices.unreachable_after,
                    Arc::clone(&duties),
                )),
                Duration::from_secs(self.config.devices.facts_interval_seconds.max(1)),
            )
            .at_start(),
            Activator::new(
                Arc::new(campaigns::executor::CampaignsTask::new(
                    Arc::clone(&self.campaign_executor),
                    Arc::clone(&duties),
                )),
                Duration::from_secs(self.config.campaigns.interval_seconds.max(1)),
            )
            .woken_by(self.campaign_wake.clone())
            .at_start(),
            Activator::new(
                Arc::new(pruning::PruningTask::new(
                    self.alerts.store.clone(),
                    self.devices.clone(),
                    pruning::Retention::of(&self.config),
                    Arc::clone(&duties),
                )),
                pruning::INTERVAL,
            )
            .at_start(),
            Activator::new(
                Arc::new(backups::task::BackupsTask::new(
                    Arc::clone(self),
                    Arc::clone(&duties),
                )),
                Duration::from_secs(self.config.backups.interval_seconds.max(1)),
            ),
            Activator::new(
                Arc::new(licenses::task::LicensesTask::new(
                    self.licenses.clone(),
                    duties,
                )),
                Duration::from_secs(self.config.licenses.interval_seconds.max(1)),
            )
            .at_start(),
        ]
    }

    /// The areas that react to orchestration's events.
    fn event_handlers(self: &Arc<Self>) -> Vec<Arc<dyn events::EventHandler>> {
        vec![
            Arc::new(alerts::from_events::AlertEvents::new(self.alerts.clone())),
            devices::from_events::DeviceEvents::new(self.devices.clone(), self.audit.clone()),
        ]
    }

    /// Whether devices may take new load balancers, from the inventory's maintenance states:
    /// what placement consults.
    pub fn device_availability(&self) -> Arc<dyn fulcrum_core::devices::DeviceAvailability> {
        Arc::new(devices::availability::InventoryAvailability::new(
            self.devices.clone(),
        ))
    }
}
