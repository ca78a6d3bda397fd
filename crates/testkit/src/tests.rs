use ringform_schema::aws;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use ringform_core::provider::{
    CreateRequest, DeleteRequest, ErrorClass, FindRequest, ProviderError, ReadRequest, ResourceProvider, Scope,
    Tracked, UpdateRequest,
};
use ringform_core::{Address, Attributes, Provider, Value};

use crate::{CrashAction, CrashMode, FakeConfig, FakeObject, FakeProvider, Inventory, Method, Outcome};

fn address(text: &str) -> Address {
    text.parse().unwrap()
}

fn inputs(pairs: &[(&str, Value)]) -> Attributes {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

fn vpc_inputs(region: &str) -> Attributes {
    inputs(&[("region", region.into()), ("cidr_block", "10.0.0.0/16".into())])
}

fn create(at: &str, inputs: Attributes) -> CreateRequest {
    CreateRequest { deployment: "test".into(), address: address(at), inputs }
}

fn delete(object: &FakeObject) -> DeleteRequest {
    DeleteRequest {
        deployment: "test".into(),
        address: object.address.clone(),
        provider_id: object.provider_id.clone(),
        inputs: object.inputs.clone(),
        outputs: object.outputs.clone(),
    }
}

fn scope(provider: Provider, account: &str, region: &str) -> Scope {
    Scope { provider, account: account.into(), region: region.into() }
}

#[tokio::test]
async fn create_update_delete_round_trip() {
    let fake = FakeProvider::default();
    let applied = fake.create(create("aws_vpc.eu-west", vpc_inputs("eu-west-1"))).await.unwrap();
    assert!(applied.provider_id.starts_with("aws_vpc-"));
    assert_eq!(applied.outputs["id"], Value::from(applied.provider_id.as_str()));
    assert!(!applied.outputs.contains_key("cidr_block"), "like a real API, not every input comes back");

    let object = fake.inventory().get(&applied.provider_id).unwrap();
    assert_eq!(object.deployment(), Some("test"));
    assert_eq!(object.tag(ringform_core::provider::ADDRESS_TAG), Some("aws_vpc.eu-west"));

    let mut after = vpc_inputs("eu-west-1");
    after.insert("enable_dns".into(), true.into());
    let update = UpdateRequest {
        deployment: "test".into(),
        address: address("aws_vpc.eu-west"),
        provider_id: applied.provider_id.clone(),
        before: vpc_inputs("eu-west-1"),
        after: after.clone(),
        outputs: applied.outputs.clone(),
    };
    let updated = fake.update(update.clone()).await.unwrap();
    assert_eq!(updated.provider_id, applied.provider_id);
    assert_eq!(updated.outputs["id"], Value::from(applied.provider_id.as_str()));
    assert_eq!(fake.inventory().get(&applied.provider_id).unwrap().inputs, after);

    let object = fake.inventory().get(&applied.provider_id).unwrap();
    fake.delete(delete(&object)).await.unwrap();
    assert!(fake.inventory().is_empty());
    fake.delete(delete(&object)).await.expect("deleting a missing object succeeds");

    let error = fake.update(update).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Fatal);
    assert!(error.message.contains("not found"), "{error}");
}

#[tokio::test]
async fn unresolved_inputs_are_rejected_before_any_effect() {
    let fake = FakeProvider::default();
    let bad = inputs(&[("vpc_id", Value::reference(&address("aws_vpc.a"), "id"))]);
    let error = fake.create(create("aws_subnet.a", bad)).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Fatal);
    assert!(fake.inventory().is_empty());
}

#[tokio::test]
async fn latency_is_per_kind_and_calls_run_in_parallel() {
    let latency = Duration::from_millis(100);
    let fake = FakeProvider::new(FakeConfig::new().latency(aws::VPC, latency));
    let started = Instant::now();
    let calls = (0..5).map(|i| fake.create(create(&format!("aws_vpc.v{i}"), vpc_inputs("eu-west-1"))));
    for result in futures_join_all(calls).await {
        result.unwrap();
    }
    let elapsed = started.elapsed();
    assert!(elapsed >= latency, "{elapsed:?}");
    assert!(elapsed < latency * 4, "five calls should overlap: {elapsed:?}");
    assert_eq!(fake.max_concurrency(), 5);
    assert_eq!(fake.in_flight(), 0);
    for call in fake.call_log() {
        assert_eq!(call.outcome, Outcome::Succeeded);
        assert!(call.ended.unwrap() - call.started >= latency);
    }

    // Other kinds use the default latency (zero here).
    let started = Instant::now();
    fake.create(create("aws_subnet.s", vpc_inputs("eu-west-1"))).await.unwrap();
    assert!(started.elapsed() < latency);
}

