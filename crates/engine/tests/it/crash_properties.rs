//! Property: whatever the graph, the faults and the instant the process dies, killing the
//! engine, recovering and applying again leaves the cloud holding exactly what the state
//! records, with nothing created twice; so does changing the graph afterwards, and destroy
//! leaves nothing behind. Runs on paused tokio time with an in-memory state store.

use ringform_schema::{aws, azure, local};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::*;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use ringform_core::{Address, Attributes, Kind, Provider, Value};
use ringform_engine::{Silent, recover};
use ringform_graph::ResourceGraph;
use ringform_plan::{Action, Plan};
use ringform_state::StateStore;
use ringform_testkit::{CrashMode, FakeConfig, FakeProvider, Inventory};

/// Kinds the random graphs use: several providers (so several rate-limit scopes), kinds whose
/// `region`/`location` attribute forces replacement, and one without a scope of its own.
const KINDS: &[Kind] = &[aws::VPC, aws::SUBNET, aws::SECURITY_GROUP, azure::VIRTUAL_NETWORK, local::GENERATED_SECRET];

/// One random resource: its kind, where it lives, a plain attribute, and the earlier
/// resources it references.
#[derive(Clone, Debug)]
struct Node {
    kind: usize,
    place: usize,
    size: i64,
    references: Vec<prop::sample::Index>,
}

/// Kill the process at one of the run's mutating calls (picked among as many as the plan has),
/// before or after its effect.
#[derive(Clone, Debug)]
struct Crash {
    at: prop::sample::Index,
    mode: CrashMode,
}

#[derive(Clone, Debug)]
struct Faults {
    error_rate: f64,
    throttle_rate: f64,
    latency_ms: Vec<u64>,
    seed: u64,
}

#[derive(Clone, Debug)]
struct Scenario {
    nodes: Vec<Node>,
    /// Changes for the second apply: new `size`s (an update), moved resources (a replacement),
    /// resources dropped, and extra resources.
    resize: Vec<(prop::sample::Index, i64)>,
    relocate: Vec<prop::sample::Index>,
    dropped: Vec<prop::sample::Index>,
    extra: Vec<Node>,
    faults: Faults,
    parallelism: usize,
    /// Crash points for successive runs of each phase (apply, change, destroy); a run past
    /// the list has none.
    crashes: [Vec<Crash>; 3],
}

fn node() -> impl Strategy<Value = Node> {
    (0..KINDS.len(), 0..2usize, 1..5i64, prop::collection::vec(any::<prop::sample::Index>(), 0..3))
        .prop_map(|(kind, place, size, references)| Node { kind, place, size, references })
}

fn crash() -> impl Strategy<Value = Crash> {
    (any::<prop::sample::Index>(), prop_oneof![Just(CrashMode::BeforeEffect), Just(CrashMode::AfterEffect)])
        .prop_map(|(at, mode)| Crash { at, mode })
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let faults = (0.0..0.3f64, 0.0..0.3f64, prop::collection::vec(0..20u64, KINDS.len()), any::<u64>()).prop_map(
        |(error_rate, throttle_rate, latency_ms, seed)| Faults { error_rate, throttle_rate, latency_ms, seed },
    );
    let crashes = [
        prop::collection::vec(crash(), 0..3),
        prop::collection::vec(crash(), 0..3),
        prop::collection::vec(crash(), 0..3),
    ];
    (
        prop::collection::vec(node(), 1..16),
        prop::collection::vec((any::<prop::sample::Index>(), 5..9i64), 0..4),
        prop::collection::vec(any::<prop::sample::Index>(), 0..3),
        prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        prop::collection::vec(node(), 0..4),
        faults,
        1..6usize,
        crashes,
    )
        .prop_map(|(nodes, resize, relocate, dropped, extra, faults, parallelism, crashes)| Scenario {
            nodes,
            resize,
            relocate,
            dropped,
            extra,
            faults,
            parallelism,
            crashes,
        })
}

const PLACES: [&str; 3] = ["eu-west-1", "eu-central-1", "us-east-1"];

