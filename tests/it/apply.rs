//! End-to-end runs of `ringform apply`, `drift`, `refresh` and `destroy` against the fake cloud
//! of ringform-testkit (the binary is built with the `test-provider` feature and pointed at a
//! file-backed inventory), including concurrent runs and SIGKILL at random instants.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use ringform_state::StateStore;
use ringform_testkit::Inventory;

use crate::common::{self, KillClock, text};

/// A deployment on the fake cloud: its state and inventory in a temporary directory. The state
/// tests share it.
pub(crate) struct Deployment {
    pub(crate) dir: tempfile::TempDir,
}

impl Deployment {
    pub(crate) fn new() -> Self {
        Deployment { dir: tempfile::tempdir().unwrap() }
    }

    pub(crate) fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub(crate) fn inventory(&self) -> PathBuf {
        self.dir.path().join("inventory.json")
    }

    pub(crate) fn command(&self, args: &[&str], latency_ms: u64) -> Command {
        let mut command = common::ringform(args, &self.state());
        command
            .env("RINGFORM_TEST_INVENTORY", self.inventory())
            .env("RINGFORM_TEST_LATENCY_MS", latency_ms.to_string());
        command
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.command(args, 0).output().unwrap()
    }

    pub(crate) fn spawn(&self, args: &[&str], latency_ms: u64) -> Child {
        self.command(args, latency_ms).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
    }

    /// (address, provider id) of every record in state.
    pub(crate) fn state_pairs(&self) -> Vec<(ringform_core::Address, String)> {
        let store = ringform_state::SledStore::open(self.state(), "test").unwrap();
        let snapshot = store.snapshot().unwrap();
        snapshot.iter().map(|r| (r.address.clone(), r.provider_id.clone().unwrap())).collect()
    }

    pub(crate) fn assert_inventory_equals_state(&self) {
        let inventory = Inventory::open(self.inventory()).unwrap();
        let comparison = inventory.compare(self.state_pairs());
        assert!(comparison.is_exact(), "{comparison}");
        let mut addresses: Vec<_> = inventory.objects().into_iter().map(|o| o.address).collect();
        let count = addresses.len();
        addresses.dedup();
        assert_eq!(addresses.len(), count, "an object was created twice");
    }
}

const EXAMPLE: &str = "examples/eks-two-regions.toml";

