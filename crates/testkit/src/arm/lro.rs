//! Long-running operations. A PUT or DELETE of a long-running type starts one; it reports
//! `InProgress` for the configured number of polls and until the type's provisioning delay has
//! passed, then ends `Succeeded` (or `Failed`, when told to). Its effect on the resource (the
//! final provisioning state, or the removal) lands when it ends, which is decided lazily: on a
//! poll, or at the start of any request once no polls are owed.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::errors::ArmError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Action {
    Create,
    Update,
    Delete,
}

#[derive(Debug)]
pub(super) enum Status {
    InProgress,
    Succeeded,
    Failed(ArmError),
}

#[derive(Debug)]
pub(super) struct Operation {
    pub id: String,
    /// Store key of the resource it works on.
    pub target: String,
    pub action: Action,
    pub status: Status,
    /// The `Azure-AsyncOperation` URL.
    pub status_url: String,
    /// The `Location` URL (DELETE only).
    pub result_url: String,
    started: Instant,
    polls_left: u32,
    delay: Duration,
    /// Set when the operation was told to fail; it does so when it ends.
    failure: Option<ArmError>,
}

/// Where the operation's URLs point and how long it runs.
pub(super) struct Plan {
    pub endpoint: String,
    pub subscription: String,
    pub namespace: String,
    pub location: String,
    pub api_version: String,
    pub polls: u32,
    pub delay: Duration,
    pub failure: Option<ArmError>,
}

impl Operation {
    pub fn start(target: String, action: Action, plan: Plan) -> Operation {
        let id = uuid::Uuid::new_v4().to_string();
        // ARM puts the location in operation URLs in its short form: "West Europe" → "westeurope".
        let mut location: String = plan.location.chars().filter(char::is_ascii_alphanumeric).collect();
        location.make_ascii_lowercase();
        if location.is_empty() {
            location = "global".into();
        }
        let base = format!(
            "{}/subscriptions/{}/providers/{}/locations/{location}",
            plan.endpoint, plan.subscription, plan.namespace
        );
        let query = format!("api-version={}", plan.api_version);
        Operation {
            status_url: format!("{base}/operations/{id}?{query}"),
            result_url: format!("{base}/operationResults/{id}?{query}"),
            id,
            target,
            action,
            status: Status::InProgress,
            started: Instant::now(),
            polls_left: plan.polls,
            delay: plan.delay,
            failure: plan.failure,
        }
    }

    pub fn in_progress(&self) -> bool {
        matches!(self.status, Status::InProgress)
    }

    /// Whether it may end now: every poll it owes has been made and its delay has passed.
    pub fn due(&self) -> bool {
        self.in_progress() && self.polls_left == 0 && self.started.elapsed() >= self.delay
    }

    /// Counts one poll; the caller then checks [`Operation::due`].
    pub fn poll(&mut self) {
        self.polls_left = self.polls_left.saturating_sub(1);
    }

    /// Ends the operation; returns whether it succeeded.
    pub fn end(&mut self) -> bool {
        self.status = match self.failure.take() {
            Some(error) => Status::Failed(error),
            None => Status::Succeeded,
        };
        matches!(self.status, Status::Succeeded)
    }

    /// The body of a GET on the `Azure-AsyncOperation` URL.
    pub fn status_body(&self) -> Value {
        let mut body = json!({ "id": self.status_url, "name": self.id, "status": "InProgress" });
        match &self.status {
            Status::InProgress => {}
            Status::Succeeded => body["status"] = "Succeeded".into(),
            Status::Failed(error) => {
                body["status"] = "Failed".into();
                body["error"] = error.body();
            }
        }
        body
    }
}
