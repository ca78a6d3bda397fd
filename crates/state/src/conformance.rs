//! The behaviour every [`StateStore`] backend must show, as test functions over a [`Harness`]
//! that creates and reopens stores of that backend. A backend's tests call
//! [`conformance_tests!`](crate::conformance_tests) (one `#[test]` per property) or
//! [`run_all`]. A backend that keeps state at rest also implements [`SealedHarness`] and calls
//! [`sealed_conformance_tests!`](crate::sealed_conformance_tests): secrets sealed with a key,
//! never at rest in plain text, and a wrong or missing key refused without changing the state. The
//! functions panic on a violation, like assertions.

use ringform_core::{Address, Attributes, Value};

use crate::{JournalEntry, Operation, Phase, Record, StateError, StateKey, StateStore, Timestamp};

/// Creates stores of one backend for the conformance suite.
pub trait Harness {
    /// Where a store lives (a directory, a bucket prefix, …).
    type Location;

    /// Opens a store at a new location nothing else uses, with no state in it yet.
    fn create(&self) -> (Self::Location, Box<dyn StateStore>);

    /// Opens the existing store at `location` again. The suite has dropped (closed and
    /// unlocked) the previous handle first.
    fn reopen(&self, location: &Self::Location) -> Box<dyn StateStore>;
}

/// A backend that keeps state at rest: it seals secrets when given a key.
pub trait SealedHarness: Harness {
    /// Opens a store at a new location nothing else uses, sealing secrets with `key`.
    fn create_sealed(&self, key: &StateKey) -> (Self::Location, Box<dyn StateStore>);

    /// Opens the existing store at `location` with `key`, or without one.
    fn reopen_with(&self, location: &Self::Location, key: Option<&StateKey>)
    -> Result<Box<dyn StateStore>, StateError>;

    /// Every byte the backend keeps at rest for `location` (files, objects), in any order.
    fn stored_bytes(&self, location: &Self::Location) -> Vec<u8>;
}

/// Generates one `#[test]` per conformance property, each with a harness built by `$harness`.
#[macro_export]
macro_rules! conformance_tests {
    ($harness:expr) => {
        $crate::conformance_tests!(@each $harness;
            new_store_is_empty,
            lineage_is_stable_across_reopen,
            serial_bumps_once_per_record_write,
            records_round_trip,
            snapshot_is_sorted_and_complete,
            journal_keeps_order_and_survives_reopen,
            unfinished_intents_are_unanswered_intents,
            journal_clear_keeps_records_and_numbering,
            write_all_is_one_step,
            forget_removes_all_named_records_or_none,
            move_renames_and_repoints_dependents,
            a_refused_move_changes_nothing,
        );
    };
    (@each $harness:expr; $($property:ident),* $(,)?) => {
        $(
            #[test]
            fn $property() {
                $crate::conformance::$property(&$harness);
            }
        )*
    };
}

/// Generates one `#[test]` per property of stores that seal secrets at rest.
#[macro_export]
macro_rules! sealed_conformance_tests {
    ($harness:expr) => {
        $crate::conformance_tests!(@each $harness;
            sealed_secrets_round_trip_and_never_rest_in_plain_text,
            a_wrong_or_missing_key_is_refused_and_changes_nothing,
            plain_state_refuses_a_key_and_changes_nothing,
        );
    };
}

/// Runs every property against `harness`.
pub fn run_all<H: Harness>(harness: &H) {
    new_store_is_empty(harness);
    lineage_is_stable_across_reopen(harness);
    serial_bumps_once_per_record_write(harness);
    records_round_trip(harness);
    snapshot_is_sorted_and_complete(harness);
    journal_keeps_order_and_survives_reopen(harness);
    unfinished_intents_are_unanswered_intents(harness);
    journal_clear_keeps_records_and_numbering(harness);
    write_all_is_one_step(harness);
    forget_removes_all_named_records_or_none(harness);
    move_renames_and_repoints_dependents(harness);
    a_refused_move_changes_nothing(harness);
}

fn addr(text: &str) -> Address {
    text.parse().unwrap_or_else(|e| panic!("bad test address {text}: {e}"))
}

fn ok<T, E: std::fmt::Display>(result: Result<T, E>, what: &str) -> T {
    result.unwrap_or_else(|e| panic!("{what} failed: {e}"))
}

