//! `GET /v2/lbaas/loadbalancers/{id}` is served from a cache of rendered views; these tests show
//! that no replica serves a view that another replica's write has made stale.

mod common;

use std::time::{Duration, Instant};

use common::{Db, Options, TestServer};
use serde_json::json;

/// Poll `server` until the load balancer's name is `name`; panics after 5 s.
async fn until_named(server: &TestServer, path: &str, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = server.get(path).await;
        if got["loadbalancer"]["name"] == name {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still {} instead of {name}",
            got["loadbalancer"]["name"]
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Two processes on one database, each claiming work under a name of its own.
async fn two_replicas(db: Db) -> (TestServer, TestServer) {
    let named = |name: &str| Options {
        extra_toml: format!("replica = \"{name}\"\n"),
        ..Default::default()
    };
    let a = TestServer::start_with(db, named("a")).await;
    let b = a.replica(named("b")).await;
    (a, b)
}

async fn writes_of_one_replica_reach_the_reads_of_another(db: Db) {
    let (a, b) = two_replicas(db).await;
    let lb = a.active_lb("first").await;
    let path = format!("/v2/lbaas/loadbalancers/{}", lb["id"].as_str().unwrap());
    // B reads (and caches) the view a few times.
    for _ in 0..3 {
        assert_eq!(b.get(&path).await["loadbalancer"]["name"], "first");
    }
    // A writes; B's next reads show the write, and so do A's.
    for name in ["second", "third"] {
        let (status, body) = a
            .call("PUT", &path, Some(json!({"loadbalancer": {"name": name}})))
            .await;
        assert_eq!(status, 200, "{body}");
        until_named(&b, &path, name).await;
        until_named(&a, &path, name).await;
        b.settle(lb["id"].as_str().unwrap()).await;
    }
    // A deletes it; B stops serving it.
    assert_eq!(a.call("DELETE", &path, None).await.0, 204);
    b.wait_for(&path, "loadbalancer", "DELETED").await;
}

async fn a_lost_feed_pauses_the_cache(db: Db) {
    let (a, b) = two_replicas(db).await;
    let lb = a.active_lb("before").await;
    let path = format!("/v2/lbaas/loadbalancers/{}", lb["id"].as_str().unwrap());
    assert_eq!(b.get(&path).await["loadbalancer"]["name"], "before");
    // Every connection to the database ends (B's listening one too) and comes back.
    a.db.set_reachable(false);
    a.db.set_reachable(true);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _) = a
            .call(
                "PUT",
                &path,
                Some(json!({"loadbalancer": {"name": "after"}})),
            )
            .await;
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the database did not come back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    until_named(&b, &path, "after").await;
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_of_one_replica_reach_the_reads_of_another() {
        super::writes_of_one_replica_reach_the_reads_of_another(super::Db::Postgres).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lost_feed_pauses_the_cache() {
        super::a_lost_feed_pauses_the_cache(super::Db::Postgres).await
    }
}
