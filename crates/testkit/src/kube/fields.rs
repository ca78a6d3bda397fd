//! Field ownership and server-side apply. An object's
//! `metadata.managedFields` says, per manager, operation (`Apply` or `Update`) and subresource,
//! which fields it owns, in FieldsV1 form. Here a field is the path to a leaf: a scalar, an
//! empty map, or a whole list; or an item of a list merged by key, with its fields. As in the
//! real server, built-in types' pod templates merge their containers, init and ephemeral
//! containers, env and volumes by `name`, so two managers own different items of one list
//! (FieldsV1 writes such an item `k:{"name":"aws-node"}`). Other lists are atomic, including
//! the real server's other keyed lists (`volumeMounts` by `mountPath`, `ports` by port and
//! protocol) and any a CRD's schema declares `x-kubernetes-list-type: map`.

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

/// Who writes: the field manager, the apiVersion it speaks, and the part it writes; `builtin`
/// when the type is built in, whose schema merges some lists by name (see [`KEYED_BY_NAME`]).
pub(super) struct Writer<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    pub scope: Scope,
    pub builtin: bool,
}

/// The lists of built-in types the real server merges item by item, keyed by `name` (their
/// schemas say `x-kubernetes-patch-merge-key: name`): those of pod templates.
const KEYED_BY_NAME: &[&str] = &["containers", "initContainers", "ephemeralContainers", "env", "volumes"];

/// Whether `items`, the list at field `field` of a built-in type, merges by name.
fn by_name(field: Option<&String>, items: &[Value]) -> bool {
    field.is_some_and(|f| KEYED_BY_NAME.contains(&f.as_str())) && items.iter().all(|i| i["name"].is_string())
}

/// The path segment of the list item named `name`, as FieldsV1 writes it.
fn item(name: &str) -> String {
    format!("k:{}", json!({ "name": name }))
}

/// The name a list item's path segment names, if it names one.
fn item_name(segment: &str) -> Option<String> {
    let key: Value = serde_json::from_str(segment.strip_prefix("k:")?).ok()?;
    key["name"].as_str().map(str::to_string)
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

/// The leaf fields of `value` (and the items of lists merged by name) that `writer` writes,
/// leaving out what the server owns.
fn leaves(value: &Value, writer: &Writer<'_>) -> BTreeSet<Path> {
    fn walk(value: &Value, path: &mut Path, builtin: bool, out: &mut BTreeSet<Path>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (key, child) in map {
                    path.push(key.clone());
                    walk(child, path, builtin, out);
                    path.pop();
                }
            }
            Value::Array(items) if builtin && !items.is_empty() && by_name(path.last(), items) => {
                for child in items {
                    path.push(item(child["name"].as_str().unwrap_or_default()));
                    out.insert(path.clone());
                    walk(child, path, builtin, out);
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
    walk(value, &mut Vec::new(), writer.builtin, &mut out);
    out.retain(|p| {
        let server = match p.as_slice() {
            [top] => top == "apiVersion" || top == "kind",
            [metadata, field, ..] => metadata == "metadata" && SERVER_METADATA.contains(&field.as_str()),
            _ => false,
        };
        writer.scope.includes(p) && !server
    });
    out
}

/// `.spec.replicas`, `.spec.template.spec.containers[name="aws-node"].image`, as conflict
/// messages spell a field.
pub(super) fn dotted(path: &[String]) -> String {
    let segment = |s: &String| match item_name(s) {
        Some(name) => format!("[name={}]", json!(name)),
        None => format!(".{s}"),
    };
    path.iter().map(segment).collect()
}

/// The field or list item `segment` names in `value`.
fn child<'v>(value: &'v Value, segment: &str) -> Option<&'v Value> {
    match (value, item_name(segment)) {
        (Value::Array(items), Some(name)) => items.iter().find(|i| i["name"] == name),
        _ => value.get(segment),
    }
}

fn child_mut<'v>(value: &'v mut Value, segment: &str) -> Option<&'v mut Value> {
    match (value, item_name(segment)) {
        (Value::Array(items), Some(name)) => items.iter_mut().find(|i| i["name"] == name),
        (value, _) => value.get_mut(segment),
    }
}

fn get<'v>(value: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, segment| child(v, segment))
}

fn remove(value: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else { return };
    match (parents.iter().try_fold(value, |v, segment| child_mut(v, segment)), item_name(last)) {
        (Some(Value::Array(items)), Some(name)) => items.retain(|i| i["name"] != name),
        (Some(Value::Object(map)), _) => {
            map.remove(last);
        }
        _ => {}
    }
}

