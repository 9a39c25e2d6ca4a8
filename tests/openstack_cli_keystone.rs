//! The stock `openstack loadbalancer` CLI (python-openstackclient + python-octaviaclient) drives
//! Fulcrum end to end through a real Keystone: password authentication, the service catalog
//! (`load-balancer` and `network` endpoints in a region of the test's own), project-scoped
//! tokens that Fulcrum validates, and Octavia's RBAC (a member builds and deletes a load
//! balancer tree; quotas, flavor profiles and flavors take an admin).
//!
//! The CLI comes from the virtual environment `.venv` that `.ci/run` creates (or the path in
//! `FULCRUM_TEST_OPENSTACK`); without it the test says so and checks nothing. Keystone comes from
//! the same environment (see `tests/common/keystone.rs`).

mod common;

use std::path::Path;

use common::cli::{Cli, build_tree, openstack_cli};
use common::keystone::{FulcrumAuth, Keystone, USER_PASSWORD, unique};
use common::{Db, Options, TestServer};
use serde_json::Value;

/// The CLI as one Keystone user, configured only through `OS_*` variables (no clouds.yaml).
fn keystone_cli(
    bin: &Path,
    home: &Path,
    auth_url: &str,
    region: &str,
    user: &str,
    password: &str,
    project: &str,
) -> Cli {
    Cli::new(
        bin,
        home,
        &[
            ("OS_AUTH_URL", auth_url),
            ("OS_IDENTITY_API_VERSION", "3"),
            ("OS_USERNAME", user),
            ("OS_PASSWORD", password),
            ("OS_PROJECT_NAME", project),
            ("OS_USER_DOMAIN_NAME", "Default"),
            ("OS_PROJECT_DOMAIN_NAME", "Default"),
            ("OS_REGION_NAME", region),
            ("OS_INTERFACE", "public"),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openstack_cli_through_keystone() {
    let Some(bin) = openstack_cli() else {
        eprintln!(
            "skipped: no openstack CLI in .venv (run .ci/run, or set FULCRUM_TEST_OPENSTACK)"
        );
        return;
    };
    let ks = Keystone::shared().await;
    let admin = ks.admin().await;
    admin.service_user().await;
    let s = TestServer::start_with(
        Db::Sqlite,
        Options {
            extra_toml: ks.fulcrum_toml(&FulcrumAuth::default()),
            default_provider: "noop",
            ..Options::default()
        },
    )
    .await;

    // The catalog of a region of this test's own: Keystone itself, Fulcrum as the load-balancer
    // service, and Fulcrum's read-only Neutron view as the network service (names given to
    // --vip-subnet-id resolve through it). As with Octavia and Neutron, the endpoints are
    // unversioned: the SDK puts `/v2.0` in front of Neutron's paths itself.
    let region = unique("region");
    admin.register("identity", &region, &ks.url).await;
    admin.register("load-balancer", &region, &s.base).await;
    admin.register("network", &region, &s.base).await;

    let project = admin.create_project("cli").await;
    let member = admin.user_with_roles(&project, &["member"]).await;
    let home = s.dir().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let as_member = keystone_cli(
        &bin,
        &home,
        &ks.url,
        &region,
        &member.name,
        USER_PASSWORD,
        &project.name,
    );
    let as_admin = keystone_cli(
        &bin,
        &home,
        &ks.url,
        &region,
        "admin",
        common::keystone::ADMIN_PASSWORD,
        "admin",
    );
    let project_id = project.id.clone();
    tokio::task::spawn_blocking(move || scenario(&as_member, &as_admin, &project_id))
        .await
        .unwrap();
}

fn scenario(member: &Cli, admin: &Cli, project_id: &str) {
    let lb = member.json(&[
        "loadbalancer",
        "create",
        "--name",
        "cli-lb",
        "--vip-subnet-id",
        "fulcrum-loopback-v4",
        "--wait",
    ]);
    assert_eq!(lb["name"], "cli-lb");
    assert_eq!(lb["project_id"], project_id, "owned by the token's project");
    assert_eq!(
        lb["vip_subnet_id"],
        common::DEFAULT_SUBNET,
        "the subnet name resolved through the catalog's network endpoint"
    );
    let listener = build_tree(member, "cli-lb");
    assert_eq!(listener["project_id"], project_id);

    // Quotas: the member reads its project's; only an admin sets them.
    let quota = member.json(&["loadbalancer", "quota", "show", project_id]);
    assert_eq!(quota["load_balancer"], -1, "{quota}");
    let refused = member.fails(&[
        "loadbalancer",
        "quota",
        "set",
        "--loadbalancer",
        "5",
        project_id,
    ]);
    assert!(
        refused.contains("Policy does not allow this request to be performed"),
        "{refused}"
    );
    admin.run(&[
        "loadbalancer",
        "quota",
        "set",
        "--loadbalancer",
        "5",
        project_id,
    ]);
    let quota = member.json(&["loadbalancer", "quota", "show", project_id]);
    assert_eq!(quota["load_balancer"], 5, "{quota}");

    // Flavor profiles and flavors are an admin's; members list flavors.
    let refused = member.fails(&["loadbalancer", "flavorprofile", "list"]);
    assert!(
        refused.contains("Policy does not allow this request to be performed"),
        "{refused}"
    );
    let profile = admin.json(&[
        "loadbalancer",
        "flavorprofile",
        "create",
        "--name",
        &unique("fp"),
        "--provider",
        "noop",
        "--flavor-data",
        "{}",
    ]);
    let flavor_name = unique("flavor");
    let flavor = admin.json(&[
        "loadbalancer",
        "flavor",
        "create",
        "--name",
        &flavor_name,
        "--flavorprofile",
        profile["id"].as_str().unwrap(),
        "--enable",
    ]);
    assert_eq!(flavor["name"], flavor_name.as_str());
    let flavors = member.json(&["loadbalancer", "flavor", "list"]);
    assert!(
        flavors
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == flavor_name.as_str()),
        "{flavors}"
    );

    // The admin sees the member's load balancer; the member deletes the whole tree.
    let all = admin.json(&["loadbalancer", "list", "--project", project_id]);
    assert_eq!(all.as_array().unwrap().len(), 1, "{all}");
    member.run(&["loadbalancer", "delete", "--cascade", "--wait", "cli-lb"]);
    assert_eq!(member.json(&["loadbalancer", "list"]), Value::Array(vec![]));
}
