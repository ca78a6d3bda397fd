//! How every command opens state (its directory, its key, hints for its errors), and the
//! `ringform state` commands. Keys come from the environment, never from arguments (they would
//! show in the process list and in shell history): `RINGFORM_STATE_KEY` holds base64 of 32
//! bytes, or `RINGFORM_STATE_KEY_FILE` names a file holding it (base64, or the 32 bytes);
//! `state rekey` takes the new key from `RINGFORM_STATE_NEW_KEY` / `RINGFORM_STATE_NEW_KEY_FILE`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ringform_state::{
    Opener, Restored, Secrets, SledStore, Snapshot, StateError, StateKey, StateStore, forget, move_record,
};

use crate::args::{StateCommand, StateDirArg, TopologyArg};
use crate::commands::{plural, print};
use crate::load::{Loaded, parse_addresses};
use crate::{Exit, Failure};

const KEY: &str = "RINGFORM_STATE_KEY";
const KEY_FILE: &str = "RINGFORM_STATE_KEY_FILE";
const NEW_KEY: &str = "RINGFORM_STATE_NEW_KEY";
const NEW_KEY_FILE: &str = "RINGFORM_STATE_NEW_KEY_FILE";

/// Opens the state in `dir` for `operation` with the configured key, creating it if new.
pub(crate) fn open(dir: &Path, operation: &str) -> Result<SledStore, Failure> {
    opener(operation)?.open(dir).map_err(failure)
}

/// The state to plan against: the stored one, or an empty one for a deployment never applied
/// (planning must not create state).
pub(crate) fn read_snapshot(dir: &Path, operation: &str) -> Result<Snapshot, Failure> {
    if !SledStore::exists(dir) {
        return Ok(Snapshot::empty());
    }
    let store = opener(operation)?.open_existing(dir).map_err(failure)?;
    store.snapshot().map_err(failure)
}

fn opener(operation: &str) -> Result<Opener, Failure> {
    Ok(Opener::new(operation).key(key_from(KEY, KEY_FILE)?))
}

/// The key in `variable` (base64) or in the file `file_variable` names, if either is set.
fn key_from(variable: &str, file_variable: &str) -> Result<Option<StateKey>, Failure> {
    let text = std::env::var(variable).ok().filter(|v| !v.trim().is_empty());
    let file = std::env::var_os(file_variable).filter(|v| !v.is_empty()).map(PathBuf::from);
    let make_one = "make a key with `openssl rand -base64 32`";
    match (text, file) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => {
            Err(Failure::new(format!("both {variable} and {file_variable} are set")).hint("set only one of them"))
        }
        (Some(text), None) => StateKey::from_base64(&text)
            .map(Some)
            .map_err(|e| Failure::new(format!("{variable} does not hold a state key")).caused_by(&e).hint(make_one)),
        (None, Some(path)) => StateKey::read_file(&path).map(Some).map_err(|e| {
            Failure::new(format!("{file_variable} does not name a state key")).caused_by(&e).hint(make_one)
        }),
    }
}

/// A state error with what to do about it, where that depends on how keys are given.
pub(crate) fn failure(error: StateError) -> Failure {
    let hint = match &error {
        StateError::KeyMissing { .. } => {
            Some(format!("give the key it was encrypted with in {KEY} (base64) or in a file named by {KEY_FILE}"))
        }
        StateError::WrongKey { .. } => Some(format!("set {KEY} (or {KEY_FILE}) to the key it was encrypted with")),
        StateError::NotEncrypted { .. } => {
            Some(format!("encrypt it with `ringform state rekey FILE`, which takes the key from {KEY}; or unset {KEY}"))
        }
        StateError::NotDamaged { .. } => Some(
            "pass --force to go back to the last good copy anyway: objects made since are then no longer tracked"
                .into(),
        ),
        StateError::NoLastGood { .. } => {
            Some("a last good copy is kept after every apply, destroy or refresh that succeeds".into())
        }
        _ => None,
    };
    let failure = Failure::from(error);
    match hint {
        Some(hint) => failure.hint(hint),
        None => failure,
    }
}

pub fn state(command: StateCommand) -> Result<Exit, Failure> {
    match command {
        StateCommand::List { topology, state } => list(&topology, &state),
        StateCommand::Show { topology, address, state } => show(&topology, &address, &state),
        StateCommand::Unlock { topology, state } => unlock(&topology, &state),
        StateCommand::Rm { topology, addresses, state } => rm(&topology, &addresses, &state),
        StateCommand::Mv { topology, from, to, state } => mv(&topology, &from, &to, &state),
        StateCommand::Pull { topology, show_secrets, state } => pull(&topology, show_secrets, &state),
        StateCommand::Restore { topology, force, state } => restore(&topology, force, &state),
        StateCommand::Rekey { topology, state } => rekey(&topology, &state),
    }?;
    Ok(Exit::Success)
}

fn state_dir(topology: &TopologyArg, state: &StateDirArg) -> Result<PathBuf, Failure> {
    Ok(Loaded::read(&topology.topology)?.state_dir(state.state.as_deref()))
}

/// Opens existing state for a `state` command, which never creates any.
fn open_existing(topology: &TopologyArg, state: &StateDirArg, operation: &str) -> Result<SledStore, Failure> {
    opener(operation)?.open_existing(state_dir(topology, state)?).map_err(failure)
}

fn list(topology: &TopologyArg, state: &StateDirArg) -> Result<(), Failure> {
    let snapshot = read_snapshot(&state_dir(topology, state)?, "state list")?;
    print(&snapshot.records.keys().map(|a| format!("{a}\n")).collect::<String>())
}

