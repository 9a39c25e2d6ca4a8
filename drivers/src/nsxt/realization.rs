//! Waiting until NSX has realized a change on its edges.
//!
//! The intent paths checked are the load balancer's `LBService` and its listeners' virtual
//! servers: a virtual server can fail on its own (its address taken on the edge, say) while its
//! service is realized. An `ERROR` state of any fails the apply with NSX's own message (the load
//! balancer goes to ERROR with it as its fault); a change still unrealized after the configured
//! time is a transient failure, tried again later.
//!
//! Each poll is one search of the realized entities (`GenericPolicyRealizedResource`, which
//! NSX's search API indexes with their `intent_paths`) for every path not yet realized, rather
//! than one `/infra/realized-state/realized-entities?intent_path=` read per path; and the
//! applies waiting at once share their searches ([`Checks`]): they poll on the same ticks (a
//! grid of a quarter of `realization_poll_ms` since the driver started), and one search answers
//! every path asked for until it is sent. So a burst of load balancers costs one PATCH each and a few searches
//! per tick between them, however many virtual servers each has.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use fulcrum_core::driver::DriverError;
use serde_json::Value;
use tokio::time::Instant;

use super::client::NsxClient;
use super::inventory;

/// The resource type of realized entities in NSX's search.
const REALIZED_ENTITY: &str = "GenericPolicyRealizedResource";

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

/// Read the realization state of one intent path (`/infra/realized-state/realized-entities`).
pub async fn state(client: &NsxClient, intent_path: &str) -> Result<State, DriverError> {
    let answer = client
        .get(
            "/infra/realized-state/realized-entities",
            &[("intent_path", intent_path.to_string())],
        )
        .await?;
    let entities = answer["results"].as_array().cloned().unwrap_or_default();
    Ok(state_of(&entities.iter().collect::<Vec<_>>()))
}

/// How many intent paths one search names at most, which keeps its URL short.
const PATHS_PER_SEARCH: usize = 50;

/// The state of each of `intent_paths`, read with one search per [`PATHS_PER_SEARCH`] paths.
pub async fn states(
    client: &NsxClient,
    intent_paths: &[&String],
) -> Result<Vec<State>, DriverError> {
    let mut out = Vec::with_capacity(intent_paths.len());
    for chunk in intent_paths.chunks(PATHS_PER_SEARCH) {
        let terms: Vec<String> = chunk.iter().map(|p| inventory::escape(p)).collect();
        let query = format!(
            "resource_type:{REALIZED_ENTITY} AND intent_paths:({})",
            terms.join(" OR ")
        );
        let entities = client
            .list_all("/search/query", &[("query", query)])
            .await?;
        out.extend(chunk.iter().map(|path| {
            let of_path: Vec<&Value> = entities
                .iter()
                .filter(|e| {
                    e["intent_paths"]
                        .as_array()
                        .is_some_and(|paths| paths.iter().any(|p| p == path.as_str()))
                })
                .collect();
            state_of(&of_path)
        }));
    }
    Ok(out)
}

/// The realization state the realized entities of one intent path tell.
fn state_of(entities: &[&Value]) -> State {
    if let Some(failed) = entities.iter().find(|e| e["state"] == "ERROR") {
        return State::Failed(message_of(failed));
    }
    if !entities.is_empty() && entities.iter().all(|e| e["state"] == "REALIZED") {
        State::Realized
    } else {
        State::Pending
    }
}

/// The realization checks of the applies waiting at once, answered together: each asks for its
/// paths, and whoever finds no search in flight sends one for every path asked so far (its
/// own and those of the others waiting), whose answers the others then take.
#[derive(Debug)]
pub struct Checks {
    /// The start of the ticks every wait polls on.
    epoch: Instant,
    /// Held by the apply sending a search; the others queue behind it, in order.
    turn: tokio::sync::Mutex<()>,
    queue: Mutex<Queue>,
}

#[derive(Debug, Default)]
struct Queue {
    /// Paths asked for and not yet searched.
    asked: BTreeSet<String>,
    /// How many searches were sent.
    round: u64,
    /// What the last search answered for each path it named, until taken.
    answers: HashMap<String, Result<State, DriverError>>,
}

impl Default for Checks {
    fn default() -> Self {
        Checks {
            epoch: Instant::now(),
            turn: tokio::sync::Mutex::default(),
            queue: Mutex::default(),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Checks {
    /// The state of each of `paths`, from a search sent for them or with them.
    pub async fn states(
        &self,
        client: &NsxClient,
        paths: &[&String],
    ) -> Result<Vec<State>, DriverError> {
        let asked_in = {
            let mut queue = lock(&self.queue);
            queue.asked.extend(paths.iter().map(|p| (*p).clone()));
            queue.round
        };
        // The lock is fair: whoever asked before a search was sent is served before anybody
        // who asked after it sends the next one.
        let _turn = self.turn.lock().await;
        if lock(&self.queue).round == asked_in {
            // The applies woken on the same tick ask before the search is sent.
            tokio::task::yield_now().await;
            let batch: Vec<String> = {
                let mut queue = lock(&self.queue);
                queue.round += 1;
                // Answers nobody took are of waits that were given up.
                queue.answers.clear();
                std::mem::take(&mut queue.asked).into_iter().collect()
            };
            let refs: Vec<&String> = batch.iter().collect();
            let found = states(client, &refs).await;
            let mut queue = lock(&self.queue);
            match found {
                Ok(states) => queue
                    .answers
                    .extend(batch.into_iter().zip(states.into_iter().map(Ok))),
                Err(e) => queue
                    .answers
                    .extend(batch.into_iter().map(|path| (path, Err(e.clone())))),
            }
        }
        let mut queue = lock(&self.queue);
        paths
            .iter()
            .map(|path| {
                queue
                    .answers
                    .remove(path.as_str())
                    .unwrap_or(Ok(State::Pending))
            })
            .collect()
    }

    /// Sleep at least `poll`, until the next tick: ticks come every quarter of `poll` from the
    /// epoch, so that the applies waiting at once poll together, each at most a quarter of
    /// `poll` later than it would alone.
    async fn sleep_poll(&self, poll: Duration) {
        let grid = (poll.as_millis() / 4).max(1);
        let at = Instant::now() + poll;
        let since = at.saturating_duration_since(self.epoch).as_millis();
        let tick = since.div_ceil(grid) * grid;
        let tick = self.epoch + Duration::from_millis(u64::try_from(tick).unwrap_or(u64::MAX));
        tokio::time::sleep_until(tick).await;
    }
}

/// Wait for every one of `intent_paths` to realize, checking every `poll` (on the ticks of
/// `checks`) for at most `timeout`. After a change (`changed`) the first check comes after one
/// `poll`, as NSX never realizes a change at once; without one, at once.
pub async fn wait(
    checks: &Checks,
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
            checks.sleep_poll(poll).await;
        }
        first = false;
        let states = checks.states(client, &pending).await?;
        let mut still = Vec::with_capacity(pending.len());
        for (path, state) in pending.into_iter().zip(states) {
            match state {
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
