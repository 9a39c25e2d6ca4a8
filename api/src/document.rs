//! The OpenAPI document served at `/openapi.json`: what the handlers' annotations declare, plus
//! the error responses every operation shares.
//!
//! A handler's `#[utoipa::path]` states its success response. The errors follow from where a
//! route sits rather than from what a handler does (every route behind the gate can answer 401
//! and 403, every write can meet a locked load balancer, every body can be malformed), so they
//! are added here, each with Octavia's fault body ([`Fault`]), as Octavia's API reference lists
//! them for each call; a 401 has the body keystonemiddleware gives it (`{"error": {...}}`),
//! which answers it before Octavia's code runs. The same gate makes every operation but version
//! discovery require a Keystone token (the security scheme [`KEYSTONE`]).

use utoipa::openapi::path::{HttpMethod, Operation};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::fault::Fault;

/// `doc` with each operation's error responses added (those its annotation already lists are
/// kept), and the fault schema among the components.
pub fn complete(mut doc: OpenApi) -> OpenApi {
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            (HttpMethod::Get, item.get.as_mut()),
            (HttpMethod::Post, item.post.as_mut()),
            (HttpMethod::Put, item.put.as_mut()),
            (HttpMethod::Patch, item.patch.as_mut()),
            (HttpMethod::Delete, item.delete.as_mut()),
        ];
        for (method, operation) in operations {
            if let Some(operation) = operation {
                add_faults(path, &method, operation);
                if path != "/" {
                    operation.security = Some(vec![SecurityRequirement::new(
                        KEYSTONE,
                        Vec::<String>::new(),
                    )]);
                }
            }
        }
    }
    let components = doc.components.get_or_insert_with(Default::default);
    components
        .schemas
        .insert(Fault::name().into_owned(), Fault::schema());
    components
        .schemas
        .insert(UNAUTHORIZED.to_string(), unauthorized());
    components.add_security_scheme(
        KEYSTONE,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-Auth-Token",
            "A Keystone token; not needed when `[auth] strategy` is `noauth`",
        ))),
    );
    doc
}

/// The name of the security scheme of the gate: a Keystone token in `X-Auth-Token`.
pub const KEYSTONE: &str = "keystone";

/// The schema name of the 401 body.
const UNAUTHORIZED: &str = "Unauthorized";

/// keystonemiddleware's 401 body: `{"error": {"code": 401, "title": ..., "message": ...}}`.
fn unauthorized() -> RefOr<Schema> {
    let field = |kind: Type| ObjectBuilder::new().schema_type(kind);
    let error = ObjectBuilder::new()
        .property("code", field(Type::Integer))
        .property("title", field(Type::String))
        .property("message", field(Type::String))
        .required("code")
        .required("title")
        .required("message");
    ObjectBuilder::new()
        .description(Some("The body of a 401, as keystonemiddleware gives it."))
        .property("error", error)
        .required("error")
        .into()
}

/// The error statuses of an operation, with what each means.
fn faults(path: &str, method: &HttpMethod, has_body: bool) -> Vec<(u16, &'static str)> {
    if path == "/" {
        // Version discovery passes no gate and reads nothing.
        return vec![];
    }
    let write = matches!(
        method,
        HttpMethod::Post | HttpMethod::Put | HttpMethod::Patch | HttpMethod::Delete
    );
    let names_an_object = path.contains('{') || *method == HttpMethod::Post;
    let realized = (path.starts_with("/v2/lbaas/") && !path.starts_with("/v2/lbaas/quotas")
        || path.starts_with("/v2/fulcrum/provider/"))
        && matches!(method, HttpMethod::Post | HttpMethod::Put);
    let mut statuses = vec![
        (
            400,
            "Bad request: invalid input, query or state of a related object",
        ),
        (
            401,
            "Unauthorized: no valid token (keystonemiddleware's body)",
        ),
        (403, "Forbidden: the policy does not allow it"),
    ];
    if names_an_object {
        statuses.push((404, "Not found: an object it names does not exist"));
    }
    if has_body {
        statuses.push((
            408,
            "Request timeout: the body did not arrive within the server's body-read timeout",
        ));
    }
    if write {
        statuses.push((
            409,
            "Conflict: the object or its load balancer is busy or immutable",
        ));
    }
    if has_body {
        statuses.push((413, "Request entity too large"));
    }
    statuses.push((414, "Request-URI too long"));
    if has_body {
        statuses.push((415, "Unsupported media type: the body is not JSON"));
    }
    statuses.push((500, "Internal server error"));
    if realized {
        statuses.push((
            501,
            "Not implemented: the provider does not support an option",
        ));
    }
    statuses.push((
        503,
        "Service unavailable: the identity service cannot be reached",
    ));
    statuses
}

fn add_faults(path: &str, method: &HttpMethod, operation: &mut Operation) {
    let has_body = operation.request_body.is_some();
    for (status, description) in faults(path, method, has_body) {
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| {
                let schema = if status == 401 {
                    Ref::from_schema_name(UNAUTHORIZED)
                } else {
                    Ref::from_schema_name(Fault::name())
                };
                let content = Content::new(Some(schema));
                RefOr::T(
                    ResponseBuilder::new()
                        .description(description)
                        .content("application/json", content)
                        .build(),
                )
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_with_a_body_lists_every_fault_an_octavia_write_gives() {
        let statuses: Vec<u16> = faults("/v2/lbaas/listeners/{id}", &HttpMethod::Put, true)
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        assert_eq!(
            statuses,
            [400, 401, 403, 404, 408, 409, 413, 414, 415, 500, 501, 503]
        );
    }

    #[test]
    fn a_list_cannot_miss_an_object_nor_conflict() {
        let statuses: Vec<u16> = faults("/v2/lbaas/loadbalancers", &HttpMethod::Get, false)
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        assert_eq!(statuses, [400, 401, 403, 414, 500, 503]);
    }

    #[test]
    fn a_patch_is_a_write() {
        let statuses: Vec<u16> = faults("/v1/management/devices/{id}", &HttpMethod::Patch, true)
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        assert_eq!(
            statuses,
            [400, 401, 403, 404, 408, 409, 413, 414, 415, 500, 503]
        );
    }

    #[test]
    fn version_discovery_has_no_fault() {
        assert!(faults("/", &HttpMethod::Get, false).is_empty());
    }
}
