//! The file format as written: serde structs mirroring the TOML, every value wrapped in a
//! [`Field`] so that one bad value is recorded and the rest of the file is still read. The
//! `///` comments here are the descriptions editors show (via the JSON Schema).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

use crate::model::{AwsMesh, AzureMesh, CassandraMode, Cloud, DnsMode, Span};

/// One value of the file: absent, present but unusable (wrong type, unknown enum value), or
/// present and typed. Never fails to deserialize, so a struct of `Field`s always comes back
/// whole and every problem in it can be reported.
#[derive(Debug, Default)]
pub(crate) enum Field<T> {
    #[default]
    Missing,
    Invalid {
        span: Span,
        message: String,
    },
    Valid {
        span: Span,
        value: T,
    },
}

impl<T> Field<T> {
    /// The value, if present and typed.
    pub fn valid(&self) -> Option<&T> {
        match self {
            Field::Valid { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The value, if present and typed, to change.
    pub fn valid_mut(&mut self) -> Option<&mut T> {
        match self {
            Field::Valid { value, .. } => Some(value),
            _ => None,
        }
    }

    /// Where it is written, if it is.
    pub fn span(&self) -> Option<Span> {
        match self {
            Field::Missing => None,
            Field::Invalid { span, .. } | Field::Valid { span, .. } => Some(span.clone()),
        }
    }
}

/// Swallows the inner error: toml's deserializer works on an in-memory tree, so a failed value
/// leaves its parent table in a usable state.
struct Catch<T>(Result<T, String>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Catch<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Catch(T::deserialize(d).map_err(|e| humanize(&e.to_string()))))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FieldVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for FieldVisitor<T> {
            type Value = Field<T>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value")
            }

            // serde asks a missing field for `deserialize_option` and gets `visit_none`: that is
            // how a required key that is absent becomes `Missing` instead of aborting the table.
            fn visit_none<E>(self) -> Result<Field<T>, E> {
                Ok(Field::Missing)
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Field<T>, D::Error> {
                let spanned = toml::Spanned::<Catch<T>>::deserialize(d)?;
                let span = spanned.span();
                Ok(match spanned.into_inner().0 {
                    Ok(value) => Field::Valid { span, value },
                    Err(message) => Field::Invalid { span, message },
                })
            }
        }

        d.deserialize_option(FieldVisitor(PhantomData))
    }
}

/// The schema of a `Field<T>` is the schema of `T`.
impl<T: JsonSchema> JsonSchema for Field<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// An IPv4 CIDR, for editors; the parser explains what is wrong with one in more detail.
const CIDR: &str = r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$";

/// serde's messages speak Rust ("expected i64", "map", "sequence"); users write TOML.
fn humanize(message: &str) -> String {
    let first = message.lines().next().unwrap_or_default().trim();
    let out = first
        .replace("expected i64", "expected an integer")
        .replace("floating point", "float")
        .replace("expected a sequence", "expected an array")
        .replace("invalid type: map", "invalid type: table")
        .replace("invalid type: sequence", "invalid type: array");
    // "invalid type: X, expected Y" reads better as "expected Y, found X".
    let swapped = out
        .strip_prefix("invalid type: ")
        .and_then(|rest| rest.split_once(", expected "))
        .map(|(found, expected)| format!("expected {expected}, found {found}"));
    swapped.unwrap_or(out)
}

/// A ringform topology: the Kubernetes clusters, the network mesh between them and the
/// Cassandra datacenters that run in them.
#[derive(Debug, serde::Deserialize, JsonSchema)]
#[serde(expecting = "a table")]
#[schemars(rename = "Topology", deny_unknown_fields, title = "ringform topology")]
pub(crate) struct RawTopology {
    /// Name of the deployment: the state directory and the `ringform:deployment` tag on every
    /// cloud object. Lower-case letters, digits and `-`, starting with a letter, at most 40.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,39}$"))]
    pub deployment: Field<String>,
    /// Where the deployment's state lives and how it is encrypted. Default: local state in
    /// `state/<deployment>/`.
    #[serde(default)]
    pub state: Field<RawState>,
    /// How the clusters' networks are joined, per cloud and across clouds.
    #[serde(default)]
    pub mesh: Field<RawMesh>,
    /// Cross-cluster service discovery.
    #[serde(default)]
    pub dns: Field<RawDns>,
    /// The Kubernetes clusters, one per region (at least one).
    #[schemars(length(min = 1))]
    pub clusters: Field<Vec<Field<RawCluster>>>,
    /// The Cassandra cluster spread over the Kubernetes clusters. Without it only the clusters
    /// and the network are built.
    #[serde(default)]
    pub cassandra: Field<RawCassandra>,
    /// Cloud quotas raised above their defaults, which `validate` otherwise holds the topology
    /// to, e.g. `aws_vpcs_per_region = 10` once AWS has raised "VPCs per Region" for you.
    #[serde(default)]
    pub quotas: Field<BTreeMap<String, Field<u32>>>,
}

/// Where the deployment's state lives and how it is encrypted.
#[derive(Debug, Default, serde::Deserialize, JsonSchema)]
#[serde(expecting = "a table")]
#[schemars(rename = "State", deny_unknown_fields)]
pub(crate) struct RawState {
    /// Where state is kept. Default: `local`.
    #[serde(default)]
    #[schemars(extend("default" = "local"))]
    pub backend: Field<RawStateBackend>,
    /// s3 only, required: the bucket, 3 to 63 lower-case letters, digits, `.` and `-`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"))]
    pub bucket: Field<String>,
    /// s3 only, required: the bucket's AWS region, e.g. `eu-west-1`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-\d+$"))]
    pub region: Field<String>,
    /// s3 only: the object key state is kept under, e.g. `prod/multi-region`; no leading `/`,
    /// no `..`. Default: the deployment name.
    #[serde(default)]
    #[schemars(regex(pattern = "^[^/]"), length(max = 1024))]
    pub key: Field<String>,
    /// azure-blob only, required: the storage account, 3 to 24 lower-case letters and digits.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z0-9]{3,24}$"))]
    pub storage_account: Field<String>,
    /// azure-blob only, required: the container, 3 to 63 lower-case letters, digits and single
    /// `-` between them.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$"), length(min = 3, max = 63))]
    pub container: Field<String>,
    /// azure-blob only: the blob state is kept in, e.g. `prod/multi-region`; no leading `/`,
    /// no `..`. Default: the deployment name.
    #[serde(default)]
    #[schemars(regex(pattern = "^[^/]"), length(max = 1024))]
    pub blob: Field<String>,
    /// How state is encrypted at rest: `"none"`, or a table naming one key.
    #[serde(default)]
    pub encryption: Field<RawEncryption>,
}

/// Where state is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "StateBackend")]
pub(crate) enum RawStateBackend {
    /// `state/<deployment>/` on this machine.
    Local,
    /// An object in an S3 bucket: `bucket`, `region`, `key`.
    S3,
    /// A blob in an Azure Storage container: `storage_account`, `container`, `blob`.
    AzureBlob,
}

impl RawStateBackend {
    /// As written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            RawStateBackend::Local => "local",
            RawStateBackend::S3 => "s3",
            RawStateBackend::AzureBlob => "azure-blob",
        }
    }
}

