//! The plan for people: one block per changing resource, Terraform's symbols, attribute
//! values aligned, long values shown as unified diffs, secrets and unknowns never expanded.

use std::fmt::Write;

use owo_colors::{OwoColorize, Style};
use ringform_core::{Attributes, SENSITIVE_TEXT, UNKNOWN_TEXT, Value};
use similar::{ChangeTag, TextDiff};

use crate::{Action, Change, Plan};

#[derive(Clone, Copy, Debug, Default)]
pub struct RenderOptions {
    /// ANSI colours; the CLI turns them off for `NO_COLOR` and non-terminals.
    pub color: bool,
}

/// A value wider than this is shown over several lines.
const INLINE_WIDTH: usize = 72;

struct Paint(bool);

impl Paint {
    fn paint(&self, text: &str, style: Style) -> String {
        if self.0 { text.style(style).to_string() } else { text.to_owned() }
    }
}

fn style_of(action: Action) -> (&'static str, Style) {
    match action {
        Action::Create => ("+", Style::new().green()),
        Action::Update => ("~", Style::new().yellow()),
        Action::Replace => ("-/+", Style::new().magenta()),
        Action::Delete => ("-", Style::new().red()),
        Action::NoOp => (" ", Style::new()),
    }
}

pub fn render(plan: &Plan, options: RenderOptions) -> String {
    let paint = Paint(options.color);
    let mut out = String::new();
    let changing: Vec<&Change> = plan.changes.iter().filter(|c| c.action != Action::NoOp).collect();
    if changing.is_empty() {
        out.push_str("No changes. The infrastructure matches the topology.\n");
        return out;
    }
    out.push_str("ringform will perform these actions ");
    let legend = [
        (Action::Create, "create"),
        (Action::Update, "update in place"),
        (Action::Replace, "replace"),
        (Action::Delete, "destroy"),
    ];
    let used: Vec<String> = legend
        .iter()
        .filter(|(action, _)| changing.iter().any(|c| c.action == *action))
        .map(|(action, word)| {
            let (symbol, style) = style_of(*action);
            format!("{} {word}", paint.paint(symbol, style))
        })
        .collect();
    let _ = writeln!(out, "({}):\n", used.join(", "));
    for change in changing {
        render_change(&mut out, change, &paint);
    }
    let summary = plan.summary();
    let _ = writeln!(
        out,
        "{} {} to add, {} to change, {} to destroy.",
        paint.paint("Plan:", Style::new().bold()),
        summary.add,
        summary.change,
        summary.destroy
    );
    for refusal in &plan.refusals {
        let _ = writeln!(out, "{} {refusal}", paint.paint("Refused:", Style::new().red().bold()));
    }
    if summary.data_loss > 0 {
        let (changes, them) =
            if summary.data_loss == 1 { ("change destroys", "it") } else { ("changes destroy", "them") };
        let warning = format!("{} {changes} Cassandra data (marked !)", summary.data_loss);
        let _ = writeln!(
            out,
            "{} apply and destroy refuse to carry {them} out without --allow-data-loss.",
            paint.paint(&format!("{warning}:"), Style::new().red().bold())
        );
    }
    out
}

fn render_change(out: &mut String, change: &Change, paint: &Paint) {
    let (symbol, style) = style_of(change.action);
    // A create needs no reason beyond its symbol; the others say why.
    let reason = match change.action {
        Action::Create => String::new(),
        _ => format!("  {}", paint.paint(&format!("({})", change.reason), Style::new().dimmed())),
    };
    let _ = writeln!(
        out,
        "  {} {}{reason}",
        paint.paint(symbol, style.bold()),
        paint.paint(&change.address.to_string(), Style::new().bold()),
    );
    for stake in &change.at_stake {
        let what = format!(
            "! destroys the data of datacenter {} ({} nodes, {} each):",
            stake.datacenter, stake.nodes, stake.storage
        );
        let _ = writeln!(out, "      {}", paint.paint(&what, Style::new().red().bold()));
        for because in &stake.because {
            let _ = writeln!(out, "        {because}");
        }
    }
    let empty = Attributes::new();
    let before = change.before.as_ref().unwrap_or(&empty);
    let after = change.after.as_ref().unwrap_or(&empty);
    match change.action {
        Action::Create => {
            let width = after.keys().map(String::len).max().unwrap_or(0);
            for (key, value) in after {
                attribute_line(out, paint, "+", Style::new().green(), key, width, &format_value(value, 8));
            }
        }
        Action::Update | Action::Replace => {
            let changed = &change.changed;
            let width = changed.iter().map(|k| k.len()).max().unwrap_or(0);
            for key in changed {
                let old = format_value(before.get(key).unwrap_or(&Value::Null), 8);
                let new = format_value(after.get(key).unwrap_or(&Value::Null), 8);
                let forces = if change.replace_because.iter().any(|k| k == key) {
                    paint.paint("  # forces replacement", Style::new().magenta())
                } else {
                    String::new()
                };
                if old.contains('\n') || new.contains('\n') {
                    let _ = writeln!(out, "      {} {key}:{forces}", paint.paint("~", Style::new().yellow()));
                    unified_diff(out, paint, &old, &new);
                } else {
                    let text = format!("{old} → {new}{forces}");
                    attribute_line(out, paint, "~", Style::new().yellow(), key, width, &text);
                }
            }
            let unchanged = after.len().saturating_sub(changed.len());
            if unchanged > 0 {
                let _ = writeln!(
                    out,
                    "        {}",
                    paint.paint(&format!("# ({unchanged} unchanged attributes hidden)"), Style::new().dimmed())
                );
            }
        }
        Action::Delete | Action::NoOp => {}
    }
    out.push('\n');
}

