//! `fulcrum render <load balancer id>`: what the load balancer's driver would send its backend for
//! the load balancer as the store holds it now (HAProxy's configuration file, say), printed for an
//! operator to read or diff. Nothing is sent to the backend and nothing is written.

use anyhow::{Context, bail};

use crate::config::Config;
use crate::server;

/// The rendering of load balancer `id` by its driver, built from `config`.
pub async fn render(config: &Config, id: &str) -> anyhow::Result<String> {
    let store = server::connect_store(config).await?;
    let tree = store
        .tree(id)
        .await
        .context("reading the load balancer")?
        .with_context(|| format!("load balancer {id} not found"))?;
    store.close().await;
    let providers = server::build_providers(
        config,
        &fulcrum_drivers::factories(),
        std::sync::Arc::new(fulcrum_core::devices::EveryDevice),
    )?;
    let provider = &tree.rows.load_balancer.provider;
    let Some(driver) = providers.find(provider) else {
        bail!("provider {provider} of load balancer {id} is not enabled");
    };
    match driver.render(&tree.desired()) {
        Some(rendered) => rendered.with_context(|| format!("the {provider} driver refused it")),
        None => bail!("the {provider} driver has nothing to render"),
    }
}
