//! What a fresh cluster holds before anyone writes to it, modelled on a new EKS cluster: the
//! `default`, `kube-system` and `kube-public` namespaces, and CoreDNS's `coredns` ConfigMap
//! (EKS's default Corefile) and `kube-dns` Service in `kube-system`.

use serde_json::{Value, json};

use super::store::{ObjectKey, namespace_key};

/// The Corefile of the `coredns` ConfigMap EKS creates (its CoreDNS add-on's default).
pub const EKS_COREFILE: &str = ".:53 {
    errors
    health {
        lameduck 5s
      }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
    }
    prometheus :9153
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
    loadbalance
}
";

/// A Namespace as the API server creates it.
fn namespace(name: &str) -> Value {
    let mut namespace = json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": name } });
    namespace_fields(&mut namespace, name);
    namespace
}

/// What the API server sets on every Namespace written: the name label, and on a new one the
/// `kubernetes` finalizer and phase Active.
pub(super) fn namespace_fields(namespace: &mut Value, name: &str) {
    namespace["metadata"]["labels"]["kubernetes.io/metadata.name"] = name.into();
    if namespace["spec"]["finalizers"].is_null() {
        namespace["spec"]["finalizers"] = json!(["kubernetes"]);
    }
    if namespace["status"]["phase"].is_null() {
        namespace["status"]["phase"] = "Active".into();
    }
}

pub(super) fn objects() -> Vec<(ObjectKey, Value)> {
    let in_kube_system = |plural: &str, name: &str| ObjectKey {
        group: String::new(),
        plural: plural.into(),
        namespace: "kube-system".into(),
        name: name.into(),
    };
    let dns_labels = json!({ "k8s-app": "kube-dns", "eks.amazonaws.com/component": "coredns" });
    let mut objects: Vec<(ObjectKey, Value)> =
        ["default", "kube-system", "kube-public"].into_iter().map(|n| (namespace_key(n), namespace(n))).collect();
    objects.push((
        in_kube_system("configmaps", "coredns"),
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": { "name": "coredns", "namespace": "kube-system", "labels": dns_labels },
            "data": { "Corefile": EKS_COREFILE }
        }),
    ));
    objects.push((
        in_kube_system("services", "kube-dns"),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "kube-dns",
                "namespace": "kube-system",
                "labels": { "k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS", "eks.amazonaws.com/component": "kube-dns" }
            },
            "spec": {
                "type": "ClusterIP",
                "clusterIP": "10.100.0.10",
                "clusterIPs": ["10.100.0.10"],
                "selector": { "k8s-app": "kube-dns" },
                "ports": [
                    { "name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53 },
                    { "name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53 },
                    { "name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153 }
                ]
            },
            "status": { "loadBalancer": {} }
        }),
    ));
    objects
}
