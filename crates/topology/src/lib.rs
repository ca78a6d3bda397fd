//! Turns a topology file (TOML) into a validated [`Topology`]: defaults applied, node subnets
//! derived, and every problem found reported at once as a [`Diagnostic`] pointing at
//! file:line:column with the key and a hint. Also exports the JSON Schema of the format. No I/O.
//!
//! The pipeline: `load` reads the TOML into raw serde structs (every value wrapped so that one
//! bad value does not hide the others) and reports unknown keys; `resolve` applies defaults,
//! derives subnets and checks each table on its own; `validate` checks across tables; only a
//! topology with no problem at all becomes the model.

mod diagnostic;
mod load;
pub mod model;
mod net;
mod partial;
mod patterns;
mod raw;
mod resolve;
mod schema;
mod validate;

#[cfg(test)]
mod tests;

pub use diagnostic::{Diagnostic, line_col};
pub use model::*;
pub use schema::json_schema;

/// Parses, resolves defaults, derives subnets and validates a topology. On failure returns
/// every problem found, sorted by position in `source`.
pub fn parse(source: &str) -> Result<Topology, Vec<Diagnostic>> {
    let (raw, mut diagnostics) = load::load(source).map_err(|syntax| vec![syntax])?;
    let partial = resolve::resolve(raw, &mut diagnostics);
    validate::validate(&partial, source, &mut diagnostics);
    if diagnostics.is_empty() {
        return partial.build().ok_or_else(|| {
            // A rule is missing if this happens: say so rather than panic.
            vec![Diagnostic::new(0..0, "", "internal error: the topology is incomplete but no rule said why")]
        });
    }
    diagnostics.sort_by(|a, b| (a.span.start, a.span.end, &a.key).cmp(&(b.span.start, b.span.end, &b.key)));
    diagnostics.dedup();
    Err(diagnostics)
}
