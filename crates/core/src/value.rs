use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Address;

/// A resource's attributes by name, in a stable order.
pub type Attributes = BTreeMap<String, Value>;

/// One attribute value.
///
/// Besides plain data a value can be [`Value::Unknown`] ("known after apply"),
/// [`Value::Secret`] (never printed, never logged) or a [`Value::Reference`] to an output of
/// another resource; references are what the resource graph derives its edges from.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    String(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Unknown,
    Secret(Box<Value>),
    /// Boxed: the rarest variant is also the largest, and a `Value` is in every attribute map
    /// (a large state holds hundreds of thousands), so it is kept to the size of a `String`.
    Reference(Box<Reference>),
}

/// Output `output` of the resource at `address`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    pub address: Address,
    pub output: String,
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.address, self.output)
    }
}

impl Value {
    pub fn reference(address: &Address, output: &str) -> Value {
        Value::Reference(Box::new(Reference { address: address.clone(), output: output.to_owned() }))
    }

    pub fn secret(inner: Value) -> Value {
        Value::Secret(Box::new(inner))
    }

    /// What sort of value this is, for error messages that must not show the value itself
    /// (it may be a secret): "a string", "a secret", "a value not known yet"…
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::String(_) => "a string",
            Value::List(_) => "a list",
            Value::Map(_) => "a map",
            Value::Unknown | Value::Reference(_) => "a value not known yet",
            Value::Secret(_) => "a secret",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// Calls `visit` for every reference inside this value, depth first.
    pub fn visit_references<'a>(&'a self, visit: &mut impl FnMut(&'a Reference)) {
        match self {
            Value::Reference(r) => visit(r),
            Value::Secret(inner) => inner.visit_references(visit),
            Value::List(items) => items.iter().for_each(|v| v.visit_references(visit)),
            Value::Map(map) => map.values().for_each(|v| v.visit_references(visit)),
            Value::Null | Value::Bool(_) | Value::Int(_) | Value::String(_) | Value::Unknown => {}
        }
    }

    /// Replaces every reference by what `lookup` knows of it, or by [`Value::Unknown`].
    pub fn resolve(&self, lookup: &impl Fn(&Reference) -> Option<Value>) -> Value {
        match self {
            Value::Reference(r) => lookup(r).unwrap_or(Value::Unknown),
            // A secret reference to a secret output stays one layer of secrecy deep.
            Value::Secret(inner) => match inner.resolve(lookup) {
                secret @ Value::Secret(_) => secret,
                plain => Value::secret(plain),
            },
            Value::List(items) => Value::List(items.iter().map(|v| v.resolve(lookup)).collect()),
            Value::Map(map) => Value::Map(map.iter().map(|(k, v)| (k.clone(), v.resolve(lookup))).collect()),
            plain => plain.clone(),
        }
    }

    /// True when nothing inside is unknown or an unresolved reference.
    pub fn is_known(&self) -> bool {
        match self {
            Value::Unknown | Value::Reference(_) => false,
            Value::Secret(inner) => inner.is_known(),
            Value::List(items) => items.iter().all(Value::is_known),
            Value::Map(map) => map.values().all(Value::is_known),
            Value::Null | Value::Bool(_) | Value::Int(_) | Value::String(_) => true,
        }
    }

    /// True when anything inside is secret.
    pub fn is_sensitive(&self) -> bool {
        match self {
            Value::Secret(_) => true,
            Value::List(items) => items.iter().any(Value::is_sensitive),
            Value::Map(map) => map.values().any(Value::is_sensitive),
            _ => false,
        }
    }

    /// Plain JSON for showing to people and machines: secrets become `"(sensitive)"`, unknown
    /// values and references `"(known after apply)"`. Never exposes a secret.
    pub fn to_redacted_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::String(s) => J::String(s.clone()),
            Value::List(items) => J::Array(items.iter().map(Value::to_redacted_json).collect()),
            Value::Map(map) => J::Object(map.iter().map(|(k, v)| (k.clone(), v.to_redacted_json())).collect()),
            Value::Unknown | Value::Reference(_) => J::String(UNKNOWN_TEXT.into()),
            Value::Secret(_) => J::String(SENSITIVE_TEXT.into()),
        }
    }
}

