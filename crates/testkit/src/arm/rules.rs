//! What ARM's resource providers enforce beyond the schemas: references must point at existing
//! resources, gateways sit in a subnet named `GatewaySubnet`, Vnet2Vnet connections need a shared
//! key, what is referenced cannot be deleted, AKS's rules for agent pools ([`pools`]) and
//! authorization's for role assignments ([`roles`]).

use serde_json::Value;

use super::errors::ArmError;
use super::kinds::Kind;
use super::store::{Entry, Store};
use super::{pools, roles};

/// One id a resource body points at, with where in the body it sits.
#[derive(Debug)]
pub(super) struct Reference {
    pub pointer: String,
    pub id: String,
}

/// Every resource id `body` (of `kind`) references.
pub(super) fn references(kind: Kind, body: &Value) -> Vec<Reference> {
    let mut found = Vec::new();
    let mut add = |pointer: String| {
        if let Some(id) = body.pointer(&pointer).and_then(Value::as_str) {
            found.push(Reference { pointer, id: id.to_string() });
        }
    };
    let count = |pointer: &str| body.pointer(pointer).and_then(Value::as_array).map_or(0, Vec::len);
    match kind {
        Kind::VnetGateway => {
            for i in 0..count("/properties/ipConfigurations") {
                add(format!("/properties/ipConfigurations/{i}/properties/subnet/id"));
                add(format!("/properties/ipConfigurations/{i}/properties/publicIPAddress/id"));
            }
        }
        Kind::Connection => {
            for end in ["virtualNetworkGateway1", "virtualNetworkGateway2", "localNetworkGateway2"] {
                add(format!("/properties/{end}/id"));
            }
        }
        Kind::Peering => add("/properties/remoteVirtualNetwork/id".to_string()),
        Kind::ManagedCluster => {
            for i in 0..count("/properties/agentPoolProfiles") {
                add(format!("/properties/agentPoolProfiles/{i}/vnetSubnetID"));
                add(format!("/properties/agentPoolProfiles/{i}/podSubnetID"));
            }
        }
        Kind::AgentPool => {
            add("/properties/vnetSubnetID".to_string());
            add("/properties/podSubnetID".to_string());
        }
        Kind::ResourceGroup | Kind::VirtualNetwork | Kind::PublicIp | Kind::LocalGateway | Kind::RoleAssignment => {}
    }
    found
}

/// Splits a subnet id into its network's store key and the subnet name.
fn split_subnet(id: &str) -> Option<(String, &str)> {
    let lower = id.to_ascii_lowercase();
    let at = lower.rfind("/subnets/")?;
    Some((lower[..at].to_string(), &id[at + "/subnets/".len()..]))
}

fn subnet_names(vnet: &Value) -> impl Iterator<Item = &str> {
    vnet.pointer("/properties/subnets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str())
}

/// The resource an id points at: a stored resource, or the network holding a subnet.
fn resolve<'s>(store: &'s Store, id: &str) -> Option<&'s Entry> {
    match split_subnet(id) {
        Some((vnet, subnet)) => {
            store.get(&vnet).filter(|v| subnet_names(&v.body).any(|name| name.eq_ignore_ascii_case(subnet)))
        }
        None => store.get(&id.to_ascii_lowercase()),
    }
}

fn invalid_reference(id: &str, target: &str, pointer: &str) -> ArmError {
    ArmError::bad_request(
        "InvalidResourceReference",
        format!(
            "Resource {id} referenced by resource {target} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region. (at {pointer})"
        ),
    )
}

fn missing_reference(target: &str, property: &str) -> ArmError {
    ArmError::bad_request(
        "MissingJsonReferenceId",
        format!("Value for reference id is missing. Path properties.{property} of resource {target}."),
    )
}

