//! iControl REST: login and tokens, the version, devices and failover, statistics, software,
//! UCS archives and the license.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::AuthError;
use super::device::{Role, Ucs};
use super::error::F5Error;
use super::stats::{self, Table};
use super::{Endpoint, lock};

type Answer = Result<Response, F5Error>;

fn parse<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, F5Error> {
    serde_json::from_slice(body).map_err(|e| F5Error::bad_request(format!("invalid body: {e}")))
}

/// An iControl "stats" body with one entry of descriptions.
fn one_entry(kind: &str, link: &str, fields: &[(&str, String)]) -> Value {
    let entries: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(name, value)| ((*name).to_owned(), json!({ "description": value })))
        .collect();
    json!({
        "kind": kind,
        "selfLink": format!("https://localhost{link}"),
        "entries": { format!("https://localhost{link}/0"): { "nestedStats": { "entries": entries } } },
    })
}

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
    #[serde(rename = "loginProviderName", default)]
    login_provider_name: Option<String>,
}

/// `POST /mgmt/shared/authn/login`.
pub(super) async fn login(State(endpoint): State<Endpoint>, body: Bytes) -> Answer {
    let login: Login = parse(&body)?;
    let now = endpoint.shared.now();
    let token = lock(&endpoint.shared.auth)
        .login(endpoint.device, &login.username, &login.password, now)
        .map_err(|_| F5Error::unauthorized("Authentication failed."))?;
    Ok(Json(json!({
        "username": login.username,
        "loginProviderName": login.login_provider_name.unwrap_or_else(|| "tmos".into()),
        "token": {
            "token": token.token,
            "name": token.token,
            "userName": login.username,
            "timeout": token.timeout,
            "selfLink": format!("https://localhost/mgmt/shared/authz/tokens/{}", token.token),
        },
    }))
    .into_response())
}

#[derive(Deserialize)]
struct TokenTimeout {
    timeout: u64,
}

/// `PATCH /mgmt/shared/authz/tokens/{token}` `{"timeout": seconds}`.
pub(super) async fn extend_token(
    State(endpoint): State<Endpoint>,
    Path(token): Path<String>,
    body: Bytes,
) -> Answer {
    let TokenTimeout { timeout } = parse(&body)?;
    if !(1..=36_000).contains(&timeout) {
        return Err(F5Error::bad_request(format!(
            "timeout must be between 1 and 36000 seconds, not {timeout}"
        )));
    }
    let now = endpoint.shared.now();
    lock(&endpoint.shared.auth)
        .extend(endpoint.device, &token, Duration::from_secs(timeout), now)
        .map_err(|e| match e {
            AuthError::BadCredentials | AuthError::TokenInvalid => {
                F5Error::icontrol(StatusCode::NOT_FOUND, format!("token {token} not found"))
            }
        })?;
    Ok(Json(json!({ "token": token, "timeout": timeout })).into_response())
}

/// `GET /mgmt/tm/sys/version`.
pub(super) async fn version(State(endpoint): State<Endpoint>) -> Json<Value> {
    let cluster = lock(&endpoint.shared.cluster);
    let device = &cluster.devices[endpoint.device];
    Json(one_entry(
        "tm:sys:version:versionstats",
        "/mgmt/tm/sys/version",
        &[
            ("Build", device.build.clone()),
            ("Edition", "Final".into()),
            ("Product", "BIG-IP".into()),
            ("Title", "Main Package".into()),
            ("Version", device.version.clone()),
        ],
    ))
}

/// `GET /mgmt/tm/cm/device`: every device of the pair, with its failover state.
pub(super) async fn devices(State(endpoint): State<Endpoint>) -> Json<Value> {
    let cluster = lock(&endpoint.shared.cluster);
    let items: Vec<Value> = cluster
        .devices
        .iter()
        .enumerate()
        .map(|(i, device)| {
            json!({
                "kind": "tm:cm:device:devicestate",
                "name": device.hostname,
                "fullPath": format!("/Common/{}", device.hostname),
                "hostname": device.hostname,
                "managementIp": device.address,
                "failoverState": device.role.as_str(),
                "selfDevice": if i == endpoint.device { "true" } else { "false" },
                "version": device.version,
                "build": device.build,
                "product": "BIG-IP",
            })
        })
        .collect();
    Json(json!({ "kind": "tm:cm:device:devicecollectionstate", "items": items }))
}

