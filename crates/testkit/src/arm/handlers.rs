//! Answers one request: checks that apply to every request (injected faults, the bearer token,
//! the api-version), then the resource operations, lists, actions and operation polls.

use std::time::Instant;

use base64::Engine;
use serde_json::{Value, json};

use super::RecordedRequest;
use super::errors::{ArmError, Reply};
use super::kinds::Kind;
use super::lro::{Action, Status};
use super::pools;
use super::readonly::{self, Context};
use super::routes::{self, ListScope, Route, Target};
use super::rules;
use super::server::Shared;
use super::state::{Origin, State};
use super::store::Entry;
use crate::http::Request;

/// Handles a request and records it in the request log.
pub(super) fn handle(shared: &Shared, request: &Request<'_>) -> Reply {
    let received = Instant::now();
    // The seam for the test that a panicking handler does not take the server down.
    #[cfg(test)]
    if request.path == "/__panic" {
        panic!("handler panic requested by a test");
    }
    let mut state = shared.lock();
    state.settle();
    let route = routes::parse(request.path);
    let resource_type = route.as_ref().ok().and_then(Route::kind).map(Kind::type_name);
    let reply = match state.knobs.injected_fault() {
        Some(fault) => Err(fault),
        None => route.and_then(|route| Handler { shared, state: &mut state, request }.dispatch(route)),
    };
    let reply = reply.unwrap_or_else(ArmError::into_reply);
    state.requests.push(RecordedRequest {
        method: request.method.to_string(),
        path: request.path.to_string(),
        query: request.query.clone(),
        body: serde_json::from_slice(request.body).ok(),
        status: reply.status,
        resource_type,
        received,
    });
    reply
}

struct Handler<'a, 's> {
    shared: &'a Shared,
    state: &'s mut State,
    request: &'a Request<'a>,
}

impl Handler<'_, '_> {
    fn dispatch(self, route: Route) -> Result<Reply, ArmError> {
        self.authenticate()?;
        self.check_api_version(&route)?;
        let method = self.request.method;
        match (method, route) {
            ("GET", Route::Resource(t)) => self.get(&t),
            ("PUT", Route::Resource(t)) => self.put(&t),
            ("DELETE", Route::Resource(t)) => self.delete(&t),
            ("HEAD", Route::Resource(t)) if t.kind == Kind::ResourceGroup => Ok(self.head(&t)),
            ("GET", Route::List(scope)) => self.list(&scope),
            ("GET", Route::SharedKey(t)) => self.shared_key(&t),
            ("POST", Route::AdminCredential(t)) => self.admin_credential(&t),
            ("GET", Route::Operation { id, result }) => self.operation(&id, result),
            (_, _) => Err(ArmError::new(
                405,
                "MethodNotAllowed",
                format!("The requested resource does not support http method '{method}'."),
            )),
        }
    }

    fn authenticate(&self) -> Result<(), ArmError> {
        let Some(header) = self.request.header("authorization") else {
            return Err(unauthorized(
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
            ));
        };
        let token =
            header.split_once(' ').filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer")).map(|(_, t)| t.trim());
        match token {
            Some(token) if token == self.shared.token => Ok(()),
            Some(_) => Err(unauthorized("InvalidAuthenticationToken", "The access token is invalid.")),
            None => Err(unauthorized(
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is provided in an invalid format.",
            )),
        }
    }

    fn api_version(&self) -> Option<&str> {
        self.request.query.iter().find(|(k, _)| k.eq_ignore_ascii_case("api-version")).map(|(_, v)| v.as_str())
    }

    fn check_api_version(&self, route: &Route) -> Result<(), ArmError> {
        let Some(given) = self.api_version() else {
            return Err(ArmError::bad_request(
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            ));
        };
        let Some(kind) = route.kind() else { return Ok(()) };
        let supported = self.shared.catalog.api_version(kind);
        if given == supported {
            return Ok(());
        }
        Err(ArmError::bad_request(
            "InvalidApiVersionParameter",
            format!(
                "The api-version '{given}' is invalid. The supported versions for resource type '{}' are '{supported}'.",
                kind.type_name()
            ),
        ))
    }