/// A resource of a graph being built: its name number, what it is, where it lives, and the
/// names of the resources it references.
#[derive(Clone, Debug)]
struct Placed {
    name: usize,
    kind: Kind,
    place: usize,
    size: i64,
    references: Vec<usize>,
}

impl Placed {
    fn address(&self) -> Address {
        address(&format!("{}.r{}", self.kind, self.name))
    }
}

/// The graph of `nodes`, each referencing the `id` of the ones it names.
fn build(nodes: &[Placed]) -> ResourceGraph {
    let addresses: HashMap<usize, Address> = nodes.iter().map(|n| (n.name, n.address())).collect();
    let schemas = ringform_schema::all();
    let resources = nodes
        .iter()
        .map(|node| {
            let mut attributes = Attributes::new();
            match schemas.provider(node.kind) {
                Some(Provider::Aws) => {
                    attributes.insert("region".into(), PLACES[node.place].into());
                }
                Some(Provider::Azure) => {
                    attributes.insert("location".into(), PLACES[node.place].into());
                }
                _ => {}
            }
            attributes.insert("size".into(), Value::Int(node.size));
            for name in &node.references {
                let target = &addresses[name];
                attributes.insert(format!("ref_{}", target.name()), Value::reference(target, "id"));
            }
            (node.address(), attributes)
        })
        .collect();
    graph_of(resources)
}

/// `node`, `name`d, referencing the earlier of `nodes` its indexes pick.
fn place(name: usize, node: &Node, nodes: &[Placed]) -> Placed {
    let mut references: Vec<usize> = if nodes.is_empty() {
        Vec::new()
    } else {
        node.references.iter().map(|p| nodes[p.index(nodes.len())].name).collect()
    };
    references.sort_unstable();
    references.dedup();
    Placed { name, kind: KINDS[node.kind], place: node.place, size: node.size, references }
}

fn first_nodes(s: &Scenario) -> Vec<Placed> {
    let mut nodes = Vec::new();
    for (name, node) in s.nodes.iter().enumerate() {
        let placed = place(name, node, &nodes);
        nodes.push(placed);
    }
    nodes
}

/// The first graph, changed: some sizes (updates), some places (replacements, and updates of
/// what references them), some resources dropped (deletes, and updates of what referenced
/// them), new ones added (creates).
fn second_nodes(s: &Scenario) -> Vec<Placed> {
    let mut nodes = first_nodes(s);
    for (pick, size) in &s.resize {
        let i = pick.index(nodes.len());
        nodes[i].size = *size;
    }
    for pick in &s.relocate {
        let i = pick.index(nodes.len());
        nodes[i].place = 2;
    }
    let dropped: Vec<usize> = s.dropped.iter().map(|pick| nodes[pick.index(nodes.len())].name).collect();
    nodes.retain(|n| !dropped.contains(&n.name));
    for node in &mut nodes {
        node.references.retain(|name| !dropped.contains(name));
    }
    // New resources get fresh names, never reusing a dropped one's address.
    for (j, node) in s.extra.iter().enumerate() {
        let placed = place(100 + j, node, &nodes);
        nodes.push(placed);
    }
    nodes
}

fn config(faults: &Faults) -> FakeConfig {
    let config = FakeConfig::new()
        .error_rate(faults.error_rate)
        .throttle_rate(faults.throttle_rate)
        .retry_after(Some(Duration::from_millis(3)))
        .seed(faults.seed);
    KINDS.iter().zip(&faults.latency_ms).fold(config, |c, (&kind, &ms)| c.latency(kind, Duration::from_millis(ms)))
}

