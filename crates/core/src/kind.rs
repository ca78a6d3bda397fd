use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};

/// Which provider implements a kind. Which kinds each one has is its schema's business
/// ([`crate::schema::ProviderSchema`]); the engine finds a kind's provider through the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    Aws,
    Azure,
    Kubernetes,
    /// Values ringform makes itself, such as generated VPN shared keys.
    Local,
}

impl Provider {
    pub const fn as_str(self) -> &'static str {
        match self {
            Provider::Aws => "aws",
            Provider::Azure => "azure",
            Provider::Kubernetes => "kubernetes",
            Provider::Local => "local",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resource kind's name, such as a VPC's: lowercase ASCII letters, digits and underscores,
/// starting with a letter. Core knows no kinds; each provider's schema declares its own as
/// constants (`Kind::new("example_vpc")`), and text read back from state or the command line is
/// parsed into the same value. Copy, and compares by name.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kind(&'static str);

/// Why text is not a kind name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a resource kind name: kinds are lowercase letters, digits and `_`, starting with a letter")]
pub struct KindError(pub String);

const fn is_kind_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() || !bytes[0].is_ascii_lowercase() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return false;
        }
        i += 1;
    }
    true
}

impl Kind {
    /// A kind constant. A malformed name fails the build when used in a `const`.
    pub const fn new(name: &'static str) -> Kind {
        assert!(is_kind_name(name), "a kind name is lowercase letters, digits and `_`, starting with a letter");
        Kind(name)
    }

    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

/// Kinds parsed from text, each name leaked once so that `Kind` stays `Copy`. Only ever holds
/// well-formed names, so its size is bounded by the distinct kind names a process reads.
static PARSED: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

impl FromStr for Kind {
    type Err = KindError;

    fn from_str(text: &str) -> Result<Self, KindError> {
        if !is_kind_name(text) {
            return Err(KindError(text.to_owned()));
        }
        let mut parsed = PARSED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(name) = parsed.get(text) {
            return Ok(Kind(name));
        }
        let name: &'static str = Box::leak(text.to_owned().into_boxed_str());
        parsed.insert(name);
        Ok(Kind(name))
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsed_kinds_equal_declared_ones() {
        const VPC: Kind = Kind::new("example_vpc");
        assert_eq!("example_vpc".parse::<Kind>(), Ok(VPC));
        assert_eq!("example_vpc".parse::<Kind>().unwrap().to_string(), "example_vpc");
    }

    #[test]
    fn rejects_malformed_names() {
        for bad in ["", "Vpc", "1vpc", "aws-vpc", "aws.vpc", "aws vpc", "_vpc"] {
            assert_eq!(bad.parse::<Kind>(), Err(KindError(bad.to_owned())), "{bad:?}");
        }
    }
}
