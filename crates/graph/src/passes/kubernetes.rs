//! Inside each Kubernetes cluster that runs Cassandra (or the k8ssandra control plane):
//! namespaces, EKS's `gp3` StorageClass, cert-manager, the operator, remote access for the
//! control plane (a static service-account token in each data plane, stored as a kubeconfig
//! Secret and named by a ClientConfig on the control plane), and CoreDNS stub domains for
//! cross-cluster names.

use ringform_schema as kinds;
use std::collections::BTreeMap;

use ringform_core::{Address, Kind, Value};
use ringform_topology::{CassandraMode, Cloud, Cluster, Datacenter, DnsMode, Topology};

use crate::builder::{Builder, attrs, output};

/// Clusters the Kubernetes layer touches: those hosting a datacenter, and the control plane.
pub(super) fn kubernetes_clusters(t: &Topology) -> Vec<&Cluster> {
    let Some(cassandra) = &t.cassandra else { return Vec::new() };
    t.clusters
        .iter()
        .filter(|c| {
            cassandra.datacenters.iter().any(|dc| dc.cluster.value == c.name.value)
                || cassandra.control_plane.as_ref().is_some_and(|cp| cp.value == c.name.value)
        })
        .collect()
}

/// Whether cluster `name` hosts a Cassandra datacenter.
pub(super) fn hosts_datacenter(t: &Topology, name: &str) -> bool {
    t.cassandra.as_ref().is_some_and(|c| c.datacenters.iter().any(|dc| dc.cluster.value == name))
}

/// How a provider reaches a cluster's API: built from the cluster resources' outputs, so every
/// Kubernetes resource also waits for its cluster (and, on EKS, its nodes).
pub(super) fn access(b: &mut Builder, c: &Cluster) -> Value {
    let mut access = control_plane_access(b, c);
    if let (Cloud::Aws, Value::Map(fields)) = (c.provider.value, &mut access) {
        let nodes = b.address(
            kinds::aws::EKS_NODE_GROUP,
            &super::aws::node_group_name(&c.name.value, &c.node_pool.machine_type.value),
        );
        fields.insert("node_group".into(), output(&nodes, "id"));
    }
    access
}

/// How a provider reaches a cluster's API as soon as the cluster exists: for what its nodes
/// take up when they launch (EKS pod networking), which must not wait for them.
pub(super) fn control_plane_access(b: &mut Builder, c: &Cluster) -> Value {
    let n = c.name.value.as_str();
    match c.provider.value {
        Cloud::Aws => {
            let eks = b.address(kinds::aws::EKS_CLUSTER, n);
            Value::from_iter([
                ("provider", Value::from("aws")),
                ("region", c.region.value.as_str().into()),
                ("eks_cluster_name", output(&eks, "cluster_name")),
                ("endpoint", output(&eks, "endpoint")),
                ("certificate_authority", output(&eks, "certificate_authority")),
            ])
        }
        Cloud::Azure => {
            let aks = b.address(kinds::azure::AKS_CLUSTER, n);
            Value::from_iter([
                ("provider", Value::from("azure")),
                ("kubeconfig", Value::secret(output(&aks, "kubeconfig"))),
            ])
        }
    }
}

/// Adds a Kubernetes object in cluster `c`, with the attributes every such object carries.
pub(super) fn add_in(
    b: &mut Builder,
    kind: Kind,
    c: &Cluster,
    name: &str,
    attributes: ringform_core::Attributes,
) -> Address {
    let access = access(b, c);
    add_reaching(b, kind, c, name, attributes, access)
}

/// As [`add_in`], reaching the cluster through `access`.
pub(super) fn add_reaching(
    b: &mut Builder,
    kind: Kind,
    c: &Cluster,
    name: &str,
    mut attributes: ringform_core::Attributes,
    access: Value,
) -> Address {
    attributes.insert("cluster".into(), c.name.value.as_str().into());
    attributes.insert("kubernetes".into(), access);
    b.from(&c.name.span);
    b.add(kind, &format!("{}/{name}", c.name.value), attributes)
}

pub(super) fn operator_namespace(mode: CassandraMode) -> &'static str {
    match mode {
        CassandraMode::K8ssandraOperator => "k8ssandra-operator",
        CassandraMode::CassOperatorSeeds => "cass-operator",
    }
}

