//! The engine's integration tests in one test binary, so the engine, the fake cloud and the
//! topology crates are linked once rather than once per file.

mod common;
mod crash_properties;
mod engine;
