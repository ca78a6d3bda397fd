//! The cloud controller's load balancers: a Service of type LoadBalancer gets its address after
//! the time the cloud takes to make one. EKS answers with a DNS name (an ELB's, `internal-…`
//! for an internal one; the region in it is always `us-east-1`, as the fake knows no cluster's
//! region), which the fake's DNS server (`dns.rs`) resolves, while a Service still has it, to
//! one address per zone the load balancer spans: an EKS cluster has three zones, each with a
//! /18 at `10.<100 + n>.<64·zone>.0` for the n-th cluster (internal) or `52.<n>.<64·zone>.0`
//! (internet-facing). AKS answers with an IP: from the node subnet (`10.224.0.0/16`, AKS's
//! default) when annotated internal, else a public one (`20.<n>.0.0/16` for the n-th
//! cluster). Addresses are the lowest free ones (on AWS past the four each subnet keeps).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Duration;

use serde_json::{Value, json};

use super::{Controller, Plan, Write, list, merge};
use crate::kube::Flavor;
use crate::kube::server::State;
use crate::kube::store::ObjectKey;

/// What an AKS load-balancer rule or an AWS load balancer takes to come up.
const PROVISION: Duration = Duration::from_secs(30);
/// The zones an EKS cluster's load balancers span, and the size of each zone's subnet.
const ZONES: u8 = 3;
const SUBNET_SIZE: u32 = 1 << 14;
/// What an AWS subnet keeps for itself: its first four addresses and its last.
const RESERVED: (u32, u32) = (4, 1);

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
        let mut writes = Vec::new();
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
                let host = format!("{name}.us-east-1.elb.amazonaws.com");
                let addresses = allocate(state, subnets(c.index, internal))?;
                writes.push(Write::LoadBalancer { host: host.clone(), addresses });
                json!({ "hostname": host })
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
        writes.push(merge(cluster, at, json!({ "status": { "loadBalancer": { "ingress": [ingress] } } })));
        Some((PROVISION, writes))
    }
}

/// The addresses the cloud's DNS gives `host`: an EKS load balancer's, while a Service still
/// has that host name (the load balancer goes with its Service).
pub(in crate::kube) fn resolve(state: &State, host: &str) -> Option<Vec<Ipv4Addr>> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let has_host = |service: &Value| {
        let ingress = service["status"]["loadBalancer"]["ingress"].as_array();
        ingress.is_some_and(|i| i.iter().any(|i| i["hostname"] == host.as_str()))
    };
    let in_use = state.clusters.keys().any(|c| list(state, c, "", "services", None).iter().any(|(_, s)| has_host(s)));
    state.load_balancers.get(&host).filter(|_| in_use).cloned()
}

/// Gives load balancer `host` other addresses in the same subnets, as AWS may; returns them.
pub(in crate::kube) fn move_load_balancer(state: &mut State, host: &str) -> Option<Vec<Ipv4Addr>> {
    let current = resolve(state, host)?;
    let moved = allocate(state, current.iter().map(|a| Ipv4Addr::from(u32::from(*a) & !(SUBNET_SIZE - 1))))?;
    state.load_balancers.insert(host.to_ascii_lowercase(), moved.clone());
    Some(moved)
}

/// The first address of each zone's subnet for the load balancers of the `index`-th cluster.
fn subnets(index: usize, internal: bool) -> impl Iterator<Item = Ipv4Addr> {
    let (a, b) = if internal { (10, 100 + index % 100) } else { (52, index % 256) };
    (0..ZONES).map(move |zone| Ipv4Addr::new(a, b as u8, 64 * zone, 0))
}

/// In each subnet, the lowest address no load balancer has; `None` when one is full.
fn allocate(state: &State, subnets: impl Iterator<Item = Ipv4Addr>) -> Option<Vec<Ipv4Addr>> {
    let used: BTreeSet<Ipv4Addr> = state.load_balancers.values().flatten().copied().collect();
    let free = |base: Ipv4Addr| {
        (RESERVED.0..SUBNET_SIZE - RESERVED.1).map(|n| Ipv4Addr::from(u32::from(base) + n)).find(|a| !used.contains(a))
    };
    subnets.map(free).collect()
}
