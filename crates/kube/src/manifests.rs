//! The pinned installs, embedded: cert-manager, k8ssandra-operator (cluster-scoped) and
//! cass-operator (cluster-scoped), each rendered once with the real `kubectl kustomize` and
//! `helm template` from the upstream release, byte for byte as the tools wrote it. Where each
//! file comes from, how it was rendered and its checksum are in `manifests/PROVENANCE.md`;
//! `manifests/render.sh` renders them again.
//!
//! k8ssandra-operator's control-plane and data-plane renders differ only in the operator's
//! `K8SSANDRA_CONTROL_PLANE` variable, so only the data-plane render is embedded and
//! [`k8ssandra_operator`] sets the variable.

use ringform_schema::kubernetes;
use serde::Deserialize;
use serde_json::Value;

/// One upstream release's install, as rendered.
#[derive(Debug)]
pub struct Manifest {
    /// What it installs.
    pub name: &'static str,
    /// The upstream release tag, as the schema names it (the `version` input).
    pub version: &'static str,
    /// The namespace its namespaced objects live in (the manifest creates it).
    pub namespace: &'static str,
    /// The rendered multi-document YAML.
    pub yaml: &'static str,
    /// Its SHA-256, as PROVENANCE.md records it.
    pub sha256: &'static str,
}

pub static CERT_MANAGER: Manifest = Manifest {
    name: "cert-manager",
    version: kubernetes::CERT_MANAGER_VERSION,
    namespace: "cert-manager",
    yaml: include_str!("../manifests/cert-manager-v1.20.3.yaml"),
    sha256: "7ee74ba06845213e96d8ceaff3d20dd51e682765c1418eddda4e8780ba082261",
};

/// The data-plane render; [`k8ssandra_operator`] makes a control plane of it.
pub static K8SSANDRA_OPERATOR: Manifest = Manifest {
    name: "k8ssandra-operator",
    version: kubernetes::K8SSANDRA_OPERATOR_VERSION,
    namespace: "k8ssandra-operator",
    yaml: include_str!("../manifests/k8ssandra-operator-v1.32.5-data-plane.yaml"),
    sha256: "a6f5bc11389281d942b2e897dcffd29de471fbeb5b518229bb12783f11d894b0",
};

pub static CASS_OPERATOR: Manifest = Manifest {
    name: "cass-operator",
    version: kubernetes::CASS_OPERATOR_VERSION,
    namespace: "cass-operator",
    yaml: include_str!("../manifests/cass-operator-v1.32.0-cluster.yaml"),
    sha256: "26b2f50ba5993f02157ad4f5ba49fb353c74783aeb519aea5649c2c691b382a4",
};

/// The operator Deployment's container and the variable that makes it a control plane.
const OPERATOR_DEPLOYMENT: &str = "k8ssandra-operator";
pub const CONTROL_PLANE_VARIABLE: &str = "K8SSANDRA_CONTROL_PLANE";

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("the embedded {manifest} manifest does not parse: {source}")]
    Yaml {
        manifest: &'static str,
        #[source]
        source: serde_yaml_ng::Error,
    },
    #[error("the embedded {manifest} manifest has no {what}")]
    Missing { manifest: &'static str, what: String },
}

impl Manifest {
    /// Every object, in the order the file lists them (empty documents left out).
    pub fn objects(&self) -> Result<Vec<Value>, ManifestError> {
        let mut objects = Vec::new();
        for document in serde_yaml_ng::Deserializer::from_str(self.yaml) {
            let object =
                Value::deserialize(document).map_err(|source| ManifestError::Yaml { manifest: self.name, source })?;
            if !object.is_null() {
                objects.push(object);
            }
        }
        Ok(objects)
    }
}

/// k8ssandra-operator's objects, its Deployment set up as a control plane or a data plane.
pub fn k8ssandra_operator(control_plane: bool) -> Result<Vec<Value>, ManifestError> {
    let mut objects = K8SSANDRA_OPERATOR.objects()?;
    let variable = objects
        .iter_mut()
        .filter(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == OPERATOR_DEPLOYMENT)
        .flat_map(|o| o["spec"]["template"]["spec"]["containers"].as_array_mut().into_iter().flatten())
        .filter(|c| c["name"] == OPERATOR_DEPLOYMENT)
        .flat_map(|c| c["env"].as_array_mut().into_iter().flatten())
        .find(|e| e["name"] == CONTROL_PLANE_VARIABLE)
        .ok_or_else(|| ManifestError::Missing {
            manifest: K8SSANDRA_OPERATOR.name,
            what: format!("{CONTROL_PLANE_VARIABLE} on Deployment {OPERATOR_DEPLOYMENT}"),
        })?;
    variable["value"] = Value::from(if control_plane { "true" } else { "false" });
    Ok(objects)
}

#[cfg(test)]
mod tests;
