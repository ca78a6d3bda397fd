//! Growing and shrinking a ring as the operators do it: cass-operator's CassandraTask rebuilds
//! and decommission on delete, and k8ssandra-operator adding and removing datacenters, each
//! driven through the API as a client would and checked in the ring's keyspaces and events.

use serde_json::{Value, json};

use super::management::{DC1_POD, DC2_PODS, alter, happened, held_in, position, two_datacenters};
use super::operators::{
    K8SSANDRA_OPERATOR, cass_operator, datacenter, endpoints, gp3, k8ssandra, k8ssandra_cluster, names, remote_access,
};
use super::{call, wait_for};
use crate::kube::{FakeKube, FakeKubeOptions, Happened, Replication};

const TASKS: &str = "apis/control.k8ssandra.io/v1alpha1/namespaces/db/cassandratasks";
const DCS: &str = "apis/cassandra.datastax.com/v1beta1/namespaces/db/cassandradatacenters";
const KCS: &str = "/east/apis/k8ssandra.io/v1alpha1/namespaces/db/k8ssandraclusters";

fn rebuild_task(name: &str, extra: Value) -> Value {
    let mut task = json!({ "apiVersion": "control.k8ssandra.io/v1alpha1", "kind": "CassandraTask", "metadata": { "name": name, "namespace": "db" },
        "spec": { "datacenter": { "name": "dc2", "namespace": "db" },
                  "jobs": [{ "name": name, "command": "rebuild", "args": { "source_datacenter": "dc1" } }] } });
    if let (Some(spec), Some(extra)) = (task["spec"].as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    task
}

/// A task's object once it has completed.
fn completed_task(kube: &FakeKube, name: &str) -> Value {
    let get = || call(kube, "GET", &format!("/west/{TASKS}/{name}"), None).ok();
    wait_for(name, || !get()["status"]["completionTime"].is_null());
    get()
}

/// A JSON merge patch, as `kubectl patch --type merge` sends it.
fn patch(kube: &FakeKube, target: &str, body: &Value) {
    super::raw(kube, "PATCH", target, "application/merge-patch+json", body.to_string().as_bytes(), Some(&kube.token()))
        .expect(200, "");
}

fn condition<'v>(object: &'v Value, kind: &str) -> Option<&'v Value> {
    object["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == kind)
}

/// dc2 replicated in system_auth and orders (created in dc1), not yet rebuilt.
fn replicated_to_dc2(kube: &FakeKube) {
    kube.create_keyspace("Ring", "orders", &[("dc1", 3)]).expect("orders");
    assert_eq!(alter(kube, DC1_POD, "system_auth", &[("dc1", 3), ("dc2", 2)]), (200, "OK".into()));
    assert_eq!(alter(kube, DC1_POD, "orders", &[("dc1", 3), ("dc2", 2)]), (200, "OK".into()));
    assert_eq!(held_in(kube, "orders"), ["dc1"]);
}

fn rebuild(what: &str, pod: &str, error: Option<&str>) -> Happened {
    let (datacenter, node, source) = ("dc2".to_string(), pod.to_string(), Some("dc1".to_string()));
    match (what, error) {
        ("started", _) => Happened::RebuildStarted { datacenter, node, source },
        (_, None) => Happened::RebuildCompleted { datacenter, node, source },
        (_, Some(error)) => Happened::RebuildFailed { datacenter, node, source, error: error.into() },
    }
}

const STREAM_FAILED: &str = "java.lang.RuntimeException: Error while rebuilding node: Stream failed";

