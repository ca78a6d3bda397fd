//! What a fresh cluster holds before anyone writes to it, modelled on a new EKS or AKS cluster:
//! the `default`, `kube-system` and `kube-public` namespaces; CoreDNS's `coredns` ConfigMap
//! (the flavour's default Corefile; AKS adds the `coredns-custom` ConfigMap it imports) and
//! `kube-dns` Service and `coredns` Deployment in `kube-system`; and the StorageClasses the flavour ships. EKS has only
//! `gp2` (no `gp3`: whoever wants it creates it); AKS has `default`, `managed-csi` and
//! `managed-csi-premium` (Azure Disk CSI) and the Azure Files classes.

use serde_json::{Value, json};

use super::Flavor;
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

/// The Corefile of the `coredns` ConfigMap AKS creates: the same plugins, and imports of what
/// the `coredns-custom` ConfigMap holds (`*.override` inside the server block, `*.server`
/// beside it).
pub const AKS_COREFILE: &str = ".:53 {
    errors
    ready
    health {
      lameduck 5s
    }
    kubernetes cluster.local in-addr.arpa ip6.arpa {
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
      ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
    loadbalance
    import custom/*.override
}
import custom/*.server
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

pub(super) fn objects(flavor: Flavor) -> Vec<(ObjectKey, Value)> {
    let in_kube_system = |plural: &str, name: &str| ObjectKey {
        group: String::new(),
        plural: plural.into(),
        namespace: "kube-system".into(),
        name: name.into(),
    };
    let (corefile, dns_labels, service_labels, dns_ip) = match flavor {
        Flavor::Eks => (
            EKS_COREFILE,
            json!({ "k8s-app": "kube-dns", "eks.amazonaws.com/component": "coredns" }),
            json!({ "k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS", "eks.amazonaws.com/component": "kube-dns" }),
            "10.100.0.10",
        ),
        Flavor::Aks => (
            AKS_COREFILE,
            json!({ "k8s-app": "kube-dns", "addonmanager.kubernetes.io/mode": "Reconcile" }),
            json!({ "k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS", "addonmanager.kubernetes.io/mode": "Reconcile" }),
            "10.0.0.10",
        ),
    };
    let mut objects: Vec<(ObjectKey, Value)> =
        ["default", "kube-system", "kube-public"].into_iter().map(|n| (namespace_key(n), namespace(n))).collect();
    objects.push((
        in_kube_system("configmaps", "coredns"),
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": { "name": "coredns", "namespace": "kube-system", "labels": dns_labels },
            "data": { "Corefile": corefile }
        }),
    ));
    if flavor == Flavor::Aks {
        objects.push((
            in_kube_system("configmaps", "coredns-custom"),
            json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": { "name": "coredns-custom", "namespace": "kube-system", "labels": { "k8s-app": "kube-dns", "addonmanager.kubernetes.io/mode": "EnsureExists" } }
            }),
        ));
    }
    objects.push((
        in_kube_system("services", "kube-dns"),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": { "name": "kube-dns", "namespace": "kube-system", "labels": service_labels },
            "spec": {
                "type": "ClusterIP",
                "clusterIP": dns_ip,
                "clusterIPs": [dns_ip],
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
    objects.push((
        ObjectKey {
            group: "apps".into(),
            plural: "deployments".into(),
            namespace: "kube-system".into(),
            name: "coredns".into(),
        },
        coredns_deployment(),
    ));
    objects.extend(storage_classes(flavor));
    objects
}

/// CoreDNS's Deployment, running: it reads its ConfigMaps when its pods start, so a change to
/// what it only imports at start (AKS's `coredns-custom`) needs `kubectl rollout restart`.
fn coredns_deployment() -> Value {
    let available = |kind: &str, reason: &str| json!({ "type": kind, "status": "True", "reason": reason });
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": "coredns", "namespace": "kube-system", "labels": { "k8s-app": "kube-dns" } },
        "spec": {
            "replicas": 2,
            "selector": { "matchLabels": { "k8s-app": "kube-dns" } },
            "template": {
                "metadata": { "labels": { "k8s-app": "kube-dns" } },
                "spec": { "containers": [{ "name": "coredns", "image": "coredns/coredns", "args": ["-conf", "/etc/coredns/Corefile"] }] }
            }
        },
        "status": {
            "observedGeneration": 1, "replicas": 2, "readyReplicas": 2, "availableReplicas": 2, "updatedReplicas": 2,
            "conditions": [available("Available", "MinimumReplicasAvailable"), available("Progressing", "NewReplicaSetAvailable")]
        }
    })
}

/// (name, provisioner, parameters, default class)
type Class = (&'static str, &'static str, Value, bool);

fn storage_classes(flavor: Flavor) -> Vec<(ObjectKey, Value)> {
    let classes: Vec<Class> = match flavor {
        // In-tree EBS, no longer the default class since EKS 1.30.
        Flavor::Eks => vec![("gp2", "kubernetes.io/aws-ebs", json!({ "type": "gp2", "fsType": "ext4" }), false)],
        Flavor::Aks => vec![
            ("default", "disk.csi.azure.com", json!({ "skuname": "StandardSSD_LRS" }), true),
            ("managed-csi", "disk.csi.azure.com", json!({ "skuname": "StandardSSD_LRS" }), false),
            ("managed-csi-premium", "disk.csi.azure.com", json!({ "skuname": "Premium_LRS" }), false),
            ("azurefile-csi", "file.csi.azure.com", json!({ "skuName": "Standard_LRS" }), false),
            ("azurefile-csi-premium", "file.csi.azure.com", json!({ "skuName": "Premium_LRS" }), false),
        ],
    };
    classes
        .into_iter()
        .map(|(name, provisioner, parameters, default)| {
            let mut class = json!({
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": { "name": name },
                "provisioner": provisioner,
                "parameters": parameters,
                "reclaimPolicy": "Delete",
                "volumeBindingMode": "WaitForFirstConsumer",
                "allowVolumeExpansion": flavor == Flavor::Aks,
            });
            if default {
                class["metadata"]["annotations"] = json!({ "storageclass.kubernetes.io/is-default-class": "true" });
            }
            let key = ObjectKey {
                group: "storage.k8s.io".into(),
                plural: "storageclasses".into(),
                namespace: String::new(),
                name: name.into(),
            };
            (key, class)
        })
        .collect()
}
