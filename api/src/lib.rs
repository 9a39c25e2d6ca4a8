//! Fulcrum's Octavia v2-compatible REST API, in three layers.
//!
//! - [`handlers`]: HTTP. A handler authenticates (the [`auth`] gate has already turned the request
//!   into a [`RequestContext`](auth::RequestContext): the caller and the policy in force), parses
//!   the path, query and body (with Octavia's error messages, [`body`]), calls one method of the
//!   [`Service`], and shapes the result into Octavia's response: root keys, `fields=`, paging
//!   links, status codes, faults ([`fault`]).
//! - [`service`]: the domain operations, knowing no HTTP. It loads what a request names and checks
//!   the request's policy rule on it, validates with `fulcrum_core::validate`, checks provider
//!   capabilities, quotas, flavors and zones, allocates VIPs, and records intent through one
//!   store transaction per request that locks the load balancer's tree, writes the desired
//!   objects with their `PENDING_*` statuses and queues the work item. No handler and no service
//!   method ever calls a backend: the reconciler converges what was recorded.
//! - [`shapes`]: the request and response shapes both layers share, named as in Octavia's API.
//!
//! Imports go one way: handlers use the service and shapes, the service uses shapes, shapes use
//! neither. [`AppState`] holds the [`Service`] and what only HTTP needs (authentication, the
//! policy, the view cache).
//!
//! Routes are declared here with `utoipa-axum`, so the OpenAPI document ([`openapi`]) is
//! generated from the same handlers that serve requests and cannot drift from them.

pub mod auth;
pub mod body;
pub mod document;
pub mod fault;
pub mod handlers;
pub mod health;
pub mod http_metrics;
pub mod listing;
pub mod metrics_endpoint;
pub mod middleware;
pub mod neutron_networks;
pub mod policy;
pub mod service;
pub mod shapes;
pub mod state;
pub mod view_cache;
pub mod wire;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use service::config::{ApiDefaults, QuotaDefaults};
pub use service::{Service, ServiceParts};
pub use state::AppState;

use handlers::{
    amphorae, capabilities, flavors, health_monitors, l7policies, l7rules, listeners,
    load_balancers, members, neutron, pools, profiles, provider, providers, quotas, tasks,
    versions,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Fulcrum",
        description = "Octavia v2-compatible load-balancing API of Fulcrum, and the API of its management module (`/v1/management/...`)."
    ),
    tags(
        (name = "loadbalancers"), (name = "listeners"), (name = "pools"), (name = "members"),
        (name = "healthmonitors"), (name = "l7policies"), (name = "l7rules"),
        (name = "flavors"), (name = "availabilityzones"),
        (name = "providers"), (name = "quotas"), (name = "amphorae"), (name = "versions"), (name = "networking"),
        (name = "status"), (name = "provider")
    )
)]
struct ApiDoc;

