//! AWS KMS: GenerateDataKey makes a data key and its wrapped copy in one call, Decrypt unwraps
//! the copy. Errors are told apart by the service's error code, the one thing every KMS error
//! carries (AccessDeniedException, for one, has no variant of its own in the SDK).

use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ringform_state::StateKey;
use zeroize::Zeroizing;

use crate::{KeyError, KeyService, WrappedKey, check_service, state_key};

const SERVICE: KeyService = KeyService::AwsKms;

/// Bound to every data key ringform has KMS make: Decrypt succeeds only with the same context,
/// so a ciphertext KMS made for anything else is not taken for a state key, and CloudTrail
/// shows what each call was for.
const CONTEXT: (&str, &str) = ("ringform", "state-key");

/// Makes and unwraps data keys with AWS KMS.
#[derive(Clone, Debug)]
pub struct Kms {
    client: aws_sdk_kms::Client,
}

impl Kms {
    /// A client with `config`'s region, credentials, endpoint, retries and HTTP client.
    pub fn new(config: &aws_types::SdkConfig) -> Kms {
        Kms { client: aws_sdk_kms::Client::new(config) }
    }

    /// A new data key (32 random bytes KMS makes) and its copy wrapped by `key`: a key id, key
    /// ARN, alias name or alias ARN.
    pub async fn new_data_key(&self, key: &str) -> Result<(StateKey, WrappedKey), KeyError> {
        let output = self
            .client
            .generate_data_key()
            .key_id(key)
            .key_spec(DataKeySpec::Aes256)
            .encryption_context(CONTEXT.0, CONTEXT.1)
            .send()
            .await
            .map_err(|e| error(key, e))?;
        let plaintext = Zeroizing::new(output.plaintext.map(Blob::into_inner).unwrap_or_default());
        let state_key = state_key(SERVICE, key, &plaintext)?;
        let ciphertext =
            output.ciphertext_blob.ok_or_else(|| malformed(key, "GenerateDataKey returned no ciphertext"))?;
        let wrapped = WrappedKey {
            service: SERVICE,
            key: key.to_owned(),
            key_version: output.key_id,
            ciphertext: BASE64.encode(ciphertext.as_ref()),
        };
        Ok((state_key, wrapped))
    }

    /// The data key `wrapped` holds.
    pub async fn unwrap(&self, wrapped: &WrappedKey) -> Result<StateKey, KeyError> {
        check_service(wrapped, SERVICE)?;
        let key = &wrapped.key;
        let ciphertext =
            BASE64.decode(&wrapped.ciphertext).map_err(|_| malformed(key, "the stored ciphertext is not base64"))?;
        // The ARN of the key that wrapped it rather than the alias the topology names: an alias
        // moved to another key since must not lock the state. KMS refuses a ciphertext that the
        // key named did not make.
        let key_id = wrapped.key_version.as_deref().unwrap_or(key);
        let output = self
            .client
            .decrypt()
            .key_id(key_id)
            .ciphertext_blob(Blob::new(ciphertext))
            .encryption_context(CONTEXT.0, CONTEXT.1)
            .send()
            .await
            .map_err(|e| error(key, e))?;
        let plaintext = Zeroizing::new(output.plaintext.map(Blob::into_inner).unwrap_or_default());
        state_key(SERVICE, key, &plaintext)
    }
}

fn malformed(key: &str, what: &'static str) -> KeyError {
    KeyError::Malformed { service: SERVICE, key: key.to_owned(), what }
}

fn error<E>(key: &str, error: SdkError<E>) -> KeyError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &error {
        SdkError::ServiceError(context) => {
            let err = context.err();
            from_code(key, err.code().unwrap_or("Unknown"), err.message().unwrap_or("no message"))
        }
        // Not answered: the connection, a timeout, or no credentials to sign with.
        _ => KeyError::Request { service: SERVICE, key: key.to_owned(), source: Box::new(error) },
    }
}

/// The error a KMS error code means.
fn from_code(key: &str, code: &str, message: &str) -> KeyError {
    let (service, key, message) = (SERVICE, key.to_owned(), message.trim_end_matches('.').to_owned());
    match code {
        "AccessDeniedException" => KeyError::AccessDenied { service, key, message },
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "ExpiredTokenException"
        | "IncompleteSignatureException"
        | "MissingAuthenticationTokenException" => KeyError::Unauthenticated { service, key, message },
        "NotFoundException" => KeyError::NotFound { service, key, message },
        // KMSInvalidStateException: pending deletion, pending import, or its key store is gone.
        "DisabledException" | "KMSInvalidStateException" => KeyError::Disabled { service, key, message },
        "InvalidCiphertextException" | "IncorrectKeyException" => KeyError::WrongCiphertext { service, key, message },
        code => KeyError::Refused { service, key, code: code.to_owned(), message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kms_error_codes_become_errors_that_say_what_to_do() {
        let denied = from_code(
            "alias/state",
            "AccessDeniedException",
            "User: arn:aws:iam::1:user/ci is not authorized to perform: kms:Decrypt",
        );
        assert_eq!(
            denied.to_string(),
            "AWS KMS denied access to key alias/state: User: arn:aws:iam::1:user/ci is not authorized to perform: \
             kms:Decrypt. The identity ringform runs as needs kms:GenerateDataKey and kms:Decrypt on it"
        );
        let cases = [
            ("UnrecognizedClientException", "did not accept the credentials"),
            ("NotFoundException", "has no key alias/state"),
            ("DisabledException", "Enable it again"),
            ("KMSInvalidStateException", "cannot be used"),
            ("InvalidCiphertextException", "does not unwrap with key alias/state"),
            ("IncorrectKeyException", "wrapped by another key"),
            ("ThrottlingException", "refused the request for key alias/state (ThrottlingException): m"),
        ];
        for (code, says) in cases {
            let text = from_code("alias/state", code, "m").to_string();
            assert!(text.contains(says) && text.contains("AWS KMS"), "{code}: {text}");
        }
    }
}
