//! Reading typed inputs out of [`Attributes`] with errors that name the attribute, and building
//! observed inputs that compare equal to recorded ones when nothing changed.

use std::collections::BTreeSet;

use ringform_core::provider::{ProviderError, ProviderResult};
use ringform_core::{Address, Attributes, Value};

/// The inputs of one object, for typed access.
#[derive(Clone, Copy)]
pub(crate) struct Inputs<'a> {
    pub address: &'a Address,
    pub attrs: &'a Attributes,
}

impl<'a> Inputs<'a> {
    pub fn new(address: &'a Address, attrs: &'a Attributes) -> Self {
        Inputs { address, attrs }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.attrs.get(key).filter(|v| !matches!(v, Value::Null))
    }

    fn wrong(&self, key: &str, expected: &str, got: Option<&Value>) -> ProviderError {
        let got = got.map_or("nothing", Value::type_name);
        ProviderError::fatal(format!(
            "{}: input `{key}` must be {expected}, but it is {got}; this is a bug in the resource graph",
            self.address
        ))
    }

    pub fn str(&self, key: &str) -> ProviderResult<&'a str> {
        self.opt_str(key)?.ok_or_else(|| self.wrong(key, "a string", None))
    }

    pub fn opt_str(&self, key: &str) -> ProviderResult<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            other => Err(self.wrong(key, "a string", other)),
        }
    }

    pub fn int(&self, key: &str) -> ProviderResult<i64> {
        match self.get(key) {
            Some(Value::Int(i)) => Ok(*i),
            other => Err(self.wrong(key, "an integer", other)),
        }
    }

    pub fn opt_bool(&self, key: &str) -> ProviderResult<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            other => Err(self.wrong(key, "a boolean", other)),
        }
    }

    /// A list of strings; missing means empty.
    pub fn strings(&self, key: &str) -> ProviderResult<Vec<String>> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::List(items)) => items
                .iter()
                .map(|item| {
                    item.as_str().map(str::to_owned).ok_or_else(|| self.wrong(key, "a list of strings", Some(item)))
                })
                .collect(),
            other => Err(self.wrong(key, "a list of strings", other)),
        }
    }

    /// A list of integers; missing means empty.
    pub fn ints(&self, key: &str) -> ProviderResult<Vec<i64>> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::List(items)) => items
                .iter()
                .map(|item| item.as_int().ok_or_else(|| self.wrong(key, "a list of integers", Some(item))))
                .collect(),
            other => Err(self.wrong(key, "a list of integers", other)),
        }
    }

    /// A secret string (a plain string is accepted too). Never put the result in a message.
    pub fn secret_str(&self, key: &str) -> ProviderResult<&'a str> {
        match self.get(key) {
            Some(Value::Secret(inner)) => match inner.as_ref() {
                Value::String(s) => Ok(s),
                _ => Err(self.wrong(key, "a secret string", Some(inner))),
            },
            Some(Value::String(s)) => Ok(s),
            other => Err(self.wrong(key, "a secret string", other)),
        }
    }

    /// The names of the inputs that differ between `self` (before) and `after`.
    pub fn changed(&self, after: &Attributes) -> Vec<String> {
        let keys: BTreeSet<&String> = self.attrs.keys().chain(after.keys()).collect();
        keys.into_iter()
            .filter(|k| self.attrs.get(*k).unwrap_or(&Value::Null) != after.get(*k).unwrap_or(&Value::Null))
            .cloned()
            .collect()
    }
}

/// The inputs an object has now: `base` (what state recorded, or the desired inputs on a find)
/// overlaid with what AWS reports in `observed`. Only attributes `base` has are reported, and a
/// `base` value of null (left for AWS to choose, e.g. an availability zone) stays null. Lists
/// holding the same items as recorded keep the recorded order, because AWS returns sets in no
/// particular order. Attributes AWS never returns (a VPN key) keep their recorded value.
pub(crate) fn merge(base: &Attributes, observed: Attributes) -> Attributes {
    let mut merged = base.clone();
    for (key, value) in observed {
        let Some(recorded) = merged.get_mut(&key) else { continue };
        if matches!(recorded, Value::Null) {
            continue;
        }
        if let (Value::List(old), Value::List(new)) = (&*recorded, &value)
            && same_items(old, new)
        {
            continue;
        }
        *recorded = value;
    }
    merged
}

fn same_items(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x))
}

/// Outputs as recorded, refreshed with what AWS reports now.
pub(crate) fn merge_outputs(base: &Attributes, observed: Attributes) -> Attributes {
    let mut merged = base.clone();
    merged.extend(observed);
    merged
}

/// Builds an [`Attributes`] map from `(name, value)` pairs.
pub(crate) fn attributes<const N: usize>(pairs: [(&str, Value); N]) -> Attributes {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Fails when an update touches inputs the kind cannot change in place.
pub(crate) fn only_updatable(address: &Address, changed: &[String], updatable: &[&str]) -> ProviderResult<()> {
    let fixed: Vec<&String> = changed.iter().filter(|k| !updatable.contains(&k.as_str())).collect();
    if fixed.is_empty() {
        return Ok(());
    }
    Err(ProviderError::fatal(format!(
        "{address}: AWS cannot change {} in place; change it back, or delete the object (ringform destroy --target {address}) and apply again",
        fixed.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_recorded_order_nulls_and_unreturned_inputs() {
        let base = attributes([
            ("ports", Value::from(vec![7000i64, 9042])),
            ("zone", Value::Null),
            ("key", Value::secret("k".into())),
            ("cidr", "10.0.0.0/16".into()),
        ]);
        let observed = attributes([
            ("ports", Value::from(vec![9042i64, 7000])),
            ("zone", "eu-west-1a".into()),
            ("cidr", "10.1.0.0/16".into()),
            ("extra", Value::Int(1)),
        ]);
        let merged = merge(&base, observed);
        assert_eq!(merged["ports"], Value::from(vec![7000i64, 9042]));
        assert_eq!(merged["zone"], Value::Null);
        assert_eq!(merged["key"], Value::secret("k".into()));
        assert_eq!(merged["cidr"], Value::from("10.1.0.0/16"));
        assert!(!merged.contains_key("extra"));
    }

    #[test]
    fn wrong_types_name_the_attribute_but_never_a_secret() {
        let address: Address = "aws_vpc.x".parse().unwrap();
        let attrs = attributes([("cidr_block", Value::secret("hunter2".into()))]);
        let error = Inputs::new(&address, &attrs).str("cidr_block").unwrap_err();
        assert!(error.message.contains("`cidr_block`") && !error.message.contains("hunter2"), "{}", error.message);
    }
}
