//! The engine against the fault-injecting fake cloud: apply, parallelism, priorities, retries
//! and failures, stopping, destroy, crash recovery and refresh. Durations that matter run on
//! paused tokio time (and an in-memory state store), so nothing here depends on how busy the
//! machine is.

use ringform_schema::{aws, azure, kubernetes};
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use crate::common::{self, *};
use ringform_core::provider::Scope;
use ringform_core::{Address, Kind, Provider, Value};
use ringform_engine::{Drift, Event, OpKind, Recovered, Silent, recover, refresh, refresh_into_store};
use ringform_state::{SledStore, StateStore};
use ringform_testkit::{CrashMode, FakeConfig, FakeProvider, Method, Outcome as CallOutcome};
use tokio::sync::watch;

// 1. A whole example topology, against real (sled) state.
#[tokio::test]
async fn applies_an_example_topology_in_dependency_order() {
    let graph = example_graph("eks-two-regions.toml");
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn StateStore> = Arc::new(SledStore::open(dir.path().join("state"), "apply").unwrap());
    let fake = FakeProvider::new(FakeConfig::new().default_latency(Duration::from_millis(2)));

    let plan = plan(&graph, &store);
    assert_eq!(plan.summary().add, graph.len());
    let outcome =
        engine(&fake, &store, Arc::new(Silent), options(16)).apply(&plan, &graph, never_stop()).await.unwrap();

    assert_complete(&outcome);
    assert_eq!(outcome.succeeded.len(), graph.len());
    assert!(outcome.succeeded.iter().all(|(_, op, _)| *op == OpKind::Create));
    assert_eq!(store.snapshot().unwrap().len(), graph.len());
    assert_cloud_matches_state(fake.inventory(), store.as_ref());
    assert!(!common::plan(&graph, &store).has_changes(), "a second plan must be a no-op");
    assert!(store.unfinished_intents().unwrap().is_empty());

    // Every create started only once everything it references had been created.
    let creates = calls_by_address(&fake, Method::Create);
    assert_eq!(creates.len(), graph.len());
    for resource in graph.resources() {
        let calls = &creates[&resource.address];
        assert_eq!(calls.len(), 1, "{} created more than once", resource.address);
        let (started, _, outcome) = calls[0];
        assert_eq!(outcome, CallOutcome::Succeeded);
        for dependency in graph.dependencies(&resource.address) {
            let (_, dependency_ended, _) = creates[dependency][0];
            let dependency_ended = dependency_ended.expect("finished");
            assert!(
                dependency_ended <= started,
                "{} started before its dependency {dependency} finished",
                resource.address
            );
        }
    }
    // The records remember what they reference, for destroy.
    for record in store.snapshot().unwrap().iter() {
        let expected: BTreeSet<&Address> = graph.dependencies(&record.address).collect();
        assert_eq!(record.dependencies.iter().collect::<BTreeSet<_>>(), expected, "{}", record.address);
    }
}

// 2. Parallelism.
#[tokio::test(start_paused = true)]
async fn parallelism_is_reached_but_never_exceeded() {
    let graph = example_graph("eks-two-regions.toml");
    for parallelism in [1, 3, 8] {
        let store = memory_store();
        let fake = FakeProvider::new(FakeConfig::new().default_latency(Duration::from_secs(30)));
        let outcome = plan_and_apply(&fake, &store, &graph, options(parallelism)).await;
        assert_complete(&outcome);
        assert_eq!(fake.max_concurrency(), parallelism, "with parallelism {parallelism}");
        assert_cloud_matches_state(fake.inventory(), store.as_ref());
    }
}

/// An Azure VPN gateway chain (resource group → VNet and public IP → gateway → connection),
/// and `quick` independent VPCs.
fn gateway_chain_and_quick_resources(quick: usize) -> ringform_graph::ResourceGraph {
    let location = || ("location", Value::from("westeurope"));
    let rg = address("azure_resource_group.rg");
    let vnet = address("azure_virtual_network.vnet");
    let ip = address("azure_public_ip.gw");
    let gateway = address("azure_vpn_gateway.gw");
    let mut resources = vec![
        (rg.clone(), attributes(&[location(), ("name", "rg".into())])),
        (vnet.clone(), attributes(&[location(), ("resource_group", Value::reference(&rg, "name"))])),
        (ip.clone(), attributes(&[location(), ("resource_group", Value::reference(&rg, "name"))])),
        (
            gateway.clone(),
            attributes(&[
                location(),
                ("virtual_network_id", Value::reference(&vnet, "id")),
                ("public_ip_id", Value::reference(&ip, "id")),
            ]),
        ),
        (
            address("azure_vpn_connection.gw"),
            attributes(&[location(), ("gateway_id", Value::reference(&gateway, "id"))]),
        ),
    ];
    for i in 0..quick {
        resources.push((address(&format!("aws_vpc.quick-{i:02}")), attributes(&[("region", "eu-west-1".into())])));
    }
    graph_of(resources)
}

