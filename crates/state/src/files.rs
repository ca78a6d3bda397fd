//! File modes: state holds secrets in plain text (until client-side encryption lands), so its
//! directory is 0700 and every file in it 0600.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::Path;

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents, with default modes) and makes `dir` itself private.
pub(crate) fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    builder.mode(DIR_MODE);
    match builder.create(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates a new file readable by its owner only; fails if it exists (O_EXCL).
pub(crate) fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(FILE_MODE);
    options.open(path)
}

/// Sets `dir` and every directory below it to 0700 and every file to 0600. sled creates its
/// files with the process umask, so this runs after opening and when closing; in between the
/// 0700 directory keeps them out of reach.
pub(crate) fn tighten_permissions(dir: &Path) -> io::Result<()> {
    set_mode(dir, DIR_MODE)?;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        // Never follow symlinks: their targets are not ours to change.
        let file_type = entry.file_type()?;
        let done = if file_type.is_dir() {
            tighten_permissions(&entry.path())
        } else if file_type.is_file() {
            set_mode(&entry.path(), FILE_MODE)
        } else {
            Ok(())
        };
        match done {
            // sled renames and deletes its snapshot files as it goes.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            other => other?,
        }
    }
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    let current = fs::metadata(path)?.permissions().mode() & 0o777;
    if current == mode {
        return Ok(());
    }
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}
