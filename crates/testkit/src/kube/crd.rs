//! CustomResourceDefinitions: the types a stored CRD serves, the status the server gives it
//! (NamesAccepted and Established at once), and validation of custom resources against the
//! served version's `openAPIV3Schema`, converted to the JSON Schema draft 4 the `jsonschema`
//! crate checks. The conversion closes every schema that lists `properties` and does not
//! preserve unknown fields, as the real server's strict field validation does; defaulting and
//! CEL rules (`x-kubernetes-validations`) are not applied.

use jsonschema::Validator;
use jsonschema::error::ValidationErrorKind;
use serde_json::{Map, Value, json};

use super::resources::{self, ResourceType};
use super::store::{Cluster, now};

/// The types a cluster serves: the built-in ones, then those of its CRDs' served versions.
pub(super) fn served_types(cluster: &Cluster) -> Vec<ResourceType> {
    let mut types = resources::builtin().to_vec();
    for (_, crd) in cluster.list("apiextensions.k8s.io", "customresourcedefinitions", None) {
        let spec = &crd["spec"];
        let names = &spec["names"];
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let kind = text(&names["kind"]);
        for version in spec["versions"].as_array().into_iter().flatten().filter(|v| v["served"] == true) {
            types.push(ResourceType {
                group: text(&spec["group"]),
                version: text(&version["name"]),
                plural: text(&names["plural"]),
                singular: names["singular"].as_str().map_or_else(|| kind.to_ascii_lowercase(), str::to_string),
                kind: kind.clone(),
                namespaced: spec["scope"] == "Namespaced",
                short_names: names["shortNames"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect(),
                status: version["subresources"]["status"].is_object(),
            });
        }
    }
    types
}

/// What the real server refuses in a CRD before storing it, as (field, message) causes.
pub(super) fn check(crd: &Value) -> Vec<(String, String)> {
    let spec = &crd["spec"];
    fn text(v: &Value) -> &str {
        v.as_str().unwrap_or_default()
    }
    let mut causes = Vec::new();
    let mut require = |ok: bool, field: &str, message: &str| {
        if !ok {
            causes.push((field.to_string(), message.to_string()));
        }
    };
    require(!text(&spec["group"]).is_empty(), "spec.group", "Required value");
    for field in ["plural", "kind"] {
        require(!text(&spec["names"][field]).is_empty(), &format!("spec.names.{field}"), "Required value");
    }
    let expected = format!("{}.{}", text(&spec["names"]["plural"]), text(&spec["group"]));
    require(
        text(&crd["metadata"]["name"]) == expected,
        "metadata.name",
        &format!("Invalid value: must be spec.names.plural+\".\"+spec.group ({expected})"),
    );
    require(
        matches!(text(&spec["scope"]), "Namespaced" | "Cluster"),
        "spec.scope",
        "Unsupported value: supported values: \"Cluster\", \"Namespaced\"",
    );
    let versions = spec["versions"].as_array().map(Vec::as_slice).unwrap_or_default();
    let storage = versions.iter().filter(|v| v["storage"] == true).count();
    require(!versions.is_empty(), "spec.versions", "Required value");
    require(storage == 1, "spec.versions", "Invalid value: must have exactly one version marked as storage version");
    causes
}

/// The status the API server's CRD controllers set once the names are accepted.
pub(super) fn establish(crd: &mut Value) {
    let condition = |kind: &str, reason: &str, message: &str| json!({ "type": kind, "status": "True", "reason": reason, "message": message, "lastTransitionTime": now() });
    let stored: Vec<Value> = crd["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["storage"] == true)
        .map(|v| v["name"].clone())
        .collect();
    let mut accepted = crd["spec"]["names"].clone();
    if accepted["singular"].is_null() {
        accepted["singular"] = accepted["kind"].as_str().unwrap_or_default().to_ascii_lowercase().into();
    }
    crd["status"] = json!({
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "acceptedNames": accepted,
        "storedVersions": stored,
    });
}

/// The `openAPIV3Schema` of one version, if it has one.
pub(super) fn version_schema<'c>(crd: &'c Value, version: &str) -> Option<&'c Value> {
    let versions = crd["spec"]["versions"].as_array()?;
    let served = versions.iter().find(|v| v["name"] == version)?;
    served["schema"]["openAPIV3Schema"].as_object().map(|_| &served["schema"]["openAPIV3Schema"])
}

/// Compiles a version schema; formats are not checked (the server checks few, leniently).
pub(super) fn compile(schema: &Value) -> Result<Validator, String> {
    jsonschema::draft4::options()
        .should_validate_formats(false)
        .build(&to_json_schema(schema))
        .map_err(|e| e.to_string())
}

/// The violations of `object`, as (field, message) causes.
pub(super) fn validate(validator: &Validator, object: &Value) -> Vec<(String, String)> {
    let mut causes = Vec::new();
    for error in validator.iter_errors(object).take(20) {
        let path = dotted(&error.instance_path().to_string());
        let at = |name: &str| if path.is_empty() { name.to_string() } else { format!("{path}.{name}") };
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                causes.extend(unexpected.iter().map(|name| (at(name), "field not declared in schema".to_string())));
            }
            ValidationErrorKind::Required { property } => {
                causes.push((at(property.as_str().unwrap_or_default()), "Required value".to_string()));
            }
            _ => causes.push((path, format!("Invalid value: {}", shorten(&error.to_string())))),
        }
    }
    causes
}

