//! End-to-end runs with remote state: the `ringform` binary on the fake cloud, its state in S3
//! on moto or in Azure Blob Storage on Azurite, each run from a local cache of its own, as two
//! engineers or an engineer and a CI job would run it. Fails, naming the command that installs
//! them, when moto or Azurite is missing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use ringform_testkit::Inventory;
use ringform_testkit::azurite::{self, Azurite};
use ringform_testkit::moto::Moto;

use crate::common::{self, KillClock, text};
use crate::state::generated_secrets;

const BUCKET: &str = "ringform-state";
const KEY: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
const OTHER_KEY: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";

/// Where remote state lives in a test.
enum Store {
    S3(Moto),
    Blob(Azurite),
}

/// A deployment on the fake cloud whose state is remote: the topology is an example with a
/// `[state]` section added.
struct Remote {
    dir: tempfile::TempDir,
    store: Store,
    topology: PathBuf,
    caches: std::cell::Cell<u32>,
}

impl Remote {
    fn on_s3(example: &str, state: &str) -> Remote {
        let moto = Moto::start_for_test();
        moto.create_bucket(BUCKET, "eu-west-1");
        let section = format!("[state]\nbackend = \"s3\"\nbucket = \"{BUCKET}\"\nregion = \"eu-west-1\"\n{state}\n");
        Remote::new(Store::S3(moto), example, &section)
    }

    fn on_blob(example: &str) -> Remote {
        let azurite = Azurite::start_for_test();
        azurite.create_container("ringform");
        let section = format!(
            "[state]\nbackend = \"azure-blob\"\nstorage_account = \"{}\"\ncontainer = \"ringform\"\n\
             encryption = {{ key_env = \"RINGFORM_STATE_KEY\" }}\n",
            azurite::ACCOUNT
        );
        Remote::new(Store::Blob(azurite), example, &section)
    }

    fn new(store: Store, example: &str, section: &str) -> Remote {
        let dir = tempfile::tempdir().unwrap();
        let topology = dir.path().join("topology.toml");
        let source = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(example)).unwrap();
        std::fs::write(&topology, format!("{source}\n{section}")).unwrap();
        Remote { dir, store, topology, caches: std::cell::Cell::new(0) }
    }

    fn topology(&self) -> &str {
        self.topology.to_str().unwrap()
    }

    fn inventory(&self) -> PathBuf {
        self.dir.path().join("inventory.json")
    }

    /// A local cache no run has used: another machine.
    fn fresh_cache(&self) -> PathBuf {
        self.caches.set(self.caches.get() + 1);
        self.dir.path().join(format!("cache-{}", self.caches.get()))
    }

    fn command(&self, args: &[&str], cache: &Path, latency_ms: u64) -> Command {
        let mut command = common::ringform(args, cache);
        command
            .env("RINGFORM_TEST_INVENTORY", self.inventory())
            .env("RINGFORM_TEST_LATENCY_MS", latency_ms.to_string())
            .env("RINGFORM_STATE_KEY", KEY);
        match &self.store {
            Store::S3(moto) => {
                common::on_moto(&mut command, moto);
            }
            Store::Blob(azurite) => {
                command
                    .env("RINGFORM_AZURE_BLOB_ENDPOINT", azurite.blob_endpoint())
                    .env("AZURE_STORAGE_ACCOUNT_KEY", azurite::ACCOUNT_KEY);
            }
        }
        command
    }

    fn run(&self, args: &[&str], cache: &Path, env: &[(&str, &str)]) -> Output {
        self.command(args, cache, 0).envs(env.iter().copied()).output().unwrap()
    }

    fn ok(&self, args: &[&str], cache: &Path) -> String {
        let output = self.run(args, cache, &[]);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}{}", text(&output.stdout), text(&output.stderr));
        text(&output.stdout)
    }

    fn fails(&self, args: &[&str], cache: &Path, env: &[(&str, &str)]) -> String {
        let output = self.run(args, cache, env);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {}{}", text(&output.stdout), text(&output.stderr));
        text(&output.stderr)
    }

    fn spawn(&self, args: &[&str], cache: &Path, latency_ms: u64) -> Child {
        self.command(args, cache, latency_ms).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
    }

    /// Every object in the bucket (container), by name.
    fn objects(&self) -> Vec<(String, Vec<u8>)> {
        match &self.store {
            Store::S3(moto) => moto.every_object(BUCKET),
            Store::Blob(azurite) => azurite.every_blob("ringform"),
        }
    }

    fn is_locked(&self) -> bool {
        self.objects().iter().any(|(name, _)| name.ends_with(".lock"))
    }

    /// The remote state as `state pull --show-secrets` prints it, read from a fresh cache.
    fn pull(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["state", "pull", "--show-secrets", self.topology()], &self.fresh_cache()))
            .unwrap()
    }

    /// Nothing is duplicated in the fake cloud, and the remote state tracks exactly what is there.
    fn assert_inventory_equals_remote_state(&self) {
        let pulled = self.pull();
        let records = pulled["records"].as_object().unwrap();
        let pairs = records.iter().map(|(address, record)| {
            (address.parse::<ringform_core::Address>().unwrap(), record["provider_id"].as_str().unwrap().to_owned())
        });
        let inventory = Inventory::open(self.inventory()).unwrap();
        let comparison = inventory.compare(pairs.collect::<Vec<_>>());
        assert!(comparison.is_exact(), "{comparison}");
        self.assert_nothing_duplicated("");
    }

    fn assert_nothing_duplicated(&self, seed: &str) {
        let mut addresses: Vec<_> =
            Inventory::open(self.inventory()).unwrap().objects().into_iter().map(|o| o.address).collect();
        let count = addresses.len();
        addresses.sort();
        addresses.dedup();
        assert_eq!(addresses.len(), count, "an object was created twice {seed}");
    }

    /// Breaks the lock a killed run left, the way a user does: the failing run names its id.
    fn break_lock(&self) {
        let refused = self.fails(&["refresh", self.topology()], &self.fresh_cache(), &[]);
        assert!(refused.contains("is locked by `apply`") || refused.contains("is locked by `destroy`"), "{refused}");
        let id = lock_id(&refused);
        let broke = self.ok(&["state", "unlock", self.topology(), "--lock-id", &id], &self.fresh_cache());
        assert!(broke.starts_with("Broke the lock of "), "{broke}");
    }
}

