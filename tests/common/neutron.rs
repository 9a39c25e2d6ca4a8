//! A Neutron stand-in for tests: the networks, subnets and ports of the networking API reference
//! (v2.0) that Fulcrum's `neutron` network back-end uses, served by axum on 127.0.0.1:0.
//!
//! Objects carry `project_id` (and `tenant_id`), `created_at`, networks `shared`, subnets their
//! `gateway_ip` (the CIDR's first host); ports are created with an address of the subnet's
//! allocation pools or the one asked for, and refused with Neutron's error body
//! (`{"NeutronError": {"type", "message", "detail"}}`): 409 `IpAddressAlreadyAllocated`, 404
//! `NetworkNotFound`, `SubnetNotFound`, `PortNotFound`. Routers are seeded through the handle,
//! and attaching one to a subnet makes the interface port Neutron's `add_router_interface` makes:
//! the subnet's gateway address, the router's id as `device_id`, `network:router_interface` (or
//! `network:router_interface_distributed` for a distributed router) as `device_owner`. Lists
//! take equality filters on any top-level attribute, a filter repeated matching any of its
//! values, and `fixed_ips=subnet_id=...` / `fixed_ips=ip_address=...` on ports. A test seeds
//! objects and inspects ports through the handle, and can stop the server (connections are then
//! refused).

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

#[derive(Default)]
struct Objects {
    networks: Vec<Value>,
    subnets: Vec<Value>,
    routers: Vec<Value>,
    ports: Vec<Value>,
    /// The ids of the QoS policies that exist.
    qos_policies: Vec<String>,
    /// The `X-Auth-Token` of each request, in order (`None`: without one).
    tokens: Vec<Option<String>>,
    /// Refuse the next request that has a token, and every later one with that token (as if it
    /// had been revoked).
    refuse_next_token: bool,
    refused: Vec<String>,
}

type Shared = Arc<Mutex<Objects>>;