fn simple_record(address: &str) -> Record {
    Record {
        address: addr(address),
        provider_id: Some(format!("id-of-{address}")),
        inputs: [("name".to_owned(), Value::from(address))].into(),
        outputs: Attributes::new(),
        dependencies: Vec::new(),
        schema_version: 1,
        created_at: Timestamp::from_unix_seconds(1_714_564_800),
        updated_at: Timestamp::from_unix_seconds(1_714_564_800),
    }
}

/// A record using every kind of value, including the three special ones.
fn rich_record() -> Record {
    let vpc = addr("aws_vpc.eu-west");
    let inputs: Attributes = [
        ("null".to_owned(), Value::Null),
        ("bool".to_owned(), Value::Bool(true)),
        ("int".to_owned(), Value::Int(-7_000_000_000)),
        ("string".to_owned(), Value::from("10.100.0.0/16")),
        ("dollar".to_owned(), Value::from("$unknown")),
        ("list".to_owned(), Value::from(vec!["a", "b"])),
        ("vpc_id".to_owned(), Value::reference(&vpc, "id")),
        ("unknown".to_owned(), Value::Unknown),
        ("shared_key".to_owned(), Value::secret(Value::from("hunter2"))),
        ("secret_ref".to_owned(), Value::secret(Value::reference(&vpc, "key"))),
        (
            "map".to_owned(),
            Value::Map(
                [
                    ("nested".to_owned(), Value::List(vec![Value::Unknown, Value::secret(Value::Int(1))])),
                    ("empty".to_owned(), Value::Map(Default::default())),
                ]
                .into(),
            ),
        ),
    ]
    .into();
    Record {
        address: addr("aws_vpc_peering.eu-west~eu-central"),
        provider_id: None,
        inputs,
        outputs: [("id".to_owned(), Value::from("pcx-1")), ("status".to_owned(), Value::Unknown)].into(),
        dependencies: vec![vpc.clone(), addr("aws_vpc.eu-central")],
        schema_version: 3,
        created_at: Timestamp::from_unix_seconds(1_700_000_000),
        updated_at: Timestamp::from_unix_seconds(1_714_564_800),
    }
}

/// New state: serial 0, no records, an empty journal, and a snapshot carrying the lineage.
pub fn new_store_is_empty<H: Harness>(harness: &H) {
    let (_, store) = harness.create();
    assert_eq!(ok(store.serial(), "serial"), 0, "a new store starts at serial 0");
    assert_eq!(ok(store.get(&addr("aws_vpc.eu-west")), "get"), None);
    let snapshot = ok(store.snapshot(), "snapshot");
    assert!(snapshot.is_empty(), "a new store has no records");
    assert_eq!((snapshot.lineage, snapshot.serial), (store.lineage(), 0));
    assert!(ok(store.journal(), "journal").is_empty());
    assert!(ok(store.unfinished_intents(), "unfinished_intents").is_empty());
}

/// The lineage is fixed at creation, survives reopening, and differs between stores.
pub fn lineage_is_stable_across_reopen<H: Harness>(harness: &H) {
    let (location, store) = harness.create();
    let lineage = store.lineage();
    ok(store.put(&simple_record("aws_vpc.eu-west")), "put");
    drop(store);
    let store = harness.reopen(&location);
    assert_eq!(store.lineage(), lineage, "lineage changed on reopen");
    assert_eq!(ok(store.serial(), "serial"), 1, "serial lost on reopen");
    assert_eq!(ok(store.get(&addr("aws_vpc.eu-west")), "get"), Some(simple_record("aws_vpc.eu-west")));
    assert_eq!(ok(store.snapshot(), "snapshot").lineage, lineage);
    drop(store);
    let store = harness.reopen(&location);
    assert_eq!(store.lineage(), lineage, "lineage changed on second reopen");

    let (_, other) = harness.create();
    assert_ne!(other.lineage(), lineage, "two stores share a lineage");
}

