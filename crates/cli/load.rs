//! Reading a topology file into a validated topology and its resource graph, printing every
//! problem found on the way.

use std::path::{Path, PathBuf};

use ringform_core::Address;
use ringform_graph::ResourceGraph;
use ringform_state::Snapshot;
use ringform_topology::Topology;

use crate::{Failure, colour};

pub(crate) struct Loaded {
    pub path: PathBuf,
    pub source: String,
    pub topology: Topology,
    pub graph: ResourceGraph,
}

impl Loaded {
    pub fn read(path: &Path) -> Result<Loaded, Failure> {
        let source = std::fs::read_to_string(path).map_err(|e| {
            Failure::new(format!("cannot read topology file {}: {e}", path.display()))
                .hint("pass the path of a topology file, e.g. `ringform plan examples/minimal.toml`")
        })?;
        let topology = ringform_topology::parse(&source).map_err(|diagnostics| {
            let colour = colour(&std::io::stderr());
            let name = path.display().to_string();
            for diagnostic in &diagnostics {
                eprintln!("{}\n", diagnostic.render(&name, &source, colour));
            }
            let count = diagnostics.len();
            let mut failure = Failure::new(format!("{name} has {count} problem{}", if count == 1 { "" } else { "s" }));
            failure.already_reported = true;
            failure
        })?;
        let graph = ResourceGraph::build(&topology).map_err(|errors| {
            let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
            Failure::new(format!("cannot build the resource graph: {}", list.join("; ")))
                .hint("this is a bug in ringform: please report it with the topology file")
        })?;
        Ok(Loaded { path: path.to_owned(), source, topology, graph })
    }

    /// The graph cut down to `targets` and what they depend on; the whole graph without targets.
    pub fn targeted_graph(&self, targets: &[String]) -> Result<ResourceGraph, Failure> {
        if targets.is_empty() {
            return Ok(self.graph.clone());
        }
        let addresses = parse_addresses(targets)?;
        self.graph.with_dependencies(&addresses).map_err(|missing| {
            Failure::new(format!("--target {missing}: no such resource in this topology"))
                .hint("`ringform graph FILE` lists every address")
        })
    }

    /// Leaves in `state` only what `graph` (cut to `targets`) covers and the targets themselves,
    /// so untargeted resources are left alone rather than planned for deletion.
    pub fn keep_targeted(graph: &ResourceGraph, state: &mut Snapshot, targets: &[String]) -> Result<(), Failure> {
        if !targets.is_empty() {
            let targets = parse_addresses(targets)?;
            state.records.retain(|address, _| graph.contains(address) || targets.contains(address));
        }
        Ok(())
    }

    /// `--state DIR`, else `state/<deployment>`.
    pub fn state_dir(&self, explicit: Option<&Path>) -> PathBuf {
        explicit.map_or_else(|| Path::new("state").join(&self.topology.deployment.value), Path::to_owned)
    }
}

pub(crate) fn parse_addresses(texts: &[String]) -> Result<Vec<Address>, Failure> {
    texts.iter().map(|t| t.parse::<Address>().map_err(|e| Failure::from_error(&e))).collect()
}
