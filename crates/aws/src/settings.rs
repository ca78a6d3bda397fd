//! How long the provider waits for AWS, how often it looks, and where it sends requests.

use std::time::Duration;

/// Tuning for [`crate::AwsProvider`]. [`Default`] fits real AWS; tests shorten the waits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsSettings {
    /// Attempts per API call inside the SDK (1 = no SDK retry). The engine already retries
    /// retryable and throttled failures with backoff and lowers the rate per region on
    /// throttling, so SDK retries only smooth over single dropped connections.
    pub max_attempts: u32,
    /// Pause between two looks at an object that is still changing state.
    pub poll_interval: Duration,
    /// EKS control planes typically take 10–15 minutes to become ACTIVE.
    pub eks_cluster_timeout: Duration,
    /// Managed node groups typically take 3–10 minutes, longer with many nodes.
    pub eks_node_group_timeout: Duration,
    /// EKS add-ons become ACTIVE within minutes once their pods run on the nodes; one that
    /// cannot schedule or lacks permissions stays DEGRADED.
    pub eks_addon_timeout: Duration,
    /// Cross-region VPC peering reaches pending-acceptance, then active, within a minute or two.
    pub peering_timeout: Duration,
    /// Transit gateways, their attachments and peerings take a few minutes each.
    pub transit_gateway_timeout: Duration,
    /// VPN gateways attach and VPN connections become available within ~10 minutes.
    pub vpn_timeout: Duration,
    /// How long a delete keeps retrying while AWS answers DependencyViolation (ENIs of a deleted
    /// EKS cluster or load balancer linger for minutes) before naming what is in the way.
    pub dependency_timeout: Duration,
    /// Send every request here instead of AWS (an emulator such as moto). `None` leaves it to
    /// aws-config, which honours `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>`.
    pub endpoint_url: Option<String>,
    /// Fixed credentials `(access key id, secret access key)`, for emulators; `None` uses
    /// aws-config's default chain (environment, profile, SSO, web identity, IMDS).
    pub static_credentials: Option<(String, String)>,
}

impl Default for AwsSettings {
    fn default() -> Self {
        let minutes = |m: u64| Duration::from_secs(60 * m);
        AwsSettings {
            max_attempts: 2,
            poll_interval: Duration::from_secs(10),
            eks_cluster_timeout: minutes(25),
            eks_node_group_timeout: minutes(25),
            eks_addon_timeout: minutes(15),
            peering_timeout: minutes(5),
            transit_gateway_timeout: minutes(15),
            vpn_timeout: minutes(20),
            dependency_timeout: minutes(5),
            endpoint_url: None,
            static_credentials: None,
        }
    }
}

impl AwsSettings {
    /// [`Default`] adjusted by the environment: `RINGFORM_AWS_POLL_MS` (poll interval in
    /// milliseconds), `RINGFORM_AWS_MAX_ATTEMPTS` and `RINGFORM_AWS_DEPENDENCY_TIMEOUT_SECS`.
    /// Unparsable values are ignored.
    pub fn from_env() -> AwsSettings {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> AwsSettings {
        let number = |name: &str| lookup(name).and_then(|v| v.trim().parse::<u64>().ok());
        let mut settings = AwsSettings::default();
        if let Some(ms) = number("RINGFORM_AWS_POLL_MS") {
            settings.poll_interval = Duration::from_millis(ms);
        }
        if let Some(attempts) = number("RINGFORM_AWS_MAX_ATTEMPTS").and_then(|n| u32::try_from(n).ok()) {
            settings.max_attempts = attempts.max(1);
        }
        if let Some(secs) = number("RINGFORM_AWS_DEPENDENCY_TIMEOUT_SECS") {
            settings.dependency_timeout = Duration::from_secs(secs);
        }
        settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_defaults() {
        let settings = AwsSettings::from_lookup(|name| match name {
            "RINGFORM_AWS_POLL_MS" => Some("5".into()),
            "RINGFORM_AWS_MAX_ATTEMPTS" => Some("0".into()),
            "RINGFORM_AWS_DEPENDENCY_TIMEOUT_SECS" => Some("nope".into()),
            _ => None,
        });
        assert_eq!(settings.poll_interval, Duration::from_millis(5));
        assert_eq!(settings.max_attempts, 1);
        assert_eq!(settings.dependency_timeout, AwsSettings::default().dependency_timeout);
    }
}
