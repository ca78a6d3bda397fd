//! The last good copy of a state, `last-good.jsonl` beside it: written after every successful
//! run that changed the state, brought back by `ringform state restore`, and the witness that
//! reveals a database which lost writes (sled recovers a damaged file by silently going back to
//! an older state; the copy remembers the newest serial that was good).
//!
//! A [`Document`]: the header first, then the records as the store keeps them (secrets
//! sealed). The file is 0600 and replaced atomically.

use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::document::{Document, Header};
use crate::{StateError, files};

/// Name of the last good copy inside a state directory.
pub const LAST_GOOD_FILE: &str = "last-good.jsonl";

/// A last good copy as read, and where it was read from.
pub(crate) struct LastGood {
    pub path: PathBuf,
    pub document: Document,
}

pub(crate) fn path_in(dir: &Path) -> PathBuf {
    dir.join(LAST_GOOD_FILE)
}

/// Replaces the last good copy in `dir` with `document`.
pub(crate) fn write(dir: &Path, document: &Document) -> Result<(), StateError> {
    let path = path_in(dir);
    files::write_atomically(&path, |out| document.write_to(out)).map_err(|source| StateError::Io {
        action: "write the last good copy",
        path,
        source,
    })
}

/// The header of the last good copy in `dir`, if there is one.
pub(crate) fn read_header(dir: &Path) -> Result<Option<Header>, StateError> {
    let path = path_in(dir);
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(read_error(&path, source)),
    };
    let mut first = Vec::new();
    BufReader::new(file).read_until(b'\n', &mut first).map_err(|source| read_error(&path, source))?;
    Header::parse(first.trim_ascii_end()).map(Some).map_err(|(detail, source)| damaged(&path, detail, source))
}

/// The last good copy in `dir`, if there is one.
pub(crate) fn read(dir: &Path) -> Result<Option<LastGood>, StateError> {
    let path = path_in(dir);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(read_error(&path, source)),
    };
    let document = Document::parse(&bytes, &path.display().to_string()).map_err(|error| match error {
        StateError::Corrupt { detail, source, .. } => damaged(&path, detail, source),
        other => other,
    })?;
    Ok(Some(LastGood { path, document }))
}

fn read_error(path: &Path, source: io::Error) -> StateError {
    StateError::Io { action: "read the last good copy", path: path.to_owned(), source }
}

fn damaged(path: &Path, detail: String, source: Option<serde_json::Error>) -> StateError {
    StateError::LastGoodDamaged { path: path.to_owned(), detail, source }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::Lineage;

    #[test]
    fn a_copy_round_trips_and_its_header_reads_alone() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_header(dir.path()).unwrap().is_none());
        assert!(read(dir.path()).unwrap().is_none());
        let header = Header::new(Lineage::new(), 7, None);
        let records = vec![br#"{"address":"aws_vpc.a"}"#.to_vec(), br#"{"address":"aws_vpc.b"}"#.to_vec()];
        let document = Document { header: header.clone(), records };
        write(dir.path(), &document).unwrap();
        assert_eq!(read_header(dir.path()).unwrap(), Some(header.clone()));
        assert_eq!(read(dir.path()).unwrap().unwrap().document, document);
        let mode = std::fs::metadata(path_in(dir.path())).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, [LAST_GOOD_FILE], "no temporary file is left");

        write(dir.path(), &Document { header, records: Vec::new() }).unwrap();
        assert!(read(dir.path()).unwrap().unwrap().document.records.is_empty());
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
