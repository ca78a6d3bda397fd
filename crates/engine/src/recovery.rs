//! Crash recovery: before a new run, every intent the journal holds without an outcome (the
//! process died between asking the cloud and hearing back) is settled by looking the object
//! up by its ownership tags: a create that happened is adopted into state, one that didn't is
//! recorded as never having happened, a delete that happened removes the record. Then the
//! journal is cleared. Creating nothing twice and leaking nothing rests on this.

use std::sync::Arc;

use ringform_core::provider::{FindRequest, Registry};
use ringform_core::{Address, Attributes, Reference};
use ringform_graph::ResourceGraph;
use ringform_state::{JournalEntry, Operation, Record, StateStore};

use crate::EngineError;
use crate::limits::quietly_with_retries;

/// What recovery found for one unfinished intent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recovered {
    /// The create had happened: the object is now in state.
    Adopted(Address),
    /// The create never reached the cloud.
    NeverCreated(Address),
    /// The delete had happened: the record is gone.
    Deleted(Address),
    /// The delete never happened: the object and its record stay.
    StillExists(Address),
    /// An update may or may not have been applied; the next plan compares again.
    Unsettled(Address),
}

/// Settles every unfinished intent, then clears the journal. `graph` (the desired graph, when
/// known) supplies the dependencies adopted records should remember.
pub async fn recover(
    store: &Arc<dyn StateStore>,
    registry: &Registry,
    deployment: &str,
    graph: Option<&ResourceGraph>,
) -> Result<Vec<Recovered>, EngineError> {
    let mut settled = Vec::new();
    for (_, intent) in store.unfinished_intents()? {
        let address = intent.address.clone();
        let provider = registry.for_kind(address.kind()).map_err(EngineError::NoProvider)?;
        let record = store.get(&address)?;
        // Where to look: the recorded object's inputs or, for a create that left no record, the
        // inputs it was made with (its desired attributes, references resolved from state).
        let inputs = match (&record, graph.and_then(|g| g.get(&address))) {
            (Some(record), _) => record.inputs.clone(),
            (None, Some(resource)) => {
                let lookup = |r: &Reference| store.get(&r.address).ok().flatten()?.outputs.get(&r.output).cloned();
                resource.attributes.iter().map(|(k, v)| (k.clone(), v.resolve(&lookup))).collect()
            }
            (None, None) => Attributes::new(),
        };
        let find = || async {
            let request =
                FindRequest { deployment: deployment.to_owned(), address: address.clone(), inputs: inputs.clone() };
            quietly_with_retries(|| provider.find(request.clone()))
                .await
                .map_err(|source| EngineError::Recover { address: address.clone(), source })
        };
        let outcome = match intent.operation {
            Operation::Create | Operation::Adopt => match find().await? {
                Some(mut found) => {
                    if let Some(schema) = provider.schema().kind(address.kind()) {
                        schema.seal_record(&mut found.inputs, &mut found.outputs);
                    }
                    let mut adopted =
                        Record::new(address.clone(), Some(found.provider_id), found.inputs, found.outputs);
                    adopted.dependencies = match (graph, &record) {
                        (Some(graph), _) => graph.dependencies(&address).cloned().collect(),
                        (None, Some(previous)) => previous.dependencies.clone(),
                        (None, None) => Vec::new(),
                    };
                    store.put(&adopted)?;
                    Recovered::Adopted(address.clone())
                }
                None => Recovered::NeverCreated(address.clone()),
            },
            Operation::Delete => match find().await? {
                Some(_) => Recovered::StillExists(address.clone()),
                None => {
                    store.remove(&address)?;
                    Recovered::Deleted(address.clone())
                }
            },
            Operation::Update | Operation::Read => Recovered::Unsettled(address.clone()),
        };
        store.journal_append(&JournalEntry::succeeded(address, intent.operation, None))?;
        settled.push(outcome);
    }
    store.journal_clear()?;
    Ok(settled)
}