    /// ARM's front door answers for a missing or vanishing resource group before any provider.
    fn require_group(&self, t: &Target) -> Result<&Entry, ArmError> {
        let group = self.state.store.get(&t.group_key()).ok_or_else(|| group_not_found(&t.group))?;
        match self.state.running(&group.key()) {
            Some(op) if op.action == Action::Delete => Err(ArmError::conflict(
                "ResourceGroupBeingDeleted",
                format!(
                    "The resource group '{}' is in deprovisioning state and cannot perform this operation.",
                    t.group
                ),
            )),
            _ => Ok(group),
        }
    }

    fn require_resource(&self, t: &Target) -> Result<&Entry, ArmError> {
        if t.kind == Kind::ResourceGroup {
            return self.state.store.get(&t.key()).ok_or_else(|| group_not_found(&t.group));
        }
        if self.state.store.get(&t.group_key()).is_none() {
            return Err(group_not_found(&t.group));
        }
        if t.kind == Kind::RoleAssignment {
            let missing = format!("The role assignment '{}' is not found.", t.name);
            return self
                .state
                .store
                .get(&t.key())
                .ok_or_else(|| ArmError::not_found("RoleAssignmentNotFound", missing));
        }
        self.state.store.get(&t.key()).ok_or_else(|| {
            ArmError::not_found(
                "ResourceNotFound",
                format!(
                    "The Resource '{}/{}' under resource group '{}' was not found.",
                    t.kind.type_name(),
                    t.name,
                    t.group
                ),
            )
        })
    }

    fn get(self, t: &Target) -> Result<Reply, ArmError> {
        // A client may watch the resource rather than the operation: that counts as a poll too.
        if let Some(op) = self.state.running(&t.key()).map(|op| op.id.clone()) {
            self.state.poll(&op);
        }
        let entry = self.require_resource(t)?;
        Ok(Reply::json(200, readonly::present(entry.kind, &entry.body)))
    }

    fn head(self, t: &Target) -> Reply {
        Reply::empty(if self.state.store.get(&t.key()).is_some() { 204 } else { 404 })
    }

    fn put(mut self, t: &Target) -> Result<Reply, ArmError> {
        let catalog = &self.shared.catalog;
        if t.kind != Kind::ResourceGroup {
            self.require_group(t)?;
        }
        let mut body = parse_body(self.request.body)?;
        catalog.validate(t.kind, &body)?;
        let location = body.get("location").and_then(Value::as_str).unwrap_or_default().to_string();
        if t.kind.tracked() && location.trim().is_empty() {
            return Err(ArmError::bad_request(
                "LocationRequired",
                "The location property is required for this definition.",
            ));
        }
        let key = t.key();
        let previous = self.state.store.get(&key).cloned();
        if let Some(previous) = &previous {
            check_update(self.state, previous, t, &location)?;
        }
        let parent = t.parent.as_deref().map(|p| self.require_parent(p).map(|e| e.body.clone())).transpose()?;
        let parent_location = match &parent {
            Some(parent) => parent.get("location").and_then(Value::as_str).unwrap_or_default().to_string(),
            None => location.clone(),
        };
        check_cluster_idle(self.state, t)?;
        rules::check_put(&self.state.store, t.kind, &t.id, &body)?;

        let created = previous.is_none();
        let long_running = t.kind.long_running_put();
        let provisioning = match (long_running, t.kind, created) {
            (false, ..) => "Succeeded",
            (true, Kind::ManagedCluster | Kind::AgentPool, true) => "Creating",
            (true, ..) => "Updating",
        };
        let previous_body = previous.as_ref().map(|p| &p.body);
        readonly::fill(
            &mut body,
            Context {
                target: t,
                previous: previous_body,
                parent: parent.as_ref(),
                provisioning,
                addresses: &mut self.state.addresses,
            },
        );
        let (id, secret) = match previous {
            Some(previous) => (previous.id, previous.secret),
            None => (t.id.clone(), (t.kind == Kind::ManagedCluster).then(|| uuid::Uuid::new_v4().simple().to_string())),
        };
        self.state.store.insert(Entry { id, kind: t.kind, body, op: None, secret });
        if t.kind == Kind::Peering {
            rules::link_peering(&mut self.state.store, &key);
        }
        pools::sync(&mut self.state.store, &key);
        let shown = self.state.store.get(&key).map(|e| readonly::present(t.kind, &e.body)).unwrap_or_default();
        let mut reply = Reply::json(if created { 201 } else { 200 }, shown);
        if long_running {
            let action = if created { Action::Create } else { Action::Update };
            let op = self.start(&key, t, action, &parent_location);
            reply = self.lro_headers(reply, &op, false);
        }
        Ok(reply)
    }

