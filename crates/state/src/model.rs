use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use ringform_core::{Address, Attributes, Kind};
use serde::{Deserialize, Serialize};

use crate::{StateError, Timestamp};

/// The identity of one deployment's state, fixed when the state is first created. A plan made
/// against one lineage must never be applied to another, even if the serials happen to match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Lineage(uuid::Uuid);

impl Lineage {
    /// A new random lineage (UUID v4).
    pub fn new() -> Lineage {
        Lineage(uuid::Uuid::new_v4())
    }

    pub const fn from_uuid(uuid: uuid::Uuid) -> Lineage {
        Lineage(uuid)
    }

    pub const fn as_uuid(&self) -> &uuid::Uuid {
        &self.0
    }
}

impl Default for Lineage {
    fn default() -> Self {
        Lineage::new()
    }
}

impl fmt::Display for Lineage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for Lineage {
    type Err = uuid::Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.parse().map(Lineage)
    }
}

/// What ringform knows about one resource it manages. The kind is the address's kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub address: Address,
    /// The provider's identifier of the object (VPC id, ARM resource id, …), once known.
    pub provider_id: Option<String>,
    /// The inputs the object was last created or updated with, as planned.
    pub inputs: Attributes,
    /// What the provider reported back.
    pub outputs: Attributes,
    /// The resources this one referenced when it was applied. Destroy deletes dependents
    /// first, also for resources no longer in the topology.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Address>,
    /// Version of the kind's attribute schema the record was written with, so that a newer
    /// ringform can upgrade old records.
    pub schema_version: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Record {
    /// A record created now, with schema version 0.
    pub fn new(address: Address, provider_id: Option<String>, inputs: Attributes, outputs: Attributes) -> Record {
        let now = Timestamp::now();
        Record {
            address,
            provider_id,
            inputs,
            outputs,
            dependencies: Vec::new(),
            schema_version: 0,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn kind(&self) -> Kind {
        self.address.kind()
    }
}

/// Everything in a state store at one serial, as a plain value: what the planner diffs the
/// desired graph against. Building one does no I/O.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub lineage: Lineage,
    pub serial: u64,
    pub records: BTreeMap<Address, Record>,
}

impl Snapshot {
    /// The state of a deployment that has never been applied: a fresh lineage, serial 0.
    pub fn empty() -> Snapshot {
        Snapshot { lineage: Lineage::new(), serial: 0, records: BTreeMap::new() }
    }

    /// A snapshot holding `records`, keyed by their addresses (a later record for the same
    /// address wins).
    pub fn new(lineage: Lineage, serial: u64, records: impl IntoIterator<Item = Record>) -> Snapshot {
        Snapshot { lineage, serial, records: records.into_iter().map(|r| (r.address.clone(), r)).collect() }
    }

    /// Adds or replaces the record for its address; a convenience for building test inputs.
    #[must_use]
    pub fn with(mut self, record: Record) -> Snapshot {
        self.records.insert(record.address.clone(), record);
        self
    }

    pub fn get(&self, address: &Address) -> Option<&Record> {
        self.records.get(address)
    }

    pub fn contains(&self, address: &Address) -> bool {
        self.records.contains_key(address)
    }

    /// Records in address order.
    pub fn iter(&self) -> impl Iterator<Item = &Record> {
        self.records.values()
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The whole state as one pretty JSON document (lineage, serial, then the records by
    /// address), the way `ringform state pull` prints it; secrets keep their `$secret` mark,
    /// and what they hold is shown only when asked.
    pub fn to_json(&self, secrets: Secrets) -> Result<String, StateError> {
        #[derive(Serialize)]
        struct Pulled<'a> {
            lineage: Lineage,
            serial: u64,
            records: BTreeMap<&'a Address, serde_json::Value>,
        }
        let encode_error = |source| StateError::Encode { what: "the state".into(), source };
        let mut records = BTreeMap::new();
        for (address, record) in &self.records {
            let mut json = serde_json::to_value(record).map_err(encode_error)?;
            if secrets == Secrets::Redacted {
                crate::seal::redact_secrets(&mut json);
            }
            records.insert(address, json);
        }
        let pulled = Pulled { lineage: self.lineage, serial: self.serial, records };
        serde_json::to_string_pretty(&pulled).map_err(encode_error)
    }
}

/// Whether a document made for people shows what secrets hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secrets {
    /// `(sensitive)` in place of every secret.
    Redacted,
    Shown,
}

/// What a journal entry is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Create,
    Update,
    Delete,
    Read,
    Adopt,
}

impl Operation {
    pub const fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::Read => "read",
            Operation::Adopt => "adopt",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an operation stood when its journal entry was written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Phase {
    /// About to call the provider; written (and flushed) before the call.
    Intent,
    Succeeded {
        provider_id: Option<String>,
    },
    /// The error is kept as text so that the journal stays serialisable and readable.
    Failed {
        error: String,
    },
}

impl Phase {
    /// True for [`Phase::Succeeded`] and [`Phase::Failed`].
    pub fn is_outcome(&self) -> bool {
        !matches!(self, Phase::Intent)
    }
}

/// One line of the write-ahead journal: an intent before a provider call, an outcome after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    pub address: Address,
    pub operation: Operation,
    pub phase: Phase,
    pub at: Timestamp,
}

impl JournalEntry {
    pub fn intent(address: Address, operation: Operation) -> JournalEntry {
        JournalEntry { address, operation, phase: Phase::Intent, at: Timestamp::now() }
    }

    pub fn succeeded(address: Address, operation: Operation, provider_id: Option<String>) -> JournalEntry {
        JournalEntry { address, operation, phase: Phase::Succeeded { provider_id }, at: Timestamp::now() }
    }

