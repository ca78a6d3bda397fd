//! [`FakeProvider`]: the provider contract over an [`Inventory`], with faults and a call log.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use ringform_core::provider::{
    Applied, BoxFuture, CreateRequest, DeleteRequest, ErrorClass, FindRequest, Observed, ProviderError, ProviderResult,
    ReadRequest, ReadResponse, Registry, ResourceProvider, Scope, UpdateRequest,
};
use ringform_core::schema::{ProviderSchema, Schemas};
use ringform_core::{Address, Attributes, Kind};
use tokio::sync::watch;

use crate::config::{CrashAction, CrashMode, FakeConfig};
use crate::inventory::Inventory;
use crate::outputs;

/// The provider method a call was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    Create,
    Update,
    Delete,
    Read,
    Find,
}

impl Method {
    /// Create, update and delete change the cloud; only they count towards crash points.
    pub fn is_mutating(self) -> bool {
        matches!(self, Method::Create | Method::Update | Method::Delete)
    }
}

/// How a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    InFlight,
    Succeeded,
    Failed(ErrorClass),
    /// Its future was dropped before it completed (cancellation, or a simulated kill).
    Dropped,
}

/// One call the fake received.
#[derive(Clone, Debug)]
pub struct CallRecord {
    pub method: Method,
    pub kind: Kind,
    /// `None` for reads, which are about a whole (kind, scope).
    pub address: Option<Address>,
    pub scope: Scope,
    pub started: Instant,
    pub ended: Option<Instant>,
    pub outcome: Outcome,
}

/// A fault-injecting in-memory cloud implementing [`ResourceProvider`] for every kind that
/// ringform's provider schemas declare, scoping calls as those schemas say. Clones share
/// everything; several providers can share one [`Inventory`] (e.g. before and after a
/// simulated crash).
#[derive(Clone)]
pub struct FakeProvider {
    inner: Arc<Inner>,
    /// The schema this handle answers a schema request with; [`FakeProvider::registry`] puts
    /// one handle behind each provider, all sharing one cloud.
    schema: &'static ProviderSchema,
}

struct Inner {
    schemas: Schemas,
    config: FakeConfig,
    inventory: Inventory,
    rng: Mutex<StdRng>,
    log: Mutex<Vec<CallRecord>>,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    /// Mutating calls that reached their halfway point, for crash points.
    halfway: AtomicU64,
    crashed: watch::Sender<bool>,
}

impl Default for FakeProvider {
    fn default() -> Self {
        FakeProvider::new(FakeConfig::default())
    }
}

impl FakeProvider {
    /// A fake over a fresh in-memory inventory.
    pub fn new(config: FakeConfig) -> Self {
        FakeProvider::with_inventory(config, Inventory::new())
    }

    pub fn with_inventory(config: FakeConfig, inventory: Inventory) -> Self {
        let rng = Mutex::new(StdRng::seed_from_u64(config.seed));
        FakeProvider {
            schema: &ringform_schema::local::SCHEMA,
            inner: Arc::new(Inner {
                schemas: ringform_schema::all(),
                config,
                inventory,
                rng,
                log: Mutex::new(Vec::new()),
                in_flight: AtomicUsize::new(0),
                peak: AtomicUsize::new(0),
                halfway: AtomicU64::new(0),
                crashed: watch::channel(false).0,
            }),
        }
    }

    pub fn inventory(&self) -> &Inventory {
        &self.inner.inventory
    }

    pub fn config(&self) -> &FakeConfig {
        &self.inner.config
    }

    /// A registry with this fake behind every provider.
    pub fn registry(&self) -> Registry {
        [
            &ringform_schema::aws::SCHEMA,
            &ringform_schema::azure::SCHEMA,
            &ringform_schema::kubernetes::SCHEMA,
            &ringform_schema::local::SCHEMA,
        ]
        .into_iter()
        .fold(Registry::new(), |registry, schema| {
            registry.with(Arc::new(FakeProvider { inner: self.inner.clone(), schema }))
        })
    }