#[test]
fn a_cassandra_task_rebuilds_every_node_and_retries_a_failed_one() {
    let kube = FakeKube::start_for_test();
    two_datacenters(&kube);
    replicated_to_dc2(&kube);
    kube.fail_rebuilds("dc2", 1);
    call(&kube, "POST", &format!("/west/{TASKS}"), Some(&rebuild_task("rebuild-dc2", json!({})))).expect(201, "");

    let task = completed_task(&kube, "rebuild-dc2");
    let status = &task["status"];
    assert_eq!(
        (&status["succeeded"], &status["failed"], &status["active"]),
        (&json!(2), &json!(0), &json!(0)),
        "{status}"
    );
    assert_eq!(condition(&task, "Complete").map(|c| &c["status"]), Some(&json!("True")));
    assert_eq!(condition(&task, "Running").map(|c| &c["status"]), Some(&json!("False")));
    assert!(condition(&task, "Failed").is_none(), "{status}");
    let labels = &task["metadata"]["labels"];
    assert_eq!(
        (&labels["control.k8ssandra.io/status"], &labels["cassandra.datastax.com/datacenter"]),
        (&json!("completed"), &json!("dc2"))
    );
    assert_eq!(task["metadata"]["ownerReferences"][0]["name"], "dc2");
    let pods = &status["podStatuses"];
    assert_eq!((&pods[DC2_PODS[0]]["status"], &pods[DC2_PODS[0]]["retries"]), (&json!("COMPLETED"), &json!(1)));
    assert_eq!(pods[DC2_PODS[1]]["status"], "COMPLETED");
    assert_eq!(held_in(&kube, "orders"), ["dc1", "dc2"]);
    assert_eq!(held_in(&kube, "system_auth"), ["dc1", "dc2"]);

    // One pod at a time, the failed one tried again before the next starts, all after the
    // replication changed.
    let events = happened(&kube);
    let rebuilds: Vec<Happened> = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Happened::RebuildStarted { .. } | Happened::RebuildCompleted { .. } | Happened::RebuildFailed { .. }
            )
        })
        .cloned()
        .collect();
    assert_eq!(
        rebuilds,
        [
            rebuild("started", DC2_PODS[0], None),
            rebuild("ended", DC2_PODS[0], Some(STREAM_FAILED)),
            rebuild("started", DC2_PODS[0], None),
            rebuild("ended", DC2_PODS[0], None),
            rebuild("started", DC2_PODS[1], None),
            rebuild("ended", DC2_PODS[1], None),
        ]
    );
    let altered = Happened::ReplicationChanged {
        keyspace: "orders".into(),
        replication: Replication::per_datacenter(&[("dc1", 3), ("dc2", 2)]),
    };
    let joined = Happened::DatacenterJoined { datacenter: "dc2".into() };
    assert!(position(&events, &joined) < position(&events, &altered));
    assert!(position(&events, &altered) < position(&events, &rebuilds[0]));
}

#[test]
fn a_task_whose_pod_fails_past_its_retries_completes_failed_and_another_task_finishes_the_job() {
    let kube = FakeKube::start_for_test();
    two_datacenters(&kube);
    replicated_to_dc2(&kube);
    // The first pod fails, and fails again when it is retried.
    kube.fail_rebuilds("dc2", 2);
    call(&kube, "POST", &format!("/west/{TASKS}"), Some(&rebuild_task("first", json!({})))).expect(201, "");
    let task = completed_task(&kube, "first");
    assert_eq!((&task["status"]["succeeded"], &task["status"]["failed"]), (&json!(1), &json!(1)));
    let failed = condition(&task, "Failed").expect("the Failed condition");
    assert_eq!((&failed["status"], &failed["message"]), (&json!("True"), &json!("1 pods failed during processing")));
    let pod = &task["status"]["podStatuses"][DC2_PODS[0]];
    assert_eq!((&pod["status"], &pod["error"]), (&json!("ERROR"), &json!(STREAM_FAILED)));
    assert_eq!(held_in(&kube, "orders"), ["dc1"]);

    // Without retries a failure is final at once.
    kube.fail_rebuilds("dc2", 1);
    let never = rebuild_task("never", json!({ "restartPolicy": "Never" }));
    call(&kube, "POST", &format!("/west/{TASKS}"), Some(&never)).expect(201, "");
    assert_eq!(completed_task(&kube, "never")["status"]["failed"], 1);

    call(&kube, "POST", &format!("/west/{TASKS}"), Some(&rebuild_task("again", json!({})))).expect(201, "");
    let again = completed_task(&kube, "again");
    assert_eq!((&again["status"]["succeeded"], &again["status"]["failed"]), (&json!(2), &json!(0)));
    assert_eq!(held_in(&kube, "orders"), ["dc1", "dc2"]);
}

