//! Answers one request: the bearer token, faults armed by tests, then discovery or the verbs
//! on a resource — get, list, create, replace, merge and JSON patch, server-side apply, delete — and
//! watches, which [`watch`](super::watch) streams; a Pod's eviction ([`eviction`](super::eviction))
//! and its proxy ([`management`](super::management)).

use std::time::Instant;

use serde_json::{Value, json};

use super::admission;
use super::controllers;
use super::crd;
use super::discovery;
use super::errors::{KubeError, json_response};
use super::eviction;
use super::fields::{self, Scope, Writer};
use super::management;
use super::patch;
use super::resources::{self, ResourceType};
use super::routes::{self, Route, Target};
use super::selectors::Selector;
use super::server::{Shared, State};
use super::store::{Cluster, ObjectKey, namespace_key, now};
use super::watch;
use super::{Fault, defaults};
use crate::http::{Request, Response};

pub(super) fn handle(shared: &Shared, request: &Request<'_>) -> Response {
    answer(shared, request).unwrap_or_else(KubeError::into_response)
}

fn answer(shared: &Shared, request: &Request<'_>) -> Result<Response, KubeError> {
    let parsed = routes::parse(request.path);
    let watching =
        request.method == "GET" && matches!(request.query.get("watch").map(String::as_str), Some("true" | "1"));
    let mut state = shared.settled();
    authenticate(shared, &state, parsed.as_ref().ok().and_then(|(c, _)| c.as_deref()), request)?;
    let (cluster, route) = parsed?;
    let drop_after = match state.take_fault(request.path, watching) {
        Some(Fault::Conflict) => {
            return Err(KubeError::new(
                409,
                "Conflict",
                "Operation cannot be fulfilled: the fake API server was told to answer Conflict",
            ));
        }
        Some(Fault::Throttle { retry_after_secs }) => {
            let error = KubeError::new(429, "TooManyRequests", "Too many requests, please try again later.");
            return Err(KubeError { retry_after: Some(retry_after_secs), ..error });
        }
        Some(Fault::DropWatchAfter { events }) => Some(events),
        None => None,
    };
    let Some(cluster) = cluster else { return Ok(objects(&state)) };
    state.cluster(&cluster);
    let types = crd::served_types(&state.clusters[&cluster]);
    let found = |body: Option<Value>| body.map(|b| json_response(200, &b)).ok_or_else(KubeError::no_route);
    match (request.method, route) {
        ("GET", Route::Version) => Ok(json_response(200, &discovery::version())),
        ("GET", Route::CoreVersions) => {
            let host = request.header("host").unwrap_or(shared.endpoint.trim_start_matches("http://"));
            Ok(json_response(200, &discovery::core_versions(host)))
        }
        ("GET", Route::Groups) => Ok(json_response(200, &discovery::groups(&types))),
        ("GET", Route::Group(group)) => found(discovery::group(&types, &group)),
        ("GET", Route::Resources { group, version }) => found(discovery::resources(&types, &group, &version)),
        ("GET", Route::OpenApiRoot) => Ok(json_response(200, &discovery::openapi_root(&types))),
        ("GET", Route::OpenApi { group, version }) => found(discovery::openapi(&types, &group, &version)),
        (_, Route::PodProxy { namespace, pod, port, path }) => {
            management::proxy(&mut state, (&cluster, &namespace, &pod, &port), &path, request)
        }
        ("POST", Route::Eviction { namespace, pod }) => {
            eviction::evict(&mut state, (&cluster, &namespace, &pod), request)
        }
        (method, Route::Resource(target)) => {
            let t = resolve(&types, &target)?;
            let handler = Handler { state: &mut state, cluster: &cluster, request, t, target };
            match (method, handler.target.name.is_some()) {
                ("GET", false) if watching => handler.watch(shared, drop_after),
                ("GET", false) => handler.list(),
                ("POST", false) => handler.create(),
                ("GET", true) => handler.get(),
                ("PUT", true) => handler.replace(),
                ("PATCH", true) => handler.patch(),
                ("DELETE", true) => handler.delete(),
                (method, _) => Err(KubeError::method_not_allowed(method)),
            }
        }
        (method, _) => Err(KubeError::method_not_allowed(method)),
    }
}

