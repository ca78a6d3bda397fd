//! The resource types a cluster serves: the built-in table, and the types its
//! CustomResourceDefinitions add (see [`crd`](super::crd)).

use std::sync::OnceLock;

/// One served resource type, as discovery describes it.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct ResourceType {
    /// `""` for the core group.
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    /// Whether `status` is a subresource: writes to the object then leave `status` alone.
    pub status: bool,
}

impl ResourceType {
    /// `v1` for the core group, `apps/v1` otherwise.
    pub fn api_version(&self) -> String {
        group_version(&self.group, &self.version)
    }

    /// How errors name the type: `configmaps`, `deployments.apps`.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() { self.plural.clone() } else { format!("{}.{}", self.plural, self.group) }
    }

    pub fn is(&self, group: &str, plural: &str) -> bool {
        self.group == group && self.plural == plural
    }
}

pub(super) fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() { version.to_string() } else { format!("{group}/{version}") }
}

/// (group, version, plural, kind, namespaced, short names, status subresource)
type Row = (&'static str, &'static str, &'static str, &'static str, bool, &'static [&'static str], bool);

const BUILTIN: &[Row] = &[
    ("", "v1", "namespaces", "Namespace", false, &["ns"], true),
    ("", "v1", "configmaps", "ConfigMap", true, &["cm"], false),
    ("", "v1", "secrets", "Secret", true, &[], false),
    ("", "v1", "serviceaccounts", "ServiceAccount", true, &["sa"], false),
    ("", "v1", "services", "Service", true, &["svc"], true),
    ("", "v1", "endpoints", "Endpoints", true, &["ep"], false),
    ("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true, &[], false),
    ("", "v1", "pods", "Pod", true, &["po"], true),
    ("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true, &["pvc"], true),
    ("", "v1", "persistentvolumes", "PersistentVolume", false, &["pv"], true),
    ("", "v1", "nodes", "Node", false, &["no"], true),
    ("", "v1", "events", "Event", true, &["ev"], false),
    ("apps", "v1", "deployments", "Deployment", true, &["deploy"], true),
    ("apps", "v1", "daemonsets", "DaemonSet", true, &["ds"], true),
    ("apps", "v1", "statefulsets", "StatefulSet", true, &["sts"], true),
    ("apps", "v1", "replicasets", "ReplicaSet", true, &["rs"], true),
    ("rbac.authorization.k8s.io", "v1", "roles", "Role", true, &[], false),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true, &[], false),
    ("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false, &[], false),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false, &[], false),
    (
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        false,
        &[],
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        false,
        &[],
        false,
    ),
    ("storage.k8s.io", "v1", "storageclasses", "StorageClass", false, &["sc"], false),
    (
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        false,
        &["crd", "crds"],
        true,
    ),
    ("coordination.k8s.io", "v1", "leases", "Lease", true, &[], false),
    ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true, &["pdb"], true),
];

/// The built-in types, in discovery order.
pub(super) fn builtin() -> &'static [ResourceType] {
    static TYPES: OnceLock<Vec<ResourceType>> = OnceLock::new();
    TYPES.get_or_init(|| {
        BUILTIN
            .iter()
            .map(|&(group, version, plural, kind, namespaced, short_names, status)| ResourceType {
                group: group.into(),
                version: version.into(),
                plural: plural.into(),
                singular: kind.to_ascii_lowercase(),
                kind: kind.into(),
                namespaced,
                short_names: short_names.iter().map(|s| s.to_string()).collect(),
                status,
            })
            .collect()
    })
}
