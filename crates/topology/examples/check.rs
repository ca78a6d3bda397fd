//! Checks topology files and prints their diagnostics the way the CLI will:
//! `cargo run -p ringform-topology --example check -- FILE...`

use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut failed = false;
    for path in std::env::args().skip(1) {
        let source = match std::fs::read_to_string(&path) {
            Ok(source) => source,
            Err(error) => {
                eprintln!("error: cannot read {path}: {error}");
                failed = true;
                continue;
            }
        };
        match ringform_topology::parse(&source) {
            Ok(topology) => println!("{path}: ok, {} clusters", topology.clusters.len()),
            Err(diagnostics) => {
                failed = true;
                for d in &diagnostics {
                    eprintln!("{}\n", d.render(&path, &source, color));
                }
                let plural = if diagnostics.len() == 1 { "" } else { "s" };
                eprintln!("{path}: {} problem{plural}", diagnostics.len());
            }
        }
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
