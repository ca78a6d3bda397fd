//! kube-scheduler (v1.33, its default plugins), in a cluster that has Nodes: a Pod without
//! `spec.nodeName` is bound to a node that passes every filter, in the default plugins' order,
//! a node failing at the first: NodeUnschedulable (cordoned: "node(s) were unschedulable"),
//! TaintToleration (only the `node.kubernetes.io/not-ready` taint of a node that is not Ready),
//! NodeAffinity (`spec.nodeSelector` and the required node affinity terms: "node(s) didn't
//! match Pod's node affinity/selector"), VolumeBinding (a bound claim's PersistentVolume
//! `nodeAffinity`: "node(s) had volume node affinity conflict"), and InterPodAffinity (required
//! pod anti-affinity, the Pod's own — "node(s) didn't match pod anti-affinity rules" — and
//! that of the Pods already there — "node(s) didn't satisfy existing pods anti-affinity
//! rules"; a term's namespaces default to its Pod's). Among the nodes that pass it picks the
//! one running fewest Pods (then by name), where the real one scores.
//!
//! Bound, a Pod gets `spec.nodeName` and the condition `PodScheduled` True. A Pod with a
//! `WaitForFirstConsumer` claim not bound yet is not bound at once: the claim is annotated
//! `volume.kubernetes.io/selected-node` with the chosen node (the Pod is assumed there
//! meanwhile), its disk is made in that node's zone (see `storage.rs`), and the Pod is bound
//! once the claim is. With no node passing, the Pod stays Pending with `PodScheduled` False,
//! reason `Unschedulable`, and the message the real scheduler writes: every node's first
//! failure counted (`FitError`), then what preemption found — nothing, since the fake's Pods
//! all have the same priority: "No preemption victims found for incoming pod" on the nodes
//! that failed only pod anti-affinity, "Preemption is not helpful for scheduling" on the
//! others — as in `0/3 nodes are available: 3 node(s) were unschedulable. preemption: 0/3
//! nodes are available: 3 Preemption is not helpful for scheduling.` (pkg/scheduler/framework
//! `FitError.Error`, plugins/defaultpreemption; releases before v1.30 ended it with `..`, and
//! with dynamic resource allocation on, as from v1.34, `no new claims to deallocate, ` comes
//! before `preemption:`). It tries again whenever anything changes.
//!
//! In a cluster without Nodes nothing is scheduled and Pods run anyway, as the fake always let
//! them. Simplified: resources, ports, taints, tolerations, topology spread, pod affinity,
//! `namespaceSelector`s and priorities are not read; a Pod whose claim does not exist or waits
//! for an `Immediate` binding is left alone until the claim is bound (the real scheduler says
//! so in its condition).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::storage::{SELECTED_NODE, class, waits_for_consumer};
use super::{Controller, Plan, Write, deleting, get, key, list, merge, set_condition};
use crate::kube::nodes::{self, cordoned, ready};
use crate::kube::selectors::{label_selector_matches, node_selector_term_matches};
use crate::kube::server::State;
use crate::kube::store::{ObjectKey, now};

/// From a Pod's creation to its binding.
const BIND: Duration = Duration::from_secs(1);

const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
const NO_VICTIMS: &str = "No preemption victims found for incoming pod";

pub(in crate::kube) struct Scheduler;

impl Controller for Scheduler {
    fn watches(&self, key: &ObjectKey) -> bool {
        key.group.is_empty() && key.plural == "pods"
    }

    fn plan(&self, state: &State, cluster: &str, at: &ObjectKey, pod: &Value) -> Plan {
        let all = nodes::of(state, cluster);
        // A Pod that runs already (it did before the cluster had Nodes) stays where it is.
        let pending = pod["status"]["phase"].as_str().is_none_or(|phase| phase == "Pending");
        if all.is_empty() || deleting(pod) || pod["spec"]["nodeName"].is_string() || !pending {
            return None;
        }
        let volumes = Volumes::of(state, cluster, at, pod)?;
        let placed = placed(state, cluster, at);
        let verdicts: Vec<(&Value, Option<Failure>)> =
            all.iter().map(|node| (*node, filter(pod, &at.namespace, node, &volumes.bound, &placed))).collect();
        let fitting = verdicts.iter().filter(|(_, failure)| failure.is_none()).map(|(node, _)| *node);
        let chosen = fitting
            .min_by_key(|node| (placed.iter().filter(|p| p.node == nodes::name(node)).count(), nodes::name(node)));
        let writes = match chosen {
            Some(node) if !volumes.waiting.is_empty() => select(cluster, &volumes.waiting, nodes::name(node)),
            Some(node) => vec![merge(cluster, at, bind(pod, nodes::name(node)))],
            None => {
                let failures: Vec<Failure> = verdicts.into_iter().filter_map(|(_, failure)| failure).collect();
                vec![merge(cluster, at, unschedulable(pod, &failures))]
            }
        };
        Some((BIND, writes))
    }
}

