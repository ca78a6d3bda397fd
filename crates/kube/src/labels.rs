//! Ownership: every object ringform applies carries labels `ringform.io/deployment` and
//! `ringform.io/address`, so refresh lists a deployment's objects with one label selector and
//! a run killed half-way finds what it made. Label values allow only 63 letters, digits, `-`,
//! `_` and `.`; addresses use `/` and `~` and may be longer, so the label holds a label-safe
//! form and the annotation of the same name the address exactly.

use serde_json::{Map, Value};

pub const DEPLOYMENT_LABEL: &str = "ringform.io/deployment";
pub const ADDRESS_LABEL: &str = "ringform.io/address";

/// `text` as a label value: other characters become `.`, the ends are letters or digits, and a
/// value longer than 63 keeps its first 52 characters and a hash of the whole.
pub fn label_value(text: &str) -> String {
    let safe: String =
        text.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '.' }).collect();
    let safe = safe.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if safe.len() <= 63 {
        return safe.to_owned();
    }
    // FNV-1a: stable across builds and platforms, which a label compared between runs needs.
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("{}-{:010x}", safe[..52].trim_end_matches(|c: char| !c.is_ascii_alphanumeric()), hash & 0xff_ffff_ffff)
}

/// The label selector of a deployment's objects, or of one address's.
pub fn selector(deployment: &str, address: Option<&str>) -> String {
    let mut selector = format!("{DEPLOYMENT_LABEL}={}", label_value(deployment));
    if let Some(address) = address {
        selector.push_str(&format!(",{ADDRESS_LABEL}={}", label_value(address)));
    }
    selector
}

/// Marks `object` as `address`'s in `deployment`.
pub fn own(object: &mut Value, deployment: &str, address: &str) {
    let metadata = entry(object, "metadata");
    if let Some(labels) = entry(metadata, "labels").as_object_mut() {
        labels.insert(DEPLOYMENT_LABEL.into(), label_value(deployment).into());
        labels.insert(ADDRESS_LABEL.into(), label_value(address).into());
    }
    if let Some(annotations) = entry(metadata, "annotations").as_object_mut() {
        annotations.insert(ADDRESS_LABEL.into(), address.into());
    }
}

/// The address `object` was applied for, if ringform applied it.
pub fn owner(object: &Value) -> Option<&str> {
    object["metadata"]["annotations"][ADDRESS_LABEL].as_str()
}

/// `object[key]`, made an empty map when it is not one.
fn entry<'a>(object: &'a mut Value, key: &str) -> &'a mut Value {
    if !object.is_object() {
        *object = Value::Object(Map::new());
    }
    let value = &mut object[key];
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_safe_and_stable() {
        assert_eq!(label_value("k8s_namespace.eu-west/cassandra"), "k8s_namespace.eu-west.cassandra");
        assert_eq!(label_value("~x~"), "x");
        let long = format!("k8s_secret.{}/superuser", "a".repeat(80));
        let value = label_value(&long);
        assert!(value.len() <= 63 && value.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)), "{value}");
        assert_eq!(value, label_value(&long));
        assert_ne!(value, label_value(&format!("k8s_secret.{}/superuser2", "a".repeat(80))));
    }

    #[test]
    fn owned_objects_carry_labels_and_the_exact_address() {
        let mut object = serde_json::json!({"metadata": {"name": "x", "labels": {"app": "y"}}});
        own(&mut object, "ring", "k8s_namespace.eu/cassandra");
        assert_eq!(object["metadata"]["labels"]["app"], "y");
        assert_eq!(object["metadata"]["labels"][ADDRESS_LABEL], "k8s_namespace.eu.cassandra");
        assert_eq!(owner(&object), Some("k8s_namespace.eu/cassandra"));
        assert_eq!(selector("ring", Some("a/b")), "ringform.io/deployment=ring,ringform.io/address=a.b");
    }
}