/// The checks a resource provider makes on a PUT whose body already fits the schema.
pub(super) fn check_put(store: &Store, kind: Kind, id: &str, body: &Value) -> Result<(), ArmError> {
    for reference in references(kind, body) {
        if resolve(store, &reference.id).is_none() {
            return Err(invalid_reference(&reference.id, id, &reference.pointer));
        }
    }
    match kind {
        Kind::VnetGateway => check_gateway(body, id),
        Kind::Connection => check_connection(body, id),
        Kind::VirtualNetwork => check_kept_subnets(store, id, body),
        Kind::ManagedCluster => pools::check_cluster_put(store, id, body),
        Kind::AgentPool => pools::check_pool_put(store, id, body),
        Kind::RoleAssignment => roles::check_put(store, id, body),
        _ => Ok(()),
    }
}

fn check_gateway(body: &Value, id: &str) -> Result<(), ArmError> {
    for reference in references(Kind::VnetGateway, body).iter().filter(|r| r.pointer.ends_with("/subnet/id")) {
        let name = split_subnet(&reference.id).map_or("", |(_, name)| name);
        if !name.eq_ignore_ascii_case("GatewaySubnet") {
            return Err(ArmError::bad_request(
                "InvalidGatewaySubnet",
                format!(
                    "Subnet {} referenced by virtual network gateway {id} is not a gateway subnet: the subnet of a gateway must be named 'GatewaySubnet'.",
                    reference.id
                ),
            ));
        }
    }
    let configured =
        body.pointer("/properties/ipConfigurations").and_then(Value::as_array).is_some_and(|c| !c.is_empty());
    if !configured {
        return Err(missing_reference(id, "ipConfigurations"));
    }
    Ok(())
}

fn check_connection(body: &Value, id: &str) -> Result<(), ArmError> {
    let properties = &body["properties"];
    let has = |name: &str| properties[name]["id"].is_string();
    if !has("virtualNetworkGateway1") {
        return Err(missing_reference(id, "virtualNetworkGateway1"));
    }
    match properties["connectionType"].as_str().unwrap_or_default() {
        "Vnet2Vnet" if !has("virtualNetworkGateway2") => Err(missing_reference(id, "virtualNetworkGateway2")),
        "Vnet2Vnet" if properties["sharedKey"].as_str().is_none_or(str::is_empty) => Err(ArmError::bad_request(
            "SharedKeyRequired",
            format!("A shared key is required for the Vnet2Vnet connection {id}."),
        )),
        "IPsec" if !has("localNetworkGateway2") => Err(missing_reference(id, "localNetworkGateway2")),
        _ => Ok(()),
    }
}

/// A network update may not drop a subnet that something still uses.
fn check_kept_subnets(store: &Store, id: &str, body: &Value) -> Result<(), ArmError> {
    let kept: Vec<&str> = subnet_names(body).collect();
    match users(store, &id.to_ascii_lowercase())
        .into_iter()
        .find(|(_, r)| split_subnet(&r.id).is_some_and(|(_, name)| !kept.iter().any(|k| k.eq_ignore_ascii_case(name))))
    {
        Some((user, reference)) => Err(in_use_subnet(&reference.id, &user.id)),
        None => Ok(()),
    }
}

fn in_use_subnet(subnet: &str, user: &str) -> ArmError {
    ArmError::bad_request(
        "InUseSubnetCannotBeDeleted",
        format!(
            "Subnet {subnet} is in use by {user} and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet."
        ),
    )
}

/// The resources outside `key`'s own tree that reference it (or, for a network, its subnets).
fn users<'s>(store: &'s Store, key: &str) -> Vec<(&'s Entry, Reference)> {
    let own = format!("{key}/");
    let points_here = |r: &Reference| {
        let id = r.id.to_ascii_lowercase();
        id == key || split_subnet(&id).is_some_and(|(vnet, _)| vnet == key)
    };
    store
        .iter()
        .filter(|e| !e.key().starts_with(&own))
        .flat_map(|e| references(e.kind, &e.body).into_iter().filter(points_here).map(move |r| (e, r)))
        .collect()
}