/// Runs futures concurrently on the current task (no extra crate for `join_all`).
async fn futures_join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, slot) in pinned.iter_mut().zip(results.iter_mut()) {
            if slot.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(output) => *slot = Some(output),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    results.into_iter().map(Option::unwrap).collect()
}

#[tokio::test]
async fn the_effect_happens_halfway_through_the_latency() {
    // Wide margins: the test machine may be busy.
    let fake = FakeProvider::new(FakeConfig::new().default_latency(Duration::from_millis(1000)));
    let call = tokio::spawn({
        let fake = fake.clone();
        async move { fake.create(create("aws_vpc.a", vpc_inputs("eu-west-1"))).await }
    });
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(fake.inventory().is_empty(), "no effect in the first half");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fake.inventory().len(), 1, "effect by the halfway point");
    assert_eq!(fake.in_flight(), 1, "while the caller has not heard back yet");
    call.await.unwrap().unwrap();
    assert_eq!(fake.in_flight(), 0);
}

#[tokio::test]
async fn error_and_throttle_rates_are_roughly_honoured_and_have_no_effect() {
    let retry_after = Some(Duration::from_millis(7));
    let fake =
        FakeProvider::new(FakeConfig::new().error_rate(0.3).throttle_rate(0.2).retry_after(retry_after).seed(42));
    let (mut retryable, mut throttled) = (0, 0);
    for i in 0..1000 {
        match fake.create(create(&format!("aws_vpc.v{i}"), vpc_inputs("eu-west-1"))).await {
            Ok(_) => {}
            Err(ProviderError { class: ErrorClass::Retryable, .. }) => retryable += 1,
            Err(ProviderError { class: ErrorClass::Throttled { retry_after: after }, .. }) => {
                assert_eq!(after, retry_after);
                throttled += 1;
            }
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    // Throttled first with 0.2, then Retryable with 0.3 of the rest: 200 and 240 expected.
    assert!((150..250).contains(&throttled), "{throttled}");
    assert!((190..290).contains(&retryable), "{retryable}");
    assert_eq!(fake.inventory().len(), 1000 - retryable - throttled, "failed calls have no effect");
    assert_eq!(fake.total_calls(), 1000);

    let always = FakeProvider::new(FakeConfig::new().error_rate(1.0));
    assert!(always.create(create("aws_vpc.a", vpc_inputs("eu-west-1"))).await.is_err());
    assert!(always.inventory().is_empty());
}

#[tokio::test]
async fn fatal_addresses_fail_fatally() {
    let fake = FakeProvider::new(FakeConfig::new().fatal_address(address("aws_vpc.bad")));
    let error = fake.create(create("aws_vpc.bad", vpc_inputs("eu-west-1"))).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Fatal);
    assert!(fake.inventory().is_empty());
    fake.create(create("aws_vpc.good", vpc_inputs("eu-west-1"))).await.unwrap();
    assert_eq!(fake.call_log()[0].outcome, Outcome::Failed(ErrorClass::Fatal));
}

/// Creates `names` one after the other, like an engine walking a chain of dependencies.
async fn create_chain(fake: &FakeProvider, names: &[&str]) {
    for name in names {
        fake.create(create(&format!("aws_vpc.{name}"), vpc_inputs("eu-west-1"))).await.unwrap();
    }
}

#[tokio::test]
async fn a_hang_crash_signals_and_freezes_the_cloud() {
    for (mode, expected) in [(CrashMode::AfterEffect, 2), (CrashMode::BeforeEffect, 1)] {
        let config = FakeConfig::new().default_latency(Duration::from_millis(20)).crash_after_calls(2, mode);
        let fake = FakeProvider::new(config);
        let engine = create_chain(&fake, &["a", "b", "c"]);
        tokio::select! {
            () = engine => panic!("the engine must not finish: the crash hangs it"),
            () = fake.crashed() => {}
        }
        // The engine future is dropped here, as SIGKILL would.
        assert!(fake.has_crashed());
        assert_eq!(fake.inventory().len(), expected, "{mode:?}");
        let log = fake.call_log();
        assert_eq!(log.len(), 2);
        assert_eq!(log[1].outcome, Outcome::Dropped);
        assert_eq!(fake.in_flight(), 0);

        // A crashed cloud answers nobody, like a dead process.
        let late = fake.create(create("aws_vpc.late", vpc_inputs("eu-west-1")));
        assert!(tokio::time::timeout(Duration::from_millis(50), late).await.is_err());

        // Recovery runs against a fresh fake over the same inventory.
        let recovered = FakeProvider::with_inventory(FakeConfig::new(), fake.inventory().clone());
        create_chain(&recovered, &["c"]).await;
        assert_eq!(recovered.inventory().len(), expected + 1);
    }
}

#[tokio::test]
async fn a_crash_stops_calls_that_were_in_flight_too() {
    let config = FakeConfig::new()
        .latency(aws::VPC, Duration::from_millis(10))
        .latency(aws::EKS_CLUSTER, Duration::from_millis(600))
        .crash_after_calls(1, CrashMode::BeforeEffect);
    let fake = FakeProvider::new(config);
    // A task nobody drops: only the fake's freeze can keep its effect (due at 300 ms) from happening.
    let slow = tokio::spawn({
        let fake = fake.clone();
        async move { fake.create(create("aws_eks_cluster.slow", inputs(&[("region", "eu-west-1".into())]))).await }
    });
    tokio::select! {
        () = create_chain(&fake, &["fast"]) => panic!("the engine must hang"),
        () = fake.crashed() => {}
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(fake.inventory().is_empty());
    assert!(!slow.is_finished());
    slow.abort();
}

#[test]
fn file_backed_inventory_reflects_the_fake_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cloud.json");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let first = runtime.block_on(async {
        let fake = FakeProvider::with_inventory(FakeConfig::new(), Inventory::open(&path).unwrap());
        fake.create(create("aws_vpc.a", vpc_inputs("eu-west-1"))).await.unwrap()
    });
    let second = runtime.block_on(async {
        let fake = FakeProvider::with_inventory(FakeConfig::new(), Inventory::open(&path).unwrap());
        assert_eq!(fake.inventory().get(&first.provider_id).unwrap().outputs, first.outputs);
        fake.create(create("aws_vpc.a", vpc_inputs("eu-west-1"))).await.unwrap()
    });
    assert_ne!(first.provider_id, second.provider_id);
    assert_eq!(Inventory::open(&path).unwrap().by_address(&address("aws_vpc.a")).len(), 2);
}

