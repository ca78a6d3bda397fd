//! Where remote state lives: an object store and the name of the state object in it, from
//! which the names of its companions (lock, journal, last good copy) follow. Credentials come
//! from the same chains the providers use: the caller passes the AWS SDK's configuration, or
//! an Azure token credential.

use std::sync::Arc;

use aws_credential_types::provider::ProvideCredentials;
use object_store::ObjectStore;
use object_store::aws::{AmazonS3Builder, AwsCredential};
use object_store::azure::{AzureCredential, MicrosoftAzureBuilder};
use object_store::path::Path;

use crate::RemoteError;

/// The remote state of one deployment.
#[derive(Clone)]
pub struct Location {
    url: String,
    pub(crate) store: Arc<dyn ObjectStore>,
    state: Path,
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

/// How to sign requests to Azure Blob Storage.
pub enum AzureAuth {
    /// The storage account's shared key (`AZURE_STORAGE_ACCOUNT_KEY`; Azurite's well-known one).
    AccountKey(String),
    /// Entra ID tokens (service principal, workload identity, Azure CLI).
    Token(Arc<dyn azure_core::credentials::TokenCredential>),
}

impl Location {
    /// `s3://bucket/key`, reached with the AWS SDK configuration `config` (its credentials and
    /// its endpoint, which `AWS_ENDPOINT_URL` sets).
    pub fn s3(bucket: &str, region: &str, key: &str, config: &aws_types::SdkConfig) -> Result<Location, RemoteError> {
        let url = format!("s3://{bucket}/{key}");
        let credentials = config.credentials_provider().ok_or_else(|| RemoteError::Setup {
            url: url.clone(),
            detail: "no AWS credentials are configured".into(),
        })?;
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(region)
            .with_credentials(Arc::new(SdkCredentials(credentials)));
        if let Some(endpoint) = config.endpoint_url() {
            builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
        }
        let store = builder.build().map_err(|e| RemoteError::setup(&url, e))?;
        Location::new(url, Arc::new(store), key)
    }

    /// `azure-blob://account/container/blob`; `endpoint` replaces the account's public one
    /// (`https://<account>.blob.core.windows.net`) for sovereign clouds and Azurite.
    pub fn azure_blob(
        account: &str,
        container: &str,
        blob: &str,
        endpoint: Option<&str>,
        auth: AzureAuth,
    ) -> Result<Location, RemoteError> {
        let url = format!("azure-blob://{account}/{container}/{blob}");
        let mut builder = MicrosoftAzureBuilder::new().with_account(account).with_container_name(container);
        if let Some(endpoint) = endpoint {
            builder = builder.with_endpoint(endpoint.to_owned()).with_allow_http(endpoint.starts_with("http://"));
        }
        builder = match auth {
            AzureAuth::AccountKey(key) => builder.with_access_key(key),
            AzureAuth::Token(credential) => builder.with_credentials(Arc::new(EntraTokens(credential))),
        };
        let store = builder.build().map_err(|e| RemoteError::setup(&url, e))?;
        Location::new(url, Arc::new(store), blob)
    }

    fn new(url: String, store: Arc<dyn ObjectStore>, key: &str) -> Result<Location, RemoteError> {
        let state = Path::parse(key).map_err(|e| RemoteError::setup(&url, e))?;
        Ok(Location { url, store, state })
    }

    /// The state object's address, for messages: `s3://bucket/key`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub(crate) fn object(&self, object: Object) -> Path {
        match object.suffix() {
            "" => self.state.clone(),
            suffix => Path::from(format!("{}{suffix}", self.state)),
        }
    }

    pub(crate) fn object_url(&self, object: Object) -> String {
        format!("{}{}", self.url, object.suffix())
    }
}

/// The objects of one remote state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Object {
    /// The state: a `ringform_state::Document`.
    State,
    /// Who holds the lock; exists only while it is held.
    Lock,
    /// The intents of operations in flight, so a run on another machine can settle them.
    Journal,
    /// The state as it was after the last run that succeeded.
    LastGood,
}

impl Object {
    fn suffix(self) -> &'static str {
        match self {
            Object::State => "",
            Object::Lock => ".lock",
            Object::Journal => ".journal",
            Object::LastGood => ".last-good",
        }
    }
}

/// The AWS SDK's credential chain (environment, profiles and SSO, web identity for OIDC,
/// container and instance roles), signing object_store's requests.
#[derive(Debug)]
struct SdkCredentials(aws_credential_types::provider::SharedCredentialsProvider);

#[async_trait::async_trait]
impl object_store::CredentialProvider for SdkCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let credentials = self
            .0
            .provide_credentials()
            .await
            .map_err(|e| object_store::Error::Generic { store: "S3", source: Box::new(e) })?;
        Ok(Arc::new(AwsCredential {
            key_id: credentials.access_key_id().to_owned(),
            secret_key: credentials.secret_access_key().to_owned(),
            token: credentials.session_token().map(str::to_owned),
        }))
    }
}

/// Entra ID tokens for Azure Storage from an azure_identity credential.
struct EntraTokens(Arc<dyn azure_core::credentials::TokenCredential>);

impl std::fmt::Debug for EntraTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EntraTokens")
    }
}

const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";

#[async_trait::async_trait]
impl object_store::CredentialProvider for EntraTokens {
    type Credential = AzureCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AzureCredential>> {
        let token = self
            .0
            .get_token(&[STORAGE_SCOPE], None)
            .await
            .map_err(|e| object_store::Error::Generic { store: "MicrosoftAzure", source: Box::new(e) })?;
        Ok(Arc::new(AzureCredential::BearerToken(token.token.secret().to_owned())))
    }
}
