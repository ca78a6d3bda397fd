//! Nodes, the scheduler and the eviction API, driven as a client drives them: where
//! cass-operator's pods land, why one stays Pending, and a node pool replaced one rack at a
//! time the way ringform will do it — cordon the old nodes (with the real kubectl), evict one
//! pod, wait until it is Ready on a new node and Up/Normal through the Management API, next —
//! with the datacenter's PodDisruptionBudget refusing what would take two nodes down.

use serde_json::{Value, json};

use super::kubectl::Kubectl;
use super::operators::{cass_operator, datacenter};
use super::{call, wait_for};
use crate::kube::{FakeKube, FakeKubeOptions, Flavor, Happened};

const PODS: &str = "api/v1/namespaces/db/pods";
const ZONES: [&str; 3] = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
const RACK_PODS: [&str; 3] = ["ring-dc1-r1-sts-0", "ring-dc1-r2-sts-0", "ring-dc1-r3-sts-0"];
const ALL_CORDONED: &str = "0/3 nodes are available: 3 node(s) were unschedulable. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.";

/// cass-operator in EKS-like `east` with a `gp3` class that waits for the first consumer, as
/// ringform makes it.
fn east(kube: &FakeKube) {
    kube.add_cluster("east").expect("a cluster");
    cass_operator(kube, "east");
    let class = json!({ "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": { "name": "gp3" },
        "provisioner": "ebs.csi.aws.com", "parameters": { "type": "gp3" }, "volumeBindingMode": "WaitForFirstConsumer" });
    kube.put("east", class).expect("a StorageClass");
}

/// Datacenter dc1 of ring `Ring`: `size` nodes, rack `r<i>` pinned to the i-th of `zones`.
fn racked(size: u32, zones: &[&str]) -> Value {
    let mut dc = datacenter("dc1", &[], size, "gp3", &[]);
    let racks: Vec<Value> = zones
        .iter()
        .enumerate()
        .map(|(i, zone)| json!({ "name": format!("r{}", i + 1), "nodeAffinityLabels": { "topology.kubernetes.io/zone": zone } }))
        .collect();
    dc["spec"]["racks"] = racks.into();
    dc
}

fn dc1_ready(kube: &FakeKube) -> bool {
    let dc =
        call(kube, "GET", "/east/apis/cassandra.datastax.com/v1beta1/namespaces/db/cassandradatacenters/dc1", None);
    super::controllers::ready(&dc.body)
}

fn get(kube: &FakeKube, path: &str) -> Value {
    call(kube, "GET", &format!("/east/{path}"), None).ok()
}

/// The pod of that name, or null while there is none.
fn pod(kube: &FakeKube, name: &str) -> Value {
    call(kube, "GET", &format!("/east/{PODS}/{name}"), None).body
}

fn node_of(pod: &Value) -> String {
    pod["spec"]["nodeName"].as_str().unwrap_or_default().to_string()
}

fn zone_of(kube: &FakeKube, node: &str) -> String {
    let node = get(kube, &format!("api/v1/nodes/{node}"));
    node["metadata"]["labels"]["topology.kubernetes.io/zone"].as_str().unwrap_or_default().to_string()
}

fn condition<'v>(object: &'v Value, kind: &str) -> &'v Value {
    let conditions = object["status"]["conditions"].as_array();
    conditions.and_then(|c| c.iter().find(|c| c["type"] == kind)).unwrap_or(&Value::Null)
}

fn ready(pod: &Value) -> bool {
    condition(pod, "Ready")["status"] == "True"
}

/// The names of the Nodes a label selector picks.
fn node_names(kube: &FakeKube, selector: &str) -> Vec<String> {
    let listed = get(kube, &format!("api/v1/nodes?labelSelector={selector}"));
    let names = listed["items"].as_array().into_iter().flatten();
    names.filter_map(|n| n["metadata"]["name"].as_str().map(str::to_string)).collect()
}

/// What `pod`'s Management API says of the node with host id `host`: (IS_ALIVE, STATUS's
/// first word, HOST_ID).
fn gossip(kube: &FakeKube, pod: &str, host: &str) -> (String, String, String) {
    let path = format!("/east/{PODS}/{pod}:8080/proxy/api/v0/metadata/endpoints");
    let entity = call(kube, "GET", &path, None).ok()["entity"].clone();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let seen = entity.as_array().into_iter().flatten().find(|e| e["HOST_ID"] == host).cloned().unwrap_or_default();
    let status = text(&seen["STATUS"]).split(',').next().unwrap_or_default().to_string();
    (text(&seen["IS_ALIVE"]), status, text(&seen["HOST_ID"]))
}

