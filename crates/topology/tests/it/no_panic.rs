//! `parse` and `Diagnostic::render` must not panic on any input: arbitrary text, and a valid
//! topology damaged by random edits (which reaches far deeper into the rules than random text).

use proptest::prelude::*;
use proptest::sample::Index;
use ringform_topology::{Diagnostic, line_col, parse};

const FULL: &str = include_str!("../fixtures/full.toml");

/// Parses and renders every diagnostic, in color and without.
fn exercise(source: &str) {
    if let Err(diagnostics) = parse(source) {
        assert!(!diagnostics.is_empty());
        for d in &diagnostics {
            // Either would mean a problem went unexplained.
            assert!(!d.message.starts_with("internal error") && !d.message.starts_with("cannot read"), "{d:?}");
            assert!(d.span.start <= source.len() && d.span.end <= source.len(), "{d:?}");
            assert!(d.render("t.toml", source, true).starts_with("\x1b"));
            assert!(d.render("t.toml", source, false).starts_with("error: "));
        }
        assert!(diagnostics.windows(2).all(|w| w[0].span.start <= w[1].span.start), "not sorted");
    }
}

#[derive(Clone, Debug)]
enum Edit {
    DeleteChars(Index, usize),
    Insert(Index, String),
    ReplaceChar(Index, char),
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    InsertLine(Index, String),
    /// Replaces what follows the `=` of a line.
    ReplaceValue(Index, String),
}

/// Fragments that keep the damage TOML-shaped, so it reaches the rules and not only the parser.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"".to_string()),
        Just("[[clusters]]\n".to_string()),
        Just("[[cassandra.datacenters]]\n".to_string()),
        Just("[[cassandra.keyspaces]]\n".to_string()),
        Just("[state]\n".to_string()),
        Just("name = \"eu-west\"\n".to_string()),
        Just("size = 9\n".to_string()),
        Just("zones = []\n".to_string()),
        Just("node_pool = { count = 0 }\n".to_string()),
        Just("racks = [{ name = \"r1\", zone = \"x\" }]\n".to_string()),
        Just("10.1.0.0/16".to_string()),
        Just("/33".to_string()),
        Just("é\t\r\n".to_string()),
        "[a-z_=\\[\\]{}\",. 0-9/\n]{0,12}",
        any::<String>(),
    ]
}

/// Values that parse as TOML, so edits made of them reach the rules.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"eu-west\"".to_string()),
        Just("\"canadacentral\"".to_string()),
        Just("\"azure\"".to_string()),
        Just("\"10.1.0.0/16\"".to_string()),
        Just("\"10.1.0.0/28\"".to_string()),
        Just("\"10.1.2.3/16\"".to_string()),
        Just("\"coredns-stubs\"".to_string()),
        Just("\"cass-operator-seeds\"".to_string()),
        Just("[\"1\", \"2\", \"2\"]".to_string()),
        Just("{ count = 1 }".to_string()),
        Just("[{ name = \"r1\", zone = \"1\" }]".to_string()),
        Just("{ dc1 = 3, dc9 = 0 }".to_string()),
        Just("\"azure-blob\"".to_string()),
        Just("{ key_env = \"K\", aws_kms_key = \"\" }".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        (0..12i64).prop_map(|n| n.to_string()),
        "\"[a-z0-9.-]{0,10}\"",
    ]
}

/// Whole lines that parse as TOML.
fn line() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("name"),
        Just("cluster"),
        Just("provider"),
        Just("zones"),
        Just("size"),
        Just("namespace"),
        Just("network_cidr"),
        Just("pod_cidr"),
        Just("service_cidr"),
        Just("gateway_subnet"),
        Just("node_subnet"),
        Just("control_plane"),
        Just("mode"),
        Just("racks"),
        Just("node_pool"),
        Just("replication"),
        Just("backend"),
        Just("container"),
        Just("encryption"),
        Just("typo"),
    ];
    prop_oneof![
        (key, value()).prop_map(|(k, v)| format!("{k} = {v}")),
        Just("[[clusters]]".to_string()),
        Just("[[cassandra.datacenters]]".to_string()),
        Just("[[cassandra.keyspaces]]".to_string()),
        Just("[dns]".to_string()),
        Just("[mesh]".to_string()),
        Just("[state]".to_string()),
    ]
}

fn line_edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<Index>().prop_map(Edit::DeleteLine),
        any::<Index>().prop_map(Edit::DuplicateLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        (any::<Index>(), line()).prop_map(|(at, text)| Edit::InsertLine(at, text)),
        (any::<Index>(), value()).prop_map(|(at, text)| Edit::ReplaceValue(at, text)),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<Index>(), 1..40usize).prop_map(|(at, n)| Edit::DeleteChars(at, n)),
        (any::<Index>(), fragment()).prop_map(|(at, text)| Edit::Insert(at, text)),
        (any::<Index>(), any::<char>()).prop_map(|(at, c)| Edit::ReplaceChar(at, c)),
        any::<Index>().prop_map(Edit::DeleteLine),
        any::<Index>().prop_map(Edit::DuplicateLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
    ]
}

