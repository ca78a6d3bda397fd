//! Turns a topology file (TOML) into a validated [`Topology`]: defaults applied, node subnets
//! derived, and every problem found reported at once as a [`Diagnostic`] pointing at
//! file:line:column with the key and a hint. Also exports the JSON Schema of the format. No I/O.

pub mod model;

pub use model::*;

/// One problem in a topology file. (Placeholder: being implemented.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub span: Span,
    /// Where in the document, e.g. `clusters.eu-west.network_cidr`.
    pub key: String,
    pub message: String,
    pub hint: Option<String>,
}

/// Parses and validates a topology.
pub fn parse(_source: &str) -> Result<Topology, Vec<Diagnostic>> {
    todo!("being implemented")
}
