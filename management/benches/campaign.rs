//! Campaign benchmark: a hotfix campaign over 1,000 simulated BIG-IP devices (500 HA pairs, in
//! this process, over HTTP on 127.0.0.1; install and reboot take 200 ms each) with
//! `max_parallel` 50, one canary, a backup before each change and every gate on, on a fresh
//! SQLite file, driven as the campaigns task drives it (an activation every 50 ms). Prints, for
//! each of three runs: the total time, the calls the devices answered (and per device), and the
//! process's resident memory before the devices are registered, when the campaign starts, and
//! at its peak during the campaign (the simulators live in the same process, so these bound the
//! management module's share from above).
//!
//! The baseline, run first in the same process: one pair under the same policy. The ratio
//! printed is the campaign's time against the time the policy allows: one wave for the canary,
//! then `ceil((devices - 1) / 50)` waves (at least two: the standbys, then the actives), each as
//! long as one device took in the baseline.
//!
//! Run with `cargo bench -p fulcrum-management --bench campaign`. `FULCRUM_BENCH_CAMPAIGN_PAIRS`
//! changes the number of pairs (500), `FULCRUM_BENCH_CAMPAIGN_RUNS` the number of runs (3).

use std::time::{Duration, Instant};

use fulcrum_management::campaigns::model::{CampaignRequest, Policy, Selector, Target, TargetKind};
use fulcrum_management::devices::model::{Connection, DeviceKind, DeviceSource, Registration};
use fulcrum_management::{Management, ManagementConfig};
use fulcrum_store::{Store, StoreOptions};
use simulators::f5 as sim;

const HOTFIX: &str = "Hotfix-BIGIP-17.1.1.1-0.0.2-ENG.iso";
const MAX_PARALLEL: usize = 50;

fn count(variable: &str, default: usize) -> usize {
    std::env::var(variable)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The resident memory of this process, in MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

struct Outcome {
    seconds: f64,
    calls: u64,
    devices: usize,
    rss_before: f64,
    rss_start: f64,
    rss_peak: f64,
}

async fn run(pairs: usize) -> Outcome {
    let rss_before = rss_mib();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&StoreOptions {
        url: format!("sqlite://{}", dir.path().join("fulcrum.db").display()),
        max_connections: 8,
    })
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let mut config = ManagementConfig::default();
    config.backups.directory = dir.path().join("backups").display().to_string();
    config.campaigns.policies = vec![Policy {
        name: "bench".into(),
        max_parallel: MAX_PARALLEL,
        canary: 1,
        ..Policy::default()
    }];
    let management = Management::open(&store, config).await.unwrap();

    let mut simulated = Vec::with_capacity(pairs);
    for _ in 0..pairs {
        simulated.push(
            sim::start(sim::Config {
                install_delay: Duration::from_millis(200),
                reboot_delay: Duration::from_millis(200),
                ..sim::Config::ha_pair()
            })
            .await
            .unwrap(),
        );
    }
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    for (n, pair) in simulated.iter().enumerate() {
        for (i, url) in pair.base_urls().into_iter().enumerate() {
            let registration = Registration {
                name: format!("p{n:03}-{i}"),
                kind: DeviceKind::Bigip,
                provider: Some("f5".into()),
                ha_peer: Some(format!("p{n:03}-{}", 1 - i)),
                connection: Connection {
                    addresses: vec![url.to_owned()],
                    username: Some("admin".into()),
                    password: Some("admin".into()),
                    ca_bundle: None,
                    verify_tls: true,
                    config_dir: None,
                    haproxy_binary: None,
                },
            };
            let device = management
                .devices
                .insert(&registration, DeviceSource::Api)
                .await
                .unwrap();
            http.post(format!("{url}/mgmt/shared/file-transfer/uploads/{HOTFIX}"))
                .basic_auth("admin", Some("admin"))
                .body(vec![0u8; 64])
                .send()
                .await
                .unwrap();
            ids.push(device);
        }
    }
    for device in &ids {
        fulcrum_management::devices::facts_task::refresh(&management.devices, device, 3)
            .await
            .unwrap();
    }
    for pair in &simulated {
        pair.control().reset_calls();
    }

    let rss_start = rss_mib();
    let started = Instant::now();
    let created = management
        .campaigns
        .create(
            CampaignRequest {
                name: "bench".into(),
                target: Target {
                    kind: TargetKind::Hotfix,
                    name: HOTFIX.into(),
                    version: "17.1.1.1".into(),
                },
                devices: Selector::default(),
                policy: Some("bench".into()),
                max_parallel: None,
                canary: None,
                backup: None,
            },
            &fulcrum_core::Caller::default(),
        )
        .await
        .unwrap();
    let id = created.campaign.id.clone();
    let mut rss_peak = rss_start;
    loop {
        management.campaign_executor.drive_all().await.unwrap();
        rss_peak = rss_peak.max(rss_mib());
        let view = management.campaigns.show(&id).await.unwrap();
        match view.campaign.state.as_str() {
            "running" => tokio::time::sleep(Duration::from_millis(50)).await,
            "completed" => break,
            other => panic!("the campaign ended {other}: {:?}", view.campaign.reason),
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let calls = simulated
        .iter()
        .map(|p| p.control().calls().total)
        .sum::<u64>();
    for pair in &simulated {
        for report in pair.control().devices() {
            assert_eq!(report.version, "17.1.1.1");
        }
    }
    let outcome = Outcome {
        seconds,
        calls,
        devices: ids.len(),
        rss_before,
        rss_start,
        rss_peak,
    };
    drop(management);
    for pair in simulated {
        pair.stop().await;
    }
    outcome
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let pairs = count("FULCRUM_BENCH_CAMPAIGN_PAIRS", 500);
    let runs = count("FULCRUM_BENCH_CAMPAIGN_RUNS", 3);
    let baseline = run(1).await;
    let per_device = baseline.seconds / 2.0;
    println!(
        "baseline: one pair in {:.2} s ({:.2} s a device), {} device calls",
        baseline.seconds, per_device, baseline.calls
    );
    for n in 1..=runs {
        let outcome = run(pairs).await;
        let waves = 1.0 + (outcome.devices - 1).div_ceil(MAX_PARALLEL).max(2) as f64;
        println!(
            "run {n}: {} devices in {:.1} s ({:.2}x the {:.1} s the policy allows); {} device \
             calls ({:.1} a device); RSS {:.0} MiB before, {:.0} MiB at start, {:.0} MiB peak",
            outcome.devices,
            outcome.seconds,
            outcome.seconds / (waves * per_device),
            waves * per_device,
            outcome.calls,
            outcome.calls as f64 / outcome.devices as f64,
            outcome.rss_before,
            outcome.rss_start,
            outcome.rss_peak,
        );
    }
}
