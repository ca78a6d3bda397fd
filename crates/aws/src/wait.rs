//! Waiting for AWS objects that change state in the background (EKS clusters, peerings,
//! gateways): poll, pause, give up with a clear message after a timeout that fits reality.

use std::future::Future;
use std::time::{Duration, Instant};

use ringform_core::provider::{ProviderError, ProviderResult};

/// What one look at a changing object found.
pub(crate) enum Poll<T> {
    Ready(T),
    /// Still changing; the text is its current state, for the timeout message.
    Pending(String),
}

/// Calls `check` every `interval` until it is ready, fails, or `timeout` passes. `what` completes
/// "waiting for …", e.g. "aws_eks_cluster.eu-west (eu-west-1) to become ACTIVE".
pub(crate) async fn until<T, F, Fut>(
    interval: Duration,
    timeout: Duration,
    what: &str,
    mut check: F,
) -> ProviderResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ProviderResult<Poll<T>>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let state = match check().await? {
            Poll::Ready(value) => return Ok(value),
            Poll::Pending(state) => state,
        };
        if Instant::now() >= deadline {
            return Err(ProviderError::fatal(format!(
                "gave up waiting for {what}: it is still {state} after {}",
                human(timeout)
            ))
            .with_hint(
                "look at it in the AWS console, then run ringform again, which finds the object by its tags and \
                 keeps waiting",
            ));
        }
        tokio::time::sleep(interval).await;
    }
}

pub(crate) fn human(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs >= 60 { format!("{} min", secs.div_ceil(60)) } else { format!("{} s", secs.max(1)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_until_ready_and_times_out_with_the_last_state() {
        let mut looks = 0;
        let ready = until(Duration::from_millis(1), Duration::from_secs(5), "x", || {
            looks += 1;
            let done = looks == 3;
            async move { Ok(if done { Poll::Ready(looks) } else { Poll::Pending("CREATING".into()) }) }
        })
        .await;
        assert_eq!(ready, Ok(3));
        let stuck: ProviderResult<()> =
            until(Duration::from_millis(1), Duration::from_millis(5), "y to become ACTIVE", || async {
                Ok(Poll::Pending("CREATING".into()))
            })
            .await;
        let message = stuck.unwrap_err().message;
        assert!(message.contains("y to become ACTIVE") && message.contains("still CREATING"), "{message}");
    }
}