#[tokio::test]
async fn find_looks_up_by_ownership_tags() {
    let fake = FakeProvider::default();
    let applied = fake.create(create("aws_vpc.a", vpc_inputs("eu-west-1"))).await.unwrap();
    let find = |deployment: &str, at: &str| FindRequest {
        deployment: deployment.into(),
        address: address(at),
        inputs: vpc_inputs("eu-west-1"),
    };
    let found = fake.find(find("test", "aws_vpc.a")).await.unwrap().unwrap();
    assert_eq!(found.provider_id, applied.provider_id);
    assert_eq!(found.outputs, applied.outputs);
    assert!(fake.find(find("other", "aws_vpc.a")).await.unwrap().is_none());
    assert!(fake.find(find("test", "aws_vpc.b")).await.unwrap().is_none());

    // A duplicate (what a crash-unsafe engine leaves behind) is an error, not a silent pick.
    fake.create(create("aws_vpc.a", vpc_inputs("eu-west-1"))).await.unwrap();
    assert_eq!(fake.find(find("test", "aws_vpc.a")).await.unwrap_err().class, ErrorClass::Fatal);
    assert_eq!(fake.calls_of(Method::Find, aws::VPC), 4);
}

#[tokio::test]
async fn reads_are_batched_per_kind_and_scope_and_see_drift() {
    let fake = FakeProvider::default();
    let mut tracked: HashMap<&str, Vec<Tracked>> = HashMap::new();
    for (name, region) in [("a", "eu-west-1"), ("b", "eu-west-1"), ("c", "eu-central-1")] {
        let at = format!("aws_vpc.{name}");
        let applied = fake.create(create(&at, vpc_inputs(region))).await.unwrap();
        let inputs = vpc_inputs(region);
        let object =
            Tracked { address: address(&at), provider_id: applied.provider_id, inputs, outputs: applied.outputs };
        tracked.entry(region).or_default().push(object);
    }
    let west = tracked["eu-west-1"].clone();
    fake.inventory().set_input(&west[0].provider_id, "cidr_block", "10.9.0.0/16".into()).unwrap();
    fake.inventory().remove(&west[1].provider_id).unwrap();

    let read = |region: &str, resources: Vec<Tracked>| ReadRequest {
        deployment: "test".into(),
        kind: aws::VPC,
        scope: scope(Provider::Aws, "", region),
        resources,
    };
    let response = fake.read(read("eu-west-1", west.clone())).await.unwrap();
    assert_eq!(response.found.len(), 1, "the object removed out of band is gone");
    assert_eq!(response.found[0].inputs["cidr_block"], Value::from("10.9.0.0/16"), "drift is visible");
    let central = fake.read(read("eu-central-1", tracked["eu-central-1"].clone())).await.unwrap();
    assert_eq!(central.found.len(), 1);
    // A listing in one region does not see another region's objects.
    assert!(fake.read(read("eu-central-1", west)).await.unwrap().found.is_empty());

    let reads = fake.reads_per_kind_scope();
    assert_eq!(reads[&(aws::VPC, scope(Provider::Aws, "", "eu-west-1"))], 1);
    assert_eq!(reads[&(aws::VPC, scope(Provider::Aws, "", "eu-central-1"))], 2);
    assert_eq!(fake.calls()[&(Method::Create, aws::VPC, scope(Provider::Aws, "", "eu-west-1"))], 2);
}

