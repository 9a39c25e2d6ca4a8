//! Start-up and shutdown: connect and migrate the store, build the drivers (from their factories)
//! and networks, serve the API within the connection limits of `[server]` (and `/metrics` on an
//! address of its own when configured), run the background tasks, and on SIGTERM/SIGINT fail the health checks, stop accepting requests after
//! `shutdown_delay_seconds` and finish in-flight work.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use fulcrum_api::auth::keystone::Keystone;
use fulcrum_api::auth::{Authenticator, NoAuth};
use fulcrum_api::health::Health;
use fulcrum_api::metrics_endpoint::{self, Exposition};
use fulcrum_api::neutron_networks::{NeutronAuth, NeutronNetworks};
use fulcrum_api::policy::Policy;
use fulcrum_api::wire::{Connections, Limits, Listener};
use fulcrum_api::{AppState, MetricsOnApi, Operations, Service, ServiceParts};
use fulcrum_core::devices::{DeviceAvailability, EveryDevice};
use fulcrum_core::driver::{DriverContext, DriverFactory, Providers};
use fulcrum_core::events::EventBus;
use fulcrum_core::network::{BuiltinNetworks, Networks, NoopNetworks};
use fulcrum_core::secrets::{CertificateStore, DirectoryCertificates, NoopCertificates};
use fulcrum_core::tasks::{TaskStatuses, Wake, run_tasks};
use fulcrum_management::Management;
use fulcrum_store::{Store, StoreOptions};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::config::{AuthStrategy, CertificateBackend, Config, NetworkDriver, ReconcilerConfig};
use crate::open_files;
use crate::tasks::{self, TaskContext};
use crate::telemetry;
use crate::telemetry::exposition::Scrape;

/// Connect to the configured database.
pub async fn connect_store(config: &Config) -> anyhow::Result<Store> {
    Store::connect(&StoreOptions {
        url: config.database.url.clone(),
        max_connections: config.database.connections(),
    })
    .await
    .with_context(|| format!("connecting to {}", redact(&config.database.url)))
}

