//! The validated topology: every default applied, every derived value filled in, and the
//! source span of each value kept so later stages can point at the file.

use std::collections::BTreeMap;
use std::ops::{Deref, Range};

pub use ipnet::Ipv4Net;

/// A byte range in the topology source.
pub type Span = Range<usize>;

/// A value and where it came from. Defaults and derived values carry the span of the table
/// (or value) they were derived for, so an error about them still points somewhere useful.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

impl<T> Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

#[derive(Clone, Debug)]
pub struct Topology {
    /// Names the deployment: the state directory and the `ringform:deployment` tag.
    pub deployment: Spanned<String>,
    /// Where the deployment's state lives and how it is encrypted (`[state]`).
    pub state: StateSettings,
    pub clusters: Vec<Cluster>,
    pub mesh: Mesh,
    pub dns: Dns,
    pub cassandra: Option<Cassandra>,
    /// Quotas raised above the clouds' defaults, by the keys the provider schemas declare
    /// (checked there, with the graph).
    pub quotas: BTreeMap<String, Spanned<u32>>,
}

impl Topology {
    pub fn cluster(&self, name: &str) -> Option<&Cluster> {
        self.clusters.iter().find(|c| c.name.value == name)
    }
}

/// The `[state]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateSettings {
    /// Spans the `backend` value; when it is not written, the `[state]` table, or the start of
    /// the file without one.
    pub backend: Spanned<StateBackend>,
    /// `None` when not written. Spans `"none"` or the value of the key the table names.
    pub encryption: Option<Spanned<Encryption>>,
}

/// Local state, no encryption setting: what a file without `[state]` means.
impl Default for StateSettings {
    fn default() -> Self {
        StateSettings { backend: Spanned::new(StateBackend::Local, 0..0), encryption: None }
    }
}

/// Where state is kept. The object and blob paths default to the deployment name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateBackend {
    /// `state/<deployment>/` on this machine.
    Local,
    S3 {
        bucket: String,
        region: String,
        key: String,
    },
    AzureBlob {
        storage_account: String,
        container: String,
        blob: String,
    },
}

impl StateBackend {
    /// Whether state lives outside this machine.
    pub fn is_remote(&self) -> bool {
        !matches!(self, StateBackend::Local)
    }

    /// `local`, `s3://<bucket>/<key>` or `azure-blob://<account>/<container>/<blob>`.
    pub fn describe(&self) -> String {
        match self {
            StateBackend::Local => "local".to_string(),
            StateBackend::S3 { bucket, key, .. } => format!("s3://{bucket}/{key}"),
            StateBackend::AzureBlob { storage_account, container, blob } => {
                format!("azure-blob://{storage_account}/{container}/{blob}")
            }
        }
    }
}

