//! The one error type of the orchestration core. The API maps each variant to Octavia's fault body
//! and status code in a single place (`fulcrum_api::fault`).

/// Everything that can go wrong while handling an orchestration request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An object does not exist (or is not visible to the caller): 404.
    #[error("{resource} {id} not found.")]
    NotFound {
        /// Octavia's display name of the resource, e.g. "Load Balancer".
        resource: &'static str,
        /// The id that was asked for.
        id: String,
    },
    /// A parent object is in a `PENDING_*` state and cannot be changed now: 409.
    #[error("{resource} {id} is immutable and cannot be updated.")]
    Immutable {
        /// Octavia's display name of the locked resource.
        resource: &'static str,
        /// Its id.
        id: String,
    },
    /// A load balancer cannot be updated or deleted in its current provisioning state: 409.
    #[error("Invalid state {status} of loadbalancer resource {id}")]
    InvalidState {
        /// The provisioning status it is in.
        status: String,
        /// The load balancer id.
        id: String,
    },
    /// The request conflicts with an existing object (duplicate port, second monitor, ...): 409.
    #[error("{0}")]
    Conflict(String),
    /// A semantic validation rule failed: 400 with Octavia's "Validation failure: " prefix.
    #[error("Validation failure: {0}")]
    Validation(String),
    /// The input is malformed (bad type, enum, range, unknown attribute): 400, message as given.
    #[error("{0}")]
    InvalidInput(String),
    /// The provider (driver) cannot realize an option that was asked for: 501.
    #[error("Provider '{provider}' does not support a requested option: {option}")]
    ProviderUnsupported {
        /// The provider name.
        provider: String,
        /// What it does not support.
        option: String,
    },
    /// The provider cannot take the request now (Octavia's `ProviderDriverError`: the F5 driver
    /// with no BIG-IP pair that may take a new load balancer): 500, with the provider's words.
    #[error("Provider '{provider}' reports error: {message}")]
    ProviderFailed {
        /// The provider name.
        provider: String,
        /// What it says.
        message: String,
    },
    /// The request is well formed but not acceptable for a reason other than validation
    /// (an unknown provider, a disabled option): 400, message as given.
    #[error("{0}")]
    BadRequest(String),
    /// The caller may not do this: a quota is met (Octavia's `QuotaException`) or a policy
    /// forbids the request: 403, message as given.
    #[error("{0}")]
    Forbidden(String),
    /// A fault on Fulcrum's side (database unreachable, bug): 500. Never used for client input.
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// A `NotFound` for the given resource display name and id.
    pub fn not_found(resource: &'static str, id: impl Into<String>) -> Self {
        Error::NotFound {
            resource,
            id: id.into(),
        }
    }

    /// A `Validation` failure with the given detail.
    pub fn validation(detail: impl Into<String>) -> Self {
        Error::Validation(detail.into())
    }

    /// Octavia's "Invalid input for field/attribute" message for a field and value.
    pub fn invalid_field(field: &str, value: impl std::fmt::Display, reason: &str) -> Self {
        Error::InvalidInput(format!(
            "Invalid input for field/attribute {field}. Value: '{value}'. {reason}"
        ))
    }

    /// Octavia's `QuotaException` for a resource display name, e.g. "Load Balancer".
    pub fn quota_met(resource: &str) -> Self {
        Error::Forbidden(format!("Quota has been met for resources: {resource}"))
    }

    /// Octavia's `InvalidOption`: "<value> is not a valid option for <option>".
    pub fn invalid_option(value: impl std::fmt::Display, option: &str) -> Self {
        Error::InvalidInput(format!("{value} is not a valid option for {option}"))
    }
}

/// Result alias for the core error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
