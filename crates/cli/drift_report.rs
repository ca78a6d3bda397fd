//! `ringform drift` output: what changed out of band, and what the topology asks for that
//! reality lacks, as text, JSON, or Markdown for a CI job summary. Values are redacted.

use ringform_engine::Drift;
use ringform_plan::{Action, Plan, format_value};
use serde_json::json;

pub(crate) struct Report<'a> {
    pub deployment: &'a str,
    pub drift: &'a [Drift],
    pub pending: &'a Plan,
}

impl Report<'_> {
    fn pending_changes(&self) -> impl Iterator<Item = &ringform_plan::Change> {
        self.pending.changes.iter().filter(|c| c.action != Action::NoOp)
    }

    pub fn text(&self) -> String {
        if self.drift.is_empty() && !self.pending.has_changes() {
            return format!("No drift: {} matches its topology and state.\n", self.deployment);
        }
        let mut text = String::new();
        if !self.drift.is_empty() {
            text.push_str(&format!("Changed outside ringform ({}):\n", self.drift.len()));
            for drift in self.drift {
                text.push_str(&match drift {
                    Drift::Deleted { address } => format!("  - {address}: deleted\n"),
                    Drift::Changed { address, attribute, recorded, actual } => format!(
                        "  ~ {address}: {attribute} = {} in state, {} in reality\n",
                        format_value(recorded, 4),
                        format_value(actual, 4)
                    ),
                });
            }
        }
        if self.pending.has_changes() {
            let s = self.pending.summary();
            text.push_str(&format!(
                "To match the topology: {} to add, {} to change, {} to destroy (run `ringform plan`):\n",
                s.add, s.change, s.destroy
            ));
            for change in self.pending_changes() {
                text.push_str(&format!("  {:?} {} ({})\n", change.action, change.address, change.reason));
            }
        }
        text
    }

    pub fn json(&self) -> serde_json::Value {
        let drift: Vec<_> = self
            .drift
            .iter()
            .map(|d| match d {
                Drift::Deleted { address } => json!({"address": address.to_string(), "type": "deleted"}),
                Drift::Changed { address, attribute, recorded, actual } => json!({
                    "address": address.to_string(),
                    "type": "changed",
                    "attribute": attribute,
                    "recorded": recorded.to_redacted_json(),
                    "actual": actual.to_redacted_json(),
                }),
            })
            .collect();
        let pending: Vec<_> = self
            .pending_changes()
            .map(|c| json!({"address": c.address.to_string(), "action": c.action, "reason": c.reason}))
            .collect();
        json!({
            "deployment": self.deployment,
            "drifted": !self.drift.is_empty() || self.pending.has_changes(),
            "drift": drift,
            "pending_changes": pending,
            "summary": self.pending.summary(),
        })
    }

    pub fn markdown(&self) -> String {
        let mut md = format!("## ringform drift: `{}`\n\n", self.deployment);
        if self.drift.is_empty() && !self.pending.has_changes() {
            md.push_str("✅ No drift: reality matches the topology and the state.\n");
            return md;
        }
        if !self.drift.is_empty() {
            md.push_str(
                "### Changed outside ringform\n\n| resource | attribute | in state | in reality |\n|---|---|---|---|\n",
            );
            for drift in self.drift {
                md.push_str(&match drift {
                    Drift::Deleted { address } => format!("| `{address}` | | | **deleted** |\n"),
                    Drift::Changed { address, attribute, recorded, actual } => format!(
                        "| `{address}` | `{attribute}` | `{}` | `{}` |\n",
                        cell(&format_value(recorded, 0)),
                        cell(&format_value(actual, 0))
                    ),
                });
            }
            md.push('\n');
        }
        if self.pending.has_changes() {
            let s = self.pending.summary();
            md.push_str(&format!(
                "### To match the topology\n\n{} to add, {} to change, {} to destroy.\n\n| action | resource | why |\n|---|---|---|\n",
                s.add, s.change, s.destroy
            ));
            for change in self.pending_changes() {
                md.push_str(&format!("| {:?} | `{}` | {} |\n", change.action, change.address, cell(&change.reason)));
            }
        }
        md
    }
}

/// Table cells hold one line and no pipes.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
