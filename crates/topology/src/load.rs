//! TOML text → [`RawTopology`]: the syntax check, the typed read, and every key the format
//! does not know, each reported where it is written.

use serde_ignored::Path;
use toml::de::{DeTable, DeValue};

use crate::diagnostic::Diagnostic;
use crate::patterns::{closest, is_keyspace_name, is_name};
use crate::raw::RawTopology;
use crate::schema::known_keys;

/// One step of a path into the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Segment {
    Key(String),
    Index(usize),
}

/// Reads the document. A syntax error stops here (nothing else can be trusted); otherwise the
/// raw topology comes back with a diagnostic per unknown key.
pub(crate) fn load(source: &str) -> Result<(RawTopology, Vec<Diagnostic>), Diagnostic> {
    let document = DeTable::parse(source).map_err(|error| {
        let span = error.span().unwrap_or(0..0);
        let message = error.message().lines().next().unwrap_or("invalid TOML").trim().to_string();
        Diagnostic::new(span, "", format!("invalid TOML: {message}"))
            .hint("fix the syntax here first; the rest of the file is checked once it parses")
    })?;

    let mut unknown = Vec::new();
    let deserializer = toml::de::Deserializer::from(document.clone());
    let mut raw = serde_ignored::deserialize(deserializer, |path| {
        let mut segments = Vec::new();
        collect(&path, &mut segments);
        unknown.push(segments);
    })
    // Unreachable in practice: every field is a `Field`, which never fails.
    .map_err(|error| Diagnostic::new(0..0, "", format!("cannot read the topology: {}", error.message())))?;

    let root = document.get_ref();
    replication_key_spans(root, &mut raw);
    let diagnostics = unknown.iter().filter_map(|path| unknown_key(root, path)).collect();
    Ok((raw, diagnostics))
}

/// Fills in where each datacenter key of every keyspace's `replication` is written, from the
/// document: serde_ignored reads map keys as plain strings, so serde cannot give their spans.
fn replication_key_spans(root: &DeTable<'_>, raw: &mut RawTopology) {
    let Some(keyspaces) = raw.cassandra.valid_mut().and_then(|c| c.keyspaces.valid_mut()) else { return };
    let tables = root
        .get("cassandra")
        .and_then(|c| c.get_ref().as_table())
        .and_then(|c| c.get("keyspaces"))
        .and_then(|k| k.get_ref().as_array());
    // One raw element per array element, invalid ones included, so the indices line up.
    for (keyspace, table) in keyspaces.iter_mut().zip(tables.into_iter().flatten()) {
        let Some(keyspace) = keyspace.valid_mut() else { continue };
        let replication =
            table.get_ref().as_table().and_then(|t| t.get("replication")).and_then(|r| r.get_ref().as_table());
        for (key, _) in replication.into_iter().flatten() {
            keyspace.datacenter_spans.insert(key.get_ref().to_string(), key.span());
        }
    }
}

fn collect(path: &Path<'_>, out: &mut Vec<Segment>) {
    match path {
        Path::Root => {}
        Path::Seq { parent, index } => {
            collect(parent, out);
            out.push(Segment::Index(*index));
        }
        Path::Map { parent, key } => {
            collect(parent, out);
            // `toml::Spanned` deserializes through a private map; its keys are not the user's.
            if !key.starts_with("$__serde_spanned_private") {
                out.push(Segment::Key(key.clone()));
            }
        }
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => {
            collect(parent, out)
        }
    }
}

/// The diagnostic for the unknown key at `path`, found in the document for its span.
fn unknown_key(root: &DeTable<'_>, path: &[Segment]) -> Option<Diagnostic> {
    let (Segment::Key(name), parent) = path.split_last()? else { return None };
    let mut key = String::new();
    let mut value: Option<&DeValue<'_>> = None;
    for (i, segment) in parent.iter().enumerate() {
        match segment {
            Segment::Key(k) => {
                let table = value.map_or(Some(root), DeValue::as_table)?;
                value = Some(table.get(k.as_str())?.get_ref());
                push_key(&mut key, k);
            }
            Segment::Index(index) => {
                let element = value?.as_array()?.get(*index)?.get_ref();
                // Racks are named by position, the way their keys are written elsewhere.
                let in_racks = i > 0 && parent[i - 1] == Segment::Key("racks".to_string());
                let element_name = element.as_table().and_then(|t| t.get("name")).and_then(|n| n.get_ref().as_str());
                key = element_key(&key, *index, element_name.filter(|_| !in_racks));
                value = Some(element);
            }
        }
    }
    let table = value.map_or(Some(root), DeValue::as_table)?;
    let (spanned_key, _) = table.get_key_value(name.as_str())?;
    push_key(&mut key, name);

    let known = known_keys(parent);
    let hint = match closest(name, known.iter().copied()) {
        Some(suggestion) => format!("did you mean `{suggestion}`?"),
        None if known.is_empty() => "remove it".to_string(),
        None => format!("remove it; the keys allowed here are: {}", known.join(", ")),
    };
    Some(Diagnostic::new(spanned_key.span(), key, format!("unknown key `{name}`")).hint(hint))
}

fn push_key(key: &mut String, segment: &str) {
    if !key.is_empty() {
        key.push('.');
    }
    key.push_str(segment);
}

/// Where the keyspaces are, as a key.
pub(crate) const KEYSPACES: &str = "cassandra.keyspaces";

/// The key of the `index`th element of the array at `prefix`: by name when it has a valid one
/// (`clusters.eu-west`), by position otherwise (`clusters[1]`).
pub(crate) fn element_key(prefix: &str, index: usize, name: Option<&str>) -> String {
    // Keyspaces are named like CQL identifiers, everything else like Kubernetes objects.
    let valid = |n: &&str| if prefix == KEYSPACES { is_keyspace_name(n) } else { is_name(n, 30) };
    match name.filter(valid) {
        Some(name) => format!("{prefix}.{name}"),
        None => format!("{prefix}[{index}]"),
    }
}