#[test]
fn apply_then_no_changes_then_drift_then_destroy() {
    let d = Deployment::new();
    let output = d.run(&["apply", "--auto-approve", EXAMPLE]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("Apply complete after"), "{stdout}");
    assert!(stdout.contains("Resources: 62 added, 0 changed, 0 destroyed."), "{stdout}");
    assert!(stdout.contains("Critical path: "), "{stdout}");
    d.assert_inventory_equals_state();

    // A context per EKS cluster, named after it, using the `aws eks get-token` exec plugin.
    let kubeconfig = d.dir.path().join("kube/config");
    let output = d.run(&["kubeconfig", "--kubeconfig", kubeconfig.to_str().unwrap(), EXAMPLE]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stdout).starts_with("Wrote contexts eu-west, eu-central to "), "{}", text(&output.stdout));
    let config = std::fs::read_to_string(&kubeconfig).unwrap();
    assert!(config.contains("current-context: eu-west"), "{config}");
    assert!(config.contains("- --cluster-name\n      - eks-two-regions-eu-central"), "{config}");
    assert!(config.contains("command: aws"), "{config}");

    let output = d.run(&["plan", "--detailed-exitcode", EXAMPLE]);
    assert_eq!(output.status.code(), Some(0), "the next plan is empty: {}", text(&output.stdout));
    let output = d.run(&["drift", EXAMPLE]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));

    // Out-of-band changes: a route deleted, a security-group rule's ports changed.
    let inventory = Inventory::open(d.inventory()).unwrap();
    let route = inventory.by_address(&"aws_route.eu-west~eu-central/network".parse().unwrap()).remove(0);
    inventory.remove(&route.provider_id).unwrap();
    let rule = inventory.by_address(&"aws_security_group_rule.eu-west~eu-central".parse().unwrap()).remove(0);
    inventory.set_input(&rule.provider_id, "ports", vec![9042i64].into()).unwrap();
    let output = d.run(&["drift", EXAMPLE]);
    assert_eq!(output.status.code(), Some(2));
    let report = text(&output.stdout);
    assert!(report.contains("aws_route.eu-west~eu-central/network: deleted"), "{report}");
    assert!(report.contains("aws_security_group_rule.eu-west~eu-central: ports = [7000, 7001, 7199, 9042, 8080] in state, [9042] in reality"), "{report}");
    let output = d.run(&["plan", "--detailed-exitcode", EXAMPLE]);
    assert_eq!(output.status.code(), Some(0), "plain plan trusts the state");
    let output = d.run(&["plan", "--refresh", "--detailed-exitcode", EXAMPLE]);
    assert_eq!(output.status.code(), Some(2), "plan --refresh sees reality");
    let plan = text(&output.stdout);
    assert!(plan.contains("+ aws_route.eu-west~eu-central/network"), "{plan}");
    assert!(plan.contains("-/+ aws_security_group_rule.eu-west~eu-central  (`ports` forces replacement)"), "{plan}");
    let output = d.run(&["drift", "--markdown", EXAMPLE]);
    assert!(text(&output.stdout).starts_with("## ringform drift: `eks-two-regions`"));
    let output = d.run(&["drift", "--json", EXAMPLE]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["drifted"], true);

    // Re-applying puts both back; then destroy leaves nothing.
    let output = d.run(&["apply", "--auto-approve", EXAMPLE]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(d.run(&["drift", EXAMPLE]).status.code(), Some(0));
    d.assert_inventory_equals_state();
    let output = d.run(&["destroy", "--auto-approve", "--allow-data-loss", EXAMPLE]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(Inventory::open(d.inventory()).unwrap().is_empty());
    assert!(d.state_pairs().is_empty());
}

/// Moving a cluster that hosts a datacenter to another region replaces it, and the data on its
/// nodes with it: the plan names the data at stake, apply refuses before changing anything (a
/// saved plan too, unless made with the flag), and `--allow-data-loss` lets it go ahead.
#[test]
fn a_plan_that_destroys_cassandra_data_is_refused_unless_allowed() {
    let d = Deployment::new();
    let output = d.run(&["apply", "--auto-approve", EXAMPLE]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let moved = d.dir.path().join("moved.toml");
    std::fs::write(&moved, std::fs::read_to_string(EXAMPLE).unwrap().replace("eu-central-1", "eu-north-1")).unwrap();
    let moved = moved.to_str().unwrap();

    let plan = text(&d.run(&["plan", moved]).stdout);
    let cluster = "-/+ aws_eks_cluster.eu-central  (`region`, `subnet_ids` force replacement)\n      \
                   ! destroys the data of datacenter dc-eu-central (3 nodes, 100Gi of gp3 each):\n        \
                   aws_eks_cluster.eu-central is replaced: its nodes and their volumes go first";
    assert!(plan.contains(cluster), "{plan}");
    assert!(plan.contains("\n        rack `r1` moves from `eu-central-1a` to `eu-north-1a`: its volumes stay in `eu-central-1a`\n        rack `r2` moves"), "{plan}");
    assert!(plan.contains("3 changes destroy Cassandra data (marked !)"), "{plan}");
    let json: serde_json::Value = serde_json::from_slice(&d.run(&["plan", "--json", moved]).stdout).unwrap();
    assert_eq!(json["summary"]["data_loss"], 3);
    let marked: Vec<&str> = json["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ringform_data_at_stake"][0]["datacenter"] == "dc-eu-central")
        .map(|c| c["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        marked,
        [
            "aws_eks_cluster.eu-central",
            "aws_eks_node_group.eu-central/m5.xlarge",
            "cassandra_datacenter.eu-central/dc-eu-central"
        ]
    );

    let inventory = std::fs::read(d.inventory()).unwrap();
    let state = d.state_pairs();
    let refused = d.run(&["apply", "--auto-approve", moved]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stdout));
    let error = text(&refused.stderr);
    assert!(error.contains("error: this plan destroys Cassandra data, so nothing was changed"), "{error}");
    assert!(
        error.contains("aws_eks_node_group.eu-central/m5.xlarge: datacenter dc-eu-central in eu-central"),
        "{error}"
    );
    assert!(error.contains("--allow-data-loss"), "{error}");
    let saved = d.dir.path().join("plan.json");
    let saved = saved.to_str().unwrap();
    assert_eq!(d.run(&["plan", "-o", saved, moved]).status.code(), Some(0));
    assert_eq!(d.run(&["apply", saved]).status.code(), Some(1));
    assert_eq!(std::fs::read(d.inventory()).unwrap(), inventory, "nothing in the cloud changed");
    assert_eq!(d.state_pairs(), state, "nothing in state changed");

    assert_eq!(d.run(&["plan", "--allow-data-loss", "-o", saved, moved]).status.code(), Some(0));
    let output = d.run(&["apply", saved]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(d.run(&["plan", "--detailed-exitcode", moved]).status.code(), Some(0));
    d.assert_inventory_equals_state();
}

#[test]
fn apply_asks_and_refuses_without_yes() {
    let d = Deployment::new();
    let output = d.run(&["apply", EXAMPLE]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("cancelled: nothing was changed"));
    assert!(Inventory::open(d.inventory()).unwrap().is_empty());
}

#[test]
fn a_saved_plan_is_refused_once_the_state_moved() {
    let d = Deployment::new();
    let plan = d.dir.path().join("plan.json");
    let plan = plan.to_str().unwrap();
    assert_eq!(d.run(&["plan", "-out", plan, "examples/minimal.toml"]).status.code(), Some(0));
    let output = d.run(&["apply", plan]);
    assert_eq!(output.status.code(), Some(0), "a fresh plan applies as saved: {}", text(&output.stderr));
    // Apply it again: the state has moved on.
    let output = d.run(&["apply", plan]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("error: the saved plan was made against state "), "{stderr}");
    assert!(stderr.contains("but the state is now"), "{stderr}");
    assert!(stderr.contains("hint: make a new plan with `ringform plan -out "), "{stderr}");
}

#[test]
fn a_second_apply_fails_fast_naming_the_first() {
    let d = Deployment::new();
    let mut first = d.spawn(&["apply", "--auto-approve", EXAMPLE], 300);
    let lock = d.state().join("lock.json");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !lock.exists() {
        assert!(Instant::now() < deadline, "the first apply never took the lock");
        std::thread::sleep(Duration::from_millis(10));
    }
    let started = Instant::now();
    let output = d.run(&["apply", "--auto-approve", EXAMPLE]);
    let took = started.elapsed();
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("is locked by `apply`"), "{stderr}");
    assert!(stderr.contains(&format!("pid {}", first.id())), "{stderr}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(first.wait().unwrap().success());
    d.assert_inventory_equals_state();
}

/// SIGKILL `ringform apply` (and `destroy`) at random instants and run again, until 20 runs
/// have died mid-way; nothing is ever duplicated, and the last apply converges. A killed run's
/// lock ends with it: no `state unlock` is needed.
#[test]
fn killed_at_random_instants_every_rerun_converges() {
    let d = Deployment::new();
    let mut clock = KillClock::from_env();
    let mut kills = 0;
    // Alternate between building and tearing down, so every run has work to be killed in.
    let mut verb = "apply";
    for _ in 0..80 {
        if kills == 20 {
            break;
        }
        let mut child = d.spawn(&[verb, "--auto-approve", "--allow-data-loss", "examples/aks-vpn-mesh.toml"], 20);
        std::thread::sleep(clock.instant_within(Duration::from_millis(300)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        }
        if child.wait().unwrap().success() {
            verb = if verb == "apply" { "destroy" } else { "apply" };
        }
        let mut addresses: Vec<_> =
            Inventory::open(d.inventory()).unwrap().objects().into_iter().map(|o| o.address).collect();
        let count = addresses.len();
        addresses.dedup();
        assert_eq!(addresses.len(), count, "an object was created twice ({})", clock.seed());
    }
    assert!(kills >= 20, "only {kills} runs were killed mid-way ({})", clock.seed());
    let output = d.run(&["apply", "--auto-approve", "examples/aks-vpn-mesh.toml"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    d.assert_inventory_equals_state();
    let output = d.run(&["plan", "--detailed-exitcode", "examples/aks-vpn-mesh.toml"]);
    assert_eq!(output.status.code(), Some(0), "converged: {}", text(&output.stdout));
}

#[test]
fn ctrl_c_drains_in_flight_work_and_a_rerun_finishes() {
    let d = Deployment::new();
    let child = d.spawn(&["apply", "--auto-approve", "examples/aks-vpn-mesh.toml"], 100);
    // Wait until operations are under way: the first object exists (and so the handler is set).
    let deadline = Instant::now() + Duration::from_secs(30);
    while !d.inventory().exists() || Inventory::open(d.inventory()).unwrap().is_empty() {
        assert!(Instant::now() < deadline, "apply never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    let interrupted = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(interrupted.success());
    let output = child.wait_with_output().unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Stopping: no new operations will start"), "{stderr}");
    assert!(!d.state().join("lock.json").exists(), "the lock is released");
    // What finished is in state and in the cloud; a rerun completes the rest.
    d.assert_inventory_equals_state();
    let output = d.run(&["apply", "--auto-approve", "examples/aks-vpn-mesh.toml"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    d.assert_inventory_equals_state();
}
