//! A simulator of an F5 BIG-IP, or an HA pair of them, as far as an AS3 driver and the
//! management module use it.
//!
//! It answers AS3 (`/mgmt/shared/appsvcs/info`, `declare`, `task`) and the iControl REST calls
//! of day-2 work: version, devices and failover state, forcing a failover, virtual server and
//! pool statistics, software images, hotfixes and volumes, UCS archives and the license. It
//! behaves as a BIG-IP does where a driver must cope: declarations are validated against F5's
//! published AS3 schema and their references checked (422), a device applies one declaration
//! at a time (503 "configuration operation in progress"), `?async=true` answers 202 with a
//! task to poll, tokens expire (401), and the standby device of a pair refuses declarations.
//!
//! An HA pair is two listeners, one per device, as a driver configured with two management
//! addresses sees it; a declaration applied on the active device is config-synced to the
//! standby. Tests start it in-process with [`start`] and steer it through the [`Control`]
//! handle or its HTTP twin under `/sim/` (see [`control`]).

pub mod as3;
pub mod auth;
pub mod bad_objects;
pub mod calls;
pub mod clock;
pub mod control;
pub mod declaration;
pub mod device;
pub mod error;
mod icontrol;
mod routes;
pub mod schema;
pub mod software;
mod stats;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use crate::faults::FaultPlan;
pub use auth::Credentials;
pub use bad_objects::BadObjects;
pub use calls::{Call, CallLog};
pub use control::Control;
pub use device::Role;
pub use error::F5Error;
pub use schema::{As3Schema, SchemaError, ValidationTimes};

use crate::faults::Faults;
use as3::Task;
use auth::Authenticator;
use clock::Clock;
use device::Cluster;

/// How the simulated devices are set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where each device listens: one address for a single device, two for an HA pair (the
    /// first starts active). Port 0 picks a free one.
    pub listen: Vec<SocketAddr>,
    /// Each device's host name, by device index; empty: `bigip1.fulcrum.test`,
    /// `bigip2.fulcrum.test`. Simulators started side by side (several pairs) name theirs apart.
    pub hostnames: Vec<String>,
    /// F5's AS3 schema to validate declarations against; `None` validates nothing.
    pub schema: Option<PathBuf>,
    /// The user name and password accepted (basic auth and token login).
    pub credentials: Credentials,
    /// How long a token lives unless extended.
    pub token_lifetime: Duration,
    /// How long applying a declaration takes (the window in which another one gets 503).
    pub apply_delay: Duration,
    /// How long installing software to a volume takes.
    pub install_delay: Duration,
    /// How long a reboot takes (the device answers 503 meanwhile).
    pub reboot_delay: Duration,
    /// The BIG-IP version the devices run.
    pub version: String,
    /// Its build.
    pub build: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
            hostnames: Vec::new(),
            schema: None,
            credentials: Credentials {
                username: "admin".into(),
                password: "admin".into(),
            },
            token_lifetime: Duration::from_secs(1200),
            apply_delay: Duration::from_millis(200),
            install_delay: Duration::from_secs(60),
            reboot_delay: Duration::from_secs(120),
            version: "17.1.1".into(),
            build: "0.0.4".into(),
        }
    }
}

impl Config {
    /// Two devices on free ports of 127.0.0.1, the first active.
    pub fn ha_pair() -> Self {
        Self {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 0)); 2],
            ..Self::default()
        }
    }
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The AS3 schema could not be loaded.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// Not one or two devices.
    #[error("a simulator runs one device or an HA pair of two, not {0}")]
    DeviceCount(usize),
    /// Host names given, but not one per device.
    #[error("give one host name per device ({devices}), not {hostnames}")]
    HostnameCount {
        /// How many devices.
        devices: usize,
        /// How many host names.
        hostnames: usize,
    },
    /// An address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Timings the control API can change while the simulator runs.
#[derive(Debug, Clone, Copy)]
struct Timings {
    apply_delay: Duration,
    install_delay: Duration,
    reboot_delay: Duration,
}

