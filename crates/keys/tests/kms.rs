//! Data keys through AWS KMS, against moto's KMS (real SDK calls over HTTP).

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_kms::primitives::Blob;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ringform_keys::{KeyError, KeyService, Kms, WrappedKey};
use ringform_state::StateKey;
use ringform_testkit::moto::Moto;

/// The configuration crates/aws builds for moto: its endpoint, static test credentials, one
/// attempt per call.
async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    let http = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
    let credentials = aws_credential_types::Credentials::new("testing", "testing", None, None, "test");
    aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-west-1"))
        .endpoint_url(endpoint)
        .credentials_provider(credentials)
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .http_client(http)
        .load()
        .await
}

/// A symmetric KMS key named by `alias`; returns its ARN.
async fn create_key(client: &aws_sdk_kms::Client, alias: &str) -> String {
    let key = client.create_key().send().await.expect("CreateKey").key_metadata.expect("key metadata");
    client.create_alias().alias_name(alias).target_key_id(key.key_id()).send().await.expect("CreateAlias");
    key.arn.expect("a key ARN")
}

#[tokio::test]
async fn a_data_key_wrapped_by_an_alias_unwraps_to_the_same_key() {
    let moto = Moto::start_for_test();
    let config = sdk_config(&moto.endpoint()).await;
    let client = aws_sdk_kms::Client::new(&config);
    let arn = create_key(&client, "alias/ringform-state").await;
    let kms = Kms::new(&config);

    let (key, wrapped) = kms.new_data_key("alias/ringform-state").await.unwrap();
    assert_eq!(wrapped.service, KeyService::AwsKms);
    assert_eq!(wrapped.key, "alias/ringform-state");
    assert_eq!(wrapped.key_version.as_deref(), Some(arn.as_str()));
    assert_eq!(kms.unwrap(&wrapped).await.unwrap().id(), key.id());

    // What KMS itself unwraps is the state key's bytes, and they are nowhere in what is stored.
    let ciphertext = BASE64.decode(&wrapped.ciphertext).unwrap();
    let decrypted = client
        .decrypt()
        .ciphertext_blob(Blob::new(ciphertext.clone()))
        .encryption_context("ringform", "state-key")
        .send()
        .await
        .expect("Decrypt");
    let plaintext = decrypted.plaintext.expect("plaintext").into_inner();
    assert_eq!(StateKey::from_bytes(&plaintext).unwrap().id(), key.id());
    assert!(!ciphertext.windows(plaintext.len()).any(|w| w == plaintext.as_slice()));
    let stored = serde_json::to_string(&wrapped).unwrap();
    assert!(!stored.contains(&BASE64.encode(&plaintext)));

    // The alias moved to another key since: the state still opens, with the key that wrapped it.
    let newer = client.create_key().send().await.unwrap().key_metadata.unwrap();
    client.update_alias().alias_name("alias/ringform-state").target_key_id(newer.key_id()).send().await.unwrap();
    assert_eq!(kms.unwrap(&wrapped).await.unwrap().id(), key.id());
    let (renewed, _) = kms.new_data_key("alias/ringform-state").await.unwrap();
    assert_ne!(renewed.id(), key.id());
}

#[tokio::test]
async fn missing_keys_and_altered_ciphertexts_are_named() {
    let moto = Moto::start_for_test();
    let config = sdk_config(&moto.endpoint()).await;
    let client = aws_sdk_kms::Client::new(&config);
    create_key(&client, "alias/ringform-state").await;
    let kms = Kms::new(&config);

    let err = kms.new_data_key("alias/none").await.unwrap_err();
    assert!(matches!(err, KeyError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().starts_with("AWS KMS has no key alias/none: "), "{err}");

    let (_, wrapped) = kms.new_data_key("alias/ringform-state").await.unwrap();
    let elsewhere = WrappedKey { key: "alias/none".to_owned(), key_version: None, ..wrapped.clone() };
    let err = kms.unwrap(&elsewhere).await.unwrap_err();
    assert!(matches!(err, KeyError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("alias/none"), "{err}");
    let gone_arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000".to_owned();
    let gone = WrappedKey { key_version: Some(gone_arn), ..wrapped.clone() };
    assert!(matches!(kms.unwrap(&gone).await, Err(KeyError::NotFound { .. })));

    let mut bytes = BASE64.decode(&wrapped.ciphertext).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let altered = WrappedKey { ciphertext: BASE64.encode(&bytes), ..wrapped.clone() };
    let err = kms.unwrap(&altered).await.unwrap_err();
    assert!(matches!(err, KeyError::WrongCiphertext { .. }), "{err:?}");
    let damaged = WrappedKey { ciphertext: "not base64!".to_owned(), ..wrapped.clone() };
    assert!(matches!(kms.unwrap(&damaged).await, Err(KeyError::Malformed { .. })));
}

#[tokio::test]
async fn an_unreachable_kms_is_a_request_error() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).unwrap().port();
    let config = sdk_config(&format!("http://127.0.0.1:{port}")).await;
    let err = Kms::new(&config).new_data_key("alias/ringform-state").await.unwrap_err();
    assert!(matches!(err, KeyError::Request { .. }), "{err:?}");
    assert_eq!(err.to_string(), "the request to AWS KMS for key alias/ringform-state failed before AWS KMS answered");
}