/// Runs `make_plan` to completion the way an operator would: recover, plan, apply; when the
/// fake cloud "kills" the process, start over with a fresh provider over the same cloud (and
/// the next crash point, if any). Returns how many runs crashed.
async fn run_until_done(
    inventory: &Inventory,
    store: &Arc<dyn StateStore>,
    graph: &ResourceGraph,
    scenario: &Scenario,
    crashes: &[Crash],
    make_plan: impl Fn(&Arc<dyn StateStore>) -> Plan,
) -> Result<usize, TestCaseError> {
    let mut crashed = 0;
    for run in 0..=crashes.len() {
        // Recovery gets a reliable cloud: its few lookups retry with the default policy, which
        // the random fault rates here could exhaust now and then (a separate test covers it).
        let reliable = FakeProvider::with_inventory(FakeConfig::new(), inventory.clone());
        recover(store, &reliable.registry(), DEPLOYMENT, Some(graph))
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(store.unfinished_intents().unwrap().is_empty());
        assert_no_duplicates(inventory);
        let comparison = inventory.compare(state_pairs(store.as_ref()));
        prop_assert!(comparison.is_exact(), "after recovery, run {}:\n{}", run, comparison);

        let plan = make_plan(store);
        let mutations: usize = plan
            .changes
            .iter()
            .map(|c| match c.action {
                Action::NoOp => 0,
                Action::Replace => 2,
                Action::Create | Action::Update | Action::Delete => 1,
            })
            .sum();
        let mut config = config(&scenario.faults).seed(scenario.faults.seed.wrapping_add(run as u64));
        if let Some(crash) = crashes.get(run).filter(|_| mutations > 0) {
            config = config.crash_after_calls(crash.at.index(mutations) as u64 + 1, crash.mode);
        }
        let fake = FakeProvider::with_inventory(config, inventory.clone());
        let engine = engine(&fake, store, Arc::new(Silent), options(scenario.parallelism));
        tokio::select! {
            outcome = engine.apply(&plan, graph, never_stop()) => {
                let outcome = outcome.map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert!(outcome.is_complete(), "run {}: {:?}", run, outcome);
                return Ok(crashed);
            }
            () = fake.crashed() => crashed += 1,
        }
    }
    Err(TestCaseError::fail("the last run has no crash point, yet it crashed"))
}

fn check_converged(
    inventory: &Inventory,
    store: &Arc<dyn StateStore>,
    graph: &ResourceGraph,
) -> Result<(), TestCaseError> {
    assert_no_duplicates(inventory);
    let comparison = inventory.compare(state_pairs(store.as_ref()));
    prop_assert!(comparison.is_exact(), "{}", comparison);
    let again = plan(graph, store);
    prop_assert!(
        !again.has_changes(),
        "not converged: {:#?}",
        again.changes.iter().filter(|c| c.action != Action::NoOp).collect::<Vec<_>>()
    );
    prop_assert_eq!(store.snapshot().unwrap().len(), graph.len());
    Ok(())
}

/// Returns how many runs were killed.
fn property(scenario: Scenario) -> Result<usize, TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
    runtime.block_on(async move {
        let inventory = Inventory::new();
        let store = memory_store();

        let first = build(&first_nodes(&scenario));
        let mut crashed =
            run_until_done(&inventory, &store, &first, &scenario, &scenario.crashes[0], |s| plan(&first, s)).await?;
        check_converged(&inventory, &store, &first)?;

        let second = build(&second_nodes(&scenario));
        crashed +=
            run_until_done(&inventory, &store, &second, &scenario, &scenario.crashes[1], |s| plan(&second, s)).await?;
        check_converged(&inventory, &store, &second)?;

        crashed += run_until_done(&inventory, &store, &second, &scenario, &scenario.crashes[2], plan_destroy).await?;
        prop_assert!(inventory.is_empty(), "destroy left {:#?}", inventory.objects());
        prop_assert!(store.snapshot().unwrap().is_empty());
        Ok(crashed)
    })
}

#[test]
fn killed_runs_recover_without_leaks_or_duplicates() {
    let mut runner = TestRunner::new(ProptestConfig { cases: 32, ..ProptestConfig::default() });
    let crashes = AtomicUsize::new(0);
    let result = runner.run(&scenario(), |scenario| {
        crashes.fetch_add(property(scenario)?, Ordering::Relaxed);
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    // The property is only as good as the kills it survived.
    let crashes = crashes.into_inner();
    println!("{crashes} runs killed and recovered in 32 cases");
    assert!(crashes >= 32, "only {crashes} runs were killed in 32 cases");
}
