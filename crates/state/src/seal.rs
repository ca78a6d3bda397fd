//! Encryption of secrets at rest. With a [`StateKey`], every secret a store writes is sealed:
//! in the stored JSON, each `{"$secret": …}` (how a [`Value::Secret`] is serialised) becomes
//!
//! ```json
//! {"$sealed": {"key": "3f9c0d1e2b4a5c6d", "nonce": "<base64>", "data": "<base64>"}}
//! ```
//!
//! the secret's JSON encrypted with XChaCha20-Poly1305 under a random 24-byte nonce, with the
//! [`KeyId`] of the key beside it so that a wrong key is named rather than mistaken for damage.
//! Opening reverses it. Everything else in a record (address, provider id, the attributes that
//! are not secret, timestamps) stays readable, so damaged state can still be read by hand.
//!
//! The transforms work on JSON documents, not on one backend: any store (the sled store, a
//! remote object store) seals what it writes and opens what it reads with the same functions.
//!
//! [`Value::Secret`]: ringform_core::Value::Secret

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::StateError;

/// The key of a secret in stored JSON, as `ringform_core::Value` writes it.
const SECRET: &str = "$secret";
/// The key of a sealed secret.
const SEALED: &str = "$sealed";
/// Authenticated with every sealed secret: a box made for anything else does not open here.
const CONTEXT: &[u8] = b"ringform state secret v1";
/// Bytes in a state key.
pub const KEY_LEN: usize = 32;
/// How a redacted secret reads.
const REDACTED: &str = ringform_core::SENSITIVE_TEXT;

/// A 256-bit key that secrets in state are sealed with. Its bytes never leave it: `Debug`
/// shows the [`KeyId`] only, and they are wiped from memory when it is dropped.
#[derive(Clone)]
pub struct StateKey {
    cipher: XChaCha20Poly1305,
    id: KeyId,
}

/// Names a key without revealing it: the first 8 bytes of SHA-256 over a fixed label and the
/// key, in hex. Stored beside sealed data so that a wrong key is recognised as such.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyId(String);

/// A key that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("a state key is {KEY_LEN} bytes, but this one is {0} bytes long")]
    Length(usize),
    #[error("a state key is written as base64 of {KEY_LEN} bytes, and this is not base64")]
    Base64(#[source] base64::DecodeError),
    #[error("cannot read the state key file {}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A secret that cannot be sealed or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    #[error("a secret is sealed with key {found}, and no key was given")]
    NoKey { found: KeyId },
    #[error("a secret is sealed with key {found}, not with the key given ({given})")]
    WrongKey { found: KeyId, given: KeyId },
    #[error("a sealed secret does not open: it was altered or damaged")]
    Broken,
    #[error("the system's random number generator failed")]
    Random,
}

impl StateKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<StateKey, KeyError> {
        let cipher = XChaCha20Poly1305::new_from_slice(bytes).map_err(|_| KeyError::Length(bytes.len()))?;
        Ok(StateKey { cipher, id: KeyId::of(bytes) })
    }

    /// A key written as base64 (surrounding whitespace ignored), as `openssl rand -base64 32`
    /// prints one.
    pub fn from_base64(text: &str) -> Result<StateKey, KeyError> {
        let bytes = Zeroizing::new(BASE64.decode(text.trim()).map_err(KeyError::Base64)?);
        StateKey::from_bytes(&bytes)
    }

    /// A key from a file holding it as base64 text, or as exactly 32 raw bytes.
    pub fn read_file(path: &Path) -> Result<StateKey, KeyError> {
        let bytes =
            Zeroizing::new(std::fs::read(path).map_err(|source| KeyError::File { path: path.to_owned(), source })?);
        match std::str::from_utf8(&bytes) {
            Ok(text) if bytes.len() != KEY_LEN => StateKey::from_base64(text),
            _ => StateKey::from_bytes(&bytes),
        }
    }

    pub fn id(&self) -> &KeyId {
        &self.id
    }

    fn seal(&self, plain: &[u8]) -> Result<SealedBox, SealError> {
        let nonce = XNonce::try_generate().map_err(|_| SealError::Random)?;
        let data = self.cipher.encrypt(&nonce, Payload { msg: plain, aad: CONTEXT }).map_err(|_| SealError::Broken)?;
        Ok(SealedBox { key: self.id.clone(), nonce: BASE64.encode(nonce), data: BASE64.encode(data) })
    }

    fn open(&self, sealed: &SealedBox) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if sealed.key != self.id {
            return Err(SealError::WrongKey { found: sealed.key.clone(), given: self.id.clone() });
        }
        let nonce = BASE64.decode(&sealed.nonce).map_err(|_| SealError::Broken)?;
        let nonce = XNonce::try_from(nonce.as_slice()).map_err(|_| SealError::Broken)?;
        let data = BASE64.decode(&sealed.data).map_err(|_| SealError::Broken)?;
        let plain = self.cipher.decrypt(&nonce, Payload { msg: &data, aad: CONTEXT }).map_err(|_| SealError::Broken)?;
        Ok(Zeroizing::new(plain))
    }
}

