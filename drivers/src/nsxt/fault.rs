//! NSX's error body, read where the HTTP status alone says too little.
//!
//! NSX answers every failure with `httpStatus`, `error_code`, `module_name` and `error_message`.
//! The kit classifies by status, which is right for all but 403: NSX answers 403 both when a
//! session has expired (`error_code` 98, log in again and the call succeeds) and when the
//! identity may not do what it asks (wrong credentials, a missing role, an object another
//! principal identity owns), where logging in again only repeats the refusal. So the client
//! asks [`NsxFault::session_expired`] before it makes a session again, and [`refine`] tells the
//! user which refusal it was.

use std::error::Error as _;

use fulcrum_core::driver::DriverError;
use reqwest::StatusCode;
use serde_json::Value;

use crate::kit::errors::StatusError;

/// NSX's code for a session that has expired or that it does not know.
pub const SESSION_INVALID: i64 = 98;

/// NSX's code for credentials that are wrong or an account that is locked.
pub const BAD_CREDENTIALS: i64 = 403;

/// What NSX said about a failed call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsxFault {
    /// The HTTP status.
    pub status: StatusCode,
    /// NSX's `error_code`, when the body carried one.
    pub error_code: Option<i64>,
    /// NSX's `error_message`, or the body as it came.
    pub message: String,
}

impl NsxFault {
    /// What NSX said, when the error is an answer of the manager (not a transport failure).
    pub fn of(error: &DriverError) -> Option<Self> {
        let status = error.source()?.downcast_ref::<StatusError>()?;
        let body: Value = serde_json::from_str(&status.body).unwrap_or(Value::Null);
        Some(NsxFault {
            status: status.status,
            error_code: body["error_code"].as_i64(),
            message: body["error_message"]
                .as_str()
                .map_or_else(|| status.excerpt.clone(), str::to_string),
        })
    }

    /// Whether NSX said the session is gone: 403 with `error_code` 98.
    pub fn session_expired(&self) -> bool {
        self.status == StatusCode::FORBIDDEN && self.error_code == Some(SESSION_INVALID)
    }

    /// Whether NSX refused the operation itself: a 403 that is neither an expired session nor
    /// wrong credentials.
    pub fn not_permitted(&self) -> bool {
        self.status == StatusCode::FORBIDDEN
            && !matches!(self.error_code, Some(SESSION_INVALID | BAD_CREDENTIALS))
    }
}

/// The error with a message that says what NSX refused, when it refused an operation rather
/// than the credentials; any other error as it is.
pub fn refine(error: DriverError) -> DriverError {
    let Some(fault) = NsxFault::of(&error).filter(NsxFault::not_permitted) else {
        return error;
    };
    let code = fault
        .error_code
        .map(|code| format!(" (error_code {code})"))
        .unwrap_or_default();
    let refined = DriverError::new(
        error.kind(),
        format!(
            "NSX does not permit Fulcrum's identity this operation{code}: {}",
            fault.message
        ),
    );
    match error.source().and_then(|s| s.downcast_ref::<StatusError>()) {
        Some(status) => refined.with_source(status.clone()),
        None => refined,
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use fulcrum_core::driver::DriverErrorKind;
    use reqwest::header::HeaderMap;

    use super::*;
    use crate::kit::errors::status_error;

    fn answer(status: u16, body: &str) -> DriverError {
        status_error(
            "https://nsx/policy/api/v1/infra",
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            body.as_bytes(),
            SystemTime::now(),
        )
    }

    fn forbidden(code: i64) -> DriverError {
        answer(
            403,
            &format!(
                r#"{{"httpStatus":"FORBIDDEN","error_code":{code},"module_name":"common-services","error_message":"Refused."}}"#
            ),
        )
    }

    #[test]
    fn only_code_98_is_an_expired_session() {
        assert!(NsxFault::of(&forbidden(98)).unwrap().session_expired());
        for code in [403, 505, 3] {
            let fault = NsxFault::of(&forbidden(code)).unwrap();
            assert!(!fault.session_expired(), "{code}");
        }
        let not_json = NsxFault::of(&answer(403, "Forbidden")).unwrap();
        assert!(!not_json.session_expired());
        assert_eq!(not_json.message, "Forbidden");
        assert_eq!(NsxFault::of(&DriverError::transient("down")), None);
    }

    #[test]
    fn a_refused_operation_says_so_and_wrong_credentials_stay_as_they_are() {
        let refused = refine(forbidden(505));
        assert_eq!(refused.kind(), DriverErrorKind::Authentication);
        assert_eq!(
            refused.message(),
            "NSX does not permit Fulcrum's identity this operation (error_code 505): Refused."
        );
        assert!(refused.source().unwrap().is::<StatusError>());
        let credentials = forbidden(BAD_CREDENTIALS);
        assert_eq!(refine(credentials.clone()), credentials);
        let missing = answer(404, "");
        assert_eq!(refine(missing.clone()), missing);
    }
}
