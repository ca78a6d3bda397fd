//! A StorageClass (the `gp3` class on EKS, whose provisioner the EBS CSI add-on brings).

use ringform_core::Value;
use serde_json::json;

use super::{Settle, Spec, attributes, text_at};

pub static SPEC: Spec = Spec {
    objects: |ctx| {
        let mut parameters = serde_json::Map::new();
        if let Some(Value::Map(given)) = ctx.inputs.attrs.get("parameters") {
            let given_inputs = ringform_core::Inputs::new(ctx.address, given);
            for key in given.keys() {
                parameters.insert(key.clone(), given_inputs.str(key)?.into());
            }
        }
        let mut class = json!({
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": ctx.inputs.str("name")?},
            "provisioner": ctx.inputs.str("provisioner")?,
            "parameters": parameters,
        });
        if let Some(mode) = ctx.inputs.opt_str("volume_binding_mode")? {
            class["volumeBindingMode"] = mode.into();
        }
        if let Some(expand) = ctx.inputs.opt_bool("allow_volume_expansion")? {
            class["allowVolumeExpansion"] = expand.into();
        }
        Ok(vec![class])
    },
    marker: ("storage.k8s.io/v1", "StorageClass"),
    observe: |object| {
        let parameters = object["parameters"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().map_or(Value::Null, Into::into)))
            .collect();
        let expand = object["allowVolumeExpansion"].as_bool().map_or(Value::Null, Value::Bool);
        Ok(attributes([
            ("name", text_at(object, "/metadata/name")),
            ("provisioner", text_at(object, "/provisioner")),
            ("parameters", Value::Map(parameters)),
            ("volume_binding_mode", text_at(object, "/volumeBindingMode")),
            ("allow_volume_expansion", expand),
        ]))
    },
    settle: Settle::Stored,
};