fn api_router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(versions::root))
        .routes(routes!(versions::v2))
        .routes(routes!(load_balancers::list, load_balancers::create))
        .routes(routes!(
            load_balancers::show,
            load_balancers::update,
            load_balancers::delete
        ))
        .routes(routes!(load_balancers::status))
        .routes(routes!(load_balancers::stats))
        .routes(routes!(load_balancers::failover))
        .routes(routes!(listeners::list, listeners::create))
        .routes(routes!(
            listeners::show,
            listeners::update,
            listeners::delete
        ))
        .routes(routes!(listeners::stats))
        .routes(routes!(pools::list, pools::create))
        .routes(routes!(pools::show, pools::update, pools::delete))
        .routes(routes!(
            members::list,
            members::create,
            members::batch_update
        ))
        .routes(routes!(members::show, members::update, members::delete))
        .routes(routes!(health_monitors::list, health_monitors::create))
        .routes(routes!(
            health_monitors::show,
            health_monitors::update,
            health_monitors::delete
        ))
        .routes(routes!(l7policies::list, l7policies::create))
        .routes(routes!(
            l7policies::show,
            l7policies::update,
            l7policies::delete
        ))
        .routes(routes!(l7rules::list, l7rules::create))
        .routes(routes!(l7rules::show, l7rules::update, l7rules::delete))
        .routes(routes!(providers::list))
        .routes(routes!(neutron::networks))
        .routes(routes!(neutron::subnets))
        .routes(routes!(neutron::ports))
        .routes(routes!(amphorae::list))
        .routes(routes!(amphorae::show))
        .routes(routes!(amphorae::failover))
        .routes(routes!(quotas::list))
        .routes(routes!(quotas::show, quotas::update, quotas::delete))
        .routes(routes!(quotas::defaults))
        .routes(routes!(capabilities::flavor_capabilities))
        .routes(routes!(capabilities::availability_zone_capabilities))
        .routes(routes!(
            profiles::list_flavor_profiles,
            profiles::create_flavor_profile
        ))
        .routes(routes!(
            profiles::show_flavor_profile,
            profiles::update_flavor_profile,
            profiles::delete_flavor_profile
        ))
        .routes(routes!(flavors::list_flavors, flavors::create_flavor))
        .routes(routes!(
            flavors::show_flavor,
            flavors::update_flavor,
            flavors::delete_flavor
        ))
        .routes(routes!(
            profiles::list_az_profiles,
            profiles::create_az_profile
        ))
        .routes(routes!(
            profiles::show_az_profile,
            profiles::update_az_profile,
            profiles::delete_az_profile
        ))
        .routes(routes!(flavors::list_zones, flavors::create_zone))
        .routes(routes!(
            flavors::show_zone,
            flavors::update_zone,
            flavors::delete_zone
        ))
        .routes(routes!(tasks::list_tasks))
        .routes(routes!(
            provider::put_load_balancer,
            provider::delete_load_balancer
        ))
        .routes(routes!(provider::put_listener, provider::delete_listener))
        .routes(routes!(provider::put_pool, provider::delete_pool))
        .routes(routes!(provider::replace_members))
        .routes(routes!(provider::put_member, provider::delete_member))
        .routes(routes!(
            provider::put_health_monitor,
            provider::delete_health_monitor
        ))
        .routes(routes!(provider::put_l7policy, provider::delete_l7policy))
        .routes(routes!(provider::put_l7rule, provider::delete_l7rule))
        .routes(routes!(provider::status))
        .routes(routes!(provider::check_flavor_metadata))
        .routes(routes!(provider::check_availability_zone_metadata))
}

/// The OpenAPI document served at `/openapi.json`: Octavia's API and the parts of the modules
/// served beside it (`modules`: management's), with the faults every operation shares.
pub fn openapi(
    modules: impl IntoIterator<Item = utoipa::openapi::OpenApi>,
) -> utoipa::openapi::OpenApi {
    let mut doc = api_router().split_for_parts().1;
    for module in modules {
        doc.merge(module);
    }
    document::complete(doc)
}

/// What the API's address serves beside Octavia's API.
pub struct Operations {
    /// The health checks (`/healthcheck`, `/healthcheck/ready`, `/healthcheck/live`).
    pub health: health::Health,
    /// `/metrics`, when it is served here rather than on an address of its own.
    pub metrics: Option<MetricsOnApi>,
    /// The management API (`/v1/management/...`), served behind the gate, when enabled.
    pub management: Option<ModuleApi>,
}

/// The API of a module served beside Octavia's, behind the gate.
pub struct ModuleApi {
    /// Its routes.
    pub routes: Router,
    /// Its part of the OpenAPI document.
    pub document: utoipa::openapi::OpenApi,
}

/// `/metrics` on the API's address.
pub struct MetricsOnApi {
    /// Where the metrics come from.
    pub exposition: Arc<dyn metrics_endpoint::Exposition>,
    /// Served to anyone (`true`) or to administrators only (rule `fulcrum:metrics:get`).
    pub public: bool,
}

