//! Apply and destroy: the plan's operations walked as a DAG (see [`crate::walk`]), each one
//! performed by [`perform`] on a task of its own.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ringform_core::provider::{
    Applied, BoxFuture, CreateRequest, DeleteRequest, ErrorClass, ProviderError, Registry, ResourceProvider,
    UpdateRequest,
};
use ringform_core::{Address, Attributes};
use ringform_graph::ResourceGraph;
use ringform_plan::Plan;
use ringform_state::{JournalEntry, Operation, Record, Snapshot, StateStore};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::limits::{RateLimit, RateLimiter, RetryPolicy, with_retries};
use crate::ops::{Op, OpKind, operations};
use crate::walk::{Node, Visitor, walk};
use crate::{EngineError, Event, OpError, Outcome, Reporter};

#[derive(Clone, Debug)]
pub struct Options {
    /// The `ringform:deployment` tag value.
    pub deployment: String,
    /// Provider calls in flight at once.
    pub parallelism: usize,
    pub retry: RetryPolicy,
    pub rate: RateLimit,
    /// When slots are scarce, start the operation with the longest remaining chain first.
    /// Off, ready operations start in plan order (for comparison in benchmarks).
    pub critical_path_first: bool,
}

impl Options {
    pub fn new(deployment: impl Into<String>) -> Self {
        Options {
            deployment: deployment.into(),
            parallelism: 64,
            retry: RetryPolicy::default(),
            rate: RateLimit::default(),
            critical_path_first: true,
        }
    }
}

/// What every operation's task shares.
struct Shared {
    store: Arc<dyn StateStore>,
    reporter: Arc<dyn Reporter>,
    limiter: RateLimiter,
    retry: RetryPolicy,
    deployment: String,
}

pub struct Engine {
    registry: Registry,
    shared: Arc<Shared>,
    parallelism: usize,
    critical_path_first: bool,
}

/// One operation, everything resolved, ready to run on its own task.
struct Call {
    address: Address,
    op: OpKind,
    provider: Arc<dyn ResourceProvider>,
    inputs: Attributes,
    previous: Option<Record>,
    references: Vec<Address>,
}

impl Engine {
    pub fn new(registry: Registry, store: Arc<dyn StateStore>, reporter: Arc<dyn Reporter>, options: Options) -> Self {
        let shared = Shared {
            store,
            reporter,
            limiter: RateLimiter::new(options.rate),
            retry: options.retry,
            deployment: options.deployment,
        };
        Engine {
            registry,
            shared: Arc::new(shared),
            parallelism: options.parallelism.max(1),
            critical_path_first: options.critical_path_first,
        }
    }

    /// Carries out `plan` (made from `graph` against the store's current state): an apply, or a
    /// destroy when the plan only deletes. Stops scheduling when `stop` turns true and returns
    /// once in-flight operations have finished.
    pub async fn apply(
        &self,
        plan: &Plan,
        graph: &ResourceGraph,
        stop: watch::Receiver<bool>,
    ) -> Result<Outcome, EngineError> {
        let started = Instant::now();
        let snapshot = self.shared.store.snapshot()?;
        let ops = operations(plan, graph, &snapshot, self.registry.schemas());
        let nodes: Vec<Node<Duration>> = ops
            .iter()
            .map(|op| Node {
                waits_for: op.waits_for.clone(),
                priority: if self.critical_path_first { op.priority } else { Duration::ZERO },
            })
            .collect();
        let outputs = snapshot.records.iter().map(|(a, r)| (a.clone(), r.outputs.clone())).collect();
        let mut run = Run { engine: self, ops: &ops, snapshot: &snapshot, outputs, outcome: Outcome::default() };
        let walked = walk(&nodes, self.parallelism, stop, &mut run).await;
        let mut outcome = run.outcome;
        outcome.not_started = walked.not_started.iter().map(|&i| (ops[i].address.clone(), ops[i].kind)).collect();
        outcome.critical_path =
            walked.critical_path.iter().map(|&(i, took)| (ops[i].address.clone(), ops[i].kind, took)).collect();
        outcome.elapsed = started.elapsed();
        Ok(outcome)
    }