/// `encryption`: any string (only `"none"` is valid, which `resolve` says) or a table.
#[derive(Debug)]
pub(crate) enum RawEncryption {
    Text(String),
    Key(RawEncryptionKey),
}

/// A string or a table, read by hand: an untagged enum would buffer the value and lose both
/// the spans of the table's values and the unknown keys in it.
impl<'de> Deserialize<'de> for RawEncryption {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EncryptionVisitor;

        impl<'de> Visitor<'de> for EncryptionVisitor {
            type Value = RawEncryption;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"none\" or a table such as { key_env = \"RINGFORM_STATE_KEY\" }")
            }

            fn visit_str<E>(self, text: &str) -> Result<RawEncryption, E> {
                Ok(RawEncryption::Text(text.to_string()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawEncryption, A::Error> {
                RawEncryptionKey::deserialize(MapAccessDeserializer::new(map)).map(RawEncryption::Key)
            }
        }

        d.deserialize_any(EncryptionVisitor)
    }
}

impl JsonSchema for RawEncryption {
    fn schema_name() -> Cow<'static, str> {
        "Encryption".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "How state is encrypted at rest: `\"none\"`, or a table naming one key.",
            "oneOf": [
                {
                    "const": "none",
                    "type": "string",
                    "description": "Not encrypted, knowingly."
                },
                generator.subschema_for::<RawEncryptionKey>()
            ]
        })
    }
}

