//! Kubernetes and Cassandra, inside the clusters: EKS pod networking, namespaces, storage
//! classes, cert-manager, the operators, remote access for the k8ssandra control plane, the
//! datacenters, cross-cluster DNS. Every object names its `cluster` (the scope its calls are
//! rate limited in) and carries `kubernetes`, how to reach that cluster's API, built from the
//! cluster resources' outputs.

use ringform_core::schema::{Attribute, CassandraData, KindSchema, ProviderSchema, Rule, input, minutes, output};
use ringform_core::{Kind, Provider};

pub const ENI_CONFIG: Kind = Kind::new("eks_eni_config");
pub const CUSTOM_NETWORKING: Kind = Kind::new("eks_custom_networking");
pub const NAMESPACE: Kind = Kind::new("k8s_namespace");
pub const STORAGE_CLASS: Kind = Kind::new("k8s_storage_class");
pub const CERT_MANAGER: Kind = Kind::new("cert_manager");
pub const K8SSANDRA_OPERATOR: Kind = Kind::new("k8ssandra_operator");
pub const CASS_OPERATOR: Kind = Kind::new("cass_operator");
pub const SECRET: Kind = Kind::new("k8s_secret");
pub const SERVICE_ACCOUNT: Kind = Kind::new("k8s_service_account");
pub const CLIENT_CONFIG: Kind = Kind::new("k8ssandra_client_config");
pub const K8SSANDRA_CLUSTER: Kind = Kind::new("k8ssandra_cluster");
pub const CASSANDRA_DATACENTER: Kind = Kind::new("cassandra_datacenter");
pub const KEYSPACE: Kind = Kind::new("cassandra_keyspace");
pub const SYSTEM_KEYSPACE: Kind = Kind::new("cassandra_system_keyspace");
pub const REBUILD: Kind = Kind::new("cassandra_rebuild");
pub const NODE_POOL: Kind = Kind::new("cassandra_node_pool");
pub const DNS_ENDPOINT: Kind = Kind::new("kube_dns_endpoint");
pub const COREDNS_STUB_DOMAINS: Kind = Kind::new("coredns_stub_domains");

/// The upstream releases ringform installs; the Kubernetes provider embeds exactly these.
/// cert-manager v1.20 supports Kubernetes 1.32 to 1.35 (see [`crate::KUBERNETES_VERSIONS`]);
/// k8ssandra-operator v1.32.5 bundles cass-operator v1.30.2; cass-operator runs alone at v1.32.0.
pub const CERT_MANAGER_VERSION: &str = "v1.20.3";
pub const K8SSANDRA_OPERATOR_VERSION: &str = "v1.32.5";
pub const CASS_OPERATOR_VERSION: &str = "v1.32.0";

const fn in_cluster(kind: Kind) -> KindSchema {
    KindSchema::new(kind).account_from("cluster")
}

const CLUSTER: Attribute = input("cluster").required().replaces();
/// How to reach the cluster's API; its credentials are secret values inside it.
const ACCESS: Attribute = input("kubernetes").required();
const NAMESPACED: Attribute = input("namespace").required().replaces();
/// Object names are DNS subdomains: at most 253 lowercase letters, digits, `-` and `.`,
/// starting and ending with a letter or digit.
const NAME: Attribute = input("name").required().replaces().rules(&[
    Rule::Length { min: 1, max: 253 },
    Rule::Chars {
        test: |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.',
        allowed: "lowercase letters, digits, `-` and `.`",
    },
    Rule::Ends { test: |c| c.is_ascii_lowercase() || c.is_ascii_digit(), what: "a lowercase letter or digit" },
]);
/// Namespace names are DNS labels: as object names, but at most 63 characters and no `.`.
const NAMESPACE_NAME: Attribute = input("name").required().replaces().rules(&[
    Rule::Length { min: 1, max: 63 },
    Rule::Chars {
        test: |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
        allowed: "lowercase letters, digits and `-`",
    },
    Rule::Ends { test: |c| c.is_ascii_lowercase() || c.is_ascii_digit(), what: "a lowercase letter or digit" },
]);
const ID: Attribute = output("id");

const KEYSPACE_INPUTS: &[Attribute] = &[
    CLUSTER,
    ACCESS,
    input("namespace").required(),
    input("datacenter").required(),
    input("keyspace").required().replaces(),
    input("replication").required(),
    input("datacenters"),
];

