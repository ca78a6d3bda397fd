//! A fake Azure Resource Manager: an HTTP/1.1 server on 127.0.0.1 that implements ARM's generic
//! contract closely enough for a real ARM client to run against it unchanged. Ids are
//! case-insensitive, every request needs a bearer token and the pinned `api-version`, every PUT
//! body is validated against the JSON Schema of its type derived from Microsoft's REST API
//! specs (`<fixtures>/arm/`), long-running PUTs and DELETEs answer with `Azure-AsyncOperation` /
//! `Location` URLs that are polled to a terminal status, deleting a resource group cascades,
//! lists page with `nextLink`, and errors come in ARM's `{"error": {code, message, details}}`
//! envelope. On top of the schemas it enforces what the resource providers do: references must
//! exist, gateways need a `GatewaySubnet`, what is in use cannot be deleted, an AKS pool's VM
//! size cannot change in place and a cluster keeps a System pool. Tests inspect the
//! request log and the stored resources, inject throttling and failures, slow operations down,
//! and edit or delete resources behind the client's back to simulate drift.
//!
//! Types served: resource groups, `Microsoft.Network` virtual networks (subnets inline), public IP
//! addresses, virtual network gateways, connections, local network gateways and virtual network
//! peerings, `Microsoft.ContainerService` managed clusters with their agent pools (children
//! at the cluster's api-version, kept in step with the cluster's `agentPoolProfiles`), and
//! `Microsoft.Authorization` role assignments on any resource (synchronous, untagged, granted only
//! to managed clusters' identities; their schema and api-version are ringform's own addition to
//! the fixtures, see [`kinds::Kind::own_api_version`]).

mod errors;
mod handlers;
mod kinds;
mod lro;
mod pools;
mod readonly;
mod roles;
mod routes;
mod rules;
mod server;
mod state;
mod store;
mod validation;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http::Server;
use kinds::Kind;
use server::Shared;
use store::Entry;
use validation::Catalog;

/// How to start a [`FakeArm`].
#[derive(Clone, Debug)]
pub struct FakeArmOptions {
    /// The directory holding `arm/` (schemas and `api-versions.json`). Defaults to the
    /// repository's [`fixtures_dir`](crate::fixtures_dir).
    pub fixtures: PathBuf,
    /// The bearer token the server accepts; a random one when `None`.
    pub token: Option<String>,
}

impl Default for FakeArmOptions {
    fn default() -> FakeArmOptions {
        FakeArmOptions { fixtures: crate::fixtures_dir(), token: None }
    }
}

/// Why a [`FakeArm`] could not start.
#[derive(Debug, thiserror::Error)]
pub enum FakeArmError {
    #[error("the ARM fixtures are not at {}: the repository keeps them in tests/fixtures/arm", path.display())]
    FixturesMissing { path: PathBuf },
    #[error("bad ARM fixture {}: {message}", path.display())]
    Fixture { path: PathBuf, message: String },
    #[error("cannot start the fake ARM server: {0}")]
    Io(#[from] std::io::Error),
}

/// One request the server answered, in arrival order.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// The path as sent (not lower-cased).
    pub path: String,
    /// The decoded query parameters.
    pub query: BTreeMap<String, String>,
    /// The body, when it was JSON.
    pub body: Option<Value>,
    /// The status the server answered with.
    pub status: u16,
    /// The ARM type the path addresses (`Microsoft.Network/virtualNetworks`…); `None` for
    /// operation polls and paths the fake does not serve.
    pub resource_type: Option<String>,
    pub received: Instant,
}

/// A stored resource, as it stands now.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredResource {
    /// The id as the first PUT spelled it.
    pub id: String,
    /// The ARM type, e.g. `Microsoft.Network/virtualNetworks`.
    pub r#type: String,
    /// The stored body with the server-set fields, secrets included (a connection's `sharedKey`,
    /// which responses leave out).
    pub body: Value,
}

/// A running fake ARM server. Dropping it shuts the server down.
///
/// ```no_run
/// use ringform_testkit::arm::FakeArm;
///
/// let arm = FakeArm::start_for_test();
/// // Point the client at it: base URL and bearer token.
/// let (endpoint, token) = (arm.endpoint(), arm.token());
/// # let _ = (endpoint, token);
/// arm.set_poll_rounds(2); // every operation answers InProgress twice
/// arm.throttle_next(1, 0); // and the next request gets a 429
/// // … run the client …
/// assert_eq!(arm.count_calls("PUT", "virtualNetworks"), 0);
/// ```
pub struct FakeArm {
    shared: Arc<Shared>,
    server: Server,
}

impl FakeArm {
    /// Loads and compiles the schemas (once per process and directory) and starts serving on a
    /// free port of 127.0.0.1.
    pub fn start(options: FakeArmOptions) -> Result<FakeArm, FakeArmError> {
        let catalog = Catalog::load(&options.fixtures)?;
        let token = options.token.unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        let (server, shared) = Server::start("fake-arm", 0, None, |endpoint| Shared::new(endpoint, token, catalog))?;
        Ok(FakeArm { shared, server })
    }

    /// Starts with the default options; panics, saying why, when it cannot.
    pub fn start_for_test() -> FakeArm {
        FakeArm::start(FakeArmOptions::default()).unwrap_or_else(|error| panic!("{error}"))
    }

