//! The simulated operators: cass-operator's CassandraDatacenters and webhook, the ring their
//! nodes' Management API reports, and the k8ssandra-operator control plane.

use std::time::Duration;

use serde_json::{Value, json};

use super::controllers::{available, operator, ready};
use super::{call, cassandra_task_crd, crd, wait_for};
use crate::kube::{FakeKube, FakeKubeOptions, Flavor};

const DCS: &str = "apis/cassandra.datastax.com/v1beta1/namespaces/db/cassandradatacenters";

const CASS_OPERATOR: (&str, &str, Option<&str>, &str) =
    ("apps/v1", "Deployment", Some("cass-operator"), "cass-operator-controller-manager");

/// cass-operator (with its webhook, as installed) and the CassandraDatacenter CRD in
/// `cluster`, once it is Available.
pub(super) fn cass_operator(kube: &FakeKube, cluster: &str) {
    install_cass_operator(kube, cluster, operator("cass-operator", "cass-operator-controller-manager", json!([])));
    wait_for("cass-operator", || kube.get(cluster, CASS_OPERATOR).is_some_and(|d| available(&d)));
}

fn install_cass_operator(kube: &FakeKube, cluster: &str, deployment: Value) {
    let namespace = json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": "db" } });
    kube.put(cluster, namespace).expect("a namespace");
    let crd = crd("cassandra.datastax.com", "v1beta1", "CassandraDatacenter", Some("cassandradatacenter"));
    kube.put(cluster, crd).expect("a CRD");
    kube.put(cluster, cassandra_task_crd()).expect("the CassandraTask CRD");
    kube.put(cluster, deployment).expect("the operator");
    webhook(kube, cluster, "cass-operator", "cass-operator-controller-manager", "vcassandradatacenter.kb.io");
}

/// A ValidatingWebhookConfiguration naming `webhook`, served through a Service by the pods of
/// Deployment `deployment`.
fn webhook(kube: &FakeKube, cluster: &str, namespace: &str, deployment: &str, webhook: &str) {
    let service = format!("{deployment}-webhook");
    kube.put(cluster, json!({ "apiVersion": "v1", "kind": "Service", "metadata": { "name": service, "namespace": namespace }, "spec": { "selector": { "app": deployment } } }))
        .expect("a Service");
    kube.put(cluster, json!({ "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration", "metadata": { "name": webhook },
        "webhooks": [{ "name": webhook, "clientConfig": { "service": { "name": service, "namespace": namespace, "path": "/validate" } } }] }))
        .expect("a webhook");
}

pub(super) fn gp3(kube: &FakeKube, cluster: &str) {
    let class = json!({ "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": { "name": "gp3" }, "provisioner": "ebs.csi.aws.com" });
    kube.put(cluster, class).expect("a StorageClass");
}

pub(super) fn datacenter(name: &str, racks: &[&str], size: u32, class: &str, seeds: &[&str]) -> Value {
    let racks: Vec<Value> = racks.iter().map(|r| json!({ "name": r })).collect();
    json!({ "apiVersion": "cassandra.datastax.com/v1beta1", "kind": "CassandraDatacenter", "metadata": { "name": name, "namespace": "db" },
        "spec": { "clusterName": "Ring", "serverType": "cassandra", "serverVersion": "4.1.5", "size": size, "racks": racks, "additionalSeeds": seeds,
                  "storageConfig": { "cassandraDataVolumeClaimSpec": { "storageClassName": class, "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": "5Gi" } } } } } })
}

pub(super) fn names(kube: &FakeKube, cluster: &str, kind: &str, selector: impl Fn(&Value) -> bool) -> Vec<String> {
    let mut names: Vec<String> = kube
        .objects(cluster)
        .into_iter()
        .filter(|o| o["kind"] == kind && selector(o))
        .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    names.sort();
    names
}

