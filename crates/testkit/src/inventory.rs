//! What the fake cloud holds: objects by provider id, optionally mirrored to a JSON file that is
//! rewritten atomically on every mutation, so a killed process leaves exactly what it did.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ringform_core::provider::{ADDRESS_TAG, DEPLOYMENT_TAG, Observed};
use ringform_core::{Address, Attributes, Kind, Value};
use serde::{Deserialize, Serialize};

/// One object in the fake cloud.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FakeObject {
    pub provider_id: String,
    #[serde(with = "kind_text")]
    pub kind: Kind,
    pub address: Address,
    /// The ownership tags ([`DEPLOYMENT_TAG`], [`ADDRESS_TAG`]) the object was created with.
    pub tags: BTreeMap<String, String>,
    pub inputs: Attributes,
    pub outputs: Attributes,
}

impl FakeObject {
    pub fn tag(&self, name: &str) -> Option<&str> {
        self.tags.get(name).map(String::as_str)
    }

    /// The deployment that owns the object, from its tag.
    pub fn deployment(&self) -> Option<&str> {
        self.tag(DEPLOYMENT_TAG)
    }

    pub fn observed(&self) -> Observed {
        Observed {
            address: self.address.clone(),
            provider_id: self.provider_id.clone(),
            inputs: self.inputs.clone(),
            outputs: self.outputs.clone(),
        }
    }

    fn is_tagged(&self, deployment: &str, address: &Address) -> bool {
        self.tag(DEPLOYMENT_TAG) == Some(deployment) && self.tag(ADDRESS_TAG) == Some(address.to_string().as_str())
    }
}

/// The difference between the fake cloud and what someone (usually the state store) believes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Comparison {
    /// Expected `(address, provider_id)` pairs with no such object in the cloud.
    pub missing: Vec<(Address, String)>,
    /// Objects in the cloud nobody expected: leaks and duplicates.
    pub unexpected: Vec<FakeObject>,
}

impl Comparison {
    /// True when the cloud holds exactly the expected objects.
    pub fn is_exact(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty()
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_exact() {
            return f.write_str("the fake cloud holds exactly the expected objects");
        }
        for (address, id) in &self.missing {
            writeln!(f, "missing: {address} ({id}) is expected but not in the fake cloud")?;
        }
        for object in &self.unexpected {
            writeln!(
                f,
                "unexpected: {} ({}) is in the fake cloud but not expected",
                object.address, object.provider_id
            )?;
        }
        Ok(())
    }
}

/// The persisted form; `next_serial` survives restarts so provider ids are never reused.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Snapshot {
    next_serial: u64,
    objects: BTreeMap<String, FakeObject>,
}

#[derive(Debug, Default)]
struct Shared {
    snapshot: Snapshot,
    path: Option<PathBuf>,
}

/// The fake cloud's objects, shared by every clone. In memory by default; see [`Inventory::open`].
#[derive(Clone, Debug, Default)]
pub struct Inventory {
    shared: Arc<Mutex<Shared>>,
}

impl Inventory {
    /// An empty in-memory inventory.
    pub fn new() -> Self {
        Inventory::default()
    }

