//! Nodes, as a cloud makes them for a node pool ([`FakeKube::add_node_pool`]) and takes them
//! away with it ([`FakeKube::remove_node_pool`]). A cluster starts with none; once it has one,
//! Pods are scheduled onto them (`controllers/scheduler.rs`).
//!
//! Names and labels are the clouds' own. An EKS managed node group's nodes are named after
//! their private address, `ip-10-100-0-10.eu-west-1.compute.internal` (`ec2.internal` in
//! us-east-1), and labelled `eks.amazonaws.com/nodegroup: <pool>` and
//! `eks.amazonaws.com/capacityType: ON_DEMAND`; an AKS node pool's are its scale set's
//! instances, `aks-<pool>-<8 digits>-vmss00000<n>` (the index in base 36), labelled
//! `kubernetes.azure.com/agentpool` and `agentpool: <pool>`, their zones named
//! `<region>-<n>` (`eastus2-1`). Both carry `kubernetes.io/hostname` (the node's name),
//! `kubernetes.io/os`, `kubernetes.io/arch`, `node.kubernetes.io/instance-type`,
//! `topology.kubernetes.io/zone` and `topology.kubernetes.io/region` (the zone without its
//! last letter on AWS, without its `-<n>` on Azure). A node is Ready (`KubeletReady`) with an
//! `InternalIP` from `10.<100 + n>.0.0/16` for the n-th cluster made, and `Hostname` addresses.
//!
//! Removing a pool works as deleting an EKS node group or an AKS node pool does, with the
//! drain cut short: the Pods on its nodes are deleted, as the forced termination after the
//! drain timeout (five minutes on EKS) would, then the Nodes go. Simplified: no capacity or
//! allocatable resources, no taints, no `providerID`, and no node lifecycle controller (a
//! Node stays Ready until a client says otherwise).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::Flavor;
use super::controllers::{digest, key as object_key};
use super::handlers::mark_deleted;
use super::server::State;
use super::store::{Cluster, ObjectKey, now};

pub(super) const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
const REGION_LABEL: &str = "topology.kubernetes.io/region";
const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";
const INSTANCE_TYPE_LABEL: &str = "node.kubernetes.io/instance-type";
const EKS_POOL_LABEL: &str = "eks.amazonaws.com/nodegroup";
const AKS_POOL_LABEL: &str = "kubernetes.azure.com/agentpool";

/// The label naming a node's pool on clusters of `flavor`.
fn pool_label(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Eks => EKS_POOL_LABEL,
        Flavor::Aks => AKS_POOL_LABEL,
    }
}

pub(super) fn key(name: &str) -> ObjectKey {
    object_key("", "nodes", "", name)
}

/// The Nodes of a cluster of the server.
pub(super) fn of<'s>(state: &'s State, cluster: &str) -> Vec<&'s Value> {
    state.clusters.get(cluster).map(|c| c.list("", "nodes", None).map(|(_, n)| n).collect()).unwrap_or_default()
}

pub(super) fn name(node: &Value) -> &str {
    node["metadata"]["name"].as_str().unwrap_or_default()
}

pub(super) fn ready(node: &Value) -> bool {
    super::controllers::has_condition(node, "Ready")
}

/// Cordoned: `spec.unschedulable`, what `kubectl cordon` sets.
pub(super) fn cordoned(node: &Value) -> bool {
    node["spec"]["unschedulable"] == true
}

/// The Nodes a cloud adds to `c` for pool `pool`: `count` of `instance_type` in each zone.
pub(super) fn pool(c: &Cluster, pool: &str, instance_type: &str, zones: &[(&str, usize)]) -> Vec<(ObjectKey, Value)> {
    let mut addresses = free_addresses(c);
    let mut taken: BTreeSet<String> = c.list("", "nodes", None).map(|(k, _)| k.name.clone()).collect();
    let mut made = Vec::new();
    for &(zone, count) in zones {
        for _ in 0..count {
            let address = addresses.next().unwrap_or_default();
            let name = match c.flavor {
                Flavor::Eks => eks_name(&address, zone),
                Flavor::Aks => aks_name(&taken, c.index, pool),
            };
            taken.insert(name.clone());
            made.push((key(&name), node(c.flavor, &name, &address, (pool, instance_type, zone))));
        }
    }
    made
}

