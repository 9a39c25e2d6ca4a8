//! The management API's part of Fulcrum's OpenAPI document.
//!
//! Each area declares its routes with `utoipa-axum` and its handlers' `#[utoipa::path]`
//! annotations, so the routes served and the operations documented come from the same
//! declarations and cannot drift. The binary merges this part into the API's document
//! (`fulcrum_api::openapi`), which adds the fault responses every gated operation shares; the
//! annotations here list what only management answers (a 502 when a device fails).

use std::sync::Arc;

use utoipa::OpenApi;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema};
use utoipa_axum::router::OpenApiRouter;

use crate::Management;

#[derive(OpenApi)]
#[openapi(components(schemas(crate::campaigns::routes::CampaignAction)), tags(
    (name = "devices", description = "The device inventory (administrators only)"),
    (name = "alerts", description = "Alerts with their acknowledgement (administrators only)"),
    (name = "alertmanager", description = "Alertmanager's v2 API, for Prometheus and amtool (administrators only)"),
    (name = "campaigns", description = "Hotfix and upgrade campaigns (administrators only)"),
    (name = "backups", description = "Configuration backups and their schedules (administrators only)"),
    (name = "licenses", description = "License pools and the licenses given to devices (administrators only)"),
    (name = "audit", description = "The audit trail of management actions (administrators only)"),
))]
struct ManagementDoc;

/// Every management route, with its operation in the document.
pub(crate) fn router() -> OpenApiRouter<Arc<Management>> {
    OpenApiRouter::with_openapi(ManagementDoc::openapi())
        .merge(crate::audit::routes())
        .merge(crate::alerts::routes::routes())
        .merge(crate::devices::routes::routes())
        .merge(crate::campaigns::routes::routes())
        .merge(crate::backups::routes::routes())
        .merge(crate::licenses::routes::routes())
}

/// The management API's part of the OpenAPI document: its operations, their schemas and tags.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = router().split_for_parts().1;
    merge_flattened(&mut doc);
    doc
}

/// utoipa writes a struct with a `#[serde(flatten)]` field as an `allOf` of the flattened
/// struct's schema and of its own fields. When a part refuses unknown fields
/// (`deny_unknown_fields`: `additionalProperties: false`), no object satisfies that `allOf`, so
/// such a schema is written as the one object serde reads instead: every part's properties,
/// closed likewise, with the example. A part named nowhere else then leaves the document.
fn merge_flattened(doc: &mut utoipa::openapi::OpenApi) {
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    let named = components.schemas.clone();
    let mut merged_parts = Vec::new();
    let closed = |object: &utoipa::openapi::schema::Object| {
        matches!(
            object.additional_properties.as_deref(),
            Some(AdditionalProperties::FreeForm(false))
        )
    };
    for schema in components.schemas.values_mut() {
        let RefOr::T(Schema::AllOf(all_of)) = schema else {
            continue;
        };
        let parts: Option<Vec<&utoipa::openapi::schema::Object>> = all_of
            .items
            .iter()
            .map(|part| {
                let part = match part {
                    RefOr::Ref(reference) => named.get(
                        reference
                            .ref_location
                            .trim_start_matches("#/components/schemas/"),
                    )?,
                    inline => inline,
                };
                match part {
                    RefOr::T(Schema::Object(object)) => Some(object),
                    _ => None,
                }
            })
            .collect();
        let Some(parts) = parts.filter(|parts| parts.iter().any(|p| closed(p))) else {
            continue;
        };
        merged_parts.extend(all_of.items.iter().filter_map(|part| match part {
            RefOr::Ref(reference) => Some(reference.ref_location.clone()),
            RefOr::T(_) => None,
        }));
        let mut merged = ObjectBuilder::new()
            .description(all_of.description.clone())
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        for part in parts {
            for (name, property) in &part.properties {
                merged = merged.property(name, property.clone());
            }
            for name in &part.required {
                merged = merged.required(name);
            }
        }
        let mut object = merged.build();
        object.example = all_of.example.clone();
        *schema = RefOr::T(Schema::Object(object));
    }
    let text = serde_json::to_string(&doc).unwrap_or_default();
    for location in merged_parts {
        if !text.contains(&format!("\"{location}\"")) {
            let name = location.trim_start_matches("#/components/schemas/");
            if let Some(components) = doc.components.as_mut() {
                components.schemas.remove(name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn schemas() -> Value {
        let doc = serde_json::to_value(super::openapi()).unwrap();
        doc["components"]["schemas"].clone()
    }

    #[test]
    fn a_flattened_closed_struct_is_one_closed_object() {
        let schemas = schemas();
        let registration = &schemas["Registration"];
        assert!(registration.get("allOf").is_none(), "{registration}");
        assert_eq!(registration["additionalProperties"], false);
        for field in ["name", "kind", "addresses", "password", "verify_tls"] {
            assert!(
                registration["properties"].get(field).is_some(),
                "{field}: {registration}"
            );
        }
        assert_eq!(
            registration["required"],
            serde_json::json!(["name", "kind"])
        );
        assert!(registration["example"].is_object());
        assert!(schemas.get("Connection").is_none(), "named nowhere else");
        let view = &schemas["ScheduleView"];
        assert!(
            view["properties"].get("cron").is_some() && view["properties"].get("source").is_some()
        );
        assert!(
            schemas.get("BackupSchedule").is_some(),
            "a request body still"
        );
    }

    #[test]
    fn a_flattened_open_struct_stays_an_all_of() {
        let view = &schemas()["CampaignView"];
        assert!(view["allOf"].is_array(), "{view}");
    }
}
