//! The edits people make to state by hand, on any [`StateStore`]: forgetting records without
//! deleting their objects (`ringform state rm`) and moving a record to a new address after a
//! topology rename (`ringform state mv`), so that nothing is destroyed and made again. Each
//! checks everything first and then writes in one atomic step: refused, it changes nothing.

use ringform_core::Address;

use crate::{Record, StateError, StateStore};

/// What [`move_record`] changed besides the record itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moved {
    /// The records that listed the old address as a dependency and now list the new one.
    pub dependents: Vec<Address>,
}

/// Forgets the records at `addresses`; the objects they describe are left alone. Refuses all
/// of them if any is not in state.
pub fn forget(store: &dyn StateStore, addresses: &[Address]) -> Result<(), StateError> {
    let mut missing = Vec::new();
    for address in addresses {
        if store.get(address)?.is_none() && !missing.contains(address) {
            missing.push(address.clone());
        }
    }
    if !missing.is_empty() {
        return Err(StateError::NotInState { location: store.location(), addresses: missing });
    }
    store.write_all(&[], addresses)?;
    Ok(())
}

/// Moves the record at `from` to `to`, which must be free and of the same kind, and points the
/// records that depend on `from` at `to`.
pub fn move_record(store: &dyn StateStore, from: &Address, to: &Address) -> Result<Moved, StateError> {
    let Some(record) = store.get(from)? else {
        return Err(StateError::NotInState { location: store.location(), addresses: vec![from.clone()] });
    };
    if from.kind() != to.kind() {
        return Err(StateError::KindMismatch { from: from.clone(), to: to.clone() });
    }
    if store.get(to)?.is_some() {
        return Err(StateError::AlreadyInState { location: store.location(), address: to.clone() });
    }
    let dependents: Vec<Record> =
        store.snapshot()?.records.into_values().filter_map(|r| depending_on_moved(r, from, to)).collect();
    let moved = Record { address: to.clone(), ..record };
    let addresses = dependents.iter().map(|r| r.address.clone()).collect();
    store.write_all(&[std::slice::from_ref(&moved), &dependents].concat(), std::slice::from_ref(from))?;
    Ok(Moved { dependents: addresses })
}

/// `record` with `from` replaced by `to` among its dependencies, if it listed `from`.
fn depending_on_moved(mut record: Record, from: &Address, to: &Address) -> Option<Record> {
    if !record.dependencies.contains(from) {
        return None;
    }
    let mut seen = Vec::with_capacity(record.dependencies.len());
    for dependency in record.dependencies {
        let dependency = if &dependency == from { to.clone() } else { dependency };
        if !seen.contains(&dependency) {
            seen.push(dependency);
        }
    }
    record.dependencies = seen;
    Some(record)
}
