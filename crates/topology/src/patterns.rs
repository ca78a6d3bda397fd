//! The shapes names and values must have (hand-written: the patterns are simple and a regex
//! engine would be the largest dependency of the crate).

use std::ops::RangeInclusive;

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

/// `len` lower-case letters and digits, with `inner` characters allowed between them.
fn is_lower_alnum(s: &str, len: RangeInclusive<usize>, inner: &[char]) -> bool {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    len.contains(&s.len()) && s.chars().all(|c| ok(c) || inner.contains(&c)) && s.starts_with(ok) && s.ends_with(ok)
}

/// An RFC 1123 label, what Kubernetes requires of a namespace.
pub(crate) fn is_dns_label(s: &str) -> bool {
    is_lower_alnum(s, 1..=63, &['-'])
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

/// An S3 bucket name as AWS allows for new buckets: 3 to 63 lower-case letters, digits, `.`
/// and `-`, starting and ending with a letter or digit.
pub(crate) fn is_s3_bucket(s: &str) -> bool {
    is_lower_alnum(s, 3..=63, &['.', '-'])
}

/// Shaped like an AWS region (`eu-west-1`, `us-gov-west-1`); the list of the regions that
/// exist is the AWS provider schema's.
pub(crate) fn is_aws_region(s: &str) -> bool {
    let Some((name, number)) = s.rsplit_once('-') else { return false };
    let words: Vec<&str> = name.split('-').collect();
    words.len() >= 2
        && words[0].len() == 2
        && words.iter().all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// An Azure storage account name: 3 to 24 lower-case letters and digits.
pub(crate) fn is_storage_account(s: &str) -> bool {
    is_lower_alnum(s, 3..=24, &[])
}

/// An Azure blob container name: 3 to 63 lower-case letters, digits and single `-` between them.
pub(crate) fn is_blob_container(s: &str) -> bool {
    is_lower_alnum(s, 3..=63, &['-']) && !s.contains("--")
}

/// An S3 key or blob name to keep state under: not empty, relative, no `..` segment (both
/// stores would take them, but they read as a path that leaves its prefix), at most 1024
/// bytes (the limit of both).
pub(crate) fn is_object_path(s: &str) -> bool {
    !s.is_empty() && s.len() <= 1024 && !s.starts_with('/') && !s.split('/').any(|segment| segment == "..")
}

/// `[A-Za-z_][A-Za-z0-9_]*`, an environment variable name every shell can set.
pub(crate) fn is_env_var(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `https://<host>/keys/<name>[/<version>]`, the URL of an Azure Key Vault key; `http://` only
/// to `127.0.0.1:<port>` or `localhost:<port>`, where tests run a fake Key Vault.
pub(crate) fn is_key_vault_key_url(s: &str) -> bool {
    let https = s.strip_prefix("https://").and_then(|rest| rest.split_once('/'));
    let loopback = s.strip_prefix("http://").and_then(|rest| rest.split_once('/')).filter(|(authority, _)| {
        authority.split_once(':').is_some_and(|(host, port)| {
            matches!(host, "127.0.0.1" | "localhost") && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
        })
    });
    let Some((authority, path)) = https.or(loopback) else { return false };
    let word = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let host = |h: &str| h.split(['.', ':']).all(word);
    let segments: Vec<&str> = path.split('/').collect();
    host(authority)
        && segments[0] == "keys"
        && (2..=3).contains(&segments.len())
        && segments[1..].iter().all(|s| word(s))
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
    fn state_locations_and_keys() {
        assert!(is_s3_bucket("acme-ringform-state") && is_s3_bucket("a.b") && is_s3_bucket(&"b".repeat(63)));
        assert!(!is_s3_bucket("ab") && !is_s3_bucket(&"b".repeat(64)) && !is_s3_bucket("Acme"));
        assert!(!is_s3_bucket("acme_state") && !is_s3_bucket("-acme") && !is_s3_bucket("acme."));
        assert!(is_aws_region("eu-west-1") && is_aws_region("us-gov-west-1") && is_aws_region("cn-northwest-1"));
        assert!(!is_aws_region("eu-west") && !is_aws_region("westeurope") && !is_aws_region("EU-WEST-1"));
        assert!(!is_aws_region("eu--1") && !is_aws_region("eu-west-1a") && !is_aws_region("europe-west-1"));
        assert!(is_storage_account("acmeringform") && is_storage_account("abc") && !is_storage_account("ab"));
        assert!(!is_storage_account("acme-ringform") && !is_storage_account(&"a".repeat(25)));
        assert!(is_blob_container("ringform-state") && is_blob_container("a1b"));
        assert!(!is_blob_container("ringform--state") && !is_blob_container("-abc") && !is_blob_container("abc-"));
        assert!(!is_blob_container("Ringform") && !is_blob_container("ab"));
        assert!(is_object_path("prod/multi-region") && is_object_path("a..b/c") && is_object_path(&"k".repeat(1024)));
        assert!(!is_object_path("") && !is_object_path("/prod") && !is_object_path("prod/../x"));
        assert!(!is_object_path("..") && !is_object_path(&"k".repeat(1025)));
        assert!(is_env_var("RINGFORM_STATE_KEY") && is_env_var("_k1") && !is_env_var("1KEY"));
        assert!(!is_env_var("") && !is_env_var("STATE-KEY") && !is_env_var("$KEY"));
    }

    #[test]
    fn key_vault_key_urls() {
        for url in [
            "https://acme.vault.azure.net/keys/ringform-state",
            "https://acme.vault.azure.net/keys/ringform-state/0123456789abcdef0123456789abcdef",
            "https://acme.vault.azure.net:443/keys/k",
            "http://127.0.0.1:8443/keys/k",
            "http://localhost:8443/keys/k/v1",
        ] {
            assert!(is_key_vault_key_url(url), "{url}");
        }
        for url in [
            "http://acme.vault.azure.net/keys/k",
            "http://127.0.0.1/keys/k",
            "https://acme.vault.azure.net/secrets/k",
            "https://acme.vault.azure.net/keys/",
            "https://acme.vault.azure.net/keys/k/v/x",
            "https://acme.vault.azure.net/keys/k?api-version=7.4",
            "https:///keys/k",
            "acme.vault.azure.net/keys/k",
        ] {
            assert!(!is_key_vault_key_url(url), "{url}");
        }
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
