//! How the provider reaches ARM: endpoint, credentials, subscription and polling limits, from
//! the environment or set by tests.

use std::time::Duration;

/// Where ARM is and how to authenticate; everything here is read once, credentials are only
/// created on the first call.
#[derive(Clone, Debug, PartialEq)]
pub struct AzureSettings {
    /// Base URL of ARM (`RINGFORM_ARM_ENDPOINT`), without a trailing slash.
    pub endpoint: String,
    /// A static bearer token (`RINGFORM_ARM_TOKEN`); when set azure_identity is never used.
    pub token: Option<String>,
    /// The OAuth scope tokens are requested for (`RINGFORM_ARM_SCOPE`).
    pub token_scope: String,
    /// Used when a resource's `subscription` input is null (`AZURE_SUBSCRIPTION_ID`).
    pub default_subscription: Option<String>,
    pub arm: ArmSettings,
}

/// Polling and retry limits of the ARM client.
#[derive(Clone, Debug, PartialEq)]
pub struct ArmSettings {
    /// Wait between polls when ARM sends no `Retry-After`, and the least wait when it does
    /// (`RINGFORM_ARM_POLL_MS`).
    pub poll_interval: Duration,
    /// The longest wait between polls, whatever `Retry-After` says.
    pub max_poll_interval: Duration,
    /// Attempts of an idempotent request that meets a 5xx or a connection error.
    pub attempts: u32,
    /// First backoff between those attempts; doubles each time.
    pub retry_delay: Duration,
    /// How long a virtual network gateway (or connection) may take to provision.
    pub max_wait_gateway: Duration,
    /// How long an AKS cluster may take.
    pub max_wait_aks: Duration,
    /// How long anything else may take.
    pub max_wait: Duration,
}

impl Default for ArmSettings {
    fn default() -> Self {
        ArmSettings {
            poll_interval: Duration::from_secs(5),
            max_poll_interval: Duration::from_secs(60),
            attempts: 3,
            retry_delay: Duration::from_secs(2),
            max_wait_gateway: Duration::from_secs(60 * 60),
            max_wait_aks: Duration::from_secs(30 * 60),
            max_wait: Duration::from_secs(10 * 60),
        }
    }
}

pub const DEFAULT_ENDPOINT: &str = "https://management.azure.com";
pub const DEFAULT_SCOPE: &str = "https://management.azure.com/.default";

impl Default for AzureSettings {
    fn default() -> Self {
        AzureSettings {
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            token: None,
            token_scope: DEFAULT_SCOPE.to_owned(),
            default_subscription: None,
            arm: ArmSettings::default(),
        }
    }
}

impl AzureSettings {
    /// Settings from `RINGFORM_ARM_ENDPOINT`, `RINGFORM_ARM_TOKEN`, `RINGFORM_ARM_SCOPE`,
    /// `RINGFORM_ARM_POLL_MS` and `AZURE_SUBSCRIPTION_ID`; unset or empty means the default.
    pub fn from_env() -> AzureSettings {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> AzureSettings {
        let var = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let mut settings = AzureSettings::default();
        if let Some(endpoint) = var("RINGFORM_ARM_ENDPOINT") {
            settings.endpoint = endpoint.trim_end_matches('/').to_owned();
        }
        settings.token = var("RINGFORM_ARM_TOKEN");
        if let Some(scope) = var("RINGFORM_ARM_SCOPE") {
            settings.token_scope = scope;
        }
        settings.default_subscription = var("AZURE_SUBSCRIPTION_ID");
        if let Some(ms) = var("RINGFORM_ARM_POLL_MS").and_then(|v| v.parse::<u64>().ok()) {
            // Tests shorten polling; keep the ceiling at least the floor.
            settings.arm.poll_interval = Duration::from_millis(ms);
            settings.arm.max_poll_interval = settings.arm.max_poll_interval.max(settings.arm.poll_interval);
            settings.arm.retry_delay = Duration::from_millis(ms);
        }
        settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_overrides_and_ignores_empty_values() {
        let env = |name: &str| match name {
            "RINGFORM_ARM_ENDPOINT" => Some("http://127.0.0.1:9/".to_owned()),
            "RINGFORM_ARM_TOKEN" => Some("t".to_owned()),
            "RINGFORM_ARM_POLL_MS" => Some("20".to_owned()),
            "AZURE_SUBSCRIPTION_ID" => Some(" ".to_owned()),
            _ => None,
        };
        let settings = AzureSettings::from_lookup(env);
        assert_eq!(settings.endpoint, "http://127.0.0.1:9");
        assert_eq!(settings.token.as_deref(), Some("t"));
        assert_eq!(settings.default_subscription, None);
        assert_eq!(settings.arm.poll_interval, Duration::from_millis(20));
        assert_eq!(settings.token_scope, DEFAULT_SCOPE);
    }
}
