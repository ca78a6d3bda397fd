//! Making what ARM reports look like what the graph wrote.

use std::collections::BTreeMap;

use ringform_core::schema::{Attribute, input};
use ringform_core::{Attributes, Value};

/// A list of strings as a value.
pub fn strings_value<S: AsRef<str>>(items: &[S]) -> Value {
    Value::List(items.iter().map(|s| Value::from(s.as_ref())).collect())
}

/// What ARM reports, in the shape state recorded: for every recorded attribute, the recorded
/// value when ARM's is the same as the kind's schema compares it (`declared`: ids without case,
/// locations without case and spaces, lists as multisets), else ARM's; what ARM does not report
/// (a shared key, the subscription when null) is carried over. With `recorded_keys_only`,
/// attributes state never had are left out, so inputs keep the graph's exact attribute names.
pub fn reconcile(
    observed: Attributes,
    recorded: &Attributes,
    declared: &[Attribute],
    recorded_keys_only: bool,
) -> Attributes {
    let exact = input("");
    let mut out = BTreeMap::new();
    for (key, before) in recorded {
        let attribute = declared.iter().find(|a| a.name == key).unwrap_or(&exact);
        let value = match observed.get(key) {
            Some(now) if !attribute.same(before, now) => now.clone(),
            _ => before.clone(),
        };
        out.insert(key.clone(), value);
    }
    if !recorded_keys_only {
        for (key, value) in observed {
            out.entry(key).or_insert(value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringform_schema::azure;

    fn attrs(entries: &[(&str, Value)]) -> Attributes {
        entries.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    fn reconcile(
        kind: ringform_core::Kind,
        observed: Attributes,
        recorded: &Attributes,
        keys_only: bool,
    ) -> Attributes {
        let schema = azure::SCHEMA.kind(kind).unwrap();
        super::reconcile(observed, recorded, schema.inputs, keys_only)
    }

    #[test]
    fn reconcile_keeps_recorded_spelling_order_and_secrets() {
        let recorded = attrs(&[
            ("subnet_id", "/subscriptions/S/resourceGroups/RG/providers/X".into()),
            ("zones", strings_value(&["1", "2"])),
            ("subscription", Value::Null),
            ("location", "East US".into()),
        ]);
        let observed = attrs(&[
            ("subnet_id", "/subscriptions/s/resourcegroups/rg/providers/x".into()),
            ("zones", strings_value(&["2", "1"])),
            ("location", "eastus".into()),
            ("extra", Value::Int(1)),
        ]);
        assert_eq!(reconcile(azure::AKS_CLUSTER, observed.clone(), &recorded, true), recorded);
        assert!(reconcile(azure::AKS_CLUSTER, observed, &recorded, false).contains_key("extra"));

        let recorded = attrs(&[("shared_key", Value::secret("k".into()))]);
        assert_eq!(reconcile(azure::VPN_CONNECTION, Attributes::new(), &recorded, true), recorded);
    }

    #[test]
    fn reconcile_reports_real_changes() {
        let recorded = attrs(&[
            ("zones", strings_value(&["1", "2"])),
            ("node_count", Value::Int(3)),
            ("dns_prefix", "Ring".into()),
        ]);
        let observed = attrs(&[
            ("zones", strings_value(&["1", "1"])),
            ("node_count", Value::Int(4)),
            ("dns_prefix", "ring".into()),
        ]);
        assert_eq!(reconcile(azure::AKS_CLUSTER, observed.clone(), &recorded, true), observed);
    }
}
