//! The pinned installs (cert-manager, k8ssandra-operator, cass-operator): every object of the
//! embedded manifest, applied in the manifest's order, each annotated with the release it
//! belongs to. The operators' Deployments stand for the install.

use ringform_core::provider::ProviderError;
use ringform_core::{Attributes, Value};

use super::{Ctx, Settle, Spec, text_at};
use crate::error::KubeResult;
use crate::manifests::{self, Manifest};

/// The annotation naming the upstream release an installed object came from.
pub const VERSION_ANNOTATION: &str = "ringform.io/version";

pub static CERT_MANAGER: Spec = Spec {
    objects: |ctx| annotated(ctx, &manifests::CERT_MANAGER, manifests::CERT_MANAGER.objects()),
    marker: ("apps/v1", "Deployment"),
    observe: |object| Ok(installed(object)),
    settle: Settle::Stored,
};

pub static K8SSANDRA_OPERATOR: Spec = Spec {
    objects: |ctx| {
        let control_plane = ctx.inputs.opt_bool("control_plane")?.unwrap_or(false);
        annotated(ctx, &manifests::K8SSANDRA_OPERATOR, manifests::k8ssandra_operator(control_plane))
    },
    marker: ("apps/v1", "Deployment"),
    observe: |object| {
        let mut inputs = installed(object);
        let control_plane = object["spec"]["template"]["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|c| c["env"].as_array().into_iter().flatten())
            .find(|e| e["name"] == manifests::CONTROL_PLANE_VARIABLE)
            .map(|e| e["value"] == "true");
        if let Some(control_plane) = control_plane {
            inputs.insert("control_plane".to_owned(), Value::Bool(control_plane));
        }
        Ok(inputs)
    },
    settle: Settle::Stored,
};

pub static CASS_OPERATOR: Spec = Spec {
    objects: |ctx| annotated(ctx, &manifests::CASS_OPERATOR, manifests::CASS_OPERATOR.objects()),
    marker: ("apps/v1", "Deployment"),
    observe: |object| Ok(installed(object)),
    settle: Settle::Stored,
};

/// The manifest's objects, refused unless the plan asks for the release this build embeds.
fn annotated(
    ctx: &Ctx<'_>,
    manifest: &Manifest,
    objects: Result<Vec<serde_json::Value>, manifests::ManifestError>,
) -> KubeResult<Vec<serde_json::Value>> {
    let wanted = ctx.inputs.str("version")?;
    if wanted != manifest.version {
        return Err(ProviderError::fatal(format!(
            "{}: this build of ringform installs {} {}, not {wanted}",
            ctx.address, manifest.name, manifest.version
        ))
        .with_hint("plan again with this build: the version comes from ringform, not the topology"));
    }
    let mut objects = objects.map_err(|e| ProviderError::fatal(e.to_string()).with_source(e))?;
    // An operator runs in a namespace the graph makes as a resource of its own: the manifest's
    // copy of it is left out, so removing the operator does not remove the namespace.
    if let Some(namespace) = ctx.inputs.opt_str("namespace")? {
        if namespace != manifest.namespace {
            return Err(ProviderError::fatal(format!(
                "{}: {} {} runs in namespace {}, not {namespace}",
                ctx.address, manifest.name, manifest.version, manifest.namespace
            )));
        }
        objects.retain(|o| o["kind"] != "Namespace");
    }
    for object in &mut objects {
        if let Some(metadata) = object["metadata"].as_object_mut() {
            let annotations = metadata.entry("annotations").or_insert_with(|| serde_json::json!({}));
            if let Some(annotations) = annotations.as_object_mut() {
                annotations.insert(VERSION_ANNOTATION.to_owned(), manifest.version.into());
            }
        }
    }
    Ok(objects)
}

/// What any installed object shows: the release and the namespace it runs in.
fn installed(object: &serde_json::Value) -> Attributes {
    let pointer = format!("/metadata/annotations/{}", VERSION_ANNOTATION.replace('/', "~1"));
    let mut inputs = Attributes::new();
    inputs.insert("version".to_owned(), text_at(object, &pointer));
    inputs.insert("namespace".to_owned(), text_at(object, "/metadata/namespace"));
    inputs
}
