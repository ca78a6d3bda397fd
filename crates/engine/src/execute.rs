//! The executor: a ready queue over the operations, a bounded set of tasks in flight.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use ringform_core::provider::{
    Applied, CreateRequest, DeleteRequest, ErrorClass, ProviderError, Registry, ResourceProvider, UpdateRequest,
};
use ringform_core::{Address, Attributes};
use ringform_graph::ResourceGraph;
use ringform_plan::Plan;
use ringform_state::{JournalEntry, Operation, Record, StateStore};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::limits::{RateLimit, RateLimiter, RetryPolicy};
use crate::ops::{Op, OpKind, operations};
use crate::{EngineError, Event, Outcome, Reporter};

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

/// What every task shares.
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Waiting,
    Running,
    Done,
    Failed,
    Skipped,
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

    /// Carries out `plan` (made from `graph` against the store's current state). Stops
    /// scheduling when `stop` turns true and returns once in-flight operations have finished.
    pub async fn apply(
        &self,
        plan: &Plan,
        graph: &ResourceGraph,
        mut stop: watch::Receiver<bool>,
    ) -> Result<Outcome, EngineError> {
        let started = Instant::now();
        let snapshot = self.shared.store.snapshot()?;
        let mut ops = operations(plan, graph, &snapshot, self.registry.schemas());
        if !self.critical_path_first {
            ops.iter_mut().for_each(|op| op.priority = Duration::ZERO);
        }
        let mut outputs: HashMap<Address, Attributes> =
            snapshot.records.iter().map(|(a, r)| (a.clone(), r.outputs.clone())).collect();
        let mut waiting: Vec<usize> = ops.iter().map(|op| op.waits_for.len()).collect();
        let mut status = vec![Status::Waiting; ops.len()];
        let mut timing: Vec<Option<(Instant, Instant)>> = vec![None; ops.len()];
        let mut ready: BinaryHeap<(Duration, Reverse<usize>)> =
            (0..ops.len()).filter(|&i| waiting[i] == 0).map(|i| (ops[i].priority, Reverse(i))).collect();
        let mut tasks: JoinSet<(usize, Result<Option<Attributes>, String>)> = JoinSet::new();
        let mut outcome = Outcome::default();
        let mut stopping = *stop.borrow();
        // A closed channel can never say stop (its sender is gone): stop watching it, not working.
        let mut watching = true;

        loop {
            // A stop that came in while the last completion was being handled counts before
            // anything new starts.
            if !stopping && *stop.borrow() {
                stopping = true;
                self.shared.reporter.report(Event::Stopping { in_flight: tasks.len() });
            }
            while !stopping && tasks.len() < self.parallelism {
                let Some((_, Reverse(i))) = ready.pop() else { break };
                let op = &ops[i];
                status[i] = Status::Running;
                timing[i] = Some((Instant::now(), Instant::now()));
                self.shared.reporter.report(Event::Started { address: op.address.clone(), op: op.kind });
                match self.prepare(op, &outputs, snapshot.get(&op.address)) {
                    Ok(call) => {
                        let shared = Arc::clone(&self.shared);
                        tasks.spawn(async move { (i, perform(call, &shared).await) });
                    }
                    Err(error) => {
                        let error = error.to_string();
                        self.fail(&ops, i, error, &mut status, &mut outcome);
                    }
                }
            }
            if tasks.is_empty() {
                break;
            }
            tokio::select! {
                joined = tasks.join_next() => {
                    let Some(joined) = joined else { continue };
                    let (i, result) = match joined {
                        Ok(done) => done,
                        // A task only panics on a bug; surface it rather than hang.
                        Err(error) => std::panic::resume_unwind(error.into_panic()),
                    };
                    let op = &ops[i];
                    if let Some((start, end)) = timing[i].as_mut() {
                        *end = Instant::now();
                        let elapsed = *end - *start;
                        if let Ok(new_outputs) = &result {
                            self.shared.reporter.report(Event::Succeeded { address: op.address.clone(), op: op.kind, elapsed });
                            outcome.succeeded.push((op.address.clone(), op.kind, elapsed));
                            match new_outputs {
                                Some(o) => outputs.insert(op.address.clone(), o.clone()),
                                None => outputs.remove(&op.address),
                            };
                        }
                    }
                    match result {
                        Ok(_) => {
                            status[i] = Status::Done;
                            for &d in &op.dependents {
                                waiting[d] -= 1;
                                if waiting[d] == 0 && status[d] == Status::Waiting {
                                    ready.push((ops[d].priority, Reverse(d)));
                                }
                            }
                        }
                        Err(error) => self.fail(&ops, i, error, &mut status, &mut outcome),
                    }
                }
                changed = stop.changed(), if watching && !stopping => {
                    // Seen at the top of the loop if it says stop.
                    watching = changed.is_ok();
                }
            }
        }
        for (i, op) in ops.iter().enumerate() {
            if status[i] == Status::Waiting {
                outcome.not_started.push((op.address.clone(), op.kind));
            }
        }
        outcome.elapsed = started.elapsed();
        outcome.critical_path = critical_path(&ops, &status, &timing);
        Ok(outcome)
    }

    /// Resolves an operation's references from the outputs known now.
    fn prepare(
        &self,
        op: &Op,
        outputs: &HashMap<Address, Attributes>,
        previous: Option<&Record>,
    ) -> Result<Call, EngineError> {
        let provider = self
            .registry
            .for_kind(op.address.kind())
            .map_err(|e| EngineError::Provider { address: op.address.clone(), message: e.message })?;
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
                    return Err(EngineError::MissingOutput {
                        address: op.address.clone(),
                        source_address: r.address,
                        output: r.output,
                    });
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

    /// Marks `i` failed and everything waiting on it, transitively, skipped.
    fn fail(&self, ops: &[Op], i: usize, error: String, status: &mut [Status], outcome: &mut Outcome) {
        let op = &ops[i];
        status[i] = Status::Failed;
        self.shared.reporter.report(Event::Failed { address: op.address.clone(), op: op.kind, error: error.clone() });
        outcome.failed.push((op.address.clone(), op.kind, error));
        let mut stack = op.dependents.clone();
        while let Some(d) = stack.pop() {
            if status[d] == Status::Waiting {
                status[d] = Status::Skipped;
                let skipped = &ops[d];
                self.shared.reporter.report(Event::Skipped {
                    address: skipped.address.clone(),
                    op: skipped.kind,
                    because: op.address.clone(),
                });
                outcome.skipped.push((skipped.address.clone(), skipped.kind, op.address.clone()));
                stack.extend(skipped.dependents.iter().copied());
            }
        }
    }
}

