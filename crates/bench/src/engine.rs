//! Engine benchmarks against the fake cloud: apply wall time against the critical-path lower
//! bound, a no-op plan against a full state, and refresh call counts.

use ringform_schema::{aws, azure, local};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringform_core::Kind;
use ringform_engine::{Engine, Options, RateLimit, Silent};
use ringform_graph::ResourceGraph;
use ringform_testkit::{FakeConfig, FakeProvider, MemoryStore};

/// Realistic operation times, in minutes of the real clouds (the figures DESIGN.md gives).
pub(crate) fn real_minutes(kind: Kind) -> f64 {
    match kind {
        azure::VPN_GATEWAY => 45.0,
        aws::EKS_CLUSTER => 15.0,
        azure::AKS_CLUSTER => 10.0,
        aws::EKS_NODE_GROUP => 5.0,
        aws::VPN_CONNECTION | aws::VPN_GATEWAY | aws::TRANSIT_GATEWAY => 5.0,
        azure::VPN_CONNECTION => 2.0,
        aws::VPC_PEERING | aws::VPC_PEERING_ACCEPTER | azure::VNET_PEERING => 10.0 / 60.0,
        aws::ROUTE | aws::SECURITY_GROUP_RULE | local::GENERATED_SECRET => 1.0 / 60.0,
        _ => 5.0 / 60.0,
    }
}

/// The fake cloud with real latencies scaled so one real minute takes `ms_per_minute`.
fn fake(ms_per_minute: f64) -> FakeProvider {
    let config = ringform_schema::all().kinds().fold(FakeConfig::new(), |config, schema| {
        config.latency(schema.kind, Duration::from_secs_f64(real_minutes(schema.kind) * ms_per_minute / 1000.0))
    });
    FakeProvider::new(config)
}

/// The longest chain of latencies through the graph: no schedule can finish sooner.
pub(crate) fn critical_path(graph: &ResourceGraph, ms_per_minute: f64) -> Duration {
    let mut finish: HashMap<&ringform_core::Address, f64> = HashMap::new();
    for address in graph.topological_order() {
        let start = graph.dependencies(address).filter_map(|d| finish.get(d)).fold(0.0, |a: f64, &b| a.max(b));
        finish.insert(address, start + real_minutes(address.kind()) * ms_per_minute);
    }
    Duration::from_secs_f64(finish.values().fold(0.0, |a: f64, &b| a.max(b)) / 1000.0)
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime")
}

async fn apply_once(graph: &ResourceGraph, fake: &FakeProvider, options: Options) -> Result<Duration, String> {
    let store = Arc::new(MemoryStore::new());
    let plan = ringform_plan::plan(graph, &snapshot(&store), String::new(), &ringform_schema::all());
    let engine = Engine::new(fake.registry(), store, Arc::new(Silent), options);
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let outcome = engine.apply(&plan, graph, stopped).await.map_err(|e| e.to_string())?;
    if !outcome.is_complete() {
        return Err(format!("apply incomplete: {:?}", outcome.failed.first()));
    }
    Ok(outcome.elapsed)
}

pub(crate) fn snapshot(store: &MemoryStore) -> ringform_state::Snapshot {
    ringform_state::StateStore::snapshot(store).unwrap_or_else(|_| ringform_state::Snapshot::empty())
}

