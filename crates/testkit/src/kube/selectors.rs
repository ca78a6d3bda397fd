//! `labelSelector` (`=`, `==`, `!=`, `in`, `notin`, `key`, `!key`) and `fieldSelector`
//! (`metadata.name`, `metadata.namespace`, and the fields the real server indexes for some
//! types: a Pod's `spec.nodeName`, `status.phase` and `status.podIP`, a Node's
//! `spec.unschedulable`; with `=`, `==`, `!=`), as list and watch take them; and the selectors
//! objects carry: a `LabelSelector` (`matchLabels`, `matchExpressions`) and a node selector
//! term (`matchExpressions` on labels, with `Gt` and `Lt`, and `matchFields` on
//! `metadata.name`), as the scheduler and the eviction API read them.

use serde_json::Value;

#[derive(Debug, PartialEq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
    /// A node selector's `Gt` and `Lt`: the label is an integer above or below the value.
    Greater(String, i64),
    Less(String, i64),
}

impl Requirement {
    /// One `matchExpressions` entry (`{"key", "operator", "values"}`); `None` for an operator
    /// Kubernetes does not have or a `Gt`/`Lt` value that is not one integer.
    fn of_expression(expression: &Value) -> Option<Requirement> {
        let key = expression["key"].as_str()?.to_string();
        let values: Vec<String> = expression["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        let number = || match values.as_slice() {
            [only] => only.parse::<i64>().ok(),
            _ => None,
        };
        Some(match expression["operator"].as_str()? {
            "In" => Requirement::In(key, values),
            "NotIn" => Requirement::NotIn(key, values),
            "Exists" => Requirement::Exists(key),
            "DoesNotExist" => Requirement::NotExists(key),
            "Gt" => Requirement::Greater(key, number()?),
            "Lt" => Requirement::Less(key, number()?),
            _ => return None,
        })
    }

    /// Whether a value (`None`: the label or field is absent) meets the requirement.
    fn holds(&self, value: impl Fn(&str) -> Option<String>) -> bool {
        let number = |k: &str| value(k).and_then(|l| l.parse::<i64>().ok());
        match self {
            Requirement::Equals(k, v) => value(k).as_deref() == Some(v.as_str()),
            Requirement::NotEquals(k, v) => value(k).as_deref() != Some(v.as_str()),
            Requirement::In(k, vs) => value(k).is_some_and(|l| vs.contains(&l)),
            Requirement::NotIn(k, vs) => value(k).is_none_or(|l| !vs.contains(&l)),
            Requirement::Exists(k) => value(k).is_some(),
            Requirement::NotExists(k) => value(k).is_none(),
            Requirement::Greater(k, n) => number(k).is_some_and(|l| l > *n),
            Requirement::Less(k, n) => number(k).is_some_and(|l| l < *n),
        }
    }
}

/// The value of label `key` in an object's `labels` map.
fn label_of(labels: &Value) -> impl Fn(&str) -> Option<String> + '_ {
    |key| labels[key].as_str().map(str::to_string)
}

/// Whether every expression of a list holds; an unknown operator never does.
fn all_hold(expressions: &Value, value: impl Fn(&str) -> Option<String>) -> bool {
    expressions.as_array().into_iter().flatten().all(|e| Requirement::of_expression(e).is_some_and(|r| r.holds(&value)))
}

/// Whether `labels` meet a `LabelSelector`: every `matchLabels` pair and `matchExpressions`
/// entry. A null selector selects nothing; an empty one everything (callers that treat an
/// empty one as nothing, as the eviction API does for budgets, check that themselves).
pub(super) fn label_selector_matches(selector: &Value, labels: &Value) -> bool {
    if !selector.is_object() {
        return false;
    }
    let pairs = selector["matchLabels"].as_object().into_iter().flatten();
    pairs.into_iter().all(|(k, v)| labels[k] == *v) && all_hold(&selector["matchExpressions"], label_of(labels))
}

