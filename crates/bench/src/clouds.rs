//! Benchmarks through the real providers against the local stand-ins of the clouds: the
//! Azure VPN mesh applied to the fake ARM server with real provisioning times scaled down, a
//! whole example (clouds and Kubernetes layer) against moto, the fake ARM and the fake
//! Kubernetes API, and the API calls an AWS refresh makes, counted by moto's request recorder.

use ringform_schema::azure;
use std::sync::Arc;
use std::time::Duration;

use ringform_core::provider::Registry;
use ringform_engine::{Engine, Options, RateLimit, Silent};
use ringform_graph::ResourceGraph;
use ringform_testkit::MemoryStore;
use ringform_testkit::arm::{FakeArm, FakeArmOptions};
use ringform_testkit::kube::{FakeKube, FakeKubeOptions};
use ringform_testkit::moto::Moto;

use crate::engine::{critical_path, real_minutes, runtime, snapshot};

fn fast_options() -> Options {
    let mut options = Options::new("bench");
    options.rate = RateLimit { max_per_second: 1e6, min_per_second: 1.0, burst: 1_000_000 };
    options
}

/// Applies `graph` from nothing; how it went and the state it leaves.
fn apply(
    rt: &tokio::runtime::Runtime,
    graph: &ResourceGraph,
    registry: Registry,
) -> Result<(ringform_engine::Outcome, ringform_state::Snapshot), String> {
    let store = Arc::new(MemoryStore::new());
    let plan = ringform_plan::plan(graph, &snapshot(&store), String::new(), &ringform_schema::all());
    let engine = Engine::new(registry, store.clone(), Arc::new(Silent), fast_options());
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let outcome = rt.block_on(engine.apply(&plan, graph, stopped)).map_err(|e| e.to_string())?;
    if !outcome.is_complete() {
        return Err(format!("apply incomplete: {:?}", outcome.failed.first()));
    }
    Ok((outcome, snapshot(&store)))
}

fn without_pod_ranges(topology: &str) -> String {
    topology.lines().filter(|l| !l.starts_with("pod_cidr")).map(|l| format!("{l}\n")).collect()
}

/// The AWS layer of the two-region example and of a generated 10-cluster mesh applied to moto,
/// then refreshed with moto's recorder on: the calls a refresh makes, against the target of one
/// call per kind × region × 1000 resources.
pub fn aws_refresh() -> Result<(), String> {
    let rt = runtime();
    let cases = [
        ("examples/eks-two-regions.toml", example_graph("eks-two-regions.toml", "aws_")?),
        // Pods on the node subnets (EKS's default): with a pod range too, 9 peers × 5 ports × 2
        // ranges = 90 rules pass the 60 per security group that moto enforces, as AWS does
        // unless the quota is raised.
        (
            "generated 10-cluster AWS mesh",
            graph_of(&without_pod_ranges(&ringform_testkit::topologies::aws_full_mesh(10)), "aws_")?,
        ),
    ];
    for (name, graph) in cases {
        let moto = Moto::start()?;
        let aws = aws_on(&moto);
        let registry = Registry::new().with(aws.clone()).with(Arc::new(ringform_engine::LocalProvider));
        let (_, state) = apply(&rt, &graph, registry.clone())?;
        moto.start_recording();
        let refreshed = rt.block_on(ringform_engine::refresh(&state, &registry, "bench")).map_err(|e| e.to_string())?;
        moto.stop_recording();
        let calls = moto.recorded_calls();
        let mut groups = std::collections::BTreeMap::new();
        for record in state.iter() {
            *groups.entry((record.kind(), aws.scope(&record.address, &record.inputs))).or_insert(0usize) += 1;
        }
        let target: usize = groups.values().map(|n| n.div_ceil(1000)).sum();
        let mut by_action = std::collections::BTreeMap::new();
        for call in &calls {
            *by_action.entry(format!("{} {}", call.service, call.action)).or_insert(0usize) += 1;
        }
        println!(
            "{name}: {} AWS resources in {} (kind, region) groups, {} drift",
            state.len(),
            groups.len(),
            refreshed.drift.len()
        );
        for drift in &refreshed.drift {
            println!("  drift: {drift:?}");
        }
        println!("  refresh: {} API calls (target {target}); by action:", calls.len());
        for (action, n) in by_action {
            println!("    {n:>4}  {action}");
        }
    }
    Ok(())
}