/// Why a node does not fit a Pod: the first failing filter's reason, and whether evicting
/// Pods of lower priority could make room (a failure the plugin calls `Unschedulable`, not
/// `UnschedulableAndUnresolvable`).
#[derive(Clone, Copy)]
struct Failure {
    reason: &'static str,
    preemption_might_help: bool,
}

const fn unresolvable(reason: &'static str) -> Failure {
    Failure { reason, preemption_might_help: false }
}

/// The Pod's claims as the VolumeBinding plugin sorts them.
struct Volumes<'s> {
    /// The PersistentVolumes of its bound claims.
    bound: Vec<&'s Value>,
    /// Its `WaitForFirstConsumer` claims not bound yet, for which a node is to be selected.
    waiting: Vec<ObjectKey>,
}

impl<'s> Volumes<'s> {
    /// `None` while a claim is missing, waits for an `Immediate` binding, or is being
    /// provisioned for the node selected.
    fn of(state: &'s State, cluster: &str, at: &ObjectKey, pod: &Value) -> Option<Volumes<'s>> {
        let mut volumes = Volumes { bound: Vec::new(), waiting: Vec::new() };
        for name in claim_names(pod) {
            let claim_key = key("", "persistentvolumeclaims", &at.namespace, name);
            let claim = get(state, cluster, &claim_key)?;
            if claim["status"]["phase"] == "Bound" {
                let volume = claim["spec"]["volumeName"].as_str().unwrap_or_default();
                volumes.bound.extend(get(state, cluster, &key("", "persistentvolumes", "", volume)));
            } else if claim["metadata"]["annotations"][SELECTED_NODE].is_null()
                && waits_for_consumer(class(state, cluster, claim)?)
            {
                volumes.waiting.push(claim_key);
            } else {
                return None;
            }
        }
        Some(volumes)
    }
}

fn claim_names(pod: &Value) -> impl Iterator<Item = &str> {
    let volumes = pod["spec"]["volumes"].as_array().into_iter().flatten();
    volumes.filter_map(|v| v["persistentVolumeClaim"]["claimName"].as_str())
}

/// A Pod on a node, bound or assumed.
struct Placed<'s> {
    node: String,
    namespace: &'s str,
    pod: &'s Value,
    /// Its node's labels (null when the node is gone).
    node_labels: &'s Value,
}

impl<'s> Placed<'s> {
    fn side(&self) -> Side<'s> {
        (self.pod, self.namespace, self.node_labels)
    }
}

/// A Pod, its namespace and the labels of the node it is (or would be) on.
type Side<'s> = (&'s Value, &'s str, &'s Value);

static NO_LABELS: Value = Value::Null;

/// Every other Pod of the cluster on a node: bound to it, or assumed there while the claim
/// the scheduler selected it for is provisioned.
fn placed<'s>(state: &'s State, cluster: &str, me: &ObjectKey) -> Vec<Placed<'s>> {
    let pods = list(state, cluster, "", "pods", None).into_iter().filter(|(k, p)| *k != me && !deleting(p));
    pods.filter_map(|(k, pod)| {
        let assumed = || {
            claim_names(pod).find_map(|name| {
                let claim = get(state, cluster, &key("", "persistentvolumeclaims", &k.namespace, name))?;
                let selected = &claim["metadata"]["annotations"][SELECTED_NODE];
                (claim["status"]["phase"] != "Bound").then(|| selected.as_str().map(str::to_string))?
            })
        };
        let node = pod["spec"]["nodeName"].as_str().map(str::to_string).or_else(assumed)?;
        let node_labels = get(state, cluster, &nodes::key(&node)).map_or(&NO_LABELS, |n| &n["metadata"]["labels"]);
        Some(Placed { node, namespace: &k.namespace, pod, node_labels })
    })
    .collect()
}