/// Whether a Node meets one node selector term: all its `matchExpressions` on the Node's
/// labels and its `matchFields` (only `metadata.name` exists). An empty term selects nothing.
pub(super) fn node_selector_term_matches(term: &Value, node: &Value) -> bool {
    let (expressions, fields) = (&term["matchExpressions"], &term["matchFields"]);
    let listed = |v: &Value| v.as_array().is_some_and(|l| !l.is_empty());
    if !listed(expressions) && !listed(fields) {
        return false;
    }
    let field = |key: &str| (key == "metadata.name").then(|| node["metadata"]["name"].as_str().map(str::to_string))?;
    all_hold(expressions, label_of(&node["metadata"]["labels"])) && all_hold(fields, field)
}

/// Both selectors of a request; an object matches when it meets every requirement.
#[derive(Debug, Default)]
pub(super) struct Selector {
    labels: Vec<Requirement>,
    /// (field, value, equal)
    fields: Vec<(String, String, bool)>,
}

impl Selector {
    /// Both selectors of a request for objects of the type `plural` of `group`.
    pub fn parse(
        labels: Option<&str>,
        fields: Option<&str>,
        (group, plural): (&str, &str),
    ) -> Result<Selector, String> {
        let labels = split(labels.unwrap_or("")).into_iter().map(label_requirement).collect::<Result<_, _>>()?;
        let indexed = indexed_fields(group, plural);
        let fields =
            split(fields.unwrap_or("")).into_iter().map(|f| field_requirement(f, indexed)).collect::<Result<_, _>>()?;
        Ok(Selector { labels, fields })
    }

    pub fn matches(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        self.labels.iter().all(|r| r.holds(label_of(labels)))
            && self.fields.iter().all(|(field, value, equal)| (field_value(object, field) == *value) == *equal)
    }
}

/// The fields besides `metadata.name` and `metadata.namespace` a field selector may name for
/// a type, as the real server registers them (pkg/registry/core/pod/strategy.go
/// `PodToSelectableFields`, node/strategy.go `NodeToSelectableFields`), those the fake keeps.
fn indexed_fields(group: &str, plural: &str) -> &'static [&'static str] {
    match (group, plural) {
        ("", "pods") => &["spec.nodeName", "status.phase", "status.podIP"],
        ("", "nodes") => &["spec.unschedulable"],
        _ => &[],
    }
}

/// A field's value as a field selector compares it: text, `true`/`false`, or empty if absent.
fn field_value(object: &Value, field: &str) -> String {
    let value = field.split('.').fold(object, |v, part| &v[part]);
    match value {
        Value::String(text) => text.clone(),
        Value::Bool(flag) => flag.to_string(),
        // An absent boolean reads as its zero value, as the real server's conversion has it.
        Value::Null if field == "spec.unschedulable" => "false".into(),
        _ => String::new(),
    }
}

/// Splits on the commas that are not inside `in (…)` lists; drops empty parts.
fn split(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts.into_iter().map(str::trim).filter(|p| !p.is_empty()).collect()
}

fn label_requirement(text: &str) -> Result<Requirement, String> {
    let bad = || format!("unable to parse requirement: invalid label selector {text:?}");
    if let Some((key, value)) = text.split_once("!=") {
        return Ok(Requirement::NotEquals(key.trim().into(), value.trim().into()));
    }
    if let Some((key, value)) = text.split_once("==").or_else(|| text.split_once('=')) {
        return Ok(Requirement::Equals(key.trim().into(), value.trim().into()));
    }
    if let Some(key) = text.strip_prefix('!') {
        return Ok(Requirement::NotExists(key.trim().into()));
    }
    let Some((head, list)) = text.split_once('(') else {
        return if text.contains(char::is_whitespace) { Err(bad()) } else { Ok(Requirement::Exists(text.into())) };
    };
    let mut words = head.split_whitespace();
    let (Some(key), Some(operator), None) = (words.next(), words.next(), words.next()) else { return Err(bad()) };
    let values = list.strip_suffix(')').ok_or_else(bad)?.split(',').map(|v| v.trim().to_string()).collect();
    match operator {
        "in" => Ok(Requirement::In(key.into(), values)),
        "notin" => Ok(Requirement::NotIn(key.into(), values)),
        _ => Err(bad()),
    }
}