fn realistic_fake() -> FakeProvider {
    let config = ringform_schema::all()
        .kinds()
        .fold(FakeConfig::new(), |config, s| config.latency(s.kind, realistic_latency(s.kind)));
    FakeProvider::new(config)
}

// 3a. Scarce slots go to the longest remaining chain.
#[tokio::test(start_paused = true)]
async fn the_longest_chain_starts_first_when_slots_are_scarce() {
    let graph = gateway_chain_and_quick_resources(12);
    let store = memory_store();
    let fake = realistic_fake();
    let outcome = plan_and_apply(&fake, &store, &graph, options(1)).await;
    assert_complete(&outcome);
    assert_eq!(fake.max_concurrency(), 1);

    let order: Vec<String> =
        fake.call_log().iter().filter_map(|c| c.address.as_ref()).map(|a| a.kind().to_string()).collect();
    // The gateway chain first, whole, in dependency order (the VNet and the public IP tie);
    // the quick VPCs wait although they were ready from the start.
    assert_eq!(order[0], "azure_resource_group", "{order:?}");
    let middle: BTreeSet<&str> = order[1..3].iter().map(String::as_str).collect();
    assert_eq!(middle, BTreeSet::from(["azure_public_ip", "azure_virtual_network"]));
    assert_eq!(order[3..5], ["azure_vpn_gateway", "azure_vpn_connection"]);
    assert!(order[5..].iter().all(|kind| kind == "aws_vpc"), "{order:?}");
    // One slot: the run takes the sum of all latencies, and not a moment more.
    let total: Duration = graph.resources().map(|r| realistic_latency(r.address.kind())).sum();
    assert!(outcome.elapsed >= total && outcome.elapsed < total + Duration::from_secs(1), "{:?}", outcome.elapsed);
}

/// `aws` EKS clusters in a VPC-peering mesh and `azure` AKS clusters in a VPN-gateway mesh,
/// joined across clouds by site-to-site VPNs, one k8ssandra datacenter each.
fn mixed_topology(aws: usize, azure: usize) -> String {
    const AWS_REGIONS: &[&str] = &["eu-west-1", "eu-central-1", "us-east-1", "us-east-2", "us-west-2"];
    const AZURE_REGIONS: &[&str] = &["westeurope", "northeurope", "eastus", "westus2", "centralus"];
    let mut out = String::from("deployment = \"mixed\"\n\n[mesh]\n");
    if aws > 0 {
        // 5 ports per other cluster's network: a raised quota past 11 clusters.
        out.push_str("aws = \"vpc-peering\"\naws_rules_per_security_group = 1000\n");
    }
    if azure > 0 {
        out.push_str("azure = \"vpn-gateway\"\n");
    }
    if aws > 0 && azure > 0 {
        out.push_str("cross_cloud = \"vpn\"\n");
    }
    let clusters: Vec<(String, bool)> =
        (0..aws).map(|i| (format!("aws-{i}"), true)).chain((0..azure).map(|i| (format!("az-{i}"), false))).collect();
    for (i, (name, is_aws)) in clusters.iter().enumerate() {
        let _ = write!(out, "\n[[clusters]]\nname = \"{name}\"\n");
        if *is_aws {
            let region = AWS_REGIONS[i % AWS_REGIONS.len()];
            let _ = write!(
                out,
                "provider = \"aws\"\nregion = \"{region}\"\nzones = [\"{region}a\", \"{region}b\", \"{region}c\"]\n"
            );
        } else {
            let _ = write!(out, "provider = \"azure\"\nregion = \"{}\"\n", AZURE_REGIONS[i % AZURE_REGIONS.len()]);
        }
        let _ = write!(out, "network_cidr = \"10.{i}.0.0/16\"\nservice_cidr = \"10.{}.0.0/16\"\n", 100 + i);
    }
    out.push_str("\n[cassandra]\ncluster_name = \"mixed\"\ncontrol_plane = \"aws-0\"\n");
    for (name, _) in &clusters {
        let _ = write!(out, "\n[[cassandra.datacenters]]\nname = \"dc-{name}\"\ncluster = \"{name}\"\n");
    }
    out
}

// 3b. With slots to spare, the run is as long as its longest chain.
#[tokio::test(start_paused = true)]
async fn ample_parallelism_finishes_at_the_critical_path_bound() {
    let graph = topology_graph(&mixed_topology(10, 10));
    let bound = critical_path_bound(&graph, realistic_latency);
    let store = memory_store();
    let fake = realistic_fake();
    let outcome = plan_and_apply(&fake, &store, &graph, options(graph.len())).await;
    assert_complete(&outcome);
    assert_cloud_matches_state(fake.inventory(), store.as_ref());

    let ratio = outcome.elapsed.as_secs_f64() / bound.as_secs_f64();
    println!(
        "20-cluster mixed AWS/Azure topology: {} resources, {} edges, peak concurrency {}, wall {:?}, \
         critical-path bound {:?}, ratio {ratio:.6}",
        graph.len(),
        graph.edge_count(),
        fake.max_concurrency(),
        outcome.elapsed,
        bound
    );
    assert!(outcome.elapsed >= bound, "faster than the bound? {:?} < {bound:?}", outcome.elapsed);
    assert!(ratio < 1.001, "wall {:?} is {ratio:.4} × the critical path {bound:?}", outcome.elapsed);
    let reported: Duration = outcome.critical_path.iter().map(|(_, _, d)| *d).sum();
    assert!(reported >= bound && reported <= outcome.elapsed, "{reported:?} vs {bound:?}");
}

