//! Cassandra's keyspaces and jobs, driven as a client drives them: through each pod's
//! Management API behind the pod proxy, with the wire formats of management-api-for-apache-cassandra.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::operators::{cass_operator, datacenter, gp3, seed_ips};
use super::wait_for;
use crate::http::client;
use crate::kube::{FakeKube, FakeKubeOptions, Flavor, Happened, Replication};

pub(super) const DC1_POD: &str = "ring-dc1-default-sts-0";
pub(super) const DC2_PODS: [&str; 2] = ["ring-dc2-default-sts-0", "ring-dc2-default-sts-1"];

/// cass-operator in `east` and `west`; dc1 (3 nodes) in `east`, then dc2 (2 nodes) in `west`
/// joined through dc1's seeds; both Ready.
pub(super) fn two_datacenters(kube: &FakeKube) {
    kube.add_cluster("east").expect("a cluster");
    kube.add_cluster_of("west", Flavor::Aks).expect("a cluster");
    for cluster in ["east", "west"] {
        cass_operator(kube, cluster);
    }
    gp3(kube, "east");
    kube.put("east", datacenter("dc1", &[], 3, "gp3", &[])).expect("dc1");
    wait_for("dc1's seeds", || seed_ips(kube, "east").len() == 3);
    let seeds = seed_ips(kube, "east");
    let seeds: Vec<&str> = seeds.iter().map(String::as_str).collect();
    kube.put("west", datacenter("dc2", &[], 2, "managed-csi", &seeds)).expect("dc2");
    wait_for("dc2 Ready", || ready(kube, "west", "dc2"));
}

fn ready(kube: &FakeKube, cluster: &str, dc: &str) -> bool {
    kube.get(cluster, ("cassandra.datastax.com/v1beta1", "CassandraDatacenter", Some("db"), dc))
        .is_some_and(|d| super::controllers::ready(&d))
}

/// One request to `pod`'s Management API through the pod proxy: (status, body).
pub(super) fn management(
    kube: &FakeKube,
    cluster: &str,
    pod: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, String) {
    let authorization = format!("Bearer {}", kube.token());
    let target = format!("/{cluster}/api/v1/namespaces/db/pods/{pod}:8080/proxy/{path}");
    let body = body.map(Value::to_string).unwrap_or_default();
    let headers = [("Authorization", authorization.as_str()), ("Content-Type", "application/json")];
    let answer = client::request(&kube.endpoint(), method, &target, &headers, body.as_bytes());
    (answer.status, answer.body)
}

/// The body of `POST api/v0/ops/keyspace/create` or `…/alter`.
pub(super) fn keyspace_request(keyspace: &str, factors: &[(&str, u32)]) -> Value {
    let settings: Vec<Value> =
        factors.iter().map(|(dc, rf)| json!({ "dc_name": dc, "replication_factor": rf })).collect();
    json!({ "keyspace_name": keyspace, "replication_settings": settings })
}

/// Alters a keyspace through `pod` (in `east` when it is dc1's, else `west`).
pub(super) fn alter(kube: &FakeKube, pod: &str, keyspace: &str, factors: &[(&str, u32)]) -> (u16, String) {
    let cluster = if pod.contains("dc1") { "east" } else { "west" };
    let body = keyspace_request(keyspace, factors);
    management(kube, cluster, pod, "POST", "api/v0/ops/keyspace/alter", Some(&body))
}

/// What `pod`'s job `id` is, as the job endpoint answers.
pub(super) fn job(kube: &FakeKube, cluster: &str, pod: &str, id: &str) -> Value {
    let (status, body) = management(kube, cluster, pod, "GET", &format!("api/v0/ops/executor/job?job_id={id}"), None);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("a job")
}

/// The datacenters a ring's keyspace is held in.
pub(super) fn held_in(kube: &FakeKube, keyspace: &str) -> Vec<String> {
    kube.keyspaces("Ring").get(keyspace).map(|k| k.held_in.iter().cloned().collect()).unwrap_or_default()
}

/// What happened to the ring, without the times.
pub(super) fn happened(kube: &FakeKube) -> Vec<Happened> {
    kube.cassandra_events().into_iter().map(|e| e.what).collect()
}

