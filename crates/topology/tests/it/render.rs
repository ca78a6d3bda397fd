//! Snapshot of how a file with many mistakes is reported: every problem, in file order, in the
//! rustc style the CLI prints.

use ringform_topology::parse;

#[test]
fn broken_topology_report() {
    let source = include_str!("../fixtures/broken.toml");
    let diagnostics = parse(source).expect_err("the fixture is broken on purpose");
    let report: Vec<String> = diagnostics.iter().map(|d| d.render("broken.toml", source, false)).collect();
    insta::assert_snapshot!(report.join("\n\n"));
}