// 4a. Transient errors and throttling are retried until everything is done.
#[tokio::test(start_paused = true)]
async fn transient_errors_and_throttling_are_retried_until_done() {
    let graph = example_graph("eks-two-regions.toml");
    let store = memory_store();
    let config = FakeConfig::new()
        .default_latency(Duration::from_secs(2))
        .error_rate(0.25)
        .throttle_rate(0.25)
        .retry_after(Some(Duration::from_millis(5)))
        .seed(7);
    let fake = FakeProvider::new(config);
    let recorder = Recorder::new();
    let plan = plan(&graph, &store);
    let outcome = engine(&fake, &store, recorder.clone(), options(8)).apply(&plan, &graph, never_stop()).await.unwrap();

    assert_complete(&outcome);
    assert_cloud_matches_state(fake.inventory(), store.as_ref());
    assert!(!common::plan(&graph, &store).has_changes());
    let log = fake.call_log();
    let throttled = log
        .iter()
        .filter(|c| matches!(c.outcome, CallOutcome::Failed(ringform_core::provider::ErrorClass::Throttled { .. })))
        .count();
    let transient =
        log.iter().filter(|c| c.outcome == CallOutcome::Failed(ringform_core::provider::ErrorClass::Retryable)).count();
    assert!(throttled > 0 && transient > 0, "the faults were injected: {throttled} throttled, {transient} transient");
    let retries = recorder.events().iter().filter(|e| matches!(e, Event::Retrying { .. })).count();
    assert_eq!(retries, throttled + transient, "every failed attempt was retried");
    assert_eq!(log.iter().filter(|c| c.outcome == CallOutcome::Succeeded).count(), graph.len());
}

// 4b. A fatal error is not retried and skips exactly what depends on it.
#[tokio::test(start_paused = true)]
async fn a_fatal_error_skips_only_its_dependents() {
    let graph = example_graph("eks-two-regions.toml");
    let doomed = address("aws_vpc.eu-west");
    assert!(graph.contains(&doomed));
    let dependents = transitive_dependents(&graph, &doomed);
    assert!(!dependents.is_empty());
    let store = memory_store();
    let fake =
        FakeProvider::new(FakeConfig::new().default_latency(Duration::from_secs(1)).fatal_address(doomed.clone()));
    let outcome = plan_and_apply(&fake, &store, &graph, options(8)).await;

    assert_eq!(outcome.failed.len(), 1, "{:?}", outcome.failed);
    assert_eq!((&outcome.failed[0].0, outcome.failed[0].1), (&doomed, OpKind::Create));
    assert!(outcome.failed[0].2.to_string().contains("injected fatal failure"), "{}", outcome.failed[0].2);
    assert_eq!(calls_by_address(&fake, Method::Create)[&doomed].len(), 1, "a fatal error is never retried");

    let skipped: BTreeSet<Address> = outcome.skipped.iter().map(|(a, _, _)| a.clone()).collect();
    assert_eq!(skipped, dependents);
    assert!(outcome.skipped.iter().all(|(_, op, because)| *op == OpKind::Create && *because == doomed));
    assert!(outcome.not_started.is_empty());

    // Everything independent of the failure finished; nothing skipped was attempted.
    let succeeded: BTreeSet<Address> = outcome.succeeded.iter().map(|(a, _, _)| a.clone()).collect();
    let independent: BTreeSet<Address> =
        graph.resources().map(|r| r.address.clone()).filter(|a| *a != doomed && !dependents.contains(a)).collect();
    assert_eq!(succeeded, independent);
    let attempted: BTreeSet<Address> = fake.call_log().into_iter().filter_map(|c| c.address).collect();
    assert!(attempted.is_disjoint(&dependents));
    assert_cloud_matches_state(fake.inventory(), store.as_ref());
    assert!(!outcome.is_complete());
}

/// Two slow EKS clusters, a node group and nine VPCs, independent; a node group on cluster a.
fn stop_graph() -> ringform_graph::ResourceGraph {
    let region = || ("region", Value::from("eu-west-1"));
    let mut resources = vec![
        (address("aws_eks_cluster.a"), attributes(&[region()])),
        (address("aws_eks_cluster.b"), attributes(&[region()])),
        (address("aws_eks_node_group.x"), attributes(&[region()])),
        (
            address("aws_eks_node_group.a-pool"),
            attributes(&[region(), ("cluster_name", Value::reference(&address("aws_eks_cluster.a"), "cluster_name"))]),
        ),
    ];
    for i in 0..9 {
        resources.push((address(&format!("aws_vpc.v{i}")), attributes(&[region()])));
    }
    graph_of(resources)
}

