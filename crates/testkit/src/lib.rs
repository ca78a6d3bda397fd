//! Test-only parts for ringform. The centre piece is [`FakeProvider`], a fault-injecting
//! in-memory cloud that implements the provider contract for every resource kind: it keeps an
//! inspectable [`Inventory`] of objects (optionally mirrored to a JSON file that is rewritten
//! atomically on every change, so a process killed with SIGKILL leaves exactly what the fake
//! cloud did), returns the outputs the resource graph references, and can be told through a
//! [`FakeConfig`] to be slow, flaky, throttled, fatal for some addresses, or to "crash" at the
//! n-th mutating call just before or just after its effect. A call log records every call with
//! its scope and timing so tests can assert batching and parallelism. [`MemoryStore`] is a state
//! store without the disk. The engine's tests,
//! property tests, process-level kill tests and benchmarks all run against it. [`moto`] starts
//! the AWS emulator for the AWS provider's tests, [`azurite`] the Azure Storage emulator for
//! state kept in Azure Blob. [`arm`] is a fake Azure Resource Manager server
//! that validates every PUT against the REST API specs' schemas, for the Azure provider's tests;
//! [`kube`] is a fake Kubernetes API server (many clusters on one port) that the real kubectl runs
//! against unchanged, for the Kubernetes provider's tests; [`key_vault`] is a fake Azure Key
//! Vault that wraps and unwraps data keys, for the key service's tests. All run on the tiny HTTP
//! server in `http`.
//! [`topologies`] generates valid topologies of any size, for benchmarks and coverage tests.
//! [`fixtures_dir`] is where the third-party schemas those tests read are checked in.

pub mod arm;
pub mod azurite;
mod config;
mod fake;
mod http;
mod inventory;
pub mod key_vault;
pub mod kube;
mod memory_store;
pub mod moto;
mod outputs;
mod stores;
pub use stores::{block_on, every_byte_in};
pub mod topologies;

pub use config::{CrashAction, CrashMode, FakeConfig};
pub use fake::{CallRecord, FakeProvider, Method, Outcome};
pub use inventory::{Comparison, FakeObject, Inventory};
pub use memory_store::MemoryStore;

use std::path::PathBuf;

/// The repository's `tests/fixtures/`: byte-identical copies of third-party schemas (`crds/`,
/// `arm/`), with where each comes from in `PROVENANCE`. In the repository, so a clone alone
/// runs every test.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures"))
}

#[cfg(test)]
mod tests;
