//! ARM long-running operations: after a PUT, DELETE or POST, poll `Azure-AsyncOperation` when
//! present (its body's `status` says InProgress / Succeeded / Failed / Canceled), else
//! `Location` (202 means still going, 200/204 done), honouring `Retry-After` within the
//! configured floor and ceiling, until the type's time limit.

use std::time::Instant;

use azure_core::http::Method;
use serde::Deserialize;

use crate::arm::{ArmClient, ArmResponse, ResourceType, is_transient};
use crate::error::{ArmError, ArmResult, ErrorDetail, parse_error};

/// Consecutive failed polls (5xx, connection errors) tolerated before giving up.
const POLL_FAILURES: u32 = 5;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OperationStatus {
    status: String,
    error: Option<ErrorDetail>,
}

/// Waits for the operation `response` started, if it started one.
pub async fn wait(client: &ArmClient, response: &ArmResponse, resource: &str, ty: ResourceType) -> ArmResult<()> {
    poll(client, response, resource, ty).await.map(drop)
}

/// Waits for an asynchronous action and returns the final poll's body (what the action returns).
pub async fn wait_for_result(
    client: &ArmClient,
    response: &ArmResponse,
    resource: &str,
    ty: ResourceType,
) -> ArmResult<serde_json::Value> {
    let last = poll(client, response, resource, ty).await?;
    last.filter(|r| !r.body.is_empty()).map_or(Ok(serde_json::Value::Null), |r| r.json(resource))
}

/// Polls until done; returns the last answer of a `Location` poll (None when nothing was polled).
async fn poll(
    client: &ArmClient,
    response: &ArmResponse,
    resource: &str,
    ty: ResourceType,
) -> ArmResult<Option<ArmResponse>> {
    let (url, via_operation) = match (&response.async_operation, &response.location) {
        (Some(url), _) => (url, true),
        (None, Some(url)) if response.status == 202 || response.status == 201 => (url, false),
        // Synchronous: already done.
        _ => return Ok(None),
    };
    let url = client.same_origin(url, resource)?;
    let settings = &client.settings;
    let limit = settings.max_wait(ty.wait);
    let started = Instant::now();
    let mut retry_after = response.retry_after;
    let mut failures = 0;
    loop {
        // max-then-min rather than clamp: clamp panics when a caller sets floor > ceiling.
        let delay =
            retry_after.unwrap_or(settings.poll_interval).max(settings.poll_interval).min(settings.max_poll_interval);
        if started.elapsed() + delay > limit {
            return Err(ArmError::Timeout { resource: resource.to_owned(), waited: started.elapsed() });
        }
        tokio::time::sleep(delay).await;
        let polled = match client.send(Method::Get, &url, None, resource).await {
            Ok(polled) => polled,
            Err(e) if is_transient(&e) && failures < POLL_FAILURES => {
                failures += 1;
                retry_after = None;
                continue;
            }
            Err(e) => return Err(e),
        };
        retry_after = polled.retry_after;
        // Throttled or a server hiccup while polling: the operation goes on; so do we.
        if polled.status == 429 || (polled.status >= 500 && failures < POLL_FAILURES) {
            failures += 1;
            continue;
        }
        failures = 0;
        if !(200..300).contains(&polled.status) {
            let (code, message) = parse_error(polled.status, &polled.body);
            return Err(ArmError::Api {
                action: "polling".to_owned(),
                resource: resource.to_owned(),
                status: polled.status,
                code,
                message,
                retry_after: polled.retry_after,
            });
        }
        if !via_operation {
            if polled.status == 202 {
                continue;
            }
            return Ok(Some(polled));
        }
        let status: OperationStatus = polled.json(resource)?;
        match status.status.to_ascii_lowercase().as_str() {
            "succeeded" => return Ok(None),
            "failed" | "canceled" | "cancelled" => {
                let detail = status.error.unwrap_or_default();
                let (code, message) = detail.into_parts();
                return Err(ArmError::OperationFailed {
                    resource: resource.to_owned(),
                    status: status.status,
                    code: if code.is_empty() { "OperationFailed".to_owned() } else { code },
                    message: if message.is_empty() { "(no message)".to_owned() } else { message },
                });
            }
            // InProgress, Accepted, Running, Updating...: anything else is not terminal.
            _ => {}
        }
    }
}
