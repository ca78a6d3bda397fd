//! The third-party fixtures in `tests/fixtures/` are exactly what its `PROVENANCE` file
//! describes: every file listed there with its checksum, nothing unlisted, and, where
//! `../shared/fixtures` exists beside the checkout (CI has it), the copies byte-identical to it.
//! The files PROVENANCE lists as ringform's own additions are not copies and are left out of
//! that comparison.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

fn fixtures() -> PathBuf {
    ringform_testkit::fixtures_dir()
}

/// Every file under `dir`, by its path relative to `dir` with `/` separators, and its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).unwrap().components();
                let name: Vec<String> = relative.map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                out.insert(name.join("/"), std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The copies, without the file describing them.
fn copies() -> BTreeMap<String, Vec<u8>> {
    let mut copies = files(&fixtures());
    assert!(copies.remove("PROVENANCE").is_some(), "tests/fixtures/PROVENANCE is missing");
    copies
}

/// The heading in PROVENANCE after which ringform's own additions are listed.
const OWN_ADDITIONS: &str = "ringform's own additions";

/// The checksums PROVENANCE lists (`sha256sum` format: 64 hex digits, two spaces, the path) in
/// `text`, by path.
fn checksums(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once("  "))
        .filter(|(sum, _)| sum.len() == 64 && sum.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(|(sum, path)| (path.to_owned(), sum.to_owned()))
        .collect()
}

fn provenance() -> String {
    std::fs::read_to_string(fixtures().join("PROVENANCE")).unwrap()
}

/// The files PROVENANCE lists as ringform's own additions.
fn own_additions() -> Vec<String> {
    let provenance = provenance();
    let section = provenance.split_once(&format!("\n{OWN_ADDITIONS}")).map_or("", |(_, rest)| rest);
    checksums(section).into_keys().collect()
}

#[test]
fn every_fixture_has_the_checksum_its_provenance_records() {
    let listed = checksums(&provenance());
    let found: BTreeMap<String, String> =
        copies().into_iter().map(|(path, bytes)| (path, format!("{:x}", Sha256::digest(bytes)))).collect();
    assert!(!listed.is_empty(), "PROVENANCE lists no checksums");
    assert_eq!(
        found, listed,
        "tests/fixtures/ differs from the checksums in its PROVENANCE: fixtures are copied whole, never \
         edited; if a new set was copied, record it (and where it came from) in PROVENANCE"
    );
}

#[test]
fn ringforms_own_additions_are_listed_apart_and_not_in_shared_fixtures() {
    let own = own_additions();
    assert_eq!(own, ["arm/roleAssignments.schema.json"], "PROVENANCE's section `{OWN_ADDITIONS}`");
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures");
    for name in &own {
        assert!(
            !shared.join(name).exists(),
            "{name} is in {} now: copy it, and list it with the copies",
            shared.display()
        );
    }
}

#[test]
fn fixtures_are_byte_identical_to_shared_fixtures_when_beside_the_checkout() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures");
    if !shared.is_dir() {
        eprintln!(
            "{} does not exist: nothing to compare against here (CI has it); the copies are still \
             checked against the checksums in tests/fixtures/PROVENANCE",
            shared.display()
        );
        return;
    }
    let own = own_additions();
    let mut copies = copies();
    copies.retain(|name, _| !own.contains(name));
    let shared_files = files(&shared);
    let names = |files: &BTreeMap<String, Vec<u8>>| files.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&copies), names(&shared_files), "tests/fixtures/ and {} hold different files", shared.display());
    let differing: Vec<&String> = copies.keys().filter(|name| copies[*name] != shared_files[*name]).collect();
    assert!(
        differing.is_empty(),
        "these copies in tests/fixtures/ differ from {}: {differing:?} (copy them again with cp -r; never edit a copy)",
        shared.display()
    );
}
