//! The shapes names and values must have (hand-written: the patterns are simple and a regex
//! engine would be the largest dependency of the crate).

/// `^[a-z][a-z0-9-]{0,max-1}$`: deployment, cluster, datacenter and rack names.
pub(crate) fn is_name(s: &str, max: usize) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && s.len() <= max
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A keyspace name CQL takes unquoted: `^[A-Za-z][A-Za-z0-9_]{0,47}$`. Cassandra's CQL
/// reference says so in two places: an identifier is `[a-zA-Z][a-zA-Z0-9_]*`
/// (cassandra.apache.org/doc/latest/cql/definitions.html, "Identifiers and keywords"), and a
/// keyspace name is alphanumeric or `_`, at most 48 characters (cql/ddl.html, "Common
/// definitions"; `SchemaConstants.NAME_LENGTH` and `isValidName` in the server). Quoting would
/// also admit a leading digit or `_`, and make case matter; ringform's names need neither.
pub(crate) fn is_keyspace_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.len() <= 48
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// An RFC 1123 label, what Kubernetes requires of a namespace.
pub(crate) fn is_dns_label(s: &str) -> bool {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !s.is_empty() && s.len() <= 63 && s.chars().all(|c| ok(c) || c == '-') && s.starts_with(ok) && s.ends_with(ok)
}

/// An RFC 1123 subdomain, what Kubernetes requires of a Secret name.
pub(crate) fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// `parts` runs of digits joined by dots: `1.31` (2), `4.1.5` (3).
pub(crate) fn is_version(s: &str, parts: usize) -> bool {
    let mut count = 0;
    for part in s.split('.') {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        count += 1;
    }
    count == parts
}

/// `^\d+[MG]$`, the JVM `-Xmx` forms cass-operator accepts.
pub(crate) fn is_heap(s: &str) -> bool {
    s.strip_suffix(['M', 'G']).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A Kubernetes quantity such as `100Gi`, `1.5Ti` or `500M`.
pub(crate) fn is_quantity(s: &str) -> bool {
    const SUFFIXES: [&str; 12] = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "k", "M", "G", "T", "P", "E"];
    let number = SUFFIXES.iter().find_map(|suffix| s.strip_suffix(suffix)).unwrap_or(s);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, "0"));
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(fraction)
}

/// `8-4-4-4-12` hex digits, the form of an Azure subscription id.
pub(crate) fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Levenshtein distance, for "did you mean" hints.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub(crate) fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let normalized = word.to_ascii_lowercase().replace('-', "_");
    candidates
        .into_iter()
        .map(|c| (edit_distance(&normalized, c).min(edit_distance(word, c)), c))
        .filter(|&(distance, c)| distance <= (c.chars().count() / 3).max(1))
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_name("eu-west", 30));
        assert!(is_name("a", 30));
        assert!(!is_name("", 30));
        assert!(!is_name("1a", 30));
        assert!(!is_name("EU", 30));
        assert!(!is_name("eu_west", 30));
        assert!(!is_name(&"a".repeat(31), 30));
        assert!(is_dns_label("cassandra-1"));
        assert!(is_dns_label("1"));
        assert!(!is_dns_label("-a"));
        assert!(!is_dns_label("a-"));
        assert!(!is_dns_label(&"a".repeat(64)));
        assert!(is_keyspace_name("orders") && is_keyspace_name("Orders_2024"));
        assert!(is_keyspace_name(&"k".repeat(48)));
        assert!(!is_keyspace_name(&"k".repeat(49)));
        assert!(!is_keyspace_name("") && !is_keyspace_name("_orders") && !is_keyspace_name("2024_orders"));
        assert!(!is_keyspace_name("orders-eu") && !is_keyspace_name("ordérs"));
        assert!(is_dns_subdomain("multi-region-superuser"));
        assert!(!is_dns_subdomain("a..b"));
    }

    #[test]
    fn versions_and_sizes() {
        assert!(is_version("1.31", 2));
        assert!(!is_version("1.31.0", 2));
        assert!(!is_version("v1.31", 2));
        assert!(!is_version("1.", 2));
        assert!(is_version("4.1.5", 3));
        assert!(is_heap("2G") && is_heap("512M"));
        assert!(!is_heap("G") && !is_heap("2g") && !is_heap("2GB"));
        assert!(is_quantity("100Gi") && is_quantity("1.5Ti") && is_quantity("500"));
        assert!(!is_quantity("100GB") && !is_quantity("Gi") && !is_quantity("1.Gi"));
        assert!(is_guid("00000000-0000-0000-0000-00000000000a"));
        assert!(!is_guid("0000-0000"));
    }

    #[test]
    fn suggestions() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(closest("regoin", ["region", "zones"]), Some("region"));
        assert_eq!(closest("network-cidr", ["network_cidr"]), Some("network_cidr"));
        assert_eq!(closest("kubernetesVersion", ["kubernetes_version"]), Some("kubernetes_version"));
        assert_eq!(closest("colour", ["name", "zones"]), None);
    }
}
