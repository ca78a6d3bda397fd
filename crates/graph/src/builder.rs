//! The scratchpad passes write into: resources in generation order, plus naming helpers.

use std::collections::HashMap;

use ringform_core::{Address, Attributes, Kind, Value};
use ringform_topology::{Cloud, Cluster, Span, Topology};

use crate::{GraphError, Origin, Resource};

/// Builds an [`Attributes`] map: `attrs! { "region" => "eu-west-1", "size" => 3 }`.
macro_rules! attrs {
    ($($key:literal => $value:expr),* $(,)?) => {{
        let mut map = ringform_core::Attributes::new();
        $(map.insert($key.to_owned(), ringform_core::Value::from($value));)*
        map
    }};
}
pub(crate) use attrs;

/// A reference to output `output` of `address`: the only way passes express a dependency.
pub(crate) fn output(address: &Address, output: &str) -> Value {
    Value::reference(address, output)
}

pub(crate) struct Builder<'t> {
    pub topology: &'t Topology,
    pub resources: Vec<Resource>,
    pub errors: Vec<GraphError>,
    pub origins: HashMap<Address, Origin>,
    /// The topology item the resources being added come from (a cluster's name, a pair of
    /// clusters' mesh): where a problem with one of them is reported.
    pub origin: Span,
}

impl<'t> Builder<'t> {
    pub fn new(topology: &'t Topology) -> Self {
        let origin = topology.deployment.span.clone();
        Builder { topology, resources: Vec::new(), errors: Vec::new(), origins: HashMap::new(), origin }
    }

    /// Resources added from now on come from the topology item at `span`.
    pub fn from(&mut self, span: &Span) {
        self.origin = span.clone();
    }

    /// Attribute `attribute` of `address` comes from the topology value at `span`.
    pub fn locate(&mut self, address: &Address, attribute: &'static str, span: &Span) {
        if let Some(origin) = self.origins.get_mut(address) {
            origin.attributes.insert(attribute, span.clone());
        }
    }

    /// The address of `kind` named `name`, whether or not it has been added yet.
    pub fn address(&mut self, kind: Kind, name: &str) -> Address {
        Address::new(kind, name).unwrap_or_else(|error| {
            self.errors.push(GraphError::InvalidName(error));
            // A valid stand-in keeps the build going so every problem is reported at once.
            Address::new(kind, "invalid").expect("`invalid` is a valid name")
        })
    }

    pub fn add(&mut self, kind: Kind, name: &str, attributes: Attributes) -> Address {
        let address = self.address(kind, name);
        self.resources.push(Resource { address: address.clone(), attributes });
        self.origins.insert(address.clone(), Origin { item: self.origin.clone(), attributes: HashMap::new() });
        address
    }

    /// The name cloud objects of this deployment get: `<deployment>-<parts…>`.
    pub fn cloud_name(&self, parts: &[&str]) -> String {
        let mut name = self.topology.deployment.value.clone();
        for part in parts {
            name.push('-');
            name.push_str(part);
        }
        name
    }

    pub fn clusters(&self, cloud: Cloud) -> impl Iterator<Item = &'t Cluster> + use<'t> {
        self.topology.clusters.iter().filter(move |c| c.provider.value == cloud)
    }
}

/// The address ranges other networks must route to reach a cluster's nodes and pods,
/// with the short names routes are named after.
pub(crate) fn routed_ranges(cluster: &Cluster) -> Vec<(&'static str, String)> {
    let mut ranges = vec![("network", cluster.network_cidr.value.to_string())];
    if let Some(pods) = &cluster.pod_cidr {
        ranges.push(("pods", pods.value.to_string()));
    }
    ranges
}

/// Every unordered pair, each once, in input order.
pub(crate) fn pairs<T: Copy>(items: &[T]) -> impl Iterator<Item = (T, T)> + '_ {
    items.iter().enumerate().flat_map(move |(i, &a)| items[i + 1..].iter().map(move |&b| (a, b)))
}
