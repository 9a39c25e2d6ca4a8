//! One device's REST API, behind a gate that injects faults, authenticates and counts each call.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};

use super::auth::AuthError;
use super::calls::Call;
use super::device::Role;
use super::error::F5Error;
use super::{Endpoint, as3, icontrol, lock};
use crate::faults::Decision;

const LOGIN: &str = "/mgmt/shared/authn/login";

/// The device's routes, gated.
pub(super) fn router(endpoint: Endpoint) -> Router {
    Router::new()
        .route(LOGIN, post(icontrol::login))
        .route(
            "/mgmt/shared/authz/tokens/{token}",
            patch(icontrol::extend_token),
        )
        .route("/mgmt/shared/appsvcs/info", get(as3::info))
        .route(
            "/mgmt/shared/appsvcs/declare",
            get(as3::get_all)
                .post(as3::post_all)
                .delete(as3::delete_all),
        )
        .route(
            "/mgmt/shared/appsvcs/declare/{tenant}",
            get(as3::get_tenant)
                .post(as3::post_tenant)
                .delete(as3::delete_tenant),
        )
        .route("/mgmt/shared/appsvcs/task", get(as3::tasks))
        .route("/mgmt/shared/appsvcs/task/{id}", get(as3::task))
        .route("/mgmt/tm/sys/version", get(icontrol::version))
        .route("/mgmt/tm/cm/device", get(icontrol::devices))
        .route("/mgmt/tm/cm/sync-status", get(icontrol::sync_status))
        .route("/mgmt/tm/cm/device-group", get(icontrol::device_groups))
        .route("/mgmt/tm/cm", post(icontrol::config_sync))
        .route(
            "/mgmt/tm/sys/failover",
            get(icontrol::failover_state).post(icontrol::force_standby),
        )
        .route("/mgmt/tm/ltm/virtual/stats", get(icontrol::virtual_stats))
        .route("/mgmt/tm/ltm/pool/stats", get(icontrol::pool_stats))
        .route(
            "/mgmt/shared/file-transfer/uploads/{name}",
            post(icontrol::upload),
        )
        .route(
            "/mgmt/tm/sys/software/image",
            get(icontrol::images).post(icontrol::install),
        )
        .route(
            "/mgmt/tm/sys/software/hotfix",
            get(icontrol::hotfixes).post(icontrol::install),
        )
        .route("/mgmt/tm/sys/software/volume", get(icontrol::volumes))
        .route("/mgmt/tm/sys", post(icontrol::reboot))
        .route(
            "/mgmt/tm/sys/ucs",
            get(icontrol::ucs_list).post(icontrol::ucs_command),
        )
        .route(
            "/mgmt/tm/sys/license",
            get(icontrol::license).post(icontrol::license_command),
        )
        .fallback(unknown_path)
        .layer(middleware::from_fn_with_state(endpoint.clone(), gate))
        .with_state(endpoint)
}

async fn unknown_path(request: Request) -> F5Error {
    F5Error::not_found(request.uri().path())
}

/// A rebooting device answers 503; then injected faults, then authentication. Every call
/// answered is counted with the role its device had when the call arrived.
async fn gate(State(endpoint): State<Endpoint>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let now = endpoint.shared.now();
    let (standby, rebooting) = {
        let cluster = lock(&endpoint.shared.cluster);
        let device = &cluster.devices[endpoint.device];
        (device.role == Role::Standby, device.rebooting(now))
    };
    let decision = lock(&endpoint.shared.faults).decide(endpoint.device, &method, &path);
    let response = match decision {
        _ if rebooting => {
            F5Error::icontrol(StatusCode::SERVICE_UNAVAILABLE, "The device is rebooting.")
                .into_response()
        }
        Decision::Fail(status) => F5Error::injected(status).into_response(),
        Decision::Pass => serve(&endpoint, &path, request, next).await,
        Decision::Hold(hold) => {
            // A held call is served even when its client has given up, as a device would.
            let held = endpoint.clone();
            let served_path = path.clone();
            tokio::spawn(async move {
                tokio::time::sleep(hold).await;
                serve(&held, &served_path, request, next).await
            })
            .await
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
    };
    record(&endpoint, standby, &method, path, response.status());
    response
}

fn record(endpoint: &Endpoint, standby: bool, method: &Method, path: String, status: StatusCode) {
    lock(&endpoint.shared.calls).record(Call {
        device: endpoint.device,
        standby,
        method: method.to_string(),
        path,
        status: status.as_u16(),
    });
}

async fn serve(endpoint: &Endpoint, path: &str, request: Request, next: Next) -> Response {
    if path != LOGIN {
        let now = endpoint.shared.now();
        let authenticated =
            lock(&endpoint.shared.auth).authenticate(endpoint.device, request.headers(), now);
        match authenticated {
            Ok(_) => {}
            Err(AuthError::BadCredentials) => {
                return F5Error::unauthorized(
                    "Authorization failed: no user authentication header or token detected",
                )
                .into_response();
            }
            Err(AuthError::TokenInvalid) => {
                return F5Error::unauthorized("X-F5-Auth-Token does not exist.").into_response();
            }
        }
    }
    next.run(request).await
}
