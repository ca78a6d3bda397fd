//! `ringform kubeconfig`: a context per applied Kubernetes cluster, named after the topology's
//! cluster, merged into the user's kubeconfig. EKS contexts use the standard `aws eks get-token`
//! exec plugin (credentials stay with the AWS CLI); AKS contexts carry the admin kubeconfig the
//! provider fetched, as `az aks get-credentials --admin` would. Other contexts are kept.

use ringform_schema::{aws, azure};
use std::path::{Path, PathBuf};

use ringform_core::{Address, Kind, Value};
use ringform_state::Snapshot;
use ringform_topology::Cloud;
use serde_yaml_ng::{Mapping, Value as Yaml};

use crate::Failure;

/// One context: its cluster, user and context entries, all named `name`.
#[derive(Debug, PartialEq)]
pub(crate) struct Context {
    pub name: String,
    pub cluster: Yaml,
    pub user: Yaml,
}

/// The contexts of every applied cluster in topology order, and the clusters not applied yet.
pub(crate) fn contexts(topology: &ringform_topology::Topology, state: &Snapshot) -> (Vec<Context>, Vec<String>) {
    let (mut found, mut missing) = (Vec::new(), Vec::new());
    for cluster in &topology.clusters {
        let name = cluster.name.value.as_str();
        let context = match cluster.provider.value {
            Cloud::Aws => {
                record_outputs(state, aws::EKS_CLUSTER, name).and_then(|(inputs, outputs)| eks(name, inputs, outputs))
            }
            Cloud::Azure => record_outputs(state, azure::AKS_CLUSTER, name).and_then(|(_, outputs)| aks(name, outputs)),
        };
        match context {
            Some(context) => found.push(context),
            None => missing.push(name.to_owned()),
        }
    }
    (found, missing)
}

fn record_outputs<'s>(
    state: &'s Snapshot,
    kind: Kind,
    name: &str,
) -> Option<(&'s ringform_core::Attributes, &'s ringform_core::Attributes)> {
    let record = state.get(&Address::new(kind, name).ok()?)?;
    Some((&record.inputs, &record.outputs))
}

fn text<'a>(attributes: &'a ringform_core::Attributes, key: &str) -> Option<&'a str> {
    attributes.get(key).and_then(Value::as_str)
}

fn eks(name: &str, inputs: &ringform_core::Attributes, outputs: &ringform_core::Attributes) -> Option<Context> {
    let (server, authority) = (text(outputs, "endpoint")?, text(outputs, "certificate_authority")?);
    let (cluster_name, region) = (text(outputs, "cluster_name")?, text(inputs, "region")?);
    let cluster = yaml(&[("server", server.into()), ("certificate-authority-data", authority.into())]);
    let args: Vec<Yaml> = ["--region", region, "eks", "get-token", "--cluster-name", cluster_name, "--output", "json"]
        .map(Yaml::from)
        .into();
    let exec = yaml(&[
        ("apiVersion", "client.authentication.k8s.io/v1beta1".into()),
        ("command", "aws".into()),
        ("args", Yaml::Sequence(args)),
        ("interactiveMode", "Never".into()),
    ]);
    Some(Context { name: name.to_owned(), cluster, user: yaml(&[("exec", exec)]) })
}

/// The first cluster and user of the admin kubeconfig AKS returned.
fn aks(name: &str, outputs: &ringform_core::Attributes) -> Option<Context> {
    let Some(Value::Secret(inner)) = outputs.get("kubeconfig") else { return None };
    let admin: Yaml = serde_yaml_ng::from_str(inner.as_str()?).ok()?;
    let first = |list: &str, entry: &str| admin.get(list)?.as_sequence()?.first()?.get(entry).cloned();
    Some(Context { name: name.to_owned(), cluster: first("clusters", "cluster")?, user: first("users", "user")? })
}

fn yaml(entries: &[(&str, Yaml)]) -> Yaml {
    Yaml::Mapping(entries.iter().map(|(k, v)| (Yaml::from(*k), v.clone())).collect())
}