/// The lock id a refused run names.
fn lock_id(refused: &str) -> String {
    let at = refused.find("--lock-id ").map(|i| i + "--lock-id ".len()).expect("the hint names the lock id");
    refused[at..].chars().take_while(|c| c.is_ascii_hexdigit() || *c == '-').collect()
}

fn holds(bytes: &[u8], secret: &str) -> bool {
    bytes.windows(secret.len()).any(|w| w == secret.as_bytes())
}

/// The secrets in `secrets` found in plain text in `objects` or in any file under `dir`.
fn secrets_at_rest(objects: &[(String, Vec<u8>)], dir: &Path, secrets: &[String]) -> Vec<String> {
    let mut bytes: Vec<u8> = objects.iter().flat_map(|(_, b)| b.clone()).collect();
    bytes.extend(ringform_testkit::every_byte_in(dir));
    secrets.iter().filter(|s| holds(&bytes, s)).cloned().collect()
}

const TWO_REGIONS: &str = "examples/eks-two-regions.toml";
const WITH_KEY: &str = "encryption = { key_env = \"RINGFORM_STATE_KEY\" }";

/// Two applies on one remote state from two machines: one proceeds, the other exits 1 within a
/// second naming the holder; the state the first leaves is complete for any other machine.
#[test]
fn of_two_concurrent_applies_one_proceeds_and_the_other_names_the_holder() {
    let r = Remote::on_s3(TWO_REGIONS, WITH_KEY);
    let mut first = r.spawn(&["apply", "--auto-approve", r.topology()], &r.fresh_cache(), 30);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !r.is_locked() {
        assert!(Instant::now() < deadline, "the first apply never took the lock");
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    let output = r.run(&["apply", "--auto-approve", r.topology()], &r.fresh_cache(), &[]);
    let took = started.elapsed();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("s3://ringform-state/eks-two-regions is locked by `apply`"), "{stderr}");
    assert!(stderr.contains(&format!("pid {}", first.id())) && stderr.contains("--lock-id "), "{stderr}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    // Drift only reads: it takes no lock, so a scheduled check runs beside the apply.
    let drift = r.run(&["drift", r.topology()], &r.fresh_cache(), &[]);
    assert_eq!(drift.status.code(), Some(2), "{}", text(&drift.stderr));
    assert!(first.wait().unwrap().success());

    assert!(!r.is_locked(), "the lock is released");
    let names: Vec<String> = r.objects().into_iter().map(|(name, _)| name).collect();
    assert!(names.contains(&"eks-two-regions".to_owned()) && names.contains(&"eks-two-regions.last-good".to_owned()));
    let plan = r.run(&["plan", "--detailed-exitcode", r.topology()], &r.fresh_cache(), &[]);
    assert_eq!(plan.status.code(), Some(0), "{}{}", text(&plan.stdout), text(&plan.stderr));
    r.assert_inventory_equals_remote_state();
}

/// SIGKILL `ringform apply` (and `destroy`) at random instants, each kill followed by a run
/// from a fresh local cache (another machine), and every third by a run from the killed run's
/// own cache instead (the same machine, its cache perhaps ahead of the bucket): the rerun
/// breaks the dead run's lock by the id it is told, and converges; nothing is ever duplicated,
/// and the remote state ends equal to the fake cloud.
#[test]
fn killed_at_random_instants_a_rerun_from_a_fresh_cache_converges() {
    let r = Remote::on_s3(TWO_REGIONS, WITH_KEY);
    let mut clock = KillClock::from_env();
    let (mut fresh_reruns, mut own_reruns) = (0, 0);
    let mut verb = "apply";
    let mut cache = r.fresh_cache();
    for _ in 0..120 {
        if fresh_reruns >= 10 && own_reruns >= 3 {
            break;
        }
        if r.is_locked() {
            r.break_lock();
        }
        let args = [verb, "--auto-approve", "--allow-data-loss", r.topology()];
        let mut child = r.spawn(&args, &cache, 20);
        std::thread::sleep(clock.instant_within(Duration::from_millis(1500)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            if (fresh_reruns + own_reruns) % 3 == 2 {
                own_reruns += 1;
            } else {
                fresh_reruns += 1;
                cache = r.fresh_cache();
            }
        }
        if child.wait().unwrap().success() {
            verb = if verb == "apply" { "destroy" } else { "apply" };
        }
        r.assert_nothing_duplicated(&clock.seed());
    }
    let seed = clock.seed();
    assert!(fresh_reruns >= 10 && own_reruns >= 3, "only {fresh_reruns} + {own_reruns} kills ({seed})");
    if r.is_locked() {
        r.break_lock();
    }
    r.ok(&["apply", "--auto-approve", r.topology()], &r.fresh_cache());
    r.assert_inventory_equals_remote_state();
    let plan = r.run(&["plan", "--detailed-exitcode", r.topology()], &r.fresh_cache(), &[]);
    assert_eq!(plan.status.code(), Some(0), "converged: {}", text(&plan.stdout));
}

/// Encrypted remote state: no generated secret is in any byte of the bucket or of the cache; a
/// wrong key changes nothing; without `encryption` and without a key the remote refuses secrets
/// in plain text, and with `encryption = "none"` it takes them (so the search above can fail).
#[test]
fn encrypted_remote_state_keeps_no_secret_in_the_bucket_or_the_cache() {
    let r = Remote::on_s3(TWO_REGIONS, WITH_KEY);
    let cache = r.fresh_cache();
    r.ok(&["apply", "--auto-approve", r.topology()], &cache);
    let secrets = generated_secrets(&r.pull());
    assert!(!secrets.is_empty());
    let objects = r.objects();
    assert_eq!(secrets_at_rest(&objects, &cache, &secrets), Vec::<String>::new());

    let wrong =
        r.fails(&["apply", "--auto-approve", r.topology()], &r.fresh_cache(), &[("RINGFORM_STATE_KEY", OTHER_KEY)]);
    assert!(wrong.contains("is encrypted with key") && wrong.contains("not with the key given"), "{wrong}");
    let wrong = r.fails(&["apply", "--auto-approve", r.topology()], &cache, &[("RINGFORM_STATE_KEY", OTHER_KEY)]);
    assert!(wrong.contains("not with the key given"), "{wrong}");
    assert_eq!(r.objects(), objects, "nothing in the bucket was touched");

    let plain = Remote::on_s3("examples/minimal.toml", "");
    let refused = plain.fails(
        &["apply", "--auto-approve", plain.topology()],
        &plain.fresh_cache(),
        &[("RINGFORM_STATE_KEY", "")],
    );
    assert!(refused.contains("would keep secrets") && refused.contains("encryption = \"none\""), "{refused}");
    assert!(plain.objects().is_empty(), "nothing was written");
    let plain = Remote::on_s3("examples/minimal.toml", "encryption = \"none\"");
    let cache = plain.fresh_cache();
    plain.ok(&["apply", "--auto-approve", plain.topology()], &cache);
    let secrets = generated_secrets(&plain.pull());
    assert_eq!(secrets_at_rest(&plain.objects(), &cache, &secrets), secrets, "plain text, as asked");
}

/// AWS KMS keeps the key: the state's data key is wrapped in its header, and any machine with
/// the KMS permission opens it; no secret is stored in plain text.
#[test]
fn a_kms_key_keeps_the_state_key() {
    let r = Remote::on_s3(TWO_REGIONS, "encryption = { aws_kms_key = \"alias/ringform-state\" }");
    let Store::S3(moto) = &r.store else { unreachable!() };
    let config = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(ringform_aws::sdk_config(&common::moto_settings(moto), "eu-west-1"));
    let kms = aws_sdk_kms::Client::new(&config);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let key = kms.create_key().send().await.unwrap().key_metadata.unwrap();
        kms.create_alias().alias_name("alias/ringform-state").target_key_id(key.key_id()).send().await.unwrap();
    });
    let cache = r.fresh_cache();
    r.ok(&["apply", "--auto-approve", r.topology()], &cache);
    let pulled = r.pull();
    let secrets = generated_secrets(&pulled);
    assert_eq!(secrets_at_rest(&r.objects(), &cache, &secrets), Vec::<String>::new());
    let state = r.objects().into_iter().find(|(name, _)| name == "eks-two-regions").unwrap().1;
    let header: serde_json::Value = serde_json::from_slice(state.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(header["wrapped_key"]["service"], "aws-kms", "{header}");
    let plan = r.run(&["plan", "--detailed-exitcode", r.topology()], &r.fresh_cache(), &[("RINGFORM_STATE_KEY", "")]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stderr));

    // A local copy takes a key you hold: the data key is never given out.
    let local = r.dir.path().join("local");
    let refused = r.fails(&["state", "migrate", "--to-local", r.topology()], &local, &[]);
    assert!(refused.contains("local state takes a key you hold") && refused.contains("RINGFORM_STATE_NEW_KEY"));
    let copied =
        r.run(&["state", "migrate", "--to-local", r.topology()], &local, &[("RINGFORM_STATE_NEW_KEY", OTHER_KEY)]);
    assert_eq!(copied.status.code(), Some(0), "{}", text(&copied.stderr));
    let key = Some(ringform_state::StateKey::from_base64(OTHER_KEY).unwrap());
    let store = ringform_state::Opener::new("test").key(key).open_existing(&local).unwrap();
    let snapshot = ringform_state::StateStore::snapshot(&store).unwrap();
    assert_eq!(snapshot.len(), pulled["records"].as_object().unwrap().len());
    assert_eq!(secrets_at_rest(&[], &local, &secrets), Vec::<String>::new());
}

