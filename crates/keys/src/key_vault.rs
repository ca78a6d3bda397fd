//! Azure Key Vault: the data key is 32 random bytes made here, wrapped and unwrapped by a vault
//! key with RSA-OAEP-256 through the REST API (api-version 7.4): `POST {key}/wrapkey` and
//! `POST {key}/{version}/unwrapkey`, each with `{"alg", "value"}` (value in base64url), each
//! answered with `{"kid", "value"}`, where `kid` names the key version that did it.
//!
//! Transport: azure_core's [`Pipeline`], as the ARM client uses it, retrying 429s, 5xx and
//! failed connections a few times (wrapping and unwrapping change nothing, so a repeat is
//! harmless). The bearer token is set here, not by azure_core's policy, which refuses plain
//! http and so the fake vault the tests use; plain http is allowed only to this machine.

use std::net::IpAddr;
use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_core::http::{
    ClientOptions, Context, ExponentialRetryOptions, Method, Pipeline, PipelineSendOptions, Request, RetryOptions, Url,
};
use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use ringform_state::StateKey;
use ringform_state::seal::KEY_LEN;
use serde::Deserialize;
use serde_json::Value as Json;
use zeroize::Zeroizing;

use crate::{KeyError, KeyService, WrappedKey, check_service, state_key};

const SERVICE: KeyService = KeyService::AzureKeyVault;
const API_VERSION: &str = "7.4";
const SCOPE: &str = "https://vault.azure.net/.default";
const ALGORITHM: &str = "RSA-OAEP-256";

/// Base64url as Key Vault writes it (unpadded), read padded or not.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_encode_padding(false).with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Makes data keys and has Azure Key Vault wrap and unwrap them.
#[derive(Debug)]
pub struct KeyVault {
    credential: Arc<dyn TokenCredential>,
    pipeline: Pipeline,
}

/// What a key operation answers.
#[derive(Deserialize)]
struct Answer {
    kid: String,
    value: String,
}

impl KeyVault {
    /// A client that asks `credential` for Key Vault tokens; no request is made until a key is.
    pub fn new(credential: Arc<dyn TokenCredential>) -> KeyVault {
        let retry = RetryOptions::exponential(ExponentialRetryOptions { max_retries: 3, ..Default::default() });
        let options = ClientOptions { retry, ..ClientOptions::default() };
        let pipeline = Pipeline::new(
            option_env!("CARGO_PKG_NAME"),
            option_env!("CARGO_PKG_VERSION"),
            options,
            vec![],
            vec![],
            None,
        );
        KeyVault { credential, pipeline }
    }

    /// A new data key and its copy wrapped by the key at `key_url`
    /// (`https://VAULT.vault.azure.net/keys/NAME`, or `…/NAME/VERSION` to pin a version).
    pub async fn new_data_key(&self, key_url: &str) -> Result<(StateKey, WrappedKey), KeyError> {
        let key = KeyUrl::parse(key_url)?;
        let mut data_key = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::fill(data_key.as_mut_slice()).map_err(|_| KeyError::Random)?;
        let state_key = state_key(SERVICE, key_url, data_key.as_slice())?;
        let answer = self.operate(&key, key.version.as_deref(), "wrapkey", data_key.as_slice()).await?;
        let version = key
            .version_in(&answer.kid)
            .ok_or_else(|| malformed(key_url, "the kid of its answer does not name a version of this key"))?;
        let ciphertext = BASE64URL
            .decode(&answer.value)
            .map_err(|_| malformed(key_url, "the wrapped key it returned is not base64url"))?;
        let wrapped = WrappedKey {
            service: SERVICE,
            key: key_url.to_owned(),
            key_version: Some(version),
            ciphertext: BASE64.encode(ciphertext),
        };
        Ok((state_key, wrapped))
    }

    /// The data key `wrapped` holds, unwrapped by the key version that wrapped it.
    pub async fn unwrap(&self, wrapped: &WrappedKey) -> Result<StateKey, KeyError> {
        check_service(wrapped, SERVICE)?;
        let key_url = &wrapped.key;
        let key = KeyUrl::parse(key_url)?;
        // The version that wrapped it, which need not be the key's current one.
        let version = wrapped
            .key_version
            .as_deref()
            .or(key.version.as_deref())
            .ok_or_else(|| malformed(key_url, "the stored wrapped key records no key version"))?;
        if !is_version(version) {
            return Err(malformed(key_url, "the stored key version is not a Key Vault key version"));
        }
        let ciphertext = BASE64
            .decode(&wrapped.ciphertext)
            .map_err(|_| malformed(key_url, "the stored ciphertext is not base64"))?;
        let answer = self.operate(&key, Some(version), "unwrapkey", &ciphertext).await?;
        let encoded = Zeroizing::new(answer.value);
        let plaintext = Zeroizing::new(
            BASE64URL
                .decode(encoded.as_bytes())
                .map_err(|_| malformed(key_url, "the key it returned is not base64url"))?,
        );
        state_key(SERVICE, key_url, &plaintext)
    }

