//! The command line, as clap sees it.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "ringform",
    version,
    about = "One Cassandra cluster across Kubernetes clusters, regions and clouds, from one topology file.",
    after_help = "Exit codes: 0 success (no changes), 1 error, 2 changes present (plan --detailed-exitcode)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a topology file and report every problem in it.
    Validate(TopologyArg),
    /// Show what apply would change.
    Plan(PlanArgs),
    /// Make reality match the topology (after showing the plan and asking), or apply a saved plan.
    Apply(ApplyArgs),
    /// Delete everything the deployment's state tracks, dependents first.
    Destroy(DestroyArgs),
    /// Read every tracked object and update state to match reality.
    Refresh(RefreshArgs),
    /// Report how reality differs from state and topology; exit 2 when it does (for scheduled CI).
    Drift(DriftArgs),
    /// Print the resource graph as DOT (Graphviz) or Mermaid.
    Graph(GraphArgs),
    /// Add a kubectl context per applied cluster, named after it, to your kubeconfig.
    Kubeconfig(KubeconfigArgs),
    /// The ring as Cassandra sees it from every datacenter; exit 2 unless every node is Up/Normal.
    Status(StatusArgs),
    /// Inspect, repair and edit the state ringform keeps of a deployment.
    #[command(subcommand)]
    State(StateCommand),
    /// Print the JSON Schema of the topology format (for editors: taplo, Even Better TOML).
    Schema,
}

#[derive(Debug, Args)]
pub struct TopologyArg {
    /// The topology file (TOML).
    pub topology: PathBuf,
}

#[derive(Debug, Args)]
pub struct StateDirArg {
    /// State directory [default: state/<deployment>]
    #[arg(long, value_name = "DIR", env = "RINGFORM_STATE")]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
    #[command(flatten)]
    pub state: StateDirArg,
    /// Print the plan as JSON, shaped like `terraform show -json`.
    #[arg(long)]
    pub json: bool,
    /// Save the plan to FILE for a later `apply FILE`.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan only ADDR and what it depends on (repeatable; `*` matches any text: `--target 'aws_*'`).
    #[arg(long, value_name = "ADDR")]
    pub target: Vec<String>,
    /// Read reality first and plan against it (state itself is not changed).
    #[arg(long)]
    pub refresh: bool,
    /// Record in the saved plan (`-out`) that it may destroy the Cassandra data it names.
    #[arg(long, requires = "out")]
    pub allow_data_loss: bool,
}

/// What apply and destroy share.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub state: StateDirArg,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Provider calls in flight at once.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,
    /// Apply: only ADDR and what it depends on. Destroy: ADDR and what depends on it. Repeatable;
    /// `*` matches any text (`--target 'aws_*'`).
    #[arg(long, value_name = "ADDR")]
    pub target: Vec<String>,
    /// Carry out changes that destroy Cassandra data (the plan marks them `!`); refused without it.
    #[arg(long)]
    pub allow_data_loss: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A topology file, or a plan file saved by `plan -out` (applied exactly, without asking).
    #[arg(value_name = "TOPOLOGY|PLANFILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub run: RunArgs,
    /// Plan against the state as recorded, without reading reality first.
    #[arg(long)]
    pub no_refresh: bool,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct RefreshArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
    #[command(flatten)]
    pub state: StateDirArg,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
    #[command(flatten)]
    pub state: StateDirArg,
    /// JSON output.
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Markdown output, for a CI job summary (`>> $GITHUB_STEP_SUMMARY`).
    #[arg(long)]
    pub markdown: bool,
    /// Only ADDR and what it depends on (repeatable; `*` matches any text: `--target 'aws_*'`).
    #[arg(long, value_name = "ADDR")]
    pub target: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
    #[arg(long, value_enum, default_value = "dot")]
    pub format: GraphFormat,
    /// Only ADDR and what it depends on (repeatable).
    #[arg(long, value_name = "ADDR")]
    pub target: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
    #[command(flatten)]
    pub state: StateDirArg,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
    /// Ask again until every node is Up/Normal everywhere, for at most DURATION (`90s`, `10m`,
    /// `1h`; 10m when given without a value).
    #[arg(long, value_name = "DURATION", num_args = 0..=1, default_missing_value = "10m")]
    pub wait: Option<String>,
}