/// `state migrate` local → S3 → local keeps every record byte for byte; `state mv` on remote
/// state after a rename leaves a plan that neither destroys nor creates.
#[test]
fn state_migrates_to_the_bucket_and_back_byte_for_byte_and_moves_there() {
    let r = Remote::on_s3(TWO_REGIONS, WITH_KEY);
    let local = r.dir.path().join("local");
    let key = Some(ringform_state::StateKey::from_base64(KEY).unwrap());
    let document = |dir: &Path| {
        let opener = ringform_state::Opener::new("test").key(key.clone());
        opener.open_existing(dir).unwrap().document().unwrap()
    };
    let mut apply = common::ringform(&["apply", "--auto-approve", TWO_REGIONS], &local);
    apply.env("RINGFORM_TEST_INVENTORY", r.inventory()).env("RINGFORM_STATE_KEY", KEY);
    assert!(apply.output().unwrap().status.success());
    let before = document(&local);

    let migrated = r.ok(&["state", "migrate", "--to-remote", r.topology()], &local);
    assert!(migrated.starts_with("Copied the state in ") && migrated.contains("read it back: serial"), "{migrated}");
    let plan = r.run(&["plan", "--detailed-exitcode", r.topology()], &r.fresh_cache(), &[]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stdout));
    let again = r.fails(&["state", "migrate", "--to-remote", r.topology()], &local, &[]);
    assert!(again.contains("there is state at s3://ringform-state/eks-two-regions already"), "{again}");

    let back = r.dir.path().join("back");
    let migrated = r.ok(&["state", "migrate", "--to-local", r.topology()], &back);
    assert!(migrated.contains("Now set backend = \"local\""), "{migrated}");
    assert_eq!(document(&back), before, "every record came back byte for byte");

    let renamed = r.dir.path().join("renamed.toml");
    std::fs::write(&renamed, std::fs::read_to_string(&r.topology).unwrap().replace("\"eu-west\"", "\"ireland\""))
        .unwrap();
    let renamed = renamed.to_str().unwrap();
    let moved = r.ok(&["state", "mv", renamed, "aws_vpc.eu-west", "aws_vpc.ireland"], &r.fresh_cache());
    assert!(moved.starts_with("Moved aws_vpc.eu-west to aws_vpc.ireland."), "{moved}");
    let plan = r.ok(&["plan", renamed], &r.fresh_cache());
    assert!(plan.contains("~ aws_vpc.ireland  (`name` changed)"), "{plan}");
    assert!(!plan.contains("aws_vpc.eu-west") && !plan.contains("+ aws_vpc.ireland"), "{plan}");
}

