//! Keystone authentication and Octavia's RBAC, end to end: the real `fulcrum` binary validates
//! tokens with a real Keystone (from `.venv`, see `tests/common/keystone.rs`) and enforces
//! Octavia's policy rules (with `enforce_new_defaults = false`, each rule accepts its new default
//! or its deprecated `load-balancer_*` form, as oslo.policy does).
//!
//! All tests share one Keystone; each makes its own projects and users (uniquely named) and runs
//! its own Fulcrum. Tests that need Keystone to go away, or tokens that expire, start a second
//! Keystone server on the shared database and fernet keys and point their Fulcrum at it.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::keystone::{
    Admin, FulcrumAuth, Keystone, Project, Reply, SERVICE_PASSWORD, User, call_with_token,
    create_as, settle_as, unique, wait_for_as,
};
use common::{DEFAULT_SUBNET, Db, Options, TestServer};
use serde_json::{Value, json};

const LBS: &str = "/v2/lbaas/loadbalancers";
const FORBIDDEN: &str = "Policy does not allow this request to be performed.";

/// Fulcrum against `keystone`, with its service user in place.
async fn fulcrum(keystone: &Keystone, admin: &Admin, auth: FulcrumAuth) -> TestServer {
    admin.service_user().await;
    TestServer::start_with(
        Db::Sqlite,
        Options {
            extra_toml: keystone.fulcrum_toml(&auth),
            default_provider: "noop",
            ..Options::default()
        },
    )
    .await
}

/// Keystone's 401 as keystonemiddleware sends it for Octavia.
#[track_caller]
fn assert_unauthorized(r: &Reply, uri: &str) {
    assert_eq!(r.status.as_u16(), 401, "{}", r.body);
    let header = r
        .headers
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert_eq!(
        header,
        format!("Keystone uri=\"{uri}\""),
        "WWW-Authenticate"
    );
    assert_eq!(r.body["error"]["code"], 401, "{}", r.body);
    assert_eq!(r.body["error"]["title"], "Unauthorized", "{}", r.body);
    assert_eq!(
        r.body["error"]["message"], "The request you have made requires authentication.",
        "{}",
        r.body
    );
}

/// Octavia's policy refusal.
#[track_caller]
fn assert_forbidden(r: &Reply) {
    assert_eq!(r.status.as_u16(), 403, "{}", r.body);
    assert_eq!(r.body["faultcode"], "Client", "{}", r.body);
    assert_eq!(r.body["faultstring"], FORBIDDEN, "{}", r.body);
    assert!(r.body["debuginfo"].is_null(), "{}", r.body);
}

