//! F5 driver benchmark against the BIG-IP simulator (validating every declaration against F5's
//! AS3 schema when `../shared/vendor/as3-schema.json` is there; the simulator applies a
//! declaration at once, so the figures are Fulcrum's and the simulator's own cost):
//! - adding the 56th listener to a load balancer whose tenant holds 55 (each with a pool, a
//!   member and a monitor): time of the apply and size of the declaration sent;
//! - 1,000 load balancers across 100 projects, applied 32 at a time: total time, declarations
//!   sent, and 503s met.
//!
//! Each figure is the range of three runs, each on a fresh simulator. Run with
//! `cargo bench -p fulcrum-drivers --bench f5`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fulcrum_core::driver::fixtures::{
    graph, health_monitor, listener, load_balancer, member, pool,
};
use fulcrum_core::driver::{Driver, DriverContext, LoadBalancerGraph};
use fulcrum_core::model::{HealthMonitorType, LbAlgorithm, ListenerProtocol, PoolProtocol};
use fulcrum_core::secrets::NoopCertificates;
use fulcrum_drivers::f5::{AuthMode, F5Config, F5Driver, as3};
use fulcrum_drivers::kit::RetryPolicy;
use simulators::f5::{self as sim, Config, Running};

async fn simulator() -> Running {
    let schema = sim::schema::default_path();
    sim::start(Config {
        schema: schema.exists().then_some(schema),
        apply_delay: Duration::ZERO,
        ..Config::default()
    })
    .await
    .expect("the simulator starts")
}

fn driver(running: &Running) -> F5Driver {
    let config = F5Config {
        devices: vec![running.base_url().to_owned()],
        username: "admin".into(),
        password: "admin".into(),
        auth: AuthMode::Token,
        task_poll_ms: 5,
        ..F5Config::default()
    };
    let context = DriverContext {
        certificates: Arc::new(NoopCertificates),
        availability: Arc::new(fulcrum_core::devices::EveryDevice),
    };
    F5Driver::new(config, context)
        .expect("the driver builds")
        .with_retry(RetryPolicy {
            base: Duration::from_millis(20),
            cap: Duration::from_millis(200),
            max_attempts: Some(50),
            max_elapsed: Some(Duration::from_secs(60)),
        })
}

/// Load balancer `id` of `project` with `listeners` TCP listeners, each with its own pool, one
/// member and a TCP monitor.
fn tree(id: &str, project: &str, listeners: usize) -> LoadBalancerGraph {
    let mut lb = load_balancer(id);
    lb.project_id = Some(project.into());
    lb.vip_address = "10.0.0.10".into();
    let mut g = graph(lb);
    for i in 0..listeners {
        let (l, p) = (format!("{id}-l{i}"), format!("{id}-p{i}"));
        let mut listener = listener(&l, id, ListenerProtocol::Tcp, 1000 + i as i64);
        listener.default_pool_id = Some(p.clone());
        g.listeners.push(listener);
        g.pools
            .push(pool(&p, id, PoolProtocol::Tcp, LbAlgorithm::RoundRobin));
        g.members.push(member(
            &format!("{id}-m{i}"),
            id,
            &p,
            "192.0.2.10",
            8000 + i as i64,
        ));
        g.health_monitors.push(health_monitor(
            &format!("{id}-hm{i}"),
            id,
            &p,
            HealthMonitorType::Tcp,
        ));
    }
    g
}

fn range(values: &[f64], unit: &str) -> String {
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{low:.1}–{high:.1} {unit}").trim_end().to_owned()
}

async fn fifty_sixth_listener() -> (f64, f64) {
    let running = simulator().await;
    let driver = driver(&running);
    driver.apply(&tree("lb-big", "p1", 55)).await.unwrap();
    let started = Instant::now();
    driver.apply(&tree("lb-big", "p1", 56)).await.unwrap();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let tenant = "fulcrum-project-p1";
    let held = running.control().tenants(0)[tenant].clone();
    let bytes = serde_json::to_vec(&as3::request(tenant, held))
        .unwrap()
        .len();
    running.stop().await;
    (ms, bytes as f64 / 1024.0)
}

async fn thousand_load_balancers() -> (f64, u64, u64) {
    let running = simulator().await;
    let driver = Arc::new(driver(&running));
    let gate = Arc::new(tokio::sync::Semaphore::new(32));
    let started = Instant::now();
    let mut applies = Vec::new();
    for i in 0..1000 {
        let (driver, gate) = (driver.clone(), gate.clone());
        let g = tree(&format!("lb-{i}"), &format!("project-{}", i % 100), 1);
        applies.push(tokio::spawn(async move {
            let _slot = gate.acquire().await.unwrap();
            driver.apply(&g).await
        }));
    }
    for apply in applies {
        apply.await.unwrap().unwrap();
    }
    let seconds = started.elapsed().as_secs_f64();
    let calls = running.control().calls();
    let declarations = calls.declaration_writes(0);
    let busy = calls
        .recent
        .iter()
        .filter(|c| c.is_declaration_write() && c.status == 503)
        .count() as u64;
    let held: usize = running
        .control()
        .tenants(0)
        .values()
        .map(|t| t.as_object().map_or(0, |o| o.len() - 1))
        .sum();
    assert_eq!(held, 1000, "every load balancer is on the device");
    running.stop().await;
    (seconds, declarations, busy)
}

#[tokio::main]
async fn main() {
    if !sim::schema::default_path().exists() {
        println!("(the AS3 schema is absent: declarations are not validated)");
    }
    let (mut ms, mut kb) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let (m, k) = fifty_sixth_listener().await;
        ms.push(m);
        kb.push(k);
    }
    println!(
        "56th listener of a tenant: {} per apply, declaration {}",
        range(&ms, "ms"),
        range(&kb, "KiB")
    );
    let (mut seconds, mut declarations, mut busy) = (Vec::new(), Vec::new(), Vec::new());
    // Counts are whole numbers; the range prints them with one decimal like the rest.
    for _ in 0..3 {
        let (s, d, b) = thousand_load_balancers().await;
        seconds.push(s);
        declarations.push(d as f64);
        busy.push(b as f64);
    }
    println!(
        "1,000 load balancers across 100 projects (32 at a time): {} in all, {} declarations, {} answered 503",
        range(&seconds, "s"),
        range(&declarations, ""),
        range(&busy, "")
    );
}
