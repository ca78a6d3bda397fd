//! The vocabulary every other ringform crate speaks, with no I/O: resource [`Address`]es (the
//! same value is the state key, the graph node, the plan key and the `--target` argument), the
//! catalogue of resource [`Kind`]s with what forces their replacement, and attribute [`Value`]s,
//! which besides plain data can be unknown until apply, secret, or a reference to another
//! resource's output.

mod address;
mod kind;
mod value;

pub use address::{Address, AddressError};
pub use kind::{Kind, Provider};
pub use value::{Attributes, Reference, SENSITIVE_TEXT, UNKNOWN_TEXT, Value};