#[derive(Debug, Args)]
pub struct KubeconfigArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
    #[command(flatten)]
    pub state: StateDirArg,
    /// The kubeconfig to merge into [default: first file of $KUBECONFIG, else ~/.kube/config]
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the addresses in state.
    List {
        #[command(flatten)]
        topology: TopologyArg,
        #[command(flatten)]
        state: StateDirArg,
    },
    /// Show one resource's record; secrets are redacted.
    Show {
        #[command(flatten)]
        topology: TopologyArg,
        /// The resource address, e.g. aws_vpc.eu-west
        address: String,
        #[command(flatten)]
        state: StateDirArg,
    },
    /// Break the lock of remote state that a dead run left (`--lock-id`, which the failing run
    /// names); for local state, clear the note a dead run left (the lock ended with it).
    Unlock {
        #[command(flatten)]
        topology: TopologyArg,
        /// The id of the remote lock to break.
        #[arg(long, value_name = "ID")]
        lock_id: Option<String>,
        #[command(flatten)]
        state: StateDirArg,
    },
    /// Forget resources without deleting them: they stay in the cloud, no longer managed.
    Rm {
        #[command(flatten)]
        topology: TopologyArg,
        /// The resource addresses, e.g. aws_vpc.eu-west
        #[arg(value_name = "ADDR", required = true)]
        addresses: Vec<String>,
        #[command(flatten)]
        state: StateDirArg,
    },
    /// Move a resource to a new address after renaming it in the topology, so that it is not
    /// destroyed and made again.
    Mv {
        #[command(flatten)]
        topology: TopologyArg,
        /// The address in state, e.g. aws_vpc.eu-west
        #[arg(value_name = "OLD")]
        from: String,
        /// The address the topology gives it now, e.g. aws_vpc.ireland
        #[arg(value_name = "NEW")]
        to: String,
        #[command(flatten)]
        state: StateDirArg,
    },
    /// Print the whole state as JSON (lineage, serial, records); secrets are redacted.
    Pull {
        #[command(flatten)]
        topology: TopologyArg,
        /// Show what secrets hold instead of `(sensitive)`.
        #[arg(long)]
        show_secrets: bool,
        #[command(flatten)]
        state: StateDirArg,
    },
    /// Bring back the last good copy of damaged state; the damaged files are kept beside it.
    Restore {
        #[command(flatten)]
        topology: TopologyArg,
        /// Go back to the last good copy even if the state is not damaged.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        state: StateDirArg,
    },
    /// Copy local state to the remote backend the topology names (which then works through this
    /// directory as its cache), or remote state back into a local directory; each copy is read
    /// back and checked before anything switches.
    Migrate {
        #[command(flatten)]
        topology: TopologyArg,
        #[command(flatten)]
        direction: MigrateArgs,
        #[command(flatten)]
        state: StateDirArg,
    },
    /// Encrypt the state's secrets under the key in RINGFORM_STATE_NEW_KEY (or for the first
    /// time, under RINGFORM_STATE_KEY).
    Rekey {
        #[command(flatten)]
        topology: TopologyArg,
        #[command(flatten)]
        state: StateDirArg,
    },
}

/// Accepts Terraform's single-dash spellings (`-out=FILE`, `-detailed-exitcode`, `-json`,
/// `-target=ADDR`), which CI scripts written for Terraform use.
pub fn terraform_compatible(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    const LONG: &[&str] = &["out", "detailed-exitcode", "json", "target", "state", "auto-approve", "parallelism"];
    args.into_iter()
        .map(|arg| {
            let Some(text) = arg.to_str() else { return arg };
            let Some(rest) = text.strip_prefix('-').filter(|r| !r.starts_with('-')) else { return arg };
            let name = rest.split('=').next().unwrap_or(rest);
            if LONG.contains(&name) { OsString::from(format!("-{text}")) } else { arg }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terraform_spellings_become_long_options() {
        let args =
            terraform_compatible(["ringform", "plan", "-out=p", "-detailed-exitcode", "-o", "x"].map(OsString::from));
        assert_eq!(args, ["ringform", "plan", "--out=p", "--detailed-exitcode", "-o", "x"].map(OsString::from));
    }
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct MigrateArgs {
    /// Copy the local state to the backend in [state].
    #[arg(long)]
    pub to_remote: bool,
    /// Copy the state from the backend in [state] into the local directory.
    #[arg(long)]
    pub to_local: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MigrateDirection {
    ToRemote,
    ToLocal,
}

impl MigrateArgs {
    pub fn direction(&self) -> MigrateDirection {
        if self.to_remote { MigrateDirection::ToRemote } else { MigrateDirection::ToLocal }
    }
}
