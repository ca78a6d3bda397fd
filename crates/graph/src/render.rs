//! DOT and Mermaid renderings of the graph, nodes grouped by provider.

use std::fmt::Write;

use petgraph::graph::DiGraph;
use ringform_core::Provider;
use ringform_core::schema::Schemas;

use crate::Resource;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Dot,
    Mermaid,
}

pub(crate) fn render(graph: &DiGraph<Resource, ()>, format: Format) -> String {
    match format {
        Format::Dot => dot(graph),
        Format::Mermaid => mermaid(graph),
    }
}

fn provider_of(schemas: &Schemas, resource: &Resource) -> Provider {
    schemas.provider(resource.address.kind()).unwrap_or(Provider::Local)
}

fn colour(provider: Provider) -> &'static str {
    match provider {
        Provider::Aws => "#ff9900",
        Provider::Azure => "#0078d4",
        Provider::Kubernetes => "#326ce5",
        Provider::Local => "#888888",
    }
}

fn dot(graph: &DiGraph<Resource, ()>) -> String {
    let mut out = String::from("digraph ringform {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n");
    let schemas = ringform_schema::all();
    for resource in graph.node_weights() {
        let _ = writeln!(out, "  \"{}\" [color=\"{}\"];", resource.address, colour(provider_of(&schemas, resource)));
    }
    for edge in graph.raw_edges() {
        let _ = writeln!(out, "  \"{}\" -> \"{}\";", graph[edge.source()].address, graph[edge.target()].address);
    }
    out.push_str("}\n");
    out
}

fn mermaid(graph: &DiGraph<Resource, ()>) -> String {
    let mut out = String::from("flowchart LR\n");
    let schemas = ringform_schema::all();
    for (i, resource) in graph.node_weights().enumerate() {
        let _ = writeln!(out, "  n{i}[\"{}\"]:::{}", resource.address, provider_of(&schemas, resource));
    }
    for edge in graph.raw_edges() {
        let _ = writeln!(out, "  n{} --> n{}", edge.source().index(), edge.target().index());
    }
    for provider in [Provider::Aws, Provider::Azure, Provider::Kubernetes, Provider::Local] {
        let _ = writeln!(out, "  classDef {provider} stroke:{}", colour(provider));
    }
    out
}