/// Apply of a mixed AWS/Azure topology: ringform's schedule (critical path first, wide)
/// against the lower bound, beside a width-10 walk in arbitrary order (Terraform's default).
pub fn apply(clusters: usize, ms_per_minute: f64, runs: usize) -> Result<(), String> {
    let source = ringform_testkit::topologies::mixed_mesh(clusters);
    let topology = ringform_topology::parse(&source).map_err(|d| format!("{:?}", d.first()))?;
    let graph = ResourceGraph::build(&topology).map_err(|e| format!("{e:?}"))?;
    let bound = critical_path(&graph, ms_per_minute);
    let rt = runtime();
    let fast = RateLimit { max_per_second: 1e6, min_per_second: 1.0, burst: 1_000_000 };
    let mut ringform = Vec::new();
    let mut terraform_like = Vec::new();
    for _ in 0..runs {
        let mut options = Options::new("bench");
        options.rate = fast;
        options.parallelism = 256;
        ringform.push(rt.block_on(apply_once(&graph, &fake(ms_per_minute), options))?);
        let mut options = Options::new("bench");
        options.rate = fast;
        options.parallelism = 10;
        options.critical_path_first = false;
        terraform_like.push(rt.block_on(apply_once(&graph, &fake(ms_per_minute), options))?);
    }
    let ringform = crate::median(&mut ringform);
    let terraform_like = crate::median(&mut terraform_like);
    println!("{clusters} clusters ({} resources), 1 real minute = {ms_per_minute} ms, median of {runs}:", graph.len());
    println!("  critical-path lower bound        {:>9}", crate::ms(bound));
    println!(
        "  ringform (critical path first)   {:>9}  = {:.3} × bound",
        crate::ms(ringform),
        ringform.as_secs_f64() / bound.as_secs_f64()
    );
    println!(
        "  width 10, arbitrary order        {:>9}  = {:.3} × bound",
        crate::ms(terraform_like),
        terraform_like.as_secs_f64() / bound.as_secs_f64()
    );
    Ok(())
}

/// Builds the full state of an AWS full mesh by applying it to an instant fake cloud, then
/// measures what a no-op plan costs and how many calls a refresh makes.
pub fn noop(clusters: usize, runs: usize) -> Result<(), String> {
    let source = ringform_testkit::topologies::aws_full_mesh(clusters);
    let topology = ringform_topology::parse(&source).map_err(|d| format!("{:?}", d.first()))?;
    let graph = ResourceGraph::build(&topology).map_err(|e| format!("{e:?}"))?;
    let rt = runtime();
    let fake = FakeProvider::new(FakeConfig::new());
    let store = Arc::new(MemoryStore::new());
    let plan = ringform_plan::plan(&graph, &ringform_state::Snapshot::empty(), String::new(), &ringform_schema::all());
    let mut options = Options::new("bench");
    options.rate = RateLimit { max_per_second: 1e6, min_per_second: 1.0, burst: 1_000_000 };
    let engine = Engine::new(fake.registry(), store.clone(), Arc::new(Silent), options);
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    rt.block_on(engine.apply(&plan, &graph, stopped)).map_err(|e| e.to_string())?;
    let state = snapshot(&store);
    // The state in the real stores: a sled directory, and that directory migrated to S3 on moto,
    // both with their secrets sealed as `RINGFORM_STATE_KEY` seals them.
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let local = dir.path().join("state");
    let opener = ringform_state::Opener::new("bench").key(Some(bench_key()));
    let records: Vec<_> = state.iter().cloned().collect();
    ringform_state::StateStore::write_all(&opener.open(&local).map_err(|e| e.to_string())?, &records, &[])
        .map_err(|e| e.to_string())?;
    let on_disk = size_of_dir(&local);
    let moto = ringform_testkit::moto::Moto::start()?;
    moto.create_bucket("ringform-bench", "eu-west-1");
    let location = s3_location(&moto.endpoint())?;
    let migrated = ringform_remote::migrate_to_remote(&local, &location, &opener).map_err(|e| e.to_string())?;
    let in_bucket = migrated.to_bytes().len() as u64;
    println!("AWS full mesh of {clusters} clusters, {} resources in state:", state.len());
    // Plan in a fresh process that holds only what `ringform plan` holds: the loaded state.
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let endpoint = moto.endpoint();
    for (store, at, size) in
        [("sled", local.to_str().unwrap_or_default(), on_disk), ("s3", endpoint.as_str(), in_bucket)]
    {
        let child = std::process::Command::new(&exe)
            .args(["--one-noop", &clusters.to_string(), &runs.to_string(), store, at])
            .output()
            .map_err(|e| e.to_string())?;
        if !child.status.success() {
            return Err(String::from_utf8_lossy(&child.stderr).into_owned());
        }
        print!("  {store} ({}): {}", mb(Some(size / 1024)), String::from_utf8_lossy(&child.stdout));
    }

    let before = fake.total_calls();
    let refreshed =
        rt.block_on(ringform_engine::refresh(&state, &fake.registry(), "bench")).map_err(|e| e.to_string())?;
    let reads = fake.total_calls() - before;
    let groups = fake.reads_per_kind_scope().len();
    let per_thousand: usize = fake
        .reads_per_kind_scope()
        .keys()
        .map(|(kind, scope)| {
            let n = state.iter().filter(|r| r.kind() == *kind && fake_scope_matches(&fake, r, scope)).count();
            n.div_ceil(1000)
        })
        .sum();
    println!(
        "  refresh: {reads} read calls for {groups} (kind, region) groups; target ≤ {per_thousand} (1 per kind × region × 1000 resources); {} drift",
        refreshed.drift.len()
    );
    Ok(())
}

