//! The commands that talk to providers: apply, destroy, refresh, drift. Only here does
//! ringform build a tokio runtime.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use ringform_engine::{Drift, Engine, Options, Outcome, Refreshed};
use ringform_plan::{Plan, RenderOptions};
use ringform_state::{Snapshot, StateStore};
use tokio::sync::watch;

use crate::args::{ApplyArgs, DestroyArgs, DriftArgs, RefreshArgs};
use crate::load::{Loaded, resolve_targets};
use crate::place::Place;
use crate::progress::{Progress, summary};
use crate::{Exit, Failure, colour, commands::print, providers};

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new("cannot start the async runtime").caused_by(&e))
}

/// An open deployment: its topology, its locked state, its providers.
struct Session {
    loaded: Loaded,
    store: Arc<dyn StateStore>,
    registry: ringform_core::provider::Registry,
    runtime: tokio::runtime::Runtime,
}

impl Session {
    fn open(loaded: Loaded, state: Option<&Path>, operation: &str) -> Result<Session, Failure> {
        let store = Place::of(&loaded, state)?.open(operation)?;
        Ok(Session { loaded, store, registry: providers::registry()?, runtime: runtime()? })
    }

    /// Settles what a killed run left unfinished, and says what it found.
    fn recover(&self) -> Result<(), Failure> {
        let recovered = self.runtime.block_on(ringform_engine::recover(
            &self.store,
            &self.registry,
            self.deployment(),
            Some(&self.loaded.graph),
        ))?;
        for item in recovered {
            eprintln!("Recovered from an interrupted run: {item:?}");
        }
        Ok(())
    }

    fn deployment(&self) -> &str {
        &self.loaded.topology.deployment.value
    }

    /// Reads reality (batched) and returns the state as reality has it, without storing it.
    fn refresh(&self) -> Result<(Snapshot, Refreshed), Failure> {
        let state = self.store.snapshot()?;
        let refreshed = self.runtime.block_on(ringform_engine::refresh(&state, &self.registry, self.deployment()))?;
        Ok((refreshed.reality(&state), refreshed))
    }

    /// Reads reality (batched), stores it, and returns the state as now stored.
    fn refresh_into_store(&self) -> Result<(Snapshot, Refreshed), Failure> {
        let refresh = ringform_engine::refresh_into_store(self.store.as_ref(), &self.registry, self.deployment());
        Ok(self.runtime.block_on(refresh)?)
    }

    /// Runs a plan with progress, Ctrl-C draining in-flight work and a second Ctrl-C aborting.
    fn execute(self, plan: &Plan, parallelism: usize, verb: &str) -> Result<Exit, Failure> {
        providers::check(&self.registry, plan)?;
        let (stop, stopped) = watch::channel(false);
        crate::place::DRAINING.store(true, std::sync::atomic::Ordering::SeqCst);
        let store = Arc::clone(&self.store);
        self.runtime.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = stop.send(true);
                if tokio::signal::ctrl_c().await.is_ok() {
                    // The journal stays for the next run. A local lock ends with the process;
                    // remote state is uploaded and its lock released first.
                    let _ = store.close();
                    eprintln!("Aborted. Operations in flight are in the journal; the next run resumes from it.");
                    std::process::exit(130);
                }
            }
        });
        let mut options = Options::new(self.loaded.topology.deployment.value.clone());
        options.parallelism = parallelism;
        let engine = Engine::new(self.registry, Arc::clone(&self.store), Arc::new(Progress::for_stderr()), options);
        let outcome: Outcome = self.runtime.block_on(engine.apply(plan, &self.loaded.graph, stopped))?;
        print(&summary(&outcome, verb))?;
        if outcome.is_complete() {
            succeeded(self.store.as_ref())
        } else {
            self.store.close()?;
            Ok(Exit::Error)
        }
    }
}

