//! The `ringform state` commands. Where the state is, and its key, come from [`Place`];
//! `state rekey` takes the new key from `RINGFORM_STATE_NEW_KEY` / `RINGFORM_STATE_NEW_KEY_FILE`.

use std::collections::BTreeMap;
use std::path::Path;

use ringform_remote::Sealing;
use ringform_state::{Opener, Restored, Secrets, SledStore, StateError, StateKey, StateStore, forget, move_record};

use crate::args::{MigrateDirection, StateCommand, StateDirArg, TopologyArg};
use crate::commands::{plural, print};
use crate::load::{Loaded, parse_addresses};
use crate::place::{KEY, KEY_FILE, Place, key_from, remote_failure, state_failure};
use crate::{Exit, Failure};

const NEW_KEY: &str = "RINGFORM_STATE_NEW_KEY";
const NEW_KEY_FILE: &str = "RINGFORM_STATE_NEW_KEY_FILE";

pub fn state(command: StateCommand) -> Result<Exit, Failure> {
    match command {
        StateCommand::List { topology, state } => list(&topology, &state),
        StateCommand::Show { topology, address, state } => show(&topology, &address, &state),
        StateCommand::Unlock { topology, lock_id, state } => unlock(&topology, lock_id.as_deref(), &state),
        StateCommand::Rm { topology, addresses, state } => rm(&topology, &addresses, &state),
        StateCommand::Mv { topology, from, to, state } => mv(&topology, &from, &to, &state),
        StateCommand::Pull { topology, show_secrets, state } => pull(&topology, show_secrets, &state),
        StateCommand::Restore { topology, force, state } => restore(&topology, force, &state),
        StateCommand::Rekey { topology, state } => rekey(&topology, &state),
        StateCommand::Migrate { topology, direction, state } => migrate(&topology, direction.direction(), &state),
    }?;
    Ok(Exit::Success)
}

/// The topology and where its state is.
fn place(topology: &TopologyArg, state: &StateDirArg) -> Result<(Loaded, Place), Failure> {
    let loaded = Loaded::read(&topology.topology)?;
    let place = Place::of(&loaded, state.state.as_deref())?;
    Ok((loaded, place))
}

fn list(topology: &TopologyArg, state: &StateDirArg) -> Result<(), Failure> {
    let snapshot = place(topology, state)?.1.read_snapshot("state list")?;
    print(&snapshot.records.keys().map(|a| format!("{a}\n")).collect::<String>())
}

