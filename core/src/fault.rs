//! [`Fault`]: the error body every HTTP answer of Fulcrum carries, Octavia's.

use serde::Serialize;

/// Octavia's fault body: `{"faultcode": "Client"|"Server", "faultstring": ..., "debuginfo": null}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Fault {
    /// "Client" for 4xx, "Server" otherwise.
    pub faultcode: &'static str,
    /// What went wrong.
    pub faultstring: String,
    /// Always null.
    #[schema(required = true)]
    pub debuginfo: Option<String>,
}

impl Fault {
    /// The fault of an answer with HTTP status `status` (a number) saying `message`.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Fault {
            faultcode: if (400..500).contains(&status) {
                "Client"
            } else {
                "Server"
            },
            faultstring: message.into(),
            debuginfo: None,
        }
    }
}
