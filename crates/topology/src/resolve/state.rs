//! The `[state]` table: the backend and where it keeps state, each location checked against its
//! store's naming rules, keys of the other backends refused, and the encryption setting.

use super::fields::*;
use crate::diagnostic::Diagnostic;
use crate::model::*;
use crate::patterns::*;
use crate::raw::*;

/// How one string key of `[state]` is written and what its value must look like.
struct Rule {
    key: &'static str,
    example: &'static str,
    ok: fn(&str) -> bool,
    problem: &'static str,
    hint: &'static str,
}

impl Rule {
    /// The value, required when `table` is given; one that breaks the rule is reported and kept
    /// (nothing is built from a topology with problems).
    fn read(&self, d: &mut Vec<Diagnostic>, field: Field<String>, table: Option<&Span>) -> Option<Spanned<String>> {
        let value = match table {
            Some(table) => required(d, field, self.key, table, self.example),
            None => optional(d, field, self.key, self.example),
        };
        check(d, value.as_ref(), self.ok, self.key, self.problem, self.hint);
        value
    }
}

const PATH_HINT: &str =
    "use a relative path such as \"prod/multi-region\": not empty, no leading `/`, no `..` segment, at most 1024 bytes";

const BUCKET: Rule = Rule {
    key: "state.bucket",
    example: "bucket = \"acme-ringform-state\"",
    ok: is_s3_bucket,
    problem: "is not a valid S3 bucket name",
    hint: "use 3 to 63 lower-case letters, digits, `.` and `-`, starting and ending with a letter or digit",
};
const REGION: Rule = Rule {
    key: "state.region",
    example: "region = \"eu-west-1\"",
    ok: is_aws_region,
    problem: "is not an AWS region",
    hint: "write the bucket's AWS region, e.g. \"eu-west-1\"",
};
const KEY: Rule = Rule {
    key: "state.key",
    example: "key = \"prod/multi-region\"",
    ok: is_object_path,
    problem: "is not a usable S3 key",
    hint: PATH_HINT,
};
const STORAGE_ACCOUNT: Rule = Rule {
    key: "state.storage_account",
    example: "storage_account = \"acmeringform\"",
    ok: is_storage_account,
    problem: "is not a valid storage account name",
    hint: "use 3 to 24 lower-case letters and digits",
};
const CONTAINER: Rule = Rule {
    key: "state.container",
    example: "container = \"ringform-state\"",
    ok: is_blob_container,
    problem: "is not a valid container name",
    hint: "use 3 to 63 lower-case letters, digits and `-`, starting and ending with a letter or digit, no `--`",
};
const BLOB: Rule = Rule {
    key: "state.blob",
    example: "blob = \"prod/multi-region\"",
    ok: is_object_path,
    problem: "is not a usable blob name",
    hint: PATH_HINT,
};

const KEY_ENV: Rule = Rule {
    key: "state.encryption.key_env",
    example: "key_env = \"RINGFORM_STATE_KEY\"",
    ok: is_env_var,
    problem: "is not an environment variable name",
    hint: "use letters, digits and `_`, not starting with a digit, e.g. \"RINGFORM_STATE_KEY\"",
};
const AWS_KMS_KEY: Rule = Rule {
    key: "state.encryption.aws_kms_key",
    example: "aws_kms_key = \"alias/ringform-state\"",
    ok: |key| !key.is_empty(),
    problem: "is empty",
    hint: "write the KMS key's id, key ARN, alias name (e.g. \"alias/ringform-state\") or alias ARN",
};
const AZURE_KEY_VAULT_KEY: Rule = Rule {
    key: "state.encryption.azure_key_vault_key",
    example: "azure_key_vault_key = \"https://acme.vault.azure.net/keys/ringform-state\"",
    ok: is_key_vault_key_url,
    problem: "is not a Key Vault key URL",
    hint: "write it as https://<vault>.vault.azure.net/keys/<name>, optionally followed by /<version>",
};

/// The three ways to name the key, for hints.
const KEY_TABLES: &str = "{ key_env = \"RINGFORM_STATE_KEY\" }, { aws_kms_key = \"alias/ringform-state\" } or \
     { azure_key_vault_key = \"https://<vault>.vault.azure.net/keys/<name>\" }";

