//! Simulated controllers: a Deployment becomes Available after its scaled rollout time, seen by
//! the next request or by a watch that is waiting; service-account tokens, cert-manager and
//! volume claims.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{apply, call, crd, raw, watch};
use crate::kube::{FakeKube, FakeKubeOptions, Flavor};

const WEB: &str = "/east/apis/apps/v1/namespaces/default/deployments/web";

fn deployment(replicas: u32) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": { "name": "web" },
        "spec": { "replicas": replicas, "selector": { "matchLabels": { "app": "web" } },
                  "template": { "metadata": { "labels": { "app": "web" } }, "spec": { "containers": [{ "name": "web", "image": "nginx" }] } } }
    })
}

pub(super) fn available(object: &Value) -> bool {
    let conditions = object["status"]["conditions"].as_array().cloned().unwrap_or_default();
    conditions.iter().any(|c| c["type"] == "Available" && c["status"] == "True")
}

#[test]
fn a_deployment_becomes_available_once_its_rollout_time_has_passed() {
    // Instant by default: the answer to the apply has no status yet, the next request sees it.
    let kube = FakeKube::start_for_test();
    let created = apply(&kube, WEB, "ringform", "", &deployment(3)).expect(201, "").body;
    assert!(!available(&created));
    let now = call(&kube, "GET", WEB, None).ok();
    assert!(available(&now), "{now}");
    assert_eq!(
        (now["status"]["readyReplicas"].as_i64(), now["status"]["observedGeneration"].as_i64()),
        (Some(3), Some(1))
    );
    apply(&kube, WEB, "ringform", "", &deployment(5)).expect(200, "");
    let scaled = kube.get("east", ("apps/v1", "Deployment", Some("default"), "web")).expect("the deployment");
    assert_eq!(
        (scaled["status"]["availableReplicas"].as_i64(), scaled["status"]["observedGeneration"].as_i64()),
        (Some(5), Some(2))
    );
}

#[test]
fn a_waiting_watch_sees_the_rollout_end_after_the_scaled_delay() {
    // 10 s of rollout at 1/20 of real time.
    let options = FakeKubeOptions { time_scale: 0.05, ..FakeKubeOptions::default() };
    let kube = FakeKube::start(options).expect("a server");
    let started = Instant::now();
    let created = apply(&kube, WEB, "ringform", "", &deployment(2)).expect(201, "").body;
    let rv = created["metadata"]["resourceVersion"].as_str().expect("a resourceVersion");
    assert!(!available(&call(&kube, "GET", WEB, None).ok()), "not before its time");
    let target = format!(
        "/east/apis/apps/v1/namespaces/default/deployments?watch=true&timeoutSeconds=5&fieldSelector=metadata.name%3Dweb&resourceVersion={rv}"
    );
    let events = watch(&kube, &target, 1);
    assert_eq!(events[0]["type"], "MODIFIED");
    assert!(available(&events[0]["object"]), "{}", events[0]);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(450) && waited < Duration::from_secs(4), "{waited:?}");
}

/// A Deployment `name` in `namespace` whose pods carry label `app: <name>` and `env`.
pub(super) fn operator(namespace: &str, name: &str, env: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": { "name": name, "namespace": namespace },
        "spec": { "replicas": 1, "selector": { "matchLabels": { "app": name } },
                  "template": { "metadata": { "labels": { "app": name } }, "spec": { "containers": [{ "name": "manager", "image": "op", "env": env }] } } }
    })
}

pub(super) fn ready(object: &Value) -> bool {
    let conditions = object["status"]["conditions"].as_array().cloned().unwrap_or_default();
    conditions.iter().any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn decoded(secret: &Value, key: &str) -> String {
    use base64::Engine;
    let text = secret["data"][key].as_str().unwrap_or_else(|| panic!("no {key} in {secret}"));
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(text).expect("base64")).expect("UTF-8")
}

