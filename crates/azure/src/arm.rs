//! A small typed ARM client: PUT / GET / DELETE / POST / paginated list against one endpoint,
//! with long-running operations waited for (see [`crate::lro`]) and errors mapped to
//! [`ArmError`].
//!
//! Transport: azure_core's [`Pipeline`] (reqwest underneath, with azure_core's connect and read
//! timeouts, user agent and client request id). Its retry policy is turned off because ARM's
//! rules are our own: a 429 goes back to the engine as throttling, a 409
//! `AnotherOperationInProgress` is retryable, and only idempotent calls are retried here. Its
//! bearer-token policy is not used either: it refuses plain-http endpoints, which the fake ARM
//! and private-cloud proxies are, so the token is set here (and only sent to the endpoint's own
//! origin). The pipeline's logging redacts headers and never logs bodies, which matters for
//! connection shared keys and kubeconfigs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::headers::HeaderName;
use azure_core::http::{ClientOptions, Context, Method, Pipeline, PipelineSendOptions, Request, RetryOptions, Url};
use azure_core::time::OffsetDateTime;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ArmError, ArmResult, parse_error};
use crate::lro;
use crate::settings::{ArmSettings, AzureSettings};

/// An ARM resource type with the one api-version ringform speaks for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceType {
    /// `Microsoft.Network/virtualNetworks`; the path segment after `/providers/`.
    pub name: &'static str,
    pub api_version: &'static str,
    pub wait: WaitClass,
}

/// Which provisioning time limit applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitClass {
    Gateway,
    Aks,
    Other,
}

pub const RESOURCE_GROUPS: ResourceType =
    ResourceType { name: "Microsoft.Resources/resourceGroups", api_version: "2021-04-01", wait: WaitClass::Other };
pub const VIRTUAL_NETWORKS: ResourceType =
    ResourceType { name: "Microsoft.Network/virtualNetworks", api_version: "2024-05-01", wait: WaitClass::Other };
pub const PUBLIC_IPS: ResourceType =
    ResourceType { name: "Microsoft.Network/publicIPAddresses", api_version: "2024-05-01", wait: WaitClass::Other };
pub const GATEWAYS: ResourceType = ResourceType {
    name: "Microsoft.Network/virtualNetworkGateways",
    api_version: "2024-05-01",
    wait: WaitClass::Gateway,
};
pub const CONNECTIONS: ResourceType =
    ResourceType { name: "Microsoft.Network/connections", api_version: "2024-05-01", wait: WaitClass::Gateway };
pub const LOCAL_GATEWAYS: ResourceType =
    ResourceType { name: "Microsoft.Network/localNetworkGateways", api_version: "2024-05-01", wait: WaitClass::Other };
pub const PEERINGS: ResourceType = ResourceType {
    name: "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
    api_version: "2024-05-01",
    wait: WaitClass::Other,
};
pub const MANAGED_CLUSTERS: ResourceType = ResourceType {
    name: "Microsoft.ContainerService/managedClusters",
    api_version: "2024-09-01",
    wait: WaitClass::Aks,
};

/// Role assignments nest under the scope they grant on (any ARM id); create and delete are
/// synchronous.
pub const ROLE_ASSIGNMENTS: ResourceType =
    ResourceType { name: "Microsoft.Authorization/roleAssignments", api_version: "2022-04-01", wait: WaitClass::Other };

impl ArmSettings {
    pub fn max_wait(&self, class: WaitClass) -> Duration {
        match class {
            WaitClass::Gateway => self.max_wait_gateway,
            WaitClass::Aks => self.max_wait_aks,
            WaitClass::Other => self.max_wait,
        }
    }
}

/// One HTTP answer, body collected.
#[derive(Debug)]
pub struct ArmResponse {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub async_operation: Option<String>,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

impl ArmResponse {
    pub fn json<T: DeserializeOwned>(&self, resource: &str) -> ArmResult<T> {
        serde_json::from_slice(&self.body).map_err(|e| ArmError::Malformed {
            resource: resource.to_owned(),
            what: "the body is not the JSON documented",
            source: Box::new(e),
        })
    }
}

/// Where tokens come from: a fixed one, or azure_identity created on first use.
enum Auth {
    Static(String),
    Identity {
        scope: String,
        credential: tokio::sync::OnceCell<Arc<dyn TokenCredential>>,
        cached: Mutex<Option<(String, OffsetDateTime)>>,
    },
}

pub struct ArmClient {
    endpoint: Url,
    pipeline: Pipeline,
    auth: Auth,
    pub settings: ArmSettings,
}

impl std::fmt::Debug for ArmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmClient").field("endpoint", &self.endpoint.as_str()).finish_non_exhaustive()
    }
}

