//! One function per command; each returns the exit code or a [`Failure`].

use std::io::Write;

use ringform_graph::Format;
use ringform_plan::RenderOptions;

use crate::args::{GraphArgs, GraphFormat, KubeconfigArgs, PlanArgs, TopologyArg};
use crate::load::Loaded;
use crate::place::Place;
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

pub fn plan(args: &PlanArgs) -> Result<Exit, Failure> {
    let loaded = Loaded::read(&args.topology.topology)?;
    loaded.check()?;
    let graph = loaded.targeted_graph(&args.target)?;
    let place = Place::of(&loaded, args.state.state.as_deref())?;
    let state = place.read_snapshot("plan")?;
    let (loaded, mut state) = if args.refresh && !state.is_empty() {
        crate::run::reality(loaded, args.state.state.as_deref())?
    } else {
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
    refuse_stranding(&plan)?;
    Ok(if args.detailed_exitcode && plan.has_changes() { Exit::Changes } else { Exit::Success })
}

/// A plan that would leave a keyspace with no replica is an error, whatever is allowed.
pub(crate) fn refuse_stranding(plan: &ringform_plan::Plan) -> Result<(), Failure> {
    match plan.refusals.as_slice() {
        [] => Ok(()),
        refusals => Err(Failure::new(format!(
            "this plan would leave data with no replica, so ringform refuses it:\n  {}",
            refusals.join("\n  ")
        ))
        .hint("`ringform status` lists every keyspace's replication; change it in cqlsh, then plan again")),
    }
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
    let state = Place::of(&loaded, args.state.state.as_deref())?.read_snapshot("kubeconfig")?;
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
