//! End-to-end tests of the `ringform` binary: exit codes, and snapshots of whole command output
//! for every example and for broken topologies.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{self, text};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs ringform with its state in a fresh directory, so nothing on the developer's machine
/// leaks into the output.
fn ringform(args: &[&str]) -> (Output, tempfile::TempDir) {
    let state = tempfile::tempdir().unwrap();
    let output = common::ringform(args, &state.path().join("state")).output().unwrap();
    (output, state)
}

fn examples() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "expected the five example topologies");
    files
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root()).unwrap().display().to_string()
}

#[test]
fn every_example_validates() {
    for example in examples() {
        let path = relative(&example);
        let (output, _state) = ringform(&["validate", &path]);
        assert_eq!(output.status.code(), Some(0), "{path}: {}", text(&output.stderr));
        let name = example.file_stem().unwrap().to_str().unwrap().to_owned();
        insta::assert_snapshot!(format!("validate-{name}"), text(&output.stdout));
    }
}

#[test]
fn every_example_plans_changes_with_detailed_exit_code_2() {
    for example in examples() {
        let path = relative(&example);
        let (output, _state) = ringform(&["plan", "--detailed-exitcode", &path]);
        assert_eq!(output.status.code(), Some(2), "{path}: {}", text(&output.stderr));
        let stdout = text(&output.stdout);
        assert!(stdout.contains("Plan: "), "{stdout}");
        let name = example.file_stem().unwrap().to_str().unwrap().to_owned();
        insta::assert_snapshot!(format!("plan-{name}"), stdout);
    }
}

