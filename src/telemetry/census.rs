//! What the store holds, as gauges taken at each scrape from [`Store::census`]: objects by kind,
//! provider and statuses; the work queue and the age of its oldest item; the event outbox's last
//! id and how far each consumer lags behind. When the database does not answer in time, only
//! `fulcrum_database_up 0` is written.

use std::time::Duration;

use fulcrum_core::model::Kind;
use fulcrum_store::{Census, Store};
use time::OffsetDateTime;

use super::text::Family;

/// Longest a scrape waits for the census.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Append the store's census to `out`; work holders silent for `holder_timeout_ms` hold no live
/// lease.
pub(super) async fn render(store: &Store, holder_timeout_ms: i64, out: &mut String) {
    let census = match tokio::time::timeout(TIMEOUT, store.census(holder_timeout_ms)).await {
        Ok(Ok(census)) => Some(census),
        Ok(Err(error)) => {
            tracing::warn!(%error, "metrics: counting what the store holds failed");
            None
        }
        Err(_) => {
            tracing::warn!("metrics: counting what the store holds took too long");
            None
        }
    };
    Family::new(
        out,
        "fulcrum_database_up",
        "gauge",
        "Whether the database answered this scrape's census (1) or not (0).",
    )
    .sample(&[], if census.is_some() { 1.0 } else { 0.0 });
    if let Some(census) = census {
        write(out, &census, OffsetDateTime::now_utc());
    }
}

fn write(out: &mut String, census: &Census, now: OffsetDateTime) {
    let mut objects = Family::new(
        out,
        "fulcrum_objects",
        "gauge",
        "Objects stored, by kind, provider, provisioning_status and operating_status.",
    );
    for count in &census.objects {
        objects.sample(
            &[
                ("kind", kind_label(count.kind)),
                ("provider", &count.provider),
                ("provisioning_status", &count.provisioning_status),
                ("operating_status", &count.operating_status),
            ],
            count.count as f64,
        );
    }

    let work = &census.work;
    let mut items = Family::new(
        out,
        "fulcrum_work_items",
        "gauge",
        "Work items of the reconciler (all replicas), by state: queued (never claimed), \
         retrying (waiting after a failed or abandoned attempt), in_flight (leased).",
    );
    items.sample(&[("state", "queued")], work.queued as f64);
    items.sample(&[("state", "retrying")], work.retrying as f64);
    items.sample(&[("state", "in_flight")], work.in_flight as f64);
    let oldest = work
        .oldest_queued_at_ms
        .map_or(0.0, |at| age_seconds(now, at as f64 / 1000.0));
    Family::new(
        out,
        "fulcrum_work_oldest_item_age_seconds",
        "gauge",
        "Seconds since the longest-waiting work item was queued (0 when none waits).",
    )
    .sample(&[], oldest);

    let outbox = &census.outbox;
    Family::new(
        out,
        "fulcrum_event_outbox_last_id",
        "gauge",
        "The id of the last event committed to the outbox.",
    )
    .sample(&[], outbox.last_id as f64);
    let mut lag = Family::new(
        out,
        "fulcrum_event_outbox_lag_events",
        "gauge",
        "Events committed that each consumer has not handled yet, by consumer.",
    );
    for consumer in &outbox.consumers {
        lag.sample(
            &[("consumer", &consumer.consumer)],
            (outbox.last_id - consumer.last_id).max(0) as f64,
        );
    }
    let mut unread = Family::new(
        out,
        "fulcrum_event_outbox_oldest_unread_age_seconds",
        "gauge",
        "Seconds since the oldest event a consumer has not handled was written (0 when none), \
         by consumer.",
    );
    for consumer in &outbox.consumers {
        let age = consumer
            .oldest_unread_at
            .map_or(0.0, |at| age_seconds(now, at.unix_timestamp() as f64));
        unread.sample(&[("consumer", &consumer.consumer)], age);
    }
}

/// Seconds from `since` (seconds since the epoch) to `now`, never negative.
fn age_seconds(now: OffsetDateTime, since: f64) -> f64 {
    let now = now.unix_timestamp_nanos() as f64 / 1e9;
    (now - since).max(0.0)
}

/// The kind as Octavia names its objects (the root key of their JSON).
fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::LoadBalancer => "loadbalancer",
        Kind::Listener => "listener",
        Kind::Pool => "pool",
        Kind::Member => "member",
        Kind::HealthMonitor => "healthmonitor",
        Kind::L7Policy => "l7policy",
        Kind::L7Rule => "l7rule",
    }
}

#[cfg(test)]
mod tests {
    use fulcrum_store::{ConsumerPosition, ObjectCount, Outbox, WorkQueue};
    use time::macros::datetime;

    use super::*;

    #[test]
    fn census_as_gauges() {
        let now = datetime!(2025-01-01 00:01:00 UTC);
        let census = Census {
            objects: vec![ObjectCount {
                kind: Kind::HealthMonitor,
                provider: "noop".into(),
                provisioning_status: "ACTIVE".into(),
                operating_status: "ONLINE".into(),
                count: 3,
            }],
            work: WorkQueue {
                queued: 2,
                retrying: 1,
                in_flight: 4,
                oldest_queued_at_ms: Some((now.unix_timestamp() - 30) * 1000),
            },
            outbox: Outbox {
                last_id: 10,
                consumers: vec![ConsumerPosition {
                    consumer: "management".into(),
                    last_id: 7,
                    oldest_unread_at: Some(datetime!(2025-01-01 00:00:00 UTC)),
                }],
            },
        };
        let mut out = String::new();
        write(&mut out, &census, now);
        for line in [
            "fulcrum_objects{kind=\"healthmonitor\",provider=\"noop\",provisioning_status=\"ACTIVE\",operating_status=\"ONLINE\"} 3",
            "fulcrum_work_items{state=\"queued\"} 2",
            "fulcrum_work_items{state=\"retrying\"} 1",
            "fulcrum_work_items{state=\"in_flight\"} 4",
            "fulcrum_work_oldest_item_age_seconds 30",
            "fulcrum_event_outbox_last_id 10",
            "fulcrum_event_outbox_lag_events{consumer=\"management\"} 3",
            "fulcrum_event_outbox_oldest_unread_age_seconds{consumer=\"management\"} 60",
        ] {
            assert!(out.lines().any(|l| l == line), "{line} in\n{out}");
        }
    }
}