/// A node's host id, as cass-operator records it in the datacenter's status.
fn host_id(kube: &FakeKube, pod: &str) -> String {
    let dc = get(kube, "apis/cassandra.datastax.com/v1beta1/namespaces/db/cassandradatacenters/dc1");
    dc["status"]["nodeStatuses"][pod]["hostID"].as_str().unwrap_or_default().to_string()
}

fn evict(kube: &FakeKube, pod: &str) -> super::Response {
    let eviction =
        json!({ "apiVersion": "policy/v1", "kind": "Eviction", "metadata": { "name": pod, "namespace": "db" } });
    call(kube, "POST", &format!("/east/{PODS}/{pod}/eviction"), Some(&eviction))
}

#[test]
fn cassandra_pods_land_one_per_node_in_their_racks_zones_with_their_volumes() {
    let kube = FakeKube::start_for_test();
    east(&kube);
    let zones: Vec<(&str, usize)> = ZONES.iter().map(|z| (*z, 1)).collect();
    let made = kube.add_node_pool("east", "pool-a", "m5.2xlarge", &zones).expect("a pool");
    assert_eq!(
        made,
        [
            "ip-10-100-0-10.eu-west-1.compute.internal",
            "ip-10-100-0-11.eu-west-1.compute.internal",
            "ip-10-100-0-12.eu-west-1.compute.internal"
        ]
    );
    let node = get(&kube, &format!("api/v1/nodes/{}", made[1]));
    let labels = &node["metadata"]["labels"];
    assert_eq!(
        (&labels["eks.amazonaws.com/nodegroup"], &labels["node.kubernetes.io/instance-type"]),
        (&json!("pool-a"), &json!("m5.2xlarge"))
    );
    assert_eq!(
        (&labels["topology.kubernetes.io/zone"], &labels["topology.kubernetes.io/region"]),
        (&json!("eu-west-1b"), &json!("eu-west-1"))
    );
    assert_eq!(
        (&labels["kubernetes.io/hostname"], &condition(&node, "Ready")["status"]),
        (&json!(made[1]), &json!("True"))
    );
    assert_eq!(node_names(&kube, "eks.amazonaws.com/nodegroup=pool-a"), made);

    kube.put("east", racked(3, &ZONES)).expect("dc1");
    wait_for("dc1 Ready", || dc1_ready(&kube));
    let mut used = Vec::new();
    for (pod_name, zone) in RACK_PODS.iter().zip(ZONES) {
        let placed = pod(&kube, pod_name);
        let node = node_of(&placed);
        assert_eq!(zone_of(&kube, &node), zone, "{pod_name} on {node}");
        assert_eq!(condition(&placed, "PodScheduled")["status"], "True");
        let required = &placed["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"];
        assert_eq!(
            required["nodeSelectorTerms"][0]["matchExpressions"],
            json!([{ "key": "topology.kubernetes.io/zone", "operator": "In", "values": [zone] }])
        );
        // Its disk was made in the zone of the node the scheduler picked for it.
        let claim = get(&kube, &format!("api/v1/namespaces/db/persistentvolumeclaims/server-data-{pod_name}"));
        assert_eq!(claim["metadata"]["annotations"]["volume.kubernetes.io/selected-node"], json!(node));
        let volume =
            get(&kube, &format!("api/v1/persistentvolumes/{}", claim["spec"]["volumeName"].as_str().expect("bound")));
        let term = &volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0];
        assert_eq!((&term["key"], &term["values"]), (&json!("topology.kubernetes.io/zone"), &json!([zone])));
        // A client finds a node's pods as kubectl drain does.
        let on_node = get(&kube, &format!("{PODS}?fieldSelector=spec.nodeName={node}"));
        assert_eq!(on_node["items"].as_array().map(Vec::len), Some(1));
        used.push(node);
    }
    used.sort();
    used.dedup();
    assert_eq!(used.len(), 3, "one pod per worker");

    // cass-operator's budget for the datacenter: one node down at most.
    let budget = get(&kube, "apis/policy/v1/namespaces/db/poddisruptionbudgets/dc1-pdb");
    assert_eq!(budget["spec"]["minAvailable"], 2);
    assert_eq!(
        budget["spec"]["selector"]["matchLabels"],
        json!({ "cassandra.datastax.com/cluster": "Ring", "cassandra.datastax.com/datacenter": "dc1" })
    );
    let status = &budget["status"];
    assert_eq!(
        (&status["currentHealthy"], &status["desiredHealthy"], &status["expectedPods"], &status["disruptionsAllowed"]),
        (&json!(3), &json!(2), &json!(3), &json!(1))
    );
    assert_eq!(condition(&budget, "DisruptionAllowed")["reason"], "SufficientPods");
}

