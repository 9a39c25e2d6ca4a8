//! Lists: paging with markers and links, sorting, filtering, tag filters and field projection.

mod common;

use common::{DEFAULT_SUBNET, Db, TestServer, assert_fault};
use serde_json::{Value, json};

fn names(v: &Value) -> Vec<String> {
    v["loadbalancers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|lb| lb["name"].as_str().unwrap().to_string())
        .collect()
}

/// The names on every page from `url` on, following the next links.
async fn walk(s: &TestServer, url: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut url = url.to_string();
    for _ in 0..5 {
        let page = s.get(&url).await;
        seen.extend(names(&page));
        let next = page["loadbalancers_links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
            .map(|l| l["href"].as_str().unwrap().to_string());
        match next {
            Some(href) => url = href[s.base.len()..].to_string(),
            None => break,
        }
    }
    seen
}

async fn paging_sorting_filtering(db: Db) {
    let s = TestServer::start(db).await;
    let tags = [
        vec!["red"],
        vec!["red", "big"],
        vec!["blue"],
        vec![],
        vec!["big"],
    ];
    for (i, t) in tags.iter().enumerate() {
        s.create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"name": format!("lb-{i}"), "vip_subnet_id": DEFAULT_SUBNET, "tags": t,
                   "admin_state_up": i != 3}),
        )
        .await;
    }

    let sorted = s.get("/v2/lbaas/loadbalancers?sort=name:desc").await;
    assert_eq!(names(&sorted), ["lb-4", "lb-3", "lb-2", "lb-1", "lb-0"]);
    let sorted = s
        .get("/v2/lbaas/loadbalancers?sort_key=name&sort_dir=asc")
        .await;
    assert_eq!(names(&sorted), ["lb-0", "lb-1", "lb-2", "lb-3", "lb-4"]);

    // Walk all pages by the next links.
    let seen = walk(&s, "/v2/lbaas/loadbalancers?limit=2&sort=name:asc").await;
    assert_eq!(seen, ["lb-0", "lb-1", "lb-2", "lb-3", "lb-4"]);

    // In the default order (created_at, then id; rows created in the same instant tie on the
    // first), the pages hold the whole list in order, and a reverse page the two before a marker.
    let all = names(&s.get("/v2/lbaas/loadbalancers").await);
    assert_eq!(all.len(), 5);
    assert_eq!(walk(&s, "/v2/lbaas/loadbalancers?limit=2").await, all);
    let listed = s.get("/v2/lbaas/loadbalancers").await;
    let marker = listed["loadbalancers"][3]["id"].as_str().unwrap();
    let back = s
        .get(&format!(
            "/v2/lbaas/loadbalancers?limit=2&marker={marker}&page_reverse=True"
        ))
        .await;
    assert_eq!(names(&back), all[1..3]);

    // A reverse page from a marker holds the items before it, in order, and links back.
    let all = s.get("/v2/lbaas/loadbalancers?sort=name:asc").await;
    let marker = all["loadbalancers"][3]["id"].as_str().unwrap();
    let back = s
        .get(&format!(
            "/v2/lbaas/loadbalancers?sort=name:asc&limit=2&marker={marker}&page_reverse=True"
        ))
        .await;
    assert_eq!(names(&back), ["lb-1", "lb-2"]);
    assert!(
        back["loadbalancers_links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["rel"] == "previous")
    );

    let filtered = s.get("/v2/lbaas/loadbalancers?name=lb-2").await;
    assert_eq!(names(&filtered), ["lb-2"]);
    let disabled = s.get("/v2/lbaas/loadbalancers?admin_state_up=false").await;
    assert_eq!(names(&disabled), ["lb-3"]);

    let q = |q: &str| format!("/v2/lbaas/loadbalancers?sort=name&{q}");
    assert_eq!(names(&s.get(&q("tags=red,big")).await), ["lb-1"]);
    assert_eq!(
        names(&s.get(&q("tags-any=red,blue")).await),
        ["lb-0", "lb-1", "lb-2"]
    );
    assert_eq!(
        names(&s.get(&q("not-tags=red,big")).await),
        ["lb-0", "lb-2", "lb-3", "lb-4"]
    );
    assert_eq!(
        names(&s.get(&q("not-tags-any=red,big")).await),
        ["lb-2", "lb-3"]
    );
    assert_eq!(names(&s.get(&q("tags=red&tags=big")).await), ["lb-1"]);

    let projected = s
        .get("/v2/lbaas/loadbalancers?fields=id&fields=name&limit=1")
        .await;
    let obj = projected["loadbalancers"][0].as_object().unwrap();
    let mut keys: Vec<&String> = obj.keys().collect();
    keys.sort();
    assert_eq!(keys, ["id", "name"]);
    let one = s
        .get(&format!(
            "/v2/lbaas/loadbalancers/{marker}?fields=vip_address"
        ))
        .await;
    assert_eq!(one["loadbalancer"].as_object().unwrap().len(), 1);

    assert_fault(
        &s.call("GET", "/v2/lbaas/loadbalancers?sort=colour:asc", None)
            .await,
        400,
        "Supplied sort key 'colour' is not valid.",
    );
    assert_fault(
        &s.call("GET", "/v2/lbaas/loadbalancers?sort=name:sideways", None)
            .await,
        400,
        "Supplied sort direction 'sideways' is not valid.",
    );
    assert_fault(
        &s.call("GET", "/v2/lbaas/loadbalancers?colour=red", None)
            .await,
        400,
        "One or more arguments are either duplicate or invalid",
    );
    assert_fault(
        &s.call("GET", "/v2/lbaas/loadbalancers?limit=lots", None)
            .await,
        400,
        "Supplied pagination limit 'lots' is not valid.",
    );
    assert_fault(
        &s.call("GET", "/v2/lbaas/loadbalancers?marker=nope", None)
            .await,
        400,
        "Supplied pagination marker 'nope' is not valid.",
    );
}

on_both_databases!(paging_sorting_filtering);