/// Every put and every removal of an existing record bumps the serial by exactly one; removing
/// nothing and journal writes leave it alone.
pub fn serial_bumps_once_per_record_write<H: Harness>(harness: &H) {
    let (location, store) = harness.create();
    let a = simple_record("aws_vpc.a");
    assert_eq!(ok(store.put(&a), "put"), 1);
    assert_eq!(ok(store.put(&a), "put of the same record"), 2, "rewriting a record is a write");
    assert_eq!(ok(store.put(&simple_record("aws_vpc.b")), "put"), 3);
    assert_eq!(ok(store.serial(), "serial"), 3);
    assert!(ok(store.remove(&a.address), "remove"), "remove of an existing record reports it");
    assert_eq!(ok(store.serial(), "serial"), 4);
    assert!(!ok(store.remove(&a.address), "remove"), "remove of a missing record reports nothing");
    assert_eq!(ok(store.serial(), "serial"), 4, "removing nothing bumped the serial");
    ok(store.journal_append(&JournalEntry::intent(a.address.clone(), Operation::Create)), "journal_append");
    ok(store.journal_clear(), "journal_clear");
    assert_eq!(ok(store.serial(), "serial"), 4, "the journal bumped the serial");
    assert_eq!(ok(store.snapshot(), "snapshot").serial, 4);
    drop(store);
    assert_eq!(ok(harness.reopen(&location).serial(), "serial"), 4, "serial lost on reopen");
}

/// Records come back exactly as written, special values included; put replaces; remove
/// removes.
pub fn records_round_trip<H: Harness>(harness: &H) {
    let (location, store) = harness.create();
    let rich = rich_record();
    ok(store.put(&rich), "put");
    assert_eq!(ok(store.get(&rich.address), "get"), Some(rich.clone()));

    let mut updated = rich.clone();
    updated.provider_id = Some("pcx-1".into());
    updated.outputs.insert("status".into(), Value::from("active"));
    updated.updated_at = Timestamp::from_unix_seconds(1_714_564_801);
    ok(store.put(&updated), "put");
    assert_eq!(ok(store.get(&rich.address), "get"), Some(updated.clone()), "put must replace");
    drop(store);

    let store = harness.reopen(&location);
    assert_eq!(ok(store.get(&rich.address), "get"), Some(updated), "record changed across reopen");
    assert!(ok(store.remove(&rich.address), "remove"));
    assert_eq!(ok(store.get(&rich.address), "get"), None);
    drop(store);
    assert_eq!(ok(harness.reopen(&location).get(&rich.address), "get"), None, "removal lost on reopen");
}

/// A snapshot holds every record, in address order, with the store's lineage and serial.
pub fn snapshot_is_sorted_and_complete<H: Harness>(harness: &H) {
    let (_, store) = harness.create();
    let addresses = [
        "k8ssandra_cluster.multi-region",
        "aws_subnet.eu-west.eu-west-1a",
        "aws_vpc.eu-west",
        "azure_aks_cluster.eastus",
        "aws_vpc.eu-central",
        "aws_subnet.eu-west.eu-west-1b",
        "aws_vpc_peering.eu-west~eu-central",
        "k8s_secret.aws-1/kubeconfig:remote",
    ];
    for address in addresses {
        ok(store.put(&simple_record(address)), "put");
    }
    ok(store.remove(&addr("aws_vpc.eu-central")), "remove");
    let snapshot = ok(store.snapshot(), "snapshot");
    assert_eq!((snapshot.lineage, snapshot.serial), (store.lineage(), ok(store.serial(), "serial")));

    let mut expected: Vec<Address> = addresses.iter().map(|a| addr(a)).filter(|a| a.name() != "eu-central").collect();
    expected.sort();
    let found: Vec<Address> = snapshot.iter().map(|r| r.address.clone()).collect();
    assert_eq!(found, expected);
    for (key, record) in &snapshot.records {
        assert_eq!(key, &record.address);
        assert_eq!(record, &simple_record(&key.to_string()));
    }
}

/// Entries come back in append order with strictly increasing sequence numbers, also after a
/// reopen.
pub fn journal_keeps_order_and_survives_reopen<H: Harness>(harness: &H) {
    let (location, store) = harness.create();
    let vpc = addr("aws_vpc.eu-west");
    let entries = [
        JournalEntry::intent(vpc.clone(), Operation::Create),
        JournalEntry::succeeded(vpc.clone(), Operation::Create, Some("vpc-1".into())),
        JournalEntry::intent(vpc.clone(), Operation::Update),
        JournalEntry::failed(vpc.clone(), Operation::Update, "InvalidParameterValue: bad CIDR"),
        JournalEntry::intent(addr("aws_vpc.eu-central"), Operation::Read),
        JournalEntry::intent(addr("aws_vpc.us-east"), Operation::Adopt),
        JournalEntry::intent(vpc.clone(), Operation::Delete),
        JournalEntry::succeeded(vpc, Operation::Delete, None),
    ];
    let seqs: Vec<u64> = entries.iter().map(|e| ok(store.journal_append(e), "journal_append")).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "sequence numbers must increase: {seqs:?}");

    let expected: Vec<(u64, JournalEntry)> = seqs.iter().copied().zip(entries.iter().cloned()).collect();
    assert_eq!(ok(store.journal(), "journal"), expected);
    drop(store);

    let store = harness.reopen(&location);
    assert_eq!(ok(store.journal(), "journal"), expected, "journal changed across reopen");
    let next = ok(store.journal_append(&entries[0]), "journal_append");
    assert!(next > seqs[seqs.len() - 1], "sequence numbers must keep increasing after reopen");
}