    /// POSTs one key operation and reads its answer.
    async fn operate(
        &self,
        key: &KeyUrl,
        version: Option<&str>,
        operation: &str,
        value: &[u8],
    ) -> Result<Answer, KeyError> {
        let name = &key.text;
        let token = self
            .credential
            .get_token(&[SCOPE], None)
            .await
            .map_err(|source| KeyError::Credential { key: name.clone(), source })?;
        let encoded = Zeroizing::new(BASE64URL.encode(value));
        // Base64url needs no escaping in a JSON string.
        let body = format!(r#"{{"alg":"{ALGORITHM}","value":"{}"}}"#, encoded.as_str());
        let mut request = Request::new(key.operation(version, operation), Method::Post);
        request.insert_header("authorization", format!("Bearer {}", token.token.secret()));
        request.insert_header("content-type", "application/json");
        request.insert_header("accept", "application/json");
        request.set_body(body.into_bytes());
        let options = PipelineSendOptions { skip_checks: true, ..PipelineSendOptions::default() };
        let response = self
            .pipeline
            .send(&Context::new(), &mut request, Some(options))
            .await
            .map_err(|e| KeyError::Request { service: SERVICE, key: name.clone(), source: Box::new(e) })?;
        let (status, _, body) = response.deconstruct();
        if !status.is_success() {
            return Err(from_answer(name, u16::from(status), body.as_ref()));
        }
        serde_json::from_slice(body.as_ref())
            .map_err(|_| malformed(name, "its answer is not the JSON that Key Vault documents"))
    }
}

/// A key URL, checked: `{origin}/keys/{name}[/{version}]`.
#[derive(Debug)]
struct KeyUrl {
    /// As given, for messages.
    text: String,
    origin: String,
    name: String,
    version: Option<String>,
}

impl KeyUrl {
    fn parse(text: &str) -> Result<KeyUrl, KeyError> {
        let bad = |reason| KeyError::KeyUrl { key: text.to_owned(), reason };
        let url = Url::parse(text).map_err(|_| bad("it is not a URL"))?;
        let host = url.host_str().unwrap_or_default();
        let loopback =
            host == "localhost" || host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if !(url.scheme() == "https" || url.scheme() == "http" && loopback) {
            return Err(bad("a token is only sent over https (plain http only to this machine, for tests)"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("it has a query or a fragment"));
        }
        let segments: Vec<&str> = url.path_segments().into_iter().flatten().filter(|s| !s.is_empty()).collect();
        let (name, version) = match segments.as_slice() {
            ["keys", name] => (*name, None),
            ["keys", name, version] => (*name, Some(*version)),
            _ => return Err(bad("its path is not /keys/NAME or /keys/NAME/VERSION")),
        };
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(bad("a key name is letters, digits and dashes"));
        }
        if version.is_some_and(|v| !is_version(v)) {
            return Err(bad("a key version is letters and digits"));
        }
        Ok(KeyUrl {
            text: text.to_owned(),
            origin: url.origin().ascii_serialization(),
            name: name.to_owned(),
            version: version.map(str::to_owned),
        })
    }

    /// `{origin}/keys/{name}[/{version}]/{operation}?api-version=…`; every part was checked to
    /// need no escaping.
    fn operation(&self, version: Option<&str>, operation: &str) -> Url {
        let version = version.map(|v| format!("/{v}")).unwrap_or_default();
        let text = format!("{}/keys/{}{version}/{operation}?api-version={API_VERSION}", self.origin, self.name);
        Url::parse(&text).unwrap_or_else(|e| unreachable!("{text} is made of checked parts: {e}"))
    }

    /// The version a `kid` names, when it names a version of this key.
    fn version_in(&self, kid: &str) -> Option<String> {
        let url = Url::parse(kid).ok()?;
        match url.path_segments()?.collect::<Vec<_>>().as_slice() {
            ["keys", name, version] if name.eq_ignore_ascii_case(&self.name) && is_version(version) => {
                Some((*version).to_owned())
            }
            _ => None,
        }
    }
}

/// Key Vault's versions are 32 hex digits; letters and digits are all that is needed to keep
/// a stored one from reshaping a URL.
fn is_version(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric())
}

fn malformed(key: &str, what: &'static str) -> KeyError {
    KeyError::Malformed { service: SERVICE, key: key.to_owned(), what }
}

