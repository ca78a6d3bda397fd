//! The `ringform` command line: parses arguments, loads the topology, drives the library
//! crates and prints what they return. Library crates never print; this crate owns the
//! terminal (colours, `NO_COLOR`) and the exit codes, which follow Terraform's
//! `-detailed-exitcode` (0 success or no changes, 1 error, 2 changes present).

mod args;
mod commands;
mod drift_report;
mod failure;
mod kubeconfig;

mod keys;
mod load;
mod place;
mod progress;
mod providers;
mod run;
mod state;
mod status;

use std::ffi::OsString;
use std::io::IsTerminal;

use clap::Parser;

use crate::args::{Cli, Command};
pub use crate::failure::Failure;

/// Terraform-compatible exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    Error = 1,
    /// `plan --detailed-exitcode` found changes.
    Changes = 2,
}

/// Runs the command line and returns the process exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args::terraform_compatible(args)) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { Exit::Error as i32 } else { Exit::Success as i32 };
        }
    };
    let result = match cli.command {
        Command::Validate(args) => commands::validate(&args),
        Command::Plan(args) => commands::plan(&args),
        Command::Apply(args) => run::apply(&args),
        Command::Destroy(args) => run::destroy(&args),
        Command::Refresh(args) => run::refresh(&args),
        Command::Drift(args) => run::drift(&args),
        Command::Graph(args) => commands::graph(&args),
        Command::Kubeconfig(args) => commands::kubeconfig(&args),
        Command::Status(args) => status::status(&args),
        Command::State(command) => state::state(command),
        Command::Schema => commands::schema(),
    };
    match result {
        Ok(exit) => exit as i32,
        Err(failure) => {
            failure.print(colour(&std::io::stderr()));
            Exit::Error as i32
        }
    }
}

/// Colours only for a terminal, and never when `NO_COLOR` is set (https://no-color.org).
pub(crate) fn colour(stream: &impl IsTerminal) -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && stream.is_terminal()
}