/// An intent is unfinished until a later outcome for the same address and operation; a
/// failure is an outcome too.
pub fn unfinished_intents_are_unanswered_intents<H: Harness>(harness: &H) {
    let (location, store) = harness.create();
    let (a, b, c) = (addr("aws_vpc.a"), addr("aws_vpc.b"), addr("aws_vpc.c"));
    let append = |entry: JournalEntry| ok(store.journal_append(&entry), "journal_append");
    append(JournalEntry::intent(a.clone(), Operation::Create));
    let b_create = append(JournalEntry::intent(b.clone(), Operation::Create));
    append(JournalEntry::succeeded(a.clone(), Operation::Create, Some("vpc-a".into())));
    append(JournalEntry::intent(c.clone(), Operation::Update));
    append(JournalEntry::failed(c.clone(), Operation::Update, "throttled"));
    let a_delete = append(JournalEntry::intent(a.clone(), Operation::Delete));
    // An outcome before an intent does not answer it.
    append(JournalEntry::succeeded(c.clone(), Operation::Create, None));
    let c_create = append(JournalEntry::intent(c.clone(), Operation::Create));

    let summary = |store: &dyn StateStore| -> Vec<(u64, Address, Operation)> {
        ok(store.unfinished_intents(), "unfinished_intents")
            .into_iter()
            .map(|(seq, e)| {
                assert_eq!(e.phase, Phase::Intent, "only intents are unfinished");
                (seq, e.address, e.operation)
            })
            .collect()
    };
    let expected = vec![
        (b_create, b.clone(), Operation::Create),
        (a_delete, a, Operation::Delete),
        (c_create, c, Operation::Create),
    ];
    assert_eq!(summary(store.as_ref()), expected);
    drop(store);

    let store = harness.reopen(&location);
    assert_eq!(summary(store.as_ref()), expected, "unfinished intents changed across reopen");
    ok(store.journal_append(&JournalEntry::failed(b, Operation::Create, "quota exceeded")), "journal_append");
    assert_eq!(summary(store.as_ref()), expected[1..]);
}

/// Clearing empties the journal durably, leaves records and serial alone, and does not reuse
/// sequence numbers.
pub fn journal_clear_keeps_records_and_numbering<H: Harness>(harness: &H) {
    let (location, store) = harness.create();
    let record = simple_record("aws_vpc.eu-west");
    ok(store.put(&record), "put");
    let intent = JournalEntry::intent(record.address.clone(), Operation::Create);
    ok(store.journal_append(&intent), "journal_append");
    let last = ok(store.journal_append(&intent), "journal_append");
    ok(store.journal_clear(), "journal_clear");
    assert!(ok(store.journal(), "journal").is_empty());
    assert!(ok(store.unfinished_intents(), "unfinished_intents").is_empty());
    assert_eq!(ok(store.get(&record.address), "get"), Some(record.clone()));
    assert_eq!(ok(store.serial(), "serial"), 1);
    ok(store.journal_clear(), "journal_clear of an empty journal");
    drop(store);

    let store = harness.reopen(&location);
    assert!(ok(store.journal(), "journal").is_empty(), "cleared journal came back on reopen");
    let next = ok(store.journal_append(&intent), "journal_append");
    assert!(next > last, "sequence number {next} reused after clear (last was {last})");
    assert_eq!(ok(store.journal(), "journal"), vec![(next, intent)]);
}

