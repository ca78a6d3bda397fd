//! The last good copy of a state, `last-good.jsonl` beside it: written after every successful
//! run that changed the state, brought back by `ringform state restore`, and the witness that
//! reveals a database which lost writes (sled recovers a damaged file by silently going back to
//! an older state; the copy remembers the newest serial that was good).
//!
//! JSON Lines, so the header is read without reading the records: the first line is the
//! header (format, lineage, serial, and the id of the key its secrets are sealed with), each
//! further line one record exactly as the store keeps it (secrets sealed). The file is 0600
//! and replaced atomically.

use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::seal::KeyId;
use crate::{Lineage, StateError, files};

/// Name of the last good copy inside a state directory.
pub const LAST_GOOD_FILE: &str = "last-good.jsonl";

/// The format this ringform writes and reads.
const FORMAT: u32 = 1;

/// What a last good copy is a copy of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Header {
    ringform_state: u32,
    pub lineage: Lineage,
    pub serial: u64,
    /// The key the records' secrets are sealed with; absent when they are not encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<KeyId>,
}

impl Header {
    pub fn new(lineage: Lineage, serial: u64, key_id: Option<KeyId>) -> Header {
        Header { ringform_state: FORMAT, lineage, serial, key_id }
    }
}

/// A last good copy as read: its header and its records as stored.
pub(crate) struct LastGood {
    pub path: PathBuf,
    pub header: Header,
    pub records: Vec<Vec<u8>>,
}

pub(crate) fn path_in(dir: &Path) -> PathBuf {
    dir.join(LAST_GOOD_FILE)
}

/// Replaces the last good copy in `dir` with `records` (as stored) under `header`.
pub(crate) fn write(dir: &Path, header: &Header, records: &[impl AsRef<[u8]>]) -> Result<(), StateError> {
    let path = path_in(dir);
    files::write_atomically(&path, |out| {
        serde_json::to_writer(&mut *out, header).map_err(io::Error::other)?;
        for record in records {
            out.write_all(b"\n")?;
            out.write_all(record.as_ref())?;
        }
        out.write_all(b"\n")
    })
    .map_err(|source| StateError::Io { action: "write the last good copy", path, source })
}

/// The header of the last good copy in `dir`, if there is one.
pub(crate) fn read_header(dir: &Path) -> Result<Option<Header>, StateError> {
    let path = path_in(dir);
    let Some(mut lines) = open_lines(&path)? else { return Ok(None) };
    let first = lines.next().transpose().map_err(|source| read_error(&path, source))?;
    parse_header(&path, first.as_deref().unwrap_or_default()).map(Some)
}

/// The last good copy in `dir`, if there is one.
pub(crate) fn read(dir: &Path) -> Result<Option<LastGood>, StateError> {
    let path = path_in(dir);
    let Some(lines) = open_lines(&path)? else { return Ok(None) };
    let mut lines = lines.filter(|line| !line.as_ref().is_ok_and(String::is_empty));
    let first = lines.next().transpose().map_err(|source| read_error(&path, source))?;
    let header = parse_header(&path, first.as_deref().unwrap_or_default())?;
    let records = lines.map(|line| line.map(String::into_bytes)).collect::<Result<_, _>>();
    let records = records.map_err(|source| read_error(&path, source))?;
    Ok(Some(LastGood { path, header, records }))
}

fn open_lines(path: &Path) -> Result<Option<io::Lines<BufReader<std::fs::File>>>, StateError> {
    match std::fs::File::open(path) {
        Ok(file) => Ok(Some(BufReader::new(file).lines())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(read_error(path, source)),
    }
}

fn read_error(path: &Path, source: io::Error) -> StateError {
    StateError::Io { action: "read the last good copy", path: path.to_owned(), source }
}

fn parse_header(path: &Path, line: &str) -> Result<Header, StateError> {
    let header: Header = serde_json::from_str(line).map_err(|source| StateError::LastGoodDamaged {
        path: path.to_owned(),
        detail: "its first line is not the header of a ringform state".into(),
        source: Some(source),
    })?;
    if header.ringform_state != FORMAT {
        return Err(StateError::LastGoodDamaged {
            path: path.to_owned(),
            detail: format!("it is in format {}, which this ringform does not read", header.ringform_state),
            source: None,
        });
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_copy_round_trips_and_its_header_reads_alone() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_header(dir.path()).unwrap().is_none());
        assert!(read(dir.path()).unwrap().is_none());
        let header = Header::new(Lineage::new(), 7, None);
        let records = [br#"{"address":"aws_vpc.a"}"#.to_vec(), br#"{"address":"aws_vpc.b"}"#.to_vec()];
        write(dir.path(), &header, &records).unwrap();
        assert_eq!(read_header(dir.path()).unwrap(), Some(header.clone()));
        let copy = read(dir.path()).unwrap().unwrap();
        assert_eq!((copy.header, copy.records), (header.clone(), records.to_vec()));
        let mode = std::fs::metadata(path_in(dir.path())).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, [LAST_GOOD_FILE], "no temporary file is left");

        write(dir.path(), &header, &[] as &[Vec<u8>]).unwrap();
        assert!(read(dir.path()).unwrap().unwrap().records.is_empty());
    }

    #[test]
    fn a_damaged_or_newer_header_says_so() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(path_in(dir.path()), "").unwrap();
        assert!(matches!(read_header(dir.path()), Err(StateError::LastGoodDamaged { .. })));
        let newer = serde_json::json!({"ringform_state": 2, "lineage": Lineage::new(), "serial": 1});
        std::fs::write(path_in(dir.path()), newer.to_string()).unwrap();
        let err = read(dir.path()).err().unwrap();
        assert!(err.to_string().contains("format 2"), "{err}");
    }
}