impl fmt::Debug for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl KeyId {
    fn of(key: &[u8]) -> KeyId {
        let digest = Sha256::new().chain_update(b"ringform state key id\0").chain_update(key).finalize();
        KeyId(digest[..8].iter().map(|b| format!("{b:02x}")).collect())
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Fails unless `given` is the key whose id the state at `location` records (`stored`), or
/// neither is there: opening encrypted state without its key, or plain state with a key,
/// changes nothing and says why.
pub(crate) fn check_key(stored: Option<&KeyId>, given: Option<&StateKey>, location: &str) -> Result<(), StateError> {
    let location = location.to_owned();
    match (stored, given) {
        (None, None) => Ok(()),
        (Some(stored), Some(given)) if stored == given.id() => Ok(()),
        (Some(stored), Some(given)) => {
            Err(StateError::WrongKey { location, expected: stored.clone(), given: given.id().clone() })
        }
        (Some(stored), None) => Err(StateError::KeyMissing { location, key_id: stored.clone() }),
        (None, Some(_)) => Err(StateError::NotEncrypted { location }),
    }
}

/// A sealed secret as stored.
#[derive(Serialize, Deserialize)]
struct SealedBox {
    key: KeyId,
    nonce: String,
    data: String,
}

/// Seals every secret in `json` with `key`.
pub fn seal_secrets(json: &mut Json, key: &StateKey) -> Result<(), SealError> {
    each_marked(json, SECRET, &mut |marked| {
        // Serialising a JSON value to bytes cannot fail.
        let plain = Zeroizing::new(serde_json::to_vec(&marked[SECRET]).unwrap_or_default());
        let sealed = serde_json::to_value(key.seal(&plain)?).map_err(|_| SealError::Broken)?;
        *marked = single(SEALED, sealed);
        Ok(())
    })
}

/// Opens every sealed secret in `json` with `key`; a sealed secret without a key, or sealed
/// with another key, is an error.
pub fn open_secrets(json: &mut Json, key: Option<&StateKey>) -> Result<(), SealError> {
    each_marked(json, SEALED, &mut |marked| {
        let sealed: SealedBox = serde_json::from_value(marked[SEALED].take()).map_err(|_| SealError::Broken)?;
        let key = key.ok_or_else(|| SealError::NoKey { found: sealed.key.clone() })?;
        let plain = key.open(&sealed)?;
        let secret = serde_json::from_slice(&plain).map_err(|_| SealError::Broken)?;
        *marked = single(SECRET, secret);
        Ok(())
    })
}

/// Replaces what every secret in `json` holds by `(sensitive)`, keeping the mark that it is one.
pub fn redact_secrets(json: &mut Json) {
    let redacted: Result<(), std::convert::Infallible> = each_marked(json, SECRET, &mut |marked| {
        *marked = single(SECRET, Json::from(REDACTED));
        Ok(())
    });
    let Ok(()) = redacted;
}

/// Calls `f` on every object in `json` whose only key is `marker`, outermost first; what `f`
/// leaves there is not visited again.
fn each_marked<E>(json: &mut Json, marker: &str, f: &mut impl FnMut(&mut Json) -> Result<(), E>) -> Result<(), E> {
    if json.as_object().is_some_and(|map| map.len() == 1 && map.contains_key(marker)) {
        return f(json);
    }
    match json {
        Json::Object(map) => map.values_mut().try_for_each(|value| each_marked(value, marker, f)),
        Json::Array(items) => items.iter_mut().try_for_each(|value| each_marked(value, marker, f)),
        _ => Ok(()),
    }
}

fn single(key: &str, value: Json) -> Json {
    Json::Object([(key.to_owned(), value)].into_iter().collect())
}

#[cfg(test)]
mod tests {
    use ringform_core::{Attributes, Value};
    use serde_json::json;

    use super::*;

    fn key(byte: u8) -> StateKey {
        StateKey::from_bytes(&[byte; KEY_LEN]).unwrap()
    }

    fn attributes() -> Attributes {
        [
            ("cidr".to_owned(), Value::from("10.0.0.0/16")),
            ("shared_key".to_owned(), Value::secret("hunter2".into())),
            (
                "nested".to_owned(),
                Value::List(vec![Value::secret(Value::Map([("token".to_owned(), "t0k3n".into())].into()))]),
            ),
        ]
        .into()
    }

    #[test]
    fn sealed_secrets_round_trip_and_leave_the_rest_readable() {
        let mut json = serde_json::to_value(attributes()).unwrap();
        seal_secrets(&mut json, &key(1)).unwrap();
        let text = json.to_string();
        for plain in ["hunter2", "t0k3n", "token", "$secret"] {
            assert!(!text.contains(plain), "{plain} in {text}");
        }
        assert_eq!(json["cidr"], "10.0.0.0/16");
        assert_eq!(json["shared_key"]["$sealed"]["key"], key(1).id().to_string());
        open_secrets(&mut json, Some(&key(1))).unwrap();
        assert_eq!(serde_json::from_value::<Attributes>(json).unwrap(), attributes());
    }

    #[test]
    fn every_seal_takes_a_new_nonce() {
        let mut twice = json!([{"$secret": "same"}, {"$secret": "same"}]);
        seal_secrets(&mut twice, &key(1)).unwrap();
        assert_ne!(twice[0]["$sealed"]["nonce"], twice[1]["$sealed"]["nonce"]);
        assert_ne!(twice[0]["$sealed"]["data"], twice[1]["$sealed"]["data"]);
    }

    #[test]
    fn a_wrong_or_missing_key_is_named_and_changes_nothing_it_reports() {
        let mut json = json!({"a": {"$secret": "hunter2"}});
        seal_secrets(&mut json, &key(1)).unwrap();
        let sealed = json.clone();
        let err = open_secrets(&mut json.clone(), Some(&key(2))).unwrap_err();
        assert!(matches!(&err, SealError::WrongKey { found, given } if found == key(1).id() && given == key(2).id()));
        let err = open_secrets(&mut json, None).unwrap_err();
        assert!(matches!(&err, SealError::NoKey { found } if found == key(1).id()), "{err}");
        assert_eq!(open_secrets(&mut sealed.clone(), Some(&key(1))).map(drop).ok(), Some(()));
    }

    #[test]
    fn altered_data_does_not_open() {
        let mut json = json!({"$secret": "hunter2"});
        seal_secrets(&mut json, &key(1)).unwrap();
        let data = json["$sealed"]["data"].as_str().unwrap().to_owned();
        let mut bytes = BASE64.decode(&data).unwrap();
        bytes[0] ^= 1;
        for altered in [json!(BASE64.encode(bytes)), json!("not base64"), json!(3)] {
            let mut copy = json.clone();
            copy["$sealed"]["data"] = altered;
            assert!(matches!(open_secrets(&mut copy, Some(&key(1))), Err(SealError::Broken)));
        }
        let mut short_nonce = json.clone();
        short_nonce["$sealed"]["nonce"] = json!(BASE64.encode([0u8; 12]));
        assert!(matches!(open_secrets(&mut short_nonce, Some(&key(1))), Err(SealError::Broken)));
    }

    #[test]
    fn redaction_keeps_the_mark_and_drops_the_value() {
        let mut json = serde_json::to_value(attributes()).unwrap();
        redact_secrets(&mut json);
        assert_eq!(json["shared_key"], json!({"$secret": "(sensitive)"}));
        assert_eq!(json["nested"][0], json!({"$secret": "(sensitive)"}));
        assert_eq!(json["cidr"], "10.0.0.0/16");
    }

    #[test]
    fn keys_come_from_base64_or_raw_files_and_never_show() {
        let text = BASE64.encode([7u8; KEY_LEN]);
        let from_text = StateKey::from_base64(&format!(" {text}\n")).unwrap();
        assert_eq!(from_text.id(), key(7).id());
        assert_ne!(key(7).id(), key(8).id());
        assert_eq!(key(7).id().to_string().len(), 16);
        let debug = format!("{from_text:?}");
        assert!(debug.contains(&from_text.id().to_string()) && !debug.contains(&text), "{debug}");

        let dir = tempfile::tempdir().unwrap();
        let (raw, written) = (dir.path().join("raw"), dir.path().join("text"));
        std::fs::write(&raw, [7u8; KEY_LEN]).unwrap();
        std::fs::write(&written, format!("{text}\n")).unwrap();
        assert_eq!(StateKey::read_file(&raw).unwrap().id(), key(7).id());
        assert_eq!(StateKey::read_file(&written).unwrap().id(), key(7).id());

        assert!(matches!(StateKey::from_base64("c2hvcnQ="), Err(KeyError::Length(5))));
        assert!(matches!(StateKey::from_base64("***"), Err(KeyError::Base64(_))));
        assert!(matches!(StateKey::read_file(&dir.path().join("none")), Err(KeyError::File { .. })));
    }
}
