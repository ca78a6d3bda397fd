//! [`Diagnostic`]: one problem in a topology file, and its rustc-style rendering.

use std::fmt::Write as _;

use crate::model::Span;

/// One problem in a topology file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Byte range in the source the problem is about.
    pub span: Span,
    /// Where in the document, e.g. `clusters.eu-west.network_cidr`; empty for TOML syntax errors.
    pub key: String,
    pub message: String,
    /// What to do about it, as a sentence.
    pub hint: Option<String>,
}

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[1;31m";
const BLUE: &str = "\x1b[1;34m";

/// Tabs are shown as this many spaces so the carets line up under them.
const TAB_WIDTH: usize = 4;

impl Diagnostic {
    pub(crate) fn new(span: Span, key: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic { span, key: key.into(), message: message.into(), hint: None }
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Renders the diagnostic the way rustc and cargo do, pointing at `path:line:column` with
    /// the offending line and carets under the span (clipped to its first line). `color` adds
    /// ANSI colors. No trailing newline. Never panics, whatever the span.
    pub fn render(&self, path: &str, source: &str, color: bool) -> String {
        let start = floor_char_boundary(source, self.span.start);
        let end = floor_char_boundary(source, self.span.end).max(start);
        let (line, column) = line_col(source, start);

        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[start..].find('\n').map_or(source.len(), |i| start + i);
        let text = source[line_start..line_end].trim_end_matches('\r');
        let text_end = line_start + text.len();
        let (before, marked) = if start <= text_end {
            (&source[line_start..start], &source[start..end.min(text_end)])
        } else {
            // The span starts on the line's `\r`: put the caret just past the text.
            (text, "")
        };
        let indent = display_width(before);
        let carets = display_width(marked).max(1);

        let (red, blue, bold, reset) = if color { (RED, BLUE, BOLD, RESET) } else { ("", "", "", "") };
        let number = line.to_string();
        let pad = " ".repeat(number.len());
        let mut out = String::new();
        let _ = writeln!(out, "{red}error{reset}{bold}: {}{reset}", self.message);
        let _ = writeln!(out, "{pad}{blue}-->{reset} {path}:{line}:{column}");
        let _ = writeln!(out, "{pad} {blue}|{reset}");
        let _ = writeln!(out, "{blue}{number} |{reset} {}", text.replace('\t', &" ".repeat(TAB_WIDTH)));
        let _ = write!(out, "{pad} {blue}|{reset} {}{red}{}{reset}", " ".repeat(indent), "^".repeat(carets));
        if !self.key.is_empty() {
            let _ = write!(out, "\n{pad} {blue}={reset} {bold}key{reset}: {}", self.key);
        }
        if let Some(hint) = &self.hint {
            let _ = write!(out, "\n{pad} {blue}={reset} {bold}hint{reset}: {hint}");
        }
        out
    }
}

/// 1-based line and column (in chars) of a byte offset. Offsets past the end, or inside a
/// multi-byte char, are moved back to the nearest char boundary.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(source, offset);
    let before = &source[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn floor_char_boundary(source: &str, offset: usize) -> usize {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

fn display_width(text: &str) -> usize {
    text.chars().map(|c| if c == '\t' { TAB_WIDTH } else { 1 }).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "deployment = \"x\"\n\n[[clusters]]\nname = \"eu-central\"\n\
        provider = \"aws\"\nregion = \"eu-central-1\"\n\n\n\n\n\nnetwork_cidr = \"10.1.0.0/16\"\n";

    fn overlap() -> Diagnostic {
        let start = SOURCE.find("\"10.1.0.0/16\"").unwrap();
        Diagnostic::new(
            start..start + 13,
            "clusters.eu-central.network_cidr",
            "network_cidr 10.1.0.0/16 overlaps pod_cidr 10.1.0.0/17 of cluster eu-west",
        )
        .hint(
            "every cluster needs node, pod and service ranges no other cluster uses, or packets \
             cannot be routed between them",
        )
    }

    #[test]
    fn renders_like_rustc() {
        let expected = "\
error: network_cidr 10.1.0.0/16 overlaps pod_cidr 10.1.0.0/17 of cluster eu-west
  --> examples/x.toml:12:16
   |
12 | network_cidr = \"10.1.0.0/16\"
   |                ^^^^^^^^^^^^^
   = key: clusters.eu-central.network_cidr
   = hint: every cluster needs node, pod and service ranges no other cluster uses, or packets cannot be routed between them";
        assert_eq!(overlap().render("examples/x.toml", SOURCE, false), expected);
    }

    #[test]
    fn color_wraps_error_and_gutter() {
        let text = overlap().render("x.toml", SOURCE, true);
        assert!(text.starts_with("\x1b[1;31merror\x1b[0m"));
        assert!(text.contains("\x1b[1;34m-->"));
        assert!(!overlap().render("x.toml", SOURCE, false).contains('\x1b'));
    }

    #[test]
    fn line_col_counts_chars() {
        assert_eq!(line_col("", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("é = 1", 3), (1, 3));
        assert_eq!(line_col("é", 1), (1, 1)); // inside the é
        assert_eq!(line_col("ab", 99), (1, 3));
    }

    #[test]
    fn render_clamps_spans() {
        let source = "a = \"é\"\r\nb\t= 2";
        for start in 0..source.len() + 3 {
            for end in [0, start, start + 1, start + 40, usize::MAX] {
                let d = Diagnostic::new(start..end, "k", "m");
                let text = d.render("f", source, true);
                assert!(text.contains("-->"));
            }
        }
        let after_tab = Diagnostic::new(12..13, "b", "m").render("f", source, false);
        assert!(after_tab.contains("2 | b    = 2\n  |      ^\n"), "{after_tab}");
        let tab = Diagnostic::new(11..12, "b", "m").render("f", source, false);
        assert!(tab.contains("  |  ^^^^\n"), "{tab}");
    }

    #[test]
    fn multi_line_spans_are_clipped_to_the_first_line() {
        let source = "x = [\n  1,\n]\n";
        let text = Diagnostic::new(4..source.len(), "x", "m").render("f", source, false);
        assert!(text.contains("1 | x = [\n  |     ^\n"), "{text}");
    }
}