// 5. Stop: in-flight work drains, nothing new starts, a rerun finishes the job.
#[tokio::test(start_paused = true)]
async fn stop_drains_in_flight_work_and_a_rerun_finishes() {
    let graph = stop_graph();
    let store = memory_store();
    let config = FakeConfig::new()
        .latency(aws::EKS_CLUSTER, Duration::from_secs(600))
        .latency(aws::EKS_NODE_GROUP, Duration::from_secs(60))
        .default_latency(Duration::from_secs(5));
    let fake = FakeProvider::new(config);
    // Ctrl-C arrives the moment the node group is done; the clusters are still being created.
    let (stop, stopped) = watch::channel(false);
    let node_group = address("aws_eks_node_group.x");
    let recorder =
        Recorder::stopping(move |e| matches!(e, Event::Succeeded { address, .. } if *address == node_group), stop);
    let plan = plan(&graph, &store);
    let outcome = engine(&fake, &store, recorder.clone(), options(3)).apply(&plan, &graph, stopped).await.unwrap();

    let started: BTreeSet<String> =
        fake.call_log().iter().filter_map(|c| c.address.as_ref()).map(Address::to_string).collect();
    assert_eq!(
        started,
        BTreeSet::from(["aws_eks_cluster.a".into(), "aws_eks_cluster.b".into(), "aws_eks_node_group.x".into()]),
        "nothing may start once stop is sent"
    );
    assert!(fake.call_log().iter().all(|c| c.outcome == CallOutcome::Succeeded), "in-flight calls finish");
    assert!(recorder.events().contains(&Event::Stopping { in_flight: 2 }), "{:#?}", recorder.events());
    assert_eq!(outcome.succeeded.len(), 3);
    assert!(outcome.elapsed >= Duration::from_secs(600), "the run waited for the clusters");
    let not_started: BTreeSet<Address> = outcome.not_started.iter().map(|(a, _)| a.clone()).collect();
    let expected: BTreeSet<Address> = graph
        .resources()
        .map(|r| r.address.clone())
        .filter(|a| !matches!(a.kind(), aws::EKS_CLUSTER) && a.name() != "x")
        .collect();
    assert_eq!(not_started, expected);
    assert!(outcome.failed.is_empty() && outcome.skipped.is_empty());
    assert_eq!(store.snapshot().unwrap().len(), 3);
    assert_cloud_matches_state(fake.inventory(), store.as_ref());

    let rerun = plan_and_apply(&fake, &store, &graph, options(3)).await;
    assert_complete(&rerun);
    assert_eq!(rerun.succeeded.len(), expected.len());
    assert_cloud_matches_state(fake.inventory(), store.as_ref());
    assert!(!common::plan(&graph, &store).has_changes());
    assert!(calls_by_address(&fake, Method::Create).values().all(|calls| calls.len() == 1));
}

// A stop channel whose sender is gone can never say stop: that is no reason to stop.
#[tokio::test(start_paused = true)]
async fn a_dropped_stop_sender_does_not_stop_the_run() {
    let graph = stop_graph();
    let store = memory_store();
    let fake = FakeProvider::new(FakeConfig::new().default_latency(Duration::from_secs(5)));
    let (stop, stopped) = watch::channel(false);
    drop(stop);
    let plan = plan(&graph, &store);
    let outcome = engine(&fake, &store, Arc::new(Silent), options(2)).apply(&plan, &graph, stopped).await.unwrap();
    assert_complete(&outcome);
    assert_cloud_matches_state(fake.inventory(), store.as_ref());
}

// A stop sent before the run starts starts nothing.
#[tokio::test(start_paused = true)]
async fn a_stop_before_the_run_starts_nothing() {
    let graph = stop_graph();
    let store = memory_store();
    let fake = FakeProvider::default();
    let (stop, stopped) = watch::channel(false);
    stop.send_replace(true);
    let plan = plan(&graph, &store);
    let outcome = engine(&fake, &store, Arc::new(Silent), options(4)).apply(&plan, &graph, stopped).await.unwrap();
    assert_eq!(fake.total_calls(), 0);
    assert_eq!(outcome.not_started.len(), graph.len());
}