/// The position of `what` in `events`; fails when it is not there.
#[track_caller]
pub(super) fn position(events: &[Happened], what: &Happened) -> usize {
    events.iter().position(|e| e == what).unwrap_or_else(|| panic!("{what:?} not in {events:#?}"))
}

#[test]
fn the_first_datacenter_seeds_the_system_keyspaces_and_the_next_joins_the_ring() {
    let kube = FakeKube::start_for_test();
    two_datacenters(&kube);
    let keyspaces = kube.keyspaces("Ring");
    let defaults: Vec<(&str, Replication)> =
        keyspaces.iter().map(|(k, v)| (k.as_str(), v.replication.clone())).collect();
    assert_eq!(
        defaults,
        [
            ("system_auth", Replication::Simple { factor: 1 }),
            ("system_distributed", Replication::Simple { factor: 3 }),
            ("system_traces", Replication::Simple { factor: 2 }),
        ]
    );
    // dc2 bootstrapped a share of SimpleStrategy data, not a copy.
    assert_eq!(held_in(&kube, "system_auth"), ["dc1"]);
    let dc = |name: &str| name.to_string();
    assert_eq!(
        happened(&kube),
        [
            Happened::RingSeeded { datacenter: dc("dc1") },
            Happened::DatacenterReady { datacenter: dc("dc1") },
            Happened::DatacenterJoined { datacenter: dc("dc2") },
            Happened::DatacenterReady { datacenter: dc("dc2") },
        ]
    );

    // A datacenter whose JVM options override the system keyspaces' replication (as
    // k8ssandra-operator's first one does) seeds them with NetworkTopologyStrategy.
    cass_operator(&kube, "far");
    gp3(&kube, "far");
    let mut lone = datacenter("dc3", &[], 1, "gp3", &[]);
    lone["spec"]["clusterName"] = "Lone".into();
    lone["spec"]["config"] =
        json!({ "cassandra-env-sh": { "additional-jvm-opts": ["-Dcassandra.system_distributed_replication=dc3:1"] } });
    kube.put("far", lone).expect("dc3");
    let lone = kube.keyspaces("Lone");
    assert_eq!(lone["system_traces"].replication, Replication::per_datacenter(&[("dc3", 1)]));
    assert_eq!(lone["system_auth"].held_in, BTreeSet::from(["dc3".to_string()]));
}

