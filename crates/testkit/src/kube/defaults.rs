//! What a fresh cluster holds before anyone writes to it, modelled on a new EKS or AKS cluster:
//! the `default`, `kube-system` and `kube-public` namespaces; CoreDNS's `coredns` ConfigMap
//! (the flavour's default Corefile; AKS adds the `coredns-custom` ConfigMap it imports) and
//! `kube-dns` Service and `coredns` Deployment in `kube-system`; and the StorageClasses the flavour ships. EKS has only
//! `gp2` (no `gp3`: whoever wants it creates it); AKS has `default`, `managed-csi` and
//! `managed-csi-premium` (Azure Disk CSI) and the Azure Files classes. EKS also runs the
//! Amazon VPC CNI: its `aws-node` DaemonSet, applied by EKS (field manager `eks`), and the
//! `ENIConfig` CRD it ships.

use serde_json::{Value, json};

use super::Flavor;
use super::crd;
use super::fields::{self, Scope, Writer};
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
    if flavor == Flavor::Eks {
        objects.push((
            ObjectKey {
                group: "apps".into(),
                plural: "daemonsets".into(),
                namespace: "kube-system".into(),
                name: "aws-node".into(),
            },
            aws_node(),
        ));
        objects.push((
            ObjectKey {
                group: "apiextensions.k8s.io".into(),
                plural: "customresourcedefinitions".into(),
                namespace: String::new(),
                name: "eniconfigs.crd.k8s.amazonaws.com".into(),
            },
            eni_config_crd(),
        ));
    }
    objects
}