fn show(topology: &TopologyArg, address: &str, state: &StateDirArg) -> Result<(), Failure> {
    let address = parse_addresses(&[address.to_owned()])?.remove(0);
    let snapshot = place(topology, state)?.1.read_snapshot("state show")?;
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

fn unlock(topology: &TopologyArg, lock_id: Option<&str>, state: &StateDirArg) -> Result<(), Failure> {
    let (loaded, place) = place(topology, state)?;
    let dir = match (place, lock_id) {
        (Place::Local { dir, .. }, _) => dir,
        (Place::Remote { location, .. }, None) => {
            return Err(Failure::new(format!("breaking the lock of {} needs its lock id", location.url())).hint(
                format!(
                    "the run that fails on the lock names it: `ringform state unlock {} --lock-id ID`",
                    loaded.path.display()
                ),
            ));
        }
        (Place::Remote { location, .. }, Some(id)) => {
            let text = match ringform_remote::unlock(&location, id).map_err(remote_failure)? {
                Some(holder) => format!("Broke the lock of {} held by {holder}.\n", location.url()),
                None => format!("Nothing to unlock: {} is not locked.\n", location.url()),
            };
            return print(&text);
        }
    };
    let cleared = ringform_state::unlock(&dir).map_err(state_failure)?;
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
    let store = place(topology, state)?.1.open_existing("state rm")?;
    forget(store.as_ref(), &addresses).map_err(state_failure)?;
    store.keep_last_good().map_err(state_failure)?;
    store.close().map_err(state_failure)?;
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
    let store = place(topology, state)?.1.open_existing("state mv")?;
    let moved = move_record(store.as_ref(), &from, &to).map_err(state_failure)?;
    store.keep_last_good().map_err(state_failure)?;
    store.close().map_err(state_failure)?;
    let mut text = format!("Moved {from} to {to}.\n");
    if !moved.dependents.is_empty() {
        let count = moved.dependents.len();
        text.push_str(&format!("{count} resource{} that depend on it now name {to}:\n", plural(count)));
        text.extend(moved.dependents.iter().map(|a| format!("  {a}\n")));
    }
    print(&text)
}

fn pull(topology: &TopologyArg, show_secrets: bool, state: &StateDirArg) -> Result<(), Failure> {
    let (_, place) = place(topology, state)?;
    let snapshot =
        place.read("state pull")?.ok_or_else(|| state_failure(StateError::NoState { dir: place.describe().into() }))?;
    let secrets = if show_secrets { Secrets::Shown } else { Secrets::Redacted };
    print(&format!("{}\n", snapshot.to_json(secrets).map_err(state_failure)?))
}

fn restore(topology: &TopologyArg, force: bool, state: &StateDirArg) -> Result<(), Failure> {
    let (loaded, place) = place(topology, state)?;
    let mut text = match place {
        Place::Local { dir, key } => {
            let opener = Opener::new("state restore").key(key);
            let Restored { store, moved_to } = SledStore::restore(&dir, &opener, force).map_err(state_failure)?;
            let snapshot = store.snapshot().map_err(state_failure)?;
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
            text
        }
        Place::Remote { location, cache, sealing } => {
            let restored = ringform_remote::restore(&location, &cache, &sealing, force).map_err(remote_failure)?;
            format!(
                "Restored the state at {} to its last good copy: serial {}, {} resource{}; {} is a copy of it.\n",
                location.url(),
                restored.header.serial,
                restored.records.len(),
                plural(restored.records.len()),
                cache.display()
            )
        }
    };
    text.push_str(&format!(
        "Run `ringform refresh {}` to bring it up to date with reality (objects are found by their ownership tags).\n",
        loaded.path.display()
    ));
    print(&text)
}

fn rekey(topology: &TopologyArg, state: &StateDirArg) -> Result<(), Failure> {
    let new_key = key_from(NEW_KEY, NEW_KEY_FILE)?;
    match place(topology, state)?.1 {
        Place::Local { dir, key } => rekey_local(&dir, key, new_key),
        Place::Remote { location, cache, sealing } => {
            // From a key in the environment to a key service: the old key is the environment's.
            let old = match (&sealing, key_from(KEY, KEY_FILE)?) {
                (Sealing::Service(_), Some(key)) => Sealing::Key(key),
                _ => sealing.clone(),
            };
            let new = match (new_key, &sealing) {
                (Some(key), _) => Sealing::Key(key),
                (None, Sealing::Service(_)) => sealing.clone(),
                (None, _) => {
                    return Err(Failure::new("no new key to seal the state with")
                        .hint(format!("give the new key in {NEW_KEY} (or {NEW_KEY_FILE})")));
                }
            };
            let rekeyed = ringform_remote::rekey(&location, &cache, &old, &new).map_err(remote_failure)?;
            let id = rekeyed.header.key_id.map(|id| id.to_string()).unwrap_or_default();
            let count = rekeyed.records.len();
            print(&format!(
                "Sealed the secrets of {count} resource{} at {} under key {id}, and its last good copy too.\n",
                plural(count),
                location.url()
            ))
        }
    }
}

fn rekey_local(dir: &Path, key: Option<StateKey>, new_key: Option<StateKey>) -> Result<(), Failure> {
    let (store, new_key) = match (key, new_key) {
        (key, Some(new_key)) => {
            (Opener::new("state rekey").key(key).open_existing(dir).map_err(state_failure)?, new_key)
        }
        // First encryption: the key given for the state is the one to seal it with.
        (Some(key), None) => match Opener::new("state rekey").key(Some(key.clone())).open_existing(dir) {
            Err(StateError::NotEncrypted { .. }) => {
                (SledStore::open_existing(dir, "state rekey").map_err(state_failure)?, key)
            }
            Ok(_) => {
                return Err(Failure::new(format!("the state in {} is encrypted with this key already", dir.display()))
                    .hint(format!("to change the key, give the new one in {NEW_KEY} (or {NEW_KEY_FILE})")));
            }
            Err(error) => return Err(state_failure(error)),
        },
        (None, None) => {
            return Err(Failure::new("no key to encrypt the state with").hint(format!(
                "give the new key in {NEW_KEY} (or {NEW_KEY_FILE}); to encrypt plain state, {KEY} will do"
            )));
        }
    };
    let id = new_key.id().clone();
    let store = store.rekey(new_key).map_err(state_failure)?;
    let count = store.snapshot().map_err(state_failure)?.len();
    print(&format!(
        "Sealed the secrets of {count} resource{} in {} under key {id}; the old database files are deleted.\n\
         From now on give this key in {KEY} or {KEY_FILE}.\n",
        plural(count),
        dir.display()
    ))
}

fn migrate(topology: &TopologyArg, direction: MigrateDirection, state: &StateDirArg) -> Result<(), Failure> {
    let (loaded, place) = place(topology, state)?;
    let Place::Remote { location, cache: dir, sealing } = place else {
        return Err(Failure::new(format!(
            "{} keeps its state locally: there is nowhere to migrate it",
            loaded.path.display()
        ))
        .hint("name the remote backend in [state] first (backend = \"s3\" or \"azure-blob\"), then migrate"));
    };
    let text = match direction {
        MigrateDirection::ToRemote => {
            let key = match &sealing {
                Sealing::Plain => None,
                Sealing::Key(key) => Some(key.clone()),
                Sealing::Service(service) => {
                    return Err(Failure::new(format!(
                        "local state moves to {} under the key it has; a key service ({}) keeps the keys of state it made",
                        location.url(),
                        service.describe()
                    ))
                    .hint("migrate with encryption = { key_env = \"RINGFORM_STATE_KEY\" }"));
                }
            };
            let opener = Opener::new("state migrate").key(key);
            let copied = ringform_remote::migrate_to_remote(&dir, &location, &opener).map_err(remote_failure)?;
            format!(
                "Copied the state in {} to {} and read it back: serial {}, {} resource{}. {} is now its local cache.\n",
                dir.display(),
                location.url(),
                copied.header.serial,
                copied.records.len(),
                plural(copied.records.len()),
                dir.display()
            )
        }
        MigrateDirection::ToLocal => {
            // Local state takes a key you hold: a key service's data key is never given out.
            let reseal = key_from(NEW_KEY, NEW_KEY_FILE)?;
            if let (Sealing::Service(service), None) = (&sealing, &reseal) {
                return Err(Failure::new(format!(
                    "the key of the state at {} is kept by {}, and local state takes a key you hold",
                    location.url(),
                    service.describe()
                ))
                .hint(format!("give the key to seal the local copy with in {NEW_KEY} (or {NEW_KEY_FILE})")));
            }
            let copied = ringform_remote::migrate_to_local(&location, &dir, &sealing, reseal.as_ref())
                .map_err(remote_failure)?;
            format!(
                "Copied the state at {} to {} and read it back: serial {}, {} resource{}. Now set backend = \"local\" \
                 in [state] of {}; the remote objects are left as they are.\n",
                location.url(),
                dir.display(),
                copied.header.serial,
                copied.records.len(),
                plural(copied.records.len()),
                loaded.path.display()
            )
        }
    };
    print(&text)
}