/// Whether a field's owner sees its value changed. A field that is a map was applied as an
/// empty one, or is a list item (leaves are never maps otherwise): its owner owns a map,
/// whatever others put in it.
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

/// Whether writing `written` fields, turning `before` into `after`, takes the field `owned`
/// from its owner: a written field overlaps it and its value changes.
fn takes(written: &BTreeSet<Path>, owned: &[String], before: &Value, after: &Value) -> bool {
    written.iter().any(|p| overlaps(p, owned)) && changes(get(before, owned), get(after, owned))
}

/// Deep merge for apply: maps merge key by key, lists merged by name (in built-in types) item
/// by item, anything else replaces; nulls in the applied configuration are left out.
fn merge(target: &mut Value, source: &Value, builtin: bool) {
    match (target, source) {
        (Value::Object(target), Value::Object(source)) => {
            for (key, value) in source.iter().filter(|(_, v)| !v.is_null()) {
                match (target.get_mut(key), value) {
                    (Some(existing), _) if existing.is_object() && value.is_object() => {
                        merge(existing, value, builtin);
                    }
                    (Some(Value::Array(items)), Value::Array(applied))
                        if builtin && by_name(Some(key), items) && by_name(Some(key), applied) =>
                    {
                        merge_items(items, applied);
                    }
                    _ => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (target, source) => *target = source.clone(),
    }
}

/// Each applied item merged into the item of the same name, or added after the others.
fn merge_items(items: &mut Vec<Value>, applied: &[Value]) {
    for one in applied {
        match items.iter_mut().find(|i| i["name"] == one["name"]) {
            Some(existing) => merge(existing, one, true),
            None => items.push(one.clone()),
        }
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

/// The FieldsV1 key of a path segment: `f:<field>`, or a list item's `k:{...}` as it is.
fn fields_key(segment: &str) -> String {
    if item_name(segment).is_some() { segment.to_string() } else { format!("f:{segment}") }
}

fn read(object: &Value) -> Vec<Entry> {
    fn paths(fields: &Value, path: &mut Path, out: &mut BTreeSet<Path>) {
        let Some(map) = fields.as_object() else { return };
        for (key, child) in map {
            let segment = match key.strip_prefix("f:") {
                Some(name) => name.to_string(),
                None if item_name(key).is_some() => key.clone(),
                // `.`: the field itself is owned, besides fields under it.
                None if key == "." => {
                    out.insert(path.clone());
                    continue;
                }
                None => continue,
            };
            path.push(segment);
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

/// The FieldsV1 node of `path`, made on the way.
fn node<'f>(fields: &'f mut Value, path: &[String]) -> &'f mut Value {
    path.iter().fold(fields, |node, segment| &mut node[fields_key(segment)])
}

fn write(object: &mut Value, entries: Vec<Entry>) {
    let listed: Vec<Value> = entries
        .into_iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut fields = json!({});
            for path in &e.fields {
                let leaf = node(&mut fields, path);
                if leaf.is_null() {
                    *leaf = json!({});
                }
            }
            // A field owned with fields under it (a list item) is written `.` beside them.
            for path in &e.fields {
                let owned = node(&mut fields, path);
                if owned.as_object().is_some_and(|m| !m.is_empty()) {
                    owned["."] = json!({});
                }
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
    let applied = leaves(config, writer);
    let mut object = current.cloned().unwrap_or_else(|| json!({}));
    let mut entries = read(&object);
    // A conflict is a field another manager owns whose value the applied configuration changes.
    let mut merged = object.clone();
    merge(&mut merged, &writer.scope.part(config), writer.builtin);
    let mut conflicts = BTreeSet::new();
    for entry in entries.iter().filter(|e| !e.is(writer, "Apply")) {
        for owned in entry.fields.iter().filter(|owned| takes(&applied, owned, &object, &merged)) {
            conflicts.insert(Conflict { manager: entry.manager.clone(), path: owned.clone() });
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
    merge(&mut object, &writer.scope.part(config), writer.builtin);
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
    let changed: BTreeSet<Path> = leaves(object, writer)
        .into_iter()
        .filter(|p| current.is_none_or(|c| changes(get(c, p), get(object, p))))
        .collect();
    let mut entries = current.map(read).unwrap_or_default();
    for entry in &mut entries {
        entry.fields.retain(|p| get(object, p).is_some());
        if let (false, Some(current)) = (entry.is(writer, "Update"), current) {
            entry.fields.retain(|p| !takes(&changed, p, current, object));
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