/// The key that encrypts state: exactly one of `key_env`, `aws_kms_key`, `azure_key_vault_key`.
#[derive(Debug, serde::Deserialize, JsonSchema)]
#[serde(expecting = "a table")]
#[schemars(rename = "EncryptionKey", deny_unknown_fields, extend("minProperties" = 1, "maxProperties" = 1))]
pub(crate) struct RawEncryptionKey {
    /// The environment variable holding the key, base64 of 32 bytes, e.g. `RINGFORM_STATE_KEY`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub key_env: Field<String>,
    /// An AWS KMS key: key id, key ARN, alias name (`alias/ringform-state`) or alias ARN.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub aws_kms_key: Field<String>,
    /// An Azure Key Vault key, `https://<vault>.vault.azure.net/keys/<name>[/<version>]`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^https?://[^/]+/keys/[^/]+(/[^/]+)?$"))]
    pub azure_key_vault_key: Field<String>,
}

/// How the clusters' networks are joined.
#[derive(Debug, Default, serde::Deserialize, JsonSchema)]
#[serde(expecting = "a table")]
#[schemars(rename = "Mesh", deny_unknown_fields)]
pub(crate) struct RawMesh {
    /// How AWS VPCs are joined. Default: `vpc-peering`.
    #[serde(default)]
    #[schemars(extend("default" = "vpc-peering"))]
    pub aws: Field<RawAwsMesh>,
    /// How Azure VNets are joined. Default: `vpn-gateway`.
    #[serde(default)]
    #[schemars(extend("default" = "vpn-gateway"))]
    pub azure: Field<RawAzureMesh>,
    /// How AWS and Azure are joined. Default: `vpn`.
    #[serde(default)]
    #[schemars(extend("default" = "vpn"))]
    pub cross_cloud: Field<RawCrossCloudMesh>,
    /// SKU of every Azure VPN gateway. Default: `VpnGw1AZ`.
    #[serde(default)]
    #[schemars(extend("default" = "VpnGw1AZ"))]
    pub azure_gateway_sku: Field<String>,
    /// The AWS account's quota "Inbound or outbound rules per security group" (Service
    /// Quotas, per region). Each AWS cluster's security group needs one inbound rule per
    /// Cassandra port and address range of every other cluster; ringform refuses a topology
    /// that needs more. Default: 60, AWS's default quota.
    #[serde(default)]
    #[schemars(extend("default" = 60))]
    pub aws_rules_per_security_group: Field<i64>,
}

/// How AWS VPCs are joined.
#[derive(Clone, Copy, Debug, serde::Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "AwsMesh")]
pub(crate) enum RawAwsMesh {
    /// A full mesh of VPC peerings (cross-region peerings are accepted in the peer's region).
    VpcPeering,
    /// A transit gateway per region, peered with each other.
    TransitGateway,
}

/// How Azure VNets are joined.
#[derive(Clone, Copy, Debug, serde::Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "AzureMesh")]
pub(crate) enum RawAzureMesh {
    /// A route-based VPN gateway per VNet in a `GatewaySubnet`, joined by a full mesh of
    /// Vnet2Vnet connections (each gateway takes 30 to 45 minutes to create).
    VpnGateway,
    /// Global VNet peering.
    VnetPeering,
}

/// How AWS and Azure are joined.
#[derive(Clone, Copy, Debug, serde::Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "CrossCloudMesh")]
pub(crate) enum RawCrossCloudMesh {
    /// Site-to-site VPN between the Azure VPN gateways and AWS.
    Vpn,
}

