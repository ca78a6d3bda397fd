//! Nodes and the scheduler, driven as a client drives them: where cass-operator's pods land,
//! why one stays Pending until a node comes, and a cluster without nodes as it always was.

use serde_json::{Value, json};

use super::operators::{cass_operator, datacenter};
use super::{call, wait_for};
use crate::kube::{FakeKube, Flavor};

const PODS: &str = "api/v1/namespaces/db/pods";
const ZONES: [&str; 3] = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
const RACK_PODS: [&str; 3] = ["ring-dc1-r1-sts-0", "ring-dc1-r2-sts-0", "ring-dc1-r3-sts-0"];

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
        "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.."
    );
    assert_eq!(pod(&kube, third)["status"]["phase"], "Pending");
    assert!(!dc1_ready(&kube));

    // A node in another zone is no help; each node counts once, for its first failure.
    kube.add_node_pool("east", "pool-b", "m5.2xlarge", &[("eu-west-1b", 1)]).expect("a pool");
    wait_for("the message updated", || unschedulable()["message"].as_str().is_some_and(|m| m.starts_with("0/3")));
    assert_eq!(
        unschedulable()["message"],
        "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.."
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
