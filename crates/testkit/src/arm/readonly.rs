//! The read-only fields ARM sets on a resource (ids, etag, provisioning state, addresses,
//! fqdns…) and the view of a resource that responses show (secrets left out). Values the
//! service allocated once, like a public IP's address or a cluster's fqdn, survive updates.

use rand::Rng;
use serde_json::{Map, Value, json};

use super::kinds::{Kind, NETWORK};
use super::routes::Target;

/// The Kubernetes version a cluster reports when its PUT names none.
const DEFAULT_KUBERNETES_VERSION: &str = "1.30.6";

/// What `fill` needs besides the body.
pub(super) struct Context<'a> {
    pub target: &'a Target,
    /// The stored body before this PUT, for values allocated once.
    pub previous: Option<&'a Value>,
    /// The parent's stored body, for child resources.
    pub parent: Option<&'a Value>,
    pub provisioning: &'a str,
    /// Counter for public IP addresses, so every address differs.
    pub addresses: &'a mut u32,
}

/// Overwrites the server-set fields of a PUT body, which becomes the stored resource.
pub(super) fn fill(body: &mut Value, cx: Context<'_>) {
    let t = cx.target;
    let Some(resource) = body.as_object_mut() else { return };
    resource.insert("id".into(), t.id.clone().into());
    resource.insert("name".into(), t.name.clone().into());
    resource.insert("type".into(), t.kind.type_name().into());
    if !matches!(t.kind, Kind::ResourceGroup | Kind::RoleAssignment) {
        resource.insert("etag".into(), format!("W/\"{}\"", uuid::Uuid::new_v4()).into());
    }
    let location = resource.get("location").and_then(Value::as_str).unwrap_or_default().to_string();
    let Some(properties) = resource.entry("properties").or_insert_with(|| json!({})).as_object_mut() else { return };
    if t.kind == Kind::RoleAssignment {
        // A role assignment has no provisioning state: it exists or it does not.
        properties.insert("scope".into(), t.parent.clone().unwrap_or_default().into());
        return;
    }
    properties.insert("provisioningState".into(), cx.provisioning.into());
    let previous = cx.previous.and_then(|p| p.get("properties"));
    let keep = |properties: &mut Map<String, Value>, name: &str, make: &mut dyn FnMut() -> Value| {
        let value = previous.and_then(|p| p.get(name)).filter(|v| !v.is_null()).cloned().unwrap_or_else(&mut *make);
        properties.insert(name.into(), value);
    };
    if t.kind.namespace() == NETWORK {
        keep(properties, "resourceGuid", &mut || uuid::Uuid::new_v4().to_string().into());
    }
    match t.kind {
        Kind::VirtualNetwork => {
            properties.entry("subnets").or_insert_with(|| json!([]));
            name_children(properties, "subnets", &t.id, cx.provisioning);
        }
        Kind::VnetGateway => {
            name_children(properties, "ipConfigurations", &t.id, cx.provisioning);
            properties.entry("bgpSettings").or_insert_with(|| json!({ "asn": 65515, "peerWeight": 0 }));
        }
        Kind::PublicIp => {
            let addresses = cx.addresses;
            keep(properties, "ipAddress", &mut || {
                *addresses += 1;
                format!("20.{}.{}.{}", 10 + (*addresses >> 16) % 200, (*addresses >> 8) & 255, *addresses & 255).into()
            });
        }
        Kind::Connection => keep(properties, "connectionStatus", &mut || "Unknown".into()),
        Kind::ManagedCluster => {
            let prefix = properties.get("dnsPrefix").and_then(Value::as_str).unwrap_or(&t.name).to_string();
            keep(properties, "fqdn", &mut || {
                format!("{prefix}-{:08x}.hcp.{location}.azmk8s.io", rand::rng().random::<u32>()).into()
            });
            let node_group = format!("MC_{}_{}_{location}", t.group, t.name);
            properties.entry("nodeResourceGroup").or_insert_with(|| node_group.into());
            let version =
                properties.get("kubernetesVersion").and_then(Value::as_str).unwrap_or(DEFAULT_KUBERNETES_VERSION);
            let version = Value::from(version);
            properties.insert("currentKubernetesVersion".into(), version.clone());
            properties.insert("powerState".into(), json!({ "code": "Running" }));
            for pool in properties.get_mut("agentPoolProfiles").and_then(Value::as_array_mut).into_iter().flatten() {
                if let Some(pool) = pool.as_object_mut() {
                    fill_pool(pool, cx.provisioning, &version);
                }
            }
            fill_identity(resource, cx.previous);
        }
        Kind::AgentPool => {
            // The agent pools API makes User pools unless told otherwise.
            properties.entry("mode").or_insert_with(|| "User".into());
            let version =
                cx.parent.and_then(|c| c.pointer("/properties/currentKubernetesVersion")).filter(|v| v.is_string());
            fill_pool(properties, cx.provisioning, version.unwrap_or(&DEFAULT_KUBERNETES_VERSION.into()));
        }
        Kind::ResourceGroup | Kind::LocalGateway | Kind::Peering | Kind::RoleAssignment => {}
    }
}

/// What AKS sets on a pool, listed in its cluster or PUT through the agent pools API.
fn fill_pool(pool: &mut Map<String, Value>, provisioning: &str, version: &Value) {
    pool.insert("provisioningState".into(), provisioning.into());
    pool.insert("powerState".into(), json!({ "code": "Running" }));
    pool.entry("count").or_insert(1.into());
    pool.entry("orchestratorVersion").or_insert_with(|| version.clone());
    pool.insert("currentOrchestratorVersion".into(), version.clone());
}

/// Gives each named child object (subnets, IP configurations) its id and provisioning state.
fn name_children(properties: &mut Map<String, Value>, list: &str, parent: &str, provisioning: &str) {
    for child in properties.get_mut(list).and_then(Value::as_array_mut).into_iter().flatten() {
        let Some(child) = child.as_object_mut() else { continue };
        let name = child.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
        child.insert("id".into(), format!("{parent}/{list}/{name}").into());
        if let Some(properties) = child.entry("properties").or_insert_with(|| json!({})).as_object_mut() {
            properties.insert("provisioningState".into(), provisioning.into());
        }
    }
}

/// A system-assigned identity gets a principal and tenant, kept across updates.
fn fill_identity(resource: &mut Map<String, Value>, previous: Option<&Value>) {
    let Some(identity) = resource.get_mut("identity").and_then(Value::as_object_mut) else { return };
    if identity.get("type").and_then(Value::as_str) != Some("SystemAssigned") {
        return;
    }
    for field in ["principalId", "tenantId"] {
        let old = previous.and_then(|p| p.pointer(&format!("/identity/{field}"))).filter(|v| v.is_string()).cloned();
        identity.insert(field.into(), old.unwrap_or_else(|| uuid::Uuid::new_v4().to_string().into()));
    }
}

/// The resource as GET, PUT and list responses show it: ARM never returns a connection's
/// shared key (it has its own `sharedkey` endpoint).
pub(super) fn present(kind: Kind, body: &Value) -> Value {
    let mut shown = body.clone();
    let connection = shown.get_mut("properties").and_then(Value::as_object_mut).filter(|_| kind == Kind::Connection);
    if let Some(properties) = connection {
        properties.remove("sharedKey");
    }
    shown
}
