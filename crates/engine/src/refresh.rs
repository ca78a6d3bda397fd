//! Refresh: reads what every tracked object looks like now, one batched read per kind and
//! scope (never one call per object), and reports how reality differs from state.

use std::collections::BTreeMap;

use ringform_core::provider::{ReadRequest, Registry, Scope, Tracked};
use ringform_core::{Address, Kind, Value};
use ringform_state::{Record, Snapshot, StateStore};

use crate::EngineError;
use crate::limits::quietly_with_retries;

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

impl Refreshed {
    /// `state` as reality has it: the records of objects found gone left out, the others as
    /// just read.
    pub fn reality(&self, state: &Snapshot) -> Snapshot {
        let mut real = state.clone();
        for drift in &self.drift {
            if let Drift::Deleted { address } = drift {
                real.records.remove(address);
            }
        }
        for record in &self.records {
            real.records.insert(record.address.clone(), record.clone());
        }
        real
    }
}

/// Refreshes the state in `store` and writes reality into it: the records of objects found gone
/// are removed, and those that differ from what was read are replaced. Returns the state as
/// stored afterwards, and what the refresh saw.
pub async fn refresh_into_store(
    store: &dyn StateStore,
    registry: &Registry,
    deployment: &str,
) -> Result<(Snapshot, Refreshed), EngineError> {
    let state = store.snapshot()?;
    let refreshed = refresh(&state, registry, deployment).await?;
    for drift in &refreshed.drift {
        if let Drift::Deleted { address } = drift {
            store.remove(address)?;
        }
    }
    for record in &refreshed.records {
        // Unchanged records are left alone, so a refresh that finds no drift bumps no serial.
        if state.get(&record.address) != Some(record) {
            store.put(record)?;
        }
    }
    Ok((store.snapshot()?, refreshed))
}

/// Reads every object in `state`, batched by kind and scope.
pub async fn refresh(state: &Snapshot, registry: &Registry, deployment: &str) -> Result<Refreshed, EngineError> {
    let mut batches: BTreeMap<(Kind, Scope), Vec<&Record>> = BTreeMap::new();
    for record in state.iter() {
        let provider = registry.for_kind(record.kind()).map_err(EngineError::NoProvider)?;
        let scope = provider.scope(&record.address, &record.inputs);
        batches.entry((record.kind(), scope)).or_default().push(record);
    }
    let mut refreshed = Refreshed::default();
    for ((kind, scope), records) in batches {
        let provider = registry.for_kind(kind).map_err(EngineError::NoProvider)?;
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
        let response = quietly_with_retries(read).await.map_err(|source| EngineError::Read {
            kind: request.kind,
            scope: request.scope,
            source,
        })?;
        let mut found: BTreeMap<Address, _> = response.found.into_iter().map(|o| (o.address.clone(), o)).collect();
        let schema = provider.schema().kind(kind);
        for record in records {
            let Some(mut observed) = found.remove(&record.address) else {
                refreshed.drift.push(Drift::Deleted { address: record.address.clone() });
                continue;
            };
            if let Some(schema) = schema {
                schema.seal_record(&mut observed.inputs, &mut observed.outputs);
            }
            for (attribute, recorded) in &record.inputs {
                let actual = observed.inputs.get(attribute).cloned().unwrap_or_default();
                // Compared as the planner compares: ARM ids without case, sets in any order.
                let same = ringform_core::inputs::same(schema, attribute, recorded, &actual);
                if !same {
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