    /// Resolves once a [`CrashAction::Hang`] crash point has fired.
    pub async fn crashed(&self) {
        let mut receiver = self.inner.crashed.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = receiver.wait_for(|crashed| *crashed).await;
    }

    pub fn has_crashed(&self) -> bool {
        *self.inner.crashed.borrow()
    }

    /// Every call so far, in the order they started.
    pub fn call_log(&self) -> Vec<CallRecord> {
        self.log().clone()
    }

    pub fn total_calls(&self) -> usize {
        self.log().len()
    }

    /// Number of calls per (method, kind, scope).
    pub fn calls(&self) -> BTreeMap<(Method, Kind, Scope), usize> {
        let mut counts = BTreeMap::new();
        for call in self.log().iter() {
            *counts.entry((call.method, call.kind, call.scope.clone())).or_insert(0) += 1;
        }
        counts
    }

    /// Number of calls of `method` for `kind`, over all scopes.
    pub fn calls_of(&self, method: Method, kind: Kind) -> usize {
        self.log().iter().filter(|c| c.method == method && c.kind == kind).count()
    }

    /// Number of read calls per (kind, scope): 1 each when refresh batches properly.
    pub fn reads_per_kind_scope(&self) -> BTreeMap<(Kind, Scope), usize> {
        let mut counts = BTreeMap::new();
        for call in self.log().iter().filter(|c| c.method == Method::Read) {
            *counts.entry((call.kind, call.scope.clone())).or_insert(0) += 1;
        }
        counts
    }

    /// The largest number of calls that were in flight at once.
    pub fn max_concurrency(&self) -> usize {
        self.inner.peak.load(Ordering::SeqCst)
    }

    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::SeqCst)
    }

    fn log(&self) -> MutexGuard<'_, Vec<CallRecord>> {
        self.inner.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn begin(&self, method: Method, kind: Kind, address: Option<&Address>, scope: Scope) -> CallGuard<'_> {
        let now = self.inner.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.inner.peak.fetch_max(now, Ordering::SeqCst);
        let mut log = self.log();
        log.push(CallRecord {
            method,
            kind,
            address: address.cloned(),
            scope,
            started: Instant::now(),
            ended: None,
            outcome: Outcome::InFlight,
        });
        CallGuard { fake: self, index: log.len() - 1, outcome: Outcome::Dropped }
    }

    /// The life of one call: faults, first half of the latency, crash point, effect, second
    /// half. The effect is synchronous so no lock is ever held across an `.await`.
    async fn call<T>(
        &self,
        method: Method,
        kind: Kind,
        address: Option<&Address>,
        fatal: bool,
        scope: Scope,
        effect: impl FnOnce() -> ProviderResult<T>,
    ) -> ProviderResult<T> {
        let mut guard = self.begin(method, kind, address, scope);
        let result = self.run(method, kind, fatal, address, effect).await;
        guard.outcome = match &result {
            Ok(_) => Outcome::Succeeded,
            Err(e) => Outcome::Failed(e.class),
        };
        result
    }

    async fn run<T>(
        &self,
        method: Method,
        kind: Kind,
        fatal: bool,
        address: Option<&Address>,
        effect: impl FnOnce() -> ProviderResult<T>,
    ) -> ProviderResult<T> {
        self.hang_if_crashed().await;
        self.inject_faults(method, kind, fatal, address)?;
        let latency = if method.is_mutating() {
            self.inner.config.mutation_latency(kind)
        } else {
            self.inner.config.scaled_read_latency()
        };
        let first_half = latency / 2;
        sleep(first_half).await;
        self.hang_if_crashed().await;

        let crash = method.is_mutating().then(|| self.crash_point()).flatten();
        if crash == Some(CrashMode::BeforeEffect) {
            self.crash().await;
        }
        let result = effect();
        if crash == Some(CrashMode::AfterEffect) {
            self.crash().await;
        }

        sleep(latency - first_half).await;
        // Once the "process" is dead nobody hears back, not even calls that were in flight.
        self.hang_if_crashed().await;
        result
    }

    fn inject_faults(&self, method: Method, kind: Kind, fatal: bool, address: Option<&Address>) -> ProviderResult<()> {
        let what = match address {
            Some(address) => format!("{method:?} {address}"),
            None => format!("{method:?} {kind}"),
        };
        if fatal {
            return Err(ProviderError::fatal(format!("injected fatal failure: {what}")));
        }
        let config = &self.inner.config;
        let (throttled, failed) = {
            let mut rng = self.inner.rng.lock().unwrap_or_else(PoisonError::into_inner);
            (rng.random_bool(config.throttle_rate), rng.random_bool(config.error_rate))
        };
        if throttled {
            return Err(ProviderError::throttled(format!("injected throttling: {what}"), config.retry_after));
        }
        if failed {
            return Err(ProviderError::retryable(format!("injected transient failure: {what}")));
        }
        Ok(())
    }

    fn crash_point(&self) -> Option<CrashMode> {
        let crash = self.inner.config.crash?;
        let n = self.inner.halfway.fetch_add(1, Ordering::SeqCst) + 1;
        (n == crash.after).then_some(crash.mode)
    }

    async fn crash(&self) {
        match self.inner.config.crash_action {
            CrashAction::Abort => std::process::abort(),
            CrashAction::Hang => {
                self.inner.crashed.send_replace(true);
                std::future::pending::<()>().await;
            }
        }
    }

    async fn hang_if_crashed(&self) {
        if self.has_crashed() {
            std::future::pending::<()>().await;
        }
    }

    fn is_fatal(&self, address: &Address) -> bool {
        self.inner.config.fatal_addresses.contains(address)
    }

    /// Where calls about an object go, as ringform's schemas say for its kind.
    fn scope_of(&self, kind: Kind, inputs: &Attributes) -> Scope {
        self.inner.schemas.scope(kind, inputs)
    }

    fn outputs(&self, kind: Kind, provider_id: &str, inputs: &Attributes, previous: Option<&Attributes>) -> Attributes {
        let mut rng = self.inner.rng.lock().unwrap_or_else(PoisonError::into_inner);
        outputs::compute(kind, provider_id, inputs, previous, &mut *rng)
    }
}

