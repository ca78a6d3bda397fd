//! The JSON Schema of the file format, generated from the raw serde structs so that editors
//! (taplo / Even Better TOML) complete and check exactly what the parser accepts.

use std::sync::OnceLock;

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

use crate::load::Segment;
use crate::raw::RawTopology;

/// The draft 2020-12 JSON Schema of a topology file. Point an editor at it with a first line
/// `#:schema ../schema/topology.schema.json`.
pub fn json_schema() -> Value {
    let schema = SchemaSettings::draft2020_12().into_generator().into_root_schema_for::<RawTopology>();
    schema.to_value()
}

/// The keys the schema allows in the table at `path` (used for "did you mean" hints), in
/// schema order. Empty when the path leads nowhere known.
pub(crate) fn known_keys(path: &[Segment]) -> Vec<&'static str> {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    let root = SCHEMA.get_or_init(json_schema);
    let mut node = Some(root);
    for segment in path {
        node = node.and_then(|n| match segment {
            Segment::Key(key) => properties(root, n).and_then(|p| p.get(key.as_str())),
            Segment::Index(_) => deref(root, n).get("items"),
        });
    }
    node.and_then(|n| properties(root, n)).map(|p| p.keys().map(String::as_str).collect()).unwrap_or_default()
}

/// The properties of a table's schema, or of the table among a `oneOf`'s alternatives
/// (`encryption` is a string or a table).
fn properties<'a>(root: &'a Value, node: &'a Value) -> Option<&'a Map<String, Value>> {
    let node = deref(root, node);
    let alternatives = || node.get("oneOf")?.as_array()?.iter().find_map(|n| properties(root, n));
    node.get("properties").and_then(Value::as_object).or_else(alternatives)
}

/// Follows a local `$ref` (`#/$defs/Name`), the only kind schemars emits.
fn deref<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    node.get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|pointer| root.pointer(pointer))
        .unwrap_or(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(parts: &[&str]) -> Vec<Segment> {
        parts.iter().map(|p| p.parse().map(Segment::Index).unwrap_or_else(|_| Segment::Key(p.to_string()))).collect()
    }

    #[test]
    fn knows_the_keys_of_every_table() {
        assert!(known_keys(&[]).contains(&"deployment"));
        assert!(known_keys(&path(&["clusters", "0"])).contains(&"network_cidr"));
        assert!(known_keys(&path(&["clusters", "0", "node_pool"])).contains(&"vm_size"));
        assert!(known_keys(&path(&["cassandra", "datacenters", "2", "racks", "0"])).contains(&"zone"));
        assert!(known_keys(&path(&["mesh"])).contains(&"azure_gateway_sku"));
        assert_eq!(known_keys(&path(&["cassandra", "keyspaces", "1"])), ["name", "replication"]);
        assert!(known_keys(&path(&["nowhere"])).is_empty());
        assert_eq!(known_keys(&path(&["state", "encryption"])), ["aws_kms_key", "azure_key_vault_key", "key_env"]);
        assert!(known_keys(&path(&["state"])).contains(&"storage_account"));
    }

    #[test]
    fn schema_is_draft_2020_12_with_descriptions_and_defaults() {
        let schema = json_schema();
        assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
        assert_eq!(schema["additionalProperties"], false);
        let required = schema["required"].as_array().unwrap();
        assert!(required.contains(&"deployment".into()) && required.contains(&"clusters".into()));
        let cluster = &schema["$defs"]["Cluster"];
        assert!(cluster["properties"]["kubernetes_version"]["description"].as_str().unwrap().contains("1.35"));
        assert_eq!(cluster["properties"]["kubernetes_version"]["default"], "1.35");
        assert!(!cluster["required"].as_array().unwrap().contains(&"pod_cidr".into()));
        let replication = &schema["$defs"]["Keyspace"]["properties"]["replication"];
        assert_eq!(
            (&replication["minProperties"], &replication["additionalProperties"]["minimum"]),
            (&1.into(), &1.into())
        );
    }
}