#[test]
fn with_too_few_nodes_a_pod_stays_pending_unschedulable_until_one_comes() {
    let kube = FakeKube::start_for_test();
    east(&kube);
    kube.add_node_pool("east", "pool-a", "m5.2xlarge", &[("eu-west-1a", 2)]).expect("a pool");
    kube.put("east", racked(3, &ZONES[..1])).expect("dc1");
    let third = "ring-dc1-r1-sts-2";
    let unschedulable = || condition(&pod(&kube, third), "PodScheduled").clone();
    wait_for("the third pod refused", || unschedulable()["reason"] == "Unschedulable");
    assert_eq!(unschedulable()["status"], "False");
    assert_eq!(
        unschedulable()["message"],
        "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod."
    );
    assert_eq!(pod(&kube, third)["status"]["phase"], "Pending");
    assert!(!dc1_ready(&kube));

    // A node in another zone is no help; each node counts once, for its first failure.
    kube.add_node_pool("east", "pool-b", "m5.2xlarge", &[("eu-west-1b", 1)]).expect("a pool");
    wait_for("the message updated", || unschedulable()["message"].as_str().is_some_and(|m| m.starts_with("0/3")));
    assert_eq!(
        unschedulable()["message"],
        "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod."
    );
    kube.add_node_pool("east", "pool-c", "m5.2xlarge", &[("eu-west-1a", 1)]).expect("a pool");
    wait_for("dc1 Ready", || dc1_ready(&kube));
    assert_eq!(zone_of(&kube, &node_of(&pod(&kube, third))), "eu-west-1a");
    assert_eq!(condition(&pod(&kube, third), "PodScheduled")["status"], "True");
}

#[test]
fn a_cluster_without_nodes_runs_its_pods_unscheduled_as_before() {
    let kube = FakeKube::start_for_test();
    east(&kube);
    kube.put("east", racked(3, &ZONES)).expect("dc1");
    wait_for("dc1 Ready", || dc1_ready(&kube));
    for name in RACK_PODS {
        let running = pod(&kube, name);
        assert!(running["spec"]["nodeName"].is_null() && ready(&running), "{running}");
    }
    assert_eq!(get(&kube, "api/v1/persistentvolumes")["items"], json!([]));
    assert_eq!(get(&kube, "api/v1/nodes")["items"], json!([]));
}

#[test]
fn an_aks_pool_is_named_after_its_scale_set_and_goes_with_its_nodes() {
    let kube = FakeKube::start_for_test();
    kube.add_cluster_of("west", Flavor::Aks).expect("a cluster");
    let made =
        kube.add_node_pool("west", "cass", "Standard_D8s_v5", &[("eastus2-1", 2), ("eastus2-2", 1)]).expect("a pool");
    assert_eq!(made.len(), 3);
    let prefix = made[0].trim_end_matches("vmss000000");
    assert!(prefix.starts_with("aks-cass-") && prefix.len() == "aks-cass-12345678-".len(), "{made:?}");
    assert_eq!(made, [format!("{prefix}vmss000000"), format!("{prefix}vmss000001"), format!("{prefix}vmss000002")]);
    let node = kube.get("west", ("v1", "Node", None, &made[2])).expect("a node");
    let labels = &node["metadata"]["labels"];
    assert_eq!(
        (&labels["kubernetes.azure.com/agentpool"], &labels["agentpool"], &labels["topology.kubernetes.io/zone"]),
        (&json!("cass"), &json!("cass"), &json!("eastus2-2"))
    );
    assert_eq!(labels["topology.kubernetes.io/region"], "eastus2");
    assert_eq!(kube.remove_node_pool("west", "cass"), made);
    assert!(kube.get("west", ("v1", "Node", None, &made[0])).is_none());
}