/// The server's own token opens every cluster; a service-account token only its own.
fn authenticate(shared: &Shared, state: &State, cluster: Option<&str>, request: &Request<'_>) -> Result<(), KubeError> {
    let token = request
        .header("authorization")
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
        .map(|(_, token)| token.trim());
    let Some(token) = token else { return Err(KubeError::unauthorized()) };
    let issued = || cluster.and_then(|c| state.clusters.get(c)).is_some_and(|c| controllers::accepts(c, token));
    if token == shared.token || issued() { Ok(()) } else { Err(KubeError::unauthorized()) }
}

/// `GET /__objects`: every object of every cluster, as `[{"cluster": …, "object": …}]`.
fn objects(state: &State) -> Response {
    let listed: Vec<Value> =
        state.all_objects().into_iter().map(|s| json!({ "cluster": s.cluster, "object": s.object })).collect();
    json_response(200, &Value::Array(listed))
}

/// The served type a path names; namespaced types need a namespace to name an object.
fn resolve(types: &[ResourceType], target: &Target) -> Result<ResourceType, KubeError> {
    let t = types
        .iter()
        .find(|t| t.group == target.group && t.version == target.version && t.plural == target.plural)
        .ok_or_else(KubeError::no_route)?;
    let scoped_right = match (t.namespaced, &target.namespace, &target.name) {
        (false, Some(_), _) => false,
        (true, None, Some(_)) => false,
        _ => !target.status || t.status,
    };
    if scoped_right { Ok(t.clone()) } else { Err(KubeError::no_route()) }
}

struct Handler<'a> {
    state: &'a mut State,
    cluster: &'a str,
    request: &'a Request<'a>,
    t: ResourceType,
    target: Target,
}

