//! End-to-end: the `ringform` binary, with its real Azure provider, against the fake ARM server
//! of ringform-testkit (which validates every PUT body against Microsoft's schemas). Applies the
//! AKS VPN-mesh example, checks what ARM holds, re-plans, scales, detects drift, keeps secrets
//! out of every output, and destroys.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use ringform_core::Value;
use ringform_state::StateStore;
use ringform_testkit::arm::FakeArm;
use serde_json::Value as Json;

use crate::common::{self, text};

const EXAMPLE: &str = "examples/aks-vpn-mesh.toml";
const SUBSCRIPTION: &str = "5f0e3c1a-0000-4000-8000-00000000c0de";

struct Run {
    dir: tempfile::TempDir,
    arm: FakeArm,
    /// Everything ringform printed, to search for secrets at the end.
    printed: String,
}

impl Run {
    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn ringform(&mut self, args: &[&str]) -> Output {
        let output = common::ringform(args, &self.state())
            .env("RINGFORM_ARM_ENDPOINT", self.arm.endpoint())
            .env("RINGFORM_ARM_TOKEN", self.arm.token())
            .env("RINGFORM_ARM_POLL_MS", "5")
            .env("AZURE_SUBSCRIPTION_ID", SUBSCRIPTION)
            .env_remove("RINGFORM_TEST_INVENTORY")
            .output()
            .unwrap();
        self.printed.push_str(&text(&output.stdout));
        self.printed.push_str(&text(&output.stderr));
        output
    }

    fn resources_of(&self, r#type: &str) -> Vec<Json> {
        self.arm.resources().into_iter().filter(|r| r.r#type.eq_ignore_ascii_case(r#type)).map(|r| r.body).collect()
    }

    /// Every secret value state holds: shared keys, the superuser password, kubeconfigs.
    fn secrets_in_state(&self) -> Vec<String> {
        let store = ringform_state::SledStore::open(self.state(), "test").unwrap();
        let mut secrets = Vec::new();
        for record in store.snapshot().unwrap().iter() {
            for value in record.inputs.values().chain(record.outputs.values()) {
                collect_secrets(value, &mut secrets);
            }
        }
        secrets
    }
}

fn collect_secrets(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Secret(inner) => {
            if let Some(text) = inner.as_str() {
                into.push(text.to_owned());
            }
        }
        Value::List(items) => items.iter().for_each(|v| collect_secrets(v, into)),
        Value::Map(map) => map.values().for_each(|v| collect_secrets(v, into)),
        _ => {}
    }
}

fn ok(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(0), "{}\n{}", text(&output.stdout), text(&output.stderr));
    text(&output.stdout)
}

fn id_of(body: &Json, pointer: &str) -> String {
    body.pointer(pointer).and_then(Json::as_str).unwrap_or_default().to_ascii_lowercase()
}

/// The example with one cluster's node count changed.
fn scaled_example(dir: &Path) -> PathBuf {
    let source = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(EXAMPLE)).unwrap();
    let scaled = source.replace("node_pool = { count = 1,", "node_pool = { count = 2,");
    assert_ne!(scaled, source);
    let path = dir.join("aks-vpn-mesh.toml");
    std::fs::write(&path, scaled.replace("#:schema ../schema/topology.schema.json\n", "")).unwrap();
    path
}