pub static SCHEMA: ProviderSchema = ProviderSchema {
    provider: Provider::Kubernetes,
    kinds: &[
        // EKS pods take addresses from the pod subnets only under the VPC CNI's custom
        // networking, which nodes pick up when they launch: one ENIConfig per zone, named after
        // it (its pod subnet, and the security groups of the pods' network interfaces)...
        in_cluster(ENI_CONFIG)
            .inputs(&[
                CLUSTER,
                ACCESS,
                NAME,
                input("subnet").required(),
                input("security_groups").required().unordered(),
            ])
            .outputs(&[ID, output("name")]),
        // ...and the CNI told to use them: `env` set on the `aws-node` container of EKS's
        // DaemonSet (an edit of an object EKS owns). `eni_configs` only orders it after them.
        in_cluster(CUSTOM_NETWORKING)
            .inputs(&[CLUSTER, ACCESS, input("env").required(), input("eni_configs")])
            .outputs(&[ID]),
        in_cluster(NAMESPACE).inputs(&[CLUSTER, ACCESS, NAMESPACE_NAME]).outputs(&[ID, output("name")]),
        // A StorageClass; EKS has none that provisions `gp3` until ringform makes one. `driver`
        // names what provisions its volumes (the EBS CSI add-on), only so that it is waited for.
        in_cluster(STORAGE_CLASS)
            .inputs(&[
                CLUSTER,
                ACCESS,
                NAME,
                input("provisioner").required().replaces(),
                input("parameters").replaces(),
                input("volume_binding_mode").replaces(),
                input("allow_volume_expansion"),
                input("driver"),
            ])
            .outputs(&[ID, output("name")]),
        in_cluster(CERT_MANAGER).inputs(&[CLUSTER, ACCESS, input("version").required()]).outputs(&[ID]),
        in_cluster(K8SSANDRA_OPERATOR)
            .inputs(&[
                CLUSTER,
                ACCESS,
                NAMESPACED,
                input("version").required(),
                input("control_plane").required(),
                input("cert_manager"),
            ])
            .outputs(&[ID]),
        in_cluster(CASS_OPERATOR)
            .inputs(&[CLUSTER, ACCESS, NAMESPACED, input("version").required(), input("cert_manager")])
            .outputs(&[ID]),
        in_cluster(SECRET)
            .inputs(&[CLUSTER, ACCESS, NAMESPACED, NAME, input("data").secret()])
            .outputs(&[ID, output("name")]),
        in_cluster(SERVICE_ACCOUNT)
            .inputs(&[CLUSTER, ACCESS, NAMESPACED, NAME, input("operator")])
            .outputs(&[ID, output("kubeconfig").secret()]),
        in_cluster(CLIENT_CONFIG)
            .inputs(&[
                CLUSTER,
                ACCESS,
                NAMESPACED,
                NAME,
                input("context_name").required(),
                input("kubeconfig_secret").required(),
                input("operator"),
            ])
            .outputs(&[ID, output("context_name")]),
        in_cluster(K8SSANDRA_CLUSTER)
            .inputs(&[
                CLUSTER,
                ACCESS,
                NAMESPACED,
                NAME,
                input("server_version").required(),
                input("superuser_secret").required(),
                input("operator"),
                input("datacenters").required(),
                // The declared keyspaces' replication, which the operator gives a datacenter
                // it adds before rebuilding it; `ring`: how to reach a node of the first
                // datacenter, to take a retired one out of every keyspace first.
                input("keyspaces"),
                input("ring"),
            ])
            // `keyspaces`: as a cassandra_datacenter's.
            .outputs(&[ID, output("keyspaces")])
            .takes(minutes(3))
            .cassandra_data(CassandraData::Datacenters),
        in_cluster(CASSANDRA_DATACENTER)
            .inputs(&[
                CLUSTER,
                ACCESS,
                NAMESPACED,
                NAME,
                input("cluster_name").required().replaces(),
                input("server_version").required(),
                input("superuser_secret").required(),
                input("operator"),
                input("size").required(),
                input("racks").required(),
                input("storage_class").required(),
                input("storage_size").required(),
                input("heap").required(),
                input("dns"),
                input("additional_seeds"),
            ])
            // `keyspaces`: every keyspace's replication as the ring has it, `{keyspace:
            // {datacenter: factor}}`, for plans to see what a datacenter holds.
            .outputs(&[ID, output("seed_ips"), output("keyspaces")])
            .takes(minutes(3))
            .cassandra_data(CassandraData::Datacenter),
        // A keyspace's replication (`{datacenter: factor}`), kept as the topology says through
        // the Management API of one datacenter's nodes (`namespace`, `datacenter`), once every
        // datacenter in `datacenters` is up. Deleting it forgets it: its data stays. A keyspace
        // the topology declares drops a datacenter before that datacenter's nodes leave...
        in_cluster(KEYSPACE).inputs(KEYSPACE_INPUTS).outputs(&[ID, output("replication")]),
        // ...a system keyspace only after they have left (Cassandra 4.1 refuses to take a
        // datacenter with nodes out of `system_auth`).
        in_cluster(SYSTEM_KEYSPACE)
            .inputs(KEYSPACE_INPUTS)
            .outputs(&[ID, output("replication")])
            .updates_after_deletes(),
        // Data streamed to a datacenter from `source` (`nodetool rebuild` on each of its nodes,
        // as a cass-operator CassandraTask), once the keyspaces in `keyspaces` replicate to it.
        // It runs once: nothing about it changes afterwards.
        in_cluster(REBUILD)
            .inputs(&[
                CLUSTER,
                ACCESS,
                NAMESPACED,
                input("datacenter").required().replaces(),
                input("source").required(),
                input("keyspaces"),
            ])
            .outputs(&[ID])
            .takes(minutes(10)),
        // The cluster's Cassandra pods run on its node pool `pool` (nodes labelled
        // `pool_label`): when the pool is replaced, they move to the new one a node at a time,
        // rack by rack, each back Up/Normal before the next. `datacenters` orders it after them.
        in_cluster(NODE_POOL)
            .inputs(&[CLUSTER, ACCESS, input("pool_label").required(), input("pool").required(), input("datacenters")])
            .outputs(&[ID])
            .takes(minutes(30)),
        in_cluster(DNS_ENDPOINT)
            // `network_role`: on AKS, the role assignment without which the cloud never gives an
            // internal load balancer an address in ringform's VNet.
            .inputs(&[CLUSTER, ACCESS, input("service_type").required(), input("internal"), input("network_role")])
            // `ips`: where the load balancer answers, sorted: one address on AKS, one per zone
            // for an AWS NLB.
            .outputs(&[ID, output("ips")]),
        in_cluster(COREDNS_STUB_DOMAINS).inputs(&[CLUSTER, ACCESS, input("stub_domains").required()]).outputs(&[ID]),
    ],
};
