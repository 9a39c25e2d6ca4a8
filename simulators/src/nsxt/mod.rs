//! A simulator of the NSX-T Policy API, as far as a load-balancer driver uses it, and of the
//! manager's management-plane API as day-2 operations use it ([`manager`]: node, cluster status,
//! licenses, backup and restore, upgrades).
//!
//! It stores Policy objects by path and answers the calls an NSX driver makes: the hierarchical
//! `PATCH /policy/api/v1/infra`, single-object GET/PATCH/PUT/DELETE, paged lists, search (of
//! intent objects, and of realized entities: `resource_type:GenericPolicyRealizedResource AND
//! intent_paths:(... OR ...)` answers for several intent paths at once, as NSX's search indexes
//! them), realization state, a load-balancer service's detailed status and statistics, sessions
//! and the manager's version. It behaves as NSX does where a driver must cope: `_revision` is
//! enforced (412), a process-wide rate limit answers 429, references are checked, bodies are
//! validated against the vendor's definitions, and realization takes time.
//!
//! With [`Config::tls`] it answers over HTTPS, where a client certificate signed by the
//! configured CA makes its holder a principal identity whose objects are protected (see
//! [`tls`] and [`store`]).
//!
//! Tests start it in-process with [`start`] on `127.0.0.1:0` and steer it through the
//! [`Control`] handle or its HTTP twin under `/sim/` (see [`control`]): count calls, inject
//! 5xx answers and held calls, make objects fail to realize, change or delete objects behind
//! the driver's back.

pub mod auth;
pub mod calls;
pub mod control;
pub mod error;
mod hapi;
pub mod kinds;
mod list;
pub mod manager;
pub mod rate_limit;
pub mod realization;
pub mod revision;
mod routes;
pub mod schema;
mod status;
pub mod store;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use crate::faults::FaultPlan;
pub use auth::Credentials;
pub use calls::{Call, CallLog, PathCalls};
pub use control::Control;
pub use error::NsxError;
pub use schema::{Schema, SchemaError};
pub use tls::Tls;

use crate::faults::Faults;
use auth::Authenticator;
use rate_limit::TokenBucket;
use realization::Realization;
use status::MemberOverrides;
use store::Store;

/// How a simulated NSX Manager is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Requests per second across all clients before 429 (0: unlimited).
    pub rate_per_second: f64,
    /// How long after a change an object reads as realized.
    pub realization_delay: Duration,
    /// The vendor definitions to validate bodies against; `None` validates nothing.
    pub schema: Option<PathBuf>,
    /// The user name and password accepted (basic auth and sessions).
    pub credentials: Credentials,
    /// A user with NSX's auditor role, if any: its reads are served, its writes refused (403).
    pub auditor: Option<Credentials>,
    /// How long a session lives.
    pub session_lifetime: Duration,
    /// The ids of the Tier-1 gateways that exist from the start.
    pub tier1s: Vec<String>,
    /// The version `GET /api/v1/node/version` and `GET /api/v1/node` report (until an upgrade).
    pub version: String,
    /// How long each asynchronous step of an upgrade takes (a bundle's fetch, the plan's run).
    pub upgrade_step: Duration,
    /// The display names of the Edge transport nodes the manager holds.
    pub edges: Vec<String>,
    /// Answer over HTTPS with this material, client certificates making principal identities;
    /// `None`: plain HTTP.
    pub tls: Option<Tls>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            rate_per_second: 100.0,
            realization_delay: Duration::from_millis(500),
            schema: None,
            credentials: Credentials {
                username: "admin".into(),
                password: "admin".into(),
            },
            auditor: None,
            session_lifetime: Duration::from_secs(1800),
            tier1s: vec!["fulcrum-t1".into()],
            version: "3.1.0.0.0.17107167".into(),
            upgrade_step: Duration::from_millis(300),
            edges: vec!["fulcrum-edge-1".into()],
            tls: None,
        }
    }
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The vendor definitions could not be loaded.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// A Tier-1 of the configuration could not be made.
    #[error("cannot make the Tier-1 {id:?}: {reason}")]
    Tier1 {
        /// Its id.
        id: String,
        /// Why.
        reason: String,
    },
    /// The HTTPS material cannot be used.
    #[error("cannot serve HTTPS: {0}")]
    Tls(String),
    /// The address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Everything the handlers share. Locks are held briefly and never across an await.