/// Ends a call's record when its future completes or is dropped.
struct CallGuard<'a> {
    fake: &'a FakeProvider,
    index: usize,
    outcome: Outcome,
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        if let Some(record) = self.fake.log().get_mut(self.index) {
            record.ended = Some(Instant::now());
            record.outcome = self.outcome;
        }
        self.fake.inner.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn sleep(duration: Duration) -> impl Future<Output = ()> {
    let skip = duration.is_zero();
    async move {
        if !skip {
            tokio::time::sleep(duration).await;
        }
    }
}

/// A real API rejects a request whose values the engine forgot to resolve.
fn check_known(address: &Address, inputs: &Attributes) -> ProviderResult<()> {
    match inputs.iter().find(|(_, value)| !value.is_known()) {
        Some((name, _)) => Err(ProviderError::fatal(format!(
            "input `{name}` of {address} is unknown or an unresolved reference; the fake cloud needs concrete values"
        ))),
        None => Ok(()),
    }
}

fn persistence_error(error: std::io::Error) -> ProviderError {
    ProviderError::fatal("the fake cloud could not persist its inventory").with_source(error)
}

impl ResourceProvider for FakeProvider {
    fn schema(&self) -> &'static ProviderSchema {
        self.schema
    }

    fn scope(&self, address: &Address, inputs: &Attributes) -> Scope {
        self.scope_of(address.kind(), inputs)
    }

    fn create(&self, request: CreateRequest) -> BoxFuture<'_, ProviderResult<Applied>> {
        Box::pin(async move {
            let kind = request.address.kind();
            let scope = self.scope_of(kind, &request.inputs);
            let fatal = self.is_fatal(&request.address);
            check_known(&request.address, &request.inputs)?;
            let target = request.address.clone();
            self.call(Method::Create, kind, Some(&target), fatal, scope, || {
                let CreateRequest { deployment, address, inputs } = request;
                let outputs = |id: &str| self.outputs(kind, id, &inputs, None);
                let object = self.inner.inventory.create(&deployment, &address, inputs.clone(), outputs);
                let object = object.map_err(persistence_error)?;
                Ok(Applied { provider_id: object.provider_id, outputs: object.outputs })
            })
            .await
        })
    }

    fn update(&self, request: UpdateRequest) -> BoxFuture<'_, ProviderResult<Applied>> {
        Box::pin(async move {
            let kind = request.address.kind();
            let scope = self.scope_of(kind, &request.after);
            let fatal = self.is_fatal(&request.address);
            check_known(&request.address, &request.after)?;
            let target = request.address.clone();
            self.call(Method::Update, kind, Some(&target), fatal, scope, || {
                let UpdateRequest { address, provider_id, after, .. } = request;
                let outputs = |previous: &Attributes| self.outputs(kind, &provider_id, &after, Some(previous));
                let object = self.inner.inventory.update(&provider_id, after.clone(), outputs);
                match object.map_err(persistence_error)? {
                    Some(object) => Ok(Applied { provider_id: object.provider_id, outputs: object.outputs }),
                    None => Err(ProviderError::fatal(format!("{address}: object {provider_id} not found"))),
                }
            })
            .await
        })
    }

    fn delete(&self, request: DeleteRequest) -> BoxFuture<'_, ProviderResult<()>> {
        Box::pin(async move {
            let kind = request.address.kind();
            let scope = self.scope_of(kind, &request.inputs);
            let fatal = self.is_fatal(&request.address);
            self.call(Method::Delete, kind, Some(&request.address), fatal, scope, || {
                // Deleting what is already gone succeeds: delete is idempotent by contract.
                self.inner.inventory.remove(&request.provider_id).map(drop).map_err(persistence_error)
            })
            .await
        })
    }

    fn read(&self, request: ReadRequest) -> BoxFuture<'_, ProviderResult<ReadResponse>> {
        Box::pin(async move {
            let fatal = request.resources.iter().any(|r| self.is_fatal(&r.address));
            let scope = request.scope.clone();
            self.call(Method::Read, request.kind, None, fatal, scope, || {
                // Like a tag-filtered listing in one region: objects elsewhere are not seen. As
                // the cloud providers do, objects are matched to records by id and reported
                // under the record's address (which `state mv` may have changed).
                let found = request
                    .resources
                    .iter()
                    .filter_map(|tracked| Some((tracked, self.inner.inventory.get(&tracked.provider_id)?)))
                    .filter(|(_, object)| {
                        object.kind == request.kind
                            && object.deployment() == Some(request.deployment.as_str())
                            && self.scope_of(object.kind, &object.inputs) == request.scope
                    })
                    .map(|(tracked, object)| Observed { address: tracked.address.clone(), ..object.observed() })
                    .collect();
                Ok(ReadResponse { found })
            })
            .await
        })
    }

    fn find(&self, request: FindRequest) -> BoxFuture<'_, ProviderResult<Option<Observed>>> {
        Box::pin(async move {
            let kind = request.address.kind();
            let scope = self.scope_of(kind, &request.inputs);
            let fatal = self.is_fatal(&request.address);
            let target = request.address.clone();
            self.call(Method::Find, kind, Some(&target), fatal, scope, || {
                let mut matches = self.inner.inventory.by_tags(&request.deployment, &request.address);
                if matches.len() > 1 {
                    let ids: Vec<&str> = matches.iter().map(|o| o.provider_id.as_str()).collect();
                    return Err(ProviderError::fatal(format!(
                        "{} objects are tagged as {} ({}); ringform duplicated it",
                        matches.len(),
                        request.address,
                        ids.join(", ")
                    )));
                }
                Ok(matches.pop().map(|object| object.observed()))
            })
            .await
        })
    }
}
