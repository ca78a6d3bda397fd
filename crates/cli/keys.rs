//! The key services that keep the keys of remote state (`encryption = { aws_kms_key = … }` or
//! `{ azure_key_vault_key = … }`), reached with the providers' credential chains and handed to
//! ringform-remote as its [`KeyService`].

use std::sync::Arc;

use ringform_keys::{KeyVault, Kms, WrappedKey};
use ringform_remote::{BoxFuture, KeyService};
use ringform_state::StateKey;
use ringform_topology::StateBackend;

use crate::Failure;

/// A key in AWS KMS. Its region is the ARN's, else the bucket's, else the AWS SDK's default.
pub(crate) fn aws_kms(key: &str, backend: &StateBackend) -> Result<Arc<dyn KeyService>, Failure> {
    let from_arn = key.strip_prefix("arn:").and_then(|arn| arn.split(':').nth(2)).filter(|r| !r.is_empty());
    let region = match (from_arn, backend) {
        (Some(region), _) => region.to_owned(),
        (None, StateBackend::S3 { region, .. }) => region.clone(),
        (None, _) => std::env::var("AWS_REGION").or_else(|_| std::env::var("AWS_DEFAULT_REGION")).map_err(|_| {
            Failure::new(format!("the AWS region of KMS key {key} is not known"))
                .hint("name the key by its ARN, or set AWS_REGION")
        })?,
    };
    let settings = ringform_aws::AwsSettings::from_env();
    let config = crate::run::runtime()?.block_on(ringform_aws::sdk_config(&settings, &region));
    Ok(Arc::new(Service(Arc::new(Inner::Kms(Kms::new(&config), key.to_owned())))))
}

/// A key in Azure Key Vault, named by its URL.
pub(crate) fn azure_key_vault(key_url: &str) -> Result<Arc<dyn KeyService>, Failure> {
    let credential = ringform_azure::credential_from_env()
        .map_err(|e| Failure::new(format!("no Azure credential for Key Vault key {key_url}")).caused_by(&e))?;
    Ok(Arc::new(Service(Arc::new(Inner::Vault(KeyVault::new(credential), key_url.to_owned())))))
}

enum Inner {
    Kms(Kms, String),
    Vault(KeyVault, String),
}

struct Service(Arc<Inner>);

impl KeyService for Service {
    fn describe(&self) -> String {
        match &*self.0 {
            Inner::Kms(_, key) => format!("AWS KMS key {key}"),
            Inner::Vault(_, key) => format!("Azure Key Vault key {key}"),
        }
    }

    fn new_key(&self) -> BoxFuture<Result<(StateKey, serde_json::Value), String>> {
        let inner = Arc::clone(&self.0);
        Box::pin(async move {
            let (key, wrapped) = match &*inner {
                Inner::Kms(kms, key) => kms.new_data_key(key).await,
                Inner::Vault(vault, key) => vault.new_data_key(key).await,
            }
            .map_err(|e| e.to_string())?;
            Ok((key, serde_json::to_value(wrapped).map_err(|e| e.to_string())?))
        })
    }

    fn unwrap(&self, wrapped: serde_json::Value) -> BoxFuture<Result<StateKey, String>> {
        let inner = Arc::clone(&self.0);
        Box::pin(async move {
            let wrapped: WrappedKey = serde_json::from_value(wrapped)
                .map_err(|e| format!("the wrapped key in the state's header cannot be read: {e}"))?;
            match &*inner {
                Inner::Kms(kms, _) => kms.unwrap(&wrapped).await,
                Inner::Vault(vault, _) => vault.unwrap(&wrapped).await,
            }
            .map_err(|e| e.to_string())
        })
    }
}
