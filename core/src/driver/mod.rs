//! The driver seam: what every backend (HAProxy, NSX-T, F5, noop) implements.
//!
//! Drivers are level-triggered. [`Driver::apply`] is handed the *whole* desired load balancer and
//! makes the backend match it; applying the same graph twice changes nothing. Deltas are an
//! optimization a driver may make internally, never part of this interface.
//!
//! - [`graph`]: the desired tree a driver is handed;
//! - [`applied`]: what an apply realized short of the whole tree (objects the backend refused);
//! - [`drift`]: fingerprints of what a backend realizes, so that a full sync re-applies only what
//!   drifted;
//! - [`error`]: how a driver call fails, in kinds the reconciler acts on;
//! - [`factory`]: how a backend registers itself and is built from its configuration section;
//! - [`providers`]: the enabled drivers by name;
//! - [`placement`]: what a driver that chooses where new load balancers go is told;
//! - `fixtures`: sample trees for tests (compiled for this crate's tests and, with the `fixtures`
//!   feature, for other crates' tests).

mod applied;
mod drift;
mod error;
mod factory;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
mod graph;
mod placement;
mod providers;

use std::collections::HashMap;

use async_trait::async_trait;

use crate::events::Event;
use crate::model::{
    HealthMonitorType, LbAlgorithm, ListenerProtocol, OperatingStatus, PoolProtocol, Stats,
};

pub use applied::Applied;
pub use drift::{Fingerprint, Realized};
pub use error::{DriverError, DriverErrorKind};
pub use factory::{DriverContext, DriverFactory, parse_section};
pub use graph::LoadBalancerGraph;
pub use placement::Placements;
pub use providers::Providers;

/// What a backend can realize. The API refuses anything outside it before storing a thing.
#[derive(Debug, Clone, PartialEq)]
pub struct Capabilities {
    /// Listener protocols it serves.
    pub listener_protocols: Vec<ListenerProtocol>,
    /// Pool protocols it speaks to members.
    pub pool_protocols: Vec<PoolProtocol>,
    /// Balancing algorithms.
    pub lb_algorithms: Vec<LbAlgorithm>,
    /// Health monitor types.
    pub health_monitor_types: Vec<HealthMonitorType>,
    /// Listener protocols on which L7 policies work.
    pub l7_listener_protocols: Vec<ListenerProtocol>,
}

impl Capabilities {
    /// Everything Octavia's API can express.
    pub fn everything() -> Self {
        Capabilities {
            listener_protocols: ListenerProtocol::ALL.to_vec(),
            pool_protocols: PoolProtocol::ALL.to_vec(),
            lb_algorithms: LbAlgorithm::ALL.to_vec(),
            health_monitor_types: HealthMonitorType::ALL.to_vec(),
            l7_listener_protocols: ListenerProtocol::ALL.to_vec(),
        }
    }
}

/// What the data plane says about a load balancer tree right now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    /// Operating status per object id (load balancer, listeners, pools, members, monitors, L7).
    pub operating_status: HashMap<String, OperatingStatus>,
    /// Counters per listener id.
    pub listener_stats: HashMap<String, Stats>,
    /// What the driver noticed while observing that management should know (a process it had
    /// to restart, a device it saw); recorded durably with the observation.
    pub events: Vec<Event>,
}

impl Observation {
    /// Set the operating status of the objects a data plane reports nothing finer about (health
    /// monitors, L7 policies and L7 rules) as Octavia's controller sets it: ONLINE when enabled,
    /// OFFLINE when disabled.
    pub fn set_configured_statuses(&mut self, graph: &LoadBalancerGraph) {
        let by_admin_state = |up: bool| {
            if up {
                OperatingStatus::Online
            } else {
                OperatingStatus::Offline
            }
        };
        let configured = graph
            .health_monitors
            .iter()
            .map(|h| (&h.id, h.admin_state_up))
            .chain(graph.l7policies.iter().map(|p| (&p.id, p.admin_state_up)))
            .chain(graph.l7rules.iter().map(|r| (&r.id, r.admin_state_up)));
        for (id, up) in configured {
            self.operating_status.insert(id.clone(), by_admin_state(up));
        }
    }
}

/// A backend that realizes load balancers.
#[async_trait]
pub trait Driver: Send + Sync {
    /// The provider name clients select it by (`provider` of a load balancer).
    fn name(&self) -> &str;

    /// A one-line description for the providers list.
    fn description(&self) -> &str;

    /// What it can realize.
    fn capabilities(&self) -> Capabilities;

    /// Whether [`Driver::observe`] reads a live data plane, so that statuses are worth polling
    /// between changes. A driver that realizes nothing says no.
    fn observes_data_plane(&self) -> bool {
        false
    }

    /// Whether what it realizes lives on the host of the process that applied it (HAProxy), so
    /// that each replica's backend holds something else, rather than on a backend all replicas
    /// share (NSX-T, BIG-IP; the default). The full sync and the observer ask a shared backend
    /// once per cluster, from the replica performing them, and a local one on every replica.
    fn realizes_on_this_host(&self) -> bool {
        false
    }

    /// Whether it serves a load balancer on each of its
    /// [`additional_vips`](crate::model::LoadBalancer::additional_vips) as on its VIP. The API
    /// refuses a load balancer with additional VIPs (Octavia's 501) for a provider that says no,
    /// the default.
    fn realizes_additional_vips(&self) -> bool {
        false
    }

    /// Whether [`Driver::validate`] looks at trees. The API reads the tree a write would leave
    /// only for drivers that say yes; the default says no.
    fn validates_trees(&self) -> bool {
        false
    }

