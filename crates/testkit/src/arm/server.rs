//! What every connection shares, and how ARM answers over the shared [`http`](crate::http)
//! server: JSON bodies and the request ids ARM puts on every response.

use std::sync::{Arc, Mutex, MutexGuard};

use super::errors::{ArmError, Reply};
use super::handlers;
use super::state::State;
use super::validation::Catalog;
use crate::http::{self, Body};

pub(super) struct Shared {
    pub endpoint: String,
    pub token: String,
    pub catalog: Arc<Catalog>,
    state: Mutex<State>,
}

impl Shared {
    pub fn new(endpoint: String, token: String, catalog: Arc<Catalog>) -> Shared {
        Shared { endpoint, token, catalog, state: Mutex::new(State::default()) }
    }

    /// The state, even after a handler panicked while holding it: a test fake must keep serving.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl http::Service for Shared {
    fn handle(&self, request: &http::Request<'_>) -> http::Response {
        respond(handlers::handle(self, request))
    }

    fn failure(&self, message: &str) -> http::Response {
        respond(ArmError::new(500, "InternalServerError", message).into_reply())
    }
}

fn respond(reply: Reply) -> http::Response {
    let mut headers = vec![
        ("x-ms-request-id", uuid::Uuid::new_v4().to_string()),
        ("x-ms-correlation-request-id", uuid::Uuid::new_v4().to_string()),
    ];
    let body = reply.body.as_ref().map(|b| serde_json::to_vec(b).unwrap_or_default()).unwrap_or_default();
    if reply.body.is_some() {
        headers.push(("Content-Type", "application/json; charset=utf-8".to_string()));
    }
    headers.extend(reply.headers);
    http::Response { status: reply.status, headers, body: Body::Full(body) }
}
