//! AKS agent pools. A pool is both a child resource (`…/managedClusters/{c}/agentPools/{p}`)
//! and an entry of its cluster's `properties.agentPoolProfiles` (the pool's properties and its
//! `name`); whichever side changes, the other is brought in step. And what AKS refuses about
//! them: resizing a pool's VMs in place, and a cluster left without a System pool.

use serde_json::{Map, Value, json};

use super::errors::{ArmError, Detail};
use super::kinds::Kind;
use super::store::{Entry, Store};

/// The store-key prefix of a cluster's pools.
pub(super) fn prefix(cluster_key: &str) -> String {
    format!("{cluster_key}/{}/", Kind::AgentPool.key().to_ascii_lowercase())
}

/// The cluster key a pool key sits under; `None` for keys that address no pool.
fn cluster_of(key: &str) -> Option<&str> {
    let marker = format!("/{}/", Kind::AgentPool.key().to_ascii_lowercase());
    let (cluster, name) = key.rsplit_once(&marker)?;
    (!name.contains('/')).then_some(cluster)
}

/// After the resource at `key` changed or went: a cluster's pools follow its profiles, and a
/// pool's cluster lists what its pools now are.
pub(super) fn sync(store: &mut Store, key: &str) {
    if let Some(cluster) = cluster_of(key) {
        to_cluster(store, cluster);
    } else if store.get(key).is_some_and(|e| e.kind == Kind::ManagedCluster) {
        from_cluster(store, key);
    }
}

/// The pool entries for a cluster's profiles: created, updated, or removed when not listed.
fn from_cluster(store: &mut Store, cluster_key: &str) {
    let Some(cluster) = store.get(cluster_key) else { return };
    let cluster_id = cluster.id.clone();
    let profiles = cluster.body.pointer("/properties/agentPoolProfiles").and_then(Value::as_array).cloned();
    let profiles: Vec<(String, Map<String, Value>)> = profiles
        .into_iter()
        .flatten()
        .filter_map(|profile| {
            let mut properties = profile.as_object()?.clone();
            let name = properties.remove("name")?.as_str()?.to_string();
            Some((name, properties))
        })
        .collect();
    let pools = prefix(cluster_key);
    let listed = |key: &str| profiles.iter().any(|(name, _)| key == format!("{pools}{}", name.to_ascii_lowercase()));
    let stale: Vec<String> =
        store.list(Kind::AgentPool, &pools).into_iter().map(Entry::key).filter(|k| !listed(k)).collect();
    for key in stale {
        store.remove_tree(&key);
    }
    for (name, properties) in profiles {
        let id = format!("{cluster_id}/{}/{name}", Kind::AgentPool.key());
        let properties = Value::Object(properties);
        match store.get_mut(&id.to_ascii_lowercase()).and_then(|p| p.body.as_object_mut()) {
            Some(pool) if pool.get("properties") == Some(&properties) => {}
            Some(pool) => {
                pool.insert("properties".into(), properties);
                pool.insert("etag".into(), new_etag());
            }
            None => {
                let body = json!({
                    "id": id,
                    "name": name,
                    "type": Kind::AgentPool.type_name(),
                    "etag": new_etag(),
                    "properties": properties,
                });
                store.insert(Entry { id, kind: Kind::AgentPool, body, op: None, secret: None });
            }
        }
    }
}

/// The cluster's profiles for its pools, in the cluster's order, new pools last.
fn to_cluster(store: &mut Store, cluster_key: &str) {
    let pools: Vec<Value> = store.list(Kind::AgentPool, &prefix(cluster_key)).into_iter().map(profile).collect();
    let Some(cluster) = store.get_mut(cluster_key).filter(|c| c.kind == Kind::ManagedCluster) else { return };
    let Some(properties) = cluster.properties_mut() else { return };
    let current = properties.get("agentPoolProfiles").and_then(Value::as_array).cloned().unwrap_or_default();
    let position = |pool: &Value| current.iter().position(|c| same_name(c, pool)).unwrap_or(usize::MAX);
    let mut profiles = pools;
    profiles.sort_by_key(position);
    if profiles == current {
        return;
    }
    properties.insert("agentPoolProfiles".into(), profiles.into());
    if cluster.body.get("etag").is_some() {
        cluster.body["etag"] = new_etag();
    }
}

