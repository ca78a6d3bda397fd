//! EC2 kinds, one module per family, and what they share: paginated listings, reading a
//! create's answer, renaming, and deletes that wait out DependencyViolation.

pub(crate) mod launch_template;
pub(crate) mod peering;
pub(crate) mod route_table;
pub(crate) mod security_group;
pub(crate) mod transit;
pub(crate) mod vpc;
pub(crate) mod vpn;

use std::time::{Duration, Instant};

use aws_smithy_async::future::pagination_stream::PaginationStream;
use ringform_core::provider::{Applied, ProviderError, ProviderResult};
use ringform_core::{Inputs, Value};

use crate::context::{Ctx, Object, id_output};
use crate::errors::ApiError;
use crate::kinds::{Change, Fut};
use crate::tags;
use crate::wait::human;

/// Every item of a paginated listing.
pub(super) async fn all<T, E>(pages: PaginationStream<Result<T, E>>) -> Result<Vec<T>, ApiError>
where
    ApiError: From<E>,
{
    Ok(pages.collect::<Result<Vec<T>, E>>().await?)
}

/// Every object a paginated describe lists, as `object` reads each item (`None` skips it: it
/// has no id, or is gone).
pub(super) async fn listed<T, E>(
    pages: PaginationStream<Result<T, E>>,
    object: impl Fn(&T) -> Option<Object>,
) -> Result<Vec<Object>, ApiError>
where
    ApiError: From<E>,
{
    Ok(all(pages).await?.iter().filter_map(object).collect())
}

/// The object a create made, from the id in AWS's answer (which always has one).
pub(super) fn made(ctx: &Ctx<'_>, what: &str, id: Option<&str>) -> ProviderResult<Object> {
    let id = id.ok_or_else(|| ctx.fail(&format!("creating {what}"))(ApiError::malformed(&format!("{what} id"))))?;
    Ok(Object::new(id))
}

/// Sets the `Name` tag when the change has a new one.
pub(super) async fn rename(ctx: &Ctx<'_>, change: &Change<'_>) -> ProviderResult<()> {
    if change.has("name") {
        let name = change.after.opt_str("name")?;
        tags::ec2_set_name(ctx.ec2(), change.id, name).await.map_err(ctx.fail("renaming"))?;
    }
    Ok(())
}

/// The update of kinds that can change only their `Name` tag in place.
pub(super) fn rename_only<'a>(ctx: &'a Ctx<'a>, change: Change<'a>) -> Fut<'a, Applied> {
    Box::pin(async move {
        let updatable: &[&str] = if change.after.attrs.contains_key("name") { &["name"] } else { &[] };
        change.only(updatable)?;
        rename(ctx, &change).await?;
        Ok(Applied { provider_id: change.id.to_owned(), outputs: id_output(change.id) })
    })
}

/// The delete of kinds that go away with what they belong to (accepting a peering cannot be
/// undone; deleting the peering removes both sides).
pub(super) fn nothing_to_delete<'a>(_: &'a Ctx<'a>, _: Inputs<'a>, _: &'a str) -> Fut<'a, ()> {
    Box::pin(std::future::ready(Ok(())))
}

/// Maps the result of a delete (described by `doing`), treating "not found" as done.
pub(super) fn deleted<T, E: Into<ApiError>>(ctx: &Ctx<'_>, doing: &str, result: Result<T, E>) -> ProviderResult<()> {
    match result.map_err(Into::into) {
        Err(error) if !error.is_not_found() => Err(ctx.fail(doing)(error)),
        _ => Ok(()),
    }
}

/// Runs `delete` until AWS stops answering DependencyViolation (things inside still being torn
/// down), backing off up to the configured bound; then fails naming what is still in the way.
/// A missing object counts as deleted.
pub(super) async fn delete_when_free<T, E, F, Fut, B, BFut>(
    ctx: &Ctx<'_>,
    what: &str,
    mut delete: F,
    blockers: B,
) -> ProviderResult<()>
where
    E: Into<ApiError>,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    B: FnOnce() -> BFut,
    BFut: std::future::Future<Output = Result<Vec<String>, ApiError>>,
{
    let started = Instant::now();
    let mut pause = ctx.settings.poll_interval;
    let last = loop {
        match delete().await.map_err(Into::into) {
            Ok(_) => return Ok(()),
            Err(error) if error.is_not_found() => return Ok(()),
            Err(error) if error.is_dependency_violation() => {
                if started.elapsed() + pause > ctx.settings.dependency_timeout {
                    break error;
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(30)).max(ctx.settings.poll_interval);
            }
            Err(error) => return Err(ctx.fail(&format!("deleting {what}"))(error)),
        }
    };
    let blockers = blockers().await.map_err(ctx.fail(&format!("listing what keeps {what} from being deleted")))?;
    let listed = if blockers.is_empty() {
        "AWS did not list any object; it may be an ENI of a service that is still being torn down".to_owned()
    } else {
        format!("still in the way: {}", blockers.join(", "))
    };
    Err(ProviderError::fatal(format!(
        "{}: cannot delete {what}: other objects still depend on it after {}; {listed}",
        ctx.subject,
        human(ctx.settings.dependency_timeout),
    ))
    .with_source(last)
    .with_hint("delete those objects (or wait for them to go away), then run ringform again"))
}

/// The value of an optional string field, or null.
pub(super) fn opt(value: Option<&str>) -> Value {
    value.map_or(Value::Null, Value::from)
}