impl ArmClient {
    /// Builds the client without touching the network or any credential.
    pub fn new(settings: &AzureSettings) -> ArmResult<ArmClient> {
        let endpoint = Url::parse(&format!("{}/", settings.endpoint.trim_end_matches('/'))).map_err(|e| {
            ArmError::invalid_because(format!("RINGFORM_ARM_ENDPOINT {:?} is not a URL", settings.endpoint), e)
        })?;
        let options = ClientOptions { retry: RetryOptions::none(), ..ClientOptions::default() };
        let pipeline = Pipeline::new(
            option_env!("CARGO_PKG_NAME"),
            option_env!("CARGO_PKG_VERSION"),
            options,
            vec![],
            vec![],
            None,
        );
        let auth = match &settings.token {
            Some(token) => Auth::Static(token.clone()),
            None => Auth::Identity {
                scope: settings.token_scope.clone(),
                credential: tokio::sync::OnceCell::new(),
                cached: Mutex::new(None),
            },
        };
        Ok(ArmClient { endpoint, pipeline, auth, settings: settings.arm.clone() })
    }

    /// Creates or replaces `id` with `body`, waits for provisioning, and returns the resource.
    pub async fn put<B: Serialize>(&self, id: &str, ty: ResourceType, body: &B) -> ArmResult<serde_json::Value> {
        let body =
            serde_json::to_vec(body).map_err(|e| ArmError::invalid_because(format!("{id}: encoding the body"), e))?;
        let response = self.call(Method::Put, &self.url(id, ty.api_version)?, Some(body), id, true).await?;
        lro::wait(self, &response, id, ty).await?;
        self.get(id, ty).await?.ok_or_else(|| ArmError::Unexpected {
            resource: id.to_owned(),
            message: "the PUT succeeded but a GET finds no such resource".to_owned(),
        })
    }