/// A running stand-in; stopped when dropped.
pub struct FakeNeutron {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    objects: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeNeutron {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn fault(status: StatusCode, kind: &str, message: String) -> Response {
    (
        status,
        Json(json!({"NeutronError": {"type": kind, "message": message, "detail": ""}})),
    )
        .into_response()
}

impl FakeNeutron {
    /// Serve on a random loopback port.
    pub async fn start() -> FakeNeutron {
        let objects: Shared = Arc::default();
        let app = Router::new()
            .route("/v2.0/networks/{id}", get(show_network))
            .route("/v2.0/subnets/{id}", get(show_subnet))
            .route("/v2.0/subnets", get(list_subnets))
            .route("/v2.0/ports", get(list_ports).post(create_port))
            .route(
                "/v2.0/ports/{id}",
                get(show_port).put(update_port).delete(delete_port),
            )
            .layer(axum::middleware::from_fn_with_state(
                objects.clone(),
                check_token,
            ))
            .with_state(objects.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeNeutron {
            url,
            objects,
            server,
        }
    }

    /// Stop serving: every later connection is refused.
    pub async fn stop(&self) {
        self.server.abort();
        while !self.server.is_finished() {
            tokio::task::yield_now().await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Objects> {
        self.objects.lock().unwrap()
    }

    /// A network of `project`, shared or not; its id.
    pub fn add_network(&self, project: &str, shared: bool) -> String {
        let id = new_id();
        self.lock().networks.push(json!({
            "id": id, "name": format!("net-{project}"), "project_id": project,
            "tenant_id": project, "shared": shared, "admin_state_up": true,
            "status": "ACTIVE", "created_at": now(),
        }));
        id
    }

    /// A subnet of `network` with `cidr` and one allocation pool; its id.
    pub fn add_subnet(
        &self,
        network: &str,
        project: &str,
        cidr: &str,
        pool: (&str, &str),
    ) -> String {
        let id = new_id();
        let base: Ipv4Addr = cidr.split('/').next().unwrap().parse().unwrap();
        let gateway = Ipv4Addr::from(u32::from(base) + 1).to_string();
        self.lock().subnets.push(json!({
            "id": id, "name": format!("subnet-{cidr}"), "network_id": network,
            "project_id": project, "tenant_id": project, "cidr": cidr, "ip_version": 4,
            "gateway_ip": gateway,
            "allocation_pools": [{"start": pool.0, "end": pool.1}], "created_at": now(),
        }));
        id
    }

    /// A router of `project`, distributed (DVR) or not; its id.
    pub fn add_router(&self, project: &str, distributed: bool) -> String {
        let id = new_id();
        self.lock().routers.push(json!({
            "id": id, "name": format!("router-{project}"), "project_id": project,
            "tenant_id": project, "admin_state_up": true, "status": "ACTIVE",
            "distributed": distributed, "external_gateway_info": null, "created_at": now(),
        }));
        id
    }

    /// Attach `router` to `subnet` as Neutron's `add_router_interface` with a `subnet_id` does:
    /// an interface port on the subnet's gateway address, owned by the router; its id.
    pub fn add_router_interface(&self, router: &str, subnet: &str) -> String {
        let (owner, project, network, gateway) = {
            let o = self.lock();
            let r = o
                .routers
                .iter()
                .find(|r| r["id"] == router)
                .expect("the router");
            let s = o
                .subnets
                .iter()
                .find(|s| s["id"] == subnet)
                .expect("the subnet");
            let owner = if r["distributed"] == true {
                "network:router_interface_distributed"
            } else {
                "network:router_interface"
            };
            (
                owner,
                r["project_id"].clone(),
                s["network_id"].clone(),
                s["gateway_ip"].clone(),
            )
        };
        self.add_port(json!({
            "network_id": network, "project_id": project, "tenant_id": project,
            "device_id": router, "device_owner": owner, "status": "ACTIVE",
            "fixed_ips": [{"subnet_id": subnet, "ip_address": gateway}],
        }))
    }

    /// A QoS policy that ports may name.
    pub fn add_qos_policy(&self, id: &str) {
        self.lock().qos_policies.push(id.to_string());
    }

    /// Store a port as given (with an id, `created_at` and defaults added unless given); its id.
    pub fn add_port(&self, mut port: Value) -> String {
        let id = new_id();
        let defaults = json!({
            "id": id, "name": "", "description": "", "device_id": "", "device_owner": "",
            "admin_state_up": true, "status": "DOWN", "fixed_ips": [], "created_at": now(),
        });
        for (k, v) in defaults.as_object().unwrap() {
            port.as_object_mut().unwrap().entry(k).or_insert(v.clone());
        }
        let id = port["id"].as_str().unwrap().to_string();
        self.lock().ports.push(port);
        id
    }

    /// Make a port look created long ago (2020).
    pub fn age_port(&self, id: &str) {
        for p in self.lock().ports.iter_mut().filter(|p| p["id"] == id) {
            p["created_at"] = "2020-01-01T00:00:00Z".into();
        }
    }

    /// The `X-Auth-Token` of every request so far.
    pub fn tokens(&self) -> Vec<Option<String>> {
        self.lock().tokens.clone()
    }

    /// Answer 401 to the next request with a token, and to every later one with that token.
    pub fn revoke_next_token(&self) {
        self.lock().refuse_next_token = true;
    }

    /// Every port.
    pub fn ports(&self) -> Vec<Value> {
        self.lock().ports.clone()
    }

    /// A port by id.
    pub fn port(&self, id: &str) -> Option<Value> {
        self.lock().ports.iter().find(|p| p["id"] == id).cloned()
    }
}

async fn check_token(
    State(o): State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let token = request
        .headers()
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    {
        let mut o = o.lock().unwrap();
        o.tokens.push(token.clone());
        if let Some(token) = token {
            if std::mem::take(&mut o.refuse_next_token) {
                o.refused.push(token.clone());
            }
            if o.refused.contains(&token) {
                return StatusCode::UNAUTHORIZED.into_response();
            }
        }
    }
    next.run(request).await
}

/// A list's filters: the values of each attribute, any of which may match.
type Filters = HashMap<String, Vec<String>>;

fn filters(query: Vec<(String, String)>) -> Filters {
    let mut out = Filters::new();
    for (k, v) in query {
        out.entry(k).or_default().push(v);
    }
    out
}

fn matches(object: &Value, filters: &Filters) -> bool {
    filters.iter().all(|(k, values)| {
        values.iter().any(|v| match (k.as_str(), &object[k]) {
            ("fixed_ips", Value::Array(fixed)) => v
                .split_once('=')
                .is_some_and(|(field, wanted)| fixed.iter().any(|f| f[field] == wanted)),
            (_, Value::String(s)) => s == v,
            (_, Value::Bool(b)) => b.to_string() == *v,
            _ => false,
        })
    })
}

async fn show_network(State(o): State<Shared>, Path(id): Path<String>) -> Response {
    match o.lock().unwrap().networks.iter().find(|n| n["id"] == id) {
        Some(n) => Json(json!({"network": n})).into_response(),
        None => fault(
            StatusCode::NOT_FOUND,
            "NetworkNotFound",
            format!("Network {id} could not be found."),
        ),
    }
}

async fn show_subnet(State(o): State<Shared>, Path(id): Path<String>) -> Response {
    match o.lock().unwrap().subnets.iter().find(|n| n["id"] == id) {
        Some(s) => Json(json!({"subnet": s})).into_response(),
        None => fault(
            StatusCode::NOT_FOUND,
            "SubnetNotFound",
            format!("Subnet {id} could not be found."),
        ),
    }
}

async fn list_subnets(
    State(o): State<Shared>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let o = o.lock().unwrap();
    let filters = filters(query);
    let found: Vec<&Value> = o.subnets.iter().filter(|s| matches(s, &filters)).collect();
    Json(json!({"subnets": found})).into_response()
}

async fn show_port(State(o): State<Shared>, Path(id): Path<String>) -> Response {
    match o.lock().unwrap().ports.iter().find(|n| n["id"] == id) {
        Some(p) => Json(json!({"port": p})).into_response(),
        None => fault(
            StatusCode::NOT_FOUND,
            "PortNotFound",
            format!("Port {id} could not be found."),
        ),
    }
}

async fn list_ports(
    State(o): State<Shared>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let o = o.lock().unwrap();
    let filters = filters(query);
    let found: Vec<&Value> = o.ports.iter().filter(|p| matches(p, &filters)).collect();
    Json(json!({"ports": found})).into_response()
}

async fn delete_port(State(o): State<Shared>, Path(id): Path<String>) -> Response {
    let mut o = o.lock().unwrap();
    let before = o.ports.len();
    o.ports.retain(|p| p["id"] != id);
    if o.ports.len() == before {
        return fault(
            StatusCode::NOT_FOUND,
            "PortNotFound",
            format!("Port {id} could not be found."),
        );
    }
    StatusCode::NO_CONTENT.into_response()
}

fn in_use(o: &Objects, subnet: &str, address: &str) -> bool {
    o.ports.iter().any(|p| {
        p["fixed_ips"].as_array().is_some_and(|f| {
            f.iter()
                .any(|f| f["subnet_id"] == subnet && f["ip_address"] == address)
        })
    })
}

/// Neutron's 404 for a QoS policy it does not know, when `qos` names one.
fn unknown_qos(o: &Objects, qos: &Value) -> Option<Response> {
    let id = qos.as_str()?;
    (!o.qos_policies.iter().any(|p| p == id)).then(|| {
        fault(
            StatusCode::NOT_FOUND,
            "QosPolicyNotFound",
            format!("QoS policy {id} could not be found."),
        )
    })
}

/// `PUT /v2.0/ports/{id}`: only `qos_policy_id` is changed here.
async fn update_port(
    State(o): State<Shared>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut o = o.lock().unwrap();
    let qos = body["port"]["qos_policy_id"].clone();
    if let Some(refused) = unknown_qos(&o, &qos) {
        return refused;
    }
    let Some(port) = o.ports.iter_mut().find(|p| p["id"] == id) else {
        return fault(
            StatusCode::NOT_FOUND,
            "PortNotFound",
            format!("Port {id} could not be found."),
        );
    };
    port["qos_policy_id"] = qos;
    (StatusCode::OK, Json(json!({"port": port.clone()}))).into_response()
}

async fn create_port(State(o): State<Shared>, Json(body): Json<Value>) -> Response {
    let mut o = o.lock().unwrap();
    let req = &body["port"];
    if let Some(refused) = unknown_qos(&o, &req["qos_policy_id"]) {
        return refused;
    }
    let network_id = req["network_id"].as_str().unwrap_or_default().to_string();
    if !o.networks.iter().any(|n| n["id"] == network_id) {
        return fault(
            StatusCode::NOT_FOUND,
            "NetworkNotFound",
            format!("Network {network_id} could not be found."),
        );
    }
    let mut fixed_ips = Vec::new();
    for wanted in req["fixed_ips"].as_array().cloned().unwrap_or_default() {
        let subnet_id = wanted["subnet_id"].as_str().unwrap_or_default();
        let Some(subnet) = o.subnets.iter().find(|s| s["id"] == subnet_id).cloned() else {
            return fault(
                StatusCode::NOT_FOUND,
                "SubnetNotFound",
                format!("Subnet {subnet_id} could not be found."),
            );
        };
        let address = match wanted["ip_address"].as_str() {
            Some(a) if in_use(&o, subnet_id, a) => {
                return fault(
                    StatusCode::CONFLICT,
                    "IpAddressAlreadyAllocated",
                    format!("IP address {a} already allocated in subnet {subnet_id}"),
                );
            }
            Some(a) => a.to_string(),
            None => {
                let pool = &subnet["allocation_pools"][0];
                let start: Ipv4Addr = pool["start"].as_str().unwrap().parse().unwrap();
                let end: Ipv4Addr = pool["end"].as_str().unwrap().parse().unwrap();
                let free = (u32::from(start)..=u32::from(end))
                    .map(|n| Ipv4Addr::from(n).to_string())
                    .find(|a| !in_use(&o, subnet_id, a));
                match free {
                    Some(a) => a,
                    None => {
                        return fault(
                            StatusCode::CONFLICT,
                            "IpAddressGenerationFailure",
                            format!("No more IP addresses available on network {network_id}."),
                        );
                    }
                }
            }
        };
        fixed_ips.push(json!({"subnet_id": subnet_id, "ip_address": address}));
    }
    let project = req["project_id"].as_str().unwrap_or("admin-project");
    let port = json!({
        "id": new_id(),
        "name": req["name"].as_str().unwrap_or_default(),
        "description": req["description"].as_str().unwrap_or_default(),
        "network_id": network_id,
        "project_id": project,
        "tenant_id": project,
        "admin_state_up": req["admin_state_up"].as_bool().unwrap_or(true),
        "device_id": req["device_id"].as_str().unwrap_or_default(),
        "device_owner": req["device_owner"].as_str().unwrap_or_default(),
        "qos_policy_id": req["qos_policy_id"].clone(),
        "fixed_ips": fixed_ips,
        "status": "DOWN",
        "created_at": now(),
    });
    o.ports.push(port.clone());
    (StatusCode::CREATED, Json(json!({"port": port}))).into_response()
}