#[test]
fn a_service_account_token_secret_gets_a_token_that_opens_its_cluster_only() {
    let kube = FakeKube::start_for_test();
    let account = json!({ "apiVersion": "v1", "kind": "ServiceAccount", "metadata": { "name": "robot", "namespace": "default" } });
    kube.put("west", account).expect("a ServiceAccount");
    let secret = |name: &str, account: &str| {
        json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": { "name": name, "annotations": { "kubernetes.io/service-account.name": account } },
            "type": "kubernetes.io/service-account-token"
        })
    };
    call(&kube, "POST", "/west/api/v1/namespaces/default/secrets", Some(&secret("robot-token", "robot")))
        .expect(201, "");
    call(&kube, "POST", "/west/api/v1/namespaces/default/secrets", Some(&secret("ghost-token", "ghost")))
        .expect(201, "");
    let filled = call(&kube, "GET", "/west/api/v1/namespaces/default/secrets/robot-token", None).ok();
    assert_eq!((decoded(&filled, "ca.crt").as_str(), decoded(&filled, "namespace").as_str()), (kube.ca(), "default"));
    // The real controller deletes a token Secret whose ServiceAccount does not exist.
    call(&kube, "GET", "/west/api/v1/namespaces/default/secrets/ghost-token", None).expect(404, "NotFound");

    let token = decoded(&filled, "token");
    let as_robot = |path: &str| raw(&kube, "GET", path, "application/json", b"", Some(&token)).status;
    assert_eq!(as_robot("/west/api/v1/namespaces"), 200);
    assert_eq!(as_robot("/east/api/v1/namespaces"), 401, "another cluster's token");
    kube.delete("west", ("v1", "Secret", Some("default"), "robot-token"));
    assert_eq!(as_robot("/west/api/v1/namespaces"), 401, "deleting the Secret revokes its token");
}

#[test]
fn certificates_wait_for_cert_manager_and_their_issuer_then_are_issued_after_the_scaled_delay() {
    let kube = FakeKube::start(FakeKubeOptions { time_scale: 0.02, ..FakeKubeOptions::default() }).expect("a server");
    for kind in ["Certificate", "Issuer"] {
        kube.put("east", crd("cert-manager.io", "v1", kind, None)).expect("a CRD");
    }
    let issuer = json!({ "apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": { "name": "selfsigned", "namespace": "default" }, "spec": { "selfSigned": {} } });
    kube.put("east", issuer).expect("an Issuer");
    let certificate = json!({ "apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": { "name": "serving", "namespace": "default" },
        "spec": { "secretName": "serving-cert", "dnsNames": ["svc.default.svc"], "issuerRef": { "kind": "Issuer", "name": "selfsigned" } } });
    kube.put("east", certificate).expect("a Certificate");
    // An operator mounting the Secret cannot start before it exists.
    let mut webhook = operator("default", "webhook", json!([]));
    webhook["spec"]["template"]["spec"]["volumes"] =
        json!([{ "name": "cert", "secret": { "secretName": "serving-cert" } }]);
    kube.put("east", webhook).expect("a Deployment");
    let certificate = ("cert-manager.io/v1", "Certificate", Some("default"), "serving");
    let deployment = ("apps/v1", "Deployment", Some("default"), "webhook");
    std::thread::sleep(Duration::from_millis(400));
    assert!(!ready(&kube.get("east", certificate).expect("stored")), "no cert-manager yet");
    assert!(!available(&kube.get("east", deployment).expect("stored")));

    for name in ["cert-manager", "cert-manager-webhook", "cert-manager-cainjector"] {
        kube.put("east", operator("cert-manager", name, json!([]))).expect("a Deployment");
    }
    let started = Instant::now();
    while !available(&kube.get("east", deployment).expect("stored")) {
        assert!(started.elapsed() < Duration::from_secs(5), "never issued");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Rollout (10 s), the Issuer (1 s), issuing (5 s), the operator's rollout (10 s), at 1/50.
    assert!(started.elapsed() >= Duration::from_millis(500), "{:?}", started.elapsed());
    assert!(ready(&kube.get("east", certificate).expect("stored")));
    let secret = kube.get("east", ("v1", "Secret", Some("default"), "serving-cert")).expect("the Secret");
    assert_eq!(secret["type"], "kubernetes.io/tls");
    assert!(decoded(&secret, "tls.crt").starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(decoded(&secret, "tls.key").contains("PRIVATE KEY"));
}

#[test]
fn a_claim_binds_only_once_its_storage_class_exists_and_a_pod_uses_it() {
    let kube = FakeKube::start_for_test();
    kube.add_cluster_of("azure", Flavor::Aks).expect("a cluster");
    let claim = |class: &str| {
        json!({ "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": { "name": "data", "namespace": "default" },
        "spec": { "storageClassName": class, "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": "10Gi" } } } })
    };
    let pod = json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "name": "user", "namespace": "default" },
        "spec": { "containers": [{ "name": "c", "image": "i" }], "volumes": [{ "name": "d", "persistentVolumeClaim": { "claimName": "data" } }] } });
    let data = ("v1", "PersistentVolumeClaim", Some("default"), "data");
    let phase = |cluster: &str| kube.get(cluster, data).expect("the claim")["status"]["phase"].clone();
    for (cluster, class) in [("east", "gp3"), ("azure", "managed-csi-premium")] {
        kube.put(cluster, claim(class)).expect("a claim");
        assert_eq!(phase(cluster), "Pending", "WaitForFirstConsumer: no pod yet");
        kube.put(cluster, pod.clone()).expect("a pod");
    }
    assert_eq!(phase("azure"), "Bound");
    assert_eq!(phase("east"), "Pending", "EKS has no gp3 class");
    let gp3 = json!({ "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": { "name": "gp3" },
        "provisioner": "ebs.csi.aws.com", "parameters": { "type": "gp3" }, "volumeBindingMode": "WaitForFirstConsumer" });
    call(&kube, "POST", "/east/apis/storage.k8s.io/v1/storageclasses", Some(&gp3)).expect(201, "");
    let bound = kube.get("east", data).expect("the claim");
    assert_eq!(
        (bound["status"]["phase"].as_str(), bound["status"]["capacity"]["storage"].as_str()),
        (Some("Bound"), Some("10Gi"))
    );
    assert_eq!(bound["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"], "ebs.csi.aws.com");
}