    /// A file-backed inventory: loads `path` if it exists, and every mutation rewrites it
    /// atomically (temp file, fsync, rename) before the call that made it returns.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let snapshot = match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidData, format!("{} is not a fake inventory: {e}", path.display()))
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Snapshot::default(),
            Err(e) => return Err(e),
        };
        Ok(Inventory { shared: Arc::new(Mutex::new(Shared { snapshot, path: Some(path) })) })
    }

    /// The backing file, if any.
    pub fn path(&self) -> Option<PathBuf> {
        self.lock().path.clone()
    }

    /// Every object, ordered by address then provider id.
    pub fn objects(&self) -> Vec<FakeObject> {
        let mut objects: Vec<FakeObject> = self.lock().snapshot.objects.values().cloned().collect();
        objects.sort_by(|a, b| (&a.address, &a.provider_id).cmp(&(&b.address, &b.provider_id)));
        objects
    }

    pub fn get(&self, provider_id: &str) -> Option<FakeObject> {
        self.lock().snapshot.objects.get(provider_id).cloned()
    }

    /// Every object at `address` (more than one means something was duplicated).
    pub fn by_address(&self, address: &Address) -> Vec<FakeObject> {
        self.objects().into_iter().filter(|o| &o.address == address).collect()
    }

    /// Every object carrying the ownership tags of `deployment` and `address`.
    pub fn by_tags(&self, deployment: &str, address: &Address) -> Vec<FakeObject> {
        self.objects().into_iter().filter(|o| o.is_tagged(deployment, address)).collect()
    }

    pub fn len(&self) -> usize {
        self.lock().snapshot.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn count(&self, kind: Kind) -> usize {
        self.lock().snapshot.objects.values().filter(|o| o.kind == kind).count()
    }

    /// Compares the cloud with the `(address, provider_id)` pairs someone believes exist.
    pub fn compare(&self, expected: impl IntoIterator<Item = (Address, String)>) -> Comparison {
        let expected: BTreeSet<(Address, String)> = expected.into_iter().collect();
        let objects = self.objects();
        let present: BTreeSet<(Address, String)> =
            objects.iter().map(|o| (o.address.clone(), o.provider_id.clone())).collect();
        Comparison {
            missing: expected.difference(&present).cloned().collect(),
            unexpected: objects
                .into_iter()
                .filter(|o| !expected.contains(&(o.address.clone(), o.provider_id.clone())))
                .collect(),
        }
    }

    /// Changes one input out of band, to simulate drift. False if there is no such object.
    pub fn set_input(&self, provider_id: &str, name: &str, value: Value) -> io::Result<bool> {
        self.modify(provider_id, |object| {
            object.inputs.insert(name.to_owned(), value);
        })
    }

    /// Changes an object out of band. False if there is no such object.
    pub fn modify(&self, provider_id: &str, change: impl FnOnce(&mut FakeObject)) -> io::Result<bool> {
        self.mutate(|snapshot| snapshot.objects.get_mut(provider_id).map(change).is_some())
    }

    /// Removes an object (out of band, or for the fake's delete).
    pub fn remove(&self, provider_id: &str) -> io::Result<Option<FakeObject>> {
        self.mutate(|snapshot| snapshot.objects.remove(provider_id))
    }

    /// Puts an object in as is, e.g. an orphan of an earlier run for adoption tests.
    pub fn insert(&self, object: FakeObject) -> io::Result<()> {
        self.mutate(|snapshot| {
            // Keep fresh ids fresh if the caller mimicked the `<kind>-<serial>` form.
            if let Some(serial) = object.provider_id.rsplit('-').next().and_then(|n| n.parse::<u64>().ok()) {
                snapshot.next_serial = snapshot.next_serial.max(serial);
            }
            snapshot.objects.insert(object.provider_id.clone(), object);
        })
    }

    /// Creates an object with a fresh `<kind>-<serial>` id; `outputs` gets that id.
    pub(crate) fn create(
        &self,
        deployment: &str,
        address: &Address,
        inputs: Attributes,
        outputs: impl FnOnce(&str) -> Attributes,
    ) -> io::Result<FakeObject> {
        self.mutate(|snapshot| {
            snapshot.next_serial += 1;
            let provider_id = format!("{}-{}", address.kind(), snapshot.next_serial);
            let object = FakeObject {
                outputs: outputs(&provider_id),
                provider_id: provider_id.clone(),
                kind: address.kind(),
                address: address.clone(),
                tags: BTreeMap::from([
                    (DEPLOYMENT_TAG.to_owned(), deployment.to_owned()),
                    (ADDRESS_TAG.to_owned(), address.to_string()),
                ]),
                inputs,
            };
            snapshot.objects.insert(provider_id, object.clone());
            object
        })
    }

    /// Replaces an object's inputs and outputs; `None` if there is no such object.
    pub(crate) fn update(
        &self,
        provider_id: &str,
        inputs: Attributes,
        outputs: impl FnOnce(&Attributes) -> Attributes,
    ) -> io::Result<Option<FakeObject>> {
        self.mutate(|snapshot| {
            let object = snapshot.objects.get_mut(provider_id)?;
            object.outputs = outputs(&object.outputs);
            object.inputs = inputs;
            Some(object.clone())
        })
    }

    /// Applies `change` and, when file-backed, persists the result before returning; a failed
    /// write rolls the change back so memory and file never disagree.
    fn mutate<R>(&self, change: impl FnOnce(&mut Snapshot) -> R) -> io::Result<R> {
        let mut guard = self.lock();
        let shared = &mut *guard;
        let Some(path) = &shared.path else {
            return Ok(change(&mut shared.snapshot));
        };
        let before = shared.snapshot.clone();
        let result = change(&mut shared.snapshot);
        if let Err(e) = write_atomically(path, &shared.snapshot) {
            shared.snapshot = before;
            return Err(e);
        }
        Ok(result)
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        // A panicking test thread must not take the whole fake cloud down with it.
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn write_atomically(path: &Path, snapshot: &Snapshot) -> io::Result<()> {
    let bytes = serde_json::to_vec_pretty(snapshot).map_err(io::Error::other)?;
    let mut temp = path.as_os_str().to_owned();
    temp.push(".tmp");
    let temp = PathBuf::from(temp);
    let mut file = File::create(&temp)?;
    file.write_all(&bytes)?;
    // SIGKILL leaves the page cache alone, but fsync keeps the file honest on power loss too.
    file.sync_all()?;
    fs::rename(&temp, path)
}

/// `Kind` has no serde of its own; store its text form.
mod kind_text {
    use ringform_core::Kind;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(kind: &Kind, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(kind.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Kind, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringform_schema::aws;

    fn address(text: &str) -> Address {
        text.parse().unwrap()
    }

    fn inputs() -> Attributes {
        Attributes::from([("region".to_owned(), Value::from("eu-west-1"))])
    }

    #[test]
    fn file_backed_inventory_survives_reopen_and_never_reuses_ids() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cloud.json");
        let inventory = Inventory::open(&path).unwrap();
        let a = inventory.create("d", &address("aws_vpc.a"), inputs(), |_| Attributes::new()).unwrap();
        let b = inventory.create("d", &address("aws_vpc.b"), inputs(), |_| Attributes::new()).unwrap();
        inventory.remove(&b.provider_id).unwrap();
        drop(inventory);

        let reopened = Inventory::open(&path).unwrap();
        assert_eq!(reopened.objects(), vec![a.clone()]);
        let c = reopened.create("d", &address("aws_vpc.b"), inputs(), |_| Attributes::new()).unwrap();
        assert_ne!(c.provider_id, a.provider_id);
        assert_ne!(c.provider_id, b.provider_id, "ids must stay unique across restarts");
        assert_eq!(Inventory::open(&path).unwrap().len(), 2);
    }

    #[test]
    fn a_corrupt_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cloud.json");
        fs::write(&path, "not json").unwrap();
        assert_eq!(Inventory::open(&path).unwrap_err().kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn compare_reports_missing_and_unexpected() {
        let inventory = Inventory::new();
        let a = inventory.create("d", &address("aws_vpc.a"), inputs(), |_| Attributes::new()).unwrap();
        let dup = inventory.create("d", &address("aws_vpc.a"), inputs(), |_| Attributes::new()).unwrap();
        assert!(
            inventory
                .compare([(a.address.clone(), a.provider_id.clone()), (dup.address.clone(), dup.provider_id.clone())])
                .is_exact()
        );

        let comparison =
            inventory.compare([(a.address.clone(), a.provider_id.clone()), (address("aws_vpc.b"), "x".into())]);
        assert_eq!(comparison.missing, vec![(address("aws_vpc.b"), "x".to_owned())]);
        assert_eq!(comparison.unexpected, vec![dup.clone()]);
        assert!(comparison.to_string().contains("unexpected: aws_vpc.a"));
        assert_eq!(inventory.by_address(&a.address).len(), 2);
        assert_eq!(inventory.count(aws::VPC), 2);
    }

    #[test]
    fn tags_name_deployment_and_address() {
        let inventory = Inventory::new();
        let a = inventory.create("prod", &address("aws_vpc.a"), inputs(), |_| Attributes::new()).unwrap();
        assert_eq!(a.deployment(), Some("prod"));
        assert_eq!(a.tag(ADDRESS_TAG), Some("aws_vpc.a"));
        assert_eq!(inventory.by_tags("prod", &a.address), vec![a.clone()]);
        assert!(inventory.by_tags("test", &a.address).is_empty());

        // An object put in by hand (an orphan to adopt) does not collide with later ids.
        let orphan = FakeObject { provider_id: "aws_vpc-41".into(), ..a };
        inventory.insert(orphan.clone()).unwrap();
        let next = inventory.create("prod", &address("aws_vpc.b"), inputs(), |_| Attributes::new()).unwrap();
        assert_eq!(next.provider_id, "aws_vpc-42");
        assert_eq!(inventory.get("aws_vpc-41"), Some(orphan));
    }
}
