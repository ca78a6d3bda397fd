//! A namespace.

use serde_json::json;

use super::{Settle, Spec, attributes, text_at};

pub static SPEC: Spec = Spec {
    objects: |ctx| {
        Ok(vec![json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ctx.inputs.str("name")?}})])
    },
    marker: ("v1", "Namespace"),
    observe: |object| Ok(attributes([("name", text_at(object, "/metadata/name"))])),
    settle: Settle::Stored,
};
