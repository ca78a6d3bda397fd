//! Reading one [`Field`]: a type error or a missing required key becomes a diagnostic with a
//! hint showing how the key is written; defaults fill the gaps; simple shape checks.

use ipnet::Ipv4Net;

use crate::diagnostic::Diagnostic;
use crate::model::*;
use crate::net::parse_cidr;
use crate::patterns::{closest, is_name, is_version};
use crate::raw::Field;

const NAME_HINT: &str = "use lower-case letters, digits and `-`, starting with a letter";

pub(super) fn is_version_2(s: &str) -> bool {
    is_version(s, 2)
}

pub(super) fn is_version_3(s: &str) -> bool {
    is_version(s, 3)
}

pub(super) fn leaf(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

/// `Ok(None)`: absent; `Ok(Some)`: present and typed; `Err`: present but invalid (reported).
pub(super) fn read<T>(
    d: &mut Vec<Diagnostic>,
    field: Field<T>,
    key: &str,
    example: &str,
) -> Result<Option<Spanned<T>>, ()> {
    match field {
        Field::Missing => Ok(None),
        Field::Valid { span, value } => Ok(Some(Spanned::new(value, span))),
        Field::Invalid { span, message } => {
            let hint = match meant(&message) {
                Some(value) => format!("did you mean {} = \"{value}\"?", leaf(key)),
                None => format!("write it as {example}"),
            };
            d.push(Diagnostic::new(span, key, format!("wrong value for `{}`: {message}", leaf(key))).hint(hint));
            Err(())
        }
    }
}

/// The allowed value closest to an unknown one, from serde's message, which lists them all:
/// "unknown variant `s4`, expected one of `local`, `s3`, `azure-blob`" (or "expected `a` or `b`").
fn meant(message: &str) -> Option<&str> {
    let (given, allowed) = message.strip_prefix("unknown variant `")?.split_once("`, expected ")?;
    closest(given, allowed.split('`').skip(1).step_by(2))
}

/// Each table of an array of tables (`[[clusters]]`, …) through `resolve`; elements that are
/// not tables are reported and left out.
pub(super) fn each_table<T, U>(
    d: &mut Vec<Diagnostic>,
    list: Vec<Field<T>>,
    prefix: &str,
    example: &str,
    mut resolve: impl FnMut(&mut Vec<Diagnostic>, usize, Spanned<T>) -> U,
) -> Vec<U> {
    list.into_iter()
        .enumerate()
        .filter_map(|(i, field)| {
            let table = optional(d, field, &format!("{prefix}[{i}]"), example)?;
            Some(resolve(d, i, table))
        })
        .collect()
}

pub(super) fn optional<T>(d: &mut Vec<Diagnostic>, field: Field<T>, key: &str, example: &str) -> Option<Spanned<T>> {
    read(d, field, key, example).ok().flatten()
}

pub(super) fn required<T>(
    d: &mut Vec<Diagnostic>,
    field: Field<T>,
    key: &str,
    table: &Span,
    example: &str,
) -> Option<Spanned<T>> {
    if matches!(field, Field::Missing) {
        d.push(
            Diagnostic::new(table.clone(), key, format!("missing required key `{}`", leaf(key)))
                .hint(format!("add {example}")),
        );
    }
    optional(d, field, key, example)
}

/// The value, or `default` (at `table`) when absent; `None` when invalid.
pub(super) fn with_default<T>(
    d: &mut Vec<Diagnostic>,
    field: Field<T>,
    key: &str,
    example: &str,
    table: &Span,
    default: T,
) -> Option<Spanned<T>> {
    match read(d, field, key, example) {
        Ok(Some(value)) => Some(value),
        Ok(None) => Some(Spanned::new(default, table.clone())),
        Err(()) => None,
    }
}

/// For values only this table uses: an invalid one is reported and replaced by the default.
pub(super) fn default_string(
    d: &mut Vec<Diagnostic>,
    field: Field<String>,
    key: &str,
    example: &str,
    table: &Span,
    default: &str,
) -> Spanned<String> {
    with_default(d, field, key, example, table, default.to_string())
        .unwrap_or_else(|| Spanned::new(default.to_string(), table.clone()))
}

/// A count: an integer from 1 up.
pub(super) fn count_field(
    d: &mut Vec<Diagnostic>,
    field: Field<i64>,
    key: &str,
    table: &Span,
    example: &str,
    default: u32,
) -> Option<Spanned<u32>> {
    let value = with_default(d, field, key, example, table, i64::from(default))?;
    match u32::try_from(value.value) {
        Ok(n) if n >= 1 => Some(Spanned::new(n, value.span)),
        _ if value.value > 0 => {
            let message = format!("`{}` is too large: {}", leaf(key), value.value);
            d.push(Diagnostic::new(value.span, key, message).hint(format!("write it as {example}")));
            None
        }
        _ => {
            d.push(
                Diagnostic::new(value.span, key, format!("`{}` must be at least 1, not {}", leaf(key), value.value))
                    .hint(format!("write it as {example}")),
            );
            None
        }
    }
}

pub(super) fn cidr(
    d: &mut Vec<Diagnostic>,
    field: Field<String>,
    key: &str,
    table: Option<&Span>,
    example: &str,
) -> Option<Spanned<Ipv4Net>> {
    let text = match table {
        Some(table) => required(d, field, key, table, example)?,
        None => optional(d, field, key, example)?,
    };
    match parse_cidr(&text.value) {
        Ok(net) => Some(Spanned::new(net, text.span)),
        Err(error) => {
            d.push(
                Diagnostic::new(text.span.clone(), key, format!("{}: {}", leaf(key), error.message)).hint(error.hint),
            );
            // Keep checking with the range the user most likely meant.
            error.meant.map(|net| Spanned::new(net, text.span))
        }
    }
}

pub(super) fn check_name(d: &mut Vec<Diagnostic>, name: Option<&Spanned<String>>, key: &str, what: &str, max: usize) {
    if let Some(name) = name.filter(|n| !is_name(&n.value, max)) {
        d.push(
            Diagnostic::new(name.span.clone(), key, format!("`{}` is not a valid {what}", name.value))
                .hint(format!("{NAME_HINT}, at most {max} characters")),
        );
    }
}

pub(super) fn check(
    d: &mut Vec<Diagnostic>,
    value: Option<&Spanned<String>>,
    ok: fn(&str) -> bool,
    key: &str,
    problem: &str,
    hint: &str,
) {
    if let Some(value) = value.filter(|v| !ok(&v.value)) {
        d.push(
            Diagnostic::new(value.span.clone(), key, format!("{} `{}` {problem}", leaf(key), value.value)).hint(hint),
        );
    }
}
