//! Helpers shared by the engine's integration tests: in-memory state (sled does real I/O,
//! which paused tokio time cannot skip), topology loading, a recording reporter and the checks
//! every scenario ends with.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ringform_core::{Address, Attributes, Kind, Value};
use ringform_engine::{Engine, Event, OpKind, Options, Outcome, RateLimit, Reporter, RetryPolicy, Silent};
use ringform_graph::{Resource, ResourceGraph};
use ringform_plan::Plan;
use ringform_state::StateStore;
use ringform_testkit::{FakeProvider, Inventory, MemoryStore, Method, Outcome as CallOutcome};
use tokio::sync::watch;

pub const DEPLOYMENT: &str = "engine-tests";

/// State in memory (testkit's store), as the engine and `recover` take it.
pub fn memory_store() -> Arc<dyn StateStore> {
    Arc::new(MemoryStore::new())
}

/// Which event should stop the run, and the channel to say so on.
type StopWhen = (Box<dyn Fn(&Event) -> bool + Send>, watch::Sender<bool>);

/// Collects every event, and can stop the run at a chosen one (as Ctrl-C would at that
/// instant).
#[derive(Default)]
pub struct Recorder {
    events: Mutex<Vec<Event>>,
    stop_when: Mutex<Option<StopWhen>>,
}

impl Recorder {
    pub fn new() -> Arc<Self> {
        Arc::new(Recorder::default())
    }

    /// Sends `true` on `stop` from inside the first event `when` accepts.
    pub fn stopping(when: impl Fn(&Event) -> bool + Send + 'static, stop: watch::Sender<bool>) -> Arc<Self> {
        let recorder = Recorder::default();
        *recorder.stop_when.lock().unwrap() = Some((Box::new(when), stop));
        Arc::new(recorder)
    }