/// ARM refuses to delete what other resources still use.
pub(super) fn check_delete(store: &Store, entry: &Entry) -> Result<(), ArmError> {
    if entry.kind == Kind::AgentPool {
        pools::check_pool_delete(store, entry)?;
    }
    // A network is held by what sits in its subnets; peerings pointing at it just disconnect.
    let holds = |r: &Reference| entry.kind != Kind::VirtualNetwork || split_subnet(&r.id).is_some();
    let Some((user, reference)) = users(store, &entry.key()).into_iter().find(|(_, r)| holds(r)) else {
        return Ok(());
    };
    let (id, user) = (&entry.id, &user.id);
    Err(match entry.kind {
        Kind::VirtualNetwork => in_use_subnet(&reference.id, user),
        Kind::PublicIp => ArmError::bad_request(
            "PublicIPAddressInUse",
            format!("Public IP address {id} can not be deleted since it is still allocated to resource {user}."),
        ),
        Kind::VnetGateway => ArmError::bad_request(
            "InUseVirtualNetworkGatewayCannotBeDeleted",
            format!("Virtual network gateway {id} cannot be deleted because it is in use by connection {user}."),
        ),
        Kind::LocalGateway => ArmError::bad_request(
            "InUseLocalNetworkGatewayCannotBeDeleted",
            format!("Local network gateway {id} cannot be deleted because it is in use by connection {user}."),
        ),
        // Nothing references the other kinds through the fields the fake follows.
        _ => return Ok(()),
    })
}

/// The peering on the remote network that points back at `vnet_key`, if any.
fn counterpart<'s>(store: &'s Store, vnet_key: &str, remote_id: &str) -> Option<&'s Entry> {
    let prefix = format!("{}/virtualnetworkpeerings/", remote_id.to_ascii_lowercase());
    store.list(Kind::Peering, &prefix).into_iter().find(|p| {
        p.body
            .pointer("/properties/remoteVirtualNetwork/id")
            .and_then(Value::as_str)
            .is_some_and(|id| id.eq_ignore_ascii_case(vnet_key))
    })
}

/// Sets a peering's server-side view of the link: `Connected` once both networks peer with each
/// other, `Initiated` while only this side does. The other side is updated to match.
pub(super) fn link_peering(store: &mut Store, peering_key: &str) {
    let Some(peering) = store.get(peering_key) else { return };
    let vnet_key = peering_key[..peering_key.rfind("/virtualnetworkpeerings/").unwrap_or(0)].to_string();
    let remote_id = peering
        .body
        .pointer("/properties/remoteVirtualNetwork/id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let remote_space = store.get(&remote_id.to_ascii_lowercase()).map(|v| v.body["properties"]["addressSpace"].clone());
    let other = counterpart(store, &vnet_key, &remote_id)
        .filter(|p| p.body["properties"]["peeringState"] != "Disconnected")
        .map(Entry::key);
    let state = if other.is_some() { "Connected" } else { "Initiated" };
    if let Some(properties) = store.get_mut(peering_key).and_then(Entry::properties_mut) {
        properties.insert("peeringState".into(), state.into());
        properties.insert("peeringSyncLevel".into(), "FullyInSync".into());
        if let Some(space) = remote_space.filter(|s| !s.is_null()) {
            properties.insert("remoteAddressSpace".into(), space);
        }
    }
    if let Some(other) = other.and_then(|key| store.get_mut(&key)) {
        other.set_property("peeringState", "Connected");
    }
}

/// After removals: a peering whose other side is gone shows `Disconnected`, as in Azure.
pub(super) fn disconnect_orphans(store: &mut Store) {
    let orphans: Vec<String> = store
        .iter()
        .filter(|p| p.kind == Kind::Peering && p.body["properties"]["peeringState"] == "Connected")
        .filter(|p| {
            let key = p.key();
            let vnet_key = &key[..key.rfind("/virtualnetworkpeerings/").unwrap_or(0)];
            let remote =
                p.body.pointer("/properties/remoteVirtualNetwork/id").and_then(Value::as_str).unwrap_or_default();
            counterpart(store, vnet_key, remote).is_none()
        })
        .map(Entry::key)
        .collect();
    for key in orphans {
        if let Some(peering) = store.get_mut(&key) {
            peering.set_property("peeringState", "Disconnected");
        }
    }
}
