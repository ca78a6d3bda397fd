//! Where a deployment's state lives and how it is sealed, as its topology's `[state]` section
//! and `--state` say, and opening it there. Keys come from the environment, never from
//! arguments (they would show in the process list and in shell history): `RINGFORM_STATE_KEY`
//! holds base64 of 32 bytes, or `RINGFORM_STATE_KEY_FILE` names a file holding it (base64, or
//! the 32 bytes); `encryption = { key_env = "X" }` reads `X` and `X_FILE` instead. A key service
//! (AWS KMS, Azure Key Vault) keeps the key of remote state wrapped in the state itself.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ringform_remote::{AzureAuth, Location, RemoteError, RemoteStore, Sealing};
use ringform_state::{Opener, SledStore, Snapshot, StateError, StateKey, StateStore};
use ringform_topology::{Encryption, StateBackend};

use crate::Failure;
use crate::load::Loaded;

pub(crate) const KEY: &str = "RINGFORM_STATE_KEY";
pub(crate) const KEY_FILE: &str = "RINGFORM_STATE_KEY_FILE";

/// Where the state is.
pub(crate) enum Place {
    /// A sled store in this directory, opened with this key.
    Local { dir: PathBuf, key: Option<StateKey> },
    /// Objects in a bucket, worked on in a local cache directory.
    Remote { location: Location, cache: PathBuf, sealing: Sealing },
}

impl Place {
    /// Where `loaded`'s state is: `--state DIR` names the local directory (or the cache of
    /// remote state), `state/<deployment>` by default.
    pub fn of(loaded: &Loaded, state: Option<&Path>) -> Result<Place, Failure> {
        let dir = loaded.state_dir(state);
        let settings = &loaded.topology.state;
        let encryption = settings.encryption.as_ref().map(|e| &e.value);
        match &settings.backend.value {
            StateBackend::Local => Ok(Place::Local { dir, key: local_key(encryption)? }),
            backend => {
                let location = location(backend)?;
                let sealing = remote_sealing(encryption, &location, backend)?;
                Ok(Place::Remote { location, cache: dir, sealing })
            }
        }
    }

    /// Opens the state for `operation`, locked, creating it if new.
    pub fn open(&self, operation: &str) -> Result<Arc<dyn StateStore>, Failure> {
        self.open_with(operation, true)
    }

    /// Opens existing state for `operation`, locked; never creates any.
    pub fn open_existing(&self, operation: &str) -> Result<Arc<dyn StateStore>, Failure> {
        self.open_with(operation, false)
    }

    fn open_with(&self, operation: &str, create: bool) -> Result<Arc<dyn StateStore>, Failure> {
        match self {
            Place::Local { dir, key } => {
                let opener = Opener::new(operation).key(key.clone());
                let store = if create { opener.open(dir) } else { opener.open_existing(dir) };
                Ok(Arc::new(store.map_err(state_failure)?))
            }
            Place::Remote { location, cache, sealing } => {
                let (location, store) =
                    (location.clone(), if create { RemoteStore::open } else { RemoteStore::open_existing });
                let store = store(location, cache, operation, sealing).map_err(remote_failure)?;
                for notice in store.notices() {
                    eprintln!("Note: {notice}");
                }
                let store: Arc<dyn StateStore> = Arc::new(store);
                close_on_ctrl_c(&store);
                Ok(store)
            }
        }
    }

    /// The stored state without taking the lock (remote) or as the locked store has it
    /// (local); empty for a deployment never applied: planning must not create state.
    pub fn read_snapshot(&self, operation: &str) -> Result<Snapshot, Failure> {
        Ok(self.read(operation)?.unwrap_or_else(Snapshot::empty))
    }

    /// The stored state, read as [`Place::read_snapshot`] reads it; `None` when there is none.
    pub fn read(&self, operation: &str) -> Result<Option<Snapshot>, Failure> {
        match self {
            Place::Local { dir, key } => {
                if !SledStore::exists(dir) {
                    return Ok(None);
                }
                let store = Opener::new(operation).key(key.clone()).open_existing(dir).map_err(state_failure)?;
                store.snapshot().map(Some).map_err(state_failure)
            }
            Place::Remote { location, sealing, .. } => {
                ringform_remote::read_snapshot(location, sealing).map_err(remote_failure)
            }
        }
    }

    /// Where the state is, for messages: its directory or its URL.
    pub fn describe(&self) -> String {
        match self {
            Place::Local { dir, .. } => dir.display().to_string(),
            Place::Remote { location, .. } => location.url().to_owned(),
        }
    }
}

/// Set while a run answers Ctrl-C itself, draining the operations in flight.
pub(crate) static DRAINING: AtomicBool = AtomicBool::new(false);

/// Until a run takes Ctrl-C over, Ctrl-C closes remote state (its last writes uploaded, its
/// lock released) and ends the process: a remote lock, unlike a local one, does not end with
/// its process.
fn close_on_ctrl_c(store: &Arc<dyn StateStore>) {
    let store = Arc::downgrade(store);
    let watch = move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
        let interrupted = runtime.block_on(async {
            while tokio::signal::ctrl_c().await.is_ok() {
                if !DRAINING.load(Ordering::SeqCst) {
                    return true;
                }
            }
            false
        });
        if interrupted {
            if let Some(store) = store.upgrade() {
                let _ = store.close();
            }
            eprintln!("Interrupted: nothing more was started; the state is uploaded and its lock released.");
            std::process::exit(130);
        }
    };
    let _ = std::thread::Builder::new().name("ringform-ctrl-c".into()).spawn(watch);
}