pub(super) fn seed_ips(kube: &FakeKube, cluster: &str) -> Vec<String> {
    kube.objects(cluster)
        .into_iter()
        .filter(|o| o["kind"] == "Pod" && o["metadata"]["labels"]["cassandra.datastax.com/seed-node"] == "true")
        .filter_map(|o| o["status"]["podIP"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_datacenter_comes_up_rack_by_rack_once_its_claims_bind() {
    let kube = FakeKube::start(FakeKubeOptions { time_scale: 0.001, ..FakeKubeOptions::default() }).expect("a server");
    cass_operator(&kube, "east");
    let path = format!("/east/{DCS}");
    call(&kube, "POST", &path, Some(&datacenter("DC1", &["r1", "r2"], 5, "gp3", &["10.9.0.1"]))).expect(201, "");
    std::thread::sleep(Duration::from_millis(100));
    let pods = names(&kube, "east", "Pod", |_| true);
    assert_eq!(
        pods,
        ["ring-dc1-r1-sts-0", "ring-dc1-r1-sts-1", "ring-dc1-r1-sts-2", "ring-dc1-r2-sts-0", "ring-dc1-r2-sts-1"]
    );
    let pod = kube.get("east", ("v1", "Pod", Some("db"), "ring-dc1-r2-sts-1")).expect("a pod");
    let labels = &pod["metadata"]["labels"];
    assert_eq!(
        (
            &labels["cassandra.datastax.com/cluster"],
            &labels["cassandra.datastax.com/datacenter"],
            &labels["cassandra.datastax.com/rack"]
        ),
        (&json!("Ring"), &json!("DC1"), &json!("r2"))
    );
    assert_eq!(
        names(&kube, "east", "Service", |o| o["metadata"]["namespace"] == "db"),
        ["ring-dc1-additional-seed-service", "ring-dc1-all-pods-service", "ring-dc1-service", "ring-seed-service"]
    );
    let slice = kube
        .get("east", ("discovery.k8s.io/v1", "EndpointSlice", Some("db"), "ring-dc1-additional-seed-service-ipv4"))
        .expect("a slice");
    assert_eq!(slice["endpoints"][0]["addresses"], json!(["10.9.0.1"]));
    assert_eq!(names(&kube, "east", "PersistentVolumeClaim", |_| true).len(), 5);
    // No gp3 class on EKS: the claims stay Pending and the datacenter never becomes Ready.
    std::thread::sleep(Duration::from_millis(500));
    let dc = call(&kube, "GET", &format!("{path}/DC1"), None).ok();
    assert!(!ready(&dc) && dc["status"]["cassandraOperatorProgress"] == "Updating", "{}", dc["status"]);

    gp3(&kube, "east");
    let took = wait_for("DC1 Ready", || ready(&call(&kube, "GET", &format!("{path}/DC1"), None).ok()));
    // Binding (10 s), then two and a half minutes per rack, at 1/1000.
    assert!(took >= Duration::from_millis(300), "{took:?}");
    let dc = call(&kube, "GET", &format!("{path}/DC1"), None).ok();
    assert_eq!(dc["status"]["cassandraOperatorProgress"], "Ready");
    assert!(
        dc["status"]["conditions"]
            .as_array()
            .expect("conditions")
            .iter()
            .any(|c| c["type"] == "Initialized" && c["status"] == "True")
    );
    assert_eq!(dc["status"]["nodeStatuses"].as_object().expect("node statuses").len(), 5);
    // Three seeds, split over the two racks: the first pods of each.
    let seeds = names(&kube, "east", "Pod", |o| o["metadata"]["labels"]["cassandra.datastax.com/seed-node"] == "true");
    assert_eq!(seeds, ["ring-dc1-r1-sts-0", "ring-dc1-r1-sts-1", "ring-dc1-r2-sts-0"]);
    let mut ips = seed_ips(&kube, "east");
    ips.sort();
    assert_eq!(ips, ["10.200.0.10", "10.200.0.11", "10.200.0.13"]);

    // The webhook refuses a new cluster name; deleting takes pods, services and claims.
    let mut renamed = dc.clone();
    renamed["spec"]["clusterName"] = "Other".into();
    let refused = call(&kube, "PUT", &format!("{path}/DC1"), Some(&renamed)).expect(403, "Forbidden");
    assert_eq!(
        refused.body["message"],
        "admission webhook \"vcassandradatacenter.kb.io\" denied the request: CassandraDatacenter write rejected, attempted to change clusterName"
    );
    call(&kube, "DELETE", &format!("{path}/DC1"), None).ok();
    std::thread::sleep(Duration::from_millis(50));
    call(&kube, "GET", &format!("{path}/DC1"), None).expect(404, "NotFound");
    for kind in ["Pod", "PersistentVolumeClaim", "Service", "StatefulSet", "EndpointSlice"] {
        assert!(names(&kube, "east", kind, |o| o["metadata"]["namespace"] == "db").is_empty(), "{kind}s left");
    }
}

#[test]
fn nothing_happens_to_a_datacenter_without_cass_operator_and_its_webhook_fails_while_it_is_down() {
    let kube = FakeKube::start_for_test();
    // Its webhook certificate is never issued, so it never starts.
    let mut deployment = operator("cass-operator", "cass-operator-controller-manager", json!([]));
    deployment["spec"]["template"]["spec"]["volumes"] =
        json!([{ "name": "certs", "secret": { "secretName": "webhook-server-cert" } }]);
    install_cass_operator(&kube, "east", deployment);
    let failed = call(&kube, "POST", &format!("/east/{DCS}"), Some(&datacenter("dc1", &[], 1, "gp3", &[])))
        .expect(500, "InternalError");
    assert!(
        failed.body["message"]
            .as_str()
            .expect("a message")
            .contains("failed calling webhook \"vcassandradatacenter.kb.io\"")
    );
    kube.delete(
        "east",
        ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", None, "vcassandradatacenter.kb.io"),
    );
    call(&kube, "POST", &format!("/east/{DCS}"), Some(&datacenter("dc1", &[], 1, "gp3", &[]))).expect(201, "");
    assert!(names(&kube, "east", "Pod", |_| true).is_empty());
}

/// What `pod` in `cluster` reports through the Management API: (DC, IP, IS_ALIVE) per endpoint.
pub(super) fn endpoints(kube: &FakeKube, cluster: &str, pod: &str) -> Vec<(String, String, String)> {
    let path = format!("/{cluster}/api/v1/namespaces/db/pods/{pod}:8080/proxy/api/v0/metadata/endpoints");
    let answer = call(kube, "GET", &path, None).ok();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let mut seen: Vec<(String, String, String)> = answer["entity"]
        .as_array()
        .expect("entity")
        .iter()
        .map(|e| (text(&e["DC"]), text(&e["ENDPOINT_IP"]), text(&e["IS_ALIVE"])))
        .collect();
    seen.sort();
    seen
}

#[test]
fn each_node_sees_the_datacenters_its_seeds_joined_and_a_partition_marks_them_down() {
    let kube = FakeKube::start_for_test();
    kube.add_cluster("east").expect("a cluster");
    kube.add_cluster_of("west", Flavor::Aks).expect("a cluster");
    for cluster in ["east", "west", "lonely"] {
        cass_operator(&kube, cluster);
    }
    gp3(&kube, "east");
    gp3(&kube, "lonely");
    kube.put("east", datacenter("dc1", &[], 1, "gp3", &[])).expect("dc1");
    let seeds = seed_ips(&kube, "east");
    assert_eq!(seeds, ["10.200.0.10"]);
    let seeds: Vec<&str> = seeds.iter().map(String::as_str).collect();
    kube.put("west", datacenter("dc2", &[], 1, "managed-csi", &seeds)).expect("dc2");
    // Same cluster name, but no seeds: a ring of its own.
    kube.put("lonely", datacenter("dc3", &[], 1, "gp3", &[])).expect("dc3");

    let up = |dc: &str, ip: &str, alive: &str| (dc.to_string(), ip.to_string(), alive.to_string());
    let ring = vec![up("dc1", "10.200.0.10", "true"), up("dc2", "10.201.0.10", "true")];
    assert_eq!(endpoints(&kube, "east", "ring-dc1-default-sts-0"), ring);
    assert_eq!(endpoints(&kube, "west", "ring-dc2-default-sts-0"), ring);
    assert_eq!(endpoints(&kube, "lonely", "ring-dc3-default-sts-0"), [up("dc3", "10.202.0.10", "true")]);

    kube.partition("west", "east");
    assert_eq!(
        endpoints(&kube, "east", "ring-dc1-default-sts-0"),
        [up("dc1", "10.200.0.10", "true"), up("dc2", "10.201.0.10", "false")]
    );
    kube.heal("east", "west");
    assert_eq!(endpoints(&kube, "east", "ring-dc1-default-sts-0"), ring);
    // Without its additional seeds dc2's EndpointSlice goes: the rings come apart.
    let dc2 = ("cassandra.datastax.com/v1beta1", "CassandraDatacenter", Some("db"), "dc2");
    kube.edit("west", dc2, |dc| dc["spec"]["additionalSeeds"] = json!([]));
    assert!(
        kube.get("west", ("discovery.k8s.io/v1", "EndpointSlice", Some("db"), "ring-dc2-additional-seed-service-ipv4"))
            .is_none()
    );
    assert_eq!(endpoints(&kube, "east", "ring-dc1-default-sts-0"), [up("dc1", "10.200.0.10", "true")]);

    let authorization = format!("Bearer {}", kube.token());
    let localdc = crate::http::client::request(
        &kube.endpoint(),
        "GET",
        "/west/api/v1/namespaces/db/pods/ring-dc2-default-sts-0:8080/proxy/api/v0/metadata/localdc",
        &[("Authorization", &authorization)],
        b"",
    );
    assert_eq!((localdc.status, localdc.body.as_str()), (200, "dc2"));
    call(&kube, "GET", "/west/api/v1/namespaces/db/pods/nope:8080/proxy/api/v0/metadata/endpoints", None)
        .expect(404, "NotFound");
    call(&kube, "GET", "/west/api/v1/namespaces/db/pods/ring-dc2-default-sts-0:9042/proxy/x", None)
        .expect(503, "ServiceUnavailable");
}

/// The k8ssandra-operator control plane in `east` (with its webhook) and a data plane in
/// `west`, each with cass-operator and the CRDs.
pub(super) fn k8ssandra(kube: &FakeKube) {
    for cluster in ["east", "west"] {
        cass_operator(kube, cluster);
        for (kind, fixture) in [("K8ssandraCluster", "k8ssandracluster"), ("ClientConfig", "clientconfig")] {
            let group = if kind == "ClientConfig" { "config.k8ssandra.io" } else { "k8ssandra.io" };
            let version = if kind == "ClientConfig" { "v1beta1" } else { "v1alpha1" };
            kube.put(cluster, crd(group, version, kind, Some(fixture))).expect("a CRD");
        }
        gp3(kube, cluster);
    }
    kube.put("east", json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": "k8ssandra-operator" } }))
        .expect("a namespace");
    let control_plane = json!([{ "name": "K8SSANDRA_CONTROL_PLANE", "value": "true" }]);
    kube.put("east", operator("k8ssandra-operator", "k8ssandra-operator", control_plane)).expect("the operator");
    webhook(kube, "east", "k8ssandra-operator", "k8ssandra-operator", "vk8ssandracluster.kb.io");
    wait_for("k8ssandra-operator", || kube.get("east", K8SSANDRA_OPERATOR).is_some_and(|d| available(&d)));
}

pub(super) const K8SSANDRA_OPERATOR: (&str, &str, Option<&str>, &str) =
    ("apps/v1", "Deployment", Some("k8ssandra-operator"), "k8ssandra-operator");

/// A kubeconfig Secret in `east` for `west`, with the token of a service account of `west`.
pub(super) fn remote_access(kube: &FakeKube) {
    kube.put("west", json!({ "apiVersion": "v1", "kind": "ServiceAccount", "metadata": { "name": "k8ssandra-operator", "namespace": "k8ssandra-operator" } }))
        .expect("an account");
    let token = json!({ "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
        "metadata": { "name": "token", "namespace": "k8ssandra-operator", "annotations": { "kubernetes.io/service-account.name": "k8ssandra-operator" } } });
    kube.put("west", token).expect("a token Secret");
    let token_secret = || kube.get("west", ("v1", "Secret", Some("k8ssandra-operator"), "token")).expect("the Secret");
    wait_for("the token", || token_secret()["data"]["token"].is_string());
    let token = token_secret();
    let token = {
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(token["data"]["token"].as_str().expect("a token"))
            .expect("base64");
        String::from_utf8(raw).expect("UTF-8")
    };
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: west\n  cluster:\n    server: {}/west\ncontexts:\n- name: west\n  context:\n    cluster: west\n    user: op\nusers:\n- name: op\n  user:\n    token: {token}\ncurrent-context: west\n",
        kube.https_endpoint()
    );
    let encoded = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(kubeconfig)
    };
    let secret = json!({ "apiVersion": "v1", "kind": "Secret", "metadata": { "name": "west-kubeconfig", "namespace": "k8ssandra-operator" },
        "data": { "kubeconfig": encoded } });
    kube.put("east", secret).expect("the kubeconfig Secret");
}

pub(super) fn k8ssandra_cluster(datacenters: Value) -> Value {
    json!({ "apiVersion": "k8ssandra.io/v1alpha1", "kind": "K8ssandraCluster", "metadata": { "name": "ring", "namespace": "db" },
        "spec": { "cassandra": { "clusterName": "Ring", "serverVersion": "4.1.5", "superuserSecretRef": { "name": "superuser" },
            "storageConfig": { "cassandraDataVolumeClaimSpec": { "storageClassName": "gp3", "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": "5Gi" } } } },
            "datacenters": datacenters } } })
}