/// A response body cut to a length that keeps a list of failures readable.
fn short(body: &Value) -> String {
    let text = body.to_string();
    match text.char_indices().nth(160) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

fn lb_body(name: &str) -> Value {
    json!({"name": name, "vip_subnet_id": DEFAULT_SUBNET})
}

/// Create a load balancer as `token` and wait until it is ACTIVE.
async fn active_lb(s: &TestServer, token: &str, name: &str) -> String {
    let lb = create_as(s, token, LBS, "loadbalancer", lb_body(name)).await;
    let lb_id = id(&lb);
    settle_as(s, token, &lb_id).await;
    lb_id
}

/// The ids in a list response's `root`.
fn ids(body: &Value, root: &str) -> Vec<String> {
    body[root]
        .as_array()
        .unwrap_or_else(|| panic!("no {root} list in {body}"))
        .iter()
        .map(id)
        .collect()
}

/// The harness itself: users, roles and tokens in the shared Keystone, a second server on the
/// same database and keys, revocation, and stopping.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystone_harness_issues_validates_and_revokes_tokens() {
    let ks = Keystone::shared().await;
    let admin = ks.admin().await;
    let project = admin.create_project("harness").await;
    let user = admin.user_with_roles(&project, &["member"]).await;
    let token = ks.token(&user).await;
    let validate = |url: String, token: String| {
        let admin_token = admin.token.clone();
        async move {
            reqwest::Client::new()
                .get(format!("{url}/auth/tokens"))
                .header("X-Auth-Token", admin_token)
                .header("X-Subject-Token", token)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    };
    assert_eq!(validate(ks.url.clone(), token.clone()).await.unwrap(), 200);

    let mut second = ks.second(None).await;
    assert_ne!(second.url, ks.url);
    assert_eq!(
        validate(second.url.clone(), token.clone()).await.unwrap(),
        200,
        "the second server validates the first one's tokens"
    );
    let from_second = second.token(&user).await;
    assert_eq!(validate(ks.url.clone(), from_second).await.unwrap(), 200);

    admin.revoke_token(&token).await;
    assert_eq!(validate(ks.url.clone(), token.clone()).await.unwrap(), 404);
    assert_eq!(validate(second.url.clone(), token).await.unwrap(), 404);

    second.stop();
    assert!(
        validate(second.url.clone(), ks.token(&user).await)
            .await
            .is_err(),
        "nothing listens after stop"
    );
}

/// Requests without a valid token get keystonemiddleware's 401 with `WWW-Authenticate`; version
/// discovery stays open; a valid token works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_a_valid_token_get_401() {
    let ks = Keystone::shared().await;
    let admin = ks.admin().await;
    let uri = "http://identity.example.test:5000/v3";
    let s = fulcrum(
        ks,
        &admin,
        FulcrumAuth {
            www_authenticate_uri: Some(uri.to_string()),
            ..FulcrumAuth::default()
        },
    )
    .await;
    let project = admin.create_project("anon").await;
    let user = admin.user_with_roles(&project, &["member"]).await;

    // Version discovery needs no token.
    let root = call_with_token(&s, None, "GET", "/", None).await;
    assert_eq!(root.status, 200, "{}", root.body);
    assert!(root.body["versions"].is_array(), "{}", root.body);

    // No token, on reads and writes.
    for (method, path, body) in [
        ("GET", LBS.to_string(), None),
        ("GET", "/v2/lbaas/quotas".to_string(), None),
        ("GET", "/v2/lbaas/providers".to_string(), None),
        (
            "POST",
            LBS.to_string(),
            Some(json!({"loadbalancer": lb_body("x")})),
        ),
        ("DELETE", format!("{LBS}/{}", uuid::Uuid::new_v4()), None),
    ] {
        let r = call_with_token(&s, None, method, &path, body).await;
        assert_unauthorized(&r, uri);
    }
    // Tokens Keystone does not know.
    for bogus in [
        "not-a-token",
        "gAAAAABnotreallyafernettokenatall0000000000000000000000000000000000000000000000",
    ] {
        assert_unauthorized(
            &call_with_token(&s, Some(bogus), "GET", LBS, None).await,
            uri,
        );
    }
    // A bad token retried is asked of Keystone once per cache window, as keystonemiddleware
    // caches invalid tokens.
    let refused = || async {
        let metrics = call_with_token(&s, Some(&admin.token), "GET", "/metrics", None).await;
        assert_eq!(metrics.status, 200, "{}", metrics.body);
        sample(
            metrics.body.as_str().unwrap(),
            "fulcrum_keystone_request_duration_seconds_count{request=\"validate_token\",status=\"404\"}",
        )
    };
    let before = refused().await;
    for _ in 0..4 {
        assert_unauthorized(
            &call_with_token(&s, Some("retried-bad-token"), "GET", LBS, None).await,
            uri,
        );
    }
    assert_eq!(
        refused().await - before,
        1.0,
        "one validation for four requests"
    );

    // A revoked token.
    let revoked = ks.token(&user).await;
    admin.revoke_token(&revoked).await;
    assert_unauthorized(
        &call_with_token(&s, Some(&revoked), "GET", LBS, None).await,
        uri,
    );

    // A valid token works, and what it creates belongs to its project.
    let token = ks.token(&user).await;
    let r = call_with_token(&s, Some(&token), "GET", LBS, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let lb = create_as(&s, &token, LBS, "loadbalancer", lb_body("mine")).await;
    assert_eq!(lb["project_id"], project.id.as_str());
    settle_as(&s, &token, &id(&lb)).await;
    // Nothing was created by the unauthenticated POST.
    let r = call_with_token(&s, Some(&admin.token), "GET", LBS, None).await;
    assert_eq!(ids(&r.body, "loadbalancers"), vec![id(&lb)]);

    // Without `www_authenticate_uri`, 401s point at `auth_url`.
    let plain = fulcrum(ks, &admin, FulcrumAuth::default()).await;
    assert_unauthorized(
        &call_with_token(&plain, None, "GET", LBS, None).await,
        &ks.url,
    );
    assert_unauthorized(
        &call_with_token(&plain, Some("nope"), "GET", LBS, None).await,
        &ks.url,
    );
    assert!(!s.log().contains(SERVICE_PASSWORD), "password in the log");
}

/// Expired tokens get 401 even within `cache_seconds`, and Fulcrum obtains a new service token
/// when its own has expired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_get_401_and_the_service_token_is_renewed() {
    const EXPIRATION: u64 = 4;
    let ks = Keystone::shared().await;
    let admin = ks.admin().await;
    let short = ks.second(Some(EXPIRATION)).await;
    let s = fulcrum(&short, &admin, FulcrumAuth::default()).await;
    let project = admin.create_project("expiry").await;
    let user = admin.user_with_roles(&project, &["member"]).await;

    let used = short.token(&user).await;
    let unused = short.token(&user).await;
    let issued = Instant::now();
    // This validation also gets Fulcrum its own (short-lived) service token.
    let r = call_with_token(&s, Some(&used), "GET", LBS, None).await;
    assert_eq!(r.status, 200, "{}\n{}", r.body, s.log());

    // Keystone truncates issue times to the second: wait a whole second more.
    tokio::time::sleep_until((issued + Duration::from_secs(EXPIRATION + 2)).into()).await;
    for expired in [&used, &unused] {
        assert_unauthorized(
            &call_with_token(&s, Some(expired), "GET", LBS, None).await,
            &short.url,
        );
    }
    // Fulcrum's service token has expired too; a new user token still validates.
    let fresh = short.token(&user).await;
    let r = call_with_token(&s, Some(&fresh), "GET", LBS, None).await;
    assert_eq!(
        r.status,
        200,
        "a new token after the service token expired: {}\nlog:\n{}",
        r.body,
        s.log()
    );
    // And once more after a further expiry, for a write.
    tokio::time::sleep(Duration::from_secs(EXPIRATION + 1)).await;
    let fresh = short.token(&user).await;
    let lb = create_as(&s, &fresh, LBS, "loadbalancer", lb_body("late")).await;
    settle_as(&s, &fresh, &id(&lb)).await;
    assert!(!s.log().contains(SERVICE_PASSWORD), "password in the log");
}