/// A pool as its cluster lists it: its name, then its properties.
fn profile(pool: &Entry) -> Value {
    let name = pool.id.rsplit('/').next().unwrap_or_default();
    let mut profile = Map::from_iter([("name".to_string(), Value::from(name))]);
    if let Some(properties) = pool.body.get("properties").and_then(Value::as_object) {
        profile.extend(properties.iter().filter(|(k, _)| *k != "name").map(|(k, v)| (k.clone(), v.clone())));
    }
    Value::Object(profile)
}

fn same_name(a: &Value, b: &Value) -> bool {
    matches!((a["name"].as_str(), b["name"].as_str()), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
}

fn new_etag() -> Value {
    format!("W/\"{}\"", uuid::Uuid::new_v4()).into()
}

fn is_system(properties: &Value) -> bool {
    properties["mode"].as_str().is_some_and(|mode| mode.eq_ignore_ascii_case("System"))
}

/// A cluster PUT may not resize an existing pool, nor leave the cluster without a System pool.
pub(super) fn check_cluster_put(store: &Store, id: &str, body: &Value) -> Result<(), ArmError> {
    let cluster_key = id.to_ascii_lowercase();
    let profiles = body.pointer("/properties/agentPoolProfiles").and_then(Value::as_array);
    for (i, profile) in profiles.into_iter().flatten().enumerate() {
        let Some(name) = profile["name"].as_str() else { continue };
        let pool_key = format!("{}{}", prefix(&cluster_key), name.to_ascii_lowercase());
        check_vm_size(store, &pool_key, profile, &format!("properties.agentPoolProfiles[{i}].vmSize"))?;
    }
    if !profiles.into_iter().flatten().any(is_system) {
        return Err(ArmError::bad_request(
            "MustDefineAtLeastOneSystemPool",
            format!("Managed cluster {id} must define at least one agent pool with mode 'System'."),
        ));
    }
    Ok(())
}

/// A pool PUT may not resize the pool, nor turn the cluster's last System pool into a User one.
pub(super) fn check_pool_put(store: &Store, id: &str, body: &Value) -> Result<(), ArmError> {
    let key = id.to_ascii_lowercase();
    let properties = &body["properties"];
    check_vm_size(store, &key, properties, "properties.vmSize")?;
    match store.get(&key) {
        Some(pool) if is_system(&pool.body["properties"]) && !is_system(properties) => {
            last_system_pool(store, pool, "change the mode of")
        }
        _ => Ok(()),
    }
}

/// A pool may go unless it is its cluster's last System pool.
pub(super) fn check_pool_delete(store: &Store, pool: &Entry) -> Result<(), ArmError> {
    if is_system(&pool.body["properties"]) { last_system_pool(store, pool, "delete") } else { Ok(()) }
}

/// AKS moves nodes to a new VM size by a new pool, never in place.
fn check_vm_size(store: &Store, pool_key: &str, properties: &Value, target: &str) -> Result<(), ArmError> {
    let Some(pool) = store.get(pool_key) else { return Ok(()) };
    let (old, new) = (pool.body.pointer("/properties/vmSize").and_then(Value::as_str), properties["vmSize"].as_str());
    match (old, new) {
        (Some(old), Some(new)) if !old.eq_ignore_ascii_case(new) => {
            let message = format!(
                "Changing property 'vmSize' of agent pool {} from '{old}' to '{new}' is not allowed. Add a new agent pool with the new VM size and delete this one.",
                pool.id
            );
            let detail =
                Detail { code: "PropertyChangeNotAllowed".into(), target: target.into(), message: message.clone() };
            Err(ArmError::bad_request("PropertyChangeNotAllowed", message).with_details(vec![detail]))
        }
        _ => Ok(()),
    }
}

/// Refuses to `what` the pool when no other System pool of its cluster stays.
fn last_system_pool(store: &Store, pool: &Entry, what: &str) -> Result<(), ArmError> {
    let key = pool.key();
    let cluster = cluster_of(&key).unwrap_or_default();
    let others = store.list(Kind::AgentPool, &prefix(cluster)).into_iter().filter(|p| p.key() != key).any(|p| {
        let properties = &p.body["properties"];
        is_system(properties) && properties["provisioningState"] != "Deleting"
    });
    if others {
        return Ok(());
    }
    Err(ArmError::bad_request(
        "OperationNotAllowed",
        format!(
            "Cannot {what} agent pool {}: it is the last agent pool with mode 'System' of its managed cluster, which must have at least one at all times.",
            pool.id
        ),
    ))
}
