//! Refresh: reads what every tracked object looks like now, one batched read per kind and
//! scope (never one call per object), and reports how reality differs from state.

use std::collections::BTreeMap;

use ringform_core::provider::{ReadRequest, Registry, Scope, Tracked};
use ringform_core::{Address, Kind, Value};
use ringform_state::{Record, Snapshot};

use crate::EngineError;
use crate::limits::{RetryPolicy, with_retries};

/// How one tracked object differs from its state record.
#[derive(Clone, Debug, PartialEq)]
pub enum Drift {
    /// The object is gone.
    Deleted { address: Address },
    /// An input attribute no longer has the value ringform set.
    Changed { address: Address, attribute: String, recorded: Value, actual: Value },
}

impl Drift {
    pub fn address(&self) -> &Address {
        match self {
            Drift::Deleted { address } | Drift::Changed { address, .. } => address,
        }
    }
}

/// What a refresh saw.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Refreshed {
    pub drift: Vec<Drift>,
    /// Records as reality has them now (gone objects left out), for `ringform refresh` to store.
    pub records: Vec<Record>,
    /// Provider read calls made (retries included).
    pub calls: usize,
}

/// Reads every object in `state`, batched by kind and scope.
pub async fn refresh(state: &Snapshot, registry: &Registry, deployment: &str) -> Result<Refreshed, EngineError> {
    let mut batches: BTreeMap<(Kind, Scope), Vec<&Record>> = BTreeMap::new();
    for record in state.iter() {
        let provider = registry
            .for_kind(record.kind())
            .map_err(|e| EngineError::Provider { address: record.address.clone(), message: e.message })?;
        let scope = provider.scope(&record.address, &record.inputs);
        batches.entry((record.kind(), scope)).or_default().push(record);
    }
    let mut refreshed = Refreshed::default();
    for ((kind, scope), records) in batches {
        let Some(first) = records.first() else { continue };
        let provider = registry
            .for_kind(kind)
            .map_err(|e| EngineError::Provider { address: first.address.clone(), message: e.message })?;
        let resources = records
            .iter()
            .filter_map(|r| {
                Some(Tracked {
                    address: r.address.clone(),
                    provider_id: r.provider_id.clone()?,
                    inputs: r.inputs.clone(),
                    outputs: r.outputs.clone(),
                })
            })
            .collect();
        let request = ReadRequest { deployment: deployment.to_owned(), kind, scope, resources };
        let read = || {
            refreshed.calls += 1;
            provider.read(request.clone())
        };
        let response = with_retries(&RetryPolicy::default(), read).await.map_err(|e| EngineError::Provider {
            address: first.address.clone(),
            message: format!("reading {kind} objects: {}", e.message),
        })?;
        let mut found: BTreeMap<Address, _> = response.found.into_iter().map(|o| (o.address.clone(), o)).collect();
        for record in records {
            let Some(observed) = found.remove(&record.address) else {
                refreshed.drift.push(Drift::Deleted { address: record.address.clone() });
                continue;
            };
            for (attribute, recorded) in &record.inputs {
                let actual = observed.inputs.get(attribute).cloned().unwrap_or_default();
                if actual != *recorded {
                    refreshed.drift.push(Drift::Changed {
                        address: record.address.clone(),
                        attribute: attribute.clone(),
                        recorded: recorded.clone(),
                        actual,
                    });
                }
            }
            refreshed.records.push(Record {
                provider_id: Some(observed.provider_id),
                inputs: observed.inputs,
                outputs: observed.outputs,
                ..record.clone()
            });
        }
    }
    Ok(refreshed)
}
