//! A fake Azure Key Vault, keys only, for the tests of ringform's key wrapping: an HTTP/1.1
//! server on 127.0.0.1 (the shared [`http`](crate::http) server) that answers
//! `POST /keys/{name}[/{version}]/wrapkey` and `…/unwrapkey` as the REST API documents them.
//! It checks the request the way the vault does: a bearer token first (without one, 401
//! `Unauthorized` with a `WWW-Authenticate` challenge, as the vault answers a client's first
//! request), then an `api-version` it knows, then a JSON body `{"alg", "value"}` with `alg` one of
//! the RSA wrapping algorithms (`RSA-OAEP-256`, `RSA-OAEP`, `RSA1_5`) and `value` base64url. An
//! unknown key or version is a 404 `KeyNotFound`, a disabled key a 403 `Forbidden` whose inner
//! code is `KeyDisabled`, and errors come in the vault's `{"error": {code, message}}` envelope.
//! Answers are `{"kid", "value"}`, `kid` naming the version used: the newest when the path names
//! none.
//!
//! What it does not model: RSA. Each key version holds a random 256-bit secret and "wraps" with
//! XChaCha20-Poly1305, authenticating the algorithm and `kid` beside the value, so that, as with
//! RSA, a value unwraps only with the version and algorithm that wrapped it; but a wrapped value
//! is the input plus 40 bytes, not 256 bytes. Nothing else of the vault is served: no key
//! creation, GET or rotation over HTTP (tests call [`FakeKeyVault::create_key`]), no other
//! operations, no access policies or RBAC (the one token may do everything, so no 403 for want of
//! a permission), no soft delete. The token is compared, not validated as a JWT, and the
//! challenge names no real tenant. The texts of errors whose wording Microsoft does not document
//! are the fake's own.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde_json::{Value as Json, json};

use crate::http::{self, Body, Server};

/// The api-versions of the keys API that the vault serves.
const API_VERSIONS: [&str; 7] = ["7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6"];
const ALGORITHMS: [&str; 3] = ["RSA-OAEP-256", "RSA-OAEP", "RSA1_5"];
const NONCE_LEN: usize = 24;

/// Base64url, written unpadded as the vault does, read padded or not.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_encode_padding(false).with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A running fake Key Vault. Dropping it shuts the server down.
///
/// ```no_run
/// use ringform_testkit::key_vault::FakeKeyVault;
///
/// let vault = FakeKeyVault::start_for_test();
/// let key_url = vault.create_key("state"); // http://127.0.0.1:PORT/keys/state
/// let token = vault.token(); // what requests must carry as `Authorization: Bearer …`
/// # let _ = (key_url, token);
/// ```
pub struct FakeKeyVault {
    vault: Arc<Vault>,
    server: Server,
}

impl FakeKeyVault {
    /// Starts serving on a free port of 127.0.0.1, with no keys and a random token.
    pub fn start() -> std::io::Result<FakeKeyVault> {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let (server, vault) =
            Server::start("fake-key-vault", 0, None, |endpoint| Vault { endpoint, token, keys: Mutex::default() })?;
        Ok(FakeKeyVault { vault, server })
    }

    /// Starts; panics, saying why, when it cannot.
    pub fn start_for_test() -> FakeKeyVault {
        FakeKeyVault::start().unwrap_or_else(|error| panic!("cannot start the fake Key Vault: {error}"))
    }

    /// `http://127.0.0.1:PORT`, the vault's URL.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// The token requests must carry as `Authorization: Bearer <token>`.
    pub fn token(&self) -> String {
        self.vault.token.clone()
    }

    /// Creates the key `name`, enabled, or a new version of it when it exists (as the vault's
    /// create does), and returns the key's URL without a version.
    pub fn create_key(&self, name: &str) -> String {
        let version = (uuid::Uuid::new_v4().simple().to_string(), rand::random());
        let mut keys = self.vault.lock();
        let key = keys.entry(name.to_ascii_lowercase()).or_insert_with(|| Key {
            name: name.to_owned(),
            enabled: true,
            versions: Vec::new(),
        });
        key.versions.push(version);
        format!("{}/keys/{}", self.vault.endpoint, key.name)
    }