/// The first filter `node` fails for `pod`, if any.
fn filter(pod: &Value, namespace: &str, node: &Value, bound: &[&Value], placed: &[Placed<'_>]) -> Option<Failure> {
    if cordoned(node) {
        return Some(unresolvable("node(s) were unschedulable"));
    }
    if !ready(node) {
        return Some(unresolvable("node(s) had untolerated taint {node.kubernetes.io/not-ready: }"));
    }
    if !node_affinity_matches(pod, node) {
        return Some(unresolvable("node(s) didn't match Pod's node affinity/selector"));
    }
    if !bound.iter().all(|volume| required_terms_match(&volume["spec"]["nodeAffinity"]["required"], node)) {
        return Some(unresolvable("node(s) had volume node affinity conflict"));
    }
    let candidate = (pod, namespace, &node["metadata"]["labels"]);
    if placed.iter().any(|p| repels(candidate, p.side())) {
        return Some(Failure { reason: "node(s) didn't match pod anti-affinity rules", preemption_might_help: true });
    }
    placed.iter().any(|p| repels(p.side(), candidate)).then_some(Failure {
        reason: "node(s) didn't satisfy existing pods anti-affinity rules",
        preemption_might_help: true,
    })
}

/// Whether a required anti-affinity term of `owner` forbids `other` in the same topology
/// domain: both nodes have the same value of its topology key, `other` is in one of its
/// namespaces and its labels match its selector.
fn repels((owner, owner_namespace, owner_node): Side<'_>, (other, other_namespace, other_node): Side<'_>) -> bool {
    anti_affinity_terms(owner).any(|term| {
        let topology = term["topologyKey"].as_str().unwrap_or_default();
        let domain = &owner_node[topology];
        !domain.is_null()
            && other_node[topology] == *domain
            && namespaces_of(term, owner_namespace).contains(&other_namespace)
            && label_selector_matches(&term["labelSelector"], &other["metadata"]["labels"])
    })
}

fn anti_affinity_terms(pod: &Value) -> impl Iterator<Item = &Value> {
    pod["spec"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        .as_array()
        .into_iter()
        .flatten()
}

/// The namespaces a pod affinity term looks in: those it lists, else its Pod's.
fn namespaces_of<'t>(term: &'t Value, owner: &'t str) -> Vec<&'t str> {
    let listed: Vec<&str> = term["namespaces"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    if listed.is_empty() { vec![owner] } else { listed }
}

/// `spec.nodeSelector` and the required node affinity.
fn node_affinity_matches(pod: &Value, node: &Value) -> bool {
    let labels = &node["metadata"]["labels"];
    let selector = pod["spec"]["nodeSelector"].as_object().into_iter().flatten();
    selector.into_iter().all(|(k, v)| labels[k] == *v)
        && required_terms_match(
            &pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"],
            node,
        )
}

/// A `NodeSelector`: any of its terms; absent, any node.
fn required_terms_match(selector: &Value, node: &Value) -> bool {
    match selector["nodeSelectorTerms"].as_array() {
        Some(terms) => terms.iter().any(|term| node_selector_term_matches(term, node)),
        None => true,
    }
}

/// The claims annotated with the node chosen for their first consumer.
fn select(cluster: &str, waiting: &[ObjectKey], node: &str) -> Vec<Write> {
    let selected = json!({ "metadata": { "annotations": { SELECTED_NODE: node } } });
    waiting.iter().map(|claim| merge(cluster, claim, selected.clone())).collect()
}

fn bind(pod: &Value, node: &str) -> Value {
    let scheduled =
        json!({ "type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now() });
    json!({ "spec": { "nodeName": node }, "status": { "conditions": set_condition(&pod["status"]["conditions"], scheduled) } })
}

fn unschedulable(pod: &Value, failures: &[Failure]) -> Value {
    let total = failures.len();
    let filters = histogram(failures.iter().map(|f| f.reason));
    let preemption = histogram(failures.iter().map(|f| if f.preemption_might_help { NO_VICTIMS } else { NOT_HELPFUL }));
    let message =
        format!("0/{total} nodes are available: {filters}. preemption: 0/{total} nodes are available: {preemption}.");
    let condition = json!({ "type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message,
                            "lastProbeTime": null, "lastTransitionTime": now() });
    json!({ "status": { "phase": "Pending", "conditions": set_condition(&pod["status"]["conditions"], condition) } })
}

/// `3 node(s) were unschedulable, 1 …`: each reason with how many nodes gave it, sorted as
/// text, as `FitError.Error` lists them.
fn histogram<'r>(reasons: impl Iterator<Item = &'r str>) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for reason in reasons {
        *counts.entry(reason).or_default() += 1;
    }
    let mut listed: Vec<String> = counts.into_iter().map(|(reason, n)| format!("{n} {reason}")).collect();
    listed.sort();
    listed.join(", ")
}