/// `write_all` writes and removes in one step: the serial moves once, and not at all when
/// nothing changed.
pub fn write_all_is_one_step<H: Harness>(harness: &H) {
    let (location, store) = harness.create();
    let (a, b, c) = (simple_record("aws_vpc.a"), simple_record("aws_vpc.b"), simple_record("aws_vpc.c"));
    assert_eq!(ok(store.put(&c), "put"), 1);
    assert_eq!(ok(store.write_all(&[a.clone(), b.clone()], std::slice::from_ref(&c.address)), "write_all"), 2);
    assert_eq!(ok(store.write_all(&[], &[addr("aws_vpc.missing")]), "write_all of nothing"), 2);
    assert_eq!(ok(store.write_all(&[], &[]), "write_all of nothing"), 2);
    drop(store);
    let store = harness.reopen(&location);
    let found: Vec<Record> = ok(store.snapshot(), "snapshot").records.into_values().collect();
    assert_eq!(found, [a, b]);
    assert_eq!(ok(store.serial(), "serial"), 2);
}

/// `forget` removes every record named, in one write, or none of them when one is missing.
pub fn forget_removes_all_named_records_or_none<H: Harness>(harness: &H) {
    let (location, store) = harness.create();
    for address in ["aws_vpc.a", "aws_vpc.b", "aws_vpc.c"] {
        ok(store.put(&simple_record(address)), "put");
    }
    let err = crate::forget(store.as_ref(), &[addr("aws_vpc.a"), addr("aws_vpc.x")]).err();
    assert!(
        matches!(&err, Some(StateError::NotInState { addresses, .. }) if addresses == &[addr("aws_vpc.x")]),
        "{err:?}"
    );
    assert_eq!(ok(store.serial(), "serial"), 3, "a refused forget changed the state");
    ok(crate::forget(store.as_ref(), &[addr("aws_vpc.a"), addr("aws_vpc.b")]), "forget");
    assert_eq!(ok(store.serial(), "serial"), 4, "forget is one write");
    drop(store);
    let store = harness.reopen(&location);
    let left: Vec<Address> = ok(store.snapshot(), "snapshot").records.into_keys().collect();
    assert_eq!(left, [addr("aws_vpc.c")]);
}

/// `move_record` puts the record at its new address, unchanged otherwise, and the records
/// that depended on the old address depend on the new one; all in one write.
pub fn move_renames_and_repoints_dependents<H: Harness>(harness: &H) {
    let (location, store) = harness.create();
    let (from, to) = (addr("aws_vpc.eu-west"), addr("aws_vpc.eu-west-renamed"));
    let moved = simple_record(&from.to_string());
    let mut subnet = simple_record("aws_subnet.eu-west.a");
    subnet.dependencies = vec![from.clone()];
    let mut peering = rich_record();
    peering.dependencies = vec![addr("aws_vpc.eu-central"), from.clone()];
    let untouched = simple_record("aws_vpc.eu-central");
    for record in [&moved, &subnet, &peering, &untouched] {
        ok(store.put(record), "put");
    }
    let result = ok(crate::move_record(store.as_ref(), &from, &to), "move_record");
    assert_eq!(result.dependents, [subnet.address.clone(), peering.address.clone()]);
    assert_eq!(ok(store.serial(), "serial"), 5, "a move is one write");
    drop(store);

    let store = harness.reopen(&location);
    assert_eq!(ok(store.get(&from), "get"), None);
    assert_eq!(ok(store.get(&to), "get"), Some(Record { address: to.clone(), ..moved }));
    subnet.dependencies = vec![to.clone()];
    peering.dependencies = vec![addr("aws_vpc.eu-central"), to];
    assert_eq!(ok(store.get(&subnet.address), "get"), Some(subnet));
    assert_eq!(ok(store.get(&peering.address), "get"), Some(peering));
    assert_eq!(ok(store.get(&untouched.address), "get"), Some(untouched));
}

/// A move from an address not in state, to one in state, or to another kind is refused and
/// changes nothing.
pub fn a_refused_move_changes_nothing<H: Harness>(harness: &H) {
    let (_, store) = harness.create();
    for address in ["aws_vpc.a", "aws_vpc.b"] {
        ok(store.put(&simple_record(address)), "put");
    }
    let before = ok(store.snapshot(), "snapshot");
    let refusals = [
        ("aws_vpc.x", "aws_vpc.y", "NotInState"),
        ("aws_vpc.a", "aws_vpc.b", "AlreadyInState"),
        ("aws_vpc.a", "aws_vpc.a", "AlreadyInState"),
        ("aws_vpc.a", "aws_subnet.a", "KindMismatch"),
    ];
    for (from, to, expected) in refusals {
        let err = crate::move_record(store.as_ref(), &addr(from), &addr(to)).err();
        let found = match &err {
            Some(StateError::NotInState { .. }) => "NotInState",
            Some(StateError::AlreadyInState { .. }) => "AlreadyInState",
            Some(StateError::KindMismatch { .. }) => "KindMismatch",
            _ => "something else",
        };
        assert_eq!(found, expected, "moving {from} to {to}: {err:?}");
        assert_eq!(ok(store.snapshot(), "snapshot"), before, "a refused move of {from} to {to} changed the state");
    }
}