    /// The versions of key `name`, oldest first; none when there is no such key.
    pub fn versions(&self, name: &str) -> Vec<String> {
        let keys = self.vault.lock();
        keys.get(&name.to_ascii_lowercase())
            .map(|k| k.versions.iter().map(|(v, _)| v.clone()).collect())
            .unwrap_or_default()
    }

    /// Enables or disables key `name`, all its versions. Returns whether the key exists.
    pub fn set_enabled(&self, name: &str, enabled: bool) -> bool {
        let mut keys = self.vault.lock();
        keys.get_mut(&name.to_ascii_lowercase()).map(|key| key.enabled = enabled).is_some()
    }
}

impl std::fmt::Debug for FakeKeyVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeKeyVault").field("endpoint", &self.endpoint()).finish_non_exhaustive()
    }
}

struct Vault {
    endpoint: String,
    token: String,
    /// By lower-cased name: key names are case-insensitive.
    keys: Mutex<BTreeMap<String, Key>>,
}

struct Key {
    /// As first created.
    name: String,
    enabled: bool,
    /// (version, secret), oldest first.
    versions: Vec<(String, [u8; 32])>,
}

/// An error answer.
struct Fault {
    status: u16,
    code: &'static str,
    message: String,
    inner: Option<&'static str>,
}

impl Fault {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Fault {
        Fault { status, code, message: message.into(), inner: None }
    }

    fn bad(message: impl Into<String>) -> Fault {
        Fault::new(400, "BadParameter", message)
    }

    fn not_found(name: &str) -> Fault {
        Fault::new(
            404,
            "KeyNotFound",
            format!(
                "A key with (name/id) {name} was not found in this key vault. If you recently deleted this key \
                 you may be able to recover it using the correct recovery command."
            ),
        )
    }
}

