//! Envelope encryption of the state key. ringform seals the secrets in its state with a random
//! 256-bit [`StateKey`] (the *data key*); a key service, AWS KMS or Azure Key Vault, wraps
//! (encrypts) that data key under a key that never leaves the service, and the [`WrappedKey`] is
//! stored beside the state. Opening the state asks the service to unwrap it again, so reading the
//! state's secrets takes permission to use the service's key, and revoking that permission
//! revokes them.
//!
//! This crate owns the calls to the two services ([`Kms`], [`KeyVault`]), the stored form of a
//! wrapped key, and [`KeyError`]: sentences that name the key and the service and say what to
//! do, and never hold key material. It does not know where state is stored or how it is sealed
//! (`ringform-state`), what the topology says, or how credentials are found: the caller hands in
//! an AWS `SdkConfig` or an Azure `TokenCredential`, so no provider crate is linked here.

mod error;
mod key_vault;
mod kms;

pub use error::KeyError;
pub use key_vault::KeyVault;
pub use kms::Kms;

use std::fmt;

use ringform_state::StateKey;
use serde::{Deserialize, Serialize};

/// A data key wrapped by a key service, stored beside the state it encrypts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedKey {
    pub service: KeyService,
    /// The key as the topology names it: a KMS key id, ARN or alias, or a Key Vault key URL.
    pub key: String,
    /// Exactly which key wrapped it: the KMS key's ARN (an alias may later point elsewhere), or
    /// the Key Vault key's version.
    pub key_version: Option<String>,
    /// The wrapped data key, base64.
    pub ciphertext: String,
}

/// The services that wrap data keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyService {
    AwsKms,
    AzureKeyVault,
}

impl KeyService {
    /// What the identity ringform runs as must be allowed to do with the key.
    fn permissions(self) -> &'static str {
        match self {
            KeyService::AwsKms => "kms:GenerateDataKey and kms:Decrypt",
            KeyService::AzureKeyVault => {
                "the wrapKey and unwrapKey key permissions (the role Key Vault Crypto Service Encryption User)"
            }
        }
    }

    /// Where a key that is not found may be looked for.
    fn locate(self) -> &'static str {
        match self {
            KeyService::AwsKms => "the key id or alias, and that the credentials' account and region are the key's",
            KeyService::AzureKeyVault => "the vault and key names, and the version if one is given",
        }
    }

    /// Where the credentials come from.
    fn sign_in(self) -> &'static str {
        match self {
            KeyService::AwsKms => "the AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, an SSO login)",
            KeyService::AzureKeyVault => {
                "the Azure sign-in (az login, or AZURE_TENANT_ID and AZURE_CLIENT_ID), and that its tenant is \
                 the vault's"
            }
        }
    }
}

impl fmt::Display for KeyService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyService::AwsKms => "AWS KMS",
            KeyService::AzureKeyVault => "Azure Key Vault",
        })
    }
}

/// The state key made of a data key's bytes; a service that hands back anything but 32 bytes
/// did not give a data key.
fn state_key(service: KeyService, key: &str, bytes: &[u8]) -> Result<StateKey, KeyError> {
    StateKey::from_bytes(bytes).map_err(|_| KeyError::Malformed {
        service,
        key: key.to_owned(),
        what: "the data key it returned is not 32 bytes long",
    })
}

/// Fails unless `wrapped` was made by `service`.
fn check_service(wrapped: &WrappedKey, service: KeyService) -> Result<(), KeyError> {
    if wrapped.service == service {
        return Ok(());
    }
    Err(KeyError::OtherService { key: wrapped.key.clone(), made_by: wrapped.service, given: service })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapped_key_is_stored_as_kebab_case_json() {
        let wrapped = WrappedKey {
            service: KeyService::AzureKeyVault,
            key: "https://v.vault.azure.net/keys/state".to_owned(),
            key_version: Some("0698c2156c1a4e1da5b6bab6f6422fd6".to_owned()),
            ciphertext: "AAEC".to_owned(),
        };
        let json = serde_json::to_value(&wrapped).unwrap();
        assert_eq!(json["service"], "azure-key-vault");
        assert_eq!(serde_json::from_value::<WrappedKey>(json).unwrap(), wrapped);
        assert_eq!(serde_json::to_value(KeyService::AwsKms).unwrap(), "aws-kms");
    }

    #[test]
    fn a_wrapped_key_opens_only_with_the_service_that_made_it() {
        let wrapped = WrappedKey {
            service: KeyService::AwsKms,
            key: "alias/state".to_owned(),
            key_version: None,
            ciphertext: String::new(),
        };
        assert!(check_service(&wrapped, KeyService::AwsKms).is_ok());
        let err = check_service(&wrapped, KeyService::AzureKeyVault).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the wrapped key of alias/state was made by AWS KMS, so Azure Key Vault cannot unwrap it"
        );
    }
}
