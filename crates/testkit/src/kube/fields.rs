//! Field ownership and server-side apply. An object's
//! `metadata.managedFields` says, per manager, operation (`Apply` or `Update`) and subresource,
//! which fields it owns, in FieldsV1 form. Here a field is the path to a leaf: a scalar, an
//! empty map, or a whole list — lists are atomic, even those the real server merges by key
//! (containers by `name`), so two managers cannot own different items of one list.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::store::now;

pub(super) type Path = Vec<String>;

/// Which part of an object a write covers: with a `status` subresource, writes to the object
/// leave `status` alone and writes to `/status` touch only it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Scope {
    All,
    Main,
    Status,
}

impl Scope {
    fn includes(self, path: &[String]) -> bool {
        let status = path.first().is_some_and(|p| p == "status");
        match self {
            Scope::All => true,
            Scope::Main => !status,
            Scope::Status => status,
        }
    }

    fn subresource(self) -> Option<&'static str> {
        (self == Scope::Status).then_some("status")
    }

    /// The part of a request body this scope writes.
    pub fn part(self, body: &Value) -> Value {
        let mut part = body.clone();
        if let Some(map) = part.as_object_mut() {
            match self {
                Scope::All => {}
                Scope::Main => {
                    map.remove("status");
                }
                Scope::Status => map.retain(|k, _| k == "status"),
            }
        }
        part
    }
}

/// Who writes: the field manager, the apiVersion it speaks, and the part it writes.
pub(super) struct Writer<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    pub scope: Scope,
}

/// A field another manager owns with a different value than the applied one.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Conflict {
    pub manager: String,
    pub path: Path,
}

/// Metadata the server sets: nobody owns it.
const SERVER_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// The leaf fields of `value` in `scope`, leaving out what the server owns.
pub(super) fn leaves(value: &Value, scope: Scope) -> BTreeSet<Path> {
    fn walk(value: &Value, path: &mut Path, out: &mut BTreeSet<Path>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (key, child) in map {
                    path.push(key.clone());
                    walk(child, path, out);
                    path.pop();
                }
            }
            Value::Null => {}
            _ if !path.is_empty() => {
                out.insert(path.clone());
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(value, &mut Vec::new(), &mut out);
    out.retain(|p| {
        let server = match p.as_slice() {
            [top] => top == "apiVersion" || top == "kind",
            [metadata, field, ..] => metadata == "metadata" && SERVER_METADATA.contains(&field.as_str()),
            _ => false,
        };
        scope.includes(p) && !server
    });
    out
}

/// `.spec.replicas`, as conflict messages spell a field.
pub(super) fn dotted(path: &[String]) -> String {
    path.iter().map(|s| format!(".{s}")).collect()
}

fn get<'v>(value: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

fn remove(value: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else { return };
    let parent = parents.iter().try_fold(value, |v, key| v.get_mut(key));
    if let Some(map) = parent.and_then(Value::as_object_mut) {
        map.remove(last);
    }
}

/// Whether a field's owner sees its value changed. A field that is a map was applied as an
/// empty one (leaves are never maps otherwise): its owner owns a map, whatever others put in it.
fn changes(before: Option<&Value>, after: Option<&Value>) -> bool {
    match (before, after) {
        (Some(Value::Object(_)), Some(Value::Object(_))) => false,
        _ => before != after,
    }
}

/// One path is the other or contains it.
fn overlaps(a: &[String], b: &[String]) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// Deep merge for apply: maps merge key by key, anything else (lists included) replaces;
/// nulls in the applied configuration are left out.
pub(super) fn merge(target: &mut Value, source: &Value) {
    match (target, source) {
        (Value::Object(target), Value::Object(source)) => {
            for (key, value) in source.iter().filter(|(_, v)| !v.is_null()) {
                match target.get_mut(key) {
                    Some(existing) if existing.is_object() && value.is_object() => merge(existing, value),
                    _ => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (target, source) => *target = source.clone(),
    }
}

#[derive(Clone, Debug)]
struct Entry {
    manager: String,
    operation: String,
    subresource: Option<String>,
    api_version: String,
    time: String,
    fields: BTreeSet<Path>,
}

impl Entry {
    fn is(&self, writer: &Writer<'_>, operation: &str) -> bool {
        self.manager == writer.manager
            && self.operation == operation
            && self.subresource.as_deref() == writer.scope.subresource()
    }

    fn new(writer: &Writer<'_>, operation: &str, fields: BTreeSet<Path>) -> Entry {
        Entry {
            manager: writer.manager.to_string(),
            operation: operation.to_string(),
            subresource: writer.scope.subresource().map(str::to_string),
            api_version: writer.api_version.to_string(),
            time: now(),
            fields,
        }
    }
}

fn read(object: &Value) -> Vec<Entry> {
    fn paths(fields: &Value, path: &mut Path, out: &mut BTreeSet<Path>) {
        let Some(map) = fields.as_object() else { return };
        for (key, child) in map {
            let Some(name) = key.strip_prefix("f:") else { continue };
            path.push(name.to_string());
            if child.as_object().is_some_and(Map::is_empty) {
                out.insert(path.clone());
            } else {
                paths(child, path, out);
            }
            path.pop();
        }
    }
    let entries = object["metadata"]["managedFields"].as_array().map(Vec::as_slice).unwrap_or_default();
    entries
        .iter()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            let mut fields = BTreeSet::new();
            paths(&e["fieldsV1"], &mut Vec::new(), &mut fields);
            Entry {
                manager: text("manager"),
                operation: text("operation"),
                subresource: e["subresource"].as_str().map(str::to_string),
                api_version: text("apiVersion"),
                time: text("time"),
                fields,
            }
        })
        .collect()
}

fn write(object: &mut Value, entries: Vec<Entry>) {
    let listed: Vec<Value> = entries
        .into_iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut fields = json!({});
            for path in &e.fields {
                let leaf = path.iter().fold(&mut fields, |node, key| &mut node[format!("f:{key}")]);
                *leaf = json!({});
            }
            let mut entry = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": fields,
            });
            if let Some(subresource) = e.subresource {
                entry["subresource"] = subresource.into();
            }
            entry
        })
        .collect();
    object["metadata"]["managedFields"] = listed.into();
}