    /// Resolves an operation's references from the outputs known now.
    fn prepare(
        &self,
        op: &Op,
        outputs: &HashMap<Address, Attributes>,
        previous: Option<&Record>,
    ) -> Result<Call, OpError> {
        let provider = self.registry.for_kind(op.address.kind()).map_err(OpError::new)?;
        let inputs = match &op.desired {
            Some(desired) => {
                let lookup = |r: &ringform_core::Reference| outputs.get(&r.address)?.get(&r.output).cloned();
                let resolved: Attributes = desired.iter().map(|(k, v)| (k.clone(), v.resolve(&lookup))).collect();
                let mut missing = None;
                for value in desired.values() {
                    value.visit_references(&mut |r| {
                        if missing.is_none() && lookup(r).is_none() {
                            missing = Some(r.clone());
                        }
                    });
                }
                if let Some(r) = missing {
                    return Err(OpError::new(EngineError::MissingOutput {
                        address: op.address.clone(),
                        source_address: r.address,
                        output: r.output,
                    }));
                }
                resolved
            }
            None => previous.map(|r| r.inputs.clone()).unwrap_or_default(),
        };
        Ok(Call {
            address: op.address.clone(),
            op: op.kind,
            provider: Arc::clone(provider),
            inputs,
            previous: previous.cloned(),
            references: op.references.clone(),
        })
    }
}

/// One apply as the walk sees it: starts each operation with its references resolved from the
/// outputs known so far, and turns what happens into events and the outcome.
struct Run<'a> {
    engine: &'a Engine,
    ops: &'a [Op],
    snapshot: &'a Snapshot,
    /// Every object's outputs as of now: from state, then from each operation that finished.
    outputs: HashMap<Address, Attributes>,
    outcome: Outcome,
}

impl Run<'_> {
    fn report(&self, event: Event) {
        self.engine.shared.reporter.report(event);
    }
}

impl Visitor for Run<'_> {
    /// The object's outputs after the operation; `None` once deleted.
    type Output = Option<Attributes>;
    type Error = OpError;

    fn start(&mut self, i: usize) -> BoxFuture<'static, Result<Option<Attributes>, OpError>> {
        let op = &self.ops[i];
        self.report(Event::Started { address: op.address.clone(), op: op.kind });
        match self.engine.prepare(op, &self.outputs, self.snapshot.get(&op.address)) {
            Ok(call) => {
                let shared = Arc::clone(&self.engine.shared);
                Box::pin(async move { perform(call, &shared).await })
            }
            Err(error) => Box::pin(std::future::ready(Err(error))),
        }
    }

    fn finished(&mut self, i: usize, result: Result<Option<Attributes>, OpError>, elapsed: Duration) {
        let (address, op) = (self.ops[i].address.clone(), self.ops[i].kind);
        match result {
            Ok(outputs) => {
                self.report(Event::Succeeded { address: address.clone(), op, elapsed });
                match outputs {
                    Some(outputs) => self.outputs.insert(address.clone(), outputs),
                    None => self.outputs.remove(&address),
                };
                self.outcome.succeeded.push((address, op, elapsed));
            }
            Err(error) => {
                self.report(Event::Failed { address: address.clone(), op, error: error.clone() });
                self.outcome.failed.push((address, op, error));
            }
        }
    }

    fn skipped(&mut self, i: usize, because: usize) {
        let (skipped, because) = (&self.ops[i], self.ops[because].address.clone());
        self.report(Event::Skipped { address: skipped.address.clone(), op: skipped.kind, because: because.clone() });
        self.outcome.skipped.push((skipped.address.clone(), skipped.kind, because));
    }

    fn stopping(&mut self, in_flight: usize) {
        self.report(Event::Stopping { in_flight });
    }
}

