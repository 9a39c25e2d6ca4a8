//! [`Envelope`]: a request shape as a client sends it, wrapped in its root key, for the OpenAPI
//! document.

use std::borrow::Cow;
use std::marker::PhantomData;

use utoipa::__dev::ComposeSchema;
use utoipa::ToSchema;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema};
use utoipa::openapi::{Ref, RefOr};

use super::Rooted;

/// The schema of `{"<root>": T}`, the body of a request whose shape is `T`: the root key is
/// mandatory and the only key allowed, as the API parses it (`body::OctaviaBody`).
#[derive(Debug)]
pub struct Envelope<T>(PhantomData<T>);

// `ComposeSchema` is how `#[utoipa::path]` takes the schema of a generic body type.
impl<T: Rooted + ToSchema> ComposeSchema for Envelope<T> {
    fn compose(_: Vec<RefOr<Schema>>) -> RefOr<Schema> {
        ObjectBuilder::new()
            .property(T::ROOT, Ref::from_schema_name(T::name()))
            .required(T::ROOT)
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .into()
    }
}

impl<T: Rooted + ToSchema> ToSchema for Envelope<T> {
    fn name() -> Cow<'static, str> {
        Cow::Owned(format!("{}Request", T::name()))
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((T::name().into_owned(), T::schema()));
        T::schemas(schemas);
    }
}
