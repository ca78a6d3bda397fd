//! The ordered passes that turn a topology into resources. Each pass only adds resources;
//! a pass may reference resources of earlier passes (and, by address, of later ones), and
//! linking in `ResourceGraph::from_resources` turns those references into edges.

mod aws;
mod azure;
mod cassandra;
mod cross_cloud;
mod kubernetes;

use ringform_topology::Topology;

use crate::builder::Builder;
use crate::{GraphError, Origins, Resource};

/// In order: clusters and their networks, meshes within each cloud, the mesh across clouds,
/// firewall rules, Kubernetes add-ons and access, cross-cluster DNS, Cassandra itself.
const PASSES: &[fn(&mut Builder)] = &[
    aws::clusters,
    azure::clusters,
    aws::mesh,
    azure::mesh,
    cross_cloud::vpn,
    aws::firewall,
    kubernetes::add_ons,
    kubernetes::dns,
    cassandra::datacenters,
];

pub(crate) fn run(topology: &Topology) -> Result<(Vec<Resource>, Origins), Vec<GraphError>> {
    let mut builder = Builder::new(topology);
    for pass in PASSES {
        pass(&mut builder);
    }
    if builder.errors.is_empty() { Ok((builder.resources, builder.origins)) } else { Err(builder.errors) }
}