pub(super) fn namespace(b: &mut Builder, cluster: &str, namespace: &str) -> Address {
    b.address(kinds::kubernetes::NAMESPACE, &format!("{cluster}/{namespace}"))
}

pub(super) fn operator(b: &mut Builder, cluster: &str, mode: CassandraMode) -> Address {
    let kind = match mode {
        CassandraMode::K8ssandraOperator => kinds::kubernetes::K8SSANDRA_OPERATOR,
        CassandraMode::CassOperatorSeeds => kinds::kubernetes::CASS_OPERATOR,
    };
    b.address(kind, &format!("{cluster}/{}", operator_namespace(mode)))
}

pub(super) fn add_ons(b: &mut Builder) {
    let Some(cassandra) = &b.topology.cassandra else { return };
    let mode = cassandra.mode.value;
    let control_plane = cassandra.control_plane.as_ref().map(|cp| cp.value.as_str());
    let clusters = kubernetes_clusters(b.topology);
    for &c in &clusters {
        let n = c.name.value.as_str();
        let mut namespaces = vec![operator_namespace(mode)];
        for dc in cassandra.datacenters.iter().filter(|dc| dc.cluster.value == n) {
            if !namespaces.contains(&dc.namespace.value.as_str()) {
                namespaces.push(&dc.namespace.value);
            }
        }
        for ns in namespaces {
            add_in(b, kinds::kubernetes::NAMESPACE, c, ns, attrs! { "name" => ns });
        }
        let cert_manager = add_in(
            b,
            kinds::kubernetes::CERT_MANAGER,
            c,
            "cert-manager",
            attrs! { "version" => kinds::kubernetes::CERT_MANAGER_VERSION },
        );
        let operator_ns = namespace(b, n, operator_namespace(mode));
        let mut attributes = attrs! {
            "namespace" => output(&operator_ns, "name"),
            "cert_manager" => output(&cert_manager, "id"),
        };
        let kind = match mode {
            CassandraMode::K8ssandraOperator => {
                attributes.insert("version".into(), kinds::kubernetes::K8SSANDRA_OPERATOR_VERSION.into());
                attributes.insert("control_plane".into(), Value::Bool(control_plane == Some(n)));
                kinds::kubernetes::K8SSANDRA_OPERATOR
            }
            CassandraMode::CassOperatorSeeds => {
                attributes.insert("version".into(), kinds::kubernetes::CASS_OPERATOR_VERSION.into());
                kinds::kubernetes::CASS_OPERATOR
            }
        };
        add_in(b, kind, c, operator_namespace(mode), attributes);
        if c.provider.value == Cloud::Aws && hosts_datacenter(b.topology, n) {
            gp3(b, c);
        }
    }
    if let (CassandraMode::K8ssandraOperator, Some(cp)) = (mode, control_plane) {
        let Some(cp) = b.topology.cluster(cp) else { return };
        for &d in clusters.iter().filter(|d| d.name.value != cp.name.value) {
            remote_access(b, cp, d);
        }
    }
}

/// EKS's `gp3` StorageClass, provisioned by the EBS CSI add-on; volumes are made in the zone
/// of the pod that first claims them, and can grow.
fn gp3(b: &mut Builder, c: &Cluster) {
    let driver = super::aws::ebs_csi_driver(b, &c.name.value);
    add_in(
        b,
        kinds::kubernetes::STORAGE_CLASS,
        c,
        GP3,
        attrs! {
            "name" => GP3,
            "provisioner" => "ebs.csi.aws.com",
            "parameters" => Value::from_iter([("type", Value::from("gp3"))]),
            "volume_binding_mode" => "WaitForFirstConsumer",
            "allow_volume_expansion" => true,
            "driver" => output(&driver, "id"),
        },
    );
}

const GP3: &str = "gp3";

/// The storage class a datacenter names: on EKS, `gp3` as the StorageClass ringform makes
/// (so the datacenter waits for it), otherwise the name as written.
pub(super) fn storage_class(b: &mut Builder, dc: &Datacenter) -> Value {
    let class = dc.storage_class.value.as_str();
    let on_eks = b.topology.cluster(&dc.cluster.value).is_some_and(|c| c.provider.value == Cloud::Aws);
    if on_eks && class == GP3 {
        let address = b.address(kinds::kubernetes::STORAGE_CLASS, &format!("{}/{GP3}", dc.cluster.value));
        output(&address, "name")
    } else {
        Value::from(class)
    }
}