/// `existing` (a kubeconfig document, or empty) with `contexts` added or replaced by name.
/// `current-context` is set only when there was none. Fails when `existing` is not a YAML
/// mapping, as every kubeconfig is.
pub(crate) fn merge(existing: &str, contexts: &[Context]) -> Result<String, serde_yaml_ng::Error> {
    let mut config: Mapping =
        if existing.trim().is_empty() { Mapping::new() } else { serde_yaml_ng::from_str(existing)? };
    for (key, value) in [("apiVersion", "v1"), ("kind", "Config")] {
        config.entry(key.into()).or_insert(value.into());
    }
    for context in contexts {
        let entry = yaml(&[("cluster", context.name.as_str().into()), ("user", context.name.as_str().into())]);
        for (list, field, value) in [
            ("clusters", "cluster", &context.cluster),
            ("users", "user", &context.user),
            ("contexts", "context", &entry),
        ] {
            let named = yaml(&[("name", context.name.as_str().into()), (field, value.clone())]);
            let slot = config.entry(list.into()).or_insert(Yaml::Sequence(Vec::new()));
            if !slot.is_sequence() {
                *slot = Yaml::Sequence(Vec::new());
            }
            let Yaml::Sequence(items) = slot else { unreachable!("made a sequence above") };
            match items.iter_mut().find(|item| item.get("name").and_then(Yaml::as_str) == Some(&context.name)) {
                Some(item) => *item = named,
                None => items.push(named),
            }
        }
    }
    let current = config.get("current-context").and_then(Yaml::as_str).is_some_and(|c| !c.is_empty());
    if let (false, Some(first)) = (current, contexts.first()) {
        config.insert("current-context".into(), first.name.as_str().into());
    }
    serde_yaml_ng::to_string(&config)
}

/// `--kubeconfig`, else the first file in `KUBECONFIG`, else `~/.kube/config`.
pub(crate) fn target_file(explicit: Option<&Path>) -> Result<PathBuf, Failure> {
    if let Some(path) = explicit {
        return Ok(path.to_owned());
    }
    let first = std::env::var_os("KUBECONFIG").and_then(|list| std::env::split_paths(&list).next());
    if let Some(first) = first.filter(|f| !f.as_os_str().is_empty()) {
        return Ok(first);
    }
    let home =
        std::env::var_os("HOME").ok_or_else(|| Failure::new("HOME is not set").hint("pass --kubeconfig FILE"))?;
    Ok(Path::new(&home).join(".kube").join("config"))
}

/// Writes `text` to `path` atomically, readable by its owner only (it may hold credentials).
pub(crate) fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.as_file().set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(text.as_bytes())?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(name: &str, server: &str) -> Context {
        Context { name: name.into(), cluster: yaml(&[("server", server.into())]), user: yaml(&[("token", "t".into())]) }
    }

    #[test]
    fn merging_adds_new_contexts_replaces_same_named_ones_and_keeps_others() {
        let existing = "apiVersion: v1\nkind: Config\ncurrent-context: mine\nclusters:\n- name: mine\n  cluster:\n    server: https://mine\n- name: eu-west\n  cluster:\n    server: https://old\ncontexts: []\nusers: []\n";
        let merged = merge(existing, &[context("eu-west", "https://new"), context("eu-central", "https://c")]).unwrap();
        let doc: Yaml = serde_yaml_ng::from_str(&merged).unwrap();
        let servers: Vec<(&str, &str)> = doc["clusters"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap(), c["cluster"]["server"].as_str().unwrap()))
            .collect();
        assert_eq!(servers, [("mine", "https://mine"), ("eu-west", "https://new"), ("eu-central", "https://c")]);
        assert_eq!(doc["current-context"].as_str(), Some("mine"), "the user's current context stays");
        assert_eq!(doc["contexts"][1]["context"]["user"].as_str(), Some("eu-central"));
        assert_eq!(doc["users"].as_sequence().unwrap().len(), 2);
    }

    #[test]
    fn a_new_file_gets_the_first_context_as_current() {
        let merged = merge("", &[context("a", "https://a")]).unwrap();
        let doc: Yaml = serde_yaml_ng::from_str(&merged).unwrap();
        assert_eq!((doc["kind"].as_str(), doc["current-context"].as_str()), (Some("Config"), Some("a")));
    }

    #[test]
    fn a_file_that_is_not_yaml_is_refused_not_overwritten() {
        assert!(merge("clusters: [unclosed", &[context("a", "https://a")]).is_err());
    }
}
