//! An Opaque Secret whose `data` entries are the input's (secret or not; sent base64-encoded,
//! read back as secrets).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ringform_core::Value;
use ringform_core::provider::ProviderError;
use serde_json::json;

use super::{Settle, Spec, attributes, text_at};

pub static SPEC: Spec = Spec {
    objects: |ctx| {
        let mut data = serde_json::Map::new();
        if let Some(Value::Map(entries)) = ctx.inputs.attrs.get("data") {
            let values = ringform_core::Inputs::new(ctx.address, entries);
            for key in entries.keys() {
                data.insert(key.clone(), STANDARD.encode(values.secret_str(key)?).into());
            }
        }
        Ok(vec![json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {"name": ctx.inputs.str("name")?, "namespace": ctx.inputs.str("namespace")?},
            "data": data,
        })])
    },
    marker: ("v1", "Secret"),
    observe: |object| {
        let mut data = std::collections::BTreeMap::new();
        for (key, encoded) in object["data"].as_object().into_iter().flatten() {
            let decoded =
                encoded.as_str().and_then(|e| STANDARD.decode(e).ok()).and_then(|b| String::from_utf8(b).ok());
            let decoded = decoded.ok_or_else(|| {
                ProviderError::fatal(format!("Secret {}: entry `{key}` is not base64 text", object["metadata"]["name"]))
            })?;
            data.insert(key.clone(), Value::secret(decoded.into()));
        }
        Ok(attributes([
            ("name", text_at(object, "/metadata/name")),
            ("namespace", text_at(object, "/metadata/namespace")),
            ("data", Value::Map(data)),
        ]))
    },
    settle: Settle::Stored,
};