/// Keystone unreachable: a token not validated yet gets 503 (never a way in, never the service
/// password); a token validated before keeps working until `cache_seconds` pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystone_unreachable_gives_503_and_the_cache_carries_validated_tokens() {
    const CACHE: u64 = 6;
    let ks = Keystone::shared().await;
    let admin = ks.admin().await;
    let mut doomed = ks.second(None).await;
    let s = fulcrum(
        &doomed,
        &admin,
        FulcrumAuth {
            cache_seconds: CACHE,
            timeout_seconds: 2,
            ..FulcrumAuth::default()
        },
    )
    .await;
    let project = admin.create_project("outage").await;
    let user = admin.user_with_roles(&project, &["member"]).await;
    let cached = ks.token(&user).await;
    let before = Instant::now();
    let r = call_with_token(&s, Some(&cached), "GET", LBS, None).await;
    assert_eq!(r.status, 200, "{}\n{}", r.body, s.log());
    let validated = Instant::now();
    let lb = active_lb(&s, &cached, "before").await;

    doomed.stop();
    // Inside the cache window the validated token still works, for reads and writes.
    let r = call_with_token(&s, Some(&cached), "GET", &format!("{LBS}/{lb}"), None).await;
    assert_eq!(
        r.status, 200,
        "cached token while Keystone is down: {}",
        r.body
    );
    assert!(
        before.elapsed() < Duration::from_secs(CACHE),
        "the test was too slow to check the cache"
    );

    // A token Fulcrum has not seen cannot be validated: 503.
    let unseen = ks.token(&user).await;
    let r = call_with_token(&s, Some(&unseen), "GET", LBS, None).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(
        !r.body.to_string().contains(SERVICE_PASSWORD),
        "password in {}",
        r.body
    );
    let r = call_with_token(&s, Some(&unseen), "DELETE", &format!("{LBS}/{lb}"), None).await;
    assert_eq!(r.status, 503, "{}", r.body);
    // No token at all is still a plain 401.
    assert_unauthorized(
        &call_with_token(&s, None, "GET", LBS, None).await,
        &doomed.url,
    );

    // After cache_seconds the cached token has to be validated again, which cannot happen.
    tokio::time::sleep_until((validated + Duration::from_secs(CACHE + 1)).into()).await;
    let r = call_with_token(&s, Some(&cached), "GET", LBS, None).await;
    assert_eq!(r.status, 503, "cache outlived cache_seconds: {}", r.body);

    let log = s.log();
    assert!(
        !log.contains(SERVICE_PASSWORD),
        "password in the log:\n{log}"
    );
}

/// Project alpha's member can neither see nor change project beta's objects (403 as in Octavia,
/// absent from lists; filtering for beta is refused); an administrator sees both and filters by
/// project.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_are_isolated() {
    let ks = Keystone::shared().await;
    let admin = ks.admin().await;
    let s = fulcrum(ks, &admin, FulcrumAuth::default()).await;
    let alpha = admin.create_project("alpha").await;
    let beta = admin.create_project("beta").await;
    let a = ks
        .token(&admin.user_with_roles(&alpha, &["member"]).await)
        .await;
    let b = ks
        .token(&admin.user_with_roles(&beta, &["member"]).await)
        .await;

    let tree = |name: &str| {
        json!({"name": name, "vip_subnet_id": DEFAULT_SUBNET, "listeners": [{
            "protocol": "HTTP", "protocol_port": 80,
            "default_pool": {"name": "app", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                             "members": [{"address": "127.0.0.1", "protocol_port": 8080}]}}]})
    };
    let a_lb = create_as(&s, &a, LBS, "loadbalancer", tree("a")).await;
    let b_lb = create_as(&s, &b, LBS, "loadbalancer", tree("b")).await;
    assert_eq!(a_lb["project_id"], alpha.id.as_str());
    assert_eq!(b_lb["project_id"], beta.id.as_str());
    let (a_id, b_id) = (id(&a_lb), id(&b_lb));
    settle_as(&s, &a, &a_id).await;
    settle_as(&s, &b, &b_id).await;
    let b_listener = id(&b_lb["listeners"][0]);
    let b_pool = id(&b_lb["pools"][0]);
    let b_member = id(&b_lb["pools"][0]["members"][0]);

    // Beta's objects do not exist for alpha.
    let b_lb_path = format!("{LBS}/{b_id}");
    for (method, path, body) in [
        ("GET", b_lb_path.clone(), None),
        ("GET", format!("{b_lb_path}/status"), None),
        ("GET", format!("{b_lb_path}/stats"), None),
        (
            "PUT",
            b_lb_path.clone(),
            Some(json!({"loadbalancer": {"name": "mine now"}})),
        ),
        ("DELETE", b_lb_path.clone(), None),
        ("DELETE", format!("{b_lb_path}?cascade=true"), None),
        ("GET", format!("/v2/lbaas/listeners/{b_listener}"), None),
        (
            "PUT",
            format!("/v2/lbaas/listeners/{b_listener}"),
            Some(json!({"listener": {"name": "x"}})),
        ),
        ("GET", format!("/v2/lbaas/pools/{b_pool}"), None),
        ("DELETE", format!("/v2/lbaas/pools/{b_pool}"), None),
        ("GET", format!("/v2/lbaas/pools/{b_pool}/members"), None),
        (
            "GET",
            format!("/v2/lbaas/pools/{b_pool}/members/{b_member}"),
            None,
        ),
        (
            "POST",
            format!("/v2/lbaas/pools/{b_pool}/members"),
            Some(json!({"member": {"address": "127.0.0.9", "protocol_port": 80}})),
        ),
    ] {
        let r = call_with_token(&s, Some(&a), method, &path, body).await;
        assert_eq!(r.status, 403, "alpha {method} {path}: {}", r.body);
        assert_eq!(r.body["faultstring"], FORBIDDEN, "alpha {method} {path}");
    }
    // Nor can alpha hang a listener on beta's load balancer.
    let r = call_with_token(
        &s,
        Some(&a),
        "POST",
        "/v2/lbaas/listeners",
        Some(
            json!({"listener": {"loadbalancer_id": b_id, "protocol": "HTTP",
                                 "protocol_port": 81}}),
        ),
    )
    .await;
    assert_eq!(
        r.status, 403,
        "alpha's listener on beta's load balancer: {}",
        r.body
    );

    // Lists hold only the caller's objects.
    let pick = |lb: &Value, root: &str| match root {
        "loadbalancers" => id(lb),
        _ => id(&lb[root][0]),
    };
    for (token, mine) in [(&a, &a_lb), (&b, &b_lb)] {
        for (path, root) in [
            (LBS, "loadbalancers"),
            ("/v2/lbaas/listeners", "listeners"),
            ("/v2/lbaas/pools", "pools"),
        ] {
            let r = call_with_token(&s, Some(token), "GET", path, None).await;
            assert_eq!(r.status, 200, "{path}: {}", r.body);
            assert_eq!(ids(&r.body, root), vec![pick(mine, root)], "{path}");
        }
    }
    // Asking for the other project's objects is refused (Octavia's get_all check on it); asking
    // for one's own is fine.
    let r = call_with_token(
        &s,
        Some(&a),
        "GET",
        &format!("{LBS}?project_id={}", beta.id),
        None,
    )
    .await;
    assert_forbidden(&r);
    let r = call_with_token(
        &s,
        Some(&a),
        "GET",
        &format!("/v2/lbaas/listeners?project_id={}", beta.id),
        None,
    )
    .await;
    assert_forbidden(&r);
    let r = call_with_token(
        &s,
        Some(&a),
        "GET",
        &format!("{LBS}?project_id={}", alpha.id),
        None,
    )
    .await;
    assert_eq!(ids(&r.body, "loadbalancers"), vec![a_id.clone()]);

    // Beta's load balancer is untouched.
    let r = call_with_token(&s, Some(&b), "GET", &b_lb_path, None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["loadbalancer"]["name"], "b");
    assert_eq!(r.body["loadbalancer"]["provisioning_status"], "ACTIVE");

    // The administrator (project admin) sees both, filters by project, and reads beta's.
    let r = call_with_token(&s, Some(&admin.token), "GET", LBS, None).await;
    let mut all = ids(&r.body, "loadbalancers");
    all.sort();
    let mut both = vec![a_id.clone(), b_id.clone()];
    both.sort();
    assert_eq!(all, both);
    for (project, expected) in [(&alpha, &a_id), (&beta, &b_id)] {
        let r = call_with_token(
            &s,
            Some(&admin.token),
            "GET",
            &format!("{LBS}?project_id={}", project.id),
            None,
        )
        .await;
        assert_eq!(ids(&r.body, "loadbalancers"), vec![expected.clone()]);
        let r = call_with_token(
            &s,
            Some(&admin.token),
            "GET",
            &format!("/v2/lbaas/pools?project_id={}", project.id),
            None,
        )
        .await;
        assert_eq!(ids(&r.body, "pools").len(), 1, "{}", r.body);
    }
    let r = call_with_token(&s, Some(&admin.token), "GET", &b_lb_path, None).await;
    assert_eq!(r.status, 200);
    let r = call_with_token(
        &s,
        Some(&admin.token),
        "GET",
        &format!("/v2/lbaas/pools/{b_pool}/members/{b_member}"),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // And may delete it.
    let r = call_with_token(
        &s,
        Some(&admin.token),
        "DELETE",
        &format!("{b_lb_path}?cascade=true"),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    wait_for_as(&s, &b, &b_lb_path, "loadbalancer", "DELETED").await;
}

// ---------------------------------------------------------------------------------------------
// The RBAC matrix.

/// Who Octavia's default rules let through (with `enforce_new_defaults = false`), for a caller
/// whose one role is on project alpha, acting on alpha's objects unless the rule says otherwise.
/// Keystone's implied roles count: `admin` implies `member` and `reader`, `member` implies
/// `reader`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// `load-balancer:read` on the caller's project: observer_and_owner (reader, or
    /// load-balancer_observer, and owner) or global_observer or member_and_owner or admin.
    Read,
    /// `load-balancer:read` / `read-global` on another project: global_observer or admin.
    ReadGlobal,
    /// `load-balancer:write` on the caller's project: member_and_owner or admin.
    Write,
    /// `load-balancer:write` on another project: admin only.
    WriteOther,
    /// `load-balancer:read-quota` on the caller's project: as `Read`, plus quota-admin.
    ReadQuota,
    /// `load-balancer:read-quota` on another project: global_observer, quota-admin or admin.
    ReadQuotaOther,
    /// `load-balancer:write-quota`: quota-admin or admin.
    WriteQuota,
    /// `load-balancer:admin`: `is_admin:True or role:admin` or role:load-balancer_admin.
    Admin,
}