/// Server-side apply of `config` by `writer` to `current` (`None`: the object is created).
/// Fields other managers own with a different value are conflicts, unless `force` moves them to
/// the writer; fields the writer applied before and omits now are removed unless another
/// manager owns them. Returns the object with its new `managedFields`.
pub(super) fn apply(
    current: Option<&Value>,
    config: &Value,
    writer: &Writer<'_>,
    force: bool,
) -> Result<Value, Vec<Conflict>> {
    let applied = leaves(config, writer.scope);
    let mut object = current.cloned().unwrap_or_else(|| json!({}));
    let mut entries = read(&object);
    // A conflict is a field another manager owns whose value the applied configuration changes.
    let mut merged = object.clone();
    merge(&mut merged, &writer.scope.part(config));
    let mut conflicts = BTreeSet::new();
    for entry in entries.iter().filter(|e| !e.is(writer, "Apply")) {
        for owned in &entry.fields {
            if applied.iter().any(|p| overlaps(p, owned)) && changes(get(&object, owned), get(&merged, owned)) {
                conflicts.insert(Conflict { manager: entry.manager.clone(), path: owned.clone() });
            }
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflicts.into_iter().collect());
    }
    for entry in entries.iter_mut().filter(|e| !e.is(writer, "Apply")) {
        entry.fields.retain(|owned| !conflicts.iter().any(|c| c.manager == entry.manager && c.path == *owned));
    }
    let previous = entries.iter().find(|e| e.is(writer, "Apply")).map(|e| e.fields.clone()).unwrap_or_default();
    // A field stays while it, or something under it, is applied again or owned by another.
    for path in previous.iter().filter(|p| !applied.iter().any(|a| a.starts_with(p))) {
        let kept =
            entries.iter().filter(|e| !e.is(writer, "Apply")).any(|e| e.fields.iter().any(|o| o.starts_with(path)));
        if !kept {
            remove(&mut object, path);
        }
    }
    merge(&mut object, &writer.scope.part(config));
    match entries.iter_mut().find(|e| e.is(writer, "Apply")) {
        Some(entry) => *entry = Entry::new(writer, "Apply", applied),
        None => entries.push(Entry::new(writer, "Apply", applied)),
    }
    write(&mut object, entries);
    Ok(object)
}

/// Records a create, replace or merge patch by `writer` that turned `current` into `object`:
/// the writer owns what it changed (taking it from other managers), and fields gone from the
/// object are owned by nobody.
pub(super) fn update(current: Option<&Value>, object: &mut Value, writer: &Writer<'_>) {
    let changed: BTreeSet<Path> = leaves(object, writer.scope)
        .into_iter()
        .filter(|p| current.is_none_or(|c| get(c, p) != get(object, p)))
        .collect();
    let mut entries = current.map(read).unwrap_or_default();
    for entry in &mut entries {
        entry.fields.retain(|p| get(object, p).is_some());
        if !entry.is(writer, "Update") {
            entry.fields.retain(|p| !changed.iter().any(|c| overlaps(c, p)));
        }
    }
    match entries.iter_mut().find(|e| e.is(writer, "Update")) {
        Some(entry) => {
            entry.fields.extend(changed);
            entry.time = now();
        }
        None => entries.push(Entry::new(writer, "Update", changed)),
    }
    write(object, entries);
}