/// Everything the handlers share. Locks are held briefly and never across an await.
struct Shared {
    cluster: Mutex<Cluster>,
    schema: Option<Arc<As3Schema>>,
    validation: Mutex<ValidationTimes>,
    auth: Mutex<Authenticator>,
    faults: Mutex<Faults>,
    bad_objects: Mutex<BadObjects>,
    calls: Mutex<CallLog>,
    tasks: Mutex<HashMap<String, Task>>,
    timings: Mutex<Timings>,
    clock: Mutex<Clock>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    fn now(&self) -> std::time::Instant {
        lock(&self.clock).now()
    }
}

/// One device's view of the shared state: what its routes are handed.
#[derive(Clone)]
struct Endpoint {
    shared: Arc<Shared>,
    device: usize,
}

/// One device's server.
#[derive(Debug)]
struct Server {
    base_url: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

/// A running simulator; dropping it stops its servers.
#[derive(Debug)]
pub struct Running {
    servers: Vec<Server>,
    control: Control,
}

impl Running {
    /// The first device's URL (`http://127.0.0.1:PORT`), without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.servers[0].base_url
    }

    /// Every device's URL, by device index.
    pub fn base_urls(&self) -> Vec<&str> {
        self.servers.iter().map(|s| s.base_url.as_str()).collect()
    }

    /// The handle that counts calls, injects faults and forces failovers.
    pub fn control(&self) -> &Control {
        &self.control
    }

    /// Stop serving and wait for the servers to end.
    pub async fn stop(mut self) {
        for server in &mut self.servers {
            if let Some(shutdown) = server.shutdown.take() {
                let _ = shutdown.send(());
            }
            server.task.abort();
            let _ = (&mut server.task).await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        for server in &self.servers {
            server.task.abort();
        }
    }
}

/// Start the simulated devices.
pub async fn start(config: Config) -> Result<Running, StartError> {
    let count = config.listen.len();
    if !(1..=2).contains(&count) {
        return Err(StartError::DeviceCount(count));
    }
    if !config.hostnames.is_empty() && config.hostnames.len() != count {
        return Err(StartError::HostnameCount {
            devices: count,
            hostnames: config.hostnames.len(),
        });
    }
    let schema = config.schema.as_deref().map(As3Schema::load).transpose()?;
    let clock = Clock::default();
    let validation = ValidationTimes {
        compile_ms: schema
            .as_ref()
            .map_or(0.0, |s| s.compile_time.as_secs_f64() * 1000.0),
        ..ValidationTimes::default()
    };
    let mut cluster = Cluster::new(count, &config.version, &config.build, clock.now());
    for (device, hostname) in cluster.devices.iter_mut().zip(&config.hostnames) {
        device.hostname.clone_from(hostname);
    }
    let shared = Arc::new(Shared {
        cluster: Mutex::new(cluster),
        schema,
        validation: Mutex::new(validation),
        auth: Mutex::new(Authenticator::new(
            config.credentials.clone(),
            config.token_lifetime,
        )),
        faults: Mutex::new(Faults::default()),
        bad_objects: Mutex::new(BadObjects::default()),
        calls: Mutex::new(CallLog::default()),
        tasks: Mutex::new(HashMap::new()),
        timings: Mutex::new(Timings {
            apply_delay: config.apply_delay,
            install_delay: config.install_delay,
            reboot_delay: config.reboot_delay,
        }),
        clock: Mutex::new(clock),
    });
    let mut listeners = Vec::with_capacity(count);
    for address in &config.listen {
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| StartError::Listen {
                address: *address,
                source,
            })?;
        let bound = listener.local_addr().map_err(|source| StartError::Listen {
            address: *address,
            source,
        })?;
        listeners.push((listener, bound));
    }
    let mut servers = Vec::with_capacity(count);
    for (device, (listener, bound)) in listeners.into_iter().enumerate() {
        lock(&shared.cluster).devices[device].address = bound.ip().to_string();
        let endpoint = Endpoint {
            shared: shared.clone(),
            device,
        };
        let app = routes::router(endpoint).merge(control::router(shared.clone()));
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        servers.push(Server {
            base_url: format!("http://{bound}"),
            shutdown: Some(shutdown),
            task,
        });
    }
    Ok(Running {
        servers,
        control: Control::new(shared),
    })
}