/// Lets the control plane reach data plane `d`: a long-lived token of `d`'s operator service
/// account (the operator image has no cloud exec plugin), as a kubeconfig Secret on the control
/// plane, named by a ClientConfig whose context the K8ssandraCluster refers to.
fn remote_access(b: &mut Builder, cp: &Cluster, d: &Cluster) {
    let ns = operator_namespace(CassandraMode::K8ssandraOperator);
    let d_name = d.name.value.as_str();
    let d_operator = operator(b, d_name, CassandraMode::K8ssandraOperator);
    let d_ns = namespace(b, d_name, ns);
    let token = add_in(
        b,
        kinds::kubernetes::SERVICE_ACCOUNT,
        d,
        &format!("{ns}/k8ssandra-operator"),
        attrs! {
            "namespace" => output(&d_ns, "name"),
            "name" => "k8ssandra-operator",
            "operator" => output(&d_operator, "id"),
        },
    );
    let cp_ns = namespace(b, &cp.name.value, ns);
    let secret = add_in(
        b,
        kinds::kubernetes::SECRET,
        cp,
        &format!("{ns}/{d_name}-kubeconfig"),
        attrs! {
            "namespace" => output(&cp_ns, "name"),
            "name" => format!("{d_name}-kubeconfig"),
            "data" => Value::from_iter([("kubeconfig", Value::secret(output(&token, "kubeconfig")))]),
        },
    );
    let cp_operator = operator(b, &cp.name.value, CassandraMode::K8ssandraOperator);
    add_in(
        b,
        kinds::kubernetes::CLIENT_CONFIG,
        cp,
        &format!("{ns}/{d_name}"),
        attrs! {
            "namespace" => output(&cp_ns, "name"),
            "name" => d_name,
            "context_name" => d_name,
            "kubeconfig_secret" => output(&secret, "name"),
            "operator" => output(&cp_operator, "id"),
        },
    );
}

/// CoreDNS in every cluster forwards each remote datacenter's namespace to that cluster's DNS,
/// which is exposed on an internal load balancer.
pub(super) fn dns(b: &mut Builder) {
    let (DnsMode::CorednsStubs, Some(cassandra)) = (b.topology.dns.mode.value, &b.topology.cassandra) else {
        return;
    };
    let clusters = kubernetes_clusters(b.topology);
    if clusters.len() < 2 {
        return;
    }
    for &c in &clusters {
        let mut attributes = attrs! { "service_type" => "LoadBalancer", "internal" => true };
        if c.provider.value == Cloud::Azure {
            let role = b.address(kinds::azure::ROLE_ASSIGNMENT, &c.name.value);
            attributes.insert("network_role".into(), output(&role, "id"));
        }
        add_in(b, kinds::kubernetes::DNS_ENDPOINT, c, "kube-dns", attributes);
    }
    for &c in &clusters {
        let mut stubs = BTreeMap::new();
        for dc in cassandra.datacenters.iter().filter(|dc| dc.cluster.value != c.name.value) {
            let endpoint = b.address(kinds::kubernetes::DNS_ENDPOINT, &format!("{}/kube-dns", dc.cluster.value));
            stubs.insert(format!("{}.svc.cluster.local", dc.namespace.value), output(&endpoint, "ips"));
        }
        add_in(
            b,
            kinds::kubernetes::COREDNS_STUB_DOMAINS,
            c,
            "coredns",
            attrs! { "stub_domains" => Value::Map(stubs) },
        );
    }
}

/// What Cassandra must wait for before it resolves remote names, when DNS stubs are in use.
pub(super) fn dns_ready(b: &mut Builder, cluster: &str) -> Option<Value> {
    let stubs = b.topology.dns.mode.value == DnsMode::CorednsStubs && kubernetes_clusters(b.topology).len() >= 2;
    stubs.then(|| output(&b.address(kinds::kubernetes::COREDNS_STUB_DOMAINS, &format!("{cluster}/coredns")), "id"))
}