/// The key of local state: the topology's `key_env`, else `RINGFORM_STATE_KEY` if set.
fn local_key(encryption: Option<&Encryption>) -> Result<Option<StateKey>, Failure> {
    match encryption {
        None => key_from(KEY, KEY_FILE),
        Some(Encryption::None) => Ok(None),
        Some(Encryption::KeyEnv(variable)) => required_key(variable).map(Some),
        Some(Encryption::AwsKms(_) | Encryption::AzureKeyVault(_)) => {
            Err(Failure::new("a key service keeps the keys of remote state only")
                .hint("for local state, give the key with encryption = { key_env = \"RINGFORM_STATE_KEY\" }"))
        }
    }
}

/// How remote state is sealed. It is never written with secrets in plain text unless the
/// topology says `encryption = "none"` in so many words.
fn remote_sealing(
    encryption: Option<&Encryption>,
    location: &Location,
    backend: &StateBackend,
) -> Result<Sealing, Failure> {
    match encryption {
        None => match key_from(KEY, KEY_FILE)? {
            Some(key) => Ok(Sealing::Key(key)),
            None => Err(Failure::new(format!(
                "the state at {} would keep secrets (VPN shared keys, tokens, the Cassandra superuser password) \
                 in plain text",
                location.url()
            ))
            .hint(
                "add `encryption = { key_env = \"RINGFORM_STATE_KEY\" }`, `{ aws_kms_key = \"…\" }` or \
                 `{ azure_key_vault_key = \"…\" }` to [state], or `encryption = \"none\"` to accept plain text",
            )),
        },
        Some(Encryption::None) => Ok(Sealing::Plain),
        Some(Encryption::KeyEnv(variable)) => Ok(Sealing::Key(required_key(variable)?)),
        Some(Encryption::AwsKms(key)) => Ok(Sealing::Service(crate::keys::aws_kms(key, backend)?)),
        Some(Encryption::AzureKeyVault(key)) => Ok(Sealing::Service(crate::keys::azure_key_vault(key)?)),
    }
}

/// The key in `variable` or in the file `<variable>_FILE` names; an error when neither is set.
fn required_key(variable: &str) -> Result<StateKey, Failure> {
    let file_variable = format!("{variable}_FILE");
    match key_from(variable, &file_variable)? {
        Some(key) => Ok(key),
        None => Err(Failure::new(format!("the topology takes the state key from {variable}, which is not set"))
            .hint(format!("set {variable} to the key (base64), or {file_variable} to a file holding it"))),
    }
}

/// The key in `variable` (base64) or in the file `file_variable` names, if either is set.
pub(crate) fn key_from(variable: &str, file_variable: &str) -> Result<Option<StateKey>, Failure> {
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

/// The remote location `backend` names, reached with the providers' credential chains.
fn location(backend: &StateBackend) -> Result<Location, Failure> {
    let unreachable = |e: RemoteError| remote_failure(e);
    match backend {
        StateBackend::S3 { bucket, region, key } => {
            let settings = ringform_aws::AwsSettings::from_env();
            let config = crate::run::runtime()?.block_on(ringform_aws::sdk_config(&settings, region));
            Location::s3(bucket, region, key, &config).map_err(unreachable)
        }
        StateBackend::AzureBlob { storage_account, container, blob } => {
            let endpoint = std::env::var("RINGFORM_AZURE_BLOB_ENDPOINT").ok().filter(|v| !v.is_empty());
            let auth =
                match std::env::var("AZURE_STORAGE_ACCOUNT_KEY").ok().filter(|v| !v.is_empty()) {
                    Some(key) => AzureAuth::AccountKey(key),
                    None => AzureAuth::Token(ringform_azure::credential_from_env().map_err(|e| {
                        Failure::new("no Azure credential for the state's storage account").caused_by(&e)
                    })?),
                };
            Location::azure_blob(storage_account, container, blob, endpoint.as_deref(), auth).map_err(unreachable)
        }
        StateBackend::Local => unreachable!("local state has no location"),
    }
}

/// A state error with what to do about it, where that depends on how keys are given.
pub(crate) fn state_failure(error: StateError) -> Failure {
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

/// A remote state error with what to do about it.
pub(crate) fn remote_failure(error: RemoteError) -> Failure {
    let hint = match &error {
        RemoteError::State(_) => {
            let RemoteError::State(error) = error else { unreachable!() };
            return state_failure(error);
        }
        RemoteError::Locked { holder, .. } => Some(format!(
            "wait for it to finish; if that run is dead, break its lock with `ringform state unlock FILE --lock-id {}`",
            holder.id
        )),
        RemoteError::LocalState { .. } => Some(
            "`ringform state migrate --to-remote FILE` moves it there; or name another cache directory with --state"
                .into(),
        ),
        RemoteError::Missing { .. } => Some(
            "bring the object back from the bucket's versions, or upload this cache with \
             `ringform state migrate --to-remote FILE --state DIR` after moving its remote.json away"
                .into(),
        ),
        RemoteError::Conflict { .. } => Some(
            "another run wrote the state without holding its lock; this run's writes are kept in its local cache \
             (--state), and the next run replaces the cache by the remote state, keeping the old cache aside"
                .into(),
        ),
        RemoteError::OtherLock { .. } => {
            Some("check the lock id: `ringform state unlock` names the one it found".into())
        }
        _ => None,
    };
    let failure = Failure::from_error(&error);
    match hint {
        Some(hint) => failure.hint(hint),
        None => failure,
    }
}