/// The child of [`noop`]: read the state from `store` (`sled` with a directory, or `s3` with
/// moto's endpoint) as `ringform plan` reads it, then parse, compile and plan `runs` times.
pub fn one_noop(clusters: usize, runs: usize, store: &str, at: &str) -> Result<(), String> {
    let source = ringform_testkit::topologies::aws_full_mesh(clusters);
    let start = Instant::now();
    let state = match store {
        "sled" => {
            let opener = ringform_state::Opener::new("plan").key(Some(bench_key()));
            let store = opener.open_existing(at).map_err(|e| e.to_string())?;
            ringform_state::StateStore::snapshot(&store).map_err(|e| e.to_string())?
        }
        _ => {
            let sealing = ringform_remote::Sealing::Key(bench_key());
            let state = ringform_remote::read_snapshot(&s3_location(at)?, &sealing).map_err(|e| e.to_string())?;
            state.ok_or("no state in the bucket")?
        }
    };
    let load = start.elapsed();
    let loaded_rss = crate::peak_rss();
    let mut times = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let topology = ringform_topology::parse(&source).map_err(|d| format!("{:?}", d.first()))?;
        let graph = ResourceGraph::build(&topology).map_err(|e| format!("{e:?}"))?;
        let plan = ringform_plan::plan(&graph, &state, ringform_plan::topology_hash(&source), &ringform_schema::all());
        times.push(start.elapsed());
        if plan.has_changes() {
            return Err(format!("the plan against the full state is not empty: {:?}", plan.summary()));
        }
    }
    let plan = crate::median(&mut times);
    println!(
        "reading the state (and opening its secrets) {}, no-op plan (parse + graph + diff) median of {runs} {}, \
         together {}; {} resident after reading, peak RSS {}",
        crate::ms(load),
        crate::ms(plan),
        crate::ms(load + plan),
        mb(loaded_rss),
        mb(crate::peak_rss())
    );
    Ok(())
}

/// The key the benchmark's state is sealed with.
fn bench_key() -> ringform_state::StateKey {
    ringform_state::StateKey::from_bytes(&[42; 32]).expect("32 bytes make a key")
}

/// The benchmark's state object in S3 on the moto at `endpoint`.
fn s3_location(endpoint: &str) -> Result<ringform_remote::Location, String> {
    let settings = ringform_aws::AwsSettings {
        endpoint_url: Some(endpoint.to_owned()),
        static_credentials: Some(("testing".into(), "testing".into())),
        max_attempts: 1,
        ..Default::default()
    };
    let config = runtime().block_on(ringform_aws::sdk_config(&settings, "eu-west-1"));
    ringform_remote::Location::s3("ringform-bench", "eu-west-1", "mesh", &config).map_err(|e| e.to_string())
}

fn size_of_dir(dir: &std::path::Path) -> u64 {
    let entries = std::fs::read_dir(dir).into_iter().flatten().flatten();
    entries
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => size_of_dir(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}

fn fake_scope_matches(
    fake: &FakeProvider,
    record: &ringform_state::Record,
    scope: &ringform_core::provider::Scope,
) -> bool {
    use ringform_core::provider::ResourceProvider;
    fake.scope(&record.address, &record.inputs) == *scope
}

fn mb(kb: Option<u64>) -> String {
    kb.map_or("?".into(), |kb| format!("{:.1} MB", kb as f64 / 1024.0))
}