/// How an unknown value is shown.
pub const UNKNOWN_TEXT: &str = "(known after apply)";
/// How a secret is shown.
pub const SENSITIVE_TEXT: &str = "(sensitive)";

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<u32> for Value {
    fn from(i: u32) -> Self {
        Value::Int(i.into())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(items: Vec<T>) -> Self {
        Value::List(items.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl<K: Into<String>> FromIterator<(K, Value)> for Value {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(entries: I) -> Self {
        Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

// The stored form is plain JSON-like data; the three special values are single-key maps whose
// key starts with `$`, which no attribute map of ringform's uses.
const UNKNOWN_KEY: &str = "$unknown";
const SECRET_KEY: &str = "$secret";
const REF_KEY: &str = "$ref";

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::String(s) => serializer.serialize_str(s),
            Value::List(items) => serializer.collect_seq(items),
            Value::Map(map) => serializer.collect_map(map),
            Value::Unknown => single_entry(serializer, UNKNOWN_KEY, &true),
            Value::Secret(inner) => single_entry(serializer, SECRET_KEY, inner),
            Value::Reference(r) => single_entry(serializer, REF_KEY, &(&r.address, &r.output)),
        }
    }
}

fn single_entry<S: Serializer, V: Serialize + ?Sized>(serializer: S, key: &str, value: &V) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(1))?;
    map.serialize_entry(key, value)?;
    map.end()
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an attribute value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        i64::try_from(u).map(Value::Int).map_err(|_| E::custom(format!("integer {u} is too large")))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = BTreeMap::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.is_empty() {
                match key.as_str() {
                    UNKNOWN_KEY => {
                        access.next_value::<de::IgnoredAny>()?;
                        return Ok(Value::Unknown);
                    }
                    SECRET_KEY => return Ok(Value::secret(access.next_value()?)),
                    REF_KEY => {
                        let (address, output) = access.next_value::<(Address, String)>()?;
                        return Ok(Value::Reference(Box::new(Reference { address, output })));
                    }
                    _ => {}
                }
            }
            let value = access.next_value()?;
            map.insert(key, value);
        }
        Ok(Value::Map(map))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_value_is_no_larger_than_a_string_and_its_tag() {
        assert_eq!(std::mem::size_of::<super::Value>(), 32);
    }

    use super::*;
    use proptest::prelude::*;

    fn vpc() -> Address {
        "aws_vpc.eu-west".parse().unwrap()
    }

    #[test]
    fn special_values_round_trip_through_json() {
        let value = Value::List(vec![
            Value::Unknown,
            Value::secret("hunter2".into()),
            Value::reference(&vpc(), "id"),
            Value::Map([("a".to_owned(), Value::Int(1))].into()),
            Value::Null,
        ]);
        let json = serde_json::to_string(&value).unwrap();
        assert_eq!(json, r#"[{"$unknown":true},{"$secret":"hunter2"},{"$ref":["aws_vpc.eu-west","id"]},{"a":1},null]"#);
        assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), value);
    }

    #[test]
    fn redacted_json_never_shows_secrets() {
        let value = Value::Map([("key".to_owned(), Value::secret("hunter2".into()))].into());
        let shown = value.to_redacted_json().to_string();
        assert!(!shown.contains("hunter2"));
        assert!(shown.contains(SENSITIVE_TEXT));
    }

    #[test]
    fn resolve_replaces_references_and_keeps_secrecy() {
        let value = Value::List(vec![Value::reference(&vpc(), "id"), Value::secret(Value::reference(&vpc(), "key"))]);
        let resolved = value.resolve(&|r| (r.output == "id").then(|| Value::from("vpc-1")));
        assert_eq!(resolved, Value::List(vec!["vpc-1".into(), Value::secret(Value::Unknown)]));
        assert!(!resolved.is_known());
        assert!(resolved.is_sensitive());
    }

    #[test]
    fn visits_nested_references() {
        let value = Value::Map(
            [("seeds".to_owned(), Value::List(vec![Value::reference(&vpc(), "a"), Value::reference(&vpc(), "b")]))]
                .into(),
        );
        let mut outputs = vec![];
        value.visit_references(&mut |r| outputs.push(r.output.clone()));
        assert_eq!(outputs, ["a", "b"]);
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            Just(Value::Unknown),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            "[a-z$]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
                prop::collection::btree_map("[a-z]{1,6}", inner.clone(), 0..4).prop_map(Value::Map),
                inner.prop_map(Value::secret),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_value_round_trips(value in arb_value()) {
            let json = serde_json::to_string(&value).unwrap();
            prop_assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), value);
        }
    }
}
