//! Making what ARM reports look like what the graph wrote.

use std::collections::BTreeMap;

use ringform_core::{Attributes, Value};

/// A list of strings as a value.
pub fn strings_value<S: AsRef<str>>(items: &[S]) -> Value {
    Value::List(items.iter().map(|s| Value::from(s.as_ref())).collect())
}

/// What ARM reports, in the shape state recorded: for every recorded attribute, the recorded
/// value when ARM's is the same (ids and names ignoring case, lists as sets), else ARM's; what
/// ARM does not report (a shared key, the subscription when null) is carried over. With
/// `recorded_keys_only`, attributes state never had are left out, so inputs keep the graph's
/// exact attribute names.
pub fn reconcile(observed: Attributes, recorded: &Attributes, recorded_keys_only: bool) -> Attributes {
    let mut out = BTreeMap::new();
    for (key, before) in recorded {
        let value = match observed.get(key) {
            Some(now) if !equivalent(before, now) => now.clone(),
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

/// Equal as ARM means it: strings ignoring ASCII case and spaces ("East US" is `eastus`), lists
/// as multisets, secrets by what they hold.
pub fn equivalent(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Secret(a), b) | (b, Value::Secret(a)) => equivalent(a, b),
        (Value::String(a), Value::String(b)) => normalize(a) == normalize(b),
        (Value::List(a), Value::List(b)) => {
            let mut unused: Vec<&Value> = b.iter().collect();
            a.len() == b.len()
                && a.iter().all(|x| match unused.iter().position(|y| equivalent(x, y)) {
                    Some(i) => {
                        unused.swap_remove(i);
                        true
                    }
                    None => false,
                })
        }
        (Value::Map(a), Value::Map(b)) => {
            a.len() == b.len() && a.iter().all(|(k, x)| b.get(k).is_some_and(|y| equivalent(x, y)))
        }
        _ => a == b,
    }
}

fn normalize(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_lowercase()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(entries: &[(&str, Value)]) -> Attributes {
        entries.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    #[test]
    fn reconcile_keeps_recorded_spelling_order_and_secrets() {
        let recorded = attrs(&[
            ("id", "/subscriptions/S/resourceGroups/RG".into()),
            ("zones", strings_value(&["1", "2"])),
            ("shared_key", Value::secret("k".into())),
            ("subscription", Value::Null),
            ("location", "East US".into()),
        ]);
        let observed = attrs(&[
            ("id", "/subscriptions/s/resourcegroups/rg".into()),
            ("zones", strings_value(&["2", "1"])),
            ("location", "eastus".into()),
            ("extra", Value::Int(1)),
        ]);
        assert_eq!(reconcile(observed.clone(), &recorded, true), recorded);
        assert!(reconcile(observed, &recorded, false).contains_key("extra"));
    }

    #[test]
    fn reconcile_reports_real_changes() {
        let recorded = attrs(&[("zones", strings_value(&["1", "2"])), ("node_count", Value::Int(3))]);
        let observed = attrs(&[("zones", strings_value(&["1", "1"])), ("node_count", Value::Int(4))]);
        assert_eq!(reconcile(observed.clone(), &recorded, true), observed);
    }
}
