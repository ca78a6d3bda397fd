//! Data keys through Azure Key Vault, against testkit's fake vault (real HTTP, azure_core's
//! pipeline).

use std::sync::Arc;

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::error::ErrorKind;
use azure_core::time::{Duration, OffsetDateTime};
use ringform_keys::{KeyError, KeyService, KeyVault, WrappedKey};
use ringform_testkit::key_vault::FakeKeyVault;

/// A credential with a fixed token, or none at all.
#[derive(Debug)]
struct Fixed(Option<String>);

#[async_trait::async_trait]
impl TokenCredential for Fixed {
    async fn get_token(&self, scopes: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
        assert_eq!(scopes, ["https://vault.azure.net/.default"]);
        match &self.0 {
            Some(token) => Ok(AccessToken::new(token.clone(), OffsetDateTime::now_utc() + Duration::hours(1))),
            None => Err(azure_core::Error::with_message(ErrorKind::Credential, "no credential is configured")),
        }
    }
}

fn client(token: Option<String>) -> KeyVault {
    KeyVault::new(Arc::new(Fixed(token)))
}

#[tokio::test]
async fn a_data_key_wraps_and_unwraps_with_the_version_that_wrapped_it() {
    let vault = FakeKeyVault::start_for_test();
    let key_url = vault.create_key("ringform-state");
    let keys = client(Some(vault.token()));

    let (key, wrapped) = keys.new_data_key(&key_url).await.unwrap();
    let first = vault.versions("ringform-state")[0].clone();
    assert_eq!(
        (wrapped.service, wrapped.key.as_str(), wrapped.key_version.as_deref()),
        (KeyService::AzureKeyVault, key_url.as_str(), Some(first.as_str()))
    );
    assert_eq!(keys.unwrap(&wrapped).await.unwrap().id(), key.id());
    let (other, _) = keys.new_data_key(&key_url).await.unwrap();
    assert_ne!(other.id(), key.id(), "every data key is new");

    // A new version of the key does not lock what an older one wrapped; new data keys take it.
    vault.create_key("ringform-state");
    let newest = vault.versions("ringform-state")[1].clone();
    assert_eq!(keys.unwrap(&wrapped).await.unwrap().id(), key.id());
    let (_, rewrapped) = keys.new_data_key(&key_url).await.unwrap();
    assert_eq!(rewrapped.key_version.as_deref(), Some(newest.as_str()));

    // A key URL that pins a version wraps with that one.
    let pinned = format!("{key_url}/{first}");
    let (key, wrapped) = keys.new_data_key(&pinned).await.unwrap();
    assert_eq!(wrapped.key_version.as_deref(), Some(first.as_str()));
    assert_eq!(keys.unwrap(&wrapped).await.unwrap().id(), key.id());
}

#[tokio::test]
async fn unknown_and_disabled_keys_are_named() {
    let vault = FakeKeyVault::start_for_test();
    let key_url = vault.create_key("ringform-state");
    let keys = client(Some(vault.token()));
    let (_, wrapped) = keys.new_data_key(&key_url).await.unwrap();

    let missing = format!("{}/keys/no-such-key", vault.endpoint());
    let err = keys.new_data_key(&missing).await.unwrap_err();
    assert!(matches!(err, KeyError::NotFound { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("Azure Key Vault has no key {missing}: A key with (name/id) no-such-key")),
        "{text}"
    );
    let elsewhere = WrappedKey { key: missing, ..wrapped.clone() };
    assert!(matches!(keys.unwrap(&elsewhere).await, Err(KeyError::NotFound { .. })));

    let unknown_version = WrappedKey { key_version: Some("0123456789abcdef".to_owned()), ..wrapped.clone() };
    assert!(matches!(keys.unwrap(&unknown_version).await, Err(KeyError::NotFound { .. })));
    let reshaped = WrappedKey { key_version: Some("../../secrets/x".to_owned()), ..wrapped.clone() };
    assert!(matches!(keys.unwrap(&reshaped).await, Err(KeyError::Malformed { .. })));

    vault.set_enabled("ringform-state", false);
    let err = keys.unwrap(&wrapped).await.unwrap_err();
    assert!(matches!(err, KeyError::Disabled { .. }), "{err:?}");
    assert!(err.to_string().contains("Operation unwrapkey is not allowed on a disabled key"), "{err}");
}

#[tokio::test]
async fn a_missing_or_refused_token_is_a_credentials_error() {
    let vault = FakeKeyVault::start_for_test();
    let key_url = vault.create_key("ringform-state");

    let err = client(None).new_data_key(&key_url).await.unwrap_err();
    assert!(matches!(err, KeyError::Credential { .. }), "{err:?}");
    assert!(err.to_string().starts_with(&format!("no token for Azure Key Vault (key {key_url}): check ")), "{err}");

    // A token the vault does not take, and none at all (an empty one is not sent as a token).
    for token in ["someone-else", ""] {
        let err = client(Some(token.to_owned())).new_data_key(&key_url).await.unwrap_err();
        assert!(matches!(err, KeyError::Unauthenticated { .. }), "{err:?}");
        assert!(err.to_string().starts_with("Azure Key Vault did not accept the credentials"), "{err}");
    }
    let err = client(Some(String::new())).new_data_key(&key_url).await.unwrap_err();
    assert!(err.to_string().contains("AKV10000: Request is missing a Bearer or PoP token."), "{err}");
}

#[tokio::test]
async fn a_wrapped_key_from_kms_is_not_sent_to_key_vault() {
    let wrapped = WrappedKey {
        service: KeyService::AwsKms,
        key: "alias/ringform-state".to_owned(),
        key_version: None,
        ciphertext: "AAEC".to_owned(),
    };
    let err = client(Some("token".to_owned())).unwrap(&wrapped).await.unwrap_err();
    assert!(matches!(err, KeyError::OtherService { .. }), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_vault_is_a_request_error() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).unwrap().port();
    let key_url = format!("http://127.0.0.1:{port}/keys/ringform-state");
    let err = client(Some("token".to_owned())).new_data_key(&key_url).await.unwrap_err();
    assert!(matches!(err, KeyError::Request { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("the request to Azure Key Vault for key {key_url} failed before Azure Key Vault answered")
    );
}
