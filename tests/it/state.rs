//! End-to-end runs of local state's safety nets against the fake cloud: a killed run leaves no
//! lock in the way, damaged state is reported and restored, `state mv` / `rm` / `pull`, and
//! secrets encrypted at rest with a key from the environment.

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use ringform_testkit::Inventory;

use crate::apply::Deployment;
use crate::common::text;

const MINIMAL: &str = "examples/minimal.toml";
const TWO_REGIONS: &str = "examples/eks-two-regions.toml";

impl Deployment {
    /// Runs ringform with extra environment (a state key).
    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = self.command(args, 0);
        command.envs(env.iter().copied());
        command.output().unwrap()
    }

    fn ok(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let output = self.run_with(args, env);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}{}", text(&output.stdout), text(&output.stderr));
        text(&output.stdout)
    }

    /// Runs ringform expecting exit 1; returns stderr.
    fn fails(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let output = self.run_with(args, env);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {}{}", text(&output.stdout), text(&output.stderr));
        text(&output.stderr)
    }

    fn plan_exit_code(&self, topology: &str, env: &[(&str, &str)]) -> Option<i32> {
        self.run_with(&["plan", "--detailed-exitcode", topology], env).status.code()
    }
}

/// A run killed by SIGKILL while it holds the state leaves `lock.json` naming it, but its OS
/// lock died with it: the next run goes ahead without `ringform state unlock`.
#[test]
fn a_killed_run_leaves_no_lock_the_next_run_trips_on() {
    let d = Deployment::new();
    let mut child = d.spawn(&["apply", "--auto-approve", TWO_REGIONS], 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !d.inventory().exists() || Inventory::open(d.inventory()).unwrap().is_empty() {
        assert!(Instant::now() < deadline, "apply never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    assert!(!child.wait().unwrap().success());
    let left = std::fs::read_to_string(d.state().join("lock.json")).unwrap();
    assert!(left.contains(&format!("\"pid\": {}", child.id())), "the killed run's name stays: {left}");

    let started = Instant::now();
    let output = d.ok(&["apply", "--auto-approve", TWO_REGIONS], &[]);
    assert!(output.contains("Apply complete"), "{output}");
    assert!(started.elapsed() < Duration::from_secs(30));
    d.assert_inventory_equals_state();
    assert!(!d.state().join("lock.json").exists(), "a clean run releases its lock");
    let unlock = d.ok(&["state", "unlock", TWO_REGIONS], &[]);
    assert!(unlock.starts_with("Nothing to unlock"), "{unlock}");
}

/// Bytes overwritten in the database, then the file truncated: each time every command stops
/// with an error naming the file and pointing at `state restore`, which brings the last good
/// copy back (keeping the damaged files) so that the plan is empty again.
#[test]
fn damaged_state_is_reported_by_file_and_restored_from_its_last_good_copy() {
    let d = Deployment::new();
    d.ok(&["apply", "--auto-approve", MINIMAL], &[]);
    assert!(d.state().join("last-good.jsonl").is_file());
    let db = d.state().join("db");
    let damages: [(&str, Damage); 2] = [("bytes overwritten", overwrite_start), ("file truncated", truncate)];
    for (damage, apply) in damages {
        apply(&db);
        for args in [&["plan", MINIMAL][..], &["apply", "--auto-approve", MINIMAL], &["state", "list", MINIMAL]] {
            let error = d.fails(args, &[]);
            assert!(error.contains(&format!("the state database {} is damaged", db.display())), "{damage}: {error}");
            assert!(error.contains("ringform state restore"), "{damage}: {error}");
        }
        let restored = d.ok(&["state", "restore", MINIMAL], &[]);
        assert!(restored.contains("The damaged database is kept in "), "{restored}");
        assert_eq!(d.plan_exit_code(MINIMAL, &[]), Some(0), "{damage}: the plan after restore is empty");
    }
    let kept = std::fs::read_dir(d.state())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("damaged-"));
    assert_eq!(kept.count(), 2, "both damaged databases are kept");
    let refused = d.fails(&["state", "restore", MINIMAL], &[]);
    assert!(refused.contains("is not damaged") && refused.contains("--force"), "{refused}");
    d.assert_inventory_equals_state();
}

/// Damages a file in place.
type Damage = fn(&Path);

fn overwrite_start(file: &Path) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().write(true).open(file).unwrap();
    file.write_all(&[0xA5; 64]).unwrap();
}

/// Cut short, as a full disk or a copy that stopped half-way leaves a file.
fn truncate(file: &Path) {
    std::fs::OpenOptions::new().write(true).open(file).unwrap().set_len(1024).unwrap();
}

/// After a cluster is renamed in the topology, `state mv` moves its VPC's record so that the
/// plan updates the VPC in place instead of destroying it and making another.
#[test]
fn state_mv_after_a_rename_keeps_the_object() {
    let d = Deployment::new();
    d.ok(&["apply", "--auto-approve", TWO_REGIONS], &[]);
    let renamed = d.dir.path().join("renamed.toml");
    let topology = std::fs::read_to_string(TWO_REGIONS).unwrap();
    std::fs::write(&renamed, topology.replace("\"eu-west\"", "\"ireland\"")).unwrap();
    let renamed = renamed.to_str().unwrap();
    let plan = d.ok(&["plan", renamed], &[]);
    assert!(plan.contains("- aws_vpc.eu-west  (no longer in the topology)") && plan.contains("+ aws_vpc.ireland\n"));
    let vpc = Inventory::open(d.inventory()).unwrap().by_address(&"aws_vpc.eu-west".parse().unwrap()).remove(0);

    let moved = d.ok(&["state", "mv", renamed, "aws_vpc.eu-west", "aws_vpc.ireland"], &[]);
    assert!(moved.starts_with("Moved aws_vpc.eu-west to aws_vpc.ireland.\n7 resources that depend on it"), "{moved}");
    let plan = d.ok(&["plan", renamed], &[]);
    assert!(plan.contains("~ aws_vpc.ireland  (`name` changed)"), "{plan}");
    assert!(!plan.contains("aws_vpc.eu-west") && !plan.contains("+ aws_vpc.ireland"), "{plan}");

    for (from, to, why) in [
        ("aws_vpc.eu-west", "aws_vpc.x", "not in the state"),
        ("aws_vpc.ireland", "aws_vpc.eu-central", "is in the state"),
        ("aws_vpc.ireland", "aws_subnet.ireland", "cannot become"),
    ] {
        let error = d.fails(&["state", "mv", renamed, from, to], &[]);
        assert!(error.contains(why), "{error}");
    }
    d.ok(&["apply", "--auto-approve", "--allow-data-loss", renamed], &[]);
    let state = d.state_pairs();
    let now = state.iter().find(|(address, _)| address.to_string() == "aws_vpc.ireland").unwrap();
    assert_eq!(now.1, vpc.provider_id, "the VPC is the one made before the rename");
    // The VPC keeps the ownership tags it was made with (naming aws_vpc.eu-west): compare ids.
    let mut tracked: Vec<String> = state.into_iter().map(|(_, id)| id).collect();
    let mut objects: Vec<String> =
        Inventory::open(d.inventory()).unwrap().objects().into_iter().map(|o| o.provider_id).collect();
    tracked.sort();
    objects.sort();
    assert_eq!(tracked, objects, "every object is tracked once, and nothing else is in the fake cloud");
}

/// `state rm` forgets without deleting: the object stays in the cloud and the plan makes one
/// again; an address not in state is refused and nothing is forgotten.
#[test]
fn state_rm_forgets_without_deleting() {
    let d = Deployment::new();
    d.ok(&["apply", "--auto-approve", MINIMAL], &[]);
    let error = d.fails(&["state", "rm", MINIMAL, "aws_vpc.main", "aws_vpc.nope"], &[]);
    assert!(error.contains("not in the state") && error.contains("`aws_vpc.nope`"), "{error}");
    assert_eq!(d.plan_exit_code(MINIMAL, &[]), Some(0), "a refused rm forgets nothing");

    let forgot = d.ok(&["state", "rm", MINIMAL, "aws_vpc.main"], &[]);
    assert!(forgot.starts_with("Forgot 1 resource (the objects themselves are untouched):\n  aws_vpc.main\n"));
    let plan = d.ok(&["plan", MINIMAL], &[]);
    assert!(plan.contains("+ aws_vpc.main\n"), "{plan}");
    assert_eq!(d.plan_exit_code(MINIMAL, &[]), Some(2));
    let inventory = Inventory::open(d.inventory()).unwrap();
    assert_eq!(inventory.by_address(&"aws_vpc.main".parse().unwrap()).len(), 1, "the VPC itself is still there");
}

/// The value of every secret ringform generated (VPN shared keys, the Cassandra superuser
/// password), from `state pull --show-secrets` output.
pub(crate) fn generated_secrets(pulled: &serde_json::Value) -> Vec<String> {
    let records = pulled["records"].as_object().unwrap();
    let generated = records.iter().filter(|(address, _)| address.starts_with("generated_secret."));
    generated.filter_map(|(_, record)| record["outputs"]["value"]["$secret"].as_str().map(str::to_owned)).collect()
}

fn pull(d: &Deployment, topology: &str, show_secrets: bool, env: &[(&str, &str)]) -> serde_json::Value {
    let args =
        if show_secrets { &["state", "pull", "--show-secrets", topology][..] } else { &["state", "pull", topology] };
    serde_json::from_str(&d.ok(args, env)).unwrap()
}

/// The secrets that are at rest in plain text in any file of the state directory.
fn secrets_at_rest(dir: &Path, secrets: &[String]) -> Vec<String> {
    let bytes = ringform_testkit::every_byte_in(dir);
    let found = |s: &&String| bytes.windows(s.len()).any(|w| w == s.as_bytes());
    secrets.iter().filter(found).cloned().collect()
}

#[test]
fn state_pull_shows_the_whole_state_and_secrets_only_when_asked() {
    let d = Deployment::new();
    d.ok(&["apply", "--auto-approve", MINIMAL], &[]);
    let redacted = pull(&d, MINIMAL, false, &[]);
    let shown = pull(&d, MINIMAL, true, &[]);
    assert_eq!(redacted["serial"], shown["serial"]);
    assert!(redacted["lineage"].is_string());
    assert_eq!(redacted["records"].as_object().unwrap().len(), d.state_pairs().len());
    let secrets = generated_secrets(&shown);
    assert_eq!(secrets.len(), 1, "the minimal example generates a superuser password");
    assert_eq!(
        redacted["records"]["generated_secret.cassandra/superuser"]["outputs"]["value"]["$secret"],
        "(sensitive)"
    );
    let text = redacted.to_string();
    assert!(secrets.iter().all(|s| !text.contains(s.as_str())), "a secret in {text}");
}

/// With a key, no secret ringform generated is anywhere in the state directory; a wrong or
/// missing key stops every command without changing the state; `state rekey` moves the state
/// to a new key, after which apply works with it.
#[test]
fn encrypted_state_keeps_no_secret_at_rest_and_needs_its_key() {
    let d = Deployment::new();
    let (key, other) = ("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=", "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=");
    let with_key = [("RINGFORM_STATE_KEY", key)];
    d.ok(&["apply", "--auto-approve", TWO_REGIONS], &with_key);
    let shown = pull(&d, TWO_REGIONS, true, &with_key);
    let secrets = generated_secrets(&shown);
    assert!(!secrets.is_empty());
    assert_eq!(secrets_at_rest(&d.state(), &secrets), Vec::<String>::new());

    let last_good = std::fs::read(d.state().join("last-good.jsonl")).unwrap();
    let wrong = d.fails(&["apply", "--auto-approve", TWO_REGIONS], &[("RINGFORM_STATE_KEY", other)]);
    assert!(wrong.contains("is encrypted with key") && wrong.contains("not with the key given"), "{wrong}");
    let missing = d.fails(&["plan", TWO_REGIONS], &[]);
    assert!(missing.contains("no key was given") && missing.contains("RINGFORM_STATE_KEY"), "{missing}");
    d.fails(&["state", "pull", TWO_REGIONS], &[("RINGFORM_STATE_KEY", "not base64")]);
    assert_eq!(std::fs::read(d.state().join("last-good.jsonl")).unwrap(), last_good, "the copy was not touched");
    assert_eq!(pull(&d, TWO_REGIONS, true, &with_key), shown, "the state was not changed");

    let rekeyed =
        d.ok(&["state", "rekey", TWO_REGIONS], &[("RINGFORM_STATE_KEY", key), ("RINGFORM_STATE_NEW_KEY", other)]);
    assert!(rekeyed.starts_with("Sealed the secrets of 62 resources"), "{rekeyed}");
    d.fails(&["plan", TWO_REGIONS], &with_key);
    let with_other = [("RINGFORM_STATE_KEY", other)];
    assert_eq!(pull(&d, TWO_REGIONS, true, &with_other), shown);
    assert_eq!(secrets_at_rest(&d.state(), &secrets), Vec::<String>::new());
    let applied = d.ok(&["apply", "--auto-approve", TWO_REGIONS], &with_other);
    assert!(applied.contains("No changes."), "{applied}");
    assert_eq!(d.plan_exit_code(TWO_REGIONS, &with_other), Some(0));
}

/// State applied without a key refuses one until `state rekey` encrypts it; then no secret is
/// at rest in plain text any more (the old database is deleted, not kept).
#[test]
fn plain_state_is_encrypted_by_rekey() {
    let d = Deployment::new();
    d.ok(&["apply", "--auto-approve", MINIMAL], &[]);
    let secrets = generated_secrets(&pull(&d, MINIMAL, true, &[]));
    assert!(!secrets_at_rest(&d.state(), &secrets).is_empty(), "plain state holds its secrets in plain text");
    let with_key = [("RINGFORM_STATE_KEY", "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=")];
    let refused = d.fails(&["plan", MINIMAL], &with_key);
    assert!(refused.contains("is not encrypted") && refused.contains("ringform state rekey"), "{refused}");
    d.ok(&["state", "rekey", MINIMAL], &with_key);
    assert_eq!(secrets_at_rest(&d.state(), &secrets), Vec::<String>::new());
    assert_eq!(d.plan_exit_code(MINIMAL, &with_key), Some(0));
}