/// Runs one operation: journal the intent, call the provider (retrying what may be retried),
/// write the state record, journal the outcome. Returns the object's outputs (`None` once
/// deleted), or the error.
async fn perform(call: Call, shared: &Shared) -> Result<Option<Attributes>, String> {
    let operation = match call.op {
        OpKind::Create => Operation::Create,
        OpKind::Update => Operation::Update,
        OpKind::Delete => Operation::Delete,
    };
    let journal = |entry: JournalEntry| shared.store.journal_append(&entry).map_err(|e| chain(&e));
    journal(JournalEntry::intent(call.address.clone(), operation))?;
    let result = call_with_retries(&call, shared).await;
    match result {
        Ok(applied) => {
            let provider_id = applied.as_ref().map(|a| a.provider_id.clone());
            let outputs = match applied {
                Some(applied) => {
                    let mut record = Record::new(
                        call.address.clone(),
                        Some(applied.provider_id),
                        call.inputs,
                        applied.outputs.clone(),
                    );
                    record.dependencies = call.references;
                    // An update changes the same object; a create (also of a replacement) makes a new one.
                    if let (OpKind::Update, Some(previous)) = (call.op, &call.previous) {
                        record.created_at = previous.created_at;
                    }
                    shared.store.put(&record).map_err(|e| chain(&e))?;
                    Some(applied.outputs)
                }
                None => {
                    shared.store.remove(&call.address).map_err(|e| chain(&e))?;
                    None
                }
            };
            journal(JournalEntry::succeeded(call.address, operation, provider_id))?;
            Ok(outputs)
        }
        Err(error) => {
            let message = error.message;
            journal(JournalEntry::failed(call.address, operation, message.clone()))?;
            Err(message)
        }
    }
}