fn key(byte: u8) -> StateKey {
    ok(StateKey::from_bytes(&[byte; crate::seal::KEY_LEN]), "a test key")
}

/// A record whose secrets are easy to search for in stored bytes.
fn record_with_secrets(secrets: &[&str]) -> Record {
    let mut record = rich_record();
    for (i, secret) in secrets.iter().enumerate() {
        record.outputs.insert(format!("secret_{i}"), Value::secret(Value::from(*secret)));
    }
    record
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle.as_bytes())
}

/// With a key, records come back as written, and no secret's value is anywhere in what the
/// backend keeps, also after it was rewritten.
pub fn sealed_secrets_round_trip_and_never_rest_in_plain_text<H: SealedHarness>(harness: &H) {
    let secrets = ["conformance-secret-one", "conformance-secret-two"];
    let (location, store) = harness.create_sealed(&key(1));
    let record = record_with_secrets(&secrets);
    ok(store.put(&record), "put");
    let mut updated = record.clone();
    updated.outputs.insert("status".into(), Value::from("active"));
    ok(store.put(&updated), "put");
    assert_eq!(ok(store.get(&record.address), "get"), Some(updated.clone()));
    ok(store.keep_last_good(), "keep_last_good");
    drop(store);

    let store = ok(harness.reopen_with(&location, Some(&key(1))), "reopen with the key");
    assert_eq!(ok(store.get(&record.address), "get"), Some(updated), "a sealed record changed across reopen");
    drop(store);
    let stored = harness.stored_bytes(&location);
    assert!(!stored.is_empty(), "the harness found nothing at rest");
    for secret in secrets.into_iter().chain(["hunter2"]) {
        assert!(!contains(&stored, secret), "`{secret}` is at rest in plain text");
    }
}

/// Everything a store holds: its snapshot and its journal.
fn contents(store: &dyn StateStore) -> (crate::Snapshot, Vec<(u64, JournalEntry)>) {
    (ok(store.snapshot(), "snapshot"), ok(store.journal(), "journal"))
}

/// Encrypted state opened with another key, or none, is refused with an error naming the
/// key, and the state does not change; the right key still opens it.
pub fn a_wrong_or_missing_key_is_refused_and_changes_nothing<H: SealedHarness>(harness: &H) {
    let (location, store) = harness.create_sealed(&key(1));
    ok(store.put(&record_with_secrets(&["conformance-secret"])), "put");
    ok(store.journal_append(&JournalEntry::intent(addr("aws_vpc.a"), Operation::Create)), "journal_append");
    ok(store.keep_last_good(), "keep_last_good");
    let before = contents(store.as_ref());
    drop(store);
    match harness.reopen_with(&location, Some(&key(2))).err() {
        Some(StateError::WrongKey { expected, given, .. }) => {
            assert_eq!((&expected, &given), (key(1).id(), key(2).id()));
        }
        other => panic!("opening with another key: expected WrongKey, got {other:?}"),
    }
    match harness.reopen_with(&location, None).err() {
        Some(StateError::KeyMissing { key_id, .. }) => assert_eq!(&key_id, key(1).id()),
        other => panic!("opening without a key: expected KeyMissing, got {other:?}"),
    }
    let store = ok(harness.reopen_with(&location, Some(&key(1))), "reopen with the key");
    assert_eq!(contents(store.as_ref()), before, "a refused open changed the state");
}

/// State written without a key refuses one (until it is rekeyed), changing nothing.
pub fn plain_state_refuses_a_key_and_changes_nothing<H: SealedHarness>(harness: &H) {
    let (location, store) = harness.create();
    ok(store.put(&record_with_secrets(&["conformance-secret"])), "put");
    let before = contents(store.as_ref());
    drop(store);
    let err = harness.reopen_with(&location, Some(&key(1))).err();
    assert!(matches!(err, Some(StateError::NotEncrypted { .. })), "expected NotEncrypted, got {err:?}");
    let store = ok(harness.reopen_with(&location, None), "reopen without a key");
    assert_eq!(contents(store.as_ref()), before, "a refused open changed the state");
}