#[test]
fn keyspaces_are_listed_created_and_altered_as_cassandra_allows() {
    let kube = FakeKube::start_for_test();
    two_datacenters(&kube);
    let create = |body: &Value| management(&kube, "east", DC1_POD, "POST", "api/v0/ops/keyspace/create", Some(body));
    assert_eq!(create(&keyspace_request("orders", &[("dc1", 3)])), (200, "OK".into()));
    // IF NOT EXISTS: creating it again changes nothing.
    assert_eq!(create(&keyspace_request("orders", &[("dc2", 1)])), (200, "OK".into()));
    assert_eq!(
        create(&keyspace_request("bad", &[("dc9", 1)])),
        (500, "Unrecognized strategy option {dc9} passed to NetworkTopologyStrategy for keyspace bad".into())
    );
    assert_eq!(
        create(&json!({ "replication_settings": [{ "dc_name": "dc1", "replication_factor": 1 }] })),
        (400, "Keyspace creation failed. Non-empty 'keyspace_name' must be provided".into())
    );
    assert_eq!(
        create(&json!({ "keyspace_name": "x" })),
        (400, "Keyspace creation failed. 'replication_settings' must be provided".into())
    );

    let (status, listed) = management(&kube, "west", DC2_PODS[0], "GET", "api/v0/ops/keyspace", None);
    let listed: Vec<String> = serde_json::from_str(&listed).expect("a list");
    assert_eq!(
        (status, listed),
        (
            200,
            ["system", "system_schema", "orders", "system_auth", "system_distributed", "system_traces"]
                .map(String::from)
                .to_vec()
        )
    );
    let one = management(&kube, "west", DC2_PODS[0], "GET", "api/v0/ops/keyspace?keyspaceName=orders", None);
    assert_eq!(one, (200, r#"["orders"]"#.into()));
    let replication = |keyspace: &str| {
        management(
            &kube,
            "east",
            DC1_POD,
            "GET",
            &format!("api/v0/ops/keyspace/replication?keyspaceName={keyspace}"),
            None,
        )
    };
    let (status, body) = replication("orders");
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("JSON"),
        json!({ "class": "org.apache.cassandra.locator.NetworkTopologyStrategy", "dc1": "3" })
    );
    let (_, body) = replication("system_auth");
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("JSON"),
        json!({ "class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "1" })
    );
    assert_eq!(replication("nope"), (404, "Get keyspace replication failed. Keyspace 'nope' does not exist.".into()));
    assert_eq!(
        management(&kube, "east", DC1_POD, "GET", "api/v0/ops/keyspace/replication", None),
        (400, "Get keyspace replication failed. Non-empty 'keyspaceName' must be provided".into())
    );

    // Cassandra 4.1 wants every datacenter with nodes in system_auth's replication.
    assert_eq!(
        alter(&kube, DC1_POD, "system_auth", &[("dc1", 3)]),
        (
            500,
            "Following datacenters have active nodes and must be present in replication options for keyspace system_auth: [dc2]"
                .into()
        )
    );
    assert_eq!(alter(&kube, DC1_POD, "system_auth", &[("dc1", 3), ("dc2", 2)]), (200, "OK".into()));
    assert_eq!(
        alter(&kube, DC1_POD, "orders", &[("dc1", 3), ("dc9", 1)]),
        (500, "Unrecognized strategy option {dc9} passed to NetworkTopologyStrategy for keyspace orders".into())
    );
    assert_eq!(alter(&kube, DC1_POD, "nope", &[("dc1", 1)]), (500, "Keyspace 'nope' doesn't exist".into()));
    assert_eq!(
        alter(&kube, DC1_POD, "system", &[("dc1", 1)]),
        (500, "System keyspace 'system' is not user-modifiable".into())
    );
    // A factor above a datacenter's size is only a warning in Cassandra.
    assert_eq!(alter(&kube, DC2_PODS[1], "orders", &[("dc1", 3), ("dc2", 5)]), (200, "OK".into()));

    // In the replication is not holding the data: dc2 has not been rebuilt.
    let keyspaces = kube.keyspaces("Ring");
    assert_eq!(keyspaces["orders"].replication, Replication::per_datacenter(&[("dc1", 3), ("dc2", 5)]));
    assert_eq!(held_in(&kube, "orders"), ["dc1"]);
    assert_eq!(held_in(&kube, "system_auth"), ["dc1"]);
    // Leaving a datacenter out drops its copy; factors of 0 are left out.
    assert_eq!(alter(&kube, DC1_POD, "orders", &[("dc1", 0), ("dc2", 5)]), (200, "OK".into()));
    assert!(held_in(&kube, "orders").is_empty());

    assert_eq!(
        management(&kube, "east", DC1_POD, "GET", "api/v0/ops/keyspace/alter", None),
        (405, "HTTP 405 Method Not Allowed".into())
    );
    assert_eq!(management(&kube, "east", DC1_POD, "GET", "api/v0/nope", None), (404, "HTTP 404 Not Found".into()));
    let events = happened(&kube);
    let created = Happened::KeyspaceCreated {
        keyspace: "orders".into(),
        replication: Replication::per_datacenter(&[("dc1", 3)]),
    };
    let auth = Happened::ReplicationChanged {
        keyspace: "system_auth".into(),
        replication: Replication::per_datacenter(&[("dc1", 3), ("dc2", 2)]),
    };
    assert!(position(&events, &created) < position(&events, &auth));
}

#[test]
fn rebuilds_and_decommissions_run_as_jobs_the_job_endpoint_reports() {
    let kube = FakeKube::start(FakeKubeOptions { time_scale: 0.02, ..FakeKubeOptions::default() }).expect("a server");
    two_datacenters(&kube);
    kube.create_keyspace("Ring", "orders", &[("dc1", 3)]).expect("orders");
    assert_eq!(alter(&kube, DC1_POD, "orders", &[("dc1", 3), ("dc2", 2)]), (200, "OK".into()));
    let post = |pod: &str, path: &str| {
        let (status, id) = management(&kube, "west", pod, "POST", path, None);
        assert_eq!(status, 202, "{id}");
        id
    };

    let refused = post(DC2_PODS[0], "api/v1/ops/node/rebuild?src_dc=dc9");
    let failed = job(&kube, "west", DC2_PODS[0], &refused);
    assert_eq!((&failed["type"], &failed["status"]), (&json!("rebuild"), &json!("ERROR")));
    assert_eq!(
        failed["error"],
        "java.lang.IllegalArgumentException: Provided datacenter 'dc9' is not a valid datacenter, available datacenters are: dc1,dc2"
    );

    // A rebuild streams for a simulated minute: WAITING, then COMPLETED.
    let first = post(DC2_PODS[0], "api/v1/ops/node/rebuild?src_dc=dc1");
    let waiting = job(&kube, "west", DC2_PODS[0], &first);
    assert_eq!(
        (&waiting["status"], &waiting["end_time"], &waiting["error"]),
        (&json!("WAITING"), &json!("0"), &Value::Null)
    );
    let took = wait_for("the rebuild", || job(&kube, "west", DC2_PODS[0], &first)["status"] == "COMPLETED");
    assert!(took.as_millis() >= 900, "{took:?}");
    // One of dc2's two nodes holds the data: the datacenter does not yet.
    assert_eq!(held_in(&kube, "orders"), ["dc1"]);
    let second = post(DC2_PODS[1], "api/v1/ops/node/rebuild?src_dc=dc1");
    wait_for("the second rebuild", || job(&kube, "west", DC2_PODS[1], &second)["status"] == "COMPLETED");
    assert_eq!(held_in(&kube, "orders"), ["dc1", "dc2"]);
    // Jobs are each node's own.
    let elsewhere =
        management(&kube, "west", DC2_PODS[1], "GET", &format!("api/v0/ops/executor/job?job_id={first}"), None);
    assert_eq!(elsewhere, (404, "{}".into()));

    // Unforced, a node may not leave a datacenter with no more nodes than replicas.
    let (_, unforced) = management(&kube, "east", DC1_POD, "POST", "api/v1/ops/node/decommission", None);
    assert_eq!(
        job(&kube, "east", DC1_POD, &unforced)["error"],
        "java.lang.UnsupportedOperationException: Not enough live nodes to maintain replication factor in keyspace orders (RF = 3, N = 3). Perform a forceful decommission to ignore."
    );
    let leaving = post(DC2_PODS[1], "api/v1/ops/node/decommission?force=true");
    let status_of = |pod: &str| -> String {
        let (_, body) = management(&kube, "east", DC1_POD, "GET", "api/v0/metadata/endpoints", None);
        let body: Value = serde_json::from_str(&body).expect("endpoints");
        let ip = kube.get("west", ("v1", "Pod", Some("db"), pod)).expect("the pod")["status"]["podIP"].clone();
        let entry = body["entity"].as_array().expect("entity").iter().find(|e| e["ENDPOINT_IP"] == ip).cloned();
        entry
            .map(|e| {
                format!(
                    "{} {}",
                    e["STATUS"].as_str().unwrap_or_default().split(',').next().unwrap_or_default(),
                    e["IS_ALIVE"]
                )
            })
            .unwrap_or_default()
    };
    assert_eq!(status_of(DC2_PODS[1]), "LEAVING \"true\"");
    // Replication may not change while a node moves (without allow_alter_rf_during_range_movement).
    let (status, refusal) = alter(&kube, DC1_POD, "orders", &[("dc1", 3)]);
    assert_eq!(status, 500);
    assert!(
        refusal.starts_with(
            "Cannot alter RF while some endpoints are not in normal state (no range movements): [/10.201.0."
        ),
        "{refusal}"
    );
    wait_for("the decommission", || job(&kube, "west", DC2_PODS[1], &leaving)["status"] == "COMPLETED");
    assert_eq!(status_of(DC2_PODS[1]), "LEFT \"false\"");
    // Its data streamed away; dc2's other node is all the datacenter has.
    assert_eq!(held_in(&kube, "orders"), ["dc1", "dc2"]);
    let events = happened(&kube);
    let started = Happened::DecommissionStarted { datacenter: "dc2".into(), node: DC2_PODS[1].into() };
    let done = Happened::NodeDecommissioned { datacenter: "dc2".into(), node: DC2_PODS[1].into() };
    assert!(position(&events, &started) < position(&events, &done));
}