/// The example's graph cut to what `kinds_prefix` names and everything it depends on.
pub(crate) fn example_graph(example: &str, kinds_prefix: &str) -> Result<ResourceGraph, String> {
    cut(&example_topology(example)?, kinds_prefix)
}

fn example_topology(example: &str) -> Result<ringform_topology::Topology, String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(example);
    let source = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&source)
}

fn parse(source: &str) -> Result<ringform_topology::Topology, String> {
    ringform_topology::parse(source).map_err(|d| format!("{:?}", d.first()))
}

fn graph_of(source: &str, kinds_prefix: &str) -> Result<ResourceGraph, String> {
    cut(&parse(source)?, kinds_prefix)
}

/// The topology's graph cut to what `kinds_prefix` names and everything it depends on.
fn cut(topology: &ringform_topology::Topology, kinds_prefix: &str) -> Result<ResourceGraph, String> {
    let graph = ResourceGraph::build(topology).map_err(|e| format!("{e:?}"))?;
    let targets: Vec<_> =
        graph.resources().map(|r| r.address.clone()).filter(|a| a.kind().as_str().starts_with(kinds_prefix)).collect();
    graph.with_dependencies(&targets).map_err(|missing| format!("{missing} is not in the graph"))
}

/// The AWS provider against `moto`.
fn aws_on(moto: &Moto) -> Arc<dyn ringform_core::provider::ResourceProvider> {
    let settings = ringform_aws::AwsSettings {
        max_attempts: 1,
        poll_interval: Duration::from_millis(10),
        endpoint_url: Some(moto.endpoint()),
        static_credentials: Some(("testing".into(), "testing".into())),
        ..Default::default()
    };
    Arc::new(ringform_aws::AwsProvider::new(settings))
}

