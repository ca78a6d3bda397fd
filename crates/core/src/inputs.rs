//! Reading a resource's inputs as typed values, and telling which of them changed: one set of
//! rules for every provider.
//!
//! - **Absent** means missing, null, or the empty string. [`Inputs::opt_str`] gives `None` for
//!   each and [`Inputs::str`] refuses each: no API ringform calls gives an empty name, id or
//!   address range a meaning of its own, and ARM reports strings nobody set as `""`.
//! - **Lists**: an absent list is an empty one; the items of a list of strings are never absent.
//! - **Errors** name the address, the attribute and what was expected, and describe what was
//!   found by its kind alone ([`Value::type_name`]), never by its value: it may be a secret.
//! - **Secrets** are read with [`Inputs::secret_str`] only, so that reading one is deliberate.
//! - **Changes** are decided by [`changed`], with the kind's schema comparison: the planner and
//!   the providers agree on what changed.

use crate::provider::ProviderError;
use crate::schema::{KindSchema, input};
use crate::{Address, Attributes, Value};

/// The inputs of the object at `address`, for typed access.
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
    pub address: &'a Address,
    pub attrs: &'a Attributes,
}

/// An input that is not what its kind needs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{address}: input `{attribute}` must be {expected}, but it is {found}")]
pub struct InputError {
    pub address: Address,
    pub attribute: String,
    pub expected: &'static str,
    /// What the value is, never the value itself.
    pub found: String,
}

/// The graph computes every input a provider reads, so a wrong one is ringform's bug.
impl From<InputError> for ProviderError {
    fn from(error: InputError) -> ProviderError {
        ProviderError::fatal(error.to_string())
            .with_hint("ringform computes every input itself, so this is a bug in ringform: please report it")
    }
}

/// What `value` is, for a message: its type, or why it counts as absent.
fn describe(value: Option<&Value>) -> String {
    match value {
        None => "missing".to_owned(),
        Some(Value::String(s)) if s.is_empty() => "an empty string".to_owned(),
        Some(other) => other.type_name().to_owned(),
    }
}

impl<'a> Inputs<'a> {
    pub fn new(address: &'a Address, attrs: &'a Attributes) -> Inputs<'a> {
        Inputs { address, attrs }
    }

    /// The value of `name`, unless it is absent.
    fn present(&self, name: &str) -> Option<&'a Value> {
        self.attrs.get(name).filter(|v| !matches!(v, Value::Null) && v.as_str() != Some(""))
    }

    fn wrong(&self, name: &str, expected: &'static str, found: String) -> InputError {
        InputError { address: self.address.clone(), attribute: name.to_owned(), expected, found }
    }

    /// A string that must be there.
    pub fn str(&self, name: &str) -> Result<&'a str, InputError> {
        self.opt_str(name)?.ok_or_else(|| self.wrong(name, "a non-empty string", describe(self.attrs.get(name))))
    }

    /// A string, or `None` when absent.
    pub fn opt_str(&self, name: &str) -> Result<Option<&'a str>, InputError> {
        match self.present(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            other => Err(self.wrong(name, "a non-empty string", describe(other))),
        }
    }

    pub fn int(&self, name: &str) -> Result<i64, InputError> {
        match self.present(name) {
            Some(Value::Int(i)) => Ok(*i),
            other => Err(self.wrong(name, "an integer", describe(other.or(self.attrs.get(name))))),
        }
    }

    /// A boolean, or `None` when absent.
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, InputError> {
        match self.present(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            other => Err(self.wrong(name, "a boolean", describe(other))),
        }
    }

    /// A list, empty when absent.
    pub fn list(&self, name: &str) -> Result<&'a [Value], InputError> {
        match self.present(name) {
            None => Ok(&[]),
            Some(Value::List(items)) => Ok(items),
            other => Err(self.wrong(name, "a list", describe(other))),
        }
    }

    /// A map that must be there, read by the same rules (a cluster's access details).
    pub fn map(&self, name: &str) -> Result<Inputs<'a>, InputError> {
        match self.present(name) {
            Some(Value::Map(map)) => Ok(Inputs::new(self.address, map)),
            other => Err(self.wrong(name, "a map", describe(other.or(self.attrs.get(name))))),
        }
    }

    /// A list of non-empty strings, empty when absent.
    pub fn strings(&self, name: &str) -> Result<Vec<String>, InputError> {
        self.items(name, "a list of non-empty strings", |item| {
            item.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
        })
    }

    /// A list of integers, empty when absent.
    pub fn ints(&self, name: &str) -> Result<Vec<i64>, InputError> {
        self.items(name, "a list of integers", Value::as_int)
    }

    fn items<T>(
        &self,
        name: &str,
        expected: &'static str,
        item: impl Fn(&Value) -> Option<T>,
    ) -> Result<Vec<T>, InputError> {
        let list = self.list(name).map_err(|e| InputError { expected, ..e })?;
        list.iter()
            .map(|v| item(v).ok_or_else(|| self.wrong(name, expected, format!("a list holding {}", describe(Some(v))))))
            .collect()
    }

    /// A string that must be there and may be secret. Never put it in a message.
    pub fn secret_str(&self, name: &str) -> Result<&'a str, InputError> {
        let expected = "a non-empty string, secret or not";
        match self.present(name) {
            Some(Value::Secret(inner)) => match inner.as_ref() {
                Value::String(s) if !s.is_empty() => Ok(s),
                other => Err(self.wrong(name, expected, format!("a secret holding {}", describe(Some(other))))),
            },
            Some(Value::String(s)) => Ok(s),
            other => Err(self.wrong(name, expected, describe(other.or(self.attrs.get(name))))),
        }
    }
}