/// `/spec/list/0/name` → `spec.list[0].name`.
fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for segment in pointer.split('/').filter(|s| !s.is_empty()) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if segment.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&segment);
        }
    }
    out
}

fn shorten(message: &str) -> String {
    match message.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message.to_string(),
    }
}

/// Converts an OpenAPI v3 structural schema to JSON Schema draft 4 (see the module docs).
pub(super) fn to_json_schema(schema: &Value) -> Value {
    let mut root = convert(schema, true);
    // Every object carries these, whether or not its schema lists them.
    if let Some(properties) = root.get_mut("properties").and_then(Value::as_object_mut) {
        properties.entry("apiVersion").or_insert(json!({ "type": "string" }));
        properties.entry("kind").or_insert(json!({ "type": "string" }));
        properties.insert("metadata".into(), json!({ "type": "object" }));
    }
    root
}

/// `closable`: whether listing `properties` closes the object (not inside `anyOf` and the
/// like, which only add constraints to the enclosing schema).
fn convert(schema: &Value, closable: bool) -> Value {
    let Value::Object(map) = schema else { return schema.clone() };
    let flag = |name: &str| map.get(name) == Some(&Value::Bool(true));
    let int_or_string = flag("x-kubernetes-int-or-string") || map.get("format") == Some(&json!("int-or-string"));
    let nullable = flag("nullable");
    let mut out = Map::new();
    for (key, value) in map {
        let converted = match key.as_str() {
            "properties" | "patternProperties" | "definitions" => match value {
                Value::Object(children) => {
                    Value::Object(children.iter().map(|(k, v)| (k.clone(), convert(v, true))).collect())
                }
                other => other.clone(),
            },
            "items" | "additionalProperties" => match value {
                Value::Array(items) => Value::Array(items.iter().map(|v| convert(v, true)).collect()),
                other => convert(other, true),
            },
            "allOf" | "anyOf" | "oneOf" => match value {
                Value::Array(items) => Value::Array(items.iter().map(|v| convert(v, false)).collect()),
                other => other.clone(),
            },
            "not" => convert(value, false),
            "type" if int_or_string => continue,
            "type" if nullable => json!([value, "null"]),
            "enum" if nullable => {
                let mut values = value.as_array().cloned().unwrap_or_default();
                values.push(Value::Null);
                Value::Array(values)
            }
            "format" | "nullable" | "default" | "description" | "example" | "externalDocs" => continue,
            key if key.starts_with("x-kubernetes-") => continue,
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    if int_or_string {
        let either = json!([{ "type": "integer" }, { "type": "string" }]);
        match out.remove("anyOf") {
            Some(existing) => {
                out.insert("allOf".into(), json!([{ "anyOf": existing }, { "anyOf": either }]));
            }
            None => {
                out.insert("anyOf".into(), either);
            }
        }
    }
    if flag("x-kubernetes-embedded-resource") {
        let properties = out.entry("properties").or_insert(json!({}));
        if let Some(properties) = properties.as_object_mut() {
            properties.entry("apiVersion").or_insert(json!({ "type": "string" }));
            properties.entry("kind").or_insert(json!({ "type": "string" }));
            properties.entry("metadata").or_insert(json!({ "type": "object" }));
        }
    }
    if closable && out.contains_key("properties") && !flag("x-kubernetes-preserve-unknown-fields") {
        out.entry("additionalProperties").or_insert(Value::Bool(false));
    }
    Value::Object(out)
}

/// The violations of `object` against the CRD schema `file` of the repository's fixtures
/// (`tests/fixtures/crds/`, an `openAPIV3Schema` as JSON), as `field: message` lines: how
/// tests check what ringform sends against the real operators' schemas, unknown fields refused.
pub fn fixture_violations(file: &str, object: &Value) -> Vec<String> {
    let path = crate::fixtures_dir().join("crds").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let validator = compile(&schema).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    validate(&validator, object).into_iter().map(|(field, message)| format!("{field}: {message}")).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{compile, to_json_schema, validate};

    #[test]
    fn openapi_extensions_become_draft_4() {
        let schema = json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "size": { "x-kubernetes-int-or-string": true },
                        "note": { "type": "string", "nullable": true },
                        "free": { "type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": { "a": { "type": "string" } } }
                    },
                    "anyOf": [{ "properties": { "size": {} }, "required": ["size"] }, { "required": ["note"] }]
                }
            }
        });
        let converted = to_json_schema(&schema);
        assert_eq!(converted["properties"]["spec"]["additionalProperties"], json!(false));
        assert!(converted["properties"]["spec"]["properties"]["free"].get("additionalProperties").is_none());
        assert!(converted["properties"]["spec"]["anyOf"][0].get("additionalProperties").is_none());
        let validator = compile(&schema).expect("a valid schema");
        let check = |spec: serde_json::Value| {
            validate(
                &validator,
                &json!({ "apiVersion": "x/v1", "kind": "X", "metadata": { "name": "a" }, "spec": spec }),
            )
        };
        assert!(check(json!({ "size": 3, "note": null, "free": { "b": 1 } })).is_empty());
        assert!(check(json!({ "size": "50%" })).is_empty());
        assert_eq!(
            check(json!({ "size": 1, "sise": 2 })),
            vec![("spec.sise".to_string(), "field not declared in schema".to_string())]
        );
        assert_eq!(check(json!({ "size": 1.5 })).len(), 1);
        assert_eq!(check(json!({})).len(), 1, "neither size nor note");
    }
}