#[test]
fn the_control_plane_loads_client_configs_on_restart_and_brings_datacenters_up_in_order() {
    let kube = FakeKube::start_for_test();
    k8ssandra(&kube);
    remote_access(&kube);
    let operator = K8SSANDRA_OPERATOR;
    let kcs = "/east/apis/k8ssandra.io/v1alpha1/namespaces/db/k8ssandraclusters";
    let two = json!([{ "metadata": { "name": "dc1" }, "size": 1 }, { "metadata": { "name": "dc2" }, "k8sContext": "west", "size": 2 }]);
    let refused = call(&kube, "POST", kcs, Some(&k8ssandra_cluster(two.clone()))).expect(403, "Forbidden");
    assert_eq!(
        refused.body["message"],
        "admission webhook \"vk8ssandracluster.kb.io\" denied the request: unable to find k8sContext west from ClientConfigs: No known client for context-name west"
    );

    // A new ClientConfig: the operator stops, starts again, and has annotated what it loaded.
    let config = json!({ "apiVersion": "config.k8ssandra.io/v1beta1", "kind": "ClientConfig", "metadata": { "name": "west", "namespace": "k8ssandra-operator" },
        "spec": { "contextName": "west", "kubeConfigSecret": { "name": "west-kubeconfig" } } });
    call(
        &kube,
        "POST",
        "/east/apis/config.k8ssandra.io/v1beta1/namespaces/k8ssandra-operator/clientconfigs",
        Some(&config),
    )
    .expect(201, "");
    let loaded = kube
        .get("east", ("config.k8ssandra.io/v1beta1", "ClientConfig", Some("k8ssandra-operator"), "west"))
        .expect("stored");
    let annotations = &loaded["metadata"]["annotations"];
    assert!(
        annotations["k8ssandra.io/resource-hash"].is_string() && annotations["k8ssandra.io/secret-hash"].is_string(),
        "{loaded}"
    );
    assert!(available(&kube.get("east", operator).expect("the operator")));

    kube.put("east", json!({ "apiVersion": "v1", "kind": "Secret", "metadata": { "name": "superuser", "namespace": "db" }, "data": { "username": "dQ==", "password": "cA==" } }))
        .expect("the superuser Secret");
    call(&kube, "POST", kcs, Some(&k8ssandra_cluster(two))).expect(201, "");
    let kc = call(&kube, "GET", &format!("{kcs}/ring"), None).ok();
    assert_eq!(kc["status"]["error"], "None", "{}", kc["status"]);
    assert!(
        kc["status"]["conditions"]
            .as_array()
            .expect("conditions")
            .iter()
            .any(|c| c["type"] == "CassandraInitialized" && c["status"] == "True")
    );
    for (dc, cluster) in [("dc1", "east"), ("dc2", "west")] {
        assert_eq!(kc["status"]["datacenters"][dc]["cassandra"]["cassandraOperatorProgress"], "Ready", "{dc}");
        let made = kube
            .get(cluster, ("cassandra.datastax.com/v1beta1", "CassandraDatacenter", Some("db"), dc))
            .expect("the datacenter");
        assert_eq!(made["spec"]["clusterName"], "Ring");
    }
    // dc2 joined through dc1's seed, in the EndpointSlice k8ssandra-operator writes, and the
    // superuser Secret was replicated to it.
    let slice = kube
        .get("west", ("discovery.k8s.io/v1", "EndpointSlice", Some("db"), "ring-ring-dc2-additional-seed-service-ipv4"))
        .expect("the seeds");
    assert_eq!(slice["endpoints"][0]["addresses"], json!(seed_ips(&kube, "east")));
    assert!(kube.get("west", ("v1", "Secret", Some("db"), "superuser")).is_some());
    assert_eq!(endpoints(&kube, "west", "ring-dc2-default-sts-0").len(), 3);

    // Adding and removing datacenters in one update is refused.
    let mut swapped = kc.clone();
    swapped["spec"]["cassandra"]["datacenters"] =
        json!([{ "metadata": { "name": "dc1" }, "size": 1 }, { "metadata": { "name": "dc3" }, "size": 1 }]);
    let refused = call(&kube, "PUT", &format!("{kcs}/ring"), Some(&swapped)).expect(403, "Forbidden");
    assert!(
        refused.body["message"]
            .as_str()
            .expect("a message")
            .ends_with("adding and removing DCs at the same time is prohibited as it can cause data loss")
    );

    // Deleting the K8ssandraCluster takes its datacenters with it.
    call(&kube, "DELETE", &format!("{kcs}/ring"), None).ok();
    call(&kube, "GET", &format!("{kcs}/ring"), None).expect(404, "NotFound");
    assert!(kube.get("west", ("cassandra.datastax.com/v1beta1", "CassandraDatacenter", Some("db"), "dc2")).is_none());
    assert!(names(&kube, "west", "Pod", |_| true).is_empty());
}