    pub fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Reporter for Recorder {
    fn report(&self, event: Event) {
        let mut stop_when = self.stop_when.lock().unwrap_or_else(PoisonError::into_inner);
        if stop_when.as_ref().is_some_and(|(when, _)| when(&event))
            && let Some((_, stop)) = stop_when.take()
        {
            stop.send_replace(true);
        }
        self.events.lock().unwrap_or_else(PoisonError::into_inner).push(event);
    }
}

pub fn address(text: &str) -> Address {
    text.parse().unwrap_or_else(|e| panic!("bad test address {text}: {e}"))
}

pub fn attributes(pairs: &[(&str, Value)]) -> Attributes {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

pub fn graph_of(resources: Vec<(Address, Attributes)>) -> ResourceGraph {
    let resources = resources.into_iter().map(|(address, attributes)| Resource { address, attributes }).collect();
    ResourceGraph::from_resources(resources).unwrap_or_else(|e| panic!("test graph is invalid: {e:?}"))
}

/// The graph of a topology file in `examples/`.
pub fn example_graph(file: &str) -> ResourceGraph {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(file);
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    topology_graph(&source)
}

pub fn topology_graph(source: &str) -> ResourceGraph {
    let topology = ringform_topology::parse(source).unwrap_or_else(|d| panic!("invalid topology: {d:#?}"));
    ResourceGraph::build(&topology).unwrap_or_else(|e| panic!("graph build failed: {e:?}"))
}

/// Quick retries and a rate limit that never gets in the way.
pub fn options(parallelism: usize) -> Options {
    let mut options = Options::new(DEPLOYMENT);
    options.parallelism = parallelism;
    options.retry =
        RetryPolicy { max_attempts: 60, base_delay: Duration::from_millis(1), max_delay: Duration::from_millis(20) };
    options.rate = RateLimit { max_per_second: 1e6, min_per_second: 1e5, burst: 1_000_000 };
    options
}

pub fn engine(
    fake: &FakeProvider,
    store: &Arc<dyn StateStore>,
    reporter: Arc<dyn Reporter>,
    options: Options,
) -> Engine {
    Engine::new(fake.registry(), Arc::clone(store), reporter, options)
}

pub fn plan(graph: &ResourceGraph, store: &Arc<dyn StateStore>) -> Plan {
    ringform_plan::plan(graph, &store.snapshot().unwrap(), "test".into(), &ringform_schema::all())
}

pub fn plan_destroy(store: &Arc<dyn StateStore>) -> Plan {
    ringform_plan::plan_destroy(&store.snapshot().unwrap(), &[], "test".into(), &ringform_schema::all())
}

/// A stop channel nothing can say stop on: its sender is gone.
pub fn never_stop() -> watch::Receiver<bool> {
    watch::channel(false).1
}

/// Plans `graph` against the store and applies it with a silent reporter.
pub async fn plan_and_apply(
    fake: &FakeProvider,
    store: &Arc<dyn StateStore>,
    graph: &ResourceGraph,
    options: Options,
) -> Outcome {
    let plan = plan(graph, store);
    engine(fake, store, Arc::new(Silent), options).apply(&plan, graph, never_stop()).await.expect("apply")
}

/// The `(address, provider_id)` pairs the state believes exist.
pub fn state_pairs(store: &dyn StateStore) -> Vec<(Address, String)> {
    let snapshot = store.snapshot().unwrap();
    snapshot
        .iter()
        .map(|r| {
            (r.address.clone(), r.provider_id.clone().unwrap_or_else(|| panic!("{} has no provider id", r.address)))
        })
        .collect()
}

/// The fake cloud holds exactly what the state records, and nothing twice.
pub fn assert_cloud_matches_state(inventory: &Inventory, store: &dyn StateStore) {
    assert_no_duplicates(inventory);
    let comparison = inventory.compare(state_pairs(store));
    assert!(comparison.is_exact(), "cloud and state differ:\n{comparison}");
}

pub fn assert_no_duplicates(inventory: &Inventory) {
    let mut by_address: HashMap<Address, Vec<String>> = HashMap::new();
    for object in inventory.objects() {
        by_address.entry(object.address).or_default().push(object.provider_id);
    }
    let duplicated: Vec<_> = by_address.into_iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert!(duplicated.is_empty(), "objects duplicated in the fake cloud: {duplicated:?}");
}

pub fn assert_complete(outcome: &Outcome) {
    assert!(
        outcome.is_complete(),
        "run incomplete: failed {:?}, skipped {:?}, not started {:?}",
        outcome.failed,
        outcome.skipped,
        outcome.not_started
    );
}

/// The mutating calls the fake saw for `method`, by address: (started, ended, outcome).
pub fn calls_by_address(
    fake: &FakeProvider,
    method: Method,
) -> HashMap<Address, Vec<(std::time::Instant, Option<std::time::Instant>, CallOutcome)>> {
    let mut calls: HashMap<_, Vec<_>> = HashMap::new();
    for call in fake.call_log() {
        if call.method == method
            && let Some(address) = call.address
        {
            calls.entry(address).or_default().push((call.started, call.ended, call.outcome));
        }
    }
    calls
}

/// Every address in `graph` that (transitively) references `root`.
pub fn transitive_dependents(graph: &ResourceGraph, root: &Address) -> BTreeSet<Address> {
    let mut found = BTreeSet::new();
    let mut stack = vec![root.clone()];
    while let Some(next) = stack.pop() {
        for dependent in graph.dependents(&next) {
            if found.insert(dependent.clone()) {
                stack.push(dependent.clone());
            }
        }
    }
    found
}

/// What an operation of `kind` takes in the fake cloud in the timing tests: the engine's own
/// estimate, so the priorities it computes are the truth.
pub fn realistic_latency(kind: Kind) -> Duration {
    ringform_engine::expected_duration(&ringform_schema::all(), kind, OpKind::Create)
}

/// The longest chain of latencies through `graph`: no schedule can finish sooner.
pub fn critical_path_bound(graph: &ResourceGraph, latency: impl Fn(Kind) -> Duration) -> Duration {
    let mut finish: HashMap<&Address, Duration> = HashMap::new();
    for address in graph.topological_order() {
        let ready = graph.dependencies(address).map(|d| finish[d]).max().unwrap_or_default();
        finish.insert(address, ready + latency(address.kind()));
    }
    finish.into_values().max().unwrap_or_default()
}

/// Applies `plan` until the fake cloud "kills the process" (a crash point with
/// `CrashAction::Hang` fires), then drops the run as SIGKILL would.
pub async fn apply_until_crash(
    fake: &FakeProvider,
    store: &Arc<dyn StateStore>,
    graph: &ResourceGraph,
    plan: &Plan,
    parallelism: usize,
) {
    let engine = engine(fake, store, Arc::new(Silent), options(parallelism));
    tokio::select! {
        outcome = engine.apply(plan, graph, never_stop()) => panic!("the crash must hang the run: {outcome:?}"),
        () = fake.crashed() => {}
    }
}
