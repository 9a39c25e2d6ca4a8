//! `GET /v2/lbaas/loadbalancers/{id}` and the list of load balancers are served from a cache of
//! rendered views; these tests show that no replica serves a view that a write (its own or another
//! replica's) has made stale.

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

/// Poll `server` until the list of load balancers, sorted by name, holds exactly `names`; panics
/// after 5 s.
async fn until_listed(server: &TestServer, names: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = server.get("/v2/lbaas/loadbalancers?sort=name").await;
        let listed: Vec<&str> = got["loadbalancers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|lb| lb["name"].as_str().unwrap())
            .collect();
        if listed == names {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "listed {listed:?} instead of {names:?}"
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
    // B reads (and caches) the view a few times, alone and in the list.
    for _ in 0..3 {
        assert_eq!(b.get(&path).await["loadbalancer"]["name"], "first");
        until_listed(&b, &["first"]).await;
    }
    // A writes; B's next reads show the write, and so do A's.
    for name in ["second", "third"] {
        let (status, body) = a
            .call("PUT", &path, Some(json!({"loadbalancer": {"name": name}})))
            .await;
        assert_eq!(status, 200, "{body}");
        until_named(&b, &path, name).await;
        until_named(&a, &path, name).await;
        until_listed(&b, &[name]).await;
        b.settle(lb["id"].as_str().unwrap()).await;
    }
    // A deletes it; B stops serving it.
    assert_eq!(a.call("DELETE", &path, None).await.0, 204);
    b.wait_for(&path, "loadbalancer", "DELETED").await;
    until_listed(&b, &[]).await;
}

/// A list served from cached views is the list the database holds: every write shows at once, in
/// the order asked for, with paging links and `fields=` as before.
async fn lists_follow_every_write(db: Db) {
    let s = TestServer::start(db).await;
    let first = s.active_lb("first").await;
    let first_path = format!("/v2/lbaas/loadbalancers/{}", first["id"].as_str().unwrap());
    // Cached by a read of the one object, then by lists.
    s.get(&first_path).await;
    for _ in 0..2 {
        until_listed(&s, &["first"]).await;
    }
    let second = s.active_lb("second").await;
    until_listed(&s, &["first", "second"]).await;
    let (status, body) = s
        .call(
            "PUT",
            &first_path,
            Some(json!({"loadbalancer": {"name": "renamed", "tags": ["t"]}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    until_listed(&s, &["renamed", "second"]).await;
    let listed = s
        .get("/v2/lbaas/loadbalancers?tags=t&fields=name&fields=tags")
        .await;
    assert_eq!(
        listed["loadbalancers"],
        json!([{"name": "renamed", "tags": ["t"]}])
    );
    let page = s.get("/v2/lbaas/loadbalancers?limit=1&sort=name").await;
    assert_eq!(page["loadbalancers"][0]["name"], "renamed");
    assert_eq!(page["loadbalancers_links"][0]["rel"], "next");
    assert!(
        page["loadbalancers_links"][0]["href"]
            .as_str()
            .unwrap()
            .ends_with(&format!("marker={}", first["id"].as_str().unwrap())),
        "{page}"
    );
    let second_path = format!("/v2/lbaas/loadbalancers/{}", second["id"].as_str().unwrap());
    assert_eq!(s.call("DELETE", &second_path, None).await.0, 204);
    s.wait_for(&second_path, "loadbalancer", "DELETED").await;
    until_listed(&s, &["renamed"]).await;
}

on_both_databases!(lists_follow_every_write);

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