// 6. Destroy.
#[tokio::test(start_paused = true)]
async fn destroy_deletes_dependents_before_dependencies() {
    let graph = example_graph("eks-two-regions.toml");
    let store = memory_store();
    let fake = FakeProvider::new(FakeConfig::new().default_latency(Duration::from_secs(3)));
    assert_complete(&plan_and_apply(&fake, &store, &graph, options(16)).await);
    let before = store.snapshot().unwrap();

    let plan = plan_destroy(&store);
    assert_eq!(plan.summary().destroy, graph.len());
    let outcome =
        engine(&fake, &store, Arc::new(Silent), options(16)).apply(&plan, &graph, never_stop()).await.unwrap();
    assert_complete(&outcome);
    assert!(outcome.succeeded.iter().all(|(_, op, _)| *op == OpKind::Delete));
    assert!(fake.inventory().is_empty(), "left behind: {:#?}", fake.inventory().objects());
    assert!(store.snapshot().unwrap().is_empty());
    assert!(fake.max_concurrency() > 1, "independent deletes run in parallel");

    let deletes = calls_by_address(&fake, Method::Delete);
    assert_eq!(deletes.len(), before.len());
    let mut checked = 0;
    for record in before.iter() {
        let (_, ended, outcome) = deletes[&record.address][0];
        assert_eq!(outcome, CallOutcome::Succeeded);
        for dependency in &record.dependencies {
            let (dependency_started, _, _) = deletes[dependency][0];
            assert!(
                ended.expect("finished") <= dependency_started,
                "{dependency} was deleted while {} still referenced it",
                record.address
            );
            checked += 1;
        }
    }
    assert!(checked > 10, "the example has dependencies to check");
}

// 7. Recovery after a crash, before and after the crashing call's effect, at several points.
#[tokio::test(start_paused = true)]
async fn recovers_from_a_crash_at_any_point() {
    let graph = example_graph("eks-two-regions.toml");
    for mode in [CrashMode::BeforeEffect, CrashMode::AfterEffect] {
        for crash_after in [1, 7, 20, 45] {
            let case = format!("{mode:?} at mutating call {crash_after}");
            let store = memory_store();
            let config = FakeConfig::new().default_latency(Duration::from_secs(4)).crash_after_calls(crash_after, mode);
            let fake = FakeProvider::new(config);
            let plan = plan(&graph, &store);
            // The apply future is dropped when the crash fires, as if the process was killed.
            apply_until_crash(&fake, &store, &graph, &plan, 6).await;
            assert!(!store.unfinished_intents().unwrap().is_empty(), "{case}");

            let restarted = FakeProvider::with_inventory(FakeConfig::new(), fake.inventory().clone());
            let recovered = recover(&store, &restarted.registry(), DEPLOYMENT, Some(&graph)).await.unwrap();
            let adopted = recovered.iter().filter(|r| matches!(r, Recovered::Adopted(_))).count();
            let never = recovered.iter().filter(|r| matches!(r, Recovered::NeverCreated(_))).count();
            match mode {
                CrashMode::AfterEffect => assert!(adopted >= 1, "{case}: {recovered:?}"),
                CrashMode::BeforeEffect => assert!(never >= 1, "{case}: {recovered:?}"),
            }
            assert!(store.unfinished_intents().unwrap().is_empty(), "{case}");
            // What recovery settled is exactly what the cloud has.
            assert_cloud_matches_state(restarted.inventory(), store.as_ref());

            let outcome = plan_and_apply(&restarted, &store, &graph, options(6)).await;
            assert_complete(&outcome);
            assert_cloud_matches_state(restarted.inventory(), store.as_ref());
            assert_eq!(restarted.inventory().len(), graph.len(), "{case}");
            assert!(!common::plan(&graph, &store).has_changes(), "{case}");
        }
    }
}

// Recovery looks a lost object up where it was made: the find goes to the object's own scope.
#[tokio::test(start_paused = true)]
async fn recovery_looks_for_a_lost_create_in_its_own_scope() {
    let vpc = address("aws_vpc.eu-central");
    let graph = graph_of(vec![
        (vpc.clone(), attributes(&[("region", "eu-central-1".into()), ("cidr_block", "10.1.0.0/16".into())])),
        (
            address("aws_subnet.eu-central-1a"),
            attributes(&[("region", "eu-central-1".into()), ("vpc_id", Value::reference(&vpc, "id"))]),
        ),
    ]);
    for mode in [CrashMode::AfterEffect, CrashMode::BeforeEffect] {
        let store = memory_store();
        let fake =
            FakeProvider::new(FakeConfig::new().default_latency(Duration::from_secs(1)).crash_after_calls(2, mode));
        let plan = plan(&graph, &store);
        apply_until_crash(&fake, &store, &graph, &plan, 4).await;
        let restarted = FakeProvider::with_inventory(FakeConfig::new(), fake.inventory().clone());
        let recovered = recover(&store, &restarted.registry(), DEPLOYMENT, Some(&graph)).await.unwrap();
        let subnet = address("aws_subnet.eu-central-1a");
        let expected = match mode {
            CrashMode::AfterEffect => Recovered::Adopted(subnet.clone()),
            CrashMode::BeforeEffect => Recovered::NeverCreated(subnet.clone()),
        };
        assert_eq!(recovered, [expected]);
        let finds: Vec<Scope> =
            restarted.call_log().into_iter().filter(|c| c.method == Method::Find).map(|c| c.scope).collect();
        let eu_central = Scope { provider: Provider::Aws, account: String::new(), region: "eu-central-1".into() };
        assert_eq!(finds, [eu_central], "{mode:?}");
        if mode == CrashMode::AfterEffect {
            // The adopted record has the inputs the object was made with, references resolved.
            let record = store.get(&subnet).unwrap().unwrap();
            let vpc_id = store.get(&vpc).unwrap().unwrap().provider_id.unwrap();
            assert_eq!(record.inputs["vpc_id"], Value::from(vpc_id));
            assert_eq!(record.dependencies, std::slice::from_ref(&vpc));
        }
        assert_complete(&plan_and_apply(&restarted, &store, &graph, options(4)).await);
        assert_cloud_matches_state(restarted.inventory(), store.as_ref());
    }
}