impl Rule {
    fn allows(self, role: &str) -> bool {
        let admin = matches!(role, "admin" | "load-balancer_admin");
        let global_observer = matches!(role, "admin" | "load-balancer_global_observer");
        let quota_admin = matches!(role, "admin" | "load-balancer_quota_admin");
        let member_and_owner = matches!(role, "admin" | "member" | "load-balancer_member");
        let observer_and_owner =
            matches!(role, "admin" | "member" | "reader") || role == "load-balancer_observer";
        match self {
            Rule::Read => observer_and_owner || global_observer || member_and_owner || admin,
            Rule::ReadGlobal => global_observer || admin,
            Rule::Write => member_and_owner || admin,
            Rule::WriteOther => admin,
            Rule::ReadQuota => {
                observer_and_owner || global_observer || member_and_owner || quota_admin || admin
            }
            Rule::ReadQuotaOther => global_observer || quota_admin || admin,
            Rule::WriteQuota => quota_admin || admin,
            Rule::Admin => admin,
        }
    }
}

/// The alpha and beta objects one role's checks act on.
struct World {
    alpha: Project,
    beta: Project,
    /// Member of alpha: builds alpha's objects and waits for them.
    builder: String,
    /// Member of beta.
    beta_builder: String,
    lb: String,
    victim: String,
    beta_lb: String,
    listener: String,
    pool: String,
    member: String,
    hm: String,
    l7policy: String,
    l7rule: String,
    flavor_profile: String,
}