/// dc1 (three racks, one per zone) Ready on pool-a, with the time scale `scale`.
fn ring_on_pool_a(scale: f64) -> FakeKube {
    let kube = FakeKube::start(FakeKubeOptions { time_scale: scale, ..FakeKubeOptions::default() }).expect("a server");
    east(&kube);
    let zones: Vec<(&str, usize)> = ZONES.iter().map(|z| (*z, 1)).collect();
    kube.add_node_pool("east", "pool-a", "m5.2xlarge", &zones).expect("a pool");
    kube.put("east", racked(3, &ZONES)).expect("dc1");
    wait_for("dc1 Ready", || dc1_ready(&kube));
    kube
}

/// Waits until `name` is Ready on a node of `pool` and Up/Normal to another node of the ring.
fn back_on(kube: &FakeKube, name: &str, pool: &[String], witness: &str, host: &str) {
    wait_for(&format!("{name} Ready on the new pool"), || {
        let moved = pod(kube, name);
        ready(&moved) && pool.contains(&node_of(&moved))
    });
    wait_for(&format!("{name} UN"), || gossip(kube, witness, host) == ("true".into(), "NORMAL".into(), host.into()));
}

#[test]
fn a_node_pool_is_replaced_one_rack_at_a_time_and_the_budget_refuses_a_second_node_down() {
    let kube = ring_on_pool_a(0.001);
    let old_pool = node_names(&kube, "eks.amazonaws.com/nodegroup=pool-a");
    let hosts: Vec<String> = RACK_PODS.iter().map(|p| host_id(&kube, p)).collect();

    // Cordoned with the real kubectl (a strategic merge patch of spec.unschedulable).
    let kubectl = Kubectl::new(&kube, &["east"]);
    for node in &old_pool {
        let cordoned = kubectl.ok(&["cordon", node]);
        assert!(cordoned.contains(&format!("node/{node} cordoned")), "{cordoned}");
    }
    let cordoned = get(&kube, "api/v1/nodes?fieldSelector=spec.unschedulable=true");
    assert_eq!(cordoned["items"].as_array().map(Vec::len), Some(3));

    // With nowhere to go, the evicted pod stays Pending and its node down to the others.
    let evicted = evict(&kube, RACK_PODS[0]).expect(201, "");
    assert_eq!(
        evicted.body,
        json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201 })
    );
    wait_for("r1 unschedulable", || condition(&pod(&kube, RACK_PODS[0]), "PodScheduled")["message"] == ALL_CORDONED);
    assert_eq!(gossip(&kube, RACK_PODS[1], &hosts[0]), ("false".into(), "NORMAL".into(), hosts[0].clone()));
    let refused = evict(&kube, RACK_PODS[1]).expect(429, "TooManyRequests");
    assert_eq!(refused.body["message"], "Cannot evict pod as it would violate the pod's disruption budget.");
    assert_eq!(
        refused.body["details"]["causes"],
        json!([{ "reason": "DisruptionBudget", "message": "The disruption budget dc1-pdb needs 2 healthy pods and has 2 currently" }])
    );
    assert!(ready(&pod(&kube, RACK_PODS[1])), "the refused eviction left the pod alone");
    let mismatched = json!({ "apiVersion": "policy/v1", "kind": "Eviction", "metadata": { "name": "other" } });
    call(&kube, "POST", &format!("/east/{PODS}/{}/eviction", RACK_PODS[1]), Some(&mismatched))
        .expect(400, "BadRequest");
    evict(&kube, "ring-dc1-r9-sts-0").expect(404, "NotFound");

    // The new pool comes; the pending pod moves there, then the others, one at a time.
    let zones: Vec<(&str, usize)> = ZONES.iter().map(|z| (*z, 1)).collect();
    let new_pool = kube.add_node_pool("east", "pool-b", "m6i.2xlarge", &zones).expect("a pool");
    back_on(&kube, RACK_PODS[0], &new_pool, RACK_PODS[1], &hosts[0]);
    for (i, name) in RACK_PODS.iter().enumerate().skip(1) {
        evict(&kube, name).expect(201, "");
        back_on(&kube, name, &new_pool, RACK_PODS[0], &hosts[i]);
    }
    for (name, zone) in RACK_PODS.iter().zip(ZONES) {
        assert_eq!(zone_of(&kube, &node_of(&pod(&kube, name))), zone, "{name} stayed in its volume's zone");
    }
    let keyspaces = kube.keyspaces("Ring");
    assert!(keyspaces.values().all(|k| k.held_in.contains("dc1")), "{keyspaces:#?}");

    // The old pool goes empty-handed.
    let before = kube.cassandra_events().len();
    assert_eq!(kube.remove_node_pool("east", "pool-a"), old_pool);
    assert_eq!(node_names(&kube, "eks.amazonaws.com/nodegroup=pool-a"), Vec::<String>::new());
    assert_eq!(kube.cassandra_events().len(), before);
    assert!(dc1_ready(&kube));

    let moves: Vec<Happened> = kube
        .cassandra_events()
        .into_iter()
        .map(|e| e.what)
        .filter(|e| matches!(e, Happened::NodeStopped { .. } | Happened::NodeStarted { .. }))
        .collect();
    let expected: Vec<Happened> = RACK_PODS
        .iter()
        .zip(&new_pool)
        .flat_map(|(name, on)| {
            let (datacenter, node) = ("dc1".to_string(), name.to_string());
            [
                Happened::NodeStopped { datacenter: datacenter.clone(), node: node.clone() },
                Happened::NodeStarted { datacenter, node, on: on.clone() },
            ]
        })
        .collect();
    assert_eq!(moves, expected);
    assert_eq!(kube.fewest_up("dc1"), Some(2));
    assert_eq!(kube.fewest_up("dc9"), None);
}