/// Cross-cluster service discovery.
#[derive(Debug, Default, serde::Deserialize, JsonSchema)]
#[serde(expecting = "a table")]
#[schemars(rename = "Dns", deny_unknown_fields)]
pub(crate) struct RawDns {
    /// How clusters find each other's Cassandra pods. Default: `none`.
    #[serde(default)]
    #[schemars(extend("default" = "none"))]
    pub mode: Field<RawDnsMode>,
}

/// Cross-cluster service discovery mode.
#[derive(Clone, Copy, Debug, serde::Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "DnsMode")]
pub(crate) enum RawDnsMode {
    /// No cross-cluster DNS: seeds are pod IPs.
    None,
    /// CoreDNS in every cluster forwards `<remote-namespace>.svc.cluster.local` to the remote
    /// cluster's DNS service. Needs a distinct namespace per cluster.
    CorednsStubs,
}

/// Cloud provider of a cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "Cloud")]
pub(crate) enum RawCloud {
    /// EKS in a VPC.
    Aws,
    /// AKS in a VNet.
    Azure,
}

/// One Kubernetes cluster (EKS or AKS) in its own VPC / VNet.
#[derive(Debug, serde::Deserialize, JsonSchema)]
#[serde(expecting = "a table")]
#[schemars(rename = "Cluster", deny_unknown_fields)]
pub(crate) struct RawCluster {
    /// Unique name of the cluster. Lower-case letters, digits and `-`, starting with a letter,
    /// at most 30.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,29}$"))]
    pub name: Field<String>,
    /// Cloud provider.
    pub provider: Field<RawCloud>,
    /// Cloud region, e.g. `eu-west-1` or `canadacentral`.
    pub region: Field<String>,
    /// AWS: availability zones, at least 2, e.g. `["eu-west-1a", "eu-west-1b"]` (required).
    /// Azure: zone numbers; default `["1", "2", "3"]`.
    #[serde(default)]
    pub zones: Field<Vec<Field<String>>>,
    /// Kubernetes version `MAJOR.MINOR`. Default: `1.35`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^\d+\.\d+$"), extend("default" = "1.35"))]
    pub kubernetes_version: Field<String>,
    /// VPC / VNet address space (IPv4 CIDR), e.g. `172.21.0.0/16`. Must not overlap any other
    /// range of any cluster.
    #[schemars(regex(pattern = CIDR))]
    pub network_cidr: Field<String>,
    /// Kubernetes service range (IPv4 CIDR). Must not overlap any other range of any cluster.
    #[schemars(regex(pattern = CIDR))]
    pub service_cidr: Field<String>,
    /// Pod range (IPv4 CIDR). AWS: a secondary VPC CIDR split into one pod subnet per zone;
    /// Azure: CNI overlay. Default: pods take addresses from the node subnets.
    #[serde(default)]
    #[schemars(regex(pattern = CIDR))]
    pub pod_cidr: Field<String>,
    /// AWS only: one node subnet per zone, keyed by zone. Default: `network_cidr` split into
    /// equal parts, one per zone in order.
    #[serde(default)]
    pub node_subnets: Field<BTreeMap<String, Field<String>>>,
    /// Azure only: the node subnet. Default: the first half of `network_cidr`.
    #[serde(default)]
    #[schemars(regex(pattern = CIDR))]
    pub node_subnet: Field<String>,
    /// Azure only: the `GatewaySubnet` of the VPN gateway, at least a /27. Default, when the
    /// cluster needs a gateway: the last /27 of `network_cidr`.
    #[serde(default)]
    #[schemars(regex(pattern = CIDR))]
    pub gateway_subnet: Field<String>,
    /// Azure only: subscription id. Default: `AZURE_SUBSCRIPTION_ID` at apply time.
    #[serde(default)]
    pub subscription: Field<String>,
    /// The worker nodes.
    #[serde(default)]
    pub node_pool: Field<RawNodePool>,
}