/// `GET /mgmt/tm/cm/sync-status`: the device group's config-sync status as this device sees it.
pub(super) async fn sync_status(State(endpoint): State<Endpoint>) -> Json<Value> {
    let now = endpoint.shared.now();
    let cluster = lock(&endpoint.shared.cluster);
    let (status, color) = cluster.sync_status(endpoint.device, now);
    let summary = match status.as_str() {
        "In Sync" => "All devices in the device group are in sync".to_owned(),
        "Standalone" => "This device is not in a device group".to_owned(),
        other => format!("The device group is {}", other.to_lowercase()),
    };
    Json(one_entry(
        "tm:cm:sync-status:sync-statusstats",
        "/mgmt/tm/cm/sync-status",
        &[
            ("color", color.to_owned()),
            ("mode", "high-availability".to_owned()),
            ("status", status),
            ("summary", summary),
        ],
    ))
}

/// The device group a simulated pair syncs in.
pub(super) const DEVICE_GROUP: &str = "fulcrum-failover";

/// `GET /mgmt/tm/cm/device-group`: the pair's sync-failover group (none for a single device).
pub(super) async fn device_groups(State(endpoint): State<Endpoint>) -> Json<Value> {
    let cluster = lock(&endpoint.shared.cluster);
    let items: Vec<Value> = if cluster.devices.len() < 2 {
        Vec::new()
    } else {
        vec![json!({
            "kind": "tm:cm:device-group:device-groupstate",
            "name": DEVICE_GROUP,
            "fullPath": format!("/Common/{DEVICE_GROUP}"),
            "type": "sync-failover",
            "autoSync": "disabled",
        })]
    };
    Json(json!({ "kind": "tm:cm:device-group:device-groupcollectionstate", "items": items }))
}

#[derive(Deserialize)]
struct CmCommand {
    command: String,
    #[serde(rename = "utilCmdArgs")]
    util_cmd_args: String,
}

/// `POST /mgmt/tm/cm` `{"command": "run", "utilCmdArgs": "config-sync to-group <group>"}`: this
/// device's configuration goes to its peer, and the pair is in sync again.
pub(super) async fn config_sync(State(endpoint): State<Endpoint>, body: Bytes) -> Answer {
    let order: CmCommand = parse(&body)?;
    let group = order
        .util_cmd_args
        .strip_prefix("config-sync to-group ")
        .map(str::trim);
    if order.command != "run" || group.is_none() {
        return Err(F5Error::bad_request(
            "only {\"command\": \"run\", \"utilCmdArgs\": \"config-sync to-group <group>\"} \
             is simulated",
        ));
    }
    let mut cluster = lock(&endpoint.shared.cluster);
    if cluster.devices.len() < 2 || group != Some(DEVICE_GROUP) {
        return Err(F5Error::bad_request(format!(
            "01070734:3: Configuration error: The device group {} was not found",
            group.unwrap_or_default()
        )));
    }
    let tenants = cluster.devices[endpoint.device].tenants.clone();
    for device in &mut cluster.devices {
        device.tenants = tenants.clone();
        device.sync_override = None;
    }
    Ok(Json(json!({ "kind": "tm:cm:runstate", "command": "run",
                    "utilCmdArgs": order.util_cmd_args }))
    .into_response())
}

/// `GET /mgmt/tm/sys/failover`.
pub(super) async fn failover_state(State(endpoint): State<Endpoint>) -> Json<Value> {
    let now = endpoint.shared.now();
    let cluster = lock(&endpoint.shared.cluster);
    let device = &cluster.devices[endpoint.device];
    let secs = now.saturating_duration_since(device.role_since).as_secs();
    let state = format!(
        "Failover {} for {}d {:02}:{:02}:{:02}",
        device.role.as_str(),
        secs / 86_400,
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    );
    Json(json!({
        "kind": "tm:sys:failover:failoverstats",
        "selfLink": "https://localhost/mgmt/tm/sys/failover",
        "apiRawValues": { "apiAnonymous": state },
    }))
}

#[derive(Deserialize)]
struct FailoverCommand {
    command: String,
    #[serde(default)]
    standby: bool,
}

/// `POST /mgmt/tm/sys/failover` `{"command": "run", "standby": true}`: this device goes
/// standby and its peer takes over (nothing changes when it is standby already).
pub(super) async fn force_standby(State(endpoint): State<Endpoint>, body: Bytes) -> Answer {
    let order: FailoverCommand = parse(&body)?;
    if order.command != "run" || !order.standby {
        return Err(F5Error::bad_request(
            "only {\"command\": \"run\", \"standby\": true} is simulated",
        ));
    }
    let now = endpoint.shared.now();
    let mut cluster = lock(&endpoint.shared.cluster);
    if cluster.devices.len() < 2 {
        return Err(F5Error::bad_request(
            "01070712:3: This device has no peer to fail over to",
        ));
    }
    if cluster.devices[endpoint.device].role == Role::Active {
        cluster.failover(now);
    }
    Ok(
        Json(json!({ "kind": "tm:sys:failover:runstate", "command": "run", "standby": true }))
            .into_response(),
    )
}