async fn build_world(ks: &Keystone, admin: &Admin, s: &TestServer) -> World {
    let alpha = admin.create_project("alpha").await;
    let beta = admin.create_project("beta").await;
    let builder = ks
        .token(&admin.user_with_roles(&alpha, &["member"]).await)
        .await;
    let beta_builder = ks
        .token(&admin.user_with_roles(&beta, &["member"]).await)
        .await;
    let graph = json!({"name": "tree", "vip_subnet_id": DEFAULT_SUBNET, "listeners": [{
        "protocol": "HTTP", "protocol_port": 80,
        "default_pool": {
            "name": "app", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
            "members": [{"address": "127.0.0.1", "protocol_port": 8080}],
            "healthmonitor": {"type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 3}},
        "l7policies": [{"action": "REJECT",
                        "rules": [{"type": "PATH", "compare_type": "STARTS_WITH",
                                   "value": "/admin"}]}]}]});
    let lb = create_as(s, &builder, LBS, "loadbalancer", graph).await;
    let listener = &lb["listeners"][0];
    let pool = &lb["pools"][0];
    let policy = &listener["l7policies"][0];
    let victim = create_as(s, &builder, LBS, "loadbalancer", lb_body("victim")).await;
    let beta_lb = create_as(s, &beta_builder, LBS, "loadbalancer", lb_body("beta")).await;
    let profile = create_as(
        s,
        &admin.token,
        "/v2/lbaas/flavorprofiles",
        "flavorprofile",
        json!({"name": unique("fp"), "provider_name": "noop", "flavor_data": "{}"}),
    )
    .await;
    let world = World {
        builder: builder.clone(),
        beta_builder: beta_builder.clone(),
        lb: id(&lb),
        victim: id(&victim),
        beta_lb: id(&beta_lb),
        listener: id(listener),
        pool: id(pool),
        member: id(&pool["members"][0]),
        hm: id(&pool["healthmonitor"]),
        l7policy: id(policy),
        l7rule: id(&policy["rules"][0]),
        flavor_profile: id(&profile),
        alpha,
        beta,
    };
    settle_as(s, &builder, &world.lb).await;
    settle_as(s, &builder, &world.victim).await;
    settle_as(s, &beta_builder, &world.beta_lb).await;
    world
}

/// One request of the matrix.
struct Check {
    /// The Octavia rule name (for messages).
    action: &'static str,
    method: &'static str,
    path: String,
    body: Option<Value>,
    rule: Rule,
    /// The load balancer (and the token that may read it) to wait for after an allowed write.
    settle: Option<(String, String)>,
}

fn check(action: &'static str, method: &'static str, path: String, rule: Rule) -> Check {
    Check {
        action,
        method,
        path,
        body: None,
        rule,
        settle: None,
    }
}

impl Check {
    fn body(mut self, body: Value) -> Check {
        self.body = Some(body);
        self
    }
    fn settle(mut self, lb: &str, token: &str) -> Check {
        self.settle = Some((lb.to_owned(), token.to_owned()));
        self
    }
}

fn checks(w: &World) -> Vec<Check> {
    use Rule::*;
    let (alpha, beta) = (&w.alpha.id, &w.beta.id);
    let lb = format!("{LBS}/{}", w.lb);
    let beta_lb = format!("{LBS}/{}", w.beta_lb);
    let listener = format!("/v2/lbaas/listeners/{}", w.listener);
    let pool = format!("/v2/lbaas/pools/{}", w.pool);
    let member = format!("{pool}/members/{}", w.member);
    let hm = format!("/v2/lbaas/healthmonitors/{}", w.hm);
    let policy = format!("/v2/lbaas/l7policies/{}", w.l7policy);
    let rule = format!("{policy}/rules/{}", w.l7rule);
    let quota = |p: &str| format!("/v2/lbaas/quotas/{p}");
    let b = &w.builder;
    vec![
        // Load balancers.
        check("loadbalancer:get_all", "GET", LBS.into(), Read),
        check(
            "loadbalancer:get_all (?project_id=own)",
            "GET",
            format!("{LBS}?project_id={alpha}"),
            Read,
        ),
        check(
            "loadbalancer:get_all-global (?project_id=other)",
            "GET",
            format!("{LBS}?project_id={beta}"),
            ReadGlobal,
        ),
        check("loadbalancer:get_one", "GET", lb.clone(), Read),
        check(
            "loadbalancer:get_one (other project)",
            "GET",
            beta_lb.clone(),
            ReadGlobal,
        ),
        check("loadbalancer:get_stats", "GET", format!("{lb}/stats"), Read),
        check(
            "loadbalancer:get_status",
            "GET",
            format!("{lb}/status"),
            Read,
        ),
        check("loadbalancer:put", "PUT", lb.clone(), Write)
            .body(json!({"loadbalancer": {"description": "updated"}}))
            .settle(&w.lb, b),
        check(
            "loadbalancer:put (other project)",
            "PUT",
            beta_lb.clone(),
            WriteOther,
        )
        .body(json!({"loadbalancer": {"description": "updated"}}))
        .settle(&w.beta_lb, &w.beta_builder),
        check(
            "loadbalancer:put_failover",
            "PUT",
            format!("{lb}/failover"),
            Admin,
        )
        .settle(&w.lb, b),
        check("loadbalancer:post", "POST", LBS.into(), Write)
            .body(json!({"loadbalancer": lb_body("new")})),
        check(
            "loadbalancer:delete",
            "DELETE",
            format!("{LBS}/{}", w.victim),
            Write,
        ),
        // Listeners, pools, members, health monitors, L7 policies and rules.
        check(
            "listener:get_all",
            "GET",
            "/v2/lbaas/listeners".into(),
            Read,
        ),
        check("listener:get_one", "GET", listener.clone(), Read),
        check(
            "listener:get_stats",
            "GET",
            format!("{listener}/stats"),
            Read,
        ),
        check("listener:put", "PUT", listener, Write)
            .body(json!({"listener": {"description": "updated"}}))
            .settle(&w.lb, b),
        check("pool:get_one", "GET", pool.clone(), Read),
        check("pool:put", "PUT", pool.clone(), Write)
            .body(json!({"pool": {"description": "updated"}}))
            .settle(&w.lb, b),
        check("member:get_all", "GET", format!("{pool}/members"), Read),
        check("member:get_one", "GET", member.clone(), Read),
        check("member:put", "PUT", member, Write)
            .body(json!({"member": {"weight": 7}}))
            .settle(&w.lb, b),
        check("healthmonitor:get_one", "GET", hm.clone(), Read),
        check("healthmonitor:put", "PUT", hm, Write)
            .body(json!({"healthmonitor": {"delay": 7}}))
            .settle(&w.lb, b),
        check("l7policy:get_one", "GET", policy.clone(), Read),
        check("l7policy:put", "PUT", policy.clone(), Write)
            .body(json!({"l7policy": {"description": "updated"}}))
            .settle(&w.lb, b),
        check("l7rule:get_all", "GET", format!("{policy}/rules"), Read),
        check("l7rule:get_one", "GET", rule.clone(), Read),
        check("l7rule:put", "PUT", rule, Write)
            .body(json!({"rule": {"value": "/private"}}))
            .settle(&w.lb, b),
        // Quotas.
        check("quota:get_all", "GET", "/v2/lbaas/quotas".into(), ReadQuota),
        check("quota:get_one", "GET", quota(alpha), ReadQuota),
        check(
            "quota:get_one (other project)",
            "GET",
            quota(beta),
            ReadQuotaOther,
        ),
        check(
            "quota:get_defaults",
            "GET",
            format!("{}/default", quota(alpha)),
            ReadQuota,
        ),
        check("quota:put", "PUT", quota(alpha), WriteQuota)
            .body(json!({"quota": {"loadbalancer": 50}})),
        check("quota:delete", "DELETE", quota(alpha), WriteQuota),
        // Providers, flavors, availability zones, amphorae.
        check(
            "provider:get_all",
            "GET",
            "/v2/lbaas/providers".into(),
            Read,
        ),
        check(
            "provider-flavor:get_all",
            "GET",
            "/v2/lbaas/providers/noop/flavor_capabilities".into(),
            Admin,
        ),
        check(
            "provider-availability-zone:get_all",
            "GET",
            "/v2/lbaas/providers/noop/availability_zone_capabilities".into(),
            Admin,
        ),
        check("flavor:get_all", "GET", "/v2/lbaas/flavors".into(), Read),
        check("flavor:post", "POST", "/v2/lbaas/flavors".into(), Admin).body(
            json!({"flavor": {"name": unique("flavor"), "flavor_profile_id": w.flavor_profile}}),
        ),
        check(
            "flavor-profile:get_all",
            "GET",
            "/v2/lbaas/flavorprofiles".into(),
            Admin,
        ),
        check(
            "flavor-profile:post",
            "POST",
            "/v2/lbaas/flavorprofiles".into(),
            Admin,
        )
        .body(
            json!({"flavorprofile": {"name": unique("fp"), "provider_name": "noop",
                                       "flavor_data": "{}"}}),
        ),
        check(
            "availability-zone:get_all",
            "GET",
            "/v2/lbaas/availabilityzones".into(),
            Read,
        ),
        check(
            "availability-zone-profile:get_all",
            "GET",
            "/v2/lbaas/availabilityzoneprofiles".into(),
            Admin,
        ),
        check(
            "amphora:get_all",
            "GET",
            "/v2/octavia/amphorae".into(),
            Admin,
        ),
    ]
}

/// Run every check as a user whose one role is `role` on alpha; collect every mismatch and fail
/// with all of them.
async fn rbac_matrix(role: &str) {
    let ks = Keystone::shared().await;
    let admin = ks.admin().await;
    let s = fulcrum(ks, &admin, FulcrumAuth::default()).await;
    let w = build_world(ks, &admin, &s).await;
    let subject = admin.user_with_roles(&w.alpha, &[role]).await;
    let token = ks.token(&subject).await;

    let mut failures = Vec::new();
    for c in checks(&w) {
        let allowed = c.rule.allows(role);
        let r = call_with_token(&s, Some(&token), c.method, &c.path, c.body.clone()).await;
        let what = format!("{} ({} {})", c.action, c.method, c.path);
        if allowed {
            if !r.status.is_success() {
                failures.push(format!(
                    "{what}: expected 2xx, got {} {}",
                    r.status,
                    short(&r.body)
                ));
                continue;
            }
            if let Err(e) = allowed_effects(&s, &w, role, &c, &r).await {
                failures.push(format!("{what}: {e}"));
            }
            if let Some((lb, reader)) = &c.settle {
                settle_as(&s, reader, lb).await;
            }
        } else {
            // Octavia's answer, also for another project's object the caller may not read.
            if r.status.as_u16() != 403 || r.body["faultstring"] != FORBIDDEN {
                failures.push(format!(
                    "{what}: expected 403, got {} {}",
                    r.status,
                    short(&r.body)
                ));
            }
        }
    }
    // Refused writes changed nothing: the victim is still there, beta's load balancer untouched.
    if !Rule::Write.allows(role) {
        let r = call_with_token(
            &s,
            Some(&w.builder),
            "GET",
            &format!("{LBS}/{}", w.victim),
            None,
        )
        .await;
        if r.status != 200 {
            failures.push(format!("refused delete removed the victim: {}", r.status));
        }
    }
    if !Rule::WriteOther.allows(role) {
        let r = call_with_token(
            &s,
            Some(&w.beta_builder),
            "GET",
            &format!("{LBS}/{}", w.beta_lb),
            None,
        )
        .await;
        if r.body["loadbalancer"]["description"] == "updated" {
            failures.push(format!("refused update changed beta's: {}", r.body));
        }
    }
    assert!(
        failures.is_empty(),
        "role {role}: {} of {} checks wrong:\n  {}",
        failures.len(),
        checks(&w).len(),
        failures.join("\n  ")
    );
}

/// What an allowed request must have done beyond its status: lists scoped right, creates and
/// deletes carried through.
async fn allowed_effects(
    s: &TestServer,
    w: &World,
    role: &str,
    c: &Check,
    r: &Reply,
) -> Result<(), String> {
    let global = Rule::ReadGlobal.allows(role);
    match c.action {
        "loadbalancer:get_all" => {
            let mut got = ids(&r.body, "loadbalancers");
            got.sort();
            let mut want = vec![w.lb.clone(), w.victim.clone()];
            if global {
                want.push(w.beta_lb.clone());
            }
            want.sort();
            // Allowed creates of earlier checks are not made yet; deletes not either.
            if got != want {
                return Err(format!("listed {got:?}, expected {want:?}"));
            }
        }
        "loadbalancer:get_all (?project_id=own)" => {
            let got = ids(&r.body, "loadbalancers");
            if got.contains(&w.beta_lb) || !got.contains(&w.lb) {
                return Err(format!("listed {got:?}"));
            }
        }
        "loadbalancer:get_all-global (?project_id=other)" => {
            let got = ids(&r.body, "loadbalancers");
            if got != vec![w.beta_lb.clone()] {
                return Err(format!("listed {got:?}, expected only beta's"));
            }
        }
        "loadbalancer:post" => {
            let lb = &r.body["loadbalancer"];
            if lb["project_id"] != w.alpha.id.as_str() {
                return Err(format!("created in the wrong project: {lb}"));
            }
            settle_as(s, &w.builder, &id(lb)).await;
        }
        "loadbalancer:delete" => {
            wait_for_as(
                s,
                &w.builder,
                &format!("{LBS}/{}", w.victim),
                "loadbalancer",
                "DELETED",
            )
            .await;
        }
        _ => {}
    }
    Ok(())
}

macro_rules! rbac_roles {
    ($($name:ident => $role:expr),* $(,)?) => {
        mod rbac {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::rbac_matrix($role).await
                }
            )*
        }
    };
}

