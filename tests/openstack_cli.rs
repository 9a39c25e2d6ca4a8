//! The stock `openstack loadbalancer` CLI (python-openstackclient + python-octaviaclient) drives
//! a standalone Fulcrum end to end through the shipped `deploy/clouds.yaml`.
//!
//! The CLI comes from the virtual environment `.venv` that `.ci/run` creates (or the path in
//! `FULCRUM_TEST_OPENSTACK`); without it the test says so and checks nothing.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Db, TestServer};
use serde_json::Value;

fn openstack_cli() -> Option<PathBuf> {
    let path = std::env::var_os("FULCRUM_TEST_OPENSTACK")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/openstack"))
        });
    path.exists().then_some(path)
}

struct Cli {
    bin: PathBuf,
    config: PathBuf,
}

impl Cli {
    /// Run `openstack <args>`; panics with its output when it fails.
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new(&self.bin)
            .args(args)
            .env("OS_CLIENT_CONFIG_FILE", &self.config)
            .env("OS_CLOUD", "fulcrum")
            .output()
            .expect("openstack runs");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "openstack {}: {}\n{stdout}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-f", "json"]);
        serde_json::from_str(&self.run(&all)).expect("JSON output")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openstack_cli_drives_fulcrum() {
    let Some(bin) = openstack_cli() else {
        eprintln!(
            "skipped: no openstack CLI in .venv (run .ci/run, or set FULCRUM_TEST_OPENSTACK)"
        );
        return;
    };
    let s = TestServer::start(Db::Sqlite).await;
    let shipped =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/clouds.yaml"))
            .expect("deploy/clouds.yaml");
    let config = s.dir().join("clouds.yaml");
    std::fs::write(&config, shipped.replace("http://127.0.0.1:9876", &s.base)).unwrap();
    let cli = Cli { bin, config };
    tokio::task::spawn_blocking(move || scenario(&cli))
        .await
        .unwrap();
}

fn scenario(cli: &Cli) {
    let lb = cli.json(&[
        "loadbalancer",
        "create",
        "--name",
        "cli-lb",
        "--vip-subnet-id",
        "fulcrum-loopback-v4",
        "--wait",
    ]);
    assert_eq!(lb["name"], "cli-lb");
    assert_eq!(
        lb["vip_subnet_id"],
        common::DEFAULT_SUBNET,
        "the subnet name resolved"
    );
    let listener = cli.json(&[
        "loadbalancer",
        "listener",
        "create",
        "--name",
        "web",
        "--protocol",
        "HTTP",
        "--protocol-port",
        "80",
        "--wait",
        "cli-lb",
    ]);
    assert_eq!(listener["protocol_port"], 80);
    cli.json(&[
        "loadbalancer",
        "pool",
        "create",
        "--name",
        "p1",
        "--listener",
        "web",
        "--protocol",
        "HTTP",
        "--lb-algorithm",
        "ROUND_ROBIN",
        "--wait",
    ]);
    let member = cli.json(&[
        "loadbalancer",
        "member",
        "create",
        "--address",
        "127.0.0.1",
        "--protocol-port",
        "8080",
        "--wait",
        "p1",
    ]);
    let member_id = member["id"].as_str().unwrap().to_string();
    cli.run(&[
        "loadbalancer",
        "member",
        "set",
        "--weight",
        "3",
        "--wait",
        "p1",
        &member_id,
    ]);
    let shown = cli.json(&["loadbalancer", "member", "show", "p1", &member_id]);
    assert_eq!(shown["weight"], 3);
    let hm = cli.json(&[
        "loadbalancer",
        "healthmonitor",
        "create",
        "--delay",
        "5",
        "--timeout",
        "3",
        "--max-retries",
        "3",
        "--type",
        "HTTP",
        "--wait",
        "p1",
    ]);
    assert_eq!(hm["url_path"], "/");
    cli.json(&[
        "loadbalancer",
        "l7policy",
        "create",
        "--action",
        "REJECT",
        "--name",
        "deny",
        "--wait",
        "web",
    ]);
    let rule = cli.json(&[
        "loadbalancer",
        "l7rule",
        "create",
        "--compare-type",
        "STARTS_WITH",
        "--type",
        "PATH",
        "--value",
        "/admin",
        "--wait",
        "deny",
    ]);
    assert_eq!(rule["value"], "/admin");
    // `status show` prints JSON by itself.
    let status: Value =
        serde_json::from_str(&cli.run(&["loadbalancer", "status", "show", "cli-lb"])).unwrap();
    let tree = &status["loadbalancer"];
    assert_eq!(tree["provisioning_status"], "ACTIVE");
    assert_eq!(
        tree["listeners"][0]["pools"][0]["members"][0]["address"],
        "127.0.0.1"
    );
    let stats = cli.json(&["loadbalancer", "stats", "show", "cli-lb"]);
    assert_eq!(stats["total_connections"], 0);
    let members = cli.json(&["loadbalancer", "member", "list", "p1"]);
    assert_eq!(members.as_array().unwrap().len(), 1);
    cli.run(&["loadbalancer", "delete", "--cascade", "--wait", "cli-lb"]);
    assert_eq!(cli.json(&["loadbalancer", "list"]), Value::Array(vec![]));

    // Quotas (`quota set` resolves the project through Keystone, so it is exercised in the
    // Keystone scenario), flavor profiles and flavors.
    let quota = cli.json(&[
        "loadbalancer",
        "quota",
        "show",
        "0123456789abcdef0123456789abcdef",
    ]);
    assert_eq!(quota["load_balancer"], -1, "{quota}");
    let profile = cli.json(&[
        "loadbalancer",
        "flavorprofile",
        "create",
        "--name",
        "fp-cli",
        "--provider",
        "noop",
        "--flavor-data",
        r#"{"amp_image_tag": "edge"}"#,
    ]);
    assert_eq!(profile["provider_name"], "noop");
    let flavor = cli.json(&[
        "loadbalancer",
        "flavor",
        "create",
        "--name",
        "small",
        "--flavorprofile",
        "fp-cli",
        "--enable",
    ]);
    assert_eq!(flavor["flavor_profile_id"], profile["id"]);
    let lb = cli.json(&[
        "loadbalancer",
        "create",
        "--name",
        "flavored",
        "--vip-subnet-id",
        "fulcrum-loopback-v4",
        "--flavor",
        "small",
        "--wait",
    ]);
    assert_eq!(lb["flavor_id"], flavor["id"]);
    cli.run(&["loadbalancer", "delete", "--wait", "flavored"]);
}
