//! One set of service clients per region, built on first use so that commands which never
//! call AWS (plan, graph) never need credentials.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use tokio::sync::OnceCell;

use crate::AwsSettings;

/// IAM is global; its API lives in us-east-1.
const IAM_REGION: &str = "us-east-1";

/// The service clients of one region.
#[derive(Clone, Debug)]
pub(crate) struct Clients {
    pub ec2: aws_sdk_ec2::Client,
    pub eks: aws_sdk_eks::Client,
    pub iam: aws_sdk_iam::Client,
}

type Cell = Arc<OnceCell<Arc<Clients>>>;

/// Lazily built [`Clients`] by region.
pub(crate) struct ClientCache {
    settings: AwsSettings,
    http: SharedHttpClient,
    regions: Mutex<HashMap<String, Cell>>,
}

impl ClientCache {
    pub fn new(settings: AwsSettings, http: SharedHttpClient) -> Self {
        ClientCache { settings, http, regions: Mutex::new(HashMap::new()) }
    }

    /// The clients for `region` ("" = the global services' region).
    pub async fn get(&self, region: &str) -> Arc<Clients> {
        let region = if region.is_empty() { IAM_REGION } else { region };
        // The std mutex only guards the map and is released before the await below.
        let cell: Cell = {
            let mut regions = self.regions.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            regions.entry(region.to_owned()).or_default().clone()
        };
        cell.get_or_init(|| self.load(region.to_owned())).await.clone()
    }

    async fn load(&self, region: String) -> Arc<Clients> {
        let config = sdk_config_with(&self.settings, &region, self.http.clone()).await;
        Arc::new(Clients {
            ec2: aws_sdk_ec2::Client::new(&config),
            eks: aws_sdk_eks::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
        })
    }
}

/// The SDK configuration the provider uses for `region`, for callers that talk to AWS beside
/// it (tests checking what it made).
pub async fn sdk_config(settings: &AwsSettings, region: &str) -> aws_config::SdkConfig {
    sdk_config_with(settings, region, https_client()).await
}

async fn sdk_config_with(settings: &AwsSettings, region: &str, http: SharedHttpClient) -> aws_config::SdkConfig {
    // SDK retries are few on purpose: the engine retries Retryable/Throttled errors itself
    // with backoff and a per-region rate that drops on throttling; retrying in both places
    // would multiply attempts and hide throttling from the engine's rate limiter.
    let retry = RetryConfig::standard().with_max_attempts(settings.max_attempts.max(1));
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(10))
        .operation_attempt_timeout(Duration::from_secs(90))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_owned()))
        .http_client(http)
        .retry_config(retry)
        .timeout_config(timeouts);
    if let Some(url) = &settings.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some((key, secret)) = &settings.static_credentials {
        let credentials = aws_credential_types::Credentials::new(key, secret, None, None, "ringform-static");
        loader = loader.credentials_provider(credentials);
    }
    loader.load().await
}

/// rustls with ring: the SDK's default TLS stack (aws-lc) is a long C build.
pub(crate) fn https_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}