    /// `http://127.0.0.1:PORT`, the base URL to point an ARM client (or `RINGFORM_ARM_ENDPOINT`) at.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// The token requests must carry as `Authorization: Bearer <token>`.
    pub fn token(&self) -> String {
        self.shared.token.clone()
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// The PUT requests answered so far, in order.
    pub fn puts(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.iter().filter(|r| r.method == "PUT").cloned().collect()
    }

    /// Forgets the request log (not the resources).
    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// How many `method` requests addressed `resource_type`, given as the full ARM type
    /// (`Microsoft.Network/virtualNetworks`) or its last segment (`virtualNetworks`), ignoring case.
    pub fn count_calls(&self, method: &str, resource_type: &str) -> usize {
        let matches = |t: &str| {
            t.eq_ignore_ascii_case(resource_type)
                || t.rsplit('/').next().is_some_and(|s| s.eq_ignore_ascii_case(resource_type))
        };
        let state = self.shared.lock();
        state
            .requests
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.resource_type.as_deref().is_some_and(matches))
            .count()
    }

    /// Every stored resource, in id order, with operations that are due applied first.
    pub fn resources(&self) -> Vec<StoredResource> {
        let mut state = self.shared.lock();
        state.settle();
        state.store.iter().map(stored).collect()
    }

    /// The stored resource with this id (any case).
    pub fn get(&self, id: &str) -> Option<StoredResource> {
        let mut state = self.shared.lock();
        state.settle();
        state.store.get(&id.to_ascii_lowercase()).map(stored)
    }

    /// The next `n` requests answer 429 `TooManyRequests` with `Retry-After: retry_after_secs`.
    pub fn throttle_next(&self, n: u32, retry_after_secs: u64) {
        let mut state = self.shared.lock();
        state.knobs.throttle = n;
        state.knobs.throttle_retry_after = retry_after_secs;
    }

    /// The next `n` requests (after any throttled ones) answer `status` with an ARM error whose
    /// code is the status's reason (`500` → `InternalServerError`).
    pub fn fail_next(&self, n: u32, status: u16) {
        let mut state = self.shared.lock();
        state.knobs.fail = n;
        state.knobs.fail_status = status;
    }

    /// The next `n` long-running operations started end `Failed` with this error (and leave the
    /// resource in provisioning state `Failed`).
    pub fn fail_next_operations(&self, n: u32, code: &str, message: &str) {
        let mut state = self.shared.lock();
        state.knobs.failing_operations = n;
        state.knobs.operation_failure = (code.to_string(), message.to_string());
    }

    /// Operations started from now on report `InProgress` to `n` polls before their terminal
    /// status. A GET of the resource itself counts as a poll.
    pub fn set_poll_rounds(&self, n: u32) {
        self.shared.lock().knobs.poll_rounds = n;
    }

    /// Operations on `resource_type` started from now on stay `InProgress` until `delay` has
    /// passed since they started (to scale a gateway's 45 minutes or a cluster's 10 down).
    ///
    /// # Panics
    /// If the type is not one the fake serves.
    pub fn set_provisioning_delay(&self, resource_type: &str, delay: Duration) {
        let kind = Kind::ALL
            .into_iter()
            .find(|k| k.matches(resource_type))
            .unwrap_or_else(|| panic!("the fake ARM does not serve resource type {resource_type}"));
        self.shared.lock().knobs.delays.insert(kind, delay);
    }

    /// The `Retry-After` (seconds) on long-running responses and polls; 0 by default so tests
    /// poll without waiting.
    pub fn set_retry_after(&self, secs: u64) {
        self.shared.lock().knobs.retry_after = secs;
    }

    /// How many items a list page holds before a `nextLink` (100 by default).
    pub fn set_page_size(&self, n: usize) {
        self.shared.lock().knobs.page_size = n.max(1);
    }

    /// Edits a stored resource behind the client's back (drift); the etag changes, and a
    /// cluster's pools follow edits of its `agentPoolProfiles` (and the other way round). Returns
    /// whether the resource exists.
    pub fn modify(&self, id: &str, edit: impl FnOnce(&mut Value)) -> bool {
        let mut state = self.shared.lock();
        let key = id.to_ascii_lowercase();
        let Some(entry) = state.store.get_mut(&key) else { return false };
        edit(&mut entry.body);
        if entry.body.get("etag").is_some() {
            entry.body["etag"] = format!("W/\"{}\"", uuid::Uuid::new_v4()).into();
        }
        pools::sync(&mut state.store, &key);
        true
    }

    /// Deletes a resource (and everything nested under it) behind the client's back, without
    /// ARM's in-use checks. Returns whether it existed.
    pub fn delete_out_of_band(&self, id: &str) -> bool {
        self.shared.lock().remove(&id.to_ascii_lowercase())
    }
}

impl std::fmt::Debug for FakeArm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeArm").field("endpoint", &self.endpoint()).finish_non_exhaustive()
    }
}

fn stored(entry: &Entry) -> StoredResource {
    StoredResource { id: entry.id.clone(), r#type: entry.kind.type_name(), body: entry.body.clone() }
}
