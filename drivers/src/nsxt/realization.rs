//! Waiting until NSX has realized a change on its edges, through
//! `/infra/realized-state/realized-entities?intent_path=`.
//!
//! The intent paths checked are the load balancer's `LBService` and its listeners' virtual
//! servers: a virtual server can fail on its own (its address taken on the edge, say) while its
//! service is realized. An `ERROR` state of any fails the apply with NSX's own message (the load
//! balancer goes to ERROR with it as its fault); a change still unrealized after the configured
//! time is a transient failure, tried again later. Each poll reads only the paths not yet
//! realized, so a change realized at the first poll costs one read per path.

use std::time::Duration;

use fulcrum_core::driver::DriverError;
use serde_json::Value;
use tokio::time::Instant;

use super::client::NsxClient;

/// What NSX says about an intent path's realization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Realized.
    Realized,
    /// Not yet.
    Pending,
    /// Failed, with NSX's message.
    Failed(String),
}

/// Read the realization state of an intent path once.
pub async fn state(client: &NsxClient, intent_path: &str) -> Result<State, DriverError> {
    let answer = client
        .get(
            "/infra/realized-state/realized-entities",
            &[("intent_path", intent_path.to_string())],
        )
        .await?;
    let entities = answer["results"].as_array().cloned().unwrap_or_default();
    if let Some(failed) = entities.iter().find(|e| e["state"] == "ERROR") {
        return Ok(State::Failed(message_of(failed)));
    }
    let realized = !entities.is_empty() && entities.iter().all(|e| e["state"] == "REALIZED");
    Ok(if realized {
        State::Realized
    } else {
        State::Pending
    })
}

/// Wait for every one of `intent_paths` to realize, checking every `poll` for at most
/// `timeout`. After a change (`changed`) the first check comes after one `poll`, as NSX never
/// realizes a change at once; without one, at once.
pub async fn wait(
    client: &NsxClient,
    intent_paths: &[String],
    changed: bool,
    poll: Duration,
    timeout: Duration,
) -> Result<(), DriverError> {
    let start = Instant::now();
    let mut pending: Vec<&String> = intent_paths.iter().collect();
    let mut first = true;
    while !pending.is_empty() {
        if changed || !first {
            tokio::time::sleep(poll).await;
        }
        first = false;
        let mut still = Vec::with_capacity(pending.len());
        for path in pending {
            match state(client, path).await? {
                State::Realized => {}
                State::Failed(message) => return Err(DriverError::rejected(message)),
                State::Pending => still.push(path),
            }
        }
        pending = still;
        if !pending.is_empty() && start.elapsed() + poll > timeout {
            return Err(DriverError::transient(format!(
                "NSX has not realized the load balancer within {} s.",
                timeout.as_secs()
            )));
        }
    }
    Ok(())
}

/// NSX's message for a realization error: the first alarm's.
fn message_of(entity: &Value) -> String {
    let alarm = &entity["alarms"][0];
    alarm["message"]
        .as_str()
        .or_else(|| alarm["error_details"]["error_message"].as_str())
        .unwrap_or("NSX failed to realize the load balancer.")
        .to_string()
}