rbac_roles! {
    admin => "admin",
    member => "member",
    reader => "reader",
    load_balancer_member => "load-balancer_member",
    load_balancer_observer => "load-balancer_observer",
    load_balancer_global_observer => "load-balancer_global_observer",
    load_balancer_admin => "load-balancer_admin",
    load_balancer_quota_admin => "load-balancer_quota_admin",
    no_octavia_role => "other",
}

/// With `enforce_new_defaults = true` the deprecated `load-balancer_*` roles grant nothing; the
/// new defaults (member, reader, admin) still work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enforce_new_defaults_drops_the_deprecated_roles() {
    let ks = Keystone::shared().await;
    let admin = ks.admin().await;
    let s = fulcrum(
        ks,
        &admin,
        FulcrumAuth {
            enforce_new_defaults: true,
            ..FulcrumAuth::default()
        },
    )
    .await;
    let alpha = admin.create_project("alpha").await;
    let member = ks
        .token(&admin.user_with_roles(&alpha, &["member"]).await)
        .await;
    let lb = active_lb(&s, &member, "new-defaults").await;
    let lb_path = format!("{LBS}/{lb}");
    for (role, list, show, update, profiles) in [
        ("member", 200, 200, 200, 403),
        ("reader", 200, 200, 403, 403),
        ("admin", 200, 200, 200, 200),
        ("load-balancer_member", 403, 403, 403, 403),
        ("load-balancer_observer", 403, 403, 403, 403),
        ("load-balancer_global_observer", 403, 403, 403, 403),
        ("load-balancer_admin", 403, 403, 403, 403),
    ] {
        let token = ks
            .token(&admin.user_with_roles(&alpha, &[role]).await)
            .await;
        let r = call_with_token(&s, Some(&token), "GET", LBS, None).await;
        assert_eq!(r.status, list, "{role} list: {}", r.body);
        let r = call_with_token(&s, Some(&token), "GET", &lb_path, None).await;
        assert_eq!(r.status, show, "{role} show: {}", r.body);
        let body = json!({"loadbalancer": {"description": role}});
        let r = call_with_token(&s, Some(&token), "PUT", &lb_path, Some(body)).await;
        assert_eq!(r.status.as_u16(), update, "{role} update: {}", r.body);
        if update == 200 {
            settle_as(&s, &member, &lb).await;
        } else {
            assert_forbidden(&r);
        }
        let r = call_with_token(&s, Some(&token), "GET", "/v2/lbaas/flavorprofiles", None).await;
        assert_eq!(r.status, profiles, "{role} flavor profiles: {}", r.body);
    }
}

