//! Discovery as kubectl and kube-rs read it: `/version`, `/api`, `/apis`, each group version's
//! `APIResourceList` (with the `status` subresources, and `pods/eviction`), and just enough OpenAPI v3 for kubectl to see that every PATCH takes
//! `fieldValidation` (so it leaves validation to the server instead of fetching full schemas).
//! Aggregated discovery is not served: asked for it, the server answers plain
//! `application/json` and clients fall back to these per-group documents, as they do against
//! an older server.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use serde_json::{Value, json};

use super::resources::{ResourceType, group_version};

/// The Kubernetes release the fake answers as.
const MINOR: &str = "33";

const VERBS: &[&str] = &["create", "delete", "get", "list", "patch", "update", "watch"];

pub(super) fn version() -> Value {
    json!({
        "major": "1",
        "minor": MINOR,
        "gitVersion": format!("v1.{MINOR}.0-fake"),
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.24",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

pub(super) fn core_versions(host: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": host }]
    })
}

/// The named groups in the order their first type is served, each with its versions.
fn group_versions(types: &[ResourceType]) -> Vec<(String, Vec<String>)> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for t in types.iter().filter(|t| !t.group.is_empty()) {
        match groups.iter_mut().find(|(g, _)| *g == t.group) {
            Some((_, versions)) if !versions.contains(&t.version) => versions.push(t.version.clone()),
            Some(_) => {}
            None => groups.push((t.group.clone(), vec![t.version.clone()])),
        }
    }
    groups
}

fn api_group(name: &str, versions: &[String]) -> Value {
    let listed: Vec<Value> =
        versions.iter().map(|v| json!({ "groupVersion": group_version(name, v), "version": v })).collect();
    json!({ "name": name, "versions": listed, "preferredVersion": listed.first().cloned().unwrap_or_default() })
}

pub(super) fn groups(types: &[ResourceType]) -> Value {
    let groups: Vec<Value> = group_versions(types).iter().map(|(name, versions)| api_group(name, versions)).collect();
    json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups })
}

pub(super) fn group(types: &[ResourceType], name: &str) -> Option<Value> {
    let (name, versions) = group_versions(types).into_iter().find(|(g, _)| g == name)?;
    let mut group = api_group(&name, &versions);
    group["kind"] = "APIGroup".into();
    group["apiVersion"] = "v1".into();
    Some(group)
}

pub(super) fn resources(types: &[ResourceType], group: &str, version: &str) -> Option<Value> {
    let mut resources = Vec::new();
    for t in types.iter().filter(|t| t.group == group && t.version == version) {
        resources.push(json!({
            "name": t.plural,
            "singularName": t.singular,
            "namespaced": t.namespaced,
            "kind": t.kind,
            "verbs": VERBS,
            "shortNames": t.short_names,
        }));
        if t.status {
            resources.push(json!({
                "name": format!("{}/status", t.plural),
                "singularName": "",
                "namespaced": t.namespaced,
                "kind": t.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
        if t.is("", "pods") {
            // What `kubectl drain` looks for before it evicts rather than deletes.
            resources.push(json!({
                "name": "pods/eviction", "singularName": "", "namespaced": true,
                "group": "policy", "version": "v1", "kind": "Eviction", "verbs": ["create"],
            }));
        }
    }
    let group_version = group_version(group, version);
    (!resources.is_empty())
        .then(|| json!({ "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources }))
}

/// `api/v1` or `apis/<group>/<version>`, as OpenAPI v3 names a group version.
fn openapi_key(group: &str, version: &str) -> String {
    if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") }
}

/// The OpenAPI v3 index: one document per group version, rooted at `/openapi/v3` so that
/// clients keep the cluster prefix in front of it.
pub(super) fn openapi_root(types: &[ResourceType]) -> Value {
    let mut paths = serde_json::Map::new();
    for t in types {
        let key = openapi_key(&t.group, &t.version);
        if !paths.contains_key(&key) {
            let mut hasher = DefaultHasher::new();
            for t in types.iter().filter(|o| o.group == t.group && o.version == t.version) {
                (&t.plural, &t.kind, t.namespaced).hash(&mut hasher);
            }
            let url = format!("/openapi/v3/{key}?hash={:016X}", hasher.finish());
            paths.insert(key, json!({ "serverRelativeURL": url }));
        }
    }
    json!({ "paths": paths })
}

/// A group version's OpenAPI v3 document: each type's object path with its PATCH operation
/// and the query parameters the server takes. No schemas.
pub(super) fn openapi(types: &[ResourceType], group: &str, version: &str) -> Option<Value> {
    let mut paths = serde_json::Map::new();
    for t in types.iter().filter(|t| t.group == group && t.version == version) {
        let scope = if t.namespaced { "/namespaces/{namespace}" } else { "" };
        let path = format!("/{}{scope}/{}/{{name}}", openapi_key(group, version), t.plural);
        let parameters: Vec<Value> = ["dryRun", "fieldManager", "fieldValidation", "force"]
            .iter()
            .map(|name| json!({ "name": name, "in": "query", "schema": { "type": "string", "uniqueItems": true } }))
            .collect();
        let operation = json!({
            "operationId": format!("patch{}", t.kind),
            "parameters": parameters,
            "responses": { "200": { "description": "OK" } },
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": { "group": t.group, "version": t.version, "kind": t.kind }
        });
        paths.insert(path, json!({ "patch": operation }));
    }
    (!paths.is_empty()).then(|| {
        json!({
            "openapi": "3.0.0",
            "info": { "title": "Kubernetes", "version": format!("v1.{MINOR}.0") },
            "paths": paths,
            "components": { "schemas": {} }
        })
    })
}