    /// The resource, or None when it does not exist.
    pub async fn get(&self, id: &str, ty: ResourceType) -> ArmResult<Option<serde_json::Value>> {
        match self.call(Method::Get, &self.url(id, ty.api_version)?, None, id, true).await {
            Ok(response) => response.json(id).map(Some),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes `id` and waits until it is gone; deleting what does not exist succeeds.
    pub async fn delete(&self, id: &str, ty: ResourceType) -> ArmResult<()> {
        match self.call(Method::Delete, &self.url(id, ty.api_version)?, None, id, true).await {
            Ok(response) => lro::wait(self, &response, id, ty).await,
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// POSTs an action (`{id}/listClusterAdminCredential`) and returns its answer.
    pub async fn post(&self, id: &str, action: &str, ty: ResourceType) -> ArmResult<serde_json::Value> {
        let path = format!("{id}/{action}");
        let response =
            self.call(Method::Post, &self.url(&path, ty.api_version)?, Some(b"{}".to_vec()), &path, false).await?;
        if response.status == 202 {
            // An asynchronous action: its result is the body of the final poll.
            return lro::wait_for_result(self, &response, &path, ty).await;
        }
        response.json(&path)
    }

    /// Every item of a collection (`/subscriptions/{s}/providers/{type}`), following `nextLink`.
    pub async fn list(&self, path: &str, ty: ResourceType, filter: Option<&str>) -> ArmResult<Vec<serde_json::Value>> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            #[serde(default)]
            value: Vec<serde_json::Value>,
            next_link: Option<String>,
        }
        let mut url = self.url(path, ty.api_version)?;
        if let Some(filter) = filter {
            url.query_pairs_mut().append_pair("$filter", filter);
        }
        let mut items = vec![];
        // A bound on pages, so a server that links to itself cannot loop us forever.
        for _ in 0..10_000 {
            let page: Page = self.call(Method::Get, &url, None, path, true).await?.json(path)?;
            items.extend(page.value);
            match page.next_link.filter(|l| !l.is_empty()) {
                Some(next) => url = self.same_origin(&next, path)?,
                None => return Ok(items),
            }
        }
        Err(ArmError::Unexpected { resource: path.to_owned(), message: "more than 10000 pages".to_owned() })
    }

    pub fn url(&self, path: &str, api_version: &str) -> ArmResult<Url> {
        let mut url = self
            .endpoint
            .join(path.trim_start_matches('/'))
            .map_err(|e| ArmError::invalid_because(format!("{path} does not make a URL"), e))?;
        url.query_pairs_mut().append_pair("api-version", api_version);
        Ok(url)
    }

    /// A URL ARM handed back (nextLink, polling URLs), refused unless it is on our endpoint so
    /// the token never goes anywhere else.
    pub fn same_origin(&self, link: &str, resource: &str) -> ArmResult<Url> {
        let url = self.endpoint.join(link).map_err(|e| ArmError::Malformed {
            resource: resource.to_owned(),
            what: "a link that is not a URL",
            source: Box::new(e),
        })?;
        if url.origin() != self.endpoint.origin() {
            return Err(ArmError::Unexpected {
                resource: resource.to_owned(),
                message: format!(
                    "ARM returned a link to another host ({}); not following it",
                    url.origin().ascii_serialization()
                ),
            });
        }
        Ok(url)
    }

    /// Sends one request, retrying idempotent ones on 5xx and connection errors, and turns
    /// error statuses into [`ArmError::Api`].
    pub async fn call(
        &self,
        method: Method,
        url: &Url,
        body: Option<Vec<u8>>,
        resource: &str,
        idempotent: bool,
    ) -> ArmResult<ArmResponse> {
        let attempts = if idempotent { self.settings.attempts.max(1) } else { 1 };
        let mut delay = self.settings.retry_delay;
        let mut attempt = 1;
        loop {
            let result = self.send(method, url, body.clone(), resource).await.and_then(|r| check(method, resource, r));
            match result {
                Err(e) if attempt < attempts && is_transient(&e) => {
                    tokio::time::sleep(delay).await;
                    delay = delay.saturating_mul(2);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Sends one request and collects the answer, whatever its status.
    pub async fn send(
        &self,
        method: Method,
        url: &Url,
        body: Option<Vec<u8>>,
        resource: &str,
    ) -> ArmResult<ArmResponse> {
        let transport = |source: azure_core::Error| ArmError::Transport {
            action: method.to_string(),
            resource: resource.to_owned(),
            source: Box::new(source),
        };
        let mut request = Request::new(url.clone(), method);
        let token = self.token().await?;
        request.insert_header("authorization", format!("Bearer {token}"));
        request.insert_header("accept", "application/json");
        if let Some(body) = body {
            request.insert_header("content-type", "application/json");
            request.set_body(body);
        }
        let options = PipelineSendOptions { skip_checks: true, ..PipelineSendOptions::default() };
        let response = self.pipeline.send(&Context::new(), &mut request, Some(options)).await.map_err(transport)?;
        let (status, headers, body) = response.deconstruct();
        let header = |name: &'static str| headers.get_optional_string(&HeaderName::from_static(name));
        Ok(ArmResponse {
            status: u16::from(status),
            retry_after: header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()).map(Duration::from_secs),
            async_operation: header("azure-asyncoperation"),
            location: header("location"),
            body: body.as_ref().to_vec(),
        })
    }

    async fn token(&self) -> ArmResult<String> {
        let (scope, credential, cached) = match &self.auth {
            Auth::Static(token) => return Ok(token.clone()),
            Auth::Identity { scope, credential, cached } => (scope, credential, cached),
        };
        let fresh_until = OffsetDateTime::now_utc() + azure_core::time::Duration::minutes(5);
        if let Ok(guard) = cached.lock()
            && let Some((token, expires)) = guard.as_ref()
            && *expires > fresh_until
        {
            return Ok(token.clone());
        }
        let credential = credential.get_or_try_init(|| async { credential_from_env() }).await?;
        let token = credential.get_token(&[scope.as_str()], None).await.map_err(ArmError::Credential)?;
        let value = token.token.secret().to_owned();
        if let Ok(mut guard) = cached.lock() {
            *guard = Some((value.clone(), token.expires_on));
        }
        Ok(value)
    }
}

/// The credential chain, picked by what the environment configures: a service principal's
/// client secret, then workload identity (a federated token file, as on AKS or GitHub OIDC),
/// then the developer tools (Azure CLI, then Azure Developer CLI). azure_identity 1.0 has no
/// environment or default chain of its own, so this is that chain, without managed identity
/// (whose IMDS probe would stall every run off Azure). Remote state on Azure Blob Storage
/// signs with it too.
pub fn credential_from_env() -> ArmResult<Arc<dyn TokenCredential>> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let (Some(tenant), Some(client), Some(secret)) =
        (var("AZURE_TENANT_ID"), var("AZURE_CLIENT_ID"), var("AZURE_CLIENT_SECRET"))
    {
        let credential = azure_identity::ClientSecretCredential::new(&tenant, client, Secret::new(secret), None);
        return Ok(credential.map_err(ArmError::Credential)?);
    }
    if var("AZURE_FEDERATED_TOKEN_FILE").is_some() {
        return Ok(azure_identity::WorkloadIdentityCredential::new(None).map_err(ArmError::Credential)?);
    }
    Ok(azure_identity::DeveloperToolsCredential::new(None).map_err(ArmError::Credential)?)
}

/// Error statuses become errors; 2xx pass.
fn check(method: Method, resource: &str, response: ArmResponse) -> ArmResult<ArmResponse> {
    if (200..300).contains(&response.status) {
        return Ok(response);
    }
    let (code, message) = parse_error(response.status, &response.body);
    Err(ArmError::Api {
        action: method.to_string(),
        resource: resource.to_owned(),
        status: response.status,
        code,
        message,
        retry_after: response.retry_after,
    })
}

/// Worth retrying inside the client: the server failed or never answered.
pub fn is_transient(error: &ArmError) -> bool {
    match error {
        ArmError::Api { status, .. } => *status >= 500,
        ArmError::Transport { .. } => true,
        _ => false,
    }
}