/// What a cloud does when a pool goes: its nodes' Pods are deleted, then the nodes. Returns
/// the names of the nodes removed.
pub(super) fn remove_pool(c: &mut Cluster, pool: &str) -> Vec<String> {
    let label = pool_label(c.flavor);
    let members: Vec<String> = c
        .list("", "nodes", None)
        .filter(|(_, n)| n["metadata"]["labels"][label] == pool)
        .map(|(k, _)| k.name.clone())
        .collect();
    for member in &members {
        let running: Vec<(ObjectKey, Value)> = c
            .list("", "pods", None)
            .filter(|(_, p)| p["spec"]["nodeName"] == member.as_str())
            .map(|(k, p)| (k.clone(), p.clone()))
            .collect();
        for (pod, object) in running {
            mark_deleted(c, pod, object);
        }
        c.remove(&key(member));
    }
    members
}

fn node(flavor: Flavor, name: &str, address: &str, (pool, instance_type, zone): (&str, &str, &str)) -> Value {
    let mut labels = json!({
        HOSTNAME_LABEL: name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        INSTANCE_TYPE_LABEL: instance_type,
        ZONE_LABEL: zone,
        REGION_LABEL: region(flavor, zone),
        pool_label(flavor): pool,
    });
    match flavor {
        Flavor::Eks => labels["eks.amazonaws.com/capacityType"] = "ON_DEMAND".into(),
        Flavor::Aks => labels["agentpool"] = pool.into(),
    }
    let ready = json!({ "type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
                        "lastHeartbeatTime": now(), "lastTransitionTime": now() });
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": { "name": name, "labels": labels },
        "spec": {},
        "status": {
            "conditions": [ready],
            "addresses": [{ "type": "InternalIP", "address": address }, { "type": "Hostname", "address": name }],
            "nodeInfo": { "kubeletVersion": "v1.33.0", "operatingSystem": "linux", "architecture": "amd64" },
        },
    })
}

/// `eu-west-1a` → `eu-west-1`; `eastus2-1` → `eastus2`.
fn region(flavor: Flavor, zone: &str) -> &str {
    match flavor {
        Flavor::Eks => zone.trim_end_matches(|c: char| c.is_ascii_lowercase()),
        Flavor::Aks => zone.rsplit_once('-').map_or(zone, |(region, _)| region),
    }
}

/// `ip-10-100-0-10.eu-west-1.compute.internal`, or `….ec2.internal` in us-east-1.
fn eks_name(address: &str, zone: &str) -> String {
    let domain = match region(Flavor::Eks, zone) {
        "us-east-1" => "ec2.internal".to_string(),
        other => format!("{other}.compute.internal"),
    };
    format!("ip-{}.{domain}", address.replace('.', "-"))
}

/// `aks-<pool>-<8 digits>-vmss<index>`: the lowest scale-set index no node of the pool has.
fn aks_name(taken: &BTreeSet<String>, cluster_index: usize, pool: &str) -> String {
    let hash = u64::from_str_radix(&digest(&json!([cluster_index, pool]))[..8], 16).unwrap_or_default() % 100_000_000;
    (0u32..)
        .map(|i| format!("aks-{pool}-{hash:08}-vmss{}", base36(i)))
        .find(|name| !taken.contains(name))
        .unwrap_or_default()
}

/// A scale set instance's index as AKS names it: six base-36 digits.
fn base36(mut n: u32) -> String {
    let mut digits = [b'0'; 6];
    for digit in digits.iter_mut().rev() {
        *digit = b"0123456789abcdefghijklmnopqrstuvwxyz"[(n % 36) as usize];
        n /= 36;
    }
    String::from_utf8_lossy(&digits).into_owned()
}

/// The addresses of the cluster's node range no Node has, lowest first.
fn free_addresses(c: &Cluster) -> impl Iterator<Item = String> {
    let used: BTreeSet<String> = c
        .list("", "nodes", None)
        .flat_map(|(_, n)| n["status"]["addresses"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a["address"].as_str().map(str::to_string))
        .collect();
    let second = 100 + c.index % 100;
    (10..65_534u32).map(move |n| format!("10.{second}.{}.{}", n / 256, n % 256)).filter(move |ip| !used.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::{base36, eks_name, region};
    use crate::kube::Flavor;

    #[test]
    fn nodes_are_named_as_the_clouds_name_them() {
        assert_eq!(eks_name("10.100.0.10", "eu-west-1a"), "ip-10-100-0-10.eu-west-1.compute.internal");
        assert_eq!(eks_name("10.100.1.2", "us-east-1c"), "ip-10-100-1-2.ec2.internal");
        assert_eq!((base36(0), base36(10), base36(36)), ("000000".into(), "00000a".into(), "000010".into()));
        assert_eq!((region(Flavor::Eks, "eu-west-1a"), region(Flavor::Aks, "eastus2-3")), ("eu-west-1", "eastus2"));
    }
}