/// The VPC CNI's `aws-node` DaemonSet as EKS makes it (v1.20, trimmed of probes), owned by
/// field manager `eks` as EKS's server-side apply leaves it. Its image names the region of
/// the upstream manifest: the fake's clusters have none. No nodes run yet: nothing scheduled.
fn aws_node() -> Value {
    let env: Vec<Value> = [
        ("ADDITIONAL_ENI_TAGS", "{}"),
        ("AWS_VPC_CNI_NODE_PORT_SUPPORT", "true"),
        ("AWS_VPC_ENI_MTU", "9001"),
        ("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "false"),
        ("AWS_VPC_K8S_CNI_EXTERNALSNAT", "false"),
        ("AWS_VPC_K8S_CNI_LOGLEVEL", "DEBUG"),
        ("AWS_VPC_K8S_CNI_LOG_FILE", "/host/var/log/aws-routed-eni/ipamd.log"),
        ("AWS_VPC_K8S_CNI_RANDOMIZESNAT", "prng"),
        ("AWS_VPC_K8S_CNI_VETHPREFIX", "eni"),
        ("AWS_VPC_K8S_PLUGIN_LOG_FILE", "/var/log/aws-routed-eni/plugin.log"),
        ("AWS_VPC_K8S_PLUGIN_LOG_LEVEL", "DEBUG"),
        ("DISABLE_INTROSPECTION", "false"),
        ("DISABLE_METRICS", "false"),
        ("DISABLE_NETWORK_RESOURCE_PROVISIONING", "false"),
        ("ENABLE_IPv4", "true"),
        ("ENABLE_IPv6", "false"),
        ("ENABLE_POD_ENI", "false"),
        ("ENABLE_PREFIX_DELEGATION", "false"),
        ("ENABLE_SUBNET_DISCOVERY", "true"),
        ("VPC_CNI_VERSION", "v1.20.0"),
        ("WARM_ENI_TARGET", "1"),
        ("WARM_PREFIX_TARGET", "1"),
    ]
    .into_iter()
    .map(|(name, value)| json!({ "name": name, "value": value }))
    .chain(["MY_NODE_NAME", "MY_POD_NAME"].into_iter().zip(["spec.nodeName", "metadata.name"]).map(
        |(name, path)| json!({ "name": name, "valueFrom": { "fieldRef": { "apiVersion": "v1", "fieldPath": path } } }),
    ))
    .collect();
    let registry = "602401143452.dkr.ecr.us-west-2.amazonaws.com";
    let labels = json!({ "app.kubernetes.io/name": "aws-node", "app.kubernetes.io/instance": "aws-vpc-cni", "k8s-app": "aws-node" });
    let mount = |name: &str, path: &str| json!({ "name": name, "mountPath": path });
    let host_path = |name: &str, path: &str| json!({ "name": name, "hostPath": { "path": path } });
    let created = json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": { "name": "aws-node", "namespace": "kube-system", "labels": labels },
        "spec": {
            "selector": { "matchLabels": { "k8s-app": "aws-node" } },
            "updateStrategy": { "type": "RollingUpdate", "rollingUpdate": { "maxUnavailable": "10%" } },
            "template": {
                "metadata": { "labels": labels },
                "spec": {
                    "priorityClassName": "system-node-critical",
                    "serviceAccountName": "aws-node",
                    "hostNetwork": true,
                    "tolerations": [{ "operator": "Exists" }],
                    "initContainers": [{
                        "name": "aws-vpc-cni-init",
                        "image": format!("{registry}/amazon-k8s-cni-init:v1.20.0-eksbuild.1"),
                        "env": [{ "name": "DISABLE_TCP_EARLY_DEMUX", "value": "false" }, { "name": "ENABLE_IPv6", "value": "false" }],
                        "securityContext": { "privileged": true },
                        "volumeMounts": [mount("cni-bin-dir", "/host/opt/cni/bin")]
                    }],
                    "containers": [
                        {
                            "name": "aws-node",
                            "image": format!("{registry}/amazon-k8s-cni:v1.20.0-eksbuild.1"),
                            "ports": [{ "containerPort": 61678, "name": "metrics" }],
                            "env": env,
                            "resources": { "requests": { "cpu": "25m" } },
                            "securityContext": { "capabilities": { "add": ["NET_ADMIN", "NET_RAW"] } },
                            "volumeMounts": [
                                mount("cni-bin-dir", "/host/opt/cni/bin"),
                                mount("cni-net-dir", "/host/etc/cni/net.d"),
                                mount("log-dir", "/host/var/log/aws-routed-eni"),
                                mount("run-dir", "/var/run/aws-node"),
                                mount("xtables-lock", "/run/xtables.lock")
                            ]
                        },
                        {
                            "name": "aws-eks-nodeagent",
                            "image": format!("{registry}/amazon/aws-network-policy-agent:v1.2.1-eksbuild.1"),
                            "args": ["--enable-ipv6=false", "--enable-network-policy=false", "--enable-cloudwatch-logs=false"],
                            "env": [{ "name": "MY_NODE_NAME", "valueFrom": { "fieldRef": { "apiVersion": "v1", "fieldPath": "spec.nodeName" } } }],
                            "resources": { "requests": { "cpu": "25m" } },
                            "volumeMounts": [mount("cni-bin-dir", "/host/opt/cni/bin"), mount("log-dir", "/var/log/aws-routed-eni")]
                        }
                    ],
                    "volumes": [
                        host_path("cni-bin-dir", "/opt/cni/bin"),
                        host_path("cni-net-dir", "/etc/cni/net.d"),
                        host_path("log-dir", "/var/log/aws-routed-eni"),
                        host_path("run-dir", "/var/run/aws-node"),
                        host_path("xtables-lock", "/run/xtables.lock")
                    ]
                }
            }
        }
    });
    let eks = Writer { manager: "eks", api_version: "apps/v1", scope: Scope::Main, builtin: true };
    let mut daemon_set = fields::apply(None, &created, &eks, false).unwrap_or(created);
    daemon_set["status"] =
        json!({ "currentNumberScheduled": 0, "desiredNumberScheduled": 0, "numberMisscheduled": 0, "numberReady": 0 });
    daemon_set
}

/// The `ENIConfig` CRD the VPC CNI ships (cluster-scoped, one per zone under custom
/// networking), served at once. The upstream schema preserves unknown fields; this one
/// declares the two fields of `spec` the CNI reads, so a misspelt one is refused.
fn eni_config_crd() -> Value {
    let mut crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": { "name": "eniconfigs.crd.k8s.amazonaws.com" },
        "spec": {
            "group": "crd.k8s.amazonaws.com",
            "scope": "Cluster",
            "names": { "kind": "ENIConfig", "listKind": "ENIConfigList", "plural": "eniconfigs", "singular": "eniconfig" },
            "versions": [{
                "name": "v1alpha1",
                "served": true,
                "storage": true,
                "schema": { "openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {
                            "type": "object",
                            "properties": {
                                "subnet": { "type": "string" },
                                "securityGroups": { "type": "array", "items": { "type": "string" } }
                            }
                        },
                        "status": { "type": "object", "x-kubernetes-preserve-unknown-fields": true }
                    }
                } }
            }]
        }
    });
    crd::establish(&mut crd);
    crd
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