/// Azure Blob Storage on Azurite: the same lock and the same state for every machine.
#[test]
fn azure_blob_state_is_shared_and_locked() {
    let r = Remote::on_blob(TWO_REGIONS);
    let cache = r.fresh_cache();
    let mut first = r.spawn(&["apply", "--auto-approve", r.topology()], &cache, 30);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !r.is_locked() {
        assert!(Instant::now() < deadline, "the first apply never took the lock");
        std::thread::sleep(Duration::from_millis(20));
    }
    let refused = r.fails(&["apply", "--auto-approve", r.topology()], &r.fresh_cache(), &[]);
    assert!(
        refused.contains("azure-blob://devstoreaccount1/ringform/eks-two-regions is locked by `apply`"),
        "{refused}"
    );
    assert!(first.wait().unwrap().success());
    let plan = r.run(&["plan", "--detailed-exitcode", r.topology()], &r.fresh_cache(), &[]);
    assert_eq!(plan.status.code(), Some(0), "{}{}", text(&plan.stdout), text(&plan.stderr));
    r.assert_inventory_equals_remote_state();
    let secrets = generated_secrets(&r.pull());
    assert_eq!(secrets_at_rest(&r.objects(), &cache, &secrets), Vec::<String>::new());
}

/// A state object cut short is reported, naming it; `state restore` puts the last good copy
/// back and the next plan is empty. `state rekey` moves the state and its last good copy to a
/// new key, after which apply works with that key only.
#[test]
fn damaged_remote_state_is_restored_and_rekeyed() {
    let r = Remote::on_s3(TWO_REGIONS, WITH_KEY);
    r.ok(&["apply", "--auto-approve", r.topology()], &r.fresh_cache());
    let Store::S3(moto) = &r.store else { unreachable!() };
    let state = r.objects().into_iter().find(|(name, _)| name == "eks-two-regions").unwrap().1;
    let lines: Vec<&[u8]> = state.split(|b| *b == b'\n').collect();
    let cut = lines[..lines.len() - 10].join(&b'\n');
    let (bucket, path) = (moto.s3_store(BUCKET), object_store::path::Path::from("eks-two-regions"));
    ringform_testkit::block_on(object_store::ObjectStoreExt::put(&bucket, &path, cut.into())).unwrap();

    let damaged = r.fails(&["plan", r.topology()], &r.fresh_cache(), &[]);
    assert!(damaged.contains("the state in s3://ringform-state/eks-two-regions is damaged"), "{damaged}");
    assert!(damaged.contains("cut short") && damaged.contains("ringform state restore"), "{damaged}");
    let restored = r.ok(&["state", "restore", r.topology()], &r.fresh_cache());
    assert!(restored.starts_with("Restored the state at s3://ringform-state/eks-two-regions to its last good copy"));
    let plan = r.run(&["plan", "--detailed-exitcode", r.topology()], &r.fresh_cache(), &[]);
    assert_eq!(plan.status.code(), Some(0), "{}{}", text(&plan.stdout), text(&plan.stderr));
    let refused = r.fails(&["state", "restore", r.topology()], &r.fresh_cache(), &[]);
    assert!(refused.contains("is not damaged"), "{refused}");

    let secrets = generated_secrets(&r.pull());
    let cache = r.fresh_cache();
    let rekeyed = r.run(&["state", "rekey", r.topology()], &cache, &[("RINGFORM_STATE_NEW_KEY", OTHER_KEY)]);
    assert_eq!(rekeyed.status.code(), Some(0), "{}", text(&rekeyed.stderr));
    assert!(
        text(&rekeyed.stdout).starts_with("Sealed the secrets of 62 resources at s3://"),
        "{}",
        text(&rekeyed.stdout)
    );
    let wrong = r.fails(&["plan", r.topology()], &r.fresh_cache(), &[]);
    assert!(wrong.contains("not with the key given"), "{wrong}");
    let with_other = [("RINGFORM_STATE_KEY", OTHER_KEY)];
    let applied = r.run(&["apply", "--auto-approve", r.topology()], &cache, &with_other);
    assert!(text(&applied.stdout).contains("No changes."), "{}{}", text(&applied.stdout), text(&applied.stderr));
    assert_eq!(secrets_at_rest(&r.objects(), &cache, &secrets), Vec::<String>::new());
}