struct Shared {
    store: Mutex<Store>,
    schema: Option<Schema>,
    auth: Mutex<Authenticator>,
    bucket: Mutex<TokenBucket>,
    faults: Mutex<Faults>,
    calls: Mutex<CallLog>,
    realization: Mutex<Realization>,
    members: Mutex<MemberOverrides>,
    principals: tls::Principals,
    manager: Mutex<manager::Manager>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    fn new(config: &Config) -> Result<Self, StartError> {
        let schema = config.schema.as_deref().map(Schema::load).transpose()?;
        let mut store = Store::default();
        let tier1 = kinds::by_collection("tier-1s").expect("a known kind");
        let mut tx = store.begin(None, "system");
        for id in &config.tier1s {
            if id.is_empty() || id.contains('/') {
                return Err(StartError::Tier1 {
                    id: id.clone(),
                    reason: "an id is not empty and has no '/'".into(),
                });
            }
            let body: Map<String, Value> = json!({ "resource_type": "Tier1" })
                .as_object()
                .cloned()
                .unwrap_or_default();
            tx.write(
                tier1,
                id,
                &body,
                revision::WriteMode::Patch,
                store::RevisionCheck::Skip,
            )
            .map_err(|e| StartError::Tier1 {
                id: id.clone(),
                reason: e.message,
            })?;
        }
        let changes = tx.commit().expect("Tier-1s reference nothing");
        store.apply(changes);
        Ok(Self {
            store: Mutex::new(store),
            schema,
            auth: Mutex::new(Authenticator::new(
                config.credentials.clone(),
                config.auditor.clone(),
                config.session_lifetime,
            )),
            bucket: Mutex::new(TokenBucket::new(config.rate_per_second)),
            faults: Mutex::new(Faults::default()),
            calls: Mutex::new(CallLog::default()),
            realization: Mutex::new(Realization::new(config.realization_delay)),
            members: Mutex::new(MemberOverrides::new()),
            principals: tls::Principals::default(),
            manager: Mutex::new(manager::Manager::new(
                &config.version,
                config.upgrade_step,
                &config.edges,
            )),
        })
    }
}

/// A running simulator; dropping it stops the server.
#[derive(Debug)]
pub struct Running {
    base_url: String,
    control: Control,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
    /// Tells the HTTPS front, if any, to stop.
    front_stop: Arc<AtomicBool>,
}

impl Running {
    /// The manager's URL (`http://127.0.0.1:PORT`), without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The handle that counts calls, injects faults and changes objects behind a driver's back.
    pub fn control(&self) -> &Control {
        &self.control
    }

    /// Stop serving and wait for the server to end.
    pub async fn stop(mut self) {
        self.front_stop.store(true, Ordering::Relaxed);
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.server.abort();
        let _ = (&mut self.server).await;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.front_stop.store(true, Ordering::Relaxed);
        self.server.abort();
    }
}

/// Start a simulated NSX Manager.
pub async fn start(config: Config) -> Result<Running, StartError> {
    let shared = Arc::new(Shared::new(&config)?);
    let listen_error = |address| move |source| StartError::Listen { address, source };
    let front_stop = Arc::new(AtomicBool::new(false));
    let (listener, base_url) = match &config.tls {
        None => {
            let listener = TcpListener::bind(config.listen)
                .await
                .map_err(listen_error(config.listen))?;
            let address = listener.local_addr().map_err(listen_error(config.listen))?;
            (listener, format!("http://{address}"))
        }
        Some(material) => {
            let acceptor = tls::acceptor(material).map_err(|e| StartError::Tls(e.to_string()))?;
            let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
            let api = TcpListener::bind(loopback)
                .await
                .map_err(listen_error(loopback))?;
            let api_address = api.local_addr().map_err(listen_error(loopback))?;
            let front =
                std::net::TcpListener::bind(config.listen).map_err(listen_error(config.listen))?;
            let address = front.local_addr().map_err(listen_error(config.listen))?;
            tls::serve(
                front,
                api_address,
                acceptor,
                shared.principals.clone(),
                front_stop.clone(),
            )
            .map_err(listen_error(address))?;
            (api, format!("https://{address}"))
        }
    };
    let app = routes::router(shared.clone()).merge(control::router(shared.clone()));
    let (shutdown, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .await;
    });
    Ok(Running {
        base_url,
        control: Control::new(shared),
        shutdown: Some(shutdown),
        server,
        front_stop,
    })
}