fn attribute_line(out: &mut String, paint: &Paint, symbol: &str, style: Style, key: &str, width: usize, value: &str) {
    let _ = writeln!(out, "      {} {key:<width$} = {value}", paint.paint(symbol, style));
}

fn unified_diff(out: &mut String, paint: &Paint, old: &str, new: &str) {
    let diff = TextDiff::from_lines(old, new);
    for group in diff.grouped_ops(3) {
        for op in group {
            for line in diff.iter_changes(&op) {
                let (sign, style) = match line.tag() {
                    ChangeTag::Delete => ("-", Style::new().red()),
                    ChangeTag::Insert => ("+", Style::new().green()),
                    ChangeTag::Equal => (" ", Style::new().dimmed()),
                };
                let text = format!("{sign} {}", line.value().trim_end_matches('\n'));
                let _ = writeln!(out, "          {}", paint.paint(&text, style));
            }
        }
    }
}

/// A value as people read it: inline when short, otherwise one element per line, indented by
/// `indent` columns. Secrets and unknown values are never expanded.
pub fn format_value(value: &Value, indent: usize) -> String {
    let inline = format_inline(value);
    if inline.len() <= INLINE_WIDTH && !inline.contains('\n') {
        return inline;
    }
    let pad = " ".repeat(indent + 2);
    let close = " ".repeat(indent);
    match value {
        Value::List(items) => {
            let lines: Vec<String> = items.iter().map(|v| format!("{pad}{},", format_value(v, indent + 2))).collect();
            format!("[\n{}\n{close}]", lines.join("\n"))
        }
        Value::Map(map) => {
            let width = map.keys().map(String::len).max().unwrap_or(0);
            let lines: Vec<String> =
                map.iter().map(|(k, v)| format!("{pad}{k:<width$} = {}", format_value(v, indent + 2))).collect();
            format!("{{\n{}\n{close}}}", lines.join("\n"))
        }
        Value::String(s) if s.contains('\n') => format!("<<EOT\n{s}\nEOT"),
        _ => inline,
    }
}

fn format_inline(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::List(items) => format!("[{}]", items.iter().map(format_inline).collect::<Vec<_>>().join(", ")),
        Value::Map(map) => {
            let entries: Vec<String> = map.iter().map(|(k, v)| format!("{k} = {}", format_inline(v))).collect();
            format!("{{ {} }}", entries.join(", "))
        }
        Value::Unknown | Value::Reference(_) => UNKNOWN_TEXT.into(),
        Value::Secret(_) => SENSITIVE_TEXT.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_stay_inline_and_long_ones_break() {
        assert_eq!(format_value(&Value::from(vec!["a", "b"]), 0), r#"["a", "b"]"#);
        let long = Value::from((0..20).map(|i| format!("10.{i}.0.0/16")).collect::<Vec<_>>());
        let text = format_value(&long, 0);
        assert!(text.starts_with("[\n  \"10.0.0.0/16\",\n"), "{text}");
        assert!(text.ends_with("\n]"));
    }

    #[test]
    fn secrets_and_unknowns_are_never_expanded() {
        let value = Value::from_iter([("key", Value::secret("hunter2".into())), ("id", Value::Unknown)]);
        let text = format_value(&value, 0);
        assert!(!text.contains("hunter2"));
        assert!(text.contains(SENSITIVE_TEXT) && text.contains(UNKNOWN_TEXT));
    }
}