/// The database URL without a password, for logs and errors.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// The factories of the enabled providers, in `enabled` order. Every `[providers.<name>]`
/// section must belong to a known driver, so that a misspelt section is not silently ignored.
fn enabled_factories(
    config: &Config,
    factories: &[Arc<dyn DriverFactory>],
) -> anyhow::Result<Vec<Arc<dyn DriverFactory>>> {
    let known = || {
        factories
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let find = |name: &str| factories.iter().find(|f| f.name() == name);
    if let Some(section) = config.providers.sections.keys().find(|s| find(s).is_none()) {
        bail!(
            "unknown section [providers.{section}] (known drivers: {})",
            known()
        );
    }
    config
        .providers
        .enabled
        .iter()
        .map(|name| {
            find(name).cloned().with_context(|| {
                format!(
                    "unknown provider {name:?} in providers.enabled (known: {})",
                    known()
                )
            })
        })
        .collect()
}

/// What every driver is built with; `availability` says which devices may take new load
/// balancers (management's inventory when it is enabled).
fn driver_context(config: &Config, availability: Arc<dyn DeviceAvailability>) -> DriverContext {
    DriverContext {
        certificates: certificates(config),
        availability,
    }
}

/// Build the enabled drivers from `factories`, placing new load balancers on the devices
/// `availability` allows.
pub fn build_providers(
    config: &Config,
    factories: &[Arc<dyn DriverFactory>],
    availability: Arc<dyn DeviceAvailability>,
) -> anyhow::Result<Providers> {
    let context = driver_context(config, availability);
    let drivers = enabled_factories(config, factories)?
        .into_iter()
        .map(|f| {
            f.build(&context, config.providers.section(f.name()))
                .with_context(|| format!("building the {} provider", f.name()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Providers::new(drivers, &config.providers.default).map_err(anyhow::Error::msg)
}

/// The configured certificate store (`[certificates] backend`).
pub fn certificates(config: &Config) -> Arc<dyn CertificateStore> {
    match config.certificates.backend {
        CertificateBackend::Directory => Arc::new(DirectoryCertificates::new(
            &config.providers.certificates_dir,
        )),
        CertificateBackend::Noop => Arc::new(NoopCertificates),
    }
}

/// The configured network back-end (`[network] driver`), its declarations checked; `neutron`
/// authenticates with `keystone`'s service token when Fulcrum uses Keystone.
pub fn build_networks(
    config: &Config,
    keystone: Option<Arc<Keystone>>,
) -> anyhow::Result<Arc<dyn Networks>> {
    let network = &config.network;
    Ok(match network.driver {
        NetworkDriver::Neutron => {
            let auth = keystone.map_or(NeutronAuth::NoAuth, NeutronAuth::Keystone);
            Arc::new(
                NeutronNetworks::new(network.neutron.clone(), auth).map_err(anyhow::Error::msg)?,
            )
        }
        NetworkDriver::Builtin => Arc::new(
            BuiltinNetworks::new(network.networks.clone(), network.subnets.clone())
                .map_err(anyhow::Error::msg)?,
        ),
        NetworkDriver::Noop => {
            Arc::new(NoopNetworks::new(&network.noop).map_err(anyhow::Error::msg)?)
        }
    })
}

/// Check everything that can be checked without serving: networks, providers (each driver's
/// preflight), quotas, policy, authentication, the bind and metrics addresses.
pub fn check(config: &Config, factories: &[Arc<dyn DriverFactory>]) -> anyhow::Result<()> {
    build_networks(config, build_keystone(config)?)?;
    let context = driver_context(config, Arc::new(EveryDevice));
    for factory in enabled_factories(config, factories)? {
        factory
            .preflight(&context, config.providers.section(factory.name()))
            .with_context(|| format!("checking the {} provider", factory.name()))?;
    }
    build_providers(config, factories, Arc::new(EveryDevice))?;
    config.quotas.validate().map_err(anyhow::Error::msg)?;
    build_policy(config)?;
    build_keystone(config)?;
    config.server.limits().map_err(anyhow::Error::msg)?;
    config
        .server
        .bind
        .parse::<std::net::SocketAddr>()
        .with_context(|| format!("server.bind {:?} is not an address", config.server.bind))?;
    if let Some(listen) = &config.metrics.listen {
        listen.parse::<std::net::SocketAddr>().with_context(|| {
            format!("metrics.listen {listen:?} is not an address (e.g. \"127.0.0.1:9464\")")
        })?;
    }
    Ok(())
}

/// Connect to each enabled provider's backend (after [`check`]) and collect what each says
/// about it, as `provider: line`; `fulcrum check-config` prints them. Serving does not call it.
pub async fn probe(
    config: &Config,
    factories: &[Arc<dyn DriverFactory>],
) -> anyhow::Result<Vec<String>> {
    let providers = build_providers(config, factories, Arc::new(EveryDevice))?;
    let mut lines = Vec::new();
    for driver in providers.all() {
        let said = driver
            .probe()
            .await
            .with_context(|| format!("connecting to the {} provider", driver.name()))?;
        lines.extend(said.into_iter().map(|l| format!("{}: {l}", driver.name())));
    }
    Ok(lines)
}

/// Bind `[metrics] listen` when configured, and print `fulcrum metrics listening on http://ADDR`
/// on stdout (before the API's line, which stays the last one printed).
async fn bind_metrics(config: &Config) -> anyhow::Result<Option<TcpListener>> {
    let Some(listen) = &config.metrics.listen else {
        return Ok(None);
    };
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding metrics.listen {listen}"))?;
    println!(
        "fulcrum metrics listening on http://{}",
        listener.local_addr()?
    );
    Ok(Some(listener))
}

/// The policy: Octavia's defaults with the operator's overrides.
fn build_policy(config: &Config) -> anyhow::Result<Arc<Policy>> {
    let policy = Policy::load(
        config.policy.file.as_deref(),
        config.policy.enforce_new_defaults,
    )?;
    Ok(Arc::new(policy))
}

/// The Keystone client of `[auth] strategy = "keystone"` (`None` with `noauth`): it validates
/// tokens and holds Fulcrum's service token, which the `neutron` network back-end uses too.
fn build_keystone(config: &Config) -> anyhow::Result<Option<Arc<Keystone>>> {
    Ok(match config.auth.strategy {
        AuthStrategy::Noauth => None,
        AuthStrategy::Keystone => {
            let keystone = config
                .auth
                .keystone
                .clone()
                .context("auth.strategy \"keystone\" needs an [auth.keystone] section")?;
            Some(Arc::new(
                Keystone::new(keystone).map_err(anyhow::Error::msg)?,
            ))
        }
    })
}

/// The configured authentication strategy.
fn build_auth(keystone: Option<Arc<Keystone>>) -> Arc<dyn Authenticator> {
    match keystone {
        Some(keystone) => keystone,
        None => Arc::new(NoAuth),
    }
}

/// Serve until `shutdown` resolves. Prints `fulcrum listening on http://ADDR` on stdout once the
/// socket is bound, so that supervisors and tests can find a port chosen with `:0`.
pub async fn serve(
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let factories = fulcrum_drivers::factories();
    check(&config, &factories)?;
    let listener = TcpListener::bind(&config.server.bind)
        .await
        .with_context(|| format!("binding {}", config.server.bind))?;
    let metrics_listener = bind_metrics(&config).await?;
    println!("fulcrum listening on http://{}", listener.local_addr()?);
    run(config, &factories, listener, metrics_listener, shutdown).await
}

/// Serve on a bound `listener` with the drivers of `factories` (the binary passes
/// [`fulcrum_drivers::factories`]; a test may add its own) until `shutdown` resolves, then stop
/// accepting requests and let the background tasks finish their work in flight.
pub async fn serve_on(
    config: Config,
    factories: &[Arc<dyn DriverFactory>],
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    check(&config, factories)?;
    let metrics_listener = bind_metrics(&config).await?;
    run(config, factories, listener, metrics_listener, shutdown).await
}

/// Serve a checked configuration.
async fn run(
    config: Config,
    factories: &[Arc<dyn DriverFactory>],
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let recorder = telemetry::recorder();
    let store = connect_store(&config).await?;
    store.migrate().await.context("applying migrations")?;
    let following = tokio::spawn({
        let store = store.clone();
        async move { store.follow_writes().await }
    });
    let keystone = build_keystone(&config)?;
    let networks = build_networks(&config, keystone.clone())?;
    let events = EventBus::default();
    let management = match config.management.enabled {
        true => Some(
            Management::open(&store, config.management.clone())
                .await
                .context("opening the management module")?,
        ),
        false => None,
    };
    let availability: Arc<dyn DeviceAvailability> = match &management {
        Some(management) => management.device_availability(),
        None => Arc::new(EveryDevice),
    };
    let providers = build_providers(&config, factories, availability)?;
    let work_ready = Arc::new(Notify::new());
    let task_statuses = Arc::new(TaskStatuses::new());
    let service = Service::new(ServiceParts {
        store: store.clone(),
        networks: networks.clone(),
        providers: providers.clone(),
        defaults: config.api.clone(),
        quota_defaults: config.quotas,
        certificates: certificates(&config),
        work_ready: work_ready.clone(),
        events: events.clone(),
    });
    let state = Arc::new(AppState::new(
        service,
        build_auth(keystone),
        build_policy(&config)?,
        task_statuses.clone(),
    ));

    let (stop_tx, stop_rx) = watch::channel(false);
    let events_committed = management
        .as_ref()
        .map(|_| bridge_event_wakeups(&events, stop_rx.clone()));
    let tasks = tokio::spawn(run_tasks(
        tasks::activators(
            TaskContext {
                store: store.clone(),
                providers,
                networks,
                events,
                config: ReconcilerConfig {
                    replica: config.reconciler.replica_name(&config.server.bind),
                    ..config.reconciler.clone()
                },
                events_config: config.events.clone(),
                work_ready: Wake::from_notify(work_ready),
                metrics: recorder.clone(),
                certificates: certificates(&config),
                certificates_config: config.certificates.clone(),
            },
            |duties| match (&management, events_committed) {
                (Some(management), Some(committed)) => management.tasks(duties, committed),
                _ => Vec::new(),
            },
        ),
        task_statuses,
        stop_rx.clone(),
    ));

    let limits = connection_limits(&config)?;
    let exposition: Arc<dyn Exposition> = Arc::new(Scrape::new(
        recorder,
        store.clone(),
        config.reconciler.holder_timeout_ms,
    ));
    let metrics_server = metrics_listener.map(|listener| {
        let routes = metrics_endpoint::routes(exposition.clone(), metrics_endpoint::Access::Public);
        let mut stopped = stop_rx.clone();
        tokio::spawn(async move {
            axum::serve(Listener::new(listener, limits), Connections(routes))
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                })
                .await
        })
    });
    let health = Health::new(store.clone());
    let operations = Operations {
        health: health.clone(),
        metrics: config.metrics.listen.is_none().then(|| MetricsOnApi {
            exposition,
            public: config.metrics.public,
        }),
        management: management
            .as_ref()
            .map(|management| fulcrum_api::ModuleApi {
                routes: management.routes(),
                document: fulcrum_management::document::openapi(),
            }),
    };

    let addr = listener.local_addr()?;
    tracing::info!(
        %addr,
        database = %redact(&config.database.url),
        network = ?config.network.driver,
        certificates = ?config.certificates.backend,
        "serving the Octavia v2 API"
    );
    let app = fulcrum_api::app(state, operations);
    let app = tower::util::MapRequest::new(app, fulcrum_api::rewrite_legacy_prefix);
    let delay = Duration::from_secs(config.server.shutdown_delay_seconds);
    axum::serve(Listener::new(listener, limits), Connections(app))
        .with_graceful_shutdown(drain(shutdown, health, delay))
        .await
        .context("serving HTTP")?;

    tracing::info!("stopping: finishing background work in flight");
    let _ = stop_tx.send(true);
    let grace = Duration::from_secs(config.server.shutdown_grace_seconds);
    if tokio::time::timeout(grace, tasks).await.is_err() {
        tracing::warn!("in-flight work did not finish in time; its leases will expire");
    }
    if let Some(server) = metrics_server {
        match server.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "serving metrics failed"),
            Err(error) => tracing::warn!(%error, "the metrics server did not stop cleanly"),
        }
    }
    following.abort();
    store.close().await;
    Ok(())
}

/// A [`Wake`] signalled whenever this process commits events (until `stop`), for management's
/// reader.
fn bridge_event_wakeups(events: &EventBus, mut stop: watch::Receiver<bool>) -> Wake {
    let wake = Wake::new();
    let mut wakeup = events.subscribe();
    let signal = wake.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = wakeup.committed() => signal.wake(),
                _ = stop.wait_for(|stop| *stop) => break,
            }
        }
    });
    wake
}