/// The error an error answer means. Key Vault's body is `{"error": {"code", "message",
/// "innererror": {"code"}}}`; a disabled key is a 403 whose inner code is `KeyDisabled`.
fn from_answer(key: &str, status: u16, body: &[u8]) -> KeyError {
    let body: Json = serde_json::from_slice(body).unwrap_or_default();
    let error = &body["error"];
    let text = |v: &Json| v.as_str().map(str::to_owned);
    let code = text(&error["code"]).unwrap_or_else(|| format!("HTTP {status}"));
    let message = text(&error["message"]).map_or("no error message".to_owned(), |m| m.trim_end_matches('.').to_owned());
    let inner = text(&error["innererror"]["code"]).or_else(|| text(&error["innerError"]["code"]));
    let (service, key) = (SERVICE, key.to_owned());
    match status {
        401 => KeyError::Unauthenticated { service, key, message },
        403 if inner.as_deref() == Some("KeyDisabled") => KeyError::Disabled { service, key, message },
        403 => KeyError::AccessDenied { service, key, message },
        404 => KeyError::NotFound { service, key, message },
        _ => KeyError::Refused { service, key, code, message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_urls_name_a_vault_key_and_maybe_its_version() {
        let key = KeyUrl::parse("https://v.vault.azure.net/keys/state-key").unwrap();
        assert_eq!(
            (key.origin.as_str(), key.name.as_str(), key.version.as_deref()),
            ("https://v.vault.azure.net", "state-key", None)
        );
        assert_eq!(
            key.operation(None, "wrapkey").as_str(),
            "https://v.vault.azure.net/keys/state-key/wrapkey?api-version=7.4"
        );
        let pinned =
            KeyUrl::parse("https://v.vault.azure.net/keys/state-key/0698c2156c1a4e1da5b6bab6f6422fd6/").unwrap();
        assert_eq!(pinned.version.as_deref(), Some("0698c2156c1a4e1da5b6bab6f6422fd6"));
        assert_eq!(
            pinned.operation(Some("abc"), "unwrapkey").as_str(),
            "https://v.vault.azure.net/keys/state-key/abc/unwrapkey?api-version=7.4"
        );
        assert!(KeyUrl::parse("http://127.0.0.1:8443/keys/k").is_ok());
        assert!(KeyUrl::parse("http://[::1]:8443/keys/k").is_ok());

        let refused = [
            ("http://v.vault.azure.net/keys/k", "only sent over https"),
            ("https://v.vault.azure.net/secrets/k", "its path is not"),
            ("https://v.vault.azure.net/keys/k/1/2", "its path is not"),
            ("https://v.vault.azure.net/keys/k?api-version=7.4", "query"),
            ("https://v.vault.azure.net/keys/k_1", "letters, digits and dashes"),
            ("https://v.vault.azure.net/keys/k/v%2F1", "a key version is"),
            ("vault/keys/k", "not a URL"),
        ];
        for (url, says) in refused {
            let text = KeyUrl::parse(url).unwrap_err().to_string();
            assert!(text.starts_with(url) && text.contains(says), "{url}: {text}");
        }
    }

    #[test]
    fn the_version_comes_from_a_kid_of_the_same_key() {
        let key = KeyUrl::parse("https://v.vault.azure.net/keys/State").unwrap();
        assert_eq!(key.version_in("https://v.vault.azure.net/keys/state/0a1b").as_deref(), Some("0a1b"));
        assert_eq!(key.version_in("https://v.vault.azure.net/keys/other/0a1b"), None);
        assert_eq!(key.version_in("https://v.vault.azure.net/keys/state"), None);
        assert_eq!(key.version_in("not a url"), None);
    }

    #[test]
    fn key_vault_errors_become_errors_that_say_what_to_do() {
        let body = |code: &str, inner: &str| {
            format!(r#"{{"error":{{"code":"{code}","message":"m","innererror":{{"code":"{inner}"}}}}}}"#).into_bytes()
        };
        let key = "https://v.vault.azure.net/keys/k";
        let denied = from_answer(key, 403, &body("Forbidden", "ForbiddenByRbac")).to_string();
        assert_eq!(
            denied,
            "Azure Key Vault denied access to key https://v.vault.azure.net/keys/k: m. The identity ringform runs \
             as needs the wrapKey and unwrapKey key permissions (the role Key Vault Crypto Service Encryption \
             User) on it"
        );
        assert!(matches!(from_answer(key, 403, &body("Forbidden", "KeyDisabled")), KeyError::Disabled { .. }));
        assert!(matches!(from_answer(key, 404, &body("KeyNotFound", "")), KeyError::NotFound { .. }));
        assert!(matches!(from_answer(key, 401, &body("Unauthorized", "")), KeyError::Unauthenticated { .. }));
        let other = from_answer(key, 400, &body("BadParameter", "")).to_string();
        assert!(other.contains("refused the request for key https://v.vault.azure.net/keys/k (BadParameter): m"));
        let bare = from_answer(key, 502, b"<html>").to_string();
        assert!(bare.contains("(HTTP 502): no error message"), "{bare}");
    }
}