/// Rules from a policy file (JSON or YAML) replace Octavia's defaults.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_file_overrides_rules() {
    let ks = Keystone::shared().await;
    let admin = ks.admin().await;
    let alpha = admin.create_project("alpha").await;
    let member = ks
        .token(&admin.user_with_roles(&alpha, &["member"]).await)
        .await;
    let dir = tempfile::tempdir().unwrap();

    // JSON: listing load balancers is for admins only; everything else as before.
    let json_file = dir.path().join("policy.json");
    std::fs::write(
        &json_file,
        r#"{"os_load-balancer_api:loadbalancer:get_all": "role:admin"}"#,
    )
    .unwrap();
    let s = fulcrum(
        ks,
        &admin,
        FulcrumAuth {
            policy_file: Some(json_file),
            ..FulcrumAuth::default()
        },
    )
    .await;
    let lb = active_lb(&s, &member, "policy").await;
    assert_forbidden(&call_with_token(&s, Some(&member), "GET", LBS, None).await);
    let r = call_with_token(&s, Some(&member), "GET", &format!("{LBS}/{lb}"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call_with_token(&s, Some(&member), "GET", "/v2/lbaas/listeners", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call_with_token(&s, Some(&admin.token), "GET", LBS, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(ids(&r.body, "loadbalancers"), vec![lb.clone()]);
    drop(s);

    // YAML, overriding a base rule every read refers to: reading becomes admin-only.
    let yaml_file = dir.path().join("policy.yaml");
    std::fs::write(
        &yaml_file,
        "# reads for admins only\n\"load-balancer:read\": \"rule:load-balancer:admin\"\n",
    )
    .unwrap();
    let s = fulcrum(
        ks,
        &admin,
        FulcrumAuth {
            policy_file: Some(yaml_file),
            ..FulcrumAuth::default()
        },
    )
    .await;
    let lb = create_as(&s, &member, LBS, "loadbalancer", lb_body("yaml")).await;
    let lb_path = format!("{LBS}/{}", id(&lb));
    settle_as(&s, &admin.token, &id(&lb)).await;
    assert_forbidden(&call_with_token(&s, Some(&member), "GET", LBS, None).await);
    assert_forbidden(&call_with_token(&s, Some(&member), "GET", &lb_path, None).await);
    assert_forbidden(&call_with_token(&s, Some(&member), "GET", "/v2/lbaas/flavors", None).await);
    let r = call_with_token(&s, Some(&admin.token), "GET", &lb_path, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Writes are unaffected.
    let r = call_with_token(
        &s,
        Some(&member),
        "PUT",
        &lb_path,
        Some(json!({"loadbalancer": {"name": "renamed"}})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Write a Fulcrum configuration using `policy` as the policy file.
fn config_with_policy(dir: &Path, keystone_url: &str, policy: &Path) -> std::path::PathBuf {
    let config = dir.join("fulcrum.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nbind = \"127.0.0.1:0\"\n[database]\nurl = \"sqlite://{}\"\n\
             [providers]\ndefault = \"noop\"\n\
             [auth]\nstrategy = \"keystone\"\n[auth.keystone]\nauth_url = \"{keystone_url}\"\n\
             username = \"fulcrum\"\npassword = \"{SERVICE_PASSWORD}\"\n\
             project_name = \"service\"\nuser_domain_name = \"Default\"\n\
             project_domain_name = \"Default\"\n\
             [policy]\nfile = \"{}\"\nenforce_new_defaults = false\n",
            dir.join("fulcrum.db").display(),
            policy.display()
        ),
    )
    .unwrap();
    config
}

/// An invalid policy file stops `fulcrum check-config` and `fulcrum serve` with a message that
/// names the problem.
#[test]
fn invalid_policy_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens here: neither command may need Keystone to judge the policy.
    let keystone_url = "http://127.0.0.1:9/v3";
    let fulcrum = env!("CARGO_BIN_EXE_fulcrum");
    let run = |config: &Path, command: &str| {
        let mut child = std::process::Command::new(fulcrum)
            .arg("--config")
            .arg(config)
            .arg(command)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("fulcrum runs");
        // `serve` must exit by itself; give it 20 s before calling it a failure.
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child.wait_with_output().unwrap()
    };

    let good = dir.path().join("good.yaml");
    std::fs::write(
        &good,
        "\"os_load-balancer_api:loadbalancer:get_all\": \"role:admin\"\n",
    )
    .unwrap();
    let config = config_with_policy(dir.path(), keystone_url, &good);
    let out = run(&config, "check-config");
    assert!(
        out.status.success(),
        "a valid policy file: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    for (name, text) in [
        (
            "unparsable.json",
            r#"{"os_load-balancer_api:loadbalancer:get_all": "#,
        ),
        ("unparsable.yaml", "\"load-balancer:read\": [\n"),
        (
            "bad-check.json",
            r#"{"os_load-balancer_api:loadbalancer:get_all": "role:admin or ("}"#,
        ),
        (
            "unknown-rule.json",
            r#"{"os_load-balancer_api:loadbalancer:get_all": "rule:no-such-rule"}"#,
        ),
        ("missing.yaml", ""),
    ] {
        let file = dir.path().join(name);
        if name != "missing.yaml" {
            std::fs::write(&file, text).unwrap();
        }
        let config = config_with_policy(dir.path(), keystone_url, &file);
        for command in ["check-config", "serve"] {
            let out = run(&config, command);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                !out.status.success(),
                "{command} with {name} succeeded:\n{stdout}\n{stderr}"
            );
            assert!(
                out.status.code().is_some(),
                "{command} with {name} did not exit by itself:\n{stderr}"
            );
            assert!(
                !stdout.contains("listening"),
                "{command} with {name} served: {stdout}"
            );
            assert!(
                stderr.to_lowercase().contains("policy"),
                "{command} with {name}: the message does not say what is wrong:\n{stderr}"
            );
        }
    }
}

/// A caller with a role on several projects acts in the project its token is scoped to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_scope_decides_the_project() {
    let ks = Keystone::shared().await;
    let admin = ks.admin().await;
    let s = fulcrum(ks, &admin, FulcrumAuth::default()).await;
    let alpha = admin.create_project("alpha").await;
    let beta = admin.create_project("beta").await;
    let user: User = admin.user_with_roles(&alpha, &["member"]).await;
    admin.assign_role(&beta.id, &user.id, "member").await;
    let in_alpha = ks.token_for(&user, &alpha.id).await;
    let in_beta = ks.token_for(&user, &beta.id).await;
    let lb = create_as(&s, &in_beta, LBS, "loadbalancer", lb_body("b")).await;
    assert_eq!(lb["project_id"], beta.id.as_str());
    settle_as(&s, &in_beta, &id(&lb)).await;
    let r = call_with_token(&s, Some(&in_alpha), "GET", LBS, None).await;
    assert_eq!(ids(&r.body, "loadbalancers"), Vec::<String>::new());
    let r = call_with_token(
        &s,
        Some(&in_alpha),
        "GET",
        &format!("{LBS}/{}", id(&lb)),
        None,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = call_with_token(&s, Some(&in_beta), "GET", LBS, None).await;
    assert_eq!(ids(&r.body, "loadbalancers"), vec![id(&lb)]);
}

/// The value of the sample `name` (with its labels) in a Prometheus exposition; 0 when absent.
fn sample(exposition: &str, name: &str) -> f64 {
    exposition
        .lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0.0)
}