#[test]
fn deleting_the_old_pool_outright_takes_every_node_down_at_once() {
    let kube = ring_on_pool_a(0.001);
    let zones: Vec<(&str, usize)> = ZONES.iter().map(|z| (*z, 1)).collect();
    let new_pool = kube.add_node_pool("east", "pool-b", "m6i.2xlarge", &zones).expect("a pool");
    assert_eq!(kube.fewest_up("dc1"), Some(3));
    kube.remove_node_pool("east", "pool-a");
    for name in RACK_PODS {
        wait_for(&format!("{name} back"), || {
            let moved = pod(&kube, name);
            ready(&moved) && new_pool.contains(&node_of(&moved))
        });
    }
    assert_eq!(kube.fewest_up("dc1"), Some(0));
}

/// A JSON merge patch of a Node, as a client cordons or uncordons it.
fn patch_node(kube: &FakeKube, node: &str, patch: &Value) {
    let body = patch.to_string();
    let target = format!("/east/api/v1/nodes/{node}");
    super::raw(kube, "PATCH", &target, "application/merge-patch+json", body.as_bytes(), Some(&kube.token())).ok();
}

#[test]
fn an_evicted_pod_follows_its_volume_back_to_its_zone() {
    let kube = FakeKube::start_for_test();
    east(&kube);
    let first = kube.add_node_pool("east", "pool-a", "m5.2xlarge", &[("eu-west-1a", 1)]).expect("a pool");
    // No rack zone: only the volume keeps the pod in eu-west-1a.
    kube.put("east", datacenter("dc1", &[], 1, "gp3", &[])).expect("dc1");
    wait_for("dc1 Ready", || dc1_ready(&kube));
    let name = "ring-dc1-default-sts-0";
    assert_eq!(node_of(&pod(&kube, name)), first[0]);
    kube.add_node_pool("east", "pool-b", "m5.2xlarge", &[("eu-west-1b", 1)]).expect("a pool");
    // Cordoned by server-side apply, uncordoned below by a merge patch.
    let cordon = json!({ "apiVersion": "v1", "kind": "Node", "metadata": { "name": first[0] }, "spec": { "unschedulable": true } });
    super::apply(&kube, &format!("/east/api/v1/nodes/{}", first[0]), "ringform", "", &cordon).ok();
    // A one-node datacenter's budget (minAvailable 0) lets its node go.
    evict(&kube, name).expect(201, "");
    let refused = || condition(&pod(&kube, name), "PodScheduled")["message"].clone();
    wait_for("the pod refused", || refused().is_string());
    assert_eq!(
        refused(),
        "0/2 nodes are available: 1 node(s) had volume node affinity conflict, 1 node(s) were unschedulable. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
    );
    patch_node(&kube, &first[0], &json!({ "spec": { "unschedulable": null } }));
    wait_for("back in its zone", || ready(&pod(&kube, name)));
    assert_eq!(node_of(&pod(&kube, name)), first[0]);
}