/// The names of the inputs that differ between `before` and `after`, sorted. Values compare as
/// the kind's `schema` says (lists whose order means nothing, ids without case), exactly where
/// it says nothing. A missing input and a null one are the same; a value not known yet differs
/// (it may turn out different, so it must be sent again); being secret is no difference.
pub fn changed(schema: Option<&KindSchema>, before: &Attributes, after: &Attributes) -> Vec<String> {
    let mut changed: Vec<String> = before
        .keys()
        .chain(after.keys())
        .filter(|k| differs(schema, k, before.get(*k), after.get(*k)))
        .cloned()
        .collect();
    changed.sort_unstable();
    changed.dedup();
    changed
}

/// Whether `a` and `b` are the same value of input `name` under the kind's `schema`, exactly
/// where there is none; being secret is no difference.
pub fn same(schema: Option<&KindSchema>, name: &str, a: &Value, b: &Value) -> bool {
    schema.map_or_else(|| input("").same(a, b), |s| s.same_input(name, a, b))
}

fn differs(schema: Option<&KindSchema>, name: &str, before: Option<&Value>, after: Option<&Value>) -> bool {
    match (before, after) {
        (Some(b), Some(a)) => !a.is_known() || !same(schema, name, b, a),
        (None, None) => false,
        (Some(v), None) | (None, Some(v)) => *v != Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;

    const THING: Kind = Kind::new("test_thing");
    static SCHEMA: KindSchema = KindSchema::new(THING).inputs(&[input("ids").unordered(), input("ports")]);

    fn address() -> Address {
        Address::new(THING, "x").unwrap()
    }

    fn attrs(pairs: &[(&str, Value)]) -> Attributes {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    fn message(result: Result<impl std::fmt::Debug, InputError>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn missing_null_and_empty_strings_are_absent() {
        let address = address();
        let attrs = attrs(&[("null", Value::Null), ("empty", "".into()), ("zone", "eu-west-1a".into())]);
        let inputs = Inputs::new(&address, &attrs);
        for name in ["missing", "null", "empty"] {
            assert_eq!(inputs.opt_str(name), Ok(None), "{name}");
            assert_eq!(inputs.opt_bool(name), Ok(None), "{name}");
            assert_eq!(inputs.strings(name), Ok(vec![]), "{name}");
        }
        assert_eq!(inputs.opt_str("zone"), Ok(Some("eu-west-1a")));
        assert_eq!(inputs.str("zone"), Ok("eu-west-1a"));
        assert_eq!(
            message(inputs.str("missing")),
            "test_thing.x: input `missing` must be a non-empty string, but it is missing"
        );
        assert_eq!(
            message(inputs.str("null")),
            "test_thing.x: input `null` must be a non-empty string, but it is null"
        );
        assert_eq!(
            message(inputs.str("empty")),
            "test_thing.x: input `empty` must be a non-empty string, but it is an empty string"
        );
        assert_eq!(message(inputs.int("null")), "test_thing.x: input `null` must be an integer, but it is null");
    }

    #[test]
    fn wrong_types_and_unknown_values_say_what_they_are() {
        let address = address();
        let attrs = attrs(&[
            ("count", "3".into()),
            ("cidr", Value::Int(3)),
            ("later", Value::Unknown),
            ("ids", Value::List(vec!["a".into(), Value::Int(7)])),
            ("zones", Value::List(vec!["a".into(), "".into()])),
            ("ports", Value::List(vec![Value::Int(7000), Value::Int(9042)])),
        ]);
        let inputs = Inputs::new(&address, &attrs);
        assert_eq!(message(inputs.int("count")), "test_thing.x: input `count` must be an integer, but it is a string");
        assert_eq!(
            message(inputs.opt_str("cidr")),
            "test_thing.x: input `cidr` must be a non-empty string, but it is an integer"
        );
        assert!(message(inputs.str("later")).ends_with("but it is a value not known yet"));
        assert_eq!(
            message(inputs.strings("ids")),
            "test_thing.x: input `ids` must be a list of non-empty strings, but it is a list holding an integer"
        );
        assert!(message(inputs.strings("zones")).ends_with("but it is a list holding an empty string"));
        assert!(message(inputs.strings("cidr")).ends_with("must be a list of non-empty strings, but it is an integer"));
        assert_eq!(inputs.ints("ports"), Ok(vec![7000, 9042]));
    }

    #[test]
    fn secrets_are_read_deliberately_and_never_shown() {
        let address = address();
        let attrs = attrs(&[
            ("key", Value::secret("hunter2".into())),
            ("plain", "not-secret".into()),
            ("odd", Value::secret(Value::Int(31337))),
            ("blank", Value::secret("".into())),
        ]);
        let inputs = Inputs::new(&address, &attrs);
        assert_eq!(inputs.secret_str("key"), Ok("hunter2"));
        assert_eq!(inputs.secret_str("plain"), Ok("not-secret"), "a plain string is accepted");
        let error = message(inputs.str("key"));
        assert_eq!(error, "test_thing.x: input `key` must be a non-empty string, but it is a secret");
        let error = message(inputs.secret_str("odd"));
        assert!(error.ends_with("but it is a secret holding an integer") && !error.contains("31337"), "{error}");
        assert!(message(inputs.secret_str("blank")).ends_with("a secret holding an empty string"));
        assert!(message(inputs.secret_str("missing")).ends_with("but it is missing"));
        let provider = ProviderError::from(inputs.str("key").unwrap_err());
        assert!(!provider.message.contains("hunter2") && provider.hint.is_some(), "{provider:?}");
    }

    #[test]
    fn changes_follow_the_schema_comparison() {
        let list = |items: &[&str]| Value::from(items.to_vec());
        let before = attrs(&[("ids", list(&["a", "b"])), ("ports", Value::from(vec![1i64, 2])), ("name", "x".into())]);
        let same = attrs(&[("ids", list(&["b", "a"])), ("ports", Value::from(vec![1i64, 2])), ("name", "x".into())]);
        assert!(changed(Some(&SCHEMA), &before, &same).is_empty(), "unordered lists in another order");
        let reordered =
            attrs(&[("ids", list(&["a", "b"])), ("ports", Value::from(vec![2i64, 1])), ("name", "x".into())]);
        assert_eq!(changed(Some(&SCHEMA), &before, &reordered), ["ports"], "ordered lists in another order");
        assert_eq!(changed(None, &before, &same), ["ids"], "without a schema, exactly");
        let renamed =
            attrs(&[("ids", list(&["a", "b"])), ("ports", Value::from(vec![1i64, 2])), ("name", Value::Null)]);
        assert_eq!(changed(Some(&SCHEMA), &before, &renamed), ["name"]);
        let with_null = attrs(&[
            ("ids", list(&["a", "b"])),
            ("ports", Value::from(vec![1i64, 2])),
            ("name", "x".into()),
            ("zone", Value::Null),
        ]);
        assert!(changed(Some(&SCHEMA), &before, &with_null).is_empty(), "null is missing");
    }

    #[test]
    fn lists_with_the_same_items_counted_differently_are_a_change() {
        let list = |items: &[&str]| Value::from(items.to_vec());
        let before = attrs(&[("ids", list(&["a", "a", "b"]))]);
        let after = attrs(&[("ids", list(&["a", "b", "b"]))]);
        assert_eq!(changed(Some(&SCHEMA), &before, &after), ["ids"]);
    }
}