/// Runs one operation: journal the intent, call the provider (retrying what may be retried),
/// write the state record, journal the outcome. Returns the object's outputs (`None` once
/// deleted), or the error. The journal keeps an error as text, its causes included.
async fn perform(call: Call, shared: &Shared) -> Result<Option<Attributes>, OpError> {
    let operation = match call.op {
        OpKind::Create => Operation::Create,
        OpKind::Update => Operation::Update,
        OpKind::Delete => Operation::Delete,
    };
    let journal = |entry: JournalEntry| shared.store.journal_append(&entry).map_err(OpError::new);
    journal(JournalEntry::intent(call.address.clone(), operation))?;
    let result = call_with_retries(&call, shared).await;
    match result {
        Ok(applied) => {
            let provider_id = applied.as_ref().map(|a| a.provider_id.clone());
            let outputs = match applied {
                Some(applied) => {
                    let (mut inputs, mut outputs) = (call.inputs, applied.outputs);
                    if let Some(schema) = call.provider.schema().kind(call.address.kind()) {
                        schema.seal_record(&mut inputs, &mut outputs);
                    }
                    let mut record =
                        Record::new(call.address.clone(), Some(applied.provider_id), inputs, outputs.clone());
                    record.dependencies = call.references;
                    // An update changes the same object; a create (also of a replacement) makes a new one.
                    if let (OpKind::Update, Some(previous)) = (call.op, &call.previous) {
                        record.created_at = previous.created_at;
                    }
                    shared.store.put(&record).map_err(OpError::new)?;
                    Some(outputs)
                }
                None => {
                    shared.store.remove(&call.address).map_err(OpError::new)?;
                    None
                }
            };
            journal(JournalEntry::succeeded(call.address, operation, provider_id))?;
            Ok(outputs)
        }
        Err(error) => {
            let error = OpError::new(error);
            journal(JournalEntry::failed(call.address, operation, error.chain()))?;
            Err(error)
        }
    }
}

/// The provider call, retried with backoff while the error says it may help, each attempt
/// paced by the scope's rate limit. `None` = deleted.
async fn call_with_retries(call: &Call, shared: &Shared) -> Result<Option<Applied>, ProviderError> {
    let scope = &call.provider.scope(&call.address, &call.inputs);
    let attempt = || async move {
        shared.limiter.acquire(scope).await;
        let result = request(call, shared).await;
        if result.is_ok() {
            shared.limiter.succeeded(scope);
        }
        result
    };
    let retrying = |error: &ProviderError, attempt: u32, delay: Duration| {
        if let ErrorClass::Throttled { .. } = error.class {
            shared.limiter.throttled(scope);
        }
        shared.reporter.report(Event::Retrying {
            address: call.address.clone(),
            op: call.op,
            attempt,
            delay,
            error: error.clone(),
        });
    };
    with_retries(&shared.retry, attempt, retrying).await
}

/// One attempt at the provider call.
async fn request(call: &Call, shared: &Shared) -> Result<Option<Applied>, ProviderError> {
    let previous_id = call.previous.as_ref().and_then(|r| r.provider_id.clone());
    let previous_outputs = || call.previous.as_ref().map(|r| r.outputs.clone()).unwrap_or_default();
    match (call.op, previous_id) {
        (OpKind::Create, _) => call
            .provider
            .create(CreateRequest {
                deployment: shared.deployment.clone(),
                address: call.address.clone(),
                inputs: call.inputs.clone(),
            })
            .await
            .map(Some),
        (OpKind::Update, Some(provider_id)) => call
            .provider
            .update(UpdateRequest {
                deployment: shared.deployment.clone(),
                address: call.address.clone(),
                provider_id,
                before: call.previous.as_ref().map(|r| r.inputs.clone()).unwrap_or_default(),
                after: call.inputs.clone(),
                outputs: previous_outputs(),
            })
            .await
            .map(Some),
        (OpKind::Delete, Some(provider_id)) => call
            .provider
            .delete(DeleteRequest {
                deployment: shared.deployment.clone(),
                address: call.address.clone(),
                provider_id,
                inputs: call.inputs.clone(),
                outputs: previous_outputs(),
            })
            .await
            .map(|()| None),
        // Never created (no provider id): nothing to delete.
        (OpKind::Delete, None) => Ok(None),
        (OpKind::Update, None) => {
            Err(ProviderError::fatal(format!("{} has no provider id in state to update", call.address)))
        }
    }
}