// 9. Refresh: one read per (kind, scope), drift named per attribute, deletions noticed.
#[tokio::test(start_paused = true)]
async fn refresh_reads_once_per_kind_and_scope_and_reports_drift() {
    let graph = topology_graph(&mixed_topology(3, 2));
    let store = memory_store();
    let fake = FakeProvider::new(FakeConfig::new().default_latency(Duration::from_secs(1)));
    assert_complete(&plan_and_apply(&fake, &store, &graph, options(32)).await);
    let state = store.snapshot().unwrap();
    assert!(state.len() > 100, "a topology with many resources: {}", state.len());

    let reader = FakeProvider::with_inventory(FakeConfig::new(), fake.inventory().clone());
    let refreshed = refresh(&state, &reader.registry(), DEPLOYMENT).await.unwrap();
    let groups: BTreeSet<(Kind, Scope)> = state
        .iter()
        .map(|r| (r.kind(), reader.registry().for_kind(r.kind()).unwrap().scope(&r.address, &r.inputs)))
        .collect();
    let reads = reader.reads_per_kind_scope();
    assert!(reads.values().all(|&n| n == 1), "{reads:#?}");
    assert_eq!(reads.keys().cloned().collect::<BTreeSet<_>>(), groups);
    assert_eq!(refreshed.calls, groups.len());
    // Batching matters: one read covers many objects (routes of a region, objects of a cluster).
    let largest = groups
        .iter()
        .map(|(kind, scope)| {
            let registry = reader.registry();
            state
                .iter()
                .filter(|r| {
                    r.kind() == *kind && registry.for_kind(*kind).unwrap().scope(&r.address, &r.inputs) == *scope
                })
                .count()
        })
        .max()
        .unwrap_or(0);
    assert!(
        groups.len() < state.len() && largest >= 5,
        "{} groups for {} resources, largest {largest}",
        groups.len(),
        state.len()
    );
    assert!(refreshed.drift.is_empty(), "{:#?}", refreshed.drift);
    let mut records = refreshed.records.clone();
    records.sort_by(|a, b| a.address.cmp(&b.address));
    assert_eq!(records, state.iter().cloned().collect::<Vec<_>>(), "an unchanged cloud refreshes to the same records");

    // Out of band: one input changed, one object deleted.
    let changed = state.iter().find(|r| r.kind() == aws::EKS_NODE_GROUP).unwrap();
    let deleted = state.iter().find(|r| r.kind() == azure::VPN_CONNECTION).unwrap();
    let changed_id = changed.provider_id.as_deref().unwrap();
    assert!(fake.inventory().set_input(changed_id, "desired_size", Value::Int(99)).unwrap());
    assert!(fake.inventory().remove(deleted.provider_id.as_deref().unwrap()).unwrap().is_some());
    let reader = FakeProvider::with_inventory(FakeConfig::new(), fake.inventory().clone());
    let refreshed = refresh(&state, &reader.registry(), DEPLOYMENT).await.unwrap();
    assert_eq!(refreshed.calls, groups.len());
    let mut drift = refreshed.drift.clone();
    drift.sort_by(|a, b| a.address().cmp(b.address()));
    let recorded = changed.inputs.get("desired_size").cloned().unwrap_or_default();
    let mut expected = vec![
        Drift::Changed {
            address: changed.address.clone(),
            attribute: "desired_size".into(),
            recorded,
            actual: Value::Int(99),
        },
        Drift::Deleted { address: deleted.address.clone() },
    ];
    expected.sort_by(|a, b| a.address().cmp(b.address()));
    assert_eq!(drift, expected);
    assert_eq!(refreshed.records.len(), state.len() - 1);
    assert!(refreshed.records.iter().all(|r| r.address != deleted.address));
}

