//! One cluster's objects, its resourceVersion counter and its event history. Every write goes
//! through [`Cluster::put`] or [`Cluster::remove`], which keep the server-set metadata (uid,
//! resourceVersion, generation, creationTimestamp) and record the watch event.

use std::collections::{BTreeMap, VecDeque};

use serde_json::{Value, json};

use super::Flavor;
use super::defaults;

/// How many events a cluster remembers for watches that resume; older ones answer 410 Gone.
const HISTORY: usize = 10_000;

/// Where an object lives in a cluster; `namespace` is empty for cluster-scoped types.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct ObjectKey {
    pub group: String,
    pub plural: String,
    pub namespace: String,
    pub name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

#[derive(Clone, Debug)]
pub(super) struct Event {
    pub revision: u64,
    pub r#type: EventType,
    pub key: ObjectKey,
    pub object: Value,
    /// What a MODIFIED object was before, so that a selective watch can tell it entered or left.
    pub previous: Option<Value>,
}

pub(super) struct Cluster {
    pub flavor: Flavor,
    /// The cluster's place in creation order: which pod address range it draws from.
    pub index: usize,
    objects: BTreeMap<ObjectKey, Value>,
    revision: u64,
    history: VecDeque<Event>,
    /// Events at or below this revision are forgotten.
    forgotten: u64,
}

impl Cluster {
    /// A fresh cluster with the objects a new cluster of its flavour has.
    pub fn new(flavor: Flavor, index: usize) -> Cluster {
        let mut cluster =
            Cluster { flavor, index, objects: BTreeMap::new(), revision: 0, history: VecDeque::new(), forgotten: 0 };
        for (key, object) in defaults::objects(flavor) {
            cluster.put(key, object);
        }
        cluster
    }

    pub fn revision(&self) -> u64 {
        self.revision
    }

    pub fn get(&self, key: &ObjectKey) -> Option<&Value> {
        self.objects.get(key)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&ObjectKey, &Value)> {
        self.objects.iter()
    }

    /// The objects of one type, in one namespace or all.
    pub fn list<'a>(
        &'a self,
        group: &'a str,
        plural: &'a str,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a ObjectKey, &'a Value)> {
        self.objects.iter().filter(move |(k, _)| {
            k.group == group && k.plural == plural && namespace.is_none_or(|ns| k.namespace == ns)
        })
    }

    /// Stores an object, setting the metadata the server owns, and returns it as stored. An
    /// object being deleted whose last finalizer went is removed instead.
    pub fn put(&mut self, key: ObjectKey, mut object: Value) -> Value {
        let previous = self.objects.get(&key);
        if !object.is_object() {
            object = json!({});
        }
        if !object["metadata"].is_object() {
            object["metadata"] = json!({});
        }
        let metadata = &mut object["metadata"];
        metadata["name"] = key.name.clone().into();
        if key.namespace.is_empty() {
            if let Some(m) = metadata.as_object_mut() {
                m.remove("namespace");
            }
        } else {
            metadata["namespace"] = key.namespace.clone().into();
        }
        match previous {
            Some(previous) => {
                for kept in ["uid", "creationTimestamp"] {
                    metadata[kept] = previous["metadata"][kept].clone();
                }
                let generation = previous["metadata"]["generation"].as_i64().unwrap_or(1);
                let changed = without_meta(previous) != without_meta(&object);
                object["metadata"]["generation"] = (generation + i64::from(changed)).into();
            }
            None => {
                metadata["uid"] = uuid::Uuid::new_v4().to_string().into();
                metadata["creationTimestamp"] = now().into();
                metadata["generation"] = 1.into();
            }
        }
        let deleting = !object["metadata"]["deletionTimestamp"].is_null();
        let finalizers = object["metadata"]["finalizers"].as_array().is_some_and(|f| !f.is_empty());
        // A namespace goes only once it is empty (it is emptied when it is deleted).
        let holds_objects =
            key.group.is_empty() && key.plural == "namespaces" && self.objects.keys().any(|k| k.namespace == key.name);
        if deleting && !finalizers && !holds_objects && previous.is_some() {
            self.objects.insert(key.clone(), object);
            return self.remove(&key).unwrap_or_default();
        }
        self.revision += 1;
        object["metadata"]["resourceVersion"] = self.revision.to_string().into();
        let previous = self.objects.insert(key.clone(), object.clone());
        let r#type = if previous.is_some() { EventType::Modified } else { EventType::Added };
        self.record(r#type, key, object.clone(), previous);
        object
    }

    /// Removes an object for good (finalizers are the caller's business); returns it as last seen.
    /// What goes with it goes too: a CRD's custom resources, and a terminating namespace once
    /// its last object is gone.
    pub fn remove(&mut self, key: &ObjectKey) -> Option<Value> {
        let mut object = self.objects.remove(key)?;
        self.revision += 1;
        object["metadata"]["resourceVersion"] = self.revision.to_string().into();
        self.record(EventType::Deleted, key.clone(), object.clone(), None);
        if key.group == "apiextensions.k8s.io" {
            let (group, plural) = (&object["spec"]["group"], &object["spec"]["names"]["plural"]);
            let gone: Vec<ObjectKey> = self
                .objects
                .keys()
                .filter(|k| group.as_str() == Some(&k.group) && plural.as_str() == Some(&k.plural))
                .cloned()
                .collect();
            for k in gone {
                self.remove(&k);
            }
        }
        if !key.namespace.is_empty() {
            let namespace = namespace_key(&key.namespace);
            let terminating =
                self.objects.get(&namespace).is_some_and(|ns| !ns["metadata"]["deletionTimestamp"].is_null());
            if terminating && !self.objects.keys().any(|k| k.namespace == key.namespace) {
                self.remove(&namespace);
            }
        }
        Some(object)
    }

    fn record(&mut self, r#type: EventType, key: ObjectKey, object: Value, previous: Option<Value>) {
        self.history.push_back(Event { revision: self.revision, r#type, key, object, previous });
        while self.history.len() > HISTORY {
            if let Some(event) = self.history.pop_front() {
                self.forgotten = event.revision;
            }
        }
    }

    /// The events after `revision`, or `None` when some of them are forgotten.
    pub fn events_after(&self, revision: u64) -> Option<impl Iterator<Item = &Event>> {
        (revision >= self.forgotten).then(|| self.history.iter().filter(move |e| e.revision > revision))
    }

    /// Forgets the event history, so that watches resuming from before now get 410 Gone.
    pub fn compact(&mut self) {
        self.history.clear();
        self.forgotten = self.revision;
    }
}

/// What changes the generation: everything but `metadata` and `status`.
fn without_meta(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        map.remove("metadata");
        map.remove("status");
    }
    object
}

pub(super) fn namespace_key(name: &str) -> ObjectKey {
    ObjectKey { group: String::new(), plural: "namespaces".into(), namespace: String::new(), name: name.into() }
}

pub(super) fn now() -> String {
    ringform_state::Timestamp::now().to_string()
}
