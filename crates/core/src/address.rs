use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::{Kind, KindError};

/// The identity of one resource: `<kind>.<name>`, e.g. `k8s_namespace.eu-west/cassandra` or
/// `cassandra_datacenter.eu-west/dc1`. Immutable and cheap to clone; its text form
/// round-trips through [`FromStr`] and [`fmt::Display`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    kind: Kind,
    name: Arc<str>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("`{0}` is not an address: expected `<kind>.<name>`, as `ringform graph FILE` lists them")]
    Shape(String),
    #[error(transparent)]
    Kind(#[from] KindError),
    #[error("resource name `{0}` may only hold letters, digits and `-_.~/:`")]
    Name(String),
}

impl Address {
    /// Builds an address, checking that the name is usable as one.
    pub fn new(kind: Kind, name: impl AsRef<str>) -> Result<Self, AddressError> {
        let name = name.as_ref();
        if name.is_empty() || !name.chars().all(is_name_char) {
            return Err(AddressError::Name(name.to_owned()));
        }
        Ok(Address { kind, name: name.into() })
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '/' | ':')
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        // Kinds never contain a dot, so the first dot ends the kind; names may contain dots.
        let (kind, name) = text.split_once('.').ok_or_else(|| AddressError::Shape(text.to_owned()))?;
        let kind = kind.parse()?;
        Address::new(kind, name)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind.as_str(), self.name)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

crate::serde_as_text!(Address);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_prints() {
        let a: Address = "aws_vpc_peering.eu-west~eu-central".parse().unwrap();
        assert_eq!(a.kind(), Kind::new("aws_vpc_peering"));
        assert_eq!(a.name(), "eu-west~eu-central");
        assert_eq!(a.to_string(), "aws_vpc_peering.eu-west~eu-central");
    }

    #[test]
    fn names_may_contain_dots() {
        let a: Address = "aws_subnet.eu-west.eu-west-1a".parse().unwrap();
        assert_eq!(a.name(), "eu-west.eu-west-1a");
    }

    #[test]
    fn rejects_bad_text() {
        assert!(matches!("vpc".parse::<Address>(), Err(AddressError::Shape(_))));
        assert!(matches!("Gcp-vpc.x".parse::<Address>(), Err(AddressError::Kind(_))));
        assert!(matches!("aws_vpc.".parse::<Address>(), Err(AddressError::Name(_))));
        assert!(matches!("aws_vpc.a b".parse::<Address>(), Err(AddressError::Name(_))));
    }

    #[test]
    fn serde_uses_the_text_form() {
        let a: Address = "aws_vpc.eu-west".parse().unwrap();
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, "\"aws_vpc.eu-west\"");
        assert_eq!(serde_json::from_str::<Address>(&json).unwrap(), a);
    }

    proptest! {
        #[test]
        fn text_form_round_trips(kind in "[a-z][a-z0-9_]{0,20}", name in "[a-zA-Z0-9_.~/:-]{1,40}") {
            let a = Address::new(kind.parse().unwrap(), &name).unwrap();
            prop_assert_eq!(a.to_string().parse::<Address>().unwrap(), a);
        }

        #[test]
        fn parsing_never_panics(text in "\\PC{0,60}") {
            let _ = text.parse::<Address>();
        }
    }
}