    /// Check the whole tree a write would hand to [`Driver::apply`], before the write is stored,
    /// so that what the backend cannot realize is refused in the request (Octavia's provider
    /// validation) instead of failing later. An [`DriverErrorKind::Unsupported`] error is
    /// Octavia's 501 "Provider ... does not support a requested option", any other kind a 400;
    /// the message is shown to the client. Called only when [`Driver::validates_trees`] says
    /// so; by default every tree is accepted.
    fn validate(&self, graph: &LoadBalancerGraph) -> Result<(), DriverError> {
        let _ = graph;
        Ok(())
    }

    /// What [`Driver::apply`] would send the backend for `graph`, as text for an operator to read
    /// (`fulcrum render`): HAProxy's configuration file, NSX-T's hierarchical body, an AS3
    /// declaration. Nothing is sent. `None` for a driver with nothing to show.
    fn render(&self, graph: &LoadBalancerGraph) -> Option<Result<String, DriverError>> {
        let _ = graph;
        None
    }

    /// Whether it chooses where each new load balancer goes ([`Driver::place`]). The API
    /// counts the placements (one query) only for drivers that say yes; the default says no.
    fn places_load_balancers(&self) -> bool {
        false
    }

    /// Where a new load balancer goes, given how many each placement holds now: decided once,
    /// when it is created, stored with it
    /// ([`LoadBalancer::placement`](crate::model::LoadBalancer::placement)) and handed back in
    /// every tree. It must not call the backend (the API never does in a request). An error
    /// (no device may take it) refuses the create, and nothing is stored. Called only when
    /// [`Driver::places_load_balancers`] says so; by default nowhere in particular.
    async fn place(&self, placed: &Placements) -> Result<Option<String>, DriverError> {
        let _ = placed;
        Ok(None)
    }

    /// Make the backend hold exactly this load balancer. Idempotent.
    async fn apply(&self, graph: &LoadBalancerGraph) -> Result<(), DriverError>;

    /// [`Driver::apply`], saying which objects of the tree the backend refused while it realized
    /// the rest (a member or a certificate a device will not configure), so that the reconciler
    /// settles those objects alone in ERROR. The reconciler calls this; by default it is `apply`
    /// and nothing is refused.
    async fn apply_reporting(&self, graph: &LoadBalancerGraph) -> Result<Applied, DriverError> {
        self.apply(graph).await?;
        Ok(Applied::default())
    }

    /// Remove the load balancer and everything the driver created for it. Idempotent: removing
    /// something that is not there succeeds.
    async fn remove(&self, load_balancer_id: &str) -> Result<(), DriverError>;

    /// Read operating status and counters of a realized load balancer.
    async fn observe(&self, graph: &LoadBalancerGraph) -> Result<Observation, DriverError>;

    /// Ids of every load balancer the backend holds that this driver created, so that a full sync
    /// can remove orphans.
    async fn realized_load_balancers(&self) -> Result<Vec<String>, DriverError>;

    /// Every load balancer of [`Driver::realized_load_balancers`], each with fingerprints of what
    /// the backend realizes now and of what this driver last applied, so that a full sync
    /// re-applies only those that differ. By default no fingerprint is known, and a full sync
    /// re-applies every load balancer the driver holds.
    async fn realized_fingerprints(&self) -> Result<Vec<Realized>, DriverError> {
        let ids = self.realized_load_balancers().await?;
        Ok(ids.into_iter().map(Realized::unknown).collect())
    }

    /// Connect to the backend and say what it is, one line per fact an operator checks before
    /// serving (versions, which device of a pair is active). `fulcrum check-config` calls it
    /// after the offline checks; start-up does not, so that serving never waits for a backend.
    /// An error says what could not be reached. By default there is nothing to connect to.
    async fn probe(&self) -> Result<Vec<String>, DriverError> {
        Ok(Vec::new())
    }

    /// The flavor metadata keys it understands, as (name, description) pairs (Octavia's
    /// `get_supported_flavor_metadata`). None by default.
    fn flavor_capabilities(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Check the metadata of a flavor profile (Octavia's `validate_flavor`); the error text is
    /// shown to the client. What it accepts reaches [`Driver::apply`] as
    /// [`LoadBalancerGraph::flavor_metadata`]. By default only `{}` is accepted.
    fn validate_flavor(&self, metadata: &serde_json::Value) -> Result<(), DriverError> {
        accept_keys("flavor", metadata, &[])
    }

    /// The availability zone metadata keys it understands, as (name, description) pairs
    /// (Octavia's `get_supported_availability_zone_metadata`). None by default.
    fn availability_zone_capabilities(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Check the metadata of an availability zone profile (Octavia's
    /// `validate_availability_zone`). What it accepts reaches [`Driver::apply`] as
    /// [`LoadBalancerGraph::availability_zone_metadata`]. By default only `{}` is accepted.
    fn validate_availability_zone(&self, metadata: &serde_json::Value) -> Result<(), DriverError> {
        accept_keys("availability zone", metadata, &[])
    }
}

/// Accept a metadata object whose keys are all among `known`; `what` names the metadata in the
/// error ("flavor", "availability zone").
pub fn accept_keys(
    what: &str,
    metadata: &serde_json::Value,
    known: &[&str],
) -> Result<(), DriverError> {
    let serde_json::Value::Object(map) = metadata else {
        return Err(DriverError::invalid_configuration(format!(
            "The {what} metadata must be a JSON object."
        )));
    };
    let unknown: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| !known.contains(k))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(DriverError::invalid_configuration(format!(
            "Unsupported {what} metadata key(s): {}",
            unknown.join(", ")
        )))
    }
}
