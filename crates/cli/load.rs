//! Reading a topology file into a validated topology and its resource graph, printing every
//! problem found on the way.

use std::path::{Path, PathBuf};

use ringform_core::Address;
use ringform_graph::ResourceGraph;
use ringform_state::Snapshot;
use ringform_topology::{Diagnostic, Topology};

use crate::failure::one_line;
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
            Failure::new(format!("cannot read topology file {}", path.display()))
                .caused_by(&e)
                .hint("pass the path of a topology file, e.g. `ringform plan examples/minimal.toml`")
        })?;
        let topology = ringform_topology::parse(&source).map_err(|diagnostics| report(path, &source, &diagnostics))?;
        let graph = ResourceGraph::build(&topology).map_err(|errors| {
            let list: Vec<String> = errors.iter().map(|e| one_line(e)).collect();
            Failure::new(format!("cannot build the resource graph: {}", list.join("; ")))
                .hint("this is a bug in ringform: please report it with the topology file")
        })?;
        Ok(Loaded { path: path.to_owned(), source, topology, graph })
    }

    /// Refuses values the clouds would refuse (names too long, ranges a service reserves,
    /// regions that do not exist), as the providers' schemas declare them, pointing at the
    /// topology lines they come from.
    pub fn check(&self) -> Result<(), Failure> {
        let violations = self.graph.check(&ringform_schema::all(), &self.topology);
        if violations.is_empty() {
            return Ok(());
        }
        let diagnostics: Vec<Diagnostic> = violations.iter().map(|v| v.diagnostic()).collect();
        Err(report(&self.path, &self.source, &diagnostics))
    }

    /// The graph cut down to `targets` and what they depend on; the whole graph without targets.
    pub fn targeted_graph(&self, targets: &[String]) -> Result<ResourceGraph, Failure> {
        if targets.is_empty() {
            return Ok(self.graph.clone());
        }
        let addresses = resolve_targets(targets, &self.graph.resources().map(|r| &r.address).collect::<Vec<_>>())?;
        self.graph.with_dependencies(&addresses).map_err(|missing| {
            Failure::new(format!("--target {missing}: no such resource in this topology"))
                .hint("`ringform graph FILE` lists every address")
        })
    }

    /// Leaves in `state` only what `graph` (cut to `targets`) covers and the targets themselves,
    /// so untargeted resources are left alone rather than planned for deletion.
    pub fn keep_targeted(graph: &ResourceGraph, state: &mut Snapshot, targets: &[String]) -> Result<(), Failure> {
        if !targets.is_empty() {
            parse_patterns(targets)?;
            state.records.retain(|address, _| Loaded::is_targeted(graph, targets, address));
        }
        Ok(())
    }

    /// Whether a run cut to `graph` by `targets` covers `address`.
    pub fn is_targeted(graph: &ResourceGraph, targets: &[String], address: &Address) -> bool {
        graph.contains(address) || targets.iter().any(|t| matches(t, address))
    }

    /// `--state DIR`, else `state/<deployment>`.
    pub fn state_dir(&self, explicit: Option<&Path>) -> PathBuf {
        explicit.map_or_else(|| Path::new("state").join(&self.topology.deployment.value), Path::to_owned)
    }
}

/// Prints `diagnostics` of the topology at `path` and fails, naming how many there were.
fn report(path: &Path, source: &str, diagnostics: &[Diagnostic]) -> Failure {
    let colour = colour(&std::io::stderr());
    let name = path.display().to_string();
    for diagnostic in diagnostics {
        eprintln!("{}\n", diagnostic.render(&name, source, colour));
    }
    let count = diagnostics.len();
    let mut failure = Failure::new(format!("{name} has {count} problem{}", if count == 1 { "" } else { "s" }));
    failure.already_reported = true;
    failure
}

pub(crate) fn parse_addresses(texts: &[String]) -> Result<Vec<Address>, Failure> {
    texts.iter().map(|t| t.parse::<Address>().map_err(|e| Failure::from_error(&e))).collect()
}

/// `--target` values are addresses, or patterns where `*` stands for any text (`'aws_*'` is
/// every AWS resource, `'*.eu-west'` everything named eu-west): handy while a layer's provider
/// is missing, or to work on one cloud.
fn parse_patterns(texts: &[String]) -> Result<(), Failure> {
    let exact: Vec<String> = texts.iter().filter(|t| !t.contains('*')).cloned().collect();
    parse_addresses(&exact).map(drop)
}

pub(crate) fn matches(pattern: &str, address: &Address) -> bool {
    let text = address.to_string();
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else { return false };
    let mut parts: Vec<&str> = parts.collect();
    let Some(last) = parts.pop() else { return rest.is_empty() };
    for part in parts {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// Every address among `known` that a target names; a target that names none is an error.
pub(crate) fn resolve_targets(targets: &[String], known: &[&Address]) -> Result<Vec<Address>, Failure> {
    let mut resolved = Vec::new();
    for target in targets {
        if !target.contains('*') {
            resolved.extend(parse_addresses(std::slice::from_ref(target))?);
            continue;
        }
        let before = resolved.len();
        resolved.extend(known.iter().filter(|a| matches(target, a)).map(|a| (*a).clone()));
        if resolved.len() == before {
            return Err(Failure::new(format!("--target {target}: no resource matches"))
                .hint("`ringform graph FILE` lists every address"));
        }
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_whole_addresses_with_star_for_any_text() {
        let address: Address = "aws_route.eu-west~eu-central/network".parse().unwrap();
        for yes in
            ["aws_*", "*", "aws_route.*", "*network", "aws_*.eu-west~*/network", "aws_route.eu-west~eu-central/network"]
        {
            assert!(matches(yes, &address), "{yes}");
        }
        for no in ["azure_*", "aws_vpc*", "*.eu-west", "aws_*/pods", "*network*x"] {
            assert!(!matches(no, &address), "{no}");
        }
        assert!(!matches("aws_route.eu*west*west", &"aws_route.eu-west".parse().unwrap()), "parts may not overlap");
    }
}