/// A run whose state object is written behind its back (a writer without the lock) has its
/// next upload refused: it stops and says so, the bucket keeps the other write, and its own
/// writes stay in its cache, which the next run from there keeps aside before it converges.
#[test]
fn a_write_over_a_stale_version_is_refused_and_reported_never_lost() {
    let r = Remote::on_s3(TWO_REGIONS, WITH_KEY);
    let cache = r.fresh_cache();
    let child = r.spawn(&["apply", "--auto-approve", r.topology()], &cache, 40);
    let deadline = Instant::now() + Duration::from_secs(30);
    let state = loop {
        if let Some((_, bytes)) = r.objects().into_iter().find(|(name, _)| name == "eks-two-regions") {
            break bytes;
        }
        assert!(Instant::now() < deadline, "the state object never appeared");
        std::thread::sleep(Duration::from_millis(10));
    };
    // The same state with a blank line more: another version, which the run did not write.
    let Store::S3(moto) = &r.store else { unreachable!() };
    let (bucket, path) = (moto.s3_store(BUCKET), object_store::path::Path::from("eks-two-regions"));
    let behind_its_back = [state.as_slice(), b"\n"].concat();
    ringform_testkit::block_on(object_store::ObjectStoreExt::put(&bucket, &path, behind_its_back.clone().into()))
        .unwrap();

    let output = child.wait_with_output().unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("s3://ringform-state/eks-two-regions was changed by someone else"), "{stderr}");
    let now = r.objects().into_iter().find(|(name, _)| name == "eks-two-regions").unwrap().1;
    assert_eq!(now, behind_its_back, "the other write was not overwritten");
    let key = Some(ringform_state::StateKey::from_base64(KEY).unwrap());
    let cached = ringform_state::Opener::new("test").key(key).open_existing(&cache).unwrap();
    let kept = ringform_state::StateStore::snapshot(&cached).unwrap().len();
    drop(cached);
    let remote = r.pull()["records"].as_object().unwrap().len();
    assert!(kept > remote, "the cache keeps what the bucket refused: {kept} records, {remote} in the bucket");

    if r.is_locked() {
        r.break_lock();
    }
    let rerun = r.run(&["apply", "--auto-approve", r.topology()], &cache, &[]);
    let stderr = text(&rerun.stderr);
    assert_eq!(rerun.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("the old cache, with writes of its own, is kept in"), "{stderr}");
    assert!(
        std::fs::read_dir(&cache).unwrap().any(|e| e.unwrap().file_name().to_string_lossy().starts_with("replaced-"))
    );
    r.assert_inventory_equals_remote_state();
}