// Refreshing into the store writes reality back: gone objects leave state, changed ones are
// replaced, unchanged ones are not written (a refresh that finds nothing bumps no serial).
#[tokio::test(start_paused = true)]
async fn refresh_into_store_writes_reality_and_only_what_changed() {
    let graph = example_graph("eks-two-regions.toml");
    let store = memory_store();
    let fake = FakeProvider::new(FakeConfig::new().default_latency(Duration::from_secs(1)));
    assert_complete(&plan_and_apply(&fake, &store, &graph, options(16)).await);
    let before = store.snapshot().unwrap();

    let (after, refreshed) = refresh_into_store(store.as_ref(), &fake.registry(), DEPLOYMENT).await.unwrap();
    assert!(refreshed.drift.is_empty(), "{:#?}", refreshed.drift);
    assert_eq!(after, before, "nothing changed, nothing written");

    let changed = before.iter().find(|r| r.kind() == aws::EKS_NODE_GROUP).unwrap().clone();
    let deleted = before.iter().find(|r| r.kind() == aws::ROUTE).unwrap().clone();
    assert!(
        fake.inventory().set_input(changed.provider_id.as_deref().unwrap(), "desired_size", Value::Int(9)).unwrap()
    );
    assert!(fake.inventory().remove(deleted.provider_id.as_deref().unwrap()).unwrap().is_some());
    let (after, refreshed) = refresh_into_store(store.as_ref(), &fake.registry(), DEPLOYMENT).await.unwrap();
    assert_eq!(refreshed.drift.len(), 2, "{:#?}", refreshed.drift);
    assert_eq!(after, store.snapshot().unwrap(), "what is returned is what is stored");
    assert_eq!(after.serial, before.serial + 2, "one removal and one record replaced");
    assert!(after.get(&deleted.address).is_none());
    assert_eq!(after.get(&changed.address).unwrap().inputs["desired_size"], Value::Int(9));
    assert_eq!(after.len(), before.len() - 1);
    // Without a store, `reality` gives the same records.
    assert_eq!(refreshed.reality(&before).records, after.records);
    assert_cloud_matches_state(fake.inventory(), store.as_ref());
}

// Recovery and refresh ride out throttling and transient errors like apply does.
#[tokio::test(start_paused = true)]
async fn recovery_and_refresh_retry_transient_errors() {
    let graph = example_graph("eks-two-regions.toml");
    let store = memory_store();
    let fake = FakeProvider::new(
        FakeConfig::new().default_latency(Duration::from_secs(2)).crash_after_calls(30, CrashMode::AfterEffect),
    );
    let plan = plan(&graph, &store);
    apply_until_crash(&fake, &store, &graph, &plan, 8).await;
    let flaky = || FakeConfig::new().error_rate(0.2).throttle_rate(0.2).seed(3);
    let restarted = FakeProvider::with_inventory(flaky(), fake.inventory().clone());
    let recovered = recover(&store, &restarted.registry(), DEPLOYMENT, Some(&graph)).await.unwrap();
    assert!(!recovered.is_empty());
    assert_cloud_matches_state(restarted.inventory(), store.as_ref());
    assert_complete(&plan_and_apply(&restarted, &store, &graph, options(8)).await);

    let reader = FakeProvider::with_inventory(flaky(), fake.inventory().clone());
    let state = store.snapshot().unwrap();
    let refreshed = refresh(&state, &reader.registry(), DEPLOYMENT).await.unwrap();
    assert!(refreshed.drift.is_empty(), "{:#?}", refreshed.drift);
    assert_eq!(refreshed.records.len(), state.len());
    let failed_reads = reader.call_log().iter().filter(|c| matches!(c.outcome, CallOutcome::Failed(_))).count();
    assert!(failed_reads > 0, "faults were injected");
    assert_eq!(refreshed.calls, reader.total_calls(), "every attempt is a call");
}

// A replacement is a new object: its record's creation time is its own, while an in-place
// update keeps the original one.
#[tokio::test(start_paused = true)]
async fn replaced_records_get_a_new_creation_time_and_updated_ones_keep_theirs() {
    let vpc = |cidr: &str, dns: bool| {
        attributes(&[("region", "eu-west-1".into()), ("cidr_block", cidr.into()), ("enable_dns", dns.into())])
    };
    let (a, b) = (address("aws_vpc.a"), address("aws_vpc.b"));
    let store = memory_store();
    let fake = FakeProvider::default();
    let first = graph_of(vec![(a.clone(), vpc("10.0.0.0/16", false)), (b.clone(), vpc("10.1.0.0/16", false))]);
    assert_complete(&plan_and_apply(&fake, &store, &first, options(4)).await);
    let epoch = ringform_state::Timestamp::from_unix_seconds(0);
    for at in [&a, &b] {
        let mut record = store.get(at).unwrap().unwrap();
        record.created_at = epoch;
        store.put(&record).unwrap();
    }
    // a: cidr_block forces a replacement; b: enable_dns changes in place.
    let second = graph_of(vec![(a.clone(), vpc("10.2.0.0/16", false)), (b.clone(), vpc("10.1.0.0/16", true))]);
    let plan = plan(&second, &store);
    let actions: HashMap<String, ringform_plan::Action> =
        plan.changes.iter().map(|c| (c.address.to_string(), c.action)).collect();
    assert_eq!(actions["aws_vpc.a"], ringform_plan::Action::Replace);
    assert_eq!(actions["aws_vpc.b"], ringform_plan::Action::Update);
    assert_complete(
        &engine(&fake, &store, Arc::new(Silent), options(4)).apply(&plan, &second, never_stop()).await.unwrap(),
    );
    assert_cloud_matches_state(fake.inventory(), store.as_ref());
    assert_ne!(store.get(&a).unwrap().unwrap().created_at, epoch, "a replacement is a new object");
    assert_eq!(store.get(&b).unwrap().unwrap().created_at, epoch, "an update keeps the creation time");
}

