//! The `fulcrum` command: `serve`, `migrate`, `openapi`, `check-config`, `render`, and `manage`
//! (a client of the management API).

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use fulcrum::config::{Config, LogFormat};
use fulcrum::server;
use fulcrum::telemetry::error_count::ErrorCounter;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Fulcrum: an Octavia v2-compatible LBaaS driver service.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Configuration file layered over the built-in defaults.
    #[arg(long, global = true, env = "FULCRUM_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API and run the reconciler (applies migrations first).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Check the configuration, connect to each provider's backend to report what it is
    /// (a BIG-IP's AS3 version and failover state), and exit.
    CheckConfig,
    /// Print what a load balancer's driver would send its backend for it (HAProxy: the
    /// configuration file), without sending anything.
    Render {
        /// The load balancer's id.
        load_balancer_id: String,
    },
    /// Manage devices, alerts and the rest of day 2 through a running Fulcrum's management API.
    Manage(Box<fulcrum_management::cli::ManageArgs>),
}

/// Log to stderr as configured, and count every error event in the metrics whatever the log
/// level lets through.
fn init_logging(config: &Config) {
    let filter = EnvFilter::try_new(&config.log.level).unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: a log file or the journal gets plain text.
    let output = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let output = match config.log.format {
        LogFormat::Json => output.json().with_filter(filter).boxed(),
        LogFormat::Text => output.with_filter(filter).boxed(),
    };
    tracing_subscriber::registry()
        .with(output)
        .with(ErrorCounter.with_filter(LevelFilter::ERROR))
        .init();
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = match cli.command {
        Command::Openapi => {
            println!(
                "{}",
                fulcrum_api::openapi([fulcrum_management::document::openapi()]).to_pretty_json()?
            );
            return Ok(());
        }
        Command::Manage(args) => {
            if let Err(error) = fulcrum_management::cli::run(*args).await {
                eprintln!("error: {error}");
                std::process::exit(1);
            }
            return Ok(());
        }
        other => other,
    };
    let config = Config::load(cli.config.as_deref()).context("loading configuration")?;
    init_logging(&config);
    match command {
        Command::Serve => server::serve(config, server::shutdown_signal()).await,
        Command::Migrate => {
            let store = server::connect_store(&config).await?;
            store.migrate().await?;
            if config.management.enabled {
                fulcrum_management::Management::migrate(&store).await?;
            }
            println!(
                "migrations applied to {}",
                server::redact(&config.database.url)
            );
            Ok(())
        }
        Command::CheckConfig => {
            let factories = fulcrum_drivers::factories();
            server::check(&config, &factories)?;
            for line in server::probe(&config, &factories).await? {
                println!("{line}");
            }
            println!("configuration is valid");
            Ok(())
        }
        Command::Render { load_balancer_id } => {
            print!(
                "{}",
                fulcrum::render::render(&config, &load_balancer_id).await?
            );
            Ok(())
        }
        Command::Openapi | Command::Manage(_) => {
            unreachable!("handled before loading configuration")
        }
    }
}
