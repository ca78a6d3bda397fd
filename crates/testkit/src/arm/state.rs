//! Everything the server keeps between requests: resources, operations, the request log and
//! the knobs tests turn. One mutex guards it; handlers are synchronous and never hold it across
//! an await.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use super::RecordedRequest;
use super::errors::ArmError;
use super::kinds::Kind;
use super::lro::{Action, Operation, Plan};
use super::store::Store;
use super::{pools, rules};

/// Faults and timings tests set at run time.
pub(super) struct Knobs {
    pub throttle: u32,
    pub throttle_retry_after: u64,
    pub fail: u32,
    pub fail_status: u16,
    pub poll_rounds: u32,
    pub delays: HashMap<Kind, Duration>,
    pub retry_after: u64,
    pub page_size: usize,
    pub failing_operations: u32,
    pub operation_failure: (String, String),
}

impl Default for Knobs {
    fn default() -> Knobs {
        Knobs {
            throttle: 0,
            throttle_retry_after: 0,
            fail: 0,
            fail_status: 500,
            poll_rounds: 0,
            delays: HashMap::new(),
            retry_after: 0,
            page_size: 100,
            failing_operations: 0,
            operation_failure: (String::new(), String::new()),
        }
    }
}

impl Knobs {
    /// The throttling or failure the next request is told to meet, if any.
    pub fn injected_fault(&mut self) -> Option<ArmError> {
        if self.throttle > 0 {
            self.throttle -= 1;
            let after = self.throttle_retry_after;
            let message = format!("Too many requests. Please retry after {after} seconds.");
            return Some(ArmError::new(429, "TooManyRequests", message).header("Retry-After", after.to_string()));
        }
        if self.fail > 0 {
            self.fail -= 1;
            return Some(ArmError::from_status(self.fail_status));
        }
        None
    }

    /// How the next operation ends: `Some(error)` when it was told to fail.
    fn next_failure(&mut self) -> Option<ArmError> {
        if self.failing_operations == 0 {
            return None;
        }
        self.failing_operations -= 1;
        let (code, message) = &self.operation_failure;
        Some(ArmError::bad_request(code, message.clone()))
    }
}

#[derive(Default)]
pub(super) struct State {
    pub store: Store,
    pub operations: HashMap<String, Operation>,
    pub knobs: Knobs,
    pub requests: Vec<RecordedRequest>,
    /// Public IP addresses handed out so far.
    pub addresses: u32,
}

/// Where a new operation's URLs point.
pub(super) struct Origin<'a> {
    pub endpoint: &'a str,
    pub subscription: &'a str,
    pub location: &'a str,
    pub api_version: &'a str,
}

impl State {
    /// Starts a long-running operation on the stored resource `key` and returns its id.
    pub fn start(&mut self, key: &str, kind: Kind, action: Action, origin: Origin<'_>) -> String {
        let plan = Plan {
            endpoint: origin.endpoint.to_string(),
            subscription: origin.subscription.to_string(),
            namespace: kind.namespace().to_string(),
            location: origin.location.to_string(),
            api_version: origin.api_version.to_string(),
            polls: self.knobs.poll_rounds,
            delay: self.knobs.delays.get(&kind).copied().unwrap_or_default(),
            failure: self.knobs.next_failure(),
        };
        let operation = Operation::start(key.to_string(), action, plan);
        let id = operation.id.clone();
        if let Some(entry) = self.store.get_mut(key) {
            entry.op = Some(id.clone());
        }
        self.operations.insert(id.clone(), operation);
        id
    }

    /// Ends every operation that owes no more polls and whose delay has passed.
    pub fn settle(&mut self) {
        let due: Vec<String> = self.operations.values().filter(|op| op.due()).map(|op| op.id.clone()).collect();
        for id in due {
            self.end(&id);
        }
    }

    /// Counts a poll of operation `id` and ends it if that was the last one owed.
    pub fn poll(&mut self, id: &str) {
        let Some(operation) = self.operations.get_mut(id) else { return };
        if operation.due() {
            self.end(id);
        } else {
            operation.poll();
        }
    }

    /// The operation under way on the stored resource `key`, if any.
    pub fn running(&self, key: &str) -> Option<&Operation> {
        let id = self.store.get(key)?.op.as_ref()?;
        self.operations.get(id).filter(|op| op.in_progress())
    }

    /// Applies an operation's outcome to its resource.
    fn end(&mut self, id: &str) {
        let Some(operation) = self.operations.get_mut(id) else { return };
        let succeeded = operation.end();
        let (key, action) = (operation.target.clone(), operation.action);
        if action == Action::Delete && succeeded {
            self.remove(&key);
            return;
        }
        let Some(entry) = self.store.get_mut(&key) else { return };
        entry.op = None;
        let state = if succeeded { "Succeeded" } else { "Failed" };
        entry.set_property("provisioningState", state);
        if entry.kind == Kind::Connection && succeeded {
            entry.set_property("connectionStatus", "Connected");
        }
        // Subnets, IP configurations and agent pools report their parent's state.
        if let Some(properties) = entry.properties_mut() {
            for list in ["subnets", "ipConfigurations", "agentPoolProfiles"] {
                for child in properties.get_mut(list).and_then(Value::as_array_mut).into_iter().flatten() {
                    let holder = if list == "agentPoolProfiles" { Some(child) } else { child.get_mut("properties") };
                    if let Some(holder) = holder.and_then(Value::as_object_mut) {
                        holder.insert("provisioningState".into(), state.into());
                    }
                }
            }
        }
        pools::sync(&mut self.store, &key);
    }

    /// Removes a resource with everything nested under it; returns whether it existed.
    pub fn remove(&mut self, key: &str) -> bool {
        let removed = self.store.remove_tree(key);
        rules::disconnect_orphans(&mut self.store);
        pools::sync(&mut self.store, key);
        !removed.is_empty()
    }
}