    /// A child's parent must exist; its location is the one the child's operations carry.
    fn require_parent(&self, parent: &str) -> Result<&Entry, ArmError> {
        self.state.store.get(&parent.to_ascii_lowercase()).ok_or_else(|| {
            ArmError::not_found(
                "ParentResourceNotFound",
                format!(
                    "Can not perform requested operation on nested resource. Parent resource '{parent}' not found."
                ),
            )
        })
    }

    fn start(&mut self, key: &str, t: &Target, action: Action, location: &str) -> String {
        let origin = Origin {
            endpoint: &self.shared.endpoint,
            subscription: &t.subscription,
            location,
            api_version: self.shared.catalog.api_version(t.kind),
        };
        self.state.start(key, t.kind, action, origin)
    }

    fn lro_headers(&self, reply: Reply, op: &str, with_location: bool) -> Reply {
        let op = &self.state.operations[op];
        let reply = reply
            .header("Azure-AsyncOperation", op.status_url.clone())
            .header("Retry-After", self.state.knobs.retry_after.to_string());
        if with_location { reply.header("Location", op.result_url.clone()) } else { reply }
    }

    fn delete(mut self, t: &Target) -> Result<Reply, ArmError> {
        let key = t.key();
        if t.kind == Kind::ResourceGroup || self.state.store.get(&t.group_key()).is_none() {
            // ARM answers 404 for a missing group, even on DELETE.
            self.require_resource(&Target { kind: Kind::ResourceGroup, ..t.clone() })?;
        }
        let Some(entry) = self.state.store.get(&key).cloned() else { return Ok(Reply::empty(204)) };
        if let Some(op) = self.state.running(&key) {
            if op.action != Action::Delete {
                return Err(another_operation(&entry.id));
            }
            // Deleting what is already being deleted: ARM accepts again.
            let op = op.id.clone();
            return Ok(self.lro_headers(Reply::empty(202), &op, true));
        }
        if t.kind != Kind::ResourceGroup {
            check_cluster_idle(self.state, t)?;
            rules::check_delete(&self.state.store, &entry)?;
        }
        if !t.kind.long_running_delete() {
            self.state.remove(&key);
            return Ok(Reply::json(200, readonly::present(t.kind, &entry.body)));
        }
        let location = match &t.parent {
            Some(parent) => self
                .state
                .store
                .get(&parent.to_ascii_lowercase())
                .and_then(Entry::location)
                .unwrap_or_default()
                .to_string(),
            None => entry.location().unwrap_or_default().to_string(),
        };
        if let Some(entry) = self.state.store.get_mut(&key) {
            entry.set_property("provisioningState", "Deleting");
        }
        pools::sync(&mut self.state.store, &key);
        let op = self.start(&key, t, Action::Delete, &location);
        Ok(self.lro_headers(Reply::empty(202), &op, true))
    }

    fn list(self, scope: &ListScope) -> Result<Reply, ArmError> {
        match scope {
            ListScope::Group { group, .. } => {
                self.state.store.get(&group.key()).ok_or_else(|| group_not_found(&group.group))?;
            }
            ListScope::Children { parent, .. } => {
                self.state.store.get(&parent.key()).ok_or_else(|| {
                    ArmError::not_found("ResourceNotFound", format!("The Resource '{}' was not found.", parent.id))
                })?;
            }
            ListScope::Groups { .. } | ListScope::Subscription { .. } => {}
        }
        let filter = self.request.query.get("$filter").map(|f| TagFilter::parse(f)).transpose()?;
        let kind = scope.kind();
        let items: Vec<Value> = self
            .state
            .store
            .list(kind, &scope.prefix())
            .into_iter()
            .filter(|e| filter.as_ref().is_none_or(|f| f.matches(&e.body)))
            .map(|e| readonly::present(kind, &e.body))
            .collect();
        let skip: usize = self.request.query.get("$skiptoken").and_then(|s| s.parse().ok()).unwrap_or(0);
        let size = self.state.knobs.page_size.max(1);
        let page: Vec<Value> = items.iter().skip(skip).take(size).cloned().collect();
        let mut body = json!({ "value": page });
        let next = skip.saturating_add(size);
        if next < items.len() {
            body["nextLink"] = self.next_link(next).into();
        }
        Ok(Reply::json(200, body))
    }

