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

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::keystone::{FulcrumAuth, Keystone, USER_PASSWORD, unique};
use common::{Db, Options, TestServer};
use serde_json::Value;

fn openstack_cli() -> Option<PathBuf> {
    let path = std::env::var_os("FULCRUM_TEST_OPENSTACK")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/openstack"))
        });
    path.exists().then_some(path)
}

/// The CLI as one Keystone user, configured only through `OS_*` variables (no clouds.yaml).
struct Cli {
    bin: PathBuf,
    home: PathBuf,
    env: Vec<(&'static str, String)>,
}

impl Cli {
    fn new(
        bin: &Path,
        home: &Path,
        auth_url: &str,
        region: &str,
        user: &str,
        password: &str,
        project: &str,
    ) -> Cli {
        Cli {
            bin: bin.to_path_buf(),
            home: home.to_path_buf(),
            env: vec![
                ("OS_AUTH_URL", auth_url.to_string()),
                ("OS_IDENTITY_API_VERSION", "3".to_string()),
                ("OS_USERNAME", user.to_string()),
                ("OS_PASSWORD", password.to_string()),
                ("OS_PROJECT_NAME", project.to_string()),
                ("OS_USER_DOMAIN_NAME", "Default".to_string()),
                ("OS_PROJECT_DOMAIN_NAME", "Default".to_string()),
                ("OS_REGION_NAME", region.to_string()),
                ("OS_INTERFACE", "public".to_string()),
            ],
        }
    }

    /// Run `openstack <args>` in a clean environment.
    fn output(&self, args: &[&str]) -> Output {
        Command::new(&self.bin)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("LANG", "C.UTF-8")
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .expect("openstack runs")
    }

    /// Run `openstack <args>`; panics with its output when it fails.
    fn run(&self, args: &[&str]) -> String {
        let out = self.output(args);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "openstack {}: {}\n{stdout}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Run `openstack <args>`, expect it to fail, return its stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert!(
            !out.status.success(),
            "openstack {} succeeded: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).to_string()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-f", "json"]);
        serde_json::from_str(&self.run(&all)).expect("JSON output")
    }
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
    let as_member = Cli::new(
        &bin,
        &home,
        &ks.url,
        &region,
        &member.name,
        USER_PASSWORD,
        &project.name,
    );
    let as_admin = Cli::new(
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
    let listener = member.json(&[
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
    assert_eq!(listener["project_id"], project_id);
    member.json(&[
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
    let created = member.json(&[
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
    let member_id = created["id"].as_str().unwrap().to_string();
    member.run(&[
        "loadbalancer",
        "member",
        "set",
        "--weight",
        "3",
        "--wait",
        "p1",
        &member_id,
    ]);
    let shown = member.json(&["loadbalancer", "member", "show", "p1", &member_id]);
    assert_eq!(shown["weight"], 3);
    let hm = member.json(&[
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
    member.json(&[
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
    let rule = member.json(&[
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
        serde_json::from_str(&member.run(&["loadbalancer", "status", "show", "cli-lb"])).unwrap();
    let tree = &status["loadbalancer"];
    assert_eq!(tree["provisioning_status"], "ACTIVE");
    assert_eq!(
        tree["listeners"][0]["pools"][0]["members"][0]["address"],
        "127.0.0.1"
    );
    let stats = member.json(&["loadbalancer", "stats", "show", "cli-lb"]);
    assert_eq!(stats["total_connections"], 0);

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