#[test]
fn scope_and_registry_cover_every_kind() {
    let fake = FakeProvider::default();
    let aws = inputs(&[("region", "eu-west-1".into())]);
    assert_eq!(fake.scope(&address("aws_vpc.v"), &aws), scope(Provider::Aws, "", "eu-west-1"));
    let azure = inputs(&[("subscription", "sub-1".into()), ("location", "westeurope".into())]);
    assert_eq!(fake.scope(&address("azure_virtual_network.v"), &azure), scope(Provider::Azure, "sub-1", ""));
    assert_eq!(fake.scope(&address("generated_secret.k"), &Attributes::new()), scope(Provider::Local, "", ""));
    let registry = fake.registry();
    for schema in ringform_schema::all().kinds() {
        assert!(registry.for_kind(schema.kind).is_ok(), "{}", schema.kind);
    }
}

const ABORT_CHILD_ENV: &str = "RINGFORM_TESTKIT_ABORT_INVENTORY";

/// Runs itself again as a child process whose fake cloud aborts the process (SIGABRT) right
/// after its second create: the file must then hold exactly the two objects made.
#[test]
fn abort_leaves_a_file_with_exactly_what_was_done() {
    if let Some(path) = std::env::var_os(ABORT_CHILD_ENV) {
        let config = FakeConfig::new().crash_after_calls(2, CrashMode::AfterEffect).crash_action(CrashAction::Abort);
        let fake = FakeProvider::with_inventory(config, Inventory::open(path).unwrap());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(create_chain(&fake, &["a", "b", "c"]));
        unreachable!("the second create aborts the process");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cloud.json");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "tests::abort_leaves_a_file_with_exactly_what_was_done", "--nocapture", "--test-threads=1"])
        .env(ABORT_CHILD_ENV, &path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success());
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(6), "SIGABRT, got {status:?}");
    }
    let inventory = Inventory::open(&path).unwrap();
    let names: Vec<String> = inventory.objects().iter().map(|o| o.address.to_string()).collect();
    assert_eq!(names, ["aws_vpc.a", "aws_vpc.b"]);
}

/// Every reference in every example topology's graph names an output the fake produces for
/// the referenced kind, so engine tests never stall on an output the fake forgot.
#[tokio::test]
async fn the_fake_produces_every_output_the_example_graphs_reference() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        let topology = ringform_topology::parse(&source).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        let graph =
            ringform_graph::ResourceGraph::build(&topology).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        let fake = FakeProvider::default();
        let mut outputs: HashMap<Address, Attributes> = HashMap::new();
        for resource in graph.resources() {
            let mut references = Vec::new();
            for value in resource.attributes.values() {
                value.visit_references(&mut |r| references.push(r.clone()));
            }
            for reference in references {
                if !outputs.contains_key(&reference.address) {
                    let target = graph.get(&reference.address).expect("the graph has no dangling references");
                    let dummy = |r: &ringform_core::Reference| Some(Value::from(format!("dummy-{}", r.output)));
                    let inputs = target.attributes.iter().map(|(k, v)| (k.clone(), v.resolve(&dummy))).collect();
                    let request =
                        CreateRequest { deployment: "examples".into(), address: target.address.clone(), inputs };
                    let applied = fake.create(request).await.unwrap();
                    outputs.insert(reference.address.clone(), applied.outputs);
                }
                assert!(
                    outputs[&reference.address].contains_key(&reference.output),
                    "{}: {} references {reference}, which the fake does not produce for {}",
                    path.display(),
                    resource.address,
                    reference.address.kind()
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 0, "no references found in {}", examples.display());
}
