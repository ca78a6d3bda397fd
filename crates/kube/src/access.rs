//! Reaching a cluster's API: from the cluster resources' outputs (an AKS kubeconfig from ARM;
//! an EKS endpoint and certificate authority, with a bearer token ringform makes, see
//! [`crate::eks`]), or, when `RINGFORM_KUBE_ENDPOINT` is set, at `<endpoint>/<cluster>` with
//! `RINGFORM_KUBE_TOKEN`.

use std::sync::Arc;

use kube::client::ClientBuilder;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use ringform_core::Inputs;
use ringform_core::provider::ProviderError;

use crate::eks::{BearerLayer, TokenSource};
use crate::error::KubeResult;
use crate::settings::KubeSettings;

/// How to reach one cluster.
pub enum Access {
    /// A URL and a bearer token.
    Endpoint { url: String, token: Option<String> },
    /// A whole kubeconfig, as ARM returns for AKS.
    Kubeconfig(String),
    /// An EKS cluster: its API endpoint and certificate authority (base64 of PEM, as
    /// DescribeCluster returns it), reached with a token ringform makes for `cluster_name` in
    /// `region`.
    Eks { region: String, cluster_name: String, endpoint: String, certificate_authority: String },
}

impl Access {
    /// How to reach `cluster`, whose `kubernetes` input `inputs` holds.
    pub fn of(settings: &KubeSettings, cluster: &str, inputs: &Inputs<'_>) -> KubeResult<Access> {
        if let Some(endpoint) = &settings.endpoint {
            return Ok(Access::Endpoint { url: format!("{endpoint}/{cluster}"), token: settings.token.clone() });
        }
        let access = inputs.map("kubernetes")?;
        Ok(match access.str("provider")? {
            "azure" => Access::Kubeconfig(access.secret_str("kubeconfig")?.to_owned()),
            _ => Access::Eks {
                region: access.str("region")?.to_owned(),
                cluster_name: access.str("eks_cluster_name")?.to_owned(),
                endpoint: access.str("endpoint")?.to_owned(),
                certificate_authority: access.str("certificate_authority")?.to_owned(),
            },
        })
    }

    /// The API server's URL and, when it has its own, the base64 PEM of the CA that signed its
    /// certificate: what a kubeconfig for another party (the k8ssandra control plane) names.
    pub fn server(&self, cluster: &str) -> KubeResult<(String, Option<String>)> {
        match self {
            Access::Endpoint { url, .. } => Ok((url.clone(), None)),
            Access::Eks { endpoint, certificate_authority, .. } => {
                Ok((endpoint.clone(), Some(certificate_authority.clone())))
            }
            Access::Kubeconfig(text) => {
                let unusable = || {
                    ProviderError::fatal(format!(
                        "cluster {cluster}: the kubeconfig its cloud returned names no server"
                    ))
                };
                let kubeconfig = Kubeconfig::from_yaml(text).map_err(|e| unusable().with_source(e))?;
                let current = kubeconfig.current_context.as_deref();
                let context = kubeconfig
                    .contexts
                    .iter()
                    .find(|c| Some(c.name.as_str()) == current)
                    .and_then(|c| c.context.as_ref());
                let named = context.map(|c| c.cluster.as_str());
                let entry = kubeconfig
                    .clusters
                    .iter()
                    .find(|c| named.is_none_or(|n| c.name == n))
                    .and_then(|c| c.cluster.as_ref());
                let entry = entry.ok_or_else(unusable)?;
                let server = entry.server.clone().ok_or_else(unusable)?;
                Ok((server, entry.certificate_authority_data.clone()))
            }
        }
    }

    /// A client for the cluster. Built once per cluster and shared by every call.
    pub async fn client(&self, cluster: &str) -> KubeResult<Client> {
        choose_tls();
        let mut config = match self {
            Access::Endpoint { url, token } => {
                let uri = url.parse().map_err(|e| {
                    ProviderError::fatal(format!("cluster {cluster}: `{url}` is not a URL")).with_source(e)
                })?;
                let mut config = Config::new(uri);
                config.auth_info.token = token.clone().map(Into::into);
                config
            }
            Access::Kubeconfig(text) => {
                let kubeconfig = Kubeconfig::from_yaml(text).map_err(|e| {
                    ProviderError::fatal(format!("cluster {cluster}: the kubeconfig its cloud returned does not parse"))
                        .with_source(e)
                })?;
                Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.map_err(|e| {
                    ProviderError::fatal(format!("cluster {cluster}: the kubeconfig its cloud returned is not usable"))
                        .with_source(e)
                })?
            }
            Access::Eks { region, cluster_name, .. } => {
                let tokens = TokenSource::from_default_chain(region, cluster_name).await?;
                return self.eks_client(cluster, Arc::new(tokens)).await;
            }
        };
        // The engine retries with its own backoff and rate limits, and must see throttling.
        config.default_retry = false;
        Client::try_from(config).map_err(|e| {
            ProviderError::fatal(format!("cluster {cluster}: cannot build a client for its API")).with_source(e)
        })
    }

    /// A client for an [`Access::Eks`] cluster that trusts only its certificate authority and
    /// sends a token from `tokens` with every request (renewed as it ages, so one client serves
    /// a run of any length). The first token is made here, so missing AWS credentials fail
    /// now, with a hint, rather than as the first request's error.
    pub async fn eks_client(&self, cluster: &str, tokens: Arc<TokenSource>) -> KubeResult<Client> {
        choose_tls();
        let Access::Eks { cluster_name, endpoint, certificate_authority, .. } = self else {
            return Err(ProviderError::fatal(format!("cluster {cluster}: is not an EKS cluster")));
        };
        let uri = endpoint.parse().map_err(|e| {
            ProviderError::fatal(format!(
                "cluster {cluster}: EKS cluster {cluster_name}'s endpoint `{endpoint}` is not a URL"
            ))
            .with_source(e)
        })?;
        let mut config = Config::new(uri);
        let roots = crate::eks::root_certificates(certificate_authority).map_err(|why| {
            ProviderError::fatal(format!(
                "cluster {cluster}: EKS cluster {cluster_name}'s certificate_authority cannot be used: {why}"
            ))
        })?;
        config.root_cert = Some(roots);
        // The engine retries with its own backoff and rate limits, and must see throttling.
        config.default_retry = false;
        tokens.authorization().await?;
        let builder = ClientBuilder::try_from(config).map_err(|e| {
            ProviderError::fatal(format!(
                "cluster {cluster}: cannot build a client for EKS cluster {cluster_name} (is its certificate_authority a CA certificate?)"
            ))
            .with_source(e)
        })?;
        Ok(builder.with_layer(&BearerLayer::new(tokens)).build())
    }
}

/// Makes ring the process's TLS provider unless one is chosen already: with two linked (ring and
/// the AWS SDK's aws-lc-rs), rustls will not pick one and kube's client would panic.
fn choose_tls() {
    static CHOSEN: std::sync::Once = std::sync::Once::new();
    CHOSEN.call_once(|| {
        // An error means another part of the process chose first; that choice stands.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
