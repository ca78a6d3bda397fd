//! The plan: what must change for reality (as the state records it) to match the desired
//! resource graph. Each resource gets one [`Action`] with its before and after attributes and
//! the reason; references to outputs of resources that stay are resolved from state, the rest
//! are "known after apply". Renders plans for people (coloured, long values as unified diffs)
//! and machines (JSON in the spirit of `terraform show -json`), and saves them to plan files
//! that remember the state lineage and serial they were made against. No I/O but plan files.

mod diff;
mod file;
mod json;
mod render;
mod stakes;

use ringform_core::{Address, Attributes};
use ringform_state::Lineage;
use serde::{Deserialize, Serialize};

pub use diff::{plan, plan_destroy};
pub use file::{PlanFile, PlanFileError, read_plan_file, topology_hash, write_plan_file};
pub use json::to_json;
pub use render::{RenderOptions, format_value, render};
pub use stakes::AtStake;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    NoOp,
    Create,
    Update,
    /// Delete the old object, then create the new one.
    Replace,
    Delete,
}

/// What happens to one resource, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub address: Address,
    pub action: Action,
    /// The inputs recorded in state; `None` for a create, and for a no-op, whose before is
    /// its after (not kept twice: a no-op plan of a large deployment is mostly no-ops).
    pub before: Option<Attributes>,
    /// The desired inputs with references resolved where already known; `None` for a delete.
    pub after: Option<Attributes>,
    /// The attributes that differ between before and after under their kinds' comparisons
    /// (empty for creates, deletes and no-ops).
    #[serde(default)]
    pub changed: Vec<String>,
    /// The attributes whose change forces a replacement.
    pub replace_because: Vec<String>,
    /// One sentence for people, e.g. "not in state yet".
    pub reason: String,
    /// The Cassandra data this change destroys (none for most changes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub at_stake: Vec<AtStake>,
}

impl Change {
    /// The inputs recorded in state, also for a no-op.
    pub fn before(&self) -> Option<&Attributes> {
        match self.action {
            Action::NoOp => self.after.as_ref(),
            _ => self.before.as_ref(),
        }
    }
}

/// Every change needed, in address order, and the state it was computed against.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub lineage: Lineage,
    pub serial: u64,
    /// SHA-256 of the topology file the plan was made from.
    pub topology_hash: String,
    pub changes: Vec<Change>,
    /// Why the plan may not be carried out at all, one sentence each (a keyspace whose every
    /// replica it would remove).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refusals: Vec<String>,
}

/// Counts as Terraform reports them: a replacement is one to add and one to destroy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    /// Changes that destroy Cassandra data.
    pub data_loss: usize,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        for change in &self.changes {
            match change.action {
                Action::NoOp => {}
                Action::Create => summary.add += 1,
                Action::Update => summary.change += 1,
                Action::Replace => {
                    summary.add += 1;
                    summary.destroy += 1;
                }
                Action::Delete => summary.destroy += 1,
            }
            summary.data_loss += usize::from(!change.at_stake.is_empty());
        }
        summary
    }

    /// The changes that destroy Cassandra data.
    pub fn data_loss(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| !c.at_stake.is_empty())
    }

    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::NoOp)
    }
}