impl Vault {
    /// The keys, even after a handler panicked while holding them: a test fake keeps serving.
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Key>> {
        self.keys.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn answer(&self, request: &http::Request<'_>) -> Result<Json, Fault> {
        // The token comes first: a caller without one learns nothing else about the vault.
        let token = request.header("authorization").and_then(|h| h.strip_prefix("Bearer ")).map(str::trim);
        match token {
            None | Some("") => {
                return Err(Fault::new(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token."));
            }
            Some(token) if token != self.token => {
                return Err(Fault::new(401, "Unauthorized", "The bearer token is not one this vault accepts."));
            }
            Some(_) => {}
        }
        match request.query.get("api-version") {
            None => return Err(Fault::bad("The 'api-version' query parameter is missing.")),
            Some(version) if !API_VERSIONS.contains(&version.as_str()) => {
                return Err(Fault::bad(format!(
                    "The specified version ({version}) is not recognized. Consider using the latest supported \
                     version (7.6)."
                )));
            }
            Some(_) => {}
        }
        let segments: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
        let (name, version, operation) = match segments.as_slice() {
            ["keys", name, operation] => (*name, None, *operation),
            ["keys", name, version, operation] => (*name, Some(*version), *operation),
            _ => return Err(Fault::new(404, "NotFound", "The fake Key Vault serves only wrapkey and unwrapkey.")),
        };
        let wrap = match operation.to_ascii_lowercase().as_str() {
            "wrapkey" => true,
            "unwrapkey" => false,
            _ => return Err(Fault::new(404, "NotFound", "The fake Key Vault serves only wrapkey and unwrapkey.")),
        };
        if request.method != "POST" {
            return Err(Fault::new(405, "MethodNotAllowed", format!("{operation} takes POST.")));
        }
        let body: Json = serde_json::from_slice(request.body).map_err(|_| Fault::bad("The body is not JSON."))?;
        let alg = body["alg"].as_str().filter(|alg| ALGORITHMS.contains(alg)).ok_or_else(|| {
            Fault::bad(format!("'alg' must be one of {}, not {}.", ALGORITHMS.join(", "), body["alg"]))
        })?;
        let value = body["value"]
            .as_str()
            .and_then(|v| BASE64URL.decode(v).ok())
            .ok_or_else(|| Fault::bad("'value' must be a base64url string."))?;

        let keys = self.lock();
        let key = keys.get(&name.to_ascii_lowercase()).ok_or_else(|| Fault::not_found(name))?;
        let found = match version {
            None => key.versions.last(),
            Some(version) => key.versions.iter().find(|(v, _)| v == version),
        };
        let (version, secret) = found.ok_or_else(|| Fault::not_found(name))?;
        if !key.enabled {
            let message = format!("Operation {operation} is not allowed on a disabled key.");
            return Err(Fault { inner: Some("KeyDisabled"), ..Fault::new(403, "Forbidden", message) });
        }
        let kid = format!("{}/keys/{}/{version}", self.endpoint, key.name);
        let aad = format!("{alg} {kid}");
        let cipher = XChaCha20Poly1305::new(&(*secret).into());
        let result = if wrap {
            let nonce: [u8; NONCE_LEN] = rand::random();
            let payload = Payload { msg: &value, aad: aad.as_bytes() };
            let sealed = cipher.encrypt(&XNonce::from(nonce), payload).map_err(|_| Fault::bad("Wrap failed."))?;
            [nonce.as_slice(), &sealed].concat()
        } else {
            let undone = || Fault::bad("The value was not wrapped by this key version with this algorithm.");
            let (nonce, sealed) = value.split_at_checked(NONCE_LEN).ok_or_else(undone)?;
            let nonce = XNonce::try_from(nonce).map_err(|_| undone())?;
            cipher.decrypt(&nonce, Payload { msg: sealed, aad: aad.as_bytes() }).map_err(|_| undone())?
        };
        Ok(json!({ "kid": kid, "value": BASE64URL.encode(result) }))
    }
}

impl http::Service for Vault {
    fn handle(&self, request: &http::Request<'_>) -> http::Response {
        match self.answer(request) {
            Ok(body) => respond(200, &body, Vec::new()),
            Err(fault) => {
                let mut error = json!({ "code": fault.code, "message": fault.message });
                if let Some(inner) = fault.inner {
                    error["innererror"] = json!({ "code": inner });
                }
                let mut headers = Vec::new();
                if fault.status == 401 {
                    let challenge = "Bearer authorization=\"https://login.microsoftonline.com/\
                                     00000000-0000-0000-0000-000000000000\", resource=\"https://vault.azure.net\"";
                    headers.push(("WWW-Authenticate", challenge.to_owned()));
                }
                respond(fault.status, &json!({ "error": error }), headers)
            }
        }
    }

    fn failure(&self, message: &str) -> http::Response {
        respond(500, &json!({ "error": { "code": "InternalServerError", "message": message } }), Vec::new())
    }
}

fn respond(status: u16, body: &Json, mut headers: Vec<(&'static str, String)>) -> http::Response {
    headers.push(("Content-Type", "application/json; charset=utf-8".to_owned()));
    headers.push(("x-ms-request-id", uuid::Uuid::new_v4().to_string()));
    http::Response { status, headers, body: Body::Full(body.to_string().into_bytes()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::client::{Answer, request};

    fn post(vault: &FakeKeyVault, target: &str, token: Option<&str>, body: &Json) -> (Answer, Json) {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("Content-Type", "application/json")];
        headers.extend(bearer.as_deref().map(|b| ("Authorization", b)));
        let answer = request(&vault.endpoint(), "POST", target, &headers, body.to_string().as_bytes());
        let json = serde_json::from_str(&answer.body).unwrap_or_default();
        (answer, json)
    }

    #[test]
    fn wraps_and_unwraps_with_the_version_that_wrapped() {
        let vault = FakeKeyVault::start_for_test();
        vault.create_key("State");
        let token = vault.token();
        let plain = BASE64URL.encode([7u8; 32]);
        let body = json!({ "alg": "RSA-OAEP-256", "value": plain });
        let (answer, wrapped) = post(&vault, "/keys/state/wrapkey?api-version=7.4", Some(&token), &body);
        assert_eq!(answer.status, 200, "{}", answer.body);
        let first = vault.versions("state")[0].clone();
        assert_eq!(wrapped["kid"], format!("{}/keys/State/{first}", vault.endpoint()));
        assert!(!wrapped["value"].as_str().unwrap().contains(['+', '/', '=']));

        vault.create_key("state");
        assert_eq!(vault.versions("state").len(), 2);
        let unwrap = |version: &str, alg: &str| {
            let body = json!({ "alg": alg, "value": wrapped["value"] });
            post(&vault, &format!("/keys/state/{version}/unwrapKey?api-version=7.4"), Some(&token), &body)
        };
        let (answer, unwrapped) = unwrap(&first, "RSA-OAEP-256");
        assert_eq!((answer.status, &unwrapped["value"]), (200, &json!(plain)), "{}", answer.body);
        let newest = vault.versions("state")[1].clone();
        assert_eq!(unwrap(&newest, "RSA-OAEP-256").1["error"]["code"], "BadParameter");
        assert_eq!(unwrap(&first, "RSA1_5").1["error"]["code"], "BadParameter");

        vault.set_enabled("state", false);
        let (answer, error) = unwrap(&first, "RSA-OAEP-256");
        assert_eq!((answer.status, &error["error"]["innererror"]["code"]), (403, &json!("KeyDisabled")));
    }

    #[test]
    fn refuses_what_the_vault_refuses() {
        let vault = FakeKeyVault::start_for_test();
        vault.create_key("state");
        let token = vault.token();
        let good = json!({ "alg": "RSA-OAEP", "value": "AAEC" });

        let (answer, error) = post(&vault, "/keys/state/wrapkey?api-version=7.4", None, &good);
        assert_eq!((answer.status, &error["error"]["code"]), (401, &json!("Unauthorized")));
        assert!(
            answer.headers.iter().any(|(n, v)| n.eq_ignore_ascii_case("www-authenticate") && v.starts_with("Bearer "))
        );
        let (answer, _) = post(&vault, "/keys/state/wrapkey?api-version=7.4", Some("other"), &good);
        assert_eq!(answer.status, 401);

        let cases = [
            ("/keys/state/wrapkey", good.clone(), 400, "BadParameter"),
            ("/keys/state/wrapkey?api-version=2016-10-01", good.clone(), 400, "BadParameter"),
            ("/keys/state/wrapkey?api-version=7.4", json!({ "alg": "A256KW", "value": "AAEC" }), 400, "BadParameter"),
            ("/keys/state/wrapkey?api-version=7.4", json!({ "alg": "RSA-OAEP", "value": "+/8=" }), 400, "BadParameter"),
            ("/keys/state/wrapkey?api-version=7.4", json!({ "alg": "RSA-OAEP" }), 400, "BadParameter"),
            ("/keys/none/wrapkey?api-version=7.4", good.clone(), 404, "KeyNotFound"),
            ("/keys/state/0123/wrapkey?api-version=7.4", good.clone(), 404, "KeyNotFound"),
            ("/keys/state/sign?api-version=7.4", good.clone(), 404, "NotFound"),
        ];
        for (target, body, status, code) in cases {
            let (answer, error) = post(&vault, target, Some(&token), &body);
            assert_eq!((answer.status, &error["error"]["code"]), (status, &json!(code)), "{target} {body}");
        }
        let (_, missing) = post(&vault, "/keys/none/wrapkey?api-version=7.4", Some(&token), &good);
        assert!(missing["error"]["message"].as_str().unwrap().starts_with("A key with (name/id) none was not found"));
    }
}