    fn next_link(&self, skip: usize) -> String {
        let mut query = self.request.query.clone();
        query.insert("$skiptoken".into(), skip.to_string());
        let query: Vec<String> =
            query.iter().map(|(k, v)| format!("{}={}", routes::percent_encode(k), routes::percent_encode(v))).collect();
        format!("{}{}?{}", self.shared.endpoint, self.request.path, query.join("&"))
    }

    fn shared_key(self, t: &Target) -> Result<Reply, ArmError> {
        let entry = self.require_resource(t)?;
        let key = entry.body.pointer("/properties/sharedKey").cloned().unwrap_or(Value::Null);
        Ok(Reply::json(200, json!({ "value": key })))
    }

    fn admin_credential(self, t: &Target) -> Result<Reply, ArmError> {
        let entry = self.require_resource(t)?;
        let fqdn = entry.body.pointer("/properties/fqdn").and_then(Value::as_str).unwrap_or_default();
        let token = entry.secret.as_deref().unwrap_or_default();
        let kubeconfig = kubeconfig(&t.name, &t.group, fqdn, token);
        let value = base64::engine::general_purpose::STANDARD.encode(kubeconfig);
        Ok(Reply::json(200, json!({ "kubeconfigs": [{ "name": "clusterAdmin", "value": value }] })))
    }

    fn operation(self, id: &str, result: bool) -> Result<Reply, ArmError> {
        self.state.poll(id);
        let op = self.state.operations.get(id).ok_or_else(|| {
            ArmError::not_found("OperationNotFound", format!("The operation '{id}' could not be found."))
        })?;
        if !result {
            let reply = Reply::json(200, op.status_body());
            let in_progress = op.in_progress();
            return Ok(if in_progress {
                reply.header("Retry-After", self.state.knobs.retry_after.to_string())
            } else {
                reply
            });
        }
        match &op.status {
            Status::InProgress => Ok(Reply::empty(202)
                .header("Location", op.result_url.clone())
                .header("Retry-After", self.state.knobs.retry_after.to_string())),
            Status::Succeeded => Ok(Reply::empty(204)),
            Status::Failed(error) => Err(ArmError::bad_request(&error.code, error.message.clone())),
        }
    }
}