/// Ctrl-C at the confirmation prompt (or anywhere before a run takes Ctrl-C over) releases the
/// remote lock: unlike a local one, it would not end with the process.
#[test]
fn ctrl_c_at_the_prompt_releases_the_remote_lock() {
    use std::io::Read;
    let r = Remote::on_s3("examples/minimal.toml", WITH_KEY);
    let mut child = r
        .command(&["apply", r.topology()], &r.fresh_cache(), 0)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Held open: `wait` would close it, and the prompt would read the end of its input.
    let _stdin = child.stdin.take();
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    let mut buffer = [0; 256];
    while !text(&seen).contains("Only 'yes' will be accepted") {
        let read = stderr.read(&mut buffer).unwrap();
        assert!(read > 0, "apply ended before it asked: {}", text(&seen));
        seen.extend_from_slice(&buffer[..read]);
    }
    assert!(r.is_locked(), "apply holds the lock while it asks");
    let interrupted = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(interrupted.success());
    let status = child.wait().unwrap();
    stderr.read_to_end(&mut seen).unwrap();
    assert_eq!(status.code(), Some(130), "{}", text(&seen));
    assert!(text(&seen).contains("its lock released"), "{}", text(&seen));
    assert!(!r.is_locked(), "the lock was released");
    r.ok(&["apply", "--auto-approve", r.topology()], &r.fresh_cache());
}