/// The whole HTTP application. Octavia's `/v2.0/` prefix is accepted as an alias of `/v2/`.
///
/// Every route but version discovery at `/`, `/openapi.json` and the health checks passes the
/// [`auth::gate`]; so does `/metrics` unless it is public. Requests to Octavia's API and to a
/// module's are counted in the [`http_metrics`]; health checks and metrics scrapes are not. A
/// module's API has Octavia's protocol details (request ids, error bodies, the URI limit) as
/// well.
pub fn app(state: Arc<AppState>, operations: Operations) -> Router {
    let gate = auth::gate::Gate {
        auth: state.auth.clone(),
        policy: state.policy.clone(),
    };
    let (management, modules) = match operations.management {
        Some(module) => (Some(module.routes), vec![module.document]),
        None => (None, vec![]),
    };
    let mut app =
        octavia_api(state, gate.clone(), openapi(modules)).merge(health::routes(operations.health));
    if let Some(metrics) = operations.metrics {
        let access = if metrics.public {
            metrics_endpoint::Access::Public
        } else {
            metrics_endpoint::Access::Gated(gate.clone())
        };
        app = app.merge(metrics_endpoint::routes(metrics.exposition, access));
    }
    if let Some(management) = management {
        app = app.merge(
            management
                .route_layer(axum::middleware::from_fn_with_state(gate, auth::gate::gate))
                .layer(axum::middleware::from_fn(middleware::openstack_protocol))
                .layer(axum::middleware::from_fn(http_metrics::record)),
        );
    }
    app
}

/// Octavia's API, behind the gate, with its protocol details and request metrics, and `doc`
/// served at `/openapi.json`.
fn octavia_api(
    state: Arc<AppState>,
    gate: auth::gate::Gate,
    doc: utoipa::openapi::OpenApi,
) -> Router {
    let (router, _) = api_router().split_for_parts();
    let doc = Arc::new(doc);
    router
        .route("/v2.0", axum::routing::get(versions::v2))
        .route("/v2.0/", axum::routing::get(neutron::version))
        .route_layer(axum::middleware::from_fn_with_state(gate, auth::gate::gate))
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .fallback(not_found)
        .layer(axum::middleware::from_fn(middleware::openstack_protocol))
        .layer(axum::middleware::from_fn(http_metrics::record))
        .with_state(state)
}

async fn not_found(uri: Uri) -> Response {
    fault::fault(
        StatusCode::NOT_FOUND,
        format!("The resource could not be found: {}", uri.path()),
    )
}

/// Rewrite `/v2.0/lbaas/...` and `/v2.0/octavia/...` to `/v2/...` before routing, as Octavia
/// serves both prefixes. Neutron's `/v2.0/networks` (served for clients that resolve names)
/// keeps its path.
pub fn rewrite_legacy_prefix(mut req: Request) -> Request {
    let path = req.uri().path();
    let rewritten = ["/v2.0/lbaas", "/v2.0/octavia"]
        .iter()
        .find(|p| path.starts_with(*p))
        .map(|_| format!("/v2{}", &path["/v2.0".len()..]));
    if let Some(new_path) = rewritten {
        let pq = match req.uri().query() {
            Some(q) => format!("{new_path}?{q}"),
            None => new_path,
        };
        let mut parts = req.uri().clone().into_parts();
        if let Ok(pq) = pq.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
    req
}

#[cfg(test)]
mod tests {
    use axum::http::Method;

    use crate::policy::actions::for_route;

    #[test]
    fn every_route_is_governed_by_a_policy_rule() {
        let doc = crate::openapi([]);
        for (path, item) in doc.paths.paths {
            let methods = [
                (Method::GET, item.get.is_some()),
                (Method::POST, item.post.is_some()),
                (Method::PUT, item.put.is_some()),
                (Method::DELETE, item.delete.is_some()),
            ];
            for (method, present) in methods {
                if present {
                    assert!(
                        for_route(&method, &path).is_some(),
                        "{method} {path} has no policy rule"
                    );
                }
            }
        }
    }
}
