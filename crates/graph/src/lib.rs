//! Compiles a validated topology into the resource graph: every cloud, network and Kubernetes
//! object the deployment needs, as [`Resource`]s with attributes, built by an ordered list of
//! passes (clusters, meshes, firewall, Kubernetes, DNS, Cassandra). Edges are never listed by
//! hand: a resource depends on another exactly when one of its attributes references that
//! resource's output. Also renders the graph as DOT or Mermaid. Sync, no I/O; petgraph's node
//! indices stay inside this crate, callers speak in [`Address`]es.

mod builder;
mod check;
mod passes;
mod render;

use std::collections::HashMap;

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use ringform_core::{Address, AddressError, Attributes};
use ringform_topology::{Span, Topology};

pub use check::Violation;
pub use render::Format;

/// One node of the graph: what ringform wants to exist at `address`.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub address: Address,
    pub attributes: Attributes,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GraphError {
    #[error("two resources were generated at {0}; names derived from the topology must be unique")]
    DuplicateAddress(Address),
    #[error("{from} references {to}, which the graph does not contain")]
    DanglingReference { from: Address, to: Address },
    #[error("a generated resource name is invalid")]
    InvalidName(#[source] AddressError),
    #[error("dependency cycle: {}", cycle_text(.0))]
    Cycle(Vec<Address>),
}

fn cycle_text(cycle: &[Address]) -> String {
    let mut text: Vec<String> = cycle.iter().map(Address::to_string).collect();
    if let Some(first) = cycle.first() {
        text.push(first.to_string());
    }
    text.join(" → ")
}

/// Where in the topology a resource comes from: the item that made it, and the values some of
/// its attributes were taken from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Origin {
    pub item: Span,
    pub attributes: HashMap<&'static str, Span>,
}

pub(crate) type Origins = HashMap<Address, Origin>;

/// The resources of a deployment and the references between them.
/// An edge `a → b` means `b` references an output of `a`, so `a` must exist first.
#[derive(Clone, Debug, Default)]
pub struct ResourceGraph {
    graph: DiGraph<Resource, ()>,
    index: HashMap<Address, NodeIndex>,
    /// Empty for graphs not built from a topology.
    origins: Origins,
}

impl ResourceGraph {
    /// Runs every pass over the topology, links references into edges and rejects cycles.
    pub fn build(topology: &Topology) -> Result<ResourceGraph, Vec<GraphError>> {
        let (resources, origins) = passes::run(topology)?;
        Ok(ResourceGraph { origins, ..ResourceGraph::from_resources(resources)? })
    }

    /// Links resources by their references. Every referenced address must be among them.
    pub fn from_resources(resources: Vec<Resource>) -> Result<ResourceGraph, Vec<GraphError>> {
        let mut graph = DiGraph::with_capacity(resources.len(), resources.len() * 2);
        let mut index = HashMap::with_capacity(resources.len());
        let mut errors = Vec::new();
        for resource in resources {
            let address = resource.address.clone();
            if index.contains_key(&address) {
                errors.push(GraphError::DuplicateAddress(address));
                continue;
            }
            index.insert(address, graph.add_node(resource));
        }
        let mut edges = Vec::new();
        for node in graph.node_indices() {
            let resource = &graph[node];
            for value in resource.attributes.values() {
                value.visit_references(&mut |reference| match index.get(&reference.address) {
                    Some(&target) => edges.push((target, node)),
                    None => errors.push(GraphError::DanglingReference {
                        from: resource.address.clone(),
                        to: reference.address.clone(),
                    }),
                });
            }
        }
        edges.sort_unstable();
        edges.dedup();
        for (from, to) in edges {
            graph.add_edge(from, to, ());
        }
        if let Some(cycle) = find_cycle(&graph) {
            errors.push(GraphError::Cycle(cycle));
        }
        if errors.is_empty() { Ok(ResourceGraph { graph, index, origins: Origins::new() }) } else { Err(errors) }
    }

    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    pub fn get(&self, address: &Address) -> Option<&Resource> {
        self.index.get(address).map(|&node| &self.graph[node])
    }