/// What an update may not do: race an operation in progress, or move the resource.
fn check_update(state: &State, previous: &Entry, t: &Target, location: &str) -> Result<(), ArmError> {
    if state.running(&previous.key()).is_some() {
        return Err(another_operation(&previous.id));
    }
    let normalise = |l: &str| l.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase();
    match previous.location() {
        Some(old) if t.kind.tracked() && normalise(old) != normalise(location) => {
            let code =
                if t.kind == Kind::ResourceGroup { "InvalidResourceGroupLocation" } else { "InvalidResourceLocation" };
            Err(ArmError::conflict(
                code,
                format!(
                    "The resource '{}' already exists in location '{old}'. A resource with the same name cannot be created in location '{location}'.",
                    t.id
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// AKS runs one operation at a time per cluster: none starts on a cluster or one of its pools
/// while another is under way on either.
fn check_cluster_idle(state: &State, t: &Target) -> Result<(), ArmError> {
    let cluster = match (t.kind, &t.parent) {
        (Kind::ManagedCluster, _) => t.key(),
        (Kind::AgentPool, Some(parent)) => parent.to_ascii_lowercase(),
        _ => return Ok(()),
    };
    let pools = state.store.list(Kind::AgentPool, &pools::prefix(&cluster));
    let mut family = state.store.get(&cluster).into_iter().chain(pools);
    match family.find(|e| state.running(&e.key()).is_some()) {
        Some(busy) => Err(another_operation(&busy.id)),
        None => Ok(()),
    }
}

fn another_operation(id: &str) -> ArmError {
    ArmError::conflict(
        "AnotherOperationInProgress",
        format!(
            "Another operation on this or dependent resource is in progress. Resource: {id}. Retry the request after the operation completes."
        ),
    )
}

fn group_not_found(group: &str) -> ArmError {
    ArmError::not_found("ResourceGroupNotFound", format!("Resource group '{group}' could not be found."))
}

fn unauthorized(code: &str, message: &str) -> ArmError {
    ArmError::new(401, code, message).header(
        "WWW-Authenticate",
        "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\"",
    )
}

/// A PUT body must be a JSON object whose `properties`, if any, is an object too.
fn parse_body(body: &[u8]) -> Result<Value, ArmError> {
    let invalid = |why: String| {
        ArmError::bad_request(
            "InvalidRequestContent",
            format!("The request content was invalid and cannot be deserialized: {why}"),
        )
    };
    let value: Value = serde_json::from_slice(body).map_err(|e| invalid(e.to_string()))?;
    if !value.is_object() {
        return Err(invalid("the body must be a JSON object.".into()));
    }
    if value.get("properties").is_some_and(|p| !p.is_object()) {
        return Err(invalid("'properties' must be a JSON object.".into()));
    }
    Ok(value)
}

/// `$filter=tagName eq 'k' [and tagValue eq 'v']`, the filter ARM supports on group lists.
struct TagFilter {
    name: String,
    value: Option<String>,
}

impl TagFilter {
    fn parse(filter: &str) -> Result<TagFilter, ArmError> {
        let invalid =
            || ArmError::bad_request("InvalidFilterInQueryString", format!("The $filter '{filter}' is not supported."));
        let (mut name, mut value) = (None, None);
        let mut rest = filter.trim();
        loop {
            let (field, tail) = rest.split_once(char::is_whitespace).ok_or_else(invalid)?;
            let tail = strip_prefix_ignoring_case(tail.trim_start(), "eq ").ok_or_else(invalid)?.trim_start();
            let (literal, tail) = tail.strip_prefix('\'').and_then(|t| t.split_once('\'')).ok_or_else(invalid)?;
            if field.eq_ignore_ascii_case("tagName") {
                name = Some(literal.to_string());
            } else if field.eq_ignore_ascii_case("tagValue") {
                value = Some(literal.to_string());
            } else {
                return Err(invalid());
            }
            let tail = tail.trim_start();
            if tail.is_empty() {
                break;
            }
            rest = strip_prefix_ignoring_case(tail, "and ").ok_or_else(invalid)?.trim_start();
        }
        Ok(TagFilter { name: name.ok_or_else(invalid)?, value })
    }

    fn matches(&self, body: &Value) -> bool {
        let tags = body.get("tags").and_then(Value::as_object);
        let found = tags.and_then(|t| t.iter().find(|(k, _)| k.eq_ignore_ascii_case(&self.name)));
        match (found, &self.value) {
            (Some((_, actual)), Some(wanted)) => actual.as_str() == Some(wanted.as_str()),
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

/// A kubeconfig like the one AKS hands out for the cluster admin.
fn kubeconfig(cluster: &str, group: &str, fqdn: &str, token: &str) -> String {
    let user = format!("clusterAdmin_{group}_{cluster}");
    let ca = base64::engine::general_purpose::STANDARD.encode(format!("fake CA for {cluster}"));
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: https://{fqdn}:443\n  name: {cluster}\ncontexts:\n- context:\n    cluster: {cluster}\n    user: {user}\n  name: {cluster}-admin\ncurrent-context: {cluster}-admin\npreferences: {{}}\nusers:\n- name: {user}\n  user:\n    token: {token}\n"
    )
}

fn strip_prefix_ignoring_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.get(..prefix.len()).filter(|head| head.eq_ignore_ascii_case(prefix)).map(|_| &text[prefix.len()..])
}