fn show(topology: &TopologyArg, address: &str, state: &StateDirArg) -> Result<(), Failure> {
    let address = parse_addresses(&[address.to_owned()])?.remove(0);
    let snapshot = read_snapshot(&state_dir(topology, state)?, "state show")?;
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
    print(&text)
}

fn unlock(topology: &TopologyArg, state: &StateDirArg) -> Result<(), Failure> {
    let dir = state_dir(topology, state)?;
    let cleared = ringform_state::unlock(&dir).map_err(failure)?;
    let mut text =
        format!("Nothing to unlock: {} is not locked (a lock ends with the process holding it).", dir.display());
    if let Some(dead) = cleared {
        text.push_str(&format!(
            " Cleared the note left by `{}` (pid {} on {}, since {}), which ended without releasing it.",
            dead.operation, dead.pid, dead.host, dead.started_at
        ));
    }
    print(&format!("{text}\n"))
}

fn rm(topology: &TopologyArg, addresses: &[String], state: &StateDirArg) -> Result<(), Failure> {
    let addresses = parse_addresses(addresses)?;
    let store = open_existing(topology, state, "state rm")?;
    forget(&store, &addresses).map_err(failure)?;
    store.keep_last_good().map_err(failure)?;
    let list: String = addresses.iter().map(|a| format!("  {a}\n")).collect();
    print(&format!(
        "Forgot {} resource{} (the objects themselves are untouched):\n{list}",
        addresses.len(),
        plural(addresses.len())
    ))
}

fn mv(topology: &TopologyArg, from: &str, to: &str, state: &StateDirArg) -> Result<(), Failure> {
    let mut addresses = parse_addresses(&[from.to_owned(), to.to_owned()])?;
    let (from, to) = (addresses.remove(0), addresses.remove(0));
    let store = open_existing(topology, state, "state mv")?;
    let moved = move_record(&store, &from, &to).map_err(failure)?;
    store.keep_last_good().map_err(failure)?;
    let mut text = format!("Moved {from} to {to}.\n");
    if !moved.dependents.is_empty() {
        let count = moved.dependents.len();
        text.push_str(&format!("{count} resource{} that depend on it now name {to}:\n", plural(count)));
        text.extend(moved.dependents.iter().map(|a| format!("  {a}\n")));
    }
    print(&text)
}

fn pull(topology: &TopologyArg, show_secrets: bool, state: &StateDirArg) -> Result<(), Failure> {
    let snapshot = open_existing(topology, state, "state pull")?.snapshot().map_err(failure)?;
    let secrets = if show_secrets { Secrets::Shown } else { Secrets::Redacted };
    print(&format!("{}\n", snapshot.to_json(secrets).map_err(failure)?))
}

fn restore(topology: &TopologyArg, force: bool, state: &StateDirArg) -> Result<(), Failure> {
    let loaded = Loaded::read(&topology.topology)?;
    let dir = loaded.state_dir(state.state.as_deref());
    let Restored { store, moved_to } = SledStore::restore(&dir, &opener("state restore")?, force).map_err(failure)?;
    let snapshot = store.snapshot().map_err(failure)?;
    let mut text = format!(
        "Restored the state in {} to its last good copy: serial {}, {} resource{}.\n",
        dir.display(),
        snapshot.serial,
        snapshot.len(),
        plural(snapshot.len())
    );
    if let Some(aside) = moved_to {
        text.push_str(&format!("The damaged database is kept in {}.\n", aside.display()));
    }
    text.push_str(&format!(
        "Run `ringform refresh {}` to bring it up to date with reality (objects are found by their ownership tags).\n",
        loaded.path.display()
    ));
    print(&text)
}

fn rekey(topology: &TopologyArg, state: &StateDirArg) -> Result<(), Failure> {
    let (key, new_key) = (key_from(KEY, KEY_FILE)?, key_from(NEW_KEY, NEW_KEY_FILE)?);
    let dir = state_dir(topology, state)?;
    let (store, new_key) = match (key, new_key) {
        (key, Some(new_key)) => (Opener::new("state rekey").key(key).open_existing(&dir).map_err(failure)?, new_key),
        // First encryption: the key given for the state is the one to seal it with.
        (Some(key), None) => match Opener::new("state rekey").key(Some(key.clone())).open_existing(&dir) {
            Err(StateError::NotEncrypted { .. }) => {
                (SledStore::open_existing(&dir, "state rekey").map_err(failure)?, key)
            }
            Ok(_) => {
                return Err(Failure::new(format!("the state in {} is encrypted with this key already", dir.display()))
                    .hint(format!("to change the key, give the new one in {NEW_KEY} (or {NEW_KEY_FILE})")));
            }
            Err(error) => return Err(failure(error)),
        },
        (None, None) => {
            return Err(Failure::new("no key to encrypt the state with").hint(format!(
                "give the new key in {NEW_KEY} (or {NEW_KEY_FILE}); to encrypt plain state, {KEY} will do"
            )));
        }
    };
    let id = new_key.id().clone();
    let store = store.rekey(new_key).map_err(failure)?;
    let count = store.snapshot().map_err(failure)?.len();
    print(&format!(
        "Sealed the secrets of {count} resource{} in {} under key {id}; the old database files are deleted.\n\
         From now on give this key in {KEY} or {KEY_FILE}.\n",
        plural(count),
        dir.display()
    ))
}