impl Handler<'_> {
    fn cluster(&self) -> &Cluster {
        &self.state.clusters[self.cluster]
    }

    fn key(&self, name: &str) -> ObjectKey {
        ObjectKey {
            group: self.t.group.clone(),
            plural: self.t.plural.clone(),
            namespace: self.target.namespace.clone().unwrap_or_default(),
            name: name.to_string(),
        }
    }

    fn name(&self) -> &str {
        self.target.name.as_deref().unwrap_or_default()
    }

    fn query(&self, name: &str) -> Option<&str> {
        self.request.query.get(name).map(String::as_str)
    }

    fn dry_run(&self) -> bool {
        self.query("dryRun") == Some("All")
    }

    fn scope(&self) -> Scope {
        match (self.t.status, self.target.status) {
            (_, true) => Scope::Status,
            (true, false) => Scope::Main,
            (false, false) => Scope::All,
        }
    }

    /// The manager of a non-apply write: `fieldManager`, else the client's name from its User-Agent.
    fn manager(&self) -> String {
        let agent = || self.request.header("user-agent").and_then(|a| a.split('/').next()).map(str::to_string);
        self.query("fieldManager").map(str::to_string).or_else(agent).unwrap_or_else(|| "unknown".into())
    }

    fn current(&self) -> Result<Value, KubeError> {
        self.cluster().get(&self.key(self.name())).cloned().ok_or_else(|| KubeError::not_found(&self.t, self.name()))
    }

    fn selector(&self) -> Result<Selector, KubeError> {
        let (labels, fields) = (self.query("labelSelector"), self.query("fieldSelector"));
        Selector::parse(labels, fields, (&self.t.group, &self.t.plural)).map_err(KubeError::bad_request)
    }

    fn get(self) -> Result<Response, KubeError> {
        Ok(json_response(200, &self.current()?))
    }

    fn list(self) -> Result<Response, KubeError> {
        let selector = self.selector()?;
        let cluster = self.cluster();
        let items: Vec<&Value> = cluster
            .list(&self.t.group, &self.t.plural, self.target.namespace.as_deref())
            .map(|(_, o)| o)
            .filter(|o| selector.matches(o))
            .collect();
        Ok(json_response(
            200,
            &json!({
                "kind": format!("{}List", self.t.kind),
                "apiVersion": self.t.api_version(),
                "metadata": { "resourceVersion": cluster.revision().to_string() },
                "items": items,
            }),
        ))
    }

    fn watch(self, shared: &Shared, drop_after: Option<usize>) -> Result<Response, KubeError> {
        let selector = self.selector()?;
        let since = match self.query("resourceVersion") {
            None | Some("" | "0") => None,
            Some(rv) => {
                Some(rv.parse::<u64>().map_err(|_| KubeError::bad_request(format!("invalid resource version: {rv}")))?)
            }
        };
        let options = watch::Options {
            cluster: self.cluster.to_string(),
            t: self.t.clone(),
            namespace: self.target.namespace.clone(),
            selector,
            bookmarks: self.query("allowWatchBookmarks") == Some("true"),
            initial_events_end: self.query("sendInitialEvents") == Some("true"),
            timeout: self.query("timeoutSeconds").and_then(|s| s.parse().ok()).map(std::time::Duration::from_secs),
            drop_after,
        };
        Ok(watch::start(shared, self.cluster(), options, since))
    }

    /// The request body as an object: JSON, or YAML where the content type says so. Protobuf
    /// (what kubectl's typed generators such as `create deployment` send) is not spoken.
    fn body(&self) -> Result<Value, KubeError> {
        let content_type = self.request.header("content-type").unwrap_or("application/json");
        if !content_type.contains("json") && !content_type.contains("yaml") {
            return Err(KubeError::unsupported_media_type(content_type));
        }
        let yaml = content_type.contains("yaml");
        let parsed: Result<Value, String> = if yaml {
            serde_yaml_ng::from_slice(self.request.body).map_err(|e| e.to_string())
        } else {
            serde_json::from_slice(self.request.body).map_err(|e| e.to_string())
        };
        match parsed {
            Ok(body @ Value::Object(_)) => Ok(body),
            Ok(_) => Err(KubeError::bad_request("the request body must be an object")),
            Err(error) => Err(KubeError::bad_request(format!("the request body could not be decoded: {error}"))),
        }
    }

    /// Checks what the body says it is against where it was sent, filling in what it leaves out.
    fn check_identity(&self, body: &mut Value, name: Option<&str>) -> Result<(), KubeError> {
        if !body.is_object() {
            return Err(KubeError::bad_request("the object must be a JSON object"));
        }
        let api_version = self.t.api_version();
        for (field, expected) in [("apiVersion", api_version.as_str()), ("kind", self.t.kind.as_str())] {
            match body[field].as_str() {
                None | Some("") => body[field] = expected.into(),
                Some(given) if given == expected => {}
                Some(given) => {
                    return Err(KubeError::bad_request(format!(
                        "the {field} in the data ({given}) does not match the expected {field} ({expected})"
                    )));
                }
            }
        }
        check_shape(body)?;
        if body["metadata"].is_null() {
            body["metadata"] = json!({});
        }
        let namespace = self.target.namespace.as_deref().unwrap_or_default();
        match body["metadata"]["namespace"].as_str() {
            Some(given) if !given.is_empty() && given != namespace => {
                return Err(KubeError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => {}
        }
        if let Some(name) = name {
            match body["metadata"]["name"].as_str() {
                None | Some("") => body["metadata"]["name"] = name.into(),
                Some(given) if given == name => {}
                Some(given) => {
                    return Err(KubeError::bad_request(format!(
                        "the name of the object ({given}) does not match the name on the URL ({name})"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Objects are created only in namespaces that exist and are not being deleted.
    fn require_namespace(&self) -> Result<(), KubeError> {
        let Some(namespace) = self.target.namespace.as_deref() else { return Ok(()) };
        let found =
            self.cluster().get(&namespace_key(namespace)).ok_or_else(|| KubeError::namespace_not_found(namespace))?;
        if found["metadata"]["deletionTimestamp"].is_null() {
            return Ok(());
        }
        Err(KubeError::forbidden(format!(
            "{} \"{}\" is forbidden: unable to create new content in namespace {namespace} because it is being terminated",
            self.t.qualified(),
            self.name()
        )))
    }

    fn check_resource_version(&self, body: &Value, current: &Value) -> Result<(), KubeError> {
        match body["metadata"]["resourceVersion"].as_str() {
            Some(given) if !given.is_empty() && given != current["metadata"]["resourceVersion"] => {
                Err(KubeError::stale(&self.t, self.name()))
            }
            _ => Ok(()),
        }
    }

    fn create(mut self) -> Result<Response, KubeError> {
        let mut body = self.body()?;
        self.check_identity(&mut body, None)?;
        let name = match (body["metadata"]["name"].as_str(), body["metadata"]["generateName"].as_str()) {
            (Some(name), _) if !name.is_empty() => name.to_string(),
            (_, Some(prefix)) if !prefix.is_empty() => {
                format!("{prefix}{}", &uuid::Uuid::new_v4().simple().to_string()[..5])
            }
            _ => {
                let cause =
                    ("metadata.name".to_string(), "Required value: name or generateName is required".to_string());
                return Err(KubeError::invalid(&self.t, "", &[cause]));
            }
        };
        body["metadata"]["name"] = name.clone().into();
        self.target.name = Some(name.clone());
        self.require_namespace()?;
        if self.cluster().get(&self.key(&name)).is_some() {
            return Err(KubeError::already_exists(&self.t, &name));
        }
        let object = self.scope().part(&body);
        let manager = self.manager();
        self.write(None, object, &manager, 201)
    }

    fn replace(self) -> Result<Response, KubeError> {
        let mut body = self.body()?;
        self.check_identity(&mut body, Some(self.name()))?;
        let current = self.current()?;
        self.check_resource_version(&body, &current)?;
        let object = self.within_scope(&current, body);
        let manager = self.manager();
        self.write(Some(current), object, &manager, 200)
    }

    /// `current` with the part of `written` that this request's scope may change.
    fn within_scope(&self, current: &Value, written: Value) -> Value {
        let mut object = match self.scope() {
            Scope::All => written,
            Scope::Main => {
                let mut object = written;
                object["status"] = current["status"].clone();
                object
            }
            Scope::Status => {
                let mut object = current.clone();
                object["status"] = written["status"].clone();
                object
            }
        };
        if let Some(map) = object.as_object_mut() {
            map.retain(|_, v| !v.is_null());
        }
        object
    }

    fn patch(self) -> Result<Response, KubeError> {
        let content_type = self.request.header("content-type").unwrap_or_default();
        match content_type.split(';').next().unwrap_or_default().trim() {
            "application/apply-patch+yaml" => self.apply(),
            // Strategic merge patches are taken as merge patches: lists are replaced, not merged by key.
            "application/merge-patch+json" | "application/strategic-merge-patch+json" => self.patch_with(false),
            "application/json-patch+json" => self.patch_with(true),
            other => Err(KubeError::unsupported_media_type(other)),
        }
    }

    /// A merge patch, or a JSON patch (`json`).
    fn patch_with(self, json: bool) -> Result<Response, KubeError> {
        let current = self.current()?;
        let patched = if json {
            let operations = serde_json::from_slice(self.request.body)
                .map_err(|e| KubeError::bad_request(format!("the request body could not be decoded: {e}")))?;
            patch::json_patch(&current, &operations).map_err(|e| KubeError::new(422, "Invalid", e))?
        } else {
            let patch = self.body()?;
            let mut patched = current.clone();
            patch::merge_patch(&mut patched, &patch);
            patched
        };
        self.check_resource_version(&patched, &current)?;
        let mut identity = patched.clone();
        self.check_identity(&mut identity, Some(self.name()))?;
        let object = self.within_scope(&current, patched);
        let manager = self.manager();
        self.write(Some(current), object, &manager, 200)
    }

    fn apply(self) -> Result<Response, KubeError> {
        let mut config = self.body()?;
        self.check_identity(&mut config, Some(self.name()))?;
        let Some(manager) = self.query("fieldManager").filter(|m| !m.is_empty()).map(str::to_string) else {
            let cause = ("fieldManager".to_string(), "Required value: is required for apply patch".to_string());
            return Err(KubeError::invalid(&self.t, self.name(), &[cause]));
        };
        let current = self.cluster().get(&self.key(self.name())).cloned();
        match &current {
            Some(current) => self.check_resource_version(&config, current)?,
            None if self.target.status => return Err(KubeError::not_found(&self.t, self.name())),
            None => self.require_namespace()?,
        }
        let api_version = self.t.api_version();
        let writer = self.writer(&manager, &api_version);
        let object = fields::apply(current.as_ref(), &config, &writer, self.query("force") == Some("true"))
            .map_err(|conflicts| conflict(&self.t, self.name(), &conflicts))?;
        let status = if current.is_some() { 200 } else { 201 };
        self.store(object, status)
    }

    fn writer<'w>(&self, manager: &'w str, api_version: &'w str) -> Writer<'w> {
        Writer { manager, api_version, scope: self.scope(), builtin: resources::builtin().contains(&self.t) }
    }

    /// Records who changed what, then checks and stores `object`.
    fn write(
        self,
        current: Option<Value>,
        mut object: Value,
        manager: &str,
        status: u16,
    ) -> Result<Response, KubeError> {
        let api_version = self.t.api_version();
        let writer = self.writer(manager, &api_version);
        fields::update(current.as_ref(), &mut object, &writer);
        self.store(object, status)
    }

    /// The checks the real server makes before storing (CRDs, custom resources against their
    /// schema), then the write, unless it is a dry run.
    fn store(mut self, mut object: Value, status: u16) -> Result<Response, KubeError> {
        let key = self.key(self.name());
        // The server alone sets and clears deletionTimestamp.
        let deleting = self.cluster().get(&key).map(|o| o["metadata"]["deletionTimestamp"].clone());
        match deleting {
            Some(at) if !at.is_null() => object["metadata"]["deletionTimestamp"] = at,
            _ => {
                if let Some(metadata) = object["metadata"].as_object_mut() {
                    metadata.remove("deletionTimestamp");
                }
            }
        }
        if self.t.is("", "namespaces") {
            defaults::namespace_fields(&mut object, self.name());
        } else if self.t.is("apiextensions.k8s.io", "customresourcedefinitions") {
            let causes = crd::check(&object);
            if !causes.is_empty() {
                return Err(KubeError::invalid(&self.t, self.name(), &causes));
            }
            crd::establish(&mut object);
        } else if !resources::builtin().contains(&self.t) {
            self.validate_custom(&object)?;
        }
        if !self.target.status {
            let current = self.cluster().get(&key);
            admission::review(self.state, self.cluster, &self.t, current, &object)?;
        }
        if self.dry_run() {
            return Ok(json_response(status, &object));
        }
        let stored = self.state.cluster(self.cluster).put(key.clone(), object);
        self.state.resync(Instant::now());
        Ok(json_response(status, &stored))
    }

    fn validate_custom(&mut self, object: &Value) -> Result<(), KubeError> {
        let crd_name = format!("{}.{}", self.t.plural, self.t.group);
        let crd_key = ObjectKey {
            group: "apiextensions.k8s.io".into(),
            plural: "customresourcedefinitions".into(),
            namespace: String::new(),
            name: crd_name,
        };
        let Some(crd) = self.cluster().get(&crd_key).cloned() else { return Ok(()) };
        let causes = match self.state.validator(&crd, &self.t.version) {
            None => return Ok(()),
            Some(Ok(validator)) => crd::validate(&validator, object),
            Some(Err(error)) => vec![("spec".to_string(), format!("the CRD's schema does not compile: {error}"))],
        };
        if causes.is_empty() { Ok(()) } else { Err(KubeError::invalid(&self.t, self.name(), &causes)) }
    }

    fn delete(self) -> Result<Response, KubeError> {
        let current = self.current()?;
        if self.dry_run() {
            return Ok(json_response(200, &current));
        }
        let name = self.name().to_string();
        if self.t.is("", "namespaces") && matches!(name.as_str(), "default" | "kube-system" | "kube-public") {
            return Err(KubeError::forbidden(format!(
                "namespaces \"{name}\" is forbidden: this namespace may not be deleted"
            )));
        }
        let key = self.key(&name);
        let cluster = self.state.cluster(self.cluster);
        if self.t.is("", "namespaces") {
            let inside: Vec<ObjectKey> =
                cluster.iter().filter(|(k, _)| k.namespace == name).map(|(k, _)| k.clone()).collect();
            let mut terminating = current.clone();
            terminating["status"]["phase"] = "Terminating".into();
            mark_deleted(cluster, key.clone(), terminating);
            for inner in inside {
                if let Some(object) = cluster.get(&inner).cloned() {
                    mark_deleted(cluster, inner, object);
                }
            }
        } else {
            mark_deleted(cluster, key.clone(), current.clone());
        }
        let answer = cluster.get(&key).cloned().unwrap_or(current);
        self.state.resync(Instant::now());
        Ok(json_response(200, &answer))
    }
}

/// What the real server's decoding refuses in the fields the fake itself reads and writes.
fn check_shape(body: &Value) -> Result<(), KubeError> {
    let strings = |v: &Value| v.as_str().is_some();
    let metadata = &body["metadata"];
    let shaped = (metadata.is_null() || metadata.is_object())
        && ["labels", "annotations"]
            .iter()
            .all(|f| metadata[f].is_null() || metadata[f].as_object().is_some_and(|m| m.values().all(strings)))
        && (metadata["finalizers"].is_null()
            || metadata["finalizers"].as_array().is_some_and(|l| l.iter().all(strings)))
        && ["name", "namespace", "generateName", "resourceVersion"]
            .iter()
            .all(|f| metadata[f].is_null() || strings(&metadata[f]))
        && ["spec", "status"].iter().all(|f| body[f].is_null() || body[f].is_object());
    if shaped {
        Ok(())
    } else {
        Err(KubeError::bad_request(
            "the request body could not be decoded: metadata must be an object with string labels, annotations, finalizers and names, spec and status objects",
        ))
    }
}

/// Deletes an object the way the API server does: it goes at once unless finalizers hold it,
/// in which case it gets a deletionTimestamp and waits for them to be removed.
pub(super) fn mark_deleted(cluster: &mut Cluster, key: ObjectKey, mut object: Value) {
    if object["metadata"]["deletionTimestamp"].is_null() {
        object["metadata"]["deletionTimestamp"] = now().into();
        object["metadata"]["deletionGracePeriodSeconds"] = 0.into();
    }
    cluster.put(key, object);
}

fn conflict(t: &ResourceType, name: &str, conflicts: &[fields::Conflict]) -> KubeError {
    let described: Vec<String> =
        conflicts.iter().map(|c| format!("conflict with \"{}\": {}", c.manager, fields::dotted(&c.path))).collect();
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|c| json!({ "reason": "FieldManagerConflict", "message": format!("conflict with \"{}\"", c.manager), "field": fields::dotted(&c.path) }))
        .collect();
    let plural = if conflicts.len() == 1 { "" } else { "s" };
    let message = format!("Apply failed with {} conflict{plural}: {}", conflicts.len(), described.join("\n"));
    let mut error = KubeError::new(409, "Conflict", message);
    error.details = Some(json!({ "name": name, "group": t.group, "kind": t.plural, "causes": causes }));
    error
}