#[test]
fn plan_without_detailed_exitcode_exits_0() {
    let (output, _state) = ringform(&["plan", "examples/minimal.toml"]);
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn terraform_single_dash_flags_work() {
    let (output, state) = ringform(&["plan", "-detailed-exitcode", "-json", "examples/minimal.toml"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["resource_changes"][0]["change"]["actions"][0], "create");
    drop(state);
}

#[test]
fn plan_json_and_plan_file_hide_nothing_they_should_not_show() {
    let (output, state) = ringform(&["plan", "--json", "examples/aks-vpn-mesh.toml"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let connections: Vec<&serde_json::Value> =
        json["resource_changes"].as_array().unwrap().iter().filter(|c| c["type"] == "azure_vpn_connection").collect();
    assert_eq!(connections.len(), 12, "4 clusters in a full mesh: one connection per direction per pair");
    for c in connections {
        assert_eq!(c["change"]["after_sensitive"]["shared_key"], true, "{c}");
        assert!(c["change"]["after"].get("shared_key").is_none());
    }
    let plan_file = state.path().join("plan.json");
    let (output, _state) = ringform(&["plan", "-out", plan_file.to_str().unwrap(), "examples/minimal.toml"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let plan = ringform_plan_file(&plan_file);
    assert_eq!(plan["plan"]["serial"], 0);
    assert_eq!(plan["plan"]["topology_hash"].as_str().unwrap().len(), 64);
}

fn ringform_plan_file(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn broken_topology_lists_every_problem_and_exits_1() {
    for command in ["validate", "plan"] {
        let (output, _state) = ringform(&[command, "tests/topologies/broken.toml"]);
        assert_eq!(output.status.code(), Some(1));
        assert_eq!(text(&output.stdout), "");
        insta::assert_snapshot!(format!("{command}-broken"), text(&output.stderr));
    }
}

/// Values the clouds would refuse (long composed names, reserved service ranges, regions that
/// do not exist) stop `validate`, `plan` and `apply` before any cloud call.
#[test]
fn values_the_clouds_refuse_are_refused_at_their_lines_and_exit_1() {
    let file = "tests/topologies/cloud-limits.toml";
    for args in [&["validate", file][..], &["plan", file], &["apply", "--auto-approve", file]] {
        let (output, _state) = ringform(args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert_eq!(text(&output.stdout), "", "{args:?}");
        insta::assert_snapshot!("cloud-limits", text(&output.stderr));
    }
}

#[test]
fn missing_file_is_a_clear_error() {
    let (output, _state) = ringform(&["validate", "examples/nope.toml"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    // The sentence, the operating system's reason under it once, then what to do.
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines[0], "error: cannot read topology file examples/nope.toml", "{stderr}");
    assert!(lines[1].starts_with("  Caused by: No such file or directory"), "{stderr}");
    assert!(lines[2].starts_with("hint: pass the path of a topology file"), "{stderr}");
    assert_eq!(lines.len(), 3, "{stderr}");
}

#[test]
fn target_limits_the_plan_to_the_target_and_its_dependencies() {
    let (output, _state) = ringform(&["plan", "--json", "--target", "aws_eks_cluster.main", "examples/minimal.toml"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let addresses: Vec<&str> =
        json["resource_changes"].as_array().unwrap().iter().map(|c| c["address"].as_str().unwrap()).collect();
    assert!(addresses.contains(&"aws_eks_cluster.main"));
    assert!(addresses.contains(&"aws_vpc.main"));
    assert!(!addresses.contains(&"aws_eks_node_group.main/m5.xlarge"), "{addresses:?}");
    let (output, _state) = ringform(&["plan", "--target", "aws_vpc.nope", "examples/minimal.toml"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("no such resource"));
}

#[test]
fn graph_renders_dot_and_mermaid() {
    let (output, _state) = ringform(&["graph", "examples/minimal.toml"]);
    let dot = text(&output.stdout);
    assert!(dot.starts_with("digraph ringform {"));
    assert!(dot.contains("\"aws_vpc.main\" -> \"aws_subnet.main/us-east-1a\";"), "{dot}");
    let (output, _state) = ringform(&["graph", "--format", "mermaid", "examples/minimal.toml"]);
    assert!(text(&output.stdout).starts_with("flowchart LR\n"));
}

#[test]
fn schema_is_the_checked_in_one() {
    let (output, _state) = ringform(&["schema"]);
    assert_eq!(output.status.code(), Some(0));
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let checked_in: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schema/topology.schema.json")).unwrap()).unwrap();
    assert_eq!(printed, checked_in);
}

/// A state directory holding one record with a secret input and an output.
fn state_with_a_secret(dir: &Path) {
    use ringform_core::Value;
    let store = ringform_state::SledStore::open(dir, "test").unwrap();
    let inputs =
        [("shared_key".to_owned(), Value::secret("hunter2-very-secret".into())), ("name".to_owned(), "c".into())];
    let outputs = [("id".to_owned(), Value::from("/subscriptions/x/connections/c"))];
    let record = ringform_state::Record::new(
        "azure_vpn_connection.eastus~westus".parse().unwrap(),
        Some("/subscriptions/x/connections/c".into()),
        inputs.into(),
        outputs.into(),
    );
    ringform_state::StateStore::put(&store, &record).unwrap();
}

#[test]
fn state_list_and_show_redact_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    state_with_a_secret(&state);
    let state_arg = state.to_str().unwrap();
    let (output, _) = ringform(&["state", "list", "examples/aks-vpn-mesh.toml", "--state", state_arg]);
    assert_eq!(text(&output.stdout), "azure_vpn_connection.eastus~westus\n", "{}", text(&output.stderr));
    let (output, _) = ringform(&[
        "state",
        "show",
        "examples/aks-vpn-mesh.toml",
        "azure_vpn_connection.eastus~westus",
        "--state",
        state_arg,
    ]);
    let shown = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("shared_key = (sensitive)"), "{shown}");
    assert!(shown.contains("provider_id    = \"/subscriptions/x/connections/c\""), "{shown}");
    // The plan against this state deletes nothing it shouldn't and shows no secret either.
    let (output, _) = ringform(&["plan", "examples/aks-vpn-mesh.toml", "--state", state_arg]);
    assert!(!text(&output.stdout).contains("hunter2"));
    let (output, _) = ringform(&["state", "show", "examples/aks-vpn-mesh.toml", "aws_vpc.nope", "--state", state_arg]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("aws_vpc.nope is not in state"));
}

#[test]
fn a_second_ringform_on_locked_state_fails_fast_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    state_with_a_secret(&state);
    let _held = ringform_state::SledStore::open(&state, "apply").unwrap();
    let started = std::time::Instant::now();
    let (output, _) = ringform(&["plan", "examples/aks-vpn-mesh.toml", "--state", state.to_str().unwrap()]);
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("is locked by `apply`"), "{stderr}");
    assert!(stderr.contains(&format!("pid {}", std::process::id())), "{stderr}");
}