#[test]
fn a_datacenter_deleted_with_decommission_on_delete_leaves_the_ring_node_by_node() {
    let kube = FakeKube::start(FakeKubeOptions { time_scale: 0.02, ..FakeKubeOptions::default() }).expect("a server");
    two_datacenters(&kube);
    kube.create_keyspace("Ring", "orders", &[("dc1", 3)]).expect("orders");
    assert_eq!(alter(&kube, DC1_POD, "system_auth", &[("dc1", 3), ("dc2", 2)]), (200, "OK".into()));
    let dc2 = format!("/west/{DCS}/dc2");
    let annotation =
        json!({ "metadata": { "annotations": { "cassandra.datastax.com/decommission-on-delete": "true" } } });
    super::raw(
        &kube,
        "PATCH",
        &dc2,
        "application/merge-patch+json",
        annotation.to_string().as_bytes(),
        Some(&kube.token()),
    )
    .expect(200, "");
    call(&kube, "DELETE", &dc2, None).expect(200, "");

    // cass-operator sets Decommission, then takes the last pod first.
    wait_for("Decommission", || condition(&call(&kube, "GET", &dc2, None).body, "Decommission").is_some());
    let label = |pod: &str| {
        kube.get("west", ("v1", "Pod", Some("db"), pod))
            .map(|p| p["metadata"]["labels"]["cassandra.datastax.com/node-state"].clone())
    };
    wait_for("the first to leave", || label(DC2_PODS[1]) == Some(json!("Decommissioning")));
    assert_eq!(label(DC2_PODS[0]), Some(json!("Started")));
    wait_for("dc2 gone", || call(&kube, "GET", &dc2, None).status == 404);
    assert!(names(&kube, "west", "Pod", |_| true).is_empty());
    assert!(names(&kube, "west", "PersistentVolumeClaim", |_| true).is_empty());

    let decommission = |what: &str, pod: &str| match what {
        "started" => Happened::DecommissionStarted { datacenter: "dc2".into(), node: pod.into() },
        _ => Happened::NodeDecommissioned { datacenter: "dc2".into(), node: pod.into() },
    };
    let events = happened(&kube);
    let order = [
        decommission("started", DC2_PODS[1]),
        decommission("done", DC2_PODS[1]),
        decommission("started", DC2_PODS[0]),
        decommission("done", DC2_PODS[0]),
        Happened::DatacenterDeleted { datacenter: "dc2".into() },
    ];
    let positions: Vec<usize> = order.iter().map(|e| position(&events, e)).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{events:#?}");
    // system_auth still names dc2, with no copy there; now it may leave it out.
    let keyspaces = kube.keyspaces("Ring");
    assert_eq!(keyspaces["system_auth"].replication, Replication::per_datacenter(&[("dc1", 3), ("dc2", 2)]));
    assert_eq!(held_in(&kube, "system_auth"), ["dc1"]);
    assert_eq!(alter(&kube, DC1_POD, "system_auth", &[("dc1", 3)]), (200, "OK".into()));
}

#[test]
fn a_datacenter_deleted_without_decommission_stays_in_the_ring_down() {
    let kube = FakeKube::start_for_test();
    two_datacenters(&kube);
    call(&kube, "DELETE", &format!("/west/{DCS}/dc2"), None).expect(200, "");
    assert!(names(&kube, "west", "Pod", |_| true).is_empty());
    assert!(!happened(&kube).iter().any(|e| matches!(e, Happened::DecommissionStarted { .. })));
    // dc1's nodes still list dc2's, down: `nodetool status` says DN.
    let seen = endpoints(&kube, "east", DC1_POD);
    let dc2: Vec<&str> = seen.iter().filter(|(dc, ..)| dc == "dc2").map(|(.., alive)| alive.as_str()).collect();
    assert_eq!(dc2, ["false", "false"]);
    // Cassandra still counts dc2, and nothing of it can be read.
    let (status, refusal) = alter(&kube, DC1_POD, "system_auth", &[("dc1", 3)]);
    assert_eq!((status, refusal.ends_with("system_auth: [dc2]")), (500, true), "{refusal}");
    assert_eq!(alter(&kube, DC1_POD, "system_auth", &[("dc1", 3), ("dc2", 1)]), (200, "OK".into()));
    assert_eq!(held_in(&kube, "system_auth"), ["dc1"]);
}

#[test]
fn deleting_a_rings_only_datacenter_with_decommission_on_delete_stalls() {
    let kube = FakeKube::start_for_test();
    cass_operator(&kube, "east");
    gp3(&kube, "east");
    kube.put("east", datacenter("dc1", &[], 3, "gp3", &[])).expect("dc1");
    let dc1 = format!("/east/{DCS}/dc1");
    patch(
        &kube,
        &dc1,
        &json!({ "metadata": { "annotations": { "cassandra.datastax.com/decommission-on-delete": "true" } } }),
    );
    call(&kube, "DELETE", &dc1, None).expect(200, "");
    let stuck = call(&kube, "GET", &dc1, None).ok();
    assert!(stuck["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(stuck["status"]["cassandraOperatorProgress"], "Updating");
    assert!(condition(&stuck, "Decommission").is_none());
    assert_eq!(names(&kube, "east", "Pod", |_| true).len(), 3);
    assert!(!happened(&kube).iter().any(|e| matches!(e, Happened::DecommissionStarted { .. })));
}

/// The k8ssandra-operator control plane in `east`, a data plane in `west` reached through a
/// ClientConfig, and a K8ssandraCluster with dc1 (3 nodes, `east`) Initialized.
fn k8ssandra_with_dc1(kube: &FakeKube) -> Value {
    k8ssandra(kube);
    remote_access(kube);
    let config = json!({ "apiVersion": "config.k8ssandra.io/v1beta1", "kind": "ClientConfig", "metadata": { "name": "west", "namespace": "k8ssandra-operator" },
        "spec": { "contextName": "west", "kubeConfigSecret": { "name": "west-kubeconfig" } } });
    kube.put("east", config).expect("a ClientConfig");
    wait_for("k8ssandra-operator", || {
        super::controllers::available(&kube.get("east", K8SSANDRA_OPERATOR).expect("stored"))
    });
    kube.put("east", json!({ "apiVersion": "v1", "kind": "Secret", "metadata": { "name": "superuser", "namespace": "db" }, "data": { "username": "dQ==", "password": "cA==" } }))
        .expect("the superuser Secret");
    let dc1 = json!([{ "metadata": { "name": "dc1" }, "size": 3 }]);
    call(kube, "POST", KCS, Some(&k8ssandra_cluster(dc1))).expect(201, "");
    wait_for("CassandraInitialized", || {
        condition(&call(kube, "GET", &format!("{KCS}/ring"), None).body, "CassandraInitialized").is_some()
    });
    call(kube, "GET", &format!("{KCS}/ring"), None).ok()
}

/// dc2 (2 nodes, `west`) added to the K8ssandraCluster, orders to get 2 replicas there.
fn add_dc2(kube: &FakeKube) {
    let replication = json!({ "dc2": { "orders": 2 } }).to_string();
    let datacenters = json!([{ "metadata": { "name": "dc1" }, "size": 3 }, { "metadata": { "name": "dc2" }, "k8sContext": "west", "size": 2 }]);
    let grown = json!({ "metadata": { "annotations": { "k8ssandra.io/dc-replication": replication } },
        "spec": { "cassandra": { "datacenters": datacenters } } });
    patch(kube, &format!("{KCS}/ring"), &grown);
}

fn kc_annotation(kube: &FakeKube, name: &str) -> Value {
    call(kube, "GET", &format!("{KCS}/ring"), None).ok()["metadata"]["annotations"][name].clone()
}

#[test]
fn k8ssandra_operator_adds_a_datacenter_replicates_to_it_and_rebuilds_it() {
    let kube = FakeKube::start(FakeKubeOptions { time_scale: 0.005, ..FakeKubeOptions::default() }).expect("a server");
    let kc = k8ssandra_with_dc1(&kube);
    // The first datacenter created the system keyspaces with up to three replicas.
    assert_eq!(kc["metadata"]["annotations"]["k8ssandra.io/initial-system-replication"], r#"{"dc1":3}"#);
    assert_eq!(kube.keyspaces("Ring")["system_auth"].replication, Replication::per_datacenter(&[("dc1", 3)]));
    kube.create_keyspace("Ring", "orders", &[("dc1", 3)]).expect("orders");

    add_dc2(&kube);
    wait_for("the rebuild annotation", || kc_annotation(&kube, "k8ssandra.io/rebuild-dc") == "dc2");
    wait_for("the rebuild", || kc_annotation(&kube, "k8ssandra.io/rebuild-dc").is_null());
    let kc = call(&kube, "GET", &format!("{KCS}/ring"), None).ok();
    assert_eq!(kc["status"]["error"], "None", "{}", kc["status"]);
    let task = kube
        .get("west", ("control.k8ssandra.io/v1alpha1", "CassandraTask", Some("db"), "dc2-rebuild"))
        .expect("the rebuild task");
    assert_eq!(task["metadata"]["labels"]["k8ssandra.io/rebuild-nodes"], "2");
    assert_eq!(task["spec"]["jobs"][0]["args"]["source_datacenter"], "dc1");
    assert_eq!(task["status"]["succeeded"], 2);

    let both = Replication::per_datacenter(&[("dc1", 3), ("dc2", 2)]);
    for keyspace in ["system_auth", "system_distributed", "system_traces", "orders"] {
        assert_eq!(kube.keyspaces("Ring")[keyspace].replication, both, "{keyspace}");
        assert_eq!(held_in(&kube, keyspace), ["dc1", "dc2"], "{keyspace}");
    }
    let events = happened(&kube);
    let order = [
        Happened::DatacenterReady { datacenter: "dc2".into() },
        Happened::ReplicationChanged { keyspace: "system_auth".into(), replication: both.clone() },
        Happened::ReplicationChanged { keyspace: "orders".into(), replication: both.clone() },
        rebuild("started", DC2_PODS[0], None),
        rebuild("ended", DC2_PODS[1], None),
    ];
    let positions: Vec<usize> = order.iter().map(|e| position(&events, e)).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{events:#?}");
}

#[test]
fn k8ssandra_operator_removes_a_datacenter_only_once_no_user_keyspace_replicates_to_it() {
    let kube = FakeKube::start_for_test();
    k8ssandra_with_dc1(&kube);
    kube.create_keyspace("Ring", "orders", &[("dc1", 3)]).expect("orders");
    add_dc2(&kube);
    let grown = call(&kube, "GET", &format!("{KCS}/ring"), None).ok();
    assert!(grown["status"]["datacenters"]["dc2"].is_object(), "{}", grown["status"]);

    let shrunk = json!({ "spec": { "cassandra": { "datacenters": [{ "metadata": { "name": "dc1" }, "size": 3 }] } } });
    patch(&kube, &format!("{KCS}/ring"), &shrunk);
    let refused = call(&kube, "GET", &format!("{KCS}/ring"), None).ok();
    assert_eq!(refused["status"]["error"], "cannot decommission DC dc2: keyspace orders still has replicas on it");
    assert_eq!(refused["status"]["datacenters"]["dc2"]["decommissionProgress"], "UpdatingReplication");
    let dc2 =
        kube.get("west", ("cassandra.datastax.com/v1beta1", "CassandraDatacenter", Some("db"), "dc2")).expect("dc2");
    assert!(dc2["metadata"]["deletionTimestamp"].is_null());

    // The client takes dc2 out of orders; the operator decommissions and deletes it, then
    // takes it out of the system keyspaces.
    assert_eq!(alter(&kube, DC1_POD, "orders", &[("dc1", 3)]), (200, "OK".into()));
    let kc = call(&kube, "GET", &format!("{KCS}/ring"), None).ok();
    assert_eq!(kc["status"]["error"], "None", "{}", kc["status"]);
    assert!(kc["status"]["datacenters"]["dc2"].is_null(), "{}", kc["status"]);
    assert!(kube.get("west", ("cassandra.datastax.com/v1beta1", "CassandraDatacenter", Some("db"), "dc2")).is_none());
    let dc1_only = Replication::per_datacenter(&[("dc1", 3)]);
    assert_eq!(kube.keyspaces("Ring")["system_auth"].replication, dc1_only);
    let events = happened(&kube);
    let order = [
        Happened::ReplicationChanged { keyspace: "orders".into(), replication: dc1_only.clone() },
        Happened::DecommissionStarted { datacenter: "dc2".into(), node: DC2_PODS[1].into() },
        Happened::NodeDecommissioned { datacenter: "dc2".into(), node: DC2_PODS[0].into() },
        Happened::DatacenterDeleted { datacenter: "dc2".into() },
        Happened::ReplicationChanged { keyspace: "system_auth".into(), replication: dc1_only },
    ];
    let positions: Vec<usize> = order.iter().map(|e| position(&events, e)).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{events:#?}");
}
