//! One function per command; each returns the exit code or a [`Failure`].

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use ringform_graph::Format;
use ringform_plan::RenderOptions;
use ringform_state::{SledStore, Snapshot, StateStore};

use crate::args::{GraphArgs, GraphFormat, KubeconfigArgs, PlanArgs, StateCommand, TopologyArg};
use crate::load::{Loaded, parse_addresses};
use crate::{Exit, Failure, colour};

pub(crate) fn print(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    // A closed pipe (`ringform plan | head`) is not an error worth a message.
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

pub fn validate(args: &TopologyArg) -> Result<Exit, Failure> {
    let loaded = Loaded::read(&args.topology)?;
    loaded.check()?;
    let t = &loaded.topology;
    let datacenters = t.cassandra.as_ref().map_or(0, |c| c.datacenters.len());
    print(&format!(
        "{} is valid: {} cluster{}, {} datacenter{}, {} resources.\n",
        loaded.path.display(),
        t.clusters.len(),
        plural(t.clusters.len()),
        datacenters,
        plural(datacenters),
        loaded.graph.len()
    ))?;
    Ok(Exit::Success)
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The state to plan against: the stored one, or an empty one for a deployment never applied
/// (planning must not create state).
pub(crate) fn read_snapshot(dir: &Path, operation: &str) -> Result<Snapshot, Failure> {
    if !SledStore::exists(dir) {
        return Ok(Snapshot::empty());
    }
    Ok(SledStore::open_existing(dir, operation)?.snapshot()?)
}

pub fn plan(args: &PlanArgs) -> Result<Exit, Failure> {
    let loaded = Loaded::read(&args.topology.topology)?;
    loaded.check()?;
    let graph = loaded.targeted_graph(&args.target)?;
    let dir = loaded.state_dir(args.state.state.as_deref());
    let (loaded, mut state) = if args.refresh && SledStore::exists(&dir) {
        crate::run::reality(loaded, &dir)?
    } else {
        let state = read_snapshot(&dir, "plan")?;
        (loaded, state)
    };
    Loaded::keep_targeted(&graph, &mut state, &args.target)?;
    let schemas = ringform_schema::all();
    let plan = ringform_plan::plan(&graph, &state, ringform_plan::topology_hash(&loaded.source), &schemas);
    if args.json {
        print(&format!("{:#}\n", ringform_plan::to_json(&plan, &schemas)))?;
    } else {
        print(&ringform_plan::render(&plan, RenderOptions { color: colour(&std::io::stdout()) }))?;
    }
    if let Some(out) = &args.out {
        let file = ringform_plan::PlanFile {
            topology: loaded.path.clone(),
            plan: plan.clone(),
            allow_data_loss: args.allow_data_loss,
        };
        ringform_plan::write_plan_file(out, &file)?;
        if !args.json {
            print(&format!(
                "\nSaved the plan to {}. Apply exactly it with `ringform apply {}`.\n",
                out.display(),
                out.display()
            ))?;
        }
    }
    Ok(if args.detailed_exitcode && plan.has_changes() { Exit::Changes } else { Exit::Success })
}

pub fn graph(args: &GraphArgs) -> Result<Exit, Failure> {
    let loaded = Loaded::read(&args.topology.topology)?;
    let graph = loaded.targeted_graph(&args.target)?;
    let format = match args.format {
        GraphFormat::Dot => Format::Dot,
        GraphFormat::Mermaid => Format::Mermaid,
    };
    print(&graph.render(format))?;
    Ok(Exit::Success)
}

pub fn kubeconfig(args: &KubeconfigArgs) -> Result<Exit, Failure> {
    let loaded = Loaded::read(&args.topology.topology)?;
    let state = read_snapshot(&loaded.state_dir(args.state.state.as_deref()), "kubeconfig")?;
    let (contexts, missing) = crate::kubeconfig::contexts(&loaded.topology, &state);
    if contexts.is_empty() {
        return Err(Failure::new("no cluster of this deployment has been applied yet")
            .hint(format!("run `ringform apply {}` first", loaded.path.display())));
    }
    let file = crate::kubeconfig::target_file(args.kubeconfig.as_deref())?;
    let existing = match std::fs::read_to_string(&file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        other => other.map_err(|e| Failure::new(format!("cannot read {}", file.display())).caused_by(&e))?,
    };
    let merged = crate::kubeconfig::merge(&existing, &contexts).map_err(|e| {
        Failure::new(format!("cannot merge into {}: it is not a kubeconfig", file.display()))
            .caused_by(&e)
            .hint("point --kubeconfig (or KUBECONFIG) at a kubeconfig file, or at a file that does not exist yet")
    })?;
    crate::kubeconfig::write_private(&file, &merged)
        .map_err(|e| Failure::new(format!("cannot write {}", file.display())).caused_by(&e))?;
    let names: Vec<&str> = contexts.iter().map(|c| c.name.as_str()).collect();
    print(&format!("Wrote context{} {} to {}.\n", plural(names.len()), names.join(", "), file.display()))?;
    if !missing.is_empty() {
        eprintln!("Not applied yet, so left out: {}.", missing.join(", "));
    }
    Ok(Exit::Success)
}

pub fn schema() -> Result<Exit, Failure> {
    print(&format!("{:#}\n", ringform_topology::json_schema()))?;
    Ok(Exit::Success)
}

pub fn state(command: StateCommand) -> Result<Exit, Failure> {
    match command {
        StateCommand::List { topology, state } => {
            let loaded = Loaded::read(&topology.topology)?;
            let snapshot = read_snapshot(&loaded.state_dir(state.state.as_deref()), "state list")?;
            let lines: String = snapshot.records.keys().map(|a| format!("{a}\n")).collect();
            print(&lines)?;
        }
        StateCommand::Show { topology, address, state } => {
            let loaded = Loaded::read(&topology.topology)?;
            let address = parse_addresses(&[address])?.remove(0);
            let snapshot = read_snapshot(&loaded.state_dir(state.state.as_deref()), "state show")?;
            let record = snapshot.get(&address).ok_or_else(|| {
                Failure::new(format!("{address} is not in state")).hint("`ringform state list FILE` shows what is")
            })?;
            let mut text = format!("# {address}\n");
            let fields: BTreeMap<&str, String> = [
                ("provider_id", record.provider_id.clone().map_or("null".into(), |id| format!("{id:?}"))),
                ("created_at", record.created_at.to_string()),
                ("updated_at", record.updated_at.to_string()),
                ("schema_version", record.schema_version.to_string()),
            ]
            .into();
            for (key, value) in fields {
                text.push_str(&format!("{key:<14} = {value}\n"));
            }
            for (title, attributes) in [("inputs", &record.inputs), ("outputs", &record.outputs)] {
                text.push_str(&format!("\n{title}:\n"));
                let width = attributes.keys().map(String::len).max().unwrap_or(0);
                for (key, value) in attributes {
                    text.push_str(&format!("  {key:<width$} = {}\n", ringform_plan::format_value(value, 2)));
                }
            }
            print(&text)?;
        }
        StateCommand::Unlock { topology, state } => {
            let loaded = Loaded::read(&topology.topology)?;
            let dir = loaded.state_dir(state.state.as_deref());
            match ringform_state::force_unlock(&dir)? {
                Some(holder) => print(&format!(
                    "Removed the lock on {} held by `{}` (pid {} on {}, since {}).\n",
                    dir.display(),
                    holder.operation,
                    holder.pid,
                    holder.host,
                    holder.started_at
                ))?,
                None => print(&format!("{} was not locked.\n", dir.display()))?,
            }
        }
    }
    Ok(Exit::Success)
}