/// A fake ARM server holding each long-running operation InProgress for its real provisioning
/// time, scaled so a real minute lasts `ms_per_minute`.
fn scaled_arm(ms_per_minute: f64) -> Result<FakeArm, String> {
    let scaled = |kind| Duration::from_secs_f64(real_minutes(kind) * ms_per_minute / 1000.0);
    let arm = FakeArm::start(FakeArmOptions::default()).map_err(|e| e.to_string())?;
    for (r#type, kind) in [
        ("virtualNetworks", azure::VIRTUAL_NETWORK),
        ("publicIPAddresses", azure::PUBLIC_IP),
        ("virtualNetworkGateways", azure::VPN_GATEWAY),
        ("connections", azure::VPN_CONNECTION),
        ("managedClusters", azure::AKS_CLUSTER),
    ] {
        arm.set_provisioning_delay(r#type, scaled(kind));
    }
    Ok(arm)
}

/// The Azure provider against `arm`, polling often enough for scaled times.
fn azure_on(arm: &FakeArm) -> Arc<dyn ringform_core::provider::ResourceProvider> {
    let mut settings = ringform_azure::AzureSettings {
        endpoint: arm.endpoint(),
        token: Some(arm.token()),
        default_subscription: Some("00000000-0000-4000-8000-00000000be4c".into()),
        ..Default::default()
    };
    settings.arm.poll_interval = Duration::from_millis(2);
    Arc::new(ringform_azure::AzureProvider::new(settings))
}

/// `examples/aks-vpn-mesh.toml` (4 gateways, 12 connections, 4 AKS clusters) through the real
/// Azure provider against the fake ARM, each type taking its real provisioning time scaled so a
/// real minute lasts `ms_per_minute`.
pub fn azure_mesh(ms_per_minute: f64, runs: usize) -> Result<(), String> {
    let graph = example_graph("aks-vpn-mesh.toml", "azure_")?;
    let bound = critical_path(&graph, ms_per_minute);
    let rt = runtime();
    let mut times = Vec::new();
    for _ in 0..runs.max(1) {
        let arm = scaled_arm(ms_per_minute)?;
        let registry = Registry::new().with(azure_on(&arm)).with(Arc::new(ringform_engine::LocalProvider));
        let (outcome, _) = apply(&rt, &graph, registry)?;
        times.push(outcome.elapsed);
    }
    let elapsed = crate::median(&mut times);
    let count = |kind| graph.resources().filter(|r| r.address.kind() == kind).count() as f64;
    let gateway = real_minutes(azure::VPN_GATEWAY) * ms_per_minute;
    let connection = real_minutes(azure::VPN_CONNECTION) * ms_per_minute;
    let one_round = Duration::from_secs_f64((gateway + connection) / 1000.0);
    let serial = Duration::from_secs_f64(
        (count(azure::VPN_GATEWAY) * gateway + count(azure::VPN_CONNECTION) * connection) / 1000.0,
    );
    println!(
        "aks-vpn-mesh against the fake ARM ({} resources), 1 real minute = {ms_per_minute} ms, median of {runs}:",
        graph.len()
    );
    println!("  critical-path lower bound            {:>9}", crate::ms(bound));
    println!("  one gateway + one connection         {:>9}", crate::ms(one_round));
    println!("  gateways and connections one by one  {:>9}", crate::ms(serial));
    println!(
        "  ringform apply                       {:>9}  = {:.3} × (gateway + connection), {:.3} × bound",
        crate::ms(elapsed),
        elapsed.as_secs_f64() / one_round.as_secs_f64(),
        elapsed.as_secs_f64() / bound.as_secs_f64()
    );
    Ok(())
}

/// A whole example — its clouds, then its Kubernetes layer — applied through the real AWS, Azure
/// and Kubernetes providers to moto, the fake ARM (real provisioning times scaled so a real
/// minute lasts `ms_per_minute`) and the fake Kubernetes API (its controllers on the same
/// scale). The bound is the longest chain of the run's own operation times through the graph:
/// what the fakes took is what any schedule must wait for, and the rest is ringform's.
pub fn ring(example: &str, ms_per_minute: f64, runs: usize) -> Result<(), String> {
    let topology = example_topology(example)?;
    let graph = cut(&topology, "")?;
    let rt = runtime();
    let (mut walls, mut ratios, mut bounds, mut chain) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs.max(1) {
        let moto = Moto::start()?;
        let arm = scaled_arm(ms_per_minute)?;
        let options = FakeKubeOptions { time_scale: ms_per_minute / 60_000.0, ..FakeKubeOptions::default() };
        let kube = FakeKube::start(options).map_err(|e| e.to_string())?;
        kube.add_clusters_of(&topology).map_err(|e| e.to_string())?;
        let settings = ringform_kube::KubeSettings {
            endpoint: Some(kube.endpoint()),
            token: Some(kube.token()),
            dns_server: Some(kube.dns_server()),
            ..Default::default()
        };
        let registry = Registry::new()
            .with(aws_on(&moto))
            .with(azure_on(&arm))
            .with(Arc::new(ringform_kube::KubeProvider::new(settings)))
            .with(Arc::new(ringform_engine::LocalProvider));
        let (outcome, _) = apply(&rt, &graph, registry)?;
        let took: std::collections::HashMap<_, _> = outcome.succeeded.iter().map(|(a, _, d)| (a, *d)).collect();
        let bound = longest_chain(&graph, |address| took.get(address).copied().unwrap_or_default());
        walls.push(outcome.elapsed);
        bounds.push(bound);
        ratios.push(outcome.elapsed.as_secs_f64() / bound.as_secs_f64());
        chain = outcome.critical_path;
    }
    ratios.sort_by(f64::total_cmp);
    let schemas = ringform_schema::all();
    let in_kubernetes = |kind| schemas.provider(kind) == Some(ringform_core::Provider::Kubernetes);
    let kubernetes = graph.resources().filter(|r| in_kubernetes(r.address.kind())).count();
    println!(
        "{example} against moto, the fake ARM and the fake Kubernetes API ({} resources, {kubernetes} in \
         Kubernetes), 1 real minute = {ms_per_minute} ms, median of {runs}:",
        graph.len()
    );
    println!("  critical-path bound (the run's own times)  {:>9}", crate::ms(crate::median(&mut bounds)));
    println!("  ringform apply                             {:>9}", crate::ms(crate::median(&mut walls)));
    println!("  wall time ÷ bound                          {:>9.3}", ratios[ratios.len() / 2]);
    println!("  the chain that set the last run's length:");
    for (address, _, took) in chain {
        println!("    {:>9}  {address}", crate::ms(took));
    }
    Ok(())
}

/// The longest chain of `took` through the graph's dependencies.
fn longest_chain(graph: &ResourceGraph, took: impl Fn(&ringform_core::Address) -> Duration) -> Duration {
    let mut finish: std::collections::HashMap<&ringform_core::Address, Duration> = std::collections::HashMap::new();
    for address in graph.topological_order() {
        let start = graph.dependencies(address).filter_map(|d| finish.get(d)).max().copied().unwrap_or_default();
        finish.insert(address, start + took(address));
    }
    finish.into_values().max().unwrap_or_default()
}
