//! The stock `openstack loadbalancer` CLI (python-openstackclient + python-octaviaclient) drives
//! a standalone Fulcrum end to end through the shipped `deploy/clouds.yaml`.
//!
//! The CLI comes from the virtual environment `.venv` that `.ci/run` creates (or the path in
//! `FULCRUM_TEST_OPENSTACK`); without it the test says so and checks nothing.

mod common;

use common::cli::{Cli, build_tree, openstack_cli};
use common::{Db, TestServer};
use serde_json::Value;

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
    let cli = Cli::new(
        &bin,
        s.dir(),
        &[
            ("OS_CLIENT_CONFIG_FILE", config.to_str().unwrap()),
            ("OS_CLOUD", "fulcrum"),
        ],
    );
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
    build_tree(cli, "cli-lb");
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