/// How state is encrypted at rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Encryption {
    /// Written `"none"`: state is knowingly kept unencrypted.
    None,
    /// The name of an environment variable holding a base64 32-byte key.
    KeyEnv(String),
    /// An AWS KMS key id, key ARN, alias name (`alias/…`) or alias ARN.
    AwsKms(String),
    /// An Azure Key Vault key URL, `https://<vault host>/keys/<name>[/<version>]`.
    AzureKeyVault(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cloud {
    Aws,
    Azure,
}

impl Cloud {
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Aws => "aws",
            Cloud::Azure => "azure",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Cluster {
    /// Lower-case letters, digits and `-`; unique across the topology.
    pub name: Spanned<String>,
    pub provider: Spanned<Cloud>,
    pub region: Spanned<String>,
    /// AWS availability zones (`eu-west-1a`) or Azure zone numbers (`1`, `2`, `3`).
    pub zones: Vec<Spanned<String>>,
    pub kubernetes_version: Spanned<String>,
    pub node_pool: NodePool,
    /// The VPC / VNet address space.
    pub network_cidr: Spanned<Ipv4Net>,
    /// Node subnets inside `network_cidr`: one per zone on AWS, one (`nodes`, no zone) on Azure.
    pub node_subnets: Vec<Subnet>,
    /// Pod range. AWS: a secondary VPC CIDR with one pod subnet per zone (EKS custom
    /// networking); Azure: Azure CNI overlay. `None`: pods take addresses from the node subnets.
    pub pod_cidr: Option<Spanned<Ipv4Net>>,
    /// AWS only: per-zone pod subnets carved from `pod_cidr` like the node subnets; empty
    /// on Azure or without `pod_cidr`.
    pub pod_subnets: Vec<Subnet>,
    pub service_cidr: Spanned<Ipv4Net>,
    /// Azure `GatewaySubnet`, present when the cluster needs a VPN gateway.
    pub gateway_subnet: Option<Spanned<Ipv4Net>>,
    /// Azure subscription id; `None` means `AZURE_SUBSCRIPTION_ID` at apply time.
    pub subscription: Option<Spanned<String>>,
}

#[derive(Clone, Debug)]
pub struct NodePool {
    pub count: Spanned<u32>,
    /// EC2 instance type on AWS, VM size on Azure.
    pub machine_type: Spanned<String>,
}

#[derive(Clone, Debug)]
pub struct Subnet {
    /// The zone on AWS, `nodes` on Azure.
    pub name: String,
    pub zone: Option<Spanned<String>>,
    pub cidr: Spanned<Ipv4Net>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AwsMesh {
    VpcPeering,
    TransitGateway,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AzureMesh {
    VpnGateway,
    VnetPeering,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrossCloudMesh {
    Vpn,
}

/// How the clusters' networks are joined, per cloud and across clouds.
#[derive(Clone, Debug)]
pub struct Mesh {
    pub aws: Spanned<AwsMesh>,
    pub azure: Spanned<AzureMesh>,
    pub cross_cloud: Spanned<CrossCloudMesh>,
    /// SKU of every Azure VPN gateway, e.g. `VpnGw1AZ`.
    pub azure_gateway_sku: Spanned<String>,
    /// The most inbound rules one AWS security group may have (the account's quota).
    pub aws_rules_per_security_group: Spanned<u32>,
}

/// The ports every cluster opens to every other cluster's ranges: internode, internode TLS,
/// JMX, CQL, and the management API the k8ssandra control plane calls on every remote
/// Cassandra pod (the rule most multi-cluster set-ups forget).
pub const CASSANDRA_PORTS: [u16; 5] = [7000, 7001, 7199, 9042, 8080];

/// AWS's default quota of inbound rules per security group.
pub const AWS_DEFAULT_RULES_PER_SECURITY_GROUP: u32 = 60;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsMode {
    None,
    CorednsStubs,
}

#[derive(Clone, Debug)]
pub struct Dns {
    pub mode: Spanned<DnsMode>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CassandraMode {
    K8ssandraOperator,
    CassOperatorSeeds,
}

#[derive(Clone, Debug)]
pub struct Cassandra {
    pub cluster_name: Spanned<String>,
    pub server_version: Spanned<String>,
    pub mode: Spanned<CassandraMode>,
    /// The cluster that runs the k8ssandra control plane (operator mode only).
    pub control_plane: Option<Spanned<String>>,
    /// Name of the Secret holding the superuser credentials.
    pub superuser_secret: Spanned<String>,
    /// In the order they are brought up (seed mode seeds each from the ones before it).
    pub datacenters: Vec<Datacenter>,
    /// The keyspaces the topology declares, in the order written. The replicated system
    /// keyspaces are not among them: see [`Cassandra::system_keyspaces`].
    pub keyspaces: Vec<Keyspace>,
}

impl Cassandra {
    /// The replication ringform wants for the replicated system keyspaces
    /// ([`REPLICATED_SYSTEM_KEYSPACES`]): every datacenter, in bring-up order, with
    /// min([`SYSTEM_REPLICATION_FACTOR`], its size) replicas. Nothing in the file declares them,
    /// so their spans point at what they derive from: each name at `cluster_name`, each
    /// datacenter at its name and each factor at its size.
    pub fn system_keyspaces(&self) -> Vec<Keyspace> {
        let replication: Vec<ReplicationFactor> = self.datacenters.iter().map(Datacenter::system_replicas).collect();
        REPLICATED_SYSTEM_KEYSPACES
            .iter()
            .map(|name| Keyspace {
                name: Spanned::new(name.to_string(), self.cluster_name.span.clone()),
                replication: replication.clone(),
            })
            .collect()
    }

    /// The full replication of every keyspace ringform manages: the system keyspaces of
    /// [`Cassandra::system_keyspaces`] first, then the declared ones as written.
    pub fn managed_keyspaces(&self) -> Vec<Keyspace> {
        let mut keyspaces = self.system_keyspaces();
        keyspaces.extend(self.keyspaces.iter().cloned());
        keyspaces
    }
}

/// Every keyspace name Cassandra keeps for itself (it compares them ignoring case): `system`
/// and `system_schema` are local to each node, `system_views` and `system_virtual_schema`
/// virtual, and the rest [`REPLICATED_SYSTEM_KEYSPACES`]. A declared keyspace takes none of them.
pub const SYSTEM_KEYSPACES: [&str; 7] = [
    "system",
    "system_auth",
    "system_distributed",
    "system_schema",
    "system_traces",
    "system_views",
    "system_virtual_schema",
];

/// The system keyspaces replicated across the ring like any other, whose replication ringform
/// keeps (see [`Cassandra::system_keyspaces`]).
pub const REPLICATED_SYSTEM_KEYSPACES: [&str; 3] = ["system_auth", "system_distributed", "system_traces"];

/// Replicas of each replicated system keyspace per datacenter, or as many as a smaller
/// datacenter has nodes.
pub const SYSTEM_REPLICATION_FACTOR: u32 = 3;

#[derive(Clone, Debug)]
pub struct Datacenter {
    pub name: Spanned<String>,
    /// Name of the Kubernetes cluster it runs in.
    pub cluster: Spanned<String>,
    pub namespace: Spanned<String>,
    pub size: Spanned<u32>,
    pub racks: Vec<Rack>,
    pub storage_class: Spanned<String>,
    pub storage_size: Spanned<String>,
    /// JVM heap, e.g. `2G`.
    pub heap: Spanned<String>,
}

impl Datacenter {
    /// Its share of every replicated system keyspace.
    fn system_replicas(&self) -> ReplicationFactor {
        ReplicationFactor {
            datacenter: self.name.clone(),
            factor: Spanned::new(self.size.value.min(SYSTEM_REPLICATION_FACTOR), self.size.span.clone()),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Rack {
    pub name: Spanned<String>,
    pub zone: Spanned<String>,
}

/// A keyspace and how many replicas of it each datacenter holds (NetworkTopologyStrategy).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keyspace {
    /// A CQL identifier Cassandra can take unquoted (a letter, then letters, digits and `_`, at
    /// most 48); unique among the keyspaces ignoring case, as Cassandra folds unquoted names.
    pub name: Spanned<String>,
    /// One entry per datacenter holding replicas, in the order written; a datacenter not
    /// listed holds none.
    pub replication: Vec<ReplicationFactor>,
}

/// How many replicas of a keyspace one datacenter holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicationFactor {
    /// The name of one of the datacenters.
    pub datacenter: Spanned<String>,
    /// From 1 to the datacenter's size.
    pub factor: Spanned<u32>,
}
