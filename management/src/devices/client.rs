//! The HTTP clients management calls devices with (BIG-IP's iControl REST, NSX Manager's API):
//! TLS checked against a device's CA bundle or the system's trust store, switched off only for
//! a device registered with `verify_tls = false`.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use super::model::Device;
use super::ops::OpsError;

/// How long one call to a device may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The HTTP clients of devices, one per set of TLS settings (CA bundle content, verification):
/// devices that trust the same authorities share one client, its connection pools and its trust
/// store, however many devices there are and however often they are operated.
type Clients = HashMap<(Option<Vec<u8>>, bool), reqwest::Client>;

/// How management reaches a device: the base URL of its first address and the client for its
/// TLS settings.
pub struct Endpoint {
    /// The first address, without a trailing `/`.
    pub base: String,
    /// The shared client for the device's CA bundle and verification setting.
    pub http: reqwest::Client,
}

/// The endpoint of `device`: refused when it has no address or its CA bundle cannot be read;
/// a warning is logged when TLS verification is off for it.
pub fn endpoint(device: &Device) -> Result<Endpoint, OpsError> {
    let connection = &device.connection;
    let base = connection
        .addresses
        .first()
        .ok_or_else(|| OpsError::Invalid("the device has no address".to_owned()))?
        .trim_end_matches('/')
        .to_owned();
    let ca_bundle =
        match &connection.ca_bundle {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                OpsError::Invalid(format!("the CA bundle {path} cannot be read: {e}"))
            })?),
            None => None,
        };
    if !connection.verify_tls {
        tracing::warn!(
            device = %device.name,
            "TLS verification is OFF for this device: its certificate and host name are not \
             checked"
        );
    }
    let http = shared_client(
        ca_bundle,
        connection.ca_bundle.as_deref(),
        connection.verify_tls,
    )?;
    Ok(Endpoint { base, http })
}

/// The client for these TLS settings: `ca_bundle` (the PEM content read from `ca_path`) and
/// whether certificates are verified.
fn shared_client(
    ca_bundle: Option<Vec<u8>>,
    ca_path: Option<&str>,
    verify_tls: bool,
) -> Result<reqwest::Client, OpsError> {
    static CLIENTS: OnceLock<std::sync::Mutex<Clients>> = OnceLock::new();
    let clients = CLIENTS.get_or_init(Default::default);
    let key = (ca_bundle, verify_tls);
    if let Some(client) = clients.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(client.clone());
    }
    let mut builder = reqwest::Client::builder()
        .use_native_tls()
        .timeout(CALL_TIMEOUT)
        .connect_timeout(Duration::from_secs(10));
    if let Some(pem) = &key.0 {
        let path = ca_path.unwrap_or("(the CA bundle)");
        let certificates = reqwest::Certificate::from_pem_bundle(pem)
            .ok()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                OpsError::Invalid(format!("the CA bundle {path} holds no PEM certificate"))
            })?;
        builder = builder.tls_built_in_root_certs(false);
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    if !verify_tls {
        builder = builder
            .danger_accept_invalid_certs(true)
            .danger_accept_invalid_hostnames(true);
    }
    let client = builder
        .build()
        .map_err(|e| OpsError::Invalid(format!("no HTTP client for the device: {e}")))?;
    clients
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, client.clone());
    Ok(client)
}

/// A call that got no answer: the device cannot be reached.
pub fn unreachable(error: reqwest::Error) -> OpsError {
    OpsError::Failed(format!("the device cannot be reached: {error}"))
}

/// The JSON of an answer, or the device's refusal with the message it gives in `message_key`
/// (`message` on a BIG-IP, `error_message` on NSX), else the start of its body.
pub async fn answer(response: reqwest::Response, message_key: &str) -> Result<Value, OpsError> {
    let status = response.status();
    let bytes = response.bytes().await.map_err(unreachable)?;
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(body);
    }
    let message = body[message_key]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(200).collect());
    Err(OpsError::Failed(format!(
        "the device answered {}: {message}",
        status.as_u16()
    )))
}