// Taking a cluster out of the topology: whatever stays but stops referencing the cluster's
// objects (the K8ssandraCluster dropping that datacenter, the other clusters' routes and
// client configs) is updated before those objects are deleted, never while they go.
#[tokio::test(start_paused = true)]
async fn updates_that_let_go_of_an_object_finish_before_it_is_deleted() {
    let store = memory_store();
    let fake = FakeProvider::new(FakeConfig::new().default_latency(Duration::from_secs(10)));
    let three = topology_graph(&mixed_topology(2, 1));
    assert_complete(&plan_and_apply(&fake, &store, &three, options(64)).await);
    let before = store.snapshot().unwrap();

    let two = topology_graph(&mixed_topology(2, 0));
    let plan = plan(&two, &store);
    let summary = plan.summary();
    assert!(summary.change > 0 && summary.destroy > 0, "{summary:?}");
    let log_start = fake.total_calls();
    let outcome = engine(&fake, &store, Arc::new(Silent), options(64)).apply(&plan, &two, never_stop()).await.unwrap();
    assert_complete(&outcome);
    assert_cloud_matches_state(fake.inventory(), store.as_ref());
    assert!(!common::plan(&two, &store).has_changes());

    let log = &fake.call_log()[log_start..];
    let calls = |method: Method| -> HashMap<Address, (std::time::Instant, std::time::Instant)> {
        log.iter()
            .filter(|c| c.method == method && c.outcome == CallOutcome::Succeeded)
            .map(|c| (c.address.clone().unwrap(), (c.started, c.ended.unwrap())))
            .collect()
    };
    let (updates, deletes) = (calls(Method::Update), calls(Method::Delete));
    let mut checked = 0;
    for (updated, (_, update_ended)) in &updates {
        for dependency in &before.get(updated).unwrap().dependencies {
            if let Some((delete_started, _)) = deletes.get(dependency) {
                assert!(
                    update_ended <= delete_started,
                    "{dependency} was deleted while {updated} was still being changed to stop referencing it"
                );
                checked += 1;
            }
        }
    }
    assert!(
        updates.keys().any(|a| a.kind() == kubernetes::K8SSANDRA_CLUSTER) && checked > 0,
        "the datacenter is dropped from the K8ssandraCluster: {:?}",
        updates.keys().collect::<Vec<_>>()
    );
}

// What a schema declares secret is stored sealed even when the graph or the provider hands it
// over in the clear, and refresh compares values as the schema says (ARM ids without case, sets
// in any order): a cloud that reports them differently has not drifted.
#[tokio::test(start_paused = true)]
async fn secrets_are_sealed_in_state_and_drift_compares_as_the_schema_says() {
    let connection = address("azure_vpn_connection.a~b");
    let gateway_id = "/subscriptions/s/resourceGroups/RG/providers/Microsoft.Network/virtualNetworkGateways/a";
    let graph = graph_of(vec![(
        connection.clone(),
        attributes(&[
            ("subscription", "s".into()),
            ("gateway_id", gateway_id.into()),
            ("shared_key", "in-the-clear".into()),
        ]),
    )]);
    let store = memory_store();
    let fake = FakeProvider::new(FakeConfig::new());
    assert_complete(&plan_and_apply(&fake, &store, &graph, options(4)).await);
    let record = store.get(&connection).unwrap().unwrap();
    assert_eq!(record.inputs["shared_key"], Value::secret("in-the-clear".into()));

    let id = record.provider_id.as_deref().unwrap();
    assert!(fake.inventory().set_input(id, "gateway_id", gateway_id.to_lowercase().into()).unwrap());
    let state = store.snapshot().unwrap();
    let refreshed = refresh(&state, &fake.registry(), DEPLOYMENT).await.unwrap();
    assert_eq!(refreshed.drift, [], "an id in another case is the same id");
    assert!(fake.inventory().set_input(id, "gateway_id", "/subscriptions/s/other".into()).unwrap());
    let refreshed = refresh(&state, &fake.registry(), DEPLOYMENT).await.unwrap();
    assert!(matches!(&refreshed.drift[..], [Drift::Changed { attribute, .. }] if attribute == "gateway_id"));
}
