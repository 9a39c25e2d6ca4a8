//! `fulcrum-sim`: run a vendor simulator so Fulcrum can be tried without the hardware.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use simulators::{f5, nsxt};

#[derive(Parser)]
#[command(
    name = "fulcrum-sim",
    about = "Simulators of the vendor APIs Fulcrum's drivers speak"
)]
struct Cli {
    #[command(subcommand)]
    simulator: Simulator,
}

#[derive(Subcommand)]
enum Simulator {
    /// A simulated NSX-T Manager (Policy API) for the nsxt driver, with the management-plane API
    /// of device operations.
    Nsxt(NsxtArgs),
    /// A simulated F5 BIG-IP (AS3 and iControl REST), or an HA pair, for the f5 driver.
    F5(F5Args),
}

#[derive(clap::Args)]
struct NsxtArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9443")]
    listen: SocketAddr,
    /// Requests per second before the manager answers 429 (0: unlimited).
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Milliseconds after a change before an object reads as realized.
    #[arg(long, default_value_t = 500)]
    realization_delay_ms: u64,
    /// The vendor's Policy API definitions to validate bodies against [default: FULCRUM_NSX_SCHEMA,
    /// else ../shared/vendor/nsx_policy_lb_schemas.json from the workspace root, when present].
    #[arg(long)]
    schema: Option<PathBuf>,
    /// A Tier-1 gateway that exists from the start (repeat for more).
    #[arg(long = "tier1", default_value = "fulcrum-t1")]
    tier1s: Vec<String>,
    /// Milliseconds each upgrade step takes (a bundle's fetch, the upgrade plan's run).
    #[arg(long, default_value_t = 3000)]
    upgrade_step_ms: u64,
    /// The display name of an Edge transport node the manager holds (repeat for more).
    #[arg(long = "edge", default_value = "fulcrum-edge-1")]
    edges: Vec<String>,
    /// The user name accepted.
    #[arg(long, default_value = "admin")]
    username: String,
    /// The password accepted.
    #[arg(long, default_value = "admin")]
    password: String,
    /// Answer over HTTPS with this certificate (PEM); needs --tls-key and --client-ca.
    #[arg(long, requires_all = ["tls_key", "client_ca"])]
    tls_certificate: Option<PathBuf>,
    /// The private key (PEM) of --tls-certificate.
    #[arg(long, requires = "tls_certificate")]
    tls_key: Option<PathBuf>,
    /// CA certificates (PEM) whose client certificates authenticate principal identities.
    #[arg(long, requires = "tls_certificate")]
    client_ca: Option<PathBuf>,
}

#[derive(clap::Args)]
struct F5Args {
    /// Address a device listens on; give it twice for an HA pair (the first starts active).
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: Vec<SocketAddr>,
    /// A device's host name, in the order of --listen [default: bigip1.fulcrum.test,
    /// bigip2.fulcrum.test]; give one per device, so that several simulators name theirs apart.
    #[arg(long)]
    hostname: Vec<String>,
    /// Milliseconds applying a declaration takes (another one meanwhile gets 503).
    #[arg(long, default_value_t = 200)]
    apply_delay_ms: u64,
    /// Seconds a software install to a volume takes.
    #[arg(long, default_value_t = 60)]
    install_delay_s: u64,
    /// Seconds a reboot takes (the device answers 503 meanwhile).
    #[arg(long, default_value_t = 120)]
    reboot_delay_s: u64,
    /// Seconds a token from /mgmt/shared/authn/login lives.
    #[arg(long, default_value_t = 1200)]
    token_lifetime_s: u64,
    /// F5's AS3 schema to validate declarations against [default: FULCRUM_AS3_SCHEMA, else
    /// ../shared/vendor/as3-schema.json from the workspace root, when present].
    #[arg(long)]
    schema: Option<PathBuf>,
    /// The user name accepted.
    #[arg(long, default_value = "admin")]
    username: String,
    /// The password accepted.
    #[arg(long, default_value = "admin")]
    password: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().simulator {
        Simulator::Nsxt(args) => run_nsxt(args).await,
        Simulator::F5(args) => run_f5(args).await,
    }
}

async fn run_f5(args: F5Args) -> ExitCode {
    let schema = match args.schema {
        Some(path) => Some(path),
        None => {
            let path = f5::schema::default_path();
            if path.exists() {
                Some(path)
            } else {
                eprintln!(
                    "fulcrum-sim: no AS3 schema at {} (set --schema or {}); declarations are not validated",
                    path.display(),
                    f5::schema::SCHEMA_ENV
                );
                None
            }
        }
    };
    let config = f5::Config {
        listen: args.listen,
        hostnames: args.hostname,
        schema,
        credentials: f5::Credentials {
            username: args.username,
            password: args.password,
        },
        token_lifetime: Duration::from_secs(args.token_lifetime_s),
        apply_delay: Duration::from_millis(args.apply_delay_ms),
        install_delay: Duration::from_secs(args.install_delay_s),
        reboot_delay: Duration::from_secs(args.reboot_delay_s),
        ..f5::Config::default()
    };
    let running = match f5::start(config).await {
        Ok(running) => running,
        Err(error) => {
            eprintln!("fulcrum-sim: {error}");
            return ExitCode::FAILURE;
        }
    };
    for (device, url) in running.base_urls().iter().enumerate() {
        let role = if device == 0 { "active" } else { "standby" };
        println!("BIG-IP simulator device {device} ({role}) on {url}");
    }
    let _ = tokio::signal::ctrl_c().await;
    running.stop().await;
    ExitCode::SUCCESS
}

async fn run_nsxt(args: NsxtArgs) -> ExitCode {
    let schema = match args.schema {
        Some(path) => Some(path),
        None => {
            let path = nsxt::schema::default_path();
            if path.exists() {
                Some(path)
            } else {
                eprintln!(
                    "fulcrum-sim: no NSX schema at {} (set --schema or {}); bodies are not validated",
                    path.display(),
                    nsxt::schema::SCHEMA_ENV
                );
                None
            }
        }
    };
    let tls = match (args.tls_certificate, args.tls_key, args.client_ca) {
        (Some(certificate), Some(key), Some(client_ca)) => {
            let read = |path: PathBuf| {
                std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
            };
            match (read(certificate), read(key), read(client_ca)) {
                (Ok(certificate), Ok(key), Ok(client_ca)) => Some(nsxt::Tls {
                    certificate,
                    key,
                    client_ca,
                }),
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                    eprintln!("fulcrum-sim: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        _ => None,
    };
    let config = nsxt::Config {
        listen: args.listen,
        rate_per_second: args.rate,
        realization_delay: Duration::from_millis(args.realization_delay_ms),
        schema,
        credentials: nsxt::Credentials {
            username: args.username,
            password: args.password,
        },
        tier1s: args.tier1s,
        upgrade_step: Duration::from_millis(args.upgrade_step_ms),
        edges: args.edges,
        tls,
        ..nsxt::Config::default()
    };
    let running = match nsxt::start(config).await {
        Ok(running) => running,
        Err(error) => {
            eprintln!("fulcrum-sim: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("NSX-T Policy API simulator on {}", running.base_url());
    let _ = tokio::signal::ctrl_c().await;
    running.stop().await;
    ExitCode::SUCCESS
}