/// The provider call, retried with backoff while the error says it may help. `None` = deleted.
async fn call_with_retries(call: &Call, shared: &Shared) -> Result<Option<Applied>, ProviderError> {
    let scope = call.provider.scope(&call.address, &call.inputs);
    let previous_id = call.previous.as_ref().and_then(|r| r.provider_id.clone());
    let mut attempt = 0;
    loop {
        shared.limiter.acquire(&scope).await;
        let result = match (call.op, &previous_id) {
            (OpKind::Create, _) => call
                .provider
                .create(CreateRequest {
                    deployment: shared.deployment.clone(),
                    address: call.address.clone(),
                    inputs: call.inputs.clone(),
                })
                .await
                .map(Some),
            (OpKind::Update, Some(id)) => call
                .provider
                .update(UpdateRequest {
                    deployment: shared.deployment.clone(),
                    address: call.address.clone(),
                    provider_id: id.clone(),
                    before: call.previous.as_ref().map(|r| r.inputs.clone()).unwrap_or_default(),
                    after: call.inputs.clone(),
                    outputs: call.previous.as_ref().map(|r| r.outputs.clone()).unwrap_or_default(),
                })
                .await
                .map(Some),
            (OpKind::Delete, Some(id)) => call
                .provider
                .delete(DeleteRequest {
                    deployment: shared.deployment.clone(),
                    address: call.address.clone(),
                    provider_id: id.clone(),
                    inputs: call.inputs.clone(),
                    outputs: call.previous.as_ref().map(|r| r.outputs.clone()).unwrap_or_default(),
                })
                .await
                .map(|()| None),
            // Never created (no provider id): nothing to delete.
            (OpKind::Delete, None) => Ok(None),
            (OpKind::Update, None) => {
                Err(ProviderError::fatal(format!("{} has no provider id in state to update", call.address)))
            }
        };
        let error = match result {
            Ok(done) => {
                shared.limiter.succeeded(&scope);
                return Ok(done);
            }
            Err(error) => error,
        };
        attempt += 1;
        let delay = match error.class {
            ErrorClass::Fatal => return Err(error),
            _ if attempt >= shared.retry.max_attempts => {
                return Err(ProviderError {
                    message: format!("{} (gave up after {attempt} attempts)", error.message),
                    ..error
                });
            }
            ErrorClass::Throttled { retry_after } => {
                shared.limiter.throttled(&scope);
                retry_after.unwrap_or_else(|| shared.retry.backoff(attempt))
            }
            ErrorClass::Retryable => shared.retry.backoff(attempt),
        };
        shared.reporter.report(Event::Retrying {
            address: call.address.clone(),
            op: call.op,
            attempt,
            delay,
            error: error.message.clone(),
        });
        tokio::time::sleep(delay).await;
    }
}

fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The chain that ended last: from the last operation to finish, back through whichever of
/// its prerequisites finished last.
fn critical_path(
    ops: &[Op],
    status: &[Status],
    timing: &[Option<(Instant, Instant)>],
) -> Vec<(Address, OpKind, Duration)> {
    let finish = |i: usize| (status[i] == Status::Done).then(|| timing[i].map(|(_, end)| end)).flatten();
    let mut path = Vec::new();
    let mut current = (0..ops.len()).filter_map(|i| finish(i).map(|f| (f, i))).max().map(|(_, i)| i);
    while let Some(i) = current {
        if let Some((start, end)) = timing[i] {
            path.push((ops[i].address.clone(), ops[i].kind, end - start));
        }
        current = ops[i].waits_for.iter().filter_map(|&j| finish(j).map(|f| (f, j))).max().map(|(_, j)| j);
    }
    path.reverse();
    path
}