fn field_requirement(text: &str, indexed: &[&str]) -> Result<(String, String, bool), String> {
    let (field, value, equal) = if let Some((f, v)) = text.split_once("!=") {
        (f, v, false)
    } else if let Some((f, v)) = text.split_once("==").or_else(|| text.split_once('=')) {
        (f, v, true)
    } else {
        return Err(format!("invalid selector: '{text}'; can't understand '{text}'"));
    };
    match field.trim() {
        f if f == "metadata.name" || f == "metadata.namespace" || indexed.contains(&f) => {
            Ok((f.to_string(), value.trim().to_string(), equal))
        }
        f => Err(format!("field label not supported: {f}")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Selector, label_selector_matches, node_selector_term_matches};

    const CONFIGMAPS: (&str, &str) = ("", "configmaps");

    fn matches(labels: &str, object: &serde_json::Value) -> bool {
        Selector::parse(Some(labels), None, CONFIGMAPS).expect("a valid selector").matches(object)
    }

    #[test]
    fn every_label_operator() {
        let object = json!({ "metadata": { "name": "a", "labels": { "app": "x", "tier": "db" } } });
        assert!(matches("app=x", &object) && matches("app==x", &object) && matches("app!=y", &object));
        assert!(matches("tier in (db, web)", &object) && matches("tier notin (web)", &object));
        assert!(matches("app,!missing", &object) && matches("app=x,tier in (db)", &object));
        assert!(!matches("app=y", &object) && !matches("!app", &object) && !matches("missing", &object));
        assert!(!matches("tier notin (db,web)", &object) && matches("missing notin (db)", &object));
        assert!(Selector::parse(Some("tier in db"), None, CONFIGMAPS).is_err());
    }

    #[test]
    fn name_and_namespace_fields() {
        let object = json!({ "metadata": { "name": "a", "namespace": "ns" } });
        let field = |f: &str| Selector::parse(None, Some(f), CONFIGMAPS).expect("a valid selector").matches(&object);
        assert!(field("metadata.name=a") && field("metadata.namespace==ns") && field("metadata.name!=b"));
        assert!(!field("metadata.name=b,metadata.namespace=ns"));
        assert!(Selector::parse(None, Some("spec.nodeName=x"), CONFIGMAPS).is_err());
    }

    #[test]
    fn the_fields_a_type_indexes() {
        let pod =
            json!({ "metadata": { "name": "p" }, "spec": { "nodeName": "n1" }, "status": { "phase": "Running" } });
        let on = |f: &str| Selector::parse(None, Some(f), ("", "pods")).expect("a valid selector").matches(&pod);
        assert!(on("spec.nodeName=n1") && on("status.phase=Running,spec.nodeName!=n2") && !on("spec.nodeName=n2"));
        let node = json!({ "metadata": { "name": "n1" }, "spec": {} });
        let cordoned =
            |f: &str| Selector::parse(None, Some(f), ("", "nodes")).expect("a valid selector").matches(&node);
        assert!(cordoned("spec.unschedulable=false") && !cordoned("spec.unschedulable=true"));
        assert!(Selector::parse(None, Some("spec.nodeName=n1"), ("", "nodes")).is_err());
    }

    #[test]
    fn label_selectors_and_node_selector_terms() {
        let labels = json!({ "app": "db", "zone": "a", "cores": "8" });
        let selector = json!({ "matchLabels": { "app": "db" }, "matchExpressions": [{ "key": "zone", "operator": "In", "values": ["a", "b"] }] });
        assert!(label_selector_matches(&selector, &labels));
        assert!(label_selector_matches(&json!({}), &labels) && !label_selector_matches(&json!(null), &labels));
        let absent = json!({ "matchExpressions": [{ "key": "zone", "operator": "DoesNotExist" }] });
        assert!(!label_selector_matches(&absent, &labels));
        let node = json!({ "metadata": { "name": "n1", "labels": labels } });
        let term = |expressions: serde_json::Value| node_selector_term_matches(&expressions, &node);
        assert!(term(json!({ "matchExpressions": [{ "key": "cores", "operator": "Gt", "values": ["4"] }] })));
        assert!(!term(json!({ "matchExpressions": [{ "key": "cores", "operator": "Lt", "values": ["4"] }] })));
        assert!(term(json!({ "matchFields": [{ "key": "metadata.name", "operator": "In", "values": ["n1"] }] })));
        assert!(!term(json!({ "matchExpressions": [{ "key": "zone", "operator": "Near", "values": ["a"] }] })));
        assert!(!term(json!({})));
    }
}