#[test]
fn aks_vpn_mesh_applies_replans_scales_drifts_and_destroys_against_the_fake_arm() {
    let arm = FakeArm::start_for_test();
    arm.set_poll_rounds(2);
    let mut run = Run { dir: tempfile::tempdir().unwrap(), arm, printed: String::new() };
    let target = ["--target", "azure_*"];

    let stdout = ok(&run.ringform(&[&["apply", "--auto-approve"][..], &target, &[EXAMPLE]].concat()));
    assert!(stdout.contains("Apply complete after"), "{stdout}");

    // Every PUT body was schema-valid (the fake answers 400 to one that is not).
    let rejected: Vec<String> =
        run.arm.puts().iter().filter(|r| r.status >= 400).map(|r| format!("{} → {}", r.path, r.status)).collect();
    assert!(rejected.is_empty(), "{rejected:#?}");

    // 4 gateways, 4 AKS clusters, 12 connections: one per direction per pair, with one key per pair.
    assert_eq!(run.resources_of("Microsoft.Network/virtualNetworkGateways").len(), 4);
    assert_eq!(run.resources_of("Microsoft.ContainerService/managedClusters").len(), 4);
    let connections = run.resources_of("Microsoft.Network/connections");
    assert_eq!(connections.len(), 12);
    let mut keys: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for connection in &connections {
        let (a, b) = (
            id_of(connection, "/properties/virtualNetworkGateway1/id"),
            id_of(connection, "/properties/virtualNetworkGateway2/id"),
        );
        assert_eq!(connection.pointer("/properties/connectionType").and_then(Json::as_str), Some("Vnet2Vnet"));
        let key = connection.pointer("/properties/sharedKey").and_then(Json::as_str).unwrap_or_default();
        keys.entry(if a < b { (a, b) } else { (b, a) }).or_default().push(key.to_owned());
    }
    assert_eq!(keys.len(), 6, "every pair of gateways is connected");
    for (pair, pair_keys) in &keys {
        assert_eq!(pair_keys.len(), 2, "{pair:?}: one connection per direction");
        assert!(pair_keys[0].len() >= 32 && pair_keys[0] == pair_keys[1], "{pair:?}: both directions share a key");
    }
    let distinct: std::collections::BTreeSet<&String> = keys.values().map(|k| &k[0]).collect();
    assert_eq!(distinct.len(), 6, "each pair has its own key");

    // Nothing left to do.
    let output = run.ringform(&[&["plan", "--detailed-exitcode"][..], &target, &[EXAMPLE]].concat());
    assert_eq!(output.status.code(), Some(0), "the next plan is empty:\n{}", text(&output.stdout));

    // One node-count change is one in-place update.
    let scaled = scaled_example(run.dir.path());
    let scaled = scaled.to_str().unwrap();
    let output = run.ringform(&[&["plan", "--detailed-exitcode"][..], &target, &[scaled]].concat());
    assert_eq!(output.status.code(), Some(2));
    let plan = text(&output.stdout);
    assert!(plan.contains("~ azure_aks_cluster.canadacentral"), "{plan}");
    assert!(plan.contains("Plan: 0 to add, 1 to change, 0 to destroy."), "{plan}");

    // An out-of-band change is drift, named by object and attribute.
    assert_eq!(run.ringform(&["drift", "--target", "azure_*", EXAMPLE]).status.code(), Some(0));
    let aks = run
        .arm
        .resources()
        .into_iter()
        .find(|r| r.id.to_ascii_lowercase().ends_with("managedclusters/aks-vpn-mesh-eastus"));
    let aks = aks.expect("the eastus AKS cluster exists");
    assert!(run.arm.modify(&aks.id, |body| body["properties"]["agentPoolProfiles"][0]["count"] = 5.into()));
    let output = run.ringform(&["drift", "--target", "azure_*", EXAMPLE]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stdout));
    let report = text(&output.stdout);
    assert!(report.contains("azure_aks_cluster.eastus: node_count = 3 in state, 5 in reality"), "{report}");

    // Secrets never show: not in plans, progress, drift reports or `state show`.
    for address in
        ["azure_vpn_connection.eastus~westus", "azure_aks_cluster.eastus", "generated_secret.vpn/eastus~westus"]
    {
        ok(&run.ringform(&["state", "show", EXAMPLE, address]));
    }
    ok(&run.ringform(&["plan", "--json", EXAMPLE]));
    let secrets = run.secrets_in_state();
    assert!(secrets.len() >= 6 + 4, "the keys and the kubeconfigs are secrets in state: {}", secrets.len());
    for secret in &secrets {
        // A kubeconfig is searched for by its credentials, the part that matters.
        for needle in secret.lines().filter(|l| l.contains("token") || l.contains("data")).chain([secret.as_str()]) {
            assert!(!run.printed.contains(needle.trim()), "a secret was printed: {}…", &needle[..needle.len().min(8)]);
        }
    }

    // Destroy leaves nothing.
    ok(&run.ringform(&["destroy", "--auto-approve", EXAMPLE]));
    let left: Vec<String> = run.arm.resources().into_iter().map(|r| r.id).collect();
    assert!(left.is_empty(), "{left:#?}");
}