#[test]
fn a_load_balancer_gets_a_hostname_on_eks_and_an_ip_on_aks() {
    let kube = FakeKube::start_for_test();
    kube.add_cluster_of("aks", Flavor::Aks).expect("a cluster");
    let service = |name: &str, annotations: Value| {
        json!({ "apiVersion": "v1", "kind": "Service",
        "metadata": { "name": name, "namespace": "kube-system", "annotations": annotations },
        "spec": { "type": "LoadBalancer", "selector": { "k8s-app": "kube-dns" }, "ports": [{ "port": 53, "protocol": "UDP" }] } })
    };
    let ingress = |cluster: &str, name: &str| {
        kube.get(cluster, ("v1", "Service", Some("kube-system"), name)).expect("the Service")["status"]["loadBalancer"]
            ["ingress"][0]
            .clone()
    };
    let internal = json!({ "service.beta.kubernetes.io/azure-load-balancer-internal": "true" });
    kube.put("aks", service("dns-lb", internal.clone())).expect("a Service");
    kube.put("aks", service("dns-lb-2", internal)).expect("a Service");
    kube.put("aks", service("public", json!({}))).expect("a Service");
    assert_eq!(
        (ingress("aks", "dns-lb")["ip"].as_str(), ingress("aks", "dns-lb-2")["ip"].as_str()),
        (Some("10.224.0.4"), Some("10.224.0.5"))
    );
    assert!(ingress("aks", "public")["ip"].as_str().expect("an IP").starts_with("20."));
    let internal = json!({ "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal" });
    kube.put("eks", service("dns-lb", internal)).expect("a Service");
    let hostname = ingress("eks", "dns-lb")["hostname"].as_str().expect("a hostname").to_string();
    assert!(hostname.starts_with("internal-a") && hostname.ends_with(".elb.amazonaws.com"), "{hostname}");
    assert!(ingress("eks", "dns-lb")["ip"].is_null());
}

#[test]
fn aks_coredns_takes_coredns_custom_only_when_restarted_and_eks_reloads_its_corefile() {
    let kube = FakeKube::start_for_test();
    kube.add_cluster_of("aks", Flavor::Aks).expect("a cluster");
    let custom = ("v1", "ConfigMap", Some("kube-system"), "coredns-custom");
    let stub = "west.svc.cluster.local:53 {\n  forward . 10.1.0.4\n}\n";
    assert!(kube.edit("aks", custom, |c| c["data"] = json!({ "west.server": stub })));
    assert!(kube.coredns_config("aks").expect("AKS")["west.server"].is_null(), "not before a restart");
    // What `kubectl rollout restart deployment coredns` sends.
    let restart = json!({ "spec": { "template": { "metadata": { "annotations": { "kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z" } } } } });
    let target = "/aks/apis/apps/v1/namespaces/kube-system/deployments/coredns";
    let body = serde_json::to_vec(&restart).expect("JSON");
    raw(&kube, "PATCH", target, "application/strategic-merge-patch+json", &body, Some(&kube.token())).ok();
    assert_eq!(kube.coredns_config("aks").expect("AKS")["west.server"], stub);

    let corefile = ("v1", "ConfigMap", Some("kube-system"), "coredns");
    kube.add_cluster("eks").expect("a cluster");
    assert!(kube.edit("eks", corefile, |c| c["data"]["Corefile"] = "changed".into()));
    assert_eq!(kube.coredns_config("eks").expect("EKS")["Corefile"], "changed");
}
