//! The topology between reading and validating: every value that was readable, `None` where a
//! value was missing or invalid (already reported), so the cross-checks can run over whatever
//! is there. Turned into the public model only once nothing is wrong.

use std::collections::BTreeMap;

use crate::model::*;

pub(crate) struct Partial {
    pub deployment: Option<Spanned<String>>,
    /// `None` when a value in `[state]` was missing or invalid.
    pub state: Option<StateSettings>,
    pub mesh: Mesh,
    /// Where each mesh option was written, for options given but not applicable.
    pub mesh_given: MeshGiven,
    pub dns: Dns,
    pub clusters: Vec<PCluster>,
    pub cassandra: Option<PCassandra>,
    pub quotas: BTreeMap<String, Spanned<u32>>,
}

#[derive(Default)]
pub(crate) struct MeshGiven {
    pub aws: Option<Span>,
    pub azure: Option<Span>,
    pub cross_cloud: Option<Span>,
    pub azure_gateway_sku: Option<Span>,
    pub aws_rules_per_security_group: Option<Span>,
}

pub(crate) struct PCluster {
    /// `clusters.<name>` or `clusters[<index>]`.
    pub key: String,
    /// How messages name it: its name, or its key when it has none.
    pub label: String,
    pub name: Option<Spanned<String>>,
    pub provider: Option<Spanned<Cloud>>,
    pub region: Option<Spanned<String>>,
    pub zones: Option<Vec<Spanned<String>>>,
    pub kubernetes_version: Spanned<String>,
    pub node_count: Option<Spanned<u32>>,
    pub machine_type: Spanned<String>,
    pub network_cidr: Option<Spanned<Ipv4Net>>,
    pub pod_cidr: Option<Spanned<Ipv4Net>>,
    pub service_cidr: Option<Spanned<Ipv4Net>>,
    pub node_subnets: Vec<Subnet>,
    pub pod_subnets: Vec<Subnet>,
    pub gateway_subnet: Option<Spanned<Ipv4Net>>,
    pub subscription: Option<Spanned<String>>,
}

pub(crate) struct PCassandra {
    pub cluster_name: Option<Spanned<String>>,
    pub server_version: Spanned<String>,
    pub mode: Spanned<CassandraMode>,
    pub control_plane: Option<Spanned<String>>,
    pub superuser_secret: Spanned<String>,
    pub datacenters: Vec<PDatacenter>,
    pub keyspaces: Vec<PKeyspace>,
}

pub(crate) struct PDatacenter {
    /// `cassandra.datacenters.<name>` or `cassandra.datacenters[<index>]`.
    pub key: String,
    pub label: String,
    /// The `[[cassandra.datacenters]]` table.
    pub span: Span,
    pub name: Option<Spanned<String>>,
    pub cluster: Option<Spanned<String>>,
    pub namespace: Option<Spanned<String>>,
    pub size: Option<Spanned<u32>>,
    /// `None`: not given, one rack per zone of the cluster.
    pub racks: Option<Vec<PRack>>,
    /// `None`: not given, the default of the cluster's provider.
    pub storage_class: Option<Spanned<String>>,
    pub storage_size: Spanned<String>,
    pub heap: Spanned<String>,
}

pub(crate) struct PKeyspace {
    /// `cassandra.keyspaces.<name>` or `cassandra.keyspaces[<index>]`.
    pub key: String,
    pub label: String,
    pub name: Option<Spanned<String>>,
    /// In the order written; empty when `replication` is missing, invalid or empty (reported).
    pub replication: Vec<PReplicationFactor>,
}

pub(crate) struct PReplicationFactor {
    /// `<keyspace key>.replication.<datacenter>`.
    pub key: String,
    /// The key as written.
    pub datacenter: Spanned<String>,
    /// `None` when not a whole number from 1 up (reported); may exceed any size until checked.
    pub factor: Option<Spanned<i64>>,
}

pub(crate) struct PRack {
    pub key: String,
    pub name: Option<Spanned<String>>,
    pub zone: Option<Spanned<String>>,
}

impl Partial {
    /// The first cluster with this name.
    pub fn cluster(&self, name: &str) -> Option<&PCluster> {
        self.clusters.iter().find(|c| c.name.as_ref().is_some_and(|n| n.value == name))
    }

