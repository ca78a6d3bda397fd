//! Which providers this build can use: AWS, Azure and Kubernetes (configured from the environment,
//! the way their own CLIs are), and the local provider for generated secrets. A test build (feature
//! `test-provider`) can be pointed at the fake cloud instead.

use std::sync::Arc;

use ringform_core::provider::Registry;
use ringform_plan::{Action, Plan};

use crate::Failure;

/// The providers for this run.
pub(crate) fn registry() -> Result<Registry, Failure> {
    #[cfg(feature = "test-provider")]
    if let Some(inventory) = std::env::var_os("RINGFORM_TEST_INVENTORY") {
        return fake(std::path::Path::new(&inventory));
    }
    // Constructing a provider reads settings only; credentials are looked up on first use, so
    // `plan` and `validate` work without any.
    Ok(Registry::new()
        .with(Arc::new(ringform_aws::AwsProvider::new(ringform_aws::AwsSettings::from_env())))
        .with(Arc::new(ringform_azure::AzureProvider::new(ringform_azure::AzureSettings::from_env())))
        .with(Arc::new(ringform_kube::KubeProvider::new(ringform_kube::KubeSettings::from_env())))
        .with(Arc::new(ringform_engine::LocalProvider)))
}

/// The fake cloud of `ringform-testkit`, file-backed so a killed process leaves its inventory.
/// `RINGFORM_TEST_LATENCY_MS` slows every call down so a kill can land mid-call.
#[cfg(feature = "test-provider")]
fn fake(inventory: &std::path::Path) -> Result<Registry, Failure> {
    use ringform_testkit::{FakeConfig, FakeProvider, Inventory};
    let inventory = Inventory::open(inventory)
        .map_err(|e| Failure::new(format!("cannot open the test inventory {}", inventory.display())).caused_by(&e))?;
    let latency = std::env::var("RINGFORM_TEST_LATENCY_MS").ok().and_then(|ms| ms.parse().ok()).unwrap_or(0);
    let config = FakeConfig::new().default_latency(std::time::Duration::from_millis(latency));
    Ok(FakeProvider::with_inventory(config, inventory).registry())
}

/// Fails before anything starts when the plan needs a provider this build does not have.
pub(crate) fn check(registry: &Registry, plan: &Plan) -> Result<(), Failure> {
    let mut missing: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .filter(|c| registry.for_kind(c.address.kind()).is_err())
        .map(|c| {
            registry
                .schemas()
                .provider(c.address.kind())
                .map_or_else(|| c.address.kind().to_string(), |p| p.to_string())
        })
        .collect();
    missing.sort();
    missing.dedup();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Failure::new(format!("this build of ringform has no {} provider yet", missing.join(", ")))
        .hint("apply the cloud layers alone with `--target 'aws_*' --target 'azure_*'`; the README's roadmap says when the rest lands"))
}

/// Whether this build can read every resource in `state` (refresh needs its providers).
pub(crate) fn can_read(registry: &Registry, state: &ringform_state::Snapshot) -> bool {
    state.iter().all(|r| registry.for_kind(r.kind()).is_ok())
}
