//! The Azure provider: resource groups, virtual networks with their subnets, public IPs,
//! route-based VPN gateways and their connections, local network gateways, VNet peerings and
//! AKS clusters, managed through Azure Resource Manager. It owns a small typed ARM client on
//! the official `azure_core` / `azure_identity` crates (one pinned api-version per type,
//! long-running operations polled to the end, ARM errors classified for the engine), the
//! request body of every kind, and the mapping from what ARM returns back to the graph's
//! attributes so that an unchanged object shows no drift.
//!
//! Environment: `AZURE_SUBSCRIPTION_ID` (when a cluster names no subscription),
//! `RINGFORM_ARM_ENDPOINT`, `RINGFORM_ARM_TOKEN` (a static bearer token, skipping
//! azure_identity), `RINGFORM_ARM_SCOPE`, `RINGFORM_ARM_POLL_MS`, and azure_identity's own
//! (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`, `AZURE_FEDERATED_TOKEN_FILE`,
//! or an `az login` session).

mod arm;
mod attrs;
mod error;
mod kinds;
mod lro;
mod provider;
mod settings;

pub use arm::credential_from_env;
pub use error::ArmError;
pub use provider::AzureProvider;
pub use settings::{ArmSettings, AzureSettings};

#[cfg(test)]
mod client_tests;
#[cfg(test)]
mod script;
#[cfg(test)]
mod tests;