    /// The model, or `None` if anything required is absent. Only called when no problem was
    /// reported, so `None` means a check is missing, not a user error.
    pub fn build(self) -> Option<Topology> {
        let cassandra = match &self.cassandra {
            None => None,
            Some(c) => Some(self.build_cassandra(c)?),
        };
        let clusters = self.clusters.into_iter().map(PCluster::build).collect::<Option<Vec<_>>>()?;
        Some(Topology {
            deployment: self.deployment?,
            state: self.state?,
            clusters,
            mesh: self.mesh,
            dns: self.dns,
            cassandra,
            quotas: self.quotas,
        })
    }

    fn build_cassandra(&self, c: &PCassandra) -> Option<Cassandra> {
        let datacenters = c.datacenters.iter().map(|dc| self.build_datacenter(dc)).collect::<Option<Vec<_>>>()?;
        Some(Cassandra {
            cluster_name: c.cluster_name.clone()?,
            server_version: c.server_version.clone(),
            mode: c.mode.clone(),
            control_plane: c.control_plane.clone(),
            superuser_secret: c.superuser_secret.clone(),
            datacenters,
            keyspaces: c.keyspaces.iter().map(PKeyspace::build).collect::<Option<_>>()?,
        })
    }

    fn build_datacenter(&self, dc: &PDatacenter) -> Option<Datacenter> {
        let cluster = self.cluster(&dc.cluster.as_ref()?.value)?;
        let racks = match &dc.racks {
            Some(racks) => racks
                .iter()
                .map(|r| Some(Rack { name: r.name.clone()?, zone: r.zone.clone()? }))
                .collect::<Option<_>>()?,
            None => default_racks(cluster.zones.as_ref()?, &dc.span),
        };
        let storage_class = dc.storage_class.clone().unwrap_or_else(|| {
            let class = match cluster.provider.as_ref().map(|p| p.value) {
                Some(Cloud::Azure) => "managed-csi-premium",
                _ => "gp3",
            };
            Spanned::new(class.to_string(), dc.span.clone())
        });
        Some(Datacenter {
            name: dc.name.clone()?,
            cluster: dc.cluster.clone()?,
            namespace: dc.namespace.clone()?,
            size: dc.size.clone()?,
            racks,
            storage_class,
            storage_size: dc.storage_size.clone(),
            heap: dc.heap.clone(),
        })
    }
}

/// One rack per zone, `r1` to `rN` in zone order, pointing at the datacenter's table.
pub(crate) fn default_racks(zones: &[Spanned<String>], span: &Span) -> Vec<Rack> {
    zones
        .iter()
        .enumerate()
        .map(|(i, zone)| Rack {
            name: Spanned::new(format!("r{}", i + 1), span.clone()),
            zone: Spanned::new(zone.value.clone(), span.clone()),
        })
        .collect()
}

impl PCassandra {
    /// The first datacenter with this name.
    pub fn datacenter(&self, name: &str) -> Option<&PDatacenter> {
        self.datacenters.iter().find(|dc| dc.name.as_ref().is_some_and(|n| n.value == name))
    }
}

impl PKeyspace {
    fn build(&self) -> Option<Keyspace> {
        let replication = self.replication.iter().map(PReplicationFactor::build).collect::<Option<_>>()?;
        Some(Keyspace { name: self.name.clone()?, replication })
    }
}

impl PReplicationFactor {
    fn build(&self) -> Option<ReplicationFactor> {
        let factor = self.factor.as_ref()?;
        Some(ReplicationFactor {
            datacenter: self.datacenter.clone(),
            factor: Spanned::new(u32::try_from(factor.value).ok()?, factor.span.clone()),
        })
    }
}

impl PCluster {
    fn build(self) -> Option<Cluster> {
        Some(Cluster {
            name: self.name?,
            provider: self.provider?,
            region: self.region?,
            zones: self.zones?,
            kubernetes_version: self.kubernetes_version,
            node_pool: NodePool { count: self.node_count?, machine_type: self.machine_type },
            network_cidr: self.network_cidr?,
            node_subnets: self.node_subnets,
            pod_cidr: self.pod_cidr,
            pod_subnets: self.pod_subnets,
            service_cidr: self.service_cidr?,
            gateway_subnet: self.gateway_subnet,
            subscription: self.subscription,
        })
    }
}