/// Ends a run that succeeded: the state as it is now becomes the last good copy, the one
/// `ringform state restore` goes back to, and the store is closed (remote state uploaded).
fn succeeded(store: &dyn StateStore) -> Result<Exit, Failure> {
    store.keep_last_good()?;
    store.close()?;
    Ok(Exit::Success)
}

/// The state as reality has it now, for `plan --refresh`; nothing is written.
pub(crate) fn reality(loaded: Loaded, state: Option<&Path>) -> Result<(Loaded, Snapshot), Failure> {
    let session = Session::open(loaded, state, "plan")?;
    let (state, _) = session.refresh()?;
    Ok((session.loaded, state))
}

/// Asks for a literal `yes`, as Terraform does.
fn confirm(question: &str) -> Result<(), Failure> {
    eprint!("{question}\n  Only 'yes' will be accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).map_err(|e| Failure::new("cannot read the answer").caused_by(&e))?;
    if answer.trim() == "yes" {
        return Ok(());
    }
    let hint = if std::io::stdin().is_terminal() {
        "answer `yes` to go ahead"
    } else {
        "pass --auto-approve to run without asking"
    };
    Err(Failure::new("cancelled: nothing was changed").hint(hint))
}

/// Stops a plan that destroys Cassandra data before any change is made, unless allowed,
/// listing what would be lost.
fn refuse_data_loss(plan: &Plan, allowed: bool) -> Result<(), Failure> {
    crate::commands::refuse_stranding(plan)?;
    if allowed || plan.data_loss().next().is_none() {
        return Ok(());
    }
    let mut list = String::new();
    for change in plan.data_loss() {
        for stake in &change.at_stake {
            list.push_str(&format!(
                "\n  {}: datacenter {} in {} ({} nodes, {} each): {}",
                change.address,
                stake.datacenter,
                stake.cluster,
                stake.nodes,
                stake.storage,
                stake.because.join("; ")
            ));
        }
    }
    Err(Failure::new(format!("this plan destroys Cassandra data, so nothing was changed:{list}")).hint(
        "if that data may go (it is replicated elsewhere, or backed up), run again with --allow-data-loss; \
         otherwise change the topology so the datacenter keeps its cluster, nodes and volumes",
    ))
}

/// A saved plan is a JSON file; a topology is TOML.
fn is_plan_file(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'))
}

pub fn apply(args: &ApplyArgs) -> Result<Exit, Failure> {
    let from_plan_file = is_plan_file(&args.file);
    let saved = if from_plan_file { Some(ringform_plan::read_plan_file(&args.file)?) } else { None };
    let topology = saved.as_ref().map_or_else(|| args.file.clone(), |s| s.topology.clone());
    let mut loaded = Loaded::read(&topology)?;
    loaded.check()?;
    loaded.graph = loaded.targeted_graph(&args.run.target)?;
    let session = Session::open(loaded, args.run.state.state.as_deref(), "apply")?;
    session.recover()?;
    // A saved plan is applied exactly as made; otherwise plan against reality, as Terraform does.
    let recorded = session.store.snapshot()?;
    let mut state = if saved.is_none() && !args.no_refresh && providers::can_read(&session.registry, &recorded) {
        session.refresh_into_store()?.0
    } else {
        recorded
    };
    let allow_data_loss = args.run.allow_data_loss || saved.as_ref().is_some_and(|s| s.allow_data_loss);
    let plan = match saved {
        Some(saved) => {
            saved.check_against(&state, &session.loaded.source).map_err(|e| {
                let again = format!("ringform plan -out {} {}", args.file.display(), topology.display());
                Failure::from(e).hint(format!("make a new plan with `{again}`, then apply that"))
            })?;
            saved.plan
        }
        None => {
            Loaded::keep_targeted(&session.loaded.graph, &mut state, &args.run.target)?;
            let hash = ringform_plan::topology_hash(&session.loaded.source);
            ringform_plan::plan(&session.loaded.graph, &state, hash, session.registry.schemas())
        }
    };
    print(&ringform_plan::render(&plan, RenderOptions { color: colour(&std::io::stdout()) }))?;
    if !plan.has_changes() {
        return succeeded(session.store.as_ref());
    }
    refuse_data_loss(&plan, allow_data_loss)?;
    if !args.run.auto_approve && !from_plan_file {
        confirm("\nDo you want to perform these actions?")?;
    }
    session.execute(&plan, usize::from(args.run.parallelism), "Apply")
}

pub fn destroy(args: &DestroyArgs) -> Result<Exit, Failure> {
    let loaded = Loaded::read(&args.topology.topology)?;
    let session = Session::open(loaded, args.run.state.state.as_deref(), "destroy")?;
    session.recover()?;
    let state = session.store.snapshot()?;
    let targets = resolve_targets(&args.run.target, &state.records.keys().collect::<Vec<_>>())?;
    let hash = ringform_plan::topology_hash(&session.loaded.source);
    let plan = ringform_plan::plan_destroy(&state, &targets, hash, session.registry.schemas());
    print(&ringform_plan::render(&plan, RenderOptions { color: colour(&std::io::stdout()) }))?;
    if !plan.has_changes() {
        return succeeded(session.store.as_ref());
    }
    refuse_data_loss(&plan, args.run.allow_data_loss)?;
    if !args.run.auto_approve {
        confirm("\nDo you really want to destroy these resources?")?;
    }
    session.execute(&plan, usize::from(args.run.parallelism), "Destroy")
}

pub fn refresh(args: &RefreshArgs) -> Result<Exit, Failure> {
    let loaded = Loaded::read(&args.topology.topology)?;
    let session = Session::open(loaded, args.state.state.as_deref(), "refresh")?;
    session.recover()?;
    let (state, refreshed) = session.refresh_into_store()?;
    let changed: std::collections::HashSet<_> = refreshed.drift.iter().map(Drift::address).collect();
    let deleted = refreshed.drift.iter().filter(|d| matches!(d, Drift::Deleted { .. })).count();
    print(&format!(
        "Refreshed {} resources with {} read calls; {} differed from state, and state now matches reality.\n",
        state.len() + deleted,
        refreshed.calls,
        changed.len()
    ))?;
    succeeded(session.store.as_ref())
}

pub fn drift(args: &DriftArgs) -> Result<Exit, Failure> {
    let mut loaded = Loaded::read(&args.topology.topology)?;
    loaded.graph = loaded.targeted_graph(&args.target)?;
    // Drift only reads, so it takes no lock: a scheduled check never stands in an apply's way,
    // and state stays as it is, for a person to decide what to do.
    let state = Place::of(&loaded, args.state.state.as_deref())?.read_snapshot("drift")?;
    let registry = providers::registry()?;
    let deployment = loaded.topology.deployment.value.clone();
    let mut refreshed = runtime()?.block_on(ringform_engine::refresh(&state, &registry, &deployment))?;
    let mut real = refreshed.reality(&state);
    if !args.target.is_empty() {
        Loaded::keep_targeted(&loaded.graph, &mut real, &args.target)?;
        refreshed.drift.retain(|d| Loaded::is_targeted(&loaded.graph, &args.target, d.address()));
    }
    // `pending`: what the topology asks for that reality, as just read, does not have.
    let hash = ringform_plan::topology_hash(&loaded.source);
    let pending = ringform_plan::plan(&loaded.graph, &real, hash, registry.schemas());
    let report = crate::drift_report::Report { deployment: &deployment, drift: &refreshed.drift, pending: &pending };
    let text = if args.json {
        format!("{:#}\n", report.json())
    } else if args.markdown {
        report.markdown()
    } else {
        report.text()
    };
    print(&text)?;
    Ok(if refreshed.drift.is_empty() && !pending.has_changes() { Exit::Success } else { Exit::Changes })
}