/// The configured connection limits, with no more connections than fit under the open-file
/// limit (raised first).
fn connection_limits(config: &Config) -> anyhow::Result<Limits> {
    let limits = config.server.limits().map_err(anyhow::Error::msg)?;
    let max_connections =
        open_files::connections_within(limits.max_connections, open_files::raise_soft_limit());
    tracing::info!(
        max_connections,
        header_read_timeout = ?limits.timeouts.header_read,
        idle_timeout = ?limits.timeouts.idle,
        body_read_timeout = ?limits.timeouts.body_read,
        "connection limits"
    );
    Ok(Limits {
        max_connections,
        ..limits
    })
}

/// Resolves `delay` after `shutdown` does; meanwhile the health checks already fail, so that
/// load balancers and orchestrators stop sending requests before the listener closes.
async fn drain(shutdown: impl std::future::Future<Output = ()>, health: Health, delay: Duration) {
    shutdown.await;
    health.begin_shutdown();
    if !delay.is_zero() {
        tracing::info!(
            seconds = delay.as_secs(),
            "shutting down: the health checks fail; the listener closes after the delay"
        );
        tokio::time::sleep(delay).await;
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received");
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact("postgres://fulcrum:secret@db:5432/fulcrum"),
            "postgres://fulcrum:***@db:5432/fulcrum"
        );
        assert_eq!(super::redact("sqlite://fulcrum.db"), "sqlite://fulcrum.db");
    }
}