#[test]
fn the_control_plane_is_unavailable_for_a_few_seconds_while_it_restarts() {
    let kube = FakeKube::start(FakeKubeOptions { time_scale: 0.02, ..FakeKubeOptions::default() }).expect("a server");
    k8ssandra(&kube);
    remote_access(&kube);
    let wait =
        |up: bool| wait_for("the operator", || available(&kube.get("east", K8SSANDRA_OPERATOR).expect("stored")) == up);
    let config = json!({ "apiVersion": "config.k8ssandra.io/v1beta1", "kind": "ClientConfig", "metadata": { "name": "west", "namespace": "k8ssandra-operator" },
        "spec": { "kubeConfigSecret": { "name": "west-kubeconfig" } } });
    kube.put("east", config).expect("a ClientConfig");
    wait(false);
    // Restarting takes 5 s, at 1/50.
    let down = wait(true);
    assert!(down >= Duration::from_millis(80), "{down:?}");
}

#[test]
fn a_client_config_whose_kubeconfig_lacks_its_context_keeps_the_control_plane_from_starting() {
    let kube = FakeKube::start_for_test();
    k8ssandra(&kube);
    remote_access(&kube);
    // The kubeconfig's context is `west`; this ClientConfig asks for `far`.
    let config = json!({ "apiVersion": "config.k8ssandra.io/v1beta1", "kind": "ClientConfig", "metadata": { "name": "far", "namespace": "k8ssandra-operator" },
        "spec": { "kubeConfigSecret": { "name": "west-kubeconfig" } } });
    kube.put("east", config).expect("a ClientConfig");
    assert!(!available(&kube.get("east", K8SSANDRA_OPERATOR).expect("stored")), "crash-looping");
    kube.edit("east", ("config.k8ssandra.io/v1beta1", "ClientConfig", Some("k8ssandra-operator"), "far"), |c| {
        c["spec"]["contextName"] = "west".into();
    });
    assert!(available(&kube.get("east", K8SSANDRA_OPERATOR).expect("stored")));
}