/// The cluster's worker node pool. cass-operator places one Cassandra pod per worker node.
#[derive(Debug, serde::Deserialize, JsonSchema)]
#[serde(expecting = "a table")]
#[schemars(rename = "NodePool", deny_unknown_fields)]
pub(crate) struct RawNodePool {
    /// Number of worker nodes, at least the sum of the sizes of the datacenters in this
    /// cluster. Default: `3`.
    #[serde(default)]
    #[schemars(range(min = 1, max = 4294967295u32), extend("default" = 3))]
    pub count: Field<i64>,
    /// AWS only: EC2 instance type. Default: `m5.xlarge`.
    #[serde(default)]
    #[schemars(extend("default" = "m5.xlarge"))]
    pub instance_type: Field<String>,
    /// Azure only: VM size. Default: `Standard_D4s_v5`.
    #[serde(default)]
    #[schemars(extend("default" = "Standard_D4s_v5"))]
    pub vm_size: Field<String>,
}

/// How Cassandra is deployed.
#[derive(Clone, Copy, Debug, serde::Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "CassandraMode")]
pub(crate) enum RawCassandraMode {
    /// k8ssandra-operator in every cluster, one of them the control plane holding the
    /// `K8ssandraCluster`.
    K8ssandraOperator,
    /// A cass-operator `CassandraDatacenter` per cluster; each one after the first is seeded
    /// with the seed-pod IPs of the ones before it.
    CassOperatorSeeds,
}

/// The Cassandra cluster.
#[derive(Debug, serde::Deserialize, JsonSchema)]
#[serde(expecting = "a table")]
#[schemars(rename = "Cassandra", deny_unknown_fields)]
pub(crate) struct RawCassandra {
    /// Name of the Cassandra cluster. Lower-case letters, digits and `-`, starting with a
    /// letter, at most 40.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,39}$"))]
    pub cluster_name: Field<String>,
    /// Cassandra version `MAJOR.MINOR.PATCH`. Default: `4.1.5`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^\d+\.\d+\.\d+$"), extend("default" = "4.1.5"))]
    pub server_version: Field<String>,
    /// How Cassandra is deployed. Default: `k8ssandra-operator`.
    #[serde(default)]
    #[schemars(extend("default" = "k8ssandra-operator"))]
    pub mode: Field<RawCassandraMode>,
    /// Name of the cluster that runs the k8ssandra control plane. Required in
    /// `k8ssandra-operator` mode; not allowed in `cass-operator-seeds` mode.
    #[serde(default)]
    pub control_plane: Field<String>,
    /// Name of the Secret with the superuser credentials. Default: `<cluster_name>-superuser`.
    #[serde(default)]
    pub superuser_secret: Field<String>,
    /// The datacenters, in bring-up order (at least one).
    #[schemars(length(min = 1))]
    pub datacenters: Field<Vec<Field<RawDatacenter>>>,
    /// Keyspaces whose replication ringform keeps as written. The system keyspaces
    /// `system_auth`, `system_distributed` and `system_traces` need no entry: ringform
    /// replicates them to every datacenter, min(3, its size) replicas each.
    #[serde(default)]
    pub keyspaces: Field<Vec<Field<RawKeyspace>>>,
}

/// A keyspace and its replicas per datacenter.
#[derive(Debug, serde::Deserialize, JsonSchema)]
#[serde(expecting = "a table")]
#[schemars(rename = "Keyspace", deny_unknown_fields)]
pub(crate) struct RawKeyspace {
    /// Unique name of the keyspace, a CQL identifier: a letter, then letters, digits and `_`,
    /// at most 48. Not a system keyspace's (`system`, `system_auth`, `system_schema`, …).
    #[schemars(regex(pattern = r"^[A-Za-z][A-Za-z0-9_]{0,47}$"))]
    pub name: Field<String>,
    /// Replicas per datacenter, e.g. `{ dc1 = 3, dc2 = 3 }`: each key one of the datacenters,
    /// each value from 1 to that datacenter's size. A datacenter not listed holds none.
    #[schemars(extend("minProperties" = 1, "additionalProperties" = { "type": "integer", "minimum": 1 }))]
    pub replication: Field<BTreeMap<String, Field<i64>>>,
    /// Where each key of `replication` is written, filled in by `load` from the document:
    /// serde_ignored hands map keys to serde as plain strings, so they cannot carry a span.
    #[serde(skip)]
    #[schemars(skip)]
    pub datacenter_spans: BTreeMap<String, Span>,
}