    pub fn contains(&self, address: &Address) -> bool {
        self.index.contains_key(address)
    }

    /// Every resource, in the order the passes generated them.
    pub fn resources(&self) -> impl Iterator<Item = &Resource> {
        self.graph.node_weights()
    }

    /// The resources `address` references directly.
    pub fn dependencies(&self, address: &Address) -> impl Iterator<Item = &Address> {
        self.neighbors(address, Direction::Incoming)
    }

    /// The resources that reference `address` directly.
    pub fn dependents(&self, address: &Address) -> impl Iterator<Item = &Address> {
        self.neighbors(address, Direction::Outgoing)
    }

    fn neighbors(&self, address: &Address, direction: Direction) -> impl Iterator<Item = &Address> {
        self.index
            .get(address)
            .into_iter()
            .flat_map(move |&node| self.graph.neighbors_directed(node, direction))
            .map(|n| &self.graph[n].address)
    }

    /// Every resource after all it depends on. The graph is acyclic by construction.
    pub fn topological_order(&self) -> Vec<&Address> {
        petgraph::algo::toposort(&self.graph, None)
            .map(|order| order.into_iter().map(|n| &self.graph[n].address).collect())
            .unwrap_or_default()
    }

    /// The part of the graph `targets` need: the targets and, transitively, what they depend on.
    pub fn with_dependencies(&self, targets: &[Address]) -> Result<ResourceGraph, Address> {
        let mut keep = vec![false; self.graph.node_count()];
        let mut stack = Vec::new();
        for target in targets {
            stack.push(*self.index.get(target).ok_or_else(|| target.clone())?);
        }
        while let Some(node) = stack.pop() {
            if !std::mem::replace(&mut keep[node.index()], true) {
                stack.extend(self.graph.neighbors_directed(node, Direction::Incoming));
            }
        }
        let graph = self.graph.filter_map(|n, r| keep[n.index()].then(|| r.clone()), |_, &()| Some(()));
        let index: HashMap<Address, NodeIndex> = graph.node_indices().map(|n| (graph[n].address.clone(), n)).collect();
        let origins =
            self.origins.iter().filter(|(a, _)| index.contains_key(*a)).map(|(a, o)| (a.clone(), o.clone())).collect();
        Ok(ResourceGraph { graph, index, origins })
    }

    /// Where in the topology `address` comes from, for a graph built from one.
    pub fn origin(&self, address: &Address) -> Option<&Origin> {
        self.origins.get(address)
    }

    pub fn render(&self, format: Format) -> String {
        render::render(&self.graph, format)
    }
}

/// One cycle, as the addresses along it, if the graph has any.
fn find_cycle(graph: &DiGraph<Resource, ()>) -> Option<Vec<Address>> {
    if petgraph::algo::toposort(graph, None).is_ok() {
        return None;
    }
    let component =
        petgraph::algo::tarjan_scc(graph).into_iter().find(|c| c.len() > 1 || graph.contains_edge(c[0], c[0]))?;
    // Walk the component from its first node until we come back, to name the cycle in order.
    let members: std::collections::HashSet<_> = component.iter().copied().collect();
    let start = component[0];
    let mut path = vec![start];
    let mut seen = std::collections::HashSet::from([start]);
    let mut node = start;
    loop {
        let next = graph.neighbors(node).find(|n| members.contains(n))?;
        if next == start || !seen.insert(next) {
            if let Some(pos) = path.iter().position(|&n| n == next) {
                path.drain(..pos);
            }
            break;
        }
        path.push(next);
        node = next;
    }
    Some(path.into_iter().map(|n| graph[n].address.clone()).collect())
}

#[cfg(test)]
mod tests;
