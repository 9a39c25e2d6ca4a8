//! `fulcrum-sim`: run a vendor simulator so Fulcrum can be tried without the hardware.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use simulators::nsxt;

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
    /// A simulated NSX-T Manager (Policy API) for the nsxt driver.
    Nsxt(NsxtArgs),
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
    /// The user name accepted.
    #[arg(long, default_value = "admin")]
    username: String,
    /// The password accepted.
    #[arg(long, default_value = "admin")]
    password: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    let Simulator::Nsxt(args) = Cli::parse().simulator;
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
