//! The vocabulary every other ringform crate speaks, with no I/O: resource [`Address`]es (the
//! same value is the state key, the graph node, the plan key and the `--target` argument), the
//! resource [`Kind`] names (no kinds themselves: each provider declares its own), attribute
//! [`Value`]s, which besides plain data can be unknown until apply, secret, or a reference to
//! another resource's output, the [`provider`] contract, the [`schema`] types a provider
//! describes its kinds with, and typed access to a resource's [`inputs`].

mod address;
pub mod inputs;
mod kind;
pub mod provider;
pub mod schema;
mod value;

pub use address::{Address, AddressError};
pub use inputs::{InputError, Inputs};
pub use kind::{Kind, KindError, Provider};
pub use value::{Attributes, Reference, SENSITIVE_TEXT, UNKNOWN_TEXT, Value};

/// Implements serde for a type through its text form (`Display` and `FromStr`), so that stored
/// and printed forms are the same: `serde_as_text!(Address);`.
#[macro_export]
macro_rules! serde_as_text {
    ($type:ty) => {
        impl serde::Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