/// `None` when something in `[state]` is missing or invalid (reported), or the deployment name
/// a location defaults to is.
pub(super) fn resolve_state(
    d: &mut Vec<Diagnostic>,
    field: Field<RawState>,
    deployment: Option<&Spanned<String>>,
) -> Option<StateSettings> {
    let table = optional(d, field, "state", "a [state] table with backend = \"s3\"");
    let span = table.as_ref().map_or(0..0, |t| t.span.clone());
    let raw = table.map(|t| t.value).unwrap_or_default();
    let backend = with_default(d, raw.backend, "state.backend", "backend = \"s3\"", &span, RawStateBackend::Local);
    if let Some(chosen) = backend.as_ref().map(|b| b.value) {
        let owned = [
            (RawStateBackend::S3, &BUCKET, raw.bucket.span()),
            (RawStateBackend::S3, &REGION, raw.region.span()),
            (RawStateBackend::S3, &KEY, raw.key.span()),
            (RawStateBackend::AzureBlob, &STORAGE_ACCOUNT, raw.storage_account.span()),
            (RawStateBackend::AzureBlob, &CONTAINER, raw.container.span()),
            (RawStateBackend::AzureBlob, &BLOB, raw.blob.span()),
        ];
        for (owner, rule, at) in owned {
            if let Some(at) = at.filter(|_| owner != chosen) {
                let (name, owner) = (leaf(rule.key), owner.as_str());
                let message = format!("`{name}` is for backend = \"{owner}\", not \"{}\"", chosen.as_str());
                d.push(
                    Diagnostic::new(at, rule.key, message)
                        .hint(format!("set backend = \"{owner}\", or remove `{name}`")),
                );
            }
        }
    }
    let encryption = resolve_encryption(d, raw.encryption);

    let backend = backend?;
    // An S3 key or blob name not written is the deployment's name.
    let path = |given: Option<Spanned<String>>| given.map(|g| g.value).or_else(|| deployment.map(|n| n.value.clone()));
    let location = match backend.value {
        RawStateBackend::Local => StateBackend::Local,
        RawStateBackend::S3 => {
            let bucket = BUCKET.read(d, raw.bucket, Some(&span));
            let region = REGION.read(d, raw.region, Some(&span));
            let key = KEY.read(d, raw.key, None);
            StateBackend::S3 { bucket: bucket?.value, region: region?.value, key: path(key)? }
        }
        RawStateBackend::AzureBlob => {
            let storage_account = STORAGE_ACCOUNT.read(d, raw.storage_account, Some(&span));
            let container = CONTAINER.read(d, raw.container, Some(&span));
            let blob = BLOB.read(d, raw.blob, None);
            StateBackend::AzureBlob {
                storage_account: storage_account?.value,
                container: container?.value,
                blob: path(blob)?,
            }
        }
    };
    Some(StateSettings { backend: Spanned::new(location, backend.span), encryption: encryption.ok()? })
}

/// `"none"`, or a table naming exactly one key; `Err` when invalid (reported).
fn resolve_encryption(d: &mut Vec<Diagnostic>, field: Field<RawEncryption>) -> Result<Option<Spanned<Encryption>>, ()> {
    let example = "encryption = { key_env = \"RINGFORM_STATE_KEY\" }";
    let Some(Spanned { value, span }) = read(d, field, "state.encryption", example)? else { return Ok(None) };
    let key = match value {
        RawEncryption::Text(text) if text == "none" => return Ok(Some(Spanned::new(Encryption::None, span))),
        RawEncryption::Text(text) => {
            d.push(
                Diagnostic::new(
                    span,
                    "state.encryption",
                    format!("encryption = \"{text}\" is neither \"none\" nor a key"),
                )
                .hint(format!("write encryption = \"none\" to keep state unencrypted, or name a key: {KEY_TABLES}")),
            );
            return Err(());
        }
        RawEncryption::Key(key) => key,
    };
    let keys = [
        (&KEY_ENV, key.key_env, Encryption::KeyEnv as fn(String) -> Encryption),
        (&AWS_KMS_KEY, key.aws_kms_key, Encryption::AwsKms),
        (&AZURE_KEY_VAULT_KEY, key.azure_key_vault_key, Encryption::AzureKeyVault),
    ];
    let mut given = keys.into_iter().filter(|(_, field, _)| field.span().is_some());
    let Some((rule, field, encryption)) = given.next() else {
        d.push(
            Diagnostic::new(span, "state.encryption", "encryption names no key")
                .hint(format!("name one key: {KEY_TABLES}")),
        );
        return Err(());
    };
    if let Some((other, other_field, _)) = given.next() {
        let (first, second) = (leaf(rule.key), leaf(other.key));
        d.push(
            Diagnostic::new(
                other_field.span().unwrap_or(span),
                other.key,
                format!("encryption names two keys, `{first}` and `{second}`"),
            )
            .hint("keep one of them: state is encrypted under one key"),
        );
        return Err(());
    }
    let value = rule.read(d, field, None).ok_or(())?;
    Ok(Some(Spanned::new(encryption(value.value), value.span)))
}
