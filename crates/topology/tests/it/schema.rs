//! The checked-in `schema/topology.schema.json` (what editors load) must be what
//! `json_schema()` generates. `RINGFORM_UPDATE_SCHEMA=1 cargo test -p ringform-topology --test it
//! schema` rewrites it.

use std::path::PathBuf;

#[test]
fn checked_in_schema_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema/topology.schema.json");
    let generated = serde_json::to_string_pretty(&ringform_topology::json_schema()).unwrap() + "\n";
    if std::env::var_os("RINGFORM_UPDATE_SCHEMA").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is out of date with json_schema(); regenerate it with \
         RINGFORM_UPDATE_SCHEMA=1 cargo test -p ringform-topology --test it schema",
        path.display()
    );
}
