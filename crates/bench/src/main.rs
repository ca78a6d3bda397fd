//! `ringform-bench`: measures ringform on generated topologies. `plan` generates AWS full-mesh
//! topologies (every pair of clusters peered, routed and firewalled, so the graph grows with the
//! square of the cluster count) and reports parse + validate, graph compile and plan times
//! (medians over several runs) and each size's peak RSS, measured in a child process per size so
//! the sizes don't share a high-water mark.

mod clouds;
mod engine;

use std::process::Command;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: ringform-bench plan [--sizes 10,50,100] [--runs N]\n       ringform-bench apply [--clusters 20] [--ms-per-minute 20] [--runs 3]\n       ringform-bench noop [--clusters 100] [--runs 5]   (needs moto)\n       ringform-bench azure-mesh [--ms-per-minute 20] [--runs 3]\n       ringform-bench ring [--example aws-azure-coredns.toml] [--ms-per-minute 20] [--runs 3]   (needs moto)\n       ringform-bench aws-refresh   (needs moto: scripts/test installs it)\n       ringform-bench topology N   (print the generated AWS mesh)";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("plan") => plan(&args[1..]),
        Some("topology") => args.get(1).and_then(|n| n.parse().ok()).map_or(Err(USAGE.to_owned()), |n| {
            print!("{}", ringform_testkit::topologies::aws_full_mesh(n));
            Ok(())
        }),
        Some("--one-plan") => one_plan(&args[1..]),
        Some("apply") => engine::apply(
            number(&args, "--clusters", 20.0) as usize,
            number(&args, "--ms-per-minute", 20.0),
            number(&args, "--runs", 3.0) as usize,
        ),
        Some("--one-noop") => engine::one_noop(
            args.get(1).and_then(|n| n.parse().ok()).unwrap_or(100),
            args.get(2).and_then(|n| n.parse().ok()).unwrap_or(5),
            args.get(3).map_or("sled", String::as_str),
            args.get(4).map_or("", String::as_str),
        ),
        Some("azure-mesh") => {
            clouds::azure_mesh(number(&args, "--ms-per-minute", 20.0), number(&args, "--runs", 3.0) as usize)
        }
        Some("aws-refresh") => clouds::aws_refresh(),
        Some("ring") => clouds::ring(
            flag(&args, "--example").unwrap_or("aws-azure-coredns.toml"),
            number(&args, "--ms-per-minute", 20.0),
            number(&args, "--runs", 3.0) as usize,
        ),
        Some("noop") => {
            engine::noop(number(&args, "--clusters", 100.0) as usize, number(&args, "--runs", 5.0) as usize)
        }
        _ => Err(USAGE.to_owned()),
    };
    if let Err(message) = result {
        eprintln!("{message}");
        std::process::exit(1);
    }
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(String::as_str)
}

fn number(args: &[String], name: &str, default: f64) -> f64 {
    flag(args, name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn plan(args: &[String]) -> Result<(), String> {
    let sizes = flag(args, "--sizes").unwrap_or("10,50,100");
    let runs = flag(args, "--runs").unwrap_or("5");
    println!(
        "AWS full mesh: parse+validate, graph, plan (empty state); median of {runs} runs; peak RSS of the whole run"
    );
    println!(
        "{:>8} {:>10} {:>8} {:>14} {:>10} {:>10} {:>10} {:>10}",
        "clusters", "resources", "edges", "parse+validate", "graph", "plan", "total", "peak RSS"
    );
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    for size in sizes.split(',') {
        let output = Command::new(&exe).args(["--one-plan", size, runs]).output().map_err(|e| e.to_string())?;
        if !output.status.success() {
            return Err(format!("size {size} failed: {}", String::from_utf8_lossy(&output.stderr)));
        }
        print!("{}", String::from_utf8_lossy(&output.stdout));
    }
    Ok(())
}

/// One size, in its own process: prints one row of the table.
fn one_plan(args: &[String]) -> Result<(), String> {
    let size: usize = args.first().and_then(|s| s.parse().ok()).ok_or(USAGE)?;
    let runs: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5).max(1);
    let source = ringform_testkit::topologies::aws_full_mesh(size);
    let state = ringform_state::Snapshot::empty();
    let schemas = ringform_schema::all();
    let (mut parse, mut graph, mut plan, mut total) = (vec![], vec![], vec![], vec![]);
    let mut counts = (0, 0);
    for _ in 0..runs {
        let start = Instant::now();
        let topology = ringform_topology::parse(&source)
            .map_err(|d| format!("{} diagnostics, first: {:?}", d.len(), d.first()))?;
        let parsed = Instant::now();
        let resources = ringform_graph::ResourceGraph::build(&topology).map_err(|e| format!("{e:?}"))?;
        let built = Instant::now();
        let result = ringform_plan::plan(&resources, &state, ringform_plan::topology_hash(&source), &schemas);
        let planned = Instant::now();
        counts = (resources.len(), resources.edge_count());
        assert_eq!(result.summary().add, resources.len());
        parse.push(parsed - start);
        graph.push(built - parsed);
        plan.push(planned - built);
        total.push(planned - start);
        drop((result, resources, topology));
    }
    println!(
        "{:>8} {:>10} {:>8} {:>14} {:>10} {:>10} {:>10} {:>10}",
        size,
        counts.0,
        counts.1,
        ms(median(&mut parse)),
        ms(median(&mut graph)),
        ms(median(&mut plan)),
        ms(median(&mut total)),
        peak_rss().map_or("?".into(), |kb| format!("{:.1} MB", kb as f64 / 1024.0)),
    );
    Ok(())
}

pub(crate) fn median(samples: &mut [Duration]) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Peak resident set size of this process in KiB, from /proc (Linux).
pub(crate) fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
