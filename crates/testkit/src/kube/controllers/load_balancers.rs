//! The cloud controller's load balancers: a Service of type LoadBalancer gets its address after
//! the time the cloud takes to make one. EKS answers with a DNS name (an ELB's, `internal-…`
//! for an internal one; the region in it is always `us-east-1`); AKS with an IP: from the
//! node subnet (`10.224.0.0/16`, AKS's default) when annotated internal, else a public one
//! (`20.<n>.0.0/16` for the n-th cluster). Addresses are the lowest free ones.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};

use super::{Controller, Plan, list, merge};
use crate::kube::Flavor;
use crate::kube::server::State;
use crate::kube::store::ObjectKey;

/// What an AKS load-balancer rule or an AWS load balancer takes to come up.
const PROVISION: Duration = Duration::from_secs(30);

pub(in crate::kube) struct LoadBalancers;

impl Controller for LoadBalancers {
    fn watches(&self, key: &ObjectKey) -> bool {
        key.group.is_empty() && key.plural == "services"
    }

    fn plan(&self, state: &State, cluster: &str, at: &ObjectKey, object: &Value) -> Plan {
        let has_address = object["status"]["loadBalancer"]["ingress"].as_array().is_some_and(|i| !i.is_empty());
        if object["spec"]["type"] != "LoadBalancer" || has_address || super::deleting(object) {
            return None;
        }
        let c = state.clusters.get(cluster)?;
        let annotations = &object["metadata"]["annotations"];
        let ingress = match c.flavor {
            Flavor::Eks => {
                let internal = annotations["service.beta.kubernetes.io/aws-load-balancer-internal"] == "true"
                    || annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internal";
                let uid = object["metadata"]["uid"].as_str().unwrap_or_default().replace('-', "");
                let name = format!(
                    "{}a{}-{}",
                    if internal { "internal-" } else { "" },
                    &uid[..uid.len().min(32)],
                    c.index + 1_000_000_000
                );
                json!({ "hostname": format!("{name}.us-east-1.elb.amazonaws.com") })
            }
            Flavor::Aks => {
                let internal = annotations["service.beta.kubernetes.io/azure-load-balancer-internal"] == "true";
                let used: BTreeSet<String> = list(state, cluster, "", "services", None)
                    .into_iter()
                    .flat_map(|(_, s)| s["status"]["loadBalancer"]["ingress"].as_array().cloned().unwrap_or_default())
                    .filter_map(|i| i["ip"].as_str().map(str::to_string))
                    .collect();
                let prefix = if internal { "10.224".to_string() } else { format!("20.{}", c.index % 256) };
                let ip = (4..65_534u32)
                    .map(|n| format!("{prefix}.{}.{}", n / 256, n % 256))
                    .find(|ip| !used.contains(ip))?;
                json!({ "ip": ip, "ipMode": "VIP" })
            }
        };
        Some((PROVISION, vec![merge(cluster, at, json!({ "status": { "loadBalancer": { "ingress": [ingress] } } }))]))
    }
}
