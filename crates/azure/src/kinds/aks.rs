//! `azure_aks_cluster`: a managed cluster with Azure CNI (pods in their own VNet subnet, or an
//! overlay when there is none), a system-assigned identity and one system node pool. Its
//! `kubeconfig` output is the admin kubeconfig from `listClusterAdminCredential`; its
//! `principal_id` is the identity's, which role assignments name.

use base64::Engine as _;
use ringform_core::Value;
use serde::{Deserialize, Serialize};

use super::{Ctx, Envelope, Seen, Spec, attributes, decode, encode, string_or_null};
use crate::arm::MANAGED_CLUSTERS;
use crate::attrs::strings_value;
use crate::error::{ArmError, ArmResult};

pub static SPEC: Spec = Spec { ty: MANAGED_CLUSTERS, taggable: true, body, observe };

/// Names of the system pool; a VM size change moves the nodes to a pool of the other name.
pub const POOL_NAMES: [&str; 2] = ["system", "systemb"];

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ManagedCluster {
    #[serde(flatten)]
    pub envelope: Envelope,
    pub identity: Identity,
    pub properties: ClusterProperties,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Identity {
    #[serde(rename = "type")]
    pub kind: String,
    /// The system-assigned identity's principal, which role assignments grant roles to.
    #[serde(rename = "principalId", skip_serializing)]
    pub principal_id: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterProperties {
    pub kubernetes_version: String,
    pub dns_prefix: String,
    #[serde(skip_serializing)]
    pub fqdn: String,
    pub agent_pool_profiles: Vec<AgentPool>,
    pub network_profile: NetworkProfile,
    #[serde(rename = "enableRBAC")]
    pub enable_rbac: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AgentPool {
    pub name: String,
    pub count: i64,
    pub vm_size: String,
    pub mode: String,
    pub os_type: String,
    #[serde(rename = "type")]
    pub pool_type: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub availability_zones: Vec<String>,
    #[serde(rename = "vnetSubnetID", skip_serializing_if = "Option::is_none")]
    pub vnet_subnet_id: Option<String>,
    #[serde(rename = "podSubnetID", skip_serializing_if = "Option::is_none")]
    pub pod_subnet_id: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NetworkProfile {
    pub network_plugin: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_plugin_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_cidr: Option<String>,
    pub service_cidr: String,
    #[serde(rename = "dnsServiceIP")]
    pub dns_service_ip: String,
}

impl ManagedCluster {
    /// The system pool ringform manages: the first System-mode pool, else the first pool.
    pub fn system_pool(&self) -> Option<&AgentPool> {
        let pools = &self.properties.agent_pool_profiles;
        pools.iter().find(|p| p.mode.eq_ignore_ascii_case("System")).or_else(|| pools.first())
    }
}

/// The cluster body the inputs describe, its system pool named `pool_name`.
pub fn cluster(ctx: &Ctx, pool_name: &str) -> ArmResult<ManagedCluster> {
    let inputs = &ctx.inputs;
    let pod_subnet_id = inputs.opt_str("pod_subnet_id")?.map(str::to_owned);
    // Azure CNI with a pod subnet gives pods VNet addresses; without one, CNI overlay.
    let (mode, pod_cidr) = match &pod_subnet_id {
        Some(_) => (None, None),
        None => (Some("overlay".to_owned()), inputs.opt_str("pod_cidr")?.map(str::to_owned)),
    };
    Ok(ManagedCluster {
        envelope: Envelope { location: ctx.location()?, tags: ctx.tags(), ..Default::default() },
        identity: Identity {
            kind: inputs.opt_str("identity")?.unwrap_or("SystemAssigned").to_owned(),
            ..Identity::default()
        },
        properties: ClusterProperties {
            kubernetes_version: inputs.str("kubernetes_version")?.to_owned(),
            dns_prefix: inputs.str("dns_prefix")?.to_owned(),
            agent_pool_profiles: vec![AgentPool {
                name: pool_name.to_owned(),
                count: inputs.int("node_count")?,
                vm_size: inputs.str("vm_size")?.to_owned(),
                mode: "System".to_owned(),
                os_type: "Linux".to_owned(),
                pool_type: "VirtualMachineScaleSets".to_owned(),
                availability_zones: inputs.strings("zones")?,
                vnet_subnet_id: Some(inputs.str("subnet_id")?.to_owned()),
                pod_subnet_id,
            }],
            network_profile: NetworkProfile {
                network_plugin: inputs.opt_str("network_plugin")?.unwrap_or("azure").to_owned(),
                network_plugin_mode: mode,
                pod_cidr,
                service_cidr: inputs.str("service_cidr")?.to_owned(),
                dns_service_ip: inputs.str("dns_service_ip")?.to_owned(),
            },
            enable_rbac: true,
            ..ClusterProperties::default()
        },
    })
}

fn body(ctx: &Ctx) -> ArmResult<serde_json::Value> {
    encode(&cluster(ctx, POOL_NAMES[0])?)
}

fn observe(resource: &serde_json::Value) -> ArmResult<Seen> {
    let cluster: ManagedCluster = decode(resource)?;
    let pool = cluster.system_pool().cloned().unwrap_or_default();
    let properties = &cluster.properties;
    let network = &properties.network_profile;
    Ok(Seen {
        inputs: attributes([
            ("name", cluster.envelope.name.as_str().into()),
            ("location", cluster.envelope.location.as_str().into()),
            ("dns_prefix", properties.dns_prefix.as_str().into()),
            ("kubernetes_version", properties.kubernetes_version.as_str().into()),
            ("node_count", pool.count.into()),
            ("vm_size", pool.vm_size.into()),
            ("zones", strings_value(&pool.availability_zones)),
            ("network_plugin", network.network_plugin.as_str().into()),
            ("subnet_id", pool.vnet_subnet_id.into()),
            ("pod_subnet_id", pool.pod_subnet_id.into()),
            ("pod_cidr", network.pod_cidr.clone().into()),
            ("service_cidr", network.service_cidr.as_str().into()),
            ("dns_service_ip", network.dns_service_ip.as_str().into()),
            ("identity", cluster.identity.kind.as_str().into()),
        ]),
        outputs: attributes([
            ("id", cluster.envelope.id.as_str().into()),
            ("name", cluster.envelope.name.as_str().into()),
            ("fqdn", string_or_null(&properties.fqdn)),
            ("principal_id", string_or_null(&cluster.identity.principal_id)),
        ]),
        id: cluster.envelope.id,
        tags: cluster.envelope.tags,
    })
}

/// The body of the agent pools API for `pool`: the same fields under `properties`, less the name.
pub fn pool_body(pool: &AgentPool) -> ArmResult<serde_json::Value> {
    let mut properties = encode(pool)?;
    if let Some(map) = properties.as_object_mut() {
        map.remove("name");
    }
    Ok(serde_json::json!({ "properties": properties }))
}

/// The admin kubeconfig from a `listClusterAdminCredential` answer, as a secret.
pub fn kubeconfig(credentials: &serde_json::Value, resource: &str) -> ArmResult<Value> {
    let unexpected =
        |message: &str| ArmError::Unexpected { resource: resource.to_owned(), message: message.to_owned() };
    let encoded = credentials
        .get("kubeconfigs")
        .and_then(|k| k.get(0))
        .and_then(|k| k.get("value"))
        .and_then(|v| v.as_str())
        .ok_or_else(|| unexpected("listClusterAdminCredential returned no kubeconfigs[0].value"))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| unexpected("the admin kubeconfig is not base64"))?;
    let text = String::from_utf8(bytes).map_err(|_| unexpected("the admin kubeconfig is not UTF-8"))?;
    Ok(Value::secret(text.into()))
}