fn apply(source: &str, edit: &Edit) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut lines: Vec<&str> = source.lines().collect();
    let at = |i: &Index, len: usize| if len == 0 { 0 } else { i.index(len) };
    match edit {
        Edit::DeleteChars(i, n) => {
            let start = at(i, chars.len());
            chars[..start].iter().chain(chars[(start + n).min(chars.len())..].iter()).collect()
        }
        Edit::Insert(i, text) => {
            let start = at(i, chars.len() + 1);
            chars[..start].iter().copied().chain(text.chars()).chain(chars[start..].iter().copied()).collect()
        }
        Edit::ReplaceChar(i, c) => {
            let mut chars = chars;
            if !chars.is_empty() {
                let i = at(i, chars.len());
                chars[i] = *c;
            }
            chars.into_iter().collect()
        }
        Edit::DeleteLine(i) => {
            if !lines.is_empty() {
                lines.remove(at(i, lines.len()));
            }
            lines.join("\n")
        }
        Edit::DuplicateLine(i) => {
            if !lines.is_empty() {
                let i = at(i, lines.len());
                lines.insert(i, lines[i]);
            }
            lines.join("\n")
        }
        Edit::InsertLine(i, text) => {
            lines.insert(at(i, lines.len() + 1), text);
            lines.join("\n")
        }
        Edit::ReplaceValue(i, text) => {
            let replaced;
            if !lines.is_empty() {
                let i = at(i, lines.len());
                if let Some((key, _)) = lines[i].split_once('=') {
                    replaced = format!("{key}= {text}");
                    lines[i] = &replaced;
                }
            }
            lines.join("\n")
        }
        Edit::SwapLines(a, b) => {
            if !lines.is_empty() {
                let (a, b) = (at(a, lines.len()), at(b, lines.len()));
                lines.swap(a, b);
            }
            lines.join("\n")
        }
    }
}

proptest! {
    // 1000 cases unless PROPTEST_CASES says otherwise (e.g. a long run hunting for panics).
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(1000),
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_text(source in any::<String>()) {
        exercise(&source);
    }

    #[test]
    fn toml_shaped_text(source in "([a-z_]{1,12} = (\"[a-z0-9./ -]{0,12}\"|[0-9]{1,3}|\\[\\]|\\{\\})\n|\\[\\[?[a-z.]{1,20}\\]\\]?\n){0,20}") {
        exercise(&source);
    }

    #[test]
    fn mutated_valid_topology(edits in prop::collection::vec(edit(), 1..6)) {
        let source = edits.iter().fold(FULL.to_string(), |source, e| apply(&source, e));
        exercise(&source);
    }

    #[test]
    fn line_edits_of_valid_topology(edits in prop::collection::vec(line_edit(), 1..5)) {
        let source = edits.iter().fold(FULL.to_string(), |source, e| apply(&source, e));
        exercise(&source);
    }

    #[test]
    fn render_any_span(source in any::<String>(), start in 0..300usize, len in 0..300usize, key in ".{0,8}") {
        let d = Diagnostic { span: start..start.saturating_add(len), key, message: "m".into(), hint: Some("h".into()) };
        let _ = d.render("t.toml", &source, true);
        let _ = d.render("t.toml", &source, false);
        let _ = line_col(&source, start);
        // A reversed span, too.
        let reversed = Diagnostic { span: start + len..start, ..d };
        let _ = reversed.render("t.toml", &source, false);
    }
}

#[test]
fn the_full_topology_is_valid() {
    if let Err(diagnostics) = parse(FULL) {
        let text: Vec<String> = diagnostics.iter().map(|d| d.render("full.toml", FULL, false)).collect();
        panic!("{}", text.join("\n\n"));
    }
}

#[test]
fn deep_nesting_and_huge_values() {
    for source in [
        format!("x = {}", "[".repeat(100_000)),
        format!("x = {}1{}", "[".repeat(5_000), "]".repeat(5_000)),
        format!("x = {}1{}", "[".repeat(200_000), "]".repeat(200_000)),
        format!("clusters = [{{ node_pool = {}1{} }}]", "[".repeat(200_000), "]".repeat(200_000)),
        format!("x = {}", "{ a = ".repeat(50_000)),
        format!("deployment = \"{}\"", "a".repeat(100_000)),
        "clusters = [{ node_pool = { count = 99999999999999999999 } }]".to_string(),
        "clusters = [{ node_pool = { count = -9223372036854775808 } }]".to_string(),
        "\u{feff}deployment = \"x\"".to_string(),
        "\0".to_string(),
    ] {
        exercise(&source);
    }
}