/// One Cassandra datacenter, running in one Kubernetes cluster.
#[derive(Debug, serde::Deserialize, JsonSchema)]
#[serde(expecting = "a table")]
#[schemars(rename = "Datacenter", deny_unknown_fields)]
pub(crate) struct RawDatacenter {
    /// Unique name of the datacenter. Lower-case letters, digits and `-`, starting with a
    /// letter, at most 30.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,29}$"))]
    pub name: Field<String>,
    /// Name of the Kubernetes cluster it runs in.
    pub cluster: Field<String>,
    /// Kubernetes namespace (a DNS label). Default: `cassandra`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"), extend("default" = "cassandra"))]
    pub namespace: Field<String>,
    /// Number of Cassandra nodes, at least the number of racks. Default: `3`.
    #[serde(default)]
    #[schemars(range(min = 1, max = 4294967295u32), extend("default" = 3))]
    pub size: Field<i64>,
    /// Racks, each pinned to one zone of the cluster. Default: one rack per zone, named `r1`
    /// to `rN` in zone order.
    #[serde(default)]
    pub racks: Field<Vec<Field<RawRack>>>,
    /// Storage class of the data volumes. Default: `gp3` on AWS, `managed-csi-premium` on Azure.
    #[serde(default)]
    pub storage_class: Field<String>,
    /// Size of each data volume (a Kubernetes quantity). Default: `100Gi`.
    #[serde(default)]
    #[schemars(extend("default" = "100Gi"))]
    pub storage_size: Field<String>,
    /// JVM heap, e.g. `2G` or `512M`. Default: `2G`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^\d+[MG]$"), extend("default" = "2G"))]
    pub heap: Field<String>,
}

/// A rack: the Cassandra nodes of a datacenter in one zone.
#[derive(Debug, serde::Deserialize, JsonSchema)]
#[serde(expecting = "a table")]
#[schemars(rename = "Rack", deny_unknown_fields)]
pub(crate) struct RawRack {
    /// Unique name within the datacenter, e.g. `r1`.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,29}$"))]
    pub name: Field<String>,
    /// One of the cluster's zones.
    pub zone: Field<String>,
}

// The raw enums mirror the model's, which carry no serde or schema derives of their own.

impl From<RawAwsMesh> for AwsMesh {
    fn from(raw: RawAwsMesh) -> Self {
        match raw {
            RawAwsMesh::VpcPeering => AwsMesh::VpcPeering,
            RawAwsMesh::TransitGateway => AwsMesh::TransitGateway,
        }
    }
}

impl From<RawAzureMesh> for AzureMesh {
    fn from(raw: RawAzureMesh) -> Self {
        match raw {
            RawAzureMesh::VpnGateway => AzureMesh::VpnGateway,
            RawAzureMesh::VnetPeering => AzureMesh::VnetPeering,
        }
    }
}

impl From<RawDnsMode> for DnsMode {
    fn from(raw: RawDnsMode) -> Self {
        match raw {
            RawDnsMode::None => DnsMode::None,
            RawDnsMode::CorednsStubs => DnsMode::CorednsStubs,
        }
    }
}

impl From<RawCloud> for Cloud {
    fn from(raw: RawCloud) -> Self {
        match raw {
            RawCloud::Aws => Cloud::Aws,
            RawCloud::Azure => Cloud::Azure,
        }
    }
}

impl From<RawCassandraMode> for CassandraMode {
    fn from(raw: RawCassandraMode) -> Self {
        match raw {
            RawCassandraMode::K8ssandraOperator => CassandraMode::K8ssandraOperator,
            RawCassandraMode::CassOperatorSeeds => CassandraMode::CassOperatorSeeds,
        }
    }
}
