//! Where the clusters' APIs are, how long waits may take, and which DNS server resolves their
//! load balancers' names, from the environment.

use std::time::Duration;

/// How the provider reaches clusters and how patient it is.
#[derive(Clone)]
pub struct KubeSettings {
    /// `RINGFORM_KUBE_ENDPOINT`: when set, cluster `NAME`'s API is `<endpoint>/NAME`, reached
    /// with [`token`](Self::token) instead of the cloud's credentials (tests, private setups).
    pub endpoint: Option<String>,
    /// `RINGFORM_KUBE_TOKEN`: the bearer token for `endpoint`. Never shown.
    pub token: Option<String>,
    /// `RINGFORM_KUBE_WAIT_SCALE`: multiplies every wait's timeout (tests shorten them).
    pub wait_scale: f64,
    /// `RINGFORM_KUBE_DNS_SERVER` (`IP:PORT`): the DNS server that resolves AWS load balancers'
    /// host names instead of the system's resolver (the VPC's, in private setups; the fake's in
    /// tests).
    pub dns_server: Option<String>,
}

impl Default for KubeSettings {
    fn default() -> KubeSettings {
        KubeSettings { endpoint: None, token: None, wait_scale: 1.0, dns_server: None }
    }
}

impl std::fmt::Debug for KubeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeSettings")
            .field("endpoint", &self.endpoint)
            .field("token", &self.token.as_ref().map(|_| "(secret)"))
            .field("wait_scale", &self.wait_scale)
            .field("dns_server", &self.dns_server)
            .finish()
    }
}

impl KubeSettings {
    pub fn from_env() -> KubeSettings {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        KubeSettings {
            endpoint: var("RINGFORM_KUBE_ENDPOINT").map(|e| e.trim_end_matches('/').to_owned()),
            token: var("RINGFORM_KUBE_TOKEN"),
            wait_scale: var("RINGFORM_KUBE_WAIT_SCALE")
                .and_then(|s| s.parse().ok())
                .filter(|s: &f64| *s > 0.0)
                .unwrap_or(1.0),
            dns_server: var(crate::dns::VARIABLE),
        }
    }

    /// A wait that takes up to `real` in a real cluster, as long as these settings allow.
    pub fn timeout(&self, real: Duration) -> Duration {
        real.mul_f64(self.wait_scale)
    }
}