    pub fn failed(address: Address, operation: Operation, error: impl Into<String>) -> JournalEntry {
        JournalEntry { address, operation, phase: Phase::Failed { error: error.into() }, at: Timestamp::now() }
    }
}

/// The intents in `journal` (in order, with their sequence numbers) that no later outcome for
/// the same address and operation answers: the provider calls a crash may have left half done.
///
/// Matching on the operation as well as the address matters for replacements: a delete whose
/// outcome was never written stays unfinished even if a later create of the same address
/// succeeded, so the old object is still looked for.
pub fn unfinished_intents(journal: &[(u64, JournalEntry)]) -> Vec<(u64, JournalEntry)> {
    let mut open: BTreeMap<(&Address, Operation), Vec<usize>> = BTreeMap::new();
    for (index, (_, entry)) in journal.iter().enumerate() {
        let pending = open.entry((&entry.address, entry.operation)).or_default();
        if entry.phase.is_outcome() {
            pending.clear();
        } else {
            pending.push(index);
        }
    }
    let mut indexes: Vec<usize> = open.into_values().flatten().collect();
    indexes.sort_unstable();
    indexes.into_iter().map(|i| journal[i].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringform_core::Value;
    use ringform_schema::aws;

    fn addr(text: &str) -> Address {
        text.parse().unwrap()
    }

    #[test]
    fn record_json_is_readable_and_round_trips() {
        let mut record = Record::new(
            addr("aws_vpc.eu-west"),
            Some("vpc-1".into()),
            [("cidr_block".to_owned(), Value::from("10.100.0.0/16"))].into(),
            [("key".to_owned(), Value::secret("hunter2".into()))].into(),
        );
        record.created_at = Timestamp::from_unix_seconds(1_714_564_800);
        record.updated_at = record.created_at;
        let json = serde_json::to_string(&record).unwrap();
        assert_eq!(
            json,
            r#"{"address":"aws_vpc.eu-west","provider_id":"vpc-1","inputs":{"cidr_block":"10.100.0.0/16"},"outputs":{"key":{"$secret":"hunter2"}},"schema_version":0,"created_at":"2024-05-01T12:00:00Z","updated_at":"2024-05-01T12:00:00Z"}"#
        );
        assert_eq!(serde_json::from_str::<Record>(&json).unwrap(), record);
        assert_eq!(record.kind(), aws::VPC);
    }

    #[test]
    fn snapshot_round_trips_through_json_keyed_by_address_text() {
        let snapshot = Snapshot::empty()
            .with(Record::new(addr("aws_vpc.b"), None, Attributes::new(), Attributes::new()))
            .with(Record::new(addr("aws_vpc.a"), None, Attributes::new(), Attributes::new()));
        let json = serde_json::to_value(&snapshot).unwrap();
        assert!(json["records"]["aws_vpc.a"].is_object());
        assert_eq!(serde_json::from_value::<Snapshot>(json).unwrap(), snapshot);
        let order: Vec<String> = snapshot.iter().map(|r| r.address.to_string()).collect();
        assert_eq!(order, ["aws_vpc.a", "aws_vpc.b"]);
    }

    #[test]
    fn a_pulled_snapshot_shows_secrets_only_when_asked() {
        let record = Record::new(
            addr("azure_vpn_connection.a~b"),
            None,
            [("shared_key".to_owned(), Value::secret("hunter2".into()))].into(),
            Attributes::new(),
        );
        let snapshot = Snapshot::empty().with(record);
        let text = snapshot.to_json(Secrets::Redacted).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(
            text.starts_with(&format!("{{\n  \"lineage\": \"{}\",\n  \"serial\": 0,\n", snapshot.lineage)),
            "{text}"
        );
        let redacted: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(redacted["records"]["azure_vpn_connection.a~b"]["inputs"]["shared_key"]["$secret"], "(sensitive)");
        let shown = snapshot.to_json(Secrets::Shown).unwrap();
        assert_eq!(serde_json::from_str::<Snapshot>(&shown).unwrap(), snapshot);
    }

    #[test]
    fn journal_entry_json() {
        let mut entry = JournalEntry::succeeded(addr("aws_vpc.a"), Operation::Create, Some("vpc-1".into()));
        entry.at = Timestamp::from_unix_seconds(0);
        let json = serde_json::to_string(&entry).unwrap();
        assert_eq!(
            json,
            r#"{"address":"aws_vpc.a","operation":"create","phase":{"status":"succeeded","provider_id":"vpc-1"},"at":"1970-01-01T00:00:00Z"}"#
        );
        assert_eq!(serde_json::from_str::<JournalEntry>(&json).unwrap(), entry);
    }

    #[test]
    fn unfinished_intents_match_address_and_operation() {
        let (a, b) = (addr("aws_vpc.a"), addr("aws_vpc.b"));
        let journal: Vec<(u64, JournalEntry)> = [
            JournalEntry::intent(a.clone(), Operation::Delete),
            JournalEntry::intent(b.clone(), Operation::Create),
            JournalEntry::failed(b.clone(), Operation::Create, "throttled"),
            JournalEntry::intent(a.clone(), Operation::Create),
            JournalEntry::succeeded(a.clone(), Operation::Create, Some("vpc-2".into())),
            JournalEntry::intent(b.clone(), Operation::Create),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, e)| (i as u64 + 10, e))
        .collect();
        let open: Vec<(u64, Address, Operation)> =
            unfinished_intents(&journal).into_iter().map(|(s, e)| (s, e.address, e.operation)).collect();
        assert_eq!(open, [(10, a, Operation::Delete), (15, b, Operation::Create)]);
    }
}