/// `GET /mgmt/tm/ltm/virtual/stats`.
pub(super) async fn virtual_stats(State(endpoint): State<Endpoint>) -> Json<Value> {
    stats_of(&endpoint, Table::Virtual)
}

/// `GET /mgmt/tm/ltm/pool/stats`.
pub(super) async fn pool_stats(State(endpoint): State<Endpoint>) -> Json<Value> {
    stats_of(&endpoint, Table::Pool)
}

fn stats_of(endpoint: &Endpoint, table: Table) -> Json<Value> {
    let cluster = lock(&endpoint.shared.cluster);
    Json(stats::collection(
        table,
        &cluster.devices[endpoint.device].tenants,
        &cluster.stats,
    ))
}

/// `POST /mgmt/shared/file-transfer/uploads/{name}`: a chunk of a file.
pub(super) async fn upload(
    State(endpoint): State<Endpoint>,
    Path(name): Path<String>,
    body: Bytes,
) -> Answer {
    if !name.ends_with(".iso") || name.contains('/') {
        return Err(F5Error::bad_request(format!(
            "{name}: the simulator takes ISO uploads (BIGIP-*.iso, Hotfix-BIGIP-*.iso)"
        )));
    }
    let mut cluster = lock(&endpoint.shared.cluster);
    let size = cluster.devices[endpoint.device]
        .software
        .upload(&name, body.len() as u64);
    Ok(Json(
        json!({ "remainingByteCount": 0, "usedChunks": {}, "totalByteCount": size,
                    "localFilePath": format!("/var/config/rest/downloads/{name}") }),
    )
    .into_response())
}

/// `GET /mgmt/tm/sys/software/image`.
pub(super) async fn images(State(endpoint): State<Endpoint>) -> Json<Value> {
    let cluster = lock(&endpoint.shared.cluster);
    Json(cluster.devices[endpoint.device].software.isos(false))
}

/// `GET /mgmt/tm/sys/software/hotfix`.
pub(super) async fn hotfixes(State(endpoint): State<Endpoint>) -> Json<Value> {
    let cluster = lock(&endpoint.shared.cluster);
    Json(cluster.devices[endpoint.device].software.isos(true))
}

#[derive(Deserialize)]
struct Install {
    command: String,
    name: String,
    volume: String,
}

/// `POST /mgmt/tm/sys/software/image|hotfix` `{"command": "install", "name", "volume"}`.
pub(super) async fn install(State(endpoint): State<Endpoint>, body: Bytes) -> Answer {
    let order: Install = parse(&body)?;
    if order.command != "install" {
        return Err(F5Error::bad_request(format!(
            "unknown command {:?}; the simulator installs",
            order.command
        )));
    }
    let now = endpoint.shared.now();
    let takes = lock(&endpoint.shared.timings).install_delay;
    let mut cluster = lock(&endpoint.shared.cluster);
    cluster.devices[endpoint.device]
        .software
        .install(&order.name, &order.volume, now, takes)
        .map_err(F5Error::bad_request)?;
    Ok(
        Json(json!({ "command": "install", "name": order.name, "volume": order.volume }))
            .into_response(),
    )
}

/// `GET /mgmt/tm/sys/software/volume`.
pub(super) async fn volumes(State(endpoint): State<Endpoint>) -> Json<Value> {
    let now = endpoint.shared.now();
    let cluster = lock(&endpoint.shared.cluster);
    Json(cluster.devices[endpoint.device].software.volumes(now))
}

#[derive(Deserialize)]
struct Reboot {
    command: String,
    volume: String,
}

/// `POST /mgmt/tm/sys` `{"command": "reboot", "volume"}`: boot into an installed volume. The
/// device answers 503 until the reboot is over; an active device of a pair fails over first.
pub(super) async fn reboot(State(endpoint): State<Endpoint>, body: Bytes) -> Answer {
    let order: Reboot = parse(&body)?;
    if order.command != "reboot" {
        return Err(F5Error::bad_request(format!(
            "unknown command {:?}; the simulator reboots into a volume",
            order.command
        )));
    }
    let now = endpoint.shared.now();
    let takes = lock(&endpoint.shared.timings).reboot_delay;
    let mut cluster = lock(&endpoint.shared.cluster);
    let device = &mut cluster.devices[endpoint.device];
    let (version, build) = device
        .software
        .boot(&order.volume, now)
        .map_err(F5Error::bad_request)?;
    device.version = version;
    device.build = build;
    device.rebooting_until = Some(now + takes);
    if device.role == Role::Active {
        cluster.failover(now);
    }
    Ok(Json(json!({ "command": "reboot", "volume": order.volume })).into_response())
}

