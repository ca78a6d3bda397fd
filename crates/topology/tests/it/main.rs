//! The topology crate's integration tests in one test binary (one link instead of one per file).

mod no_panic;
mod render;
mod schema;
