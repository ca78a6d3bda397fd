//! Snapshot of how a file with many mistakes is reported: every problem, in file order, in the
//! rustc style the CLI prints.

use ringform_topology::parse;

/// Every diagnostic of a fixture that is broken on purpose, rendered.
fn report(path: &str, source: &str) -> String {
    let diagnostics = parse(source).expect_err("the fixture is broken on purpose");
    diagnostics.iter().map(|d| d.render(path, source, false)).collect::<Vec<_>>().join("\n\n")
}

#[test]
fn broken_topology_report() {
    insta::assert_snapshot!(report("broken.toml", include_str!("../fixtures/broken.toml")));
}

#[test]
fn broken_state_report() {
    insta::assert_snapshot!(report("broken_state.toml", include_str!("../fixtures/broken_state.toml")));
}
