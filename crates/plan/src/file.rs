//! Plan files (`plan -out FILE`): the plan with the lineage, serial and topology hash it was
//! made against, so `apply FILE` can refuse it once any of them has moved.

use std::io::Write;
use std::path::{Path, PathBuf};

use ringform_state::{Lineage, Snapshot};
use sha2::{Digest, Sha256};

use crate::Plan;

/// Bumped when the file layout changes incompatibly.
const FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("cannot write plan file {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read plan file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a ringform plan file (or was written by an incompatible version)")]
    Decode {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path} is a plan file of format {format}, but this ringform reads format {FORMAT}")]
    Format { path: PathBuf, format: u32 },
    /// The state changed after the plan was made: the plan may undo or repeat what changed it.
    #[error(
        "the saved plan was made against state {planned_lineage} serial {planned_serial}, but the state is now \
         {lineage} serial {serial}"
    )]
    StateMoved { planned_lineage: Lineage, planned_serial: u64, lineage: Lineage, serial: u64 },
    #[error("{topology} has changed since the plan was made")]
    TopologyChanged { topology: PathBuf },
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    ringform_plan_format: u32,
    ringform_version: String,
    /// The topology file the plan was made from, as given on the command line.
    topology: PathBuf,
    /// Made with `--allow-data-loss`: applying it may destroy the Cassandra data it names.
    #[serde(default)]
    allow_data_loss: bool,
    plan: Plan,
}

/// A saved plan and the topology file it was made from.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanFile {
    pub topology: PathBuf,
    pub plan: Plan,
    /// Made with `--allow-data-loss`.
    pub allow_data_loss: bool,
}

impl PlanFile {
    /// Whether the plan may still be applied to `state`, with the topology file now reading
    /// `topology_source`: refused once either has changed since the plan was made.
    pub fn check_against(&self, state: &Snapshot, topology_source: &str) -> Result<(), PlanFileError> {
        let plan = &self.plan;
        // A plan made before anything was applied has a lineage of its own (there was no state
        // to take it from); it still fits a state that is as empty as it was.
        let both_empty = plan.serial == 0 && state.serial == 0 && state.records.is_empty();
        if !both_empty && (plan.lineage != state.lineage || plan.serial != state.serial) {
            return Err(PlanFileError::StateMoved {
                planned_lineage: plan.lineage,
                planned_serial: plan.serial,
                lineage: state.lineage,
                serial: state.serial,
            });
        }
        if plan.topology_hash != topology_hash(topology_source) {
            return Err(PlanFileError::TopologyChanged { topology: self.topology.clone() });
        }
        Ok(())
    }
}

/// SHA-256 of the topology source, hex encoded.
pub fn topology_hash(source: &str) -> String {
    Sha256::digest(source.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes the plan, readable by its owner only: it may hold values read from state.
pub fn write_plan_file(path: &Path, file: &PlanFile) -> Result<(), PlanFileError> {
    let error = |source| PlanFileError::Write { path: path.to_owned(), source };
    let file = Stored {
        ringform_plan_format: FORMAT,
        ringform_version: env!("CARGO_PKG_VERSION").into(),
        topology: file.topology.clone(),
        allow_data_loss: file.allow_data_loss,
        plan: file.plan.clone(),
    };
    let bytes = serde_json::to_vec(&file).map_err(|e| error(e.into()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(path).map_err(error)?;
    out.write_all(&bytes).and_then(|()| out.sync_all()).map_err(error)
}

pub fn read_plan_file(path: &Path) -> Result<PlanFile, PlanFileError> {
    let bytes = std::fs::read(path).map_err(|source| PlanFileError::Read { path: path.to_owned(), source })?;
    let file: Stored =
        serde_json::from_slice(&bytes).map_err(|source| PlanFileError::Decode { path: path.to_owned(), source })?;
    if file.ringform_plan_format != FORMAT {
        return Err(PlanFileError::Format { path: path.to_owned(), format: file.ringform_plan_format });
    }
    Ok(PlanFile { topology: file.topology, plan: file.plan, allow_data_loss: file.allow_data_loss })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        let plan = Plan {
            lineage: ringform_state::Lineage::new(),
            serial: 7,
            topology_hash: topology_hash("x"),
            changes: vec![],
            refusals: vec!["a keyspace would be stranded".into()],
        };
        let file = PlanFile { topology: "examples/minimal.toml".into(), plan, allow_data_loss: true };
        write_plan_file(&path, &file).unwrap();
        assert_eq!(read_plan_file(&path).unwrap(), file);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn rejects_other_files_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        std::fs::write(&path, "{}").unwrap();
        let error = read_plan_file(&path).unwrap_err();
        assert!(error.to_string().ends_with("is not a ringform plan file (or was written by an incompatible version)"));
        let cause = std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default();
        assert!(cause.starts_with("missing field"), "the JSON error is the cause: {cause}");
    }

    fn saved(lineage: Lineage, serial: u64, source: &str) -> PlanFile {
        let plan = Plan { lineage, serial, topology_hash: topology_hash(source), changes: vec![], refusals: vec![] };
        PlanFile { topology: "examples/minimal.toml".into(), plan, allow_data_loss: false }
    }

    fn state(lineage: Lineage, serial: u64) -> Snapshot {
        Snapshot { lineage, serial, ..Snapshot::empty() }
    }

    #[test]
    fn a_saved_plan_fits_only_the_state_and_topology_it_was_made_against() {
        let lineage = Lineage::new();
        let file = saved(lineage, 4, "x");
        assert!(file.check_against(&state(lineage, 4), "x").is_ok());

        let moved = file.check_against(&state(lineage, 5), "x").unwrap_err();
        assert!(matches!(moved, PlanFileError::StateMoved { planned_serial: 4, serial: 5, .. }), "{moved}");
        assert!(moved.to_string().ends_with(&format!("but the state is now {lineage} serial 5")), "{moved}");
        let other = Lineage::new();
        assert!(matches!(file.check_against(&state(other, 4), "x"), Err(PlanFileError::StateMoved { .. })));

        let edited = file.check_against(&state(lineage, 4), "y").unwrap_err();
        assert_eq!(edited.to_string(), "examples/minimal.toml has changed since the plan was made");
    }

    #[test]
    fn a_plan_made_before_any_apply_fits_a_state_still_empty() {
        let file = saved(Lineage::new(), 0, "x");
        assert!(file.check_against(&Snapshot::empty(), "x").is_ok(), "a new store has a lineage of its own");
        let applied = state(Lineage::new(), 1);
        assert!(matches!(file.check_against(&applied, "x"), Err(PlanFileError::StateMoved { .. })));
    }

    #[test]
    fn hash_is_sha256() {
        assert_eq!(topology_hash(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
