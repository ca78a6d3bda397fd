//! Benchmarks through the real providers against the local stand-ins of the clouds: the
//! Azure VPN mesh applied to the fake ARM server with real provisioning times scaled down.

use std::sync::Arc;
use std::time::Duration;

use ringform_core::Provider;
use ringform_core::provider::Registry;
use ringform_engine::{Engine, Options, RateLimit, Silent};
use ringform_graph::ResourceGraph;
use ringform_testkit::MemoryStore;
use ringform_testkit::arm::{FakeArm, FakeArmOptions};

use crate::engine::{critical_path, real_minutes, runtime, snapshot};

/// The example's graph cut to what `kinds_prefix` names and everything it depends on.
pub(crate) fn example_graph(example: &str, kinds_prefix: &str) -> Result<ResourceGraph, String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(example);
    let source = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let topology = ringform_topology::parse(&source).map_err(|d| format!("{:?}", d.first()))?;
    let graph = ResourceGraph::build(&topology).map_err(|e| format!("{e:?}"))?;
    let targets: Vec<_> =
        graph.resources().map(|r| r.address.clone()).filter(|a| a.kind().as_str().starts_with(kinds_prefix)).collect();
    graph.with_dependencies(&targets).map_err(|missing| format!("{missing} is not in the graph"))
}

/// `examples/aks-vpn-mesh.toml` (4 gateways, 12 connections, 4 AKS clusters) through the real
/// Azure provider against the fake ARM, each type taking its real provisioning time scaled so a
/// real minute lasts `ms_per_minute`.
pub fn azure_mesh(ms_per_minute: f64, runs: usize) -> Result<(), String> {
    let graph = example_graph("aks-vpn-mesh.toml", "azure_")?;
    let scaled = |kind| Duration::from_secs_f64(real_minutes(kind) * ms_per_minute / 1000.0);
    let bound = critical_path(&graph, ms_per_minute);
    let rt = runtime();
    let mut times = Vec::new();
    for _ in 0..runs.max(1) {
        let arm = FakeArm::start(FakeArmOptions::default()).map_err(|e| e.to_string())?;
        use ringform_core::Kind::*;
        for (r#type, kind) in [
            ("virtualNetworks", AzureVirtualNetwork),
            ("publicIPAddresses", AzurePublicIp),
            ("virtualNetworkGateways", AzureVpnGateway),
            ("connections", AzureVpnConnection),
            ("managedClusters", AzureAksCluster),
        ] {
            arm.set_provisioning_delay(r#type, scaled(kind));
        }
        let mut settings = ringform_azure::AzureSettings {
            endpoint: arm.endpoint(),
            token: Some(arm.token()),
            default_subscription: Some("00000000-0000-4000-8000-00000000be4c".into()),
            ..Default::default()
        };
        settings.arm.poll_interval = Duration::from_millis(2);
        let registry = Registry::new()
            .with(Provider::Azure, Arc::new(ringform_azure::AzureProvider::new(settings)))
            .with(Provider::Local, Arc::new(ringform_engine::LocalProvider));
        let store = Arc::new(MemoryStore::new());
        let plan = ringform_plan::plan(&graph, &snapshot(&store), String::new());
        let mut options = Options::new("bench");
        options.rate = RateLimit { max_per_second: 1e6, min_per_second: 1.0, burst: 1_000_000 };
        let engine = Engine::new(registry, store, Arc::new(Silent), options);
        let (_stop, stopped) = tokio::sync::watch::channel(false);
        let outcome = rt.block_on(engine.apply(&plan, &graph, stopped)).map_err(|e| e.to_string())?;
        if !outcome.is_complete() {
            return Err(format!("apply incomplete: {:?}", outcome.failed.first()));
        }
        times.push(outcome.elapsed);
    }
    let elapsed = crate::median(&mut times);
    let count = |kind| graph.resources().filter(|r| r.address.kind() == kind).count() as f64;
    let gateway = real_minutes(ringform_core::Kind::AzureVpnGateway) * ms_per_minute;
    let connection = real_minutes(ringform_core::Kind::AzureVpnConnection) * ms_per_minute;
    let one_round = Duration::from_secs_f64((gateway + connection) / 1000.0);
    let serial = Duration::from_secs_f64(
        (count(ringform_core::Kind::AzureVpnGateway) * gateway
            + count(ringform_core::Kind::AzureVpnConnection) * connection)
            / 1000.0,
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
