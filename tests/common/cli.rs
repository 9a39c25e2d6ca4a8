//! The stock `openstack` CLI (python-openstackclient + python-octaviaclient from `.venv`, or the
//! path in `FULCRUM_TEST_OPENSTACK`), and the load balancer tree both CLI scenarios build.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The CLI, if it is installed.
pub fn openstack_cli() -> Option<PathBuf> {
    let path = std::env::var_os("FULCRUM_TEST_OPENSTACK")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/openstack"))
        });
    path.exists().then_some(path)
}

/// The CLI with one configuration: a clean environment holding only `env` (and `PATH`, `HOME`,
/// `LANG`).
pub struct Cli {
    bin: PathBuf,
    home: PathBuf,
    env: Vec<(String, String)>,
}

impl Cli {
    /// The CLI run with `home` as `$HOME` and the variables `env`.
    pub fn new(bin: &Path, home: &Path, env: &[(&str, &str)]) -> Cli {
        Cli {
            bin: bin.to_path_buf(),
            home: home.to_path_buf(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
        }
    }

    /// Run `openstack <args>`.
    pub fn output(&self, args: &[&str]) -> Output {
        Command::new(&self.bin)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("LANG", "C.UTF-8")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .expect("openstack runs")
    }

    /// Run `openstack <args>`; panics with its output when it fails.
    pub fn run(&self, args: &[&str]) -> String {
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
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert!(
            !out.status.success(),
            "openstack {} succeeded: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).to_string()
    }

    /// Run `openstack <args> -f json` and parse its output.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-f", "json"]);
        serde_json::from_str(&self.run(&all)).expect("JSON output")
    }
}

/// Below the load balancer `lb` (on the default subnet): listener `web` (HTTP 80), pool `p1`, a
/// member 127.0.0.1:8080 whose weight is then set to 3, an HTTP health monitor, a REJECT policy
/// `deny` with a PATH rule; asserts what the CLI printed at each step and that `status show` and
/// `stats show` see the tree. Returns the listener as created.
pub fn build_tree(cli: &Cli, lb: &str) -> Value {
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
        lb,
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
        serde_json::from_str(&cli.run(&["loadbalancer", "status", "show", lb])).unwrap();
    let tree = &status["loadbalancer"];
    assert_eq!(tree["provisioning_status"], "ACTIVE");
    assert_eq!(
        tree["listeners"][0]["pools"][0]["members"][0]["address"],
        "127.0.0.1"
    );
    let stats = cli.json(&["loadbalancer", "stats", "show", lb]);
    assert_eq!(stats["total_connections"], 0);
    let members = cli.json(&["loadbalancer", "member", "list", "p1"]);
    assert_eq!(members.as_array().unwrap().len(), 1);
    listener
}
