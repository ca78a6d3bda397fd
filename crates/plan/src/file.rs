//! Plan files (`plan -out FILE`): the plan with the lineage, serial and topology hash it was
//! made against, so `apply FILE` can refuse it once any of them has moved.

use std::io::Write;
use std::path::{Path, PathBuf};

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
    #[error("{path} is not a ringform plan file (or was written by an incompatible version): {reason}")]
    Format { path: PathBuf, reason: String },
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    ringform_plan_format: u32,
    ringform_version: String,
    /// The topology file the plan was made from, as given on the command line.
    topology: PathBuf,
    plan: Plan,
}

/// A saved plan and the topology file it was made from.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanFile {
    pub topology: PathBuf,
    pub plan: Plan,
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
    let format = |reason: String| PlanFileError::Format { path: path.to_owned(), reason };
    let file: Stored = serde_json::from_slice(&bytes).map_err(|e| format(e.to_string()))?;
    if file.ringform_plan_format != FORMAT {
        return Err(format(format!("format {} (this ringform reads format {FORMAT})", file.ringform_plan_format)));
    }
    Ok(PlanFile { topology: file.topology, plan: file.plan })
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
        };
        let file = PlanFile { topology: "examples/minimal.toml".into(), plan };
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
        let error = read_plan_file(&path).unwrap_err().to_string();
        assert!(error.contains("is not a ringform plan file"), "{error}");
    }

    #[test]
    fn hash_is_sha256() {
        assert_eq!(topology_hash(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
