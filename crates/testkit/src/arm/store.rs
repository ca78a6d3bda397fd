//! The fake's resources, keyed by lower-cased id (ARM ids are case-insensitive) and kept in id
//! order, so a resource's children sort right after it.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::kinds::Kind;

#[derive(Clone, Debug)]
pub(super) struct Entry {
    /// The id as the first PUT spelled it.
    pub id: String,
    pub kind: Kind,
    /// The stored resource, server-set fields and secrets (a connection's `sharedKey`) included.
    pub body: Value,
    /// The long-running operation under way on it, if any.
    pub op: Option<String>,
    /// A managed cluster's admin token, handed out by `listClusterAdminCredential`.
    pub secret: Option<String>,
}

impl Entry {
    pub fn key(&self) -> String {
        self.id.to_ascii_lowercase()
    }

    /// The `properties` object; `None` if a test's out-of-band edit made it something else.
    pub fn properties_mut(&mut self) -> Option<&mut Map<String, Value>> {
        self.body.get_mut("properties").and_then(Value::as_object_mut)
    }

    pub fn set_property(&mut self, name: &str, value: impl Into<Value>) {
        if let Some(properties) = self.properties_mut() {
            properties.insert(name.into(), value.into());
        }
    }

    pub fn location(&self) -> Option<&str> {
        self.body.get("location").and_then(Value::as_str)
    }
}

#[derive(Default)]
pub(super) struct Store {
    entries: BTreeMap<String, Entry>,
}

impl Store {
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Entry> {
        self.entries.get_mut(key)
    }

    pub fn insert(&mut self, entry: Entry) {
        self.entries.insert(entry.key(), entry);
    }

    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// The resources of `kind` whose key starts with `prefix`, in id order.
    pub fn list(&self, kind: Kind, prefix: &str) -> Vec<&Entry> {
        self.entries
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(_, e)| e)
            .filter(|e| e.kind == kind)
            .collect()
    }

    /// Removes a resource and everything nested under it (a group's resources, a network's
    /// peerings); returns what was removed.
    pub fn remove_tree(&mut self, key: &str) -> Vec<Entry> {
        let nested = format!("{key}/");
        let keys: Vec<String> =
            self.entries.keys().filter(|k| k.as_str() == key || k.starts_with(&nested)).cloned().collect();
        keys.iter().filter_map(|k| self.entries.remove(k)).collect()
    }
}
