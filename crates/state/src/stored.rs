//! How a record is stored: compact JSON (readable by hand when something goes wrong), with its
//! secrets sealed when the state has a key (see [`crate::seal`]). Any backend stores records
//! this way, so their bytes can move between stores and into the last good copy unchanged.

use crate::seal::{StateKey, open_secrets, seal_secrets};
use crate::{Record, StateError};

/// `record` as stored, its secrets sealed with `key` if there is one.
pub(crate) fn encode_record(record: &Record, key: Option<&StateKey>, location: &str) -> Result<Vec<u8>, StateError> {
    let encode_error = |source| StateError::Encode { what: format!("`{}`", record.address), source };
    let Some(key) = key else {
        return serde_json::to_vec(record).map_err(encode_error);
    };
    let mut json = serde_json::to_value(record).map_err(encode_error)?;
    seal_secrets(&mut json, key).map_err(|source| StateError::Sealing {
        location: location.to_owned(),
        address: record.address.to_string(),
        source,
    })?;
    serde_json::to_vec(&json).map_err(encode_error)
}

/// The record stored under `stored_as` (an address's text), its secrets opened with `key`.
pub(crate) fn decode_record(
    stored_as: &str,
    bytes: &[u8],
    key: Option<&StateKey>,
    location: &str,
) -> Result<Record, StateError> {
    let corrupt = |source| StateError::Corrupt {
        location: location.to_owned(),
        detail: format!("the record of `{stored_as}` cannot be decoded"),
        source: Some(source),
    };
    let record: Record = match key {
        None => serde_json::from_slice(bytes).map_err(corrupt)?,
        Some(key) => {
            let mut json = serde_json::from_slice(bytes).map_err(corrupt)?;
            open_secrets(&mut json, Some(key)).map_err(|source| StateError::Sealing {
                location: location.to_owned(),
                address: stored_as.to_owned(),
                source,
            })?;
            serde_json::from_value(json).map_err(corrupt)?
        }
    };
    if record.address.to_string() != stored_as {
        return Err(StateError::Corrupt {
            location: location.to_owned(),
            detail: format!("the record stored under `{stored_as}` is for `{}`", record.address),
            source: None,
        });
    }
    Ok(record)
}
