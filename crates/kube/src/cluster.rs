//! One cluster's API for objects of any kind, given as JSON: server-side apply with field
//! manager `ringform`, get, list by label selector, delete. Where a kind lives (its plural, and
//! whether it is namespaced) is discovered once per API version and kept; a kind not served
//! yet (a CRD just applied) is a retryable error, and is looked up again next time.

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResource;
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use ringform_core::provider::ProviderError;
use serde_json::Value;

use crate::error::{KubeResult, api_error, is_not_found};

/// The field manager of everything ringform applies.
pub const FIELD_MANAGER: &str = "ringform";

/// An object's identity in one cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    /// `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    /// The identity `object` declares (`apiVersion`, `kind`, `metadata`).
    pub fn of(object: &Value) -> KubeResult<ObjectRef> {
        let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        match (text(&object["apiVersion"]), text(&object["kind"]), text(&object["metadata"]["name"])) {
            (Some(api_version), Some(kind), Some(name)) => {
                Ok(ObjectRef { api_version, kind, namespace: text(&object["metadata"]["namespace"]), name })
            }
            _ => Err(ProviderError::fatal("an object without apiVersion, kind or metadata.name cannot be applied")),
        }
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

pub struct Cluster {
    pub name: String,
    client: Client,
    /// The resources each API version serves, as discovered.
    served: Mutex<HashMap<String, Vec<APIResource>>>,
}

impl Cluster {
    pub fn new(name: &str, client: Client) -> Cluster {
        Cluster { name: name.to_owned(), client, served: Mutex::new(HashMap::new()) }
    }

    /// Where objects of `kind` in `api_version` live and whether they are namespaced; `None`
    /// when the cluster does not serve that kind (yet).
    async fn resource(&self, api_version: &str, kind: &str) -> KubeResult<Option<(ApiResource, bool)>> {
        let find = |list: &[APIResource]| {
            list.iter().find(|r| r.kind == kind && !r.name.contains('/')).map(|r| {
                let gvk = GroupVersionKind::try_from(&kube::core::TypeMeta {
                    api_version: api_version.to_owned(),
                    kind: kind.to_owned(),
                })
                .ok();
                gvk.map(|gvk| (ApiResource::from_gvk_with_plural(&gvk, &r.name), r.namespaced))
            })
        };
        let cached = self.served.lock().ok().and_then(|served| served.get(api_version).and_then(|l| find(l)));
        if let Some(Some(found)) = cached {
            return Ok(Some(found));
        }
        let listed = if api_version.contains('/') {
            self.client.list_api_group_resources(api_version).await
        } else {
            self.client.list_core_api_resources(api_version).await
        };
        let resources = match listed {
            Ok(list) => list.resources,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(api_error(format!("cluster {}: discovering {api_version}", self.name), e)),
        };
        let found = find(&resources);
        if let Ok(mut served) = self.served.lock() {
            served.insert(api_version.to_owned(), resources);
        }
        Ok(found.flatten())
    }

    /// Where objects of `kind` live; not being served is a retryable error (a CRD applied by
    /// an earlier step becomes served shortly after).
    async fn served(&self, api_version: &str, kind: &str) -> KubeResult<(ApiResource, bool)> {
        self.resource(api_version, kind).await?.ok_or_else(|| {
            ProviderError::retryable(format!("cluster {}: {kind} ({api_version}) is not served yet", self.name))
                .with_hint(
                    "its CustomResourceDefinition is applied by an earlier step; if this persists, check that step",
                )
        })
    }

    fn api_for(&self, (resource, namespaced): (ApiResource, bool), namespace: Option<&str>) -> Api<DynamicObject> {
        match (namespaced, namespace) {
            (true, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, &resource),
            (true, None) => Api::default_namespaced_with(self.client.clone(), &resource),
            (false, _) => Api::all_with(self.client.clone(), &resource),
        }
    }

    pub async fn api(&self, object: &ObjectRef) -> KubeResult<Api<DynamicObject>> {
        Ok(self.api_for(self.served(&object.api_version, &object.kind).await?, object.namespace.as_deref()))
    }

    /// Applies `object` (server-side, taking ownership of every field it sets) and returns it
    /// as the cluster now has it.
    pub async fn apply(&self, object: &Value) -> KubeResult<Value> {
        let target = ObjectRef::of(object)?;
        let api = self.api(&target).await?;
        let mut object = object.clone();
        if !api.resource_url().contains("/namespaces/")
            && let Some(metadata) = object["metadata"].as_object_mut()
        {
            // Cluster-scoped: some upstream manifests still name a namespace; the API ignores it.
            metadata.remove("namespace");
        }
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let applied = api
            .patch(&target.name, &params, &Patch::Apply(&object))
            .await
            .map_err(|e| api_error(format!("cluster {}: applying {target}", self.name), e))?;
        to_json(applied)
    }

    /// The object, or `None` when it does not exist.
    pub async fn get(&self, target: &ObjectRef) -> KubeResult<Option<Value>> {
        let api = self.api(target).await?;
        match api.get_opt(&target.name).await {
            Ok(found) => found.map(to_json).transpose(),
            Err(e) => Err(api_error(format!("cluster {}: reading {target}", self.name), e)),
        }
    }

    /// Every object of a type matching `selector`, in `namespace` or, when `None`, everywhere.
    pub async fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        selector: &str,
    ) -> KubeResult<Vec<Value>> {
        let served = self.served(api_version, kind).await?;
        // `None` lists every namespace, which `Api::all_with` does for namespaced kinds too.
        let api = match namespace {
            Some(_) => self.api_for(served, namespace),
            None => Api::all_with(self.client.clone(), &served.0),
        };
        let listed = api
            .list(&ListParams::default().labels(selector))
            .await
            .map_err(|e| api_error(format!("cluster {}: listing {kind}", self.name), e))?;
        listed.items.into_iter().map(to_json).collect()
    }

    /// Sets one annotation on the object (a merge patch: no field of ringform's changes owner).
    pub async fn annotate(&self, target: &ObjectRef, key: &str, value: &str) -> KubeResult<()> {
        let api = self.api(target).await?;
        let patch = serde_json::json!({"metadata": {"annotations": {key: value}}});
        api.patch(&target.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| api_error(format!("cluster {}: annotating {target}", self.name), e))?;
        Ok(())
    }

    /// Deletes the object; one already gone is no error.
    pub async fn delete(&self, target: &ObjectRef) -> KubeResult<()> {
        // A kind no longer served (its CRD went first) has no objects left.
        let Some(served) = self.resource(&target.api_version, &target.kind).await? else { return Ok(()) };
        let api = self.api_for(served, target.namespace.as_deref());
        let params = DeleteParams::background();
        match api.delete(&target.name, &params).await {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(api_error(format!("cluster {}: deleting {target}", self.name), e)),
        }
    }
}

impl Cluster {
    /// The client, for requests no typed API covers (the pod proxy).
    pub fn client(&self) -> &Client {
        &self.client
    }
}

fn to_json(object: DynamicObject) -> KubeResult<Value> {
    serde_json::to_value(object)
        .map_err(|e| ProviderError::fatal("an object the cluster returned does not serialize").with_source(e))
}