/// `GET /mgmt/tm/sys/ucs`.
pub(super) async fn ucs_list(State(endpoint): State<Endpoint>) -> Json<Value> {
    let cluster = lock(&endpoint.shared.cluster);
    let items: Vec<Value> = cluster.devices[endpoint.device]
        .ucs
        .iter()
        .map(|(name, ucs)| {
            let size = serde_json::to_vec(&ucs.tenants).map_or(0, |b| b.len());
            json!({
                "kind": "tm:sys:ucs:ucsstate",
                "apiRawValues": {
                    "filename": format!("/var/local/ucs/{name}.ucs"),
                    "file_size": format!("{size} (in bytes)"),
                    "file_created_date": ucs.saved_at.to_string(),
                    "version": ucs.version,
                    "encrypted": "no",
                },
            })
        })
        .collect();
    Json(json!({ "kind": "tm:sys:ucs:ucscollectionstate", "items": items }))
}

#[derive(Deserialize)]
struct UcsCommand {
    command: String,
    name: String,
}

/// `POST /mgmt/tm/sys/ucs` `{"command": "save" | "load", "name"}`.
pub(super) async fn ucs_command(State(endpoint): State<Endpoint>, body: Bytes) -> Answer {
    let order: UcsCommand = parse(&body)?;
    let name = order.name.trim_end_matches(".ucs").to_owned();
    if name.is_empty() || name.contains('/') {
        return Err(F5Error::bad_request(format!(
            "invalid UCS name {:?}",
            order.name
        )));
    }
    let mut cluster = lock(&endpoint.shared.cluster);
    match order.command.as_str() {
        "save" => {
            let device = &mut cluster.devices[endpoint.device];
            let saved_at = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let ucs = Ucs {
                tenants: device.tenants.clone(),
                saved_at,
                version: device.version.clone(),
            };
            device.ucs.insert(name.clone(), ucs);
        }
        "load" => {
            let device = &cluster.devices[endpoint.device];
            let ucs = device.ucs.get(&name).ok_or_else(|| {
                F5Error::icontrol(
                    StatusCode::NOT_FOUND,
                    format!("01070712:3: UCS {name}.ucs does not exist"),
                )
            })?;
            let mut changes: std::collections::BTreeMap<String, Option<Value>> =
                device.tenants.keys().map(|t| (t.clone(), None)).collect();
            for (tenant, body) in &ucs.tenants {
                changes.insert(tenant.clone(), Some(body.clone()));
            }
            cluster.commit(endpoint.device, &changes);
        }
        other => {
            return Err(F5Error::bad_request(format!(
                "unknown command {other:?}; save or load"
            )));
        }
    }
    Ok(Json(json!({ "command": order.command, "name": name })).into_response())
}

/// `GET /mgmt/tm/sys/license`: the registration key and dates of the license, or nothing but
/// the version once it is revoked.
pub(super) async fn license(State(endpoint): State<Endpoint>) -> Json<Value> {
    let cluster = lock(&endpoint.shared.cluster);
    let device = &cluster.devices[endpoint.device];
    let mut fields = vec![("licensedVersion", device.version.clone())];
    if let Some(key) = &device.registration_key {
        fields.push(("registrationKey", key.clone()));
        fields.push(("licenseEndDate", device.license_end.clone()));
        fields.push(("serviceCheckDate", device.license_end.clone()));
    }
    Json(one_entry(
        "tm:sys:license:licensestats",
        "/mgmt/tm/sys/license",
        &fields,
    ))
}

#[derive(Deserialize)]
struct LicenseCommand {
    command: String,
    #[serde(rename = "registrationKey", default)]
    registration_key: Option<String>,
}

/// `POST /mgmt/tm/sys/license` `{"command": "install", "registrationKey"}` or
/// `{"command": "revoke"}`. A key the simulator is not set to accept is refused with 400, as
/// the license server refuses an unknown key.
pub(super) async fn license_command(State(endpoint): State<Endpoint>, body: Bytes) -> Answer {
    let order: LicenseCommand = parse(&body)?;
    let mut cluster = lock(&endpoint.shared.cluster);
    match (order.command.as_str(), order.registration_key) {
        ("install", Some(key)) => {
            let accepted = cluster
                .accepted_license_keys
                .as_ref()
                .is_none_or(|keys| keys.contains(&key));
            if key.trim().is_empty() || !accepted {
                return Err(F5Error::bad_request(format!(
                    "Dossier error 1: the registration key {key:?} is not valid"
                )));
            }
            cluster.devices[endpoint.device].registration_key = Some(key.clone());
            Ok(Json(json!({ "command": "install", "registrationKey": key })).into_response())
        }
        ("install", None) => Err(F5Error::bad_request(
            "install needs a registrationKey".to_owned(),
        )),
        ("revoke", _) => {
            cluster.devices[endpoint.device].registration_key = None;
            Ok(Json(json!({ "command": "revoke" })).into_response())
        }
        (other, _) => Err(F5Error::bad_request(format!(
            "unknown command {other:?}; install or revoke"
        ))),
    }
}
