//! [`Caller`]: who made a request, as authentication established it. The API's gate puts one in
//! every authenticated request, so that modules which record who did what (management's audit
//! trail) need not know how callers are authenticated.

use serde::{Deserialize, Serialize};

/// The authenticated caller of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// The user, when the token names one.
    pub user_id: Option<String>,
    /// The project the token is scoped to, if any.
    pub project_id: Option<String>,
}
