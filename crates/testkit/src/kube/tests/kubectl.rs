//! The real kubectl against the fake: `apply --server-side`, `get -o json`, `get -l` and
//! `delete` must work unchanged, with kubectl's default (server-side, strict) validation.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::api::k8ssandra_cluster;
use crate::kube::FakeKube;

const MISSING: &str =
    "kubectl not found: run scripts/test, which installs kubectl into target/kube-tools (or set RINGFORM_KUBECTL)";

/// `RINGFORM_KUBECTL`, else the one `scripts/test` installs in the workspace's `target/`.
fn kubectl_path() -> PathBuf {
    let installed = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/kube-tools/kubectl");
    let path = std::env::var_os("RINGFORM_KUBECTL").map_or_else(|| PathBuf::from(installed), PathBuf::from);
    if path.is_file() { path } else { panic!("{MISSING}") }
}

pub(super) struct Kubectl {
    binary: PathBuf,
    home: tempfile::TempDir,
}

impl Kubectl {
    pub(super) fn new(kube: &FakeKube, clusters: &[&str]) -> Kubectl {
        let home = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(home.path().join("kubeconfig"), kube.kubeconfig(clusters)).expect("the kubeconfig");
        Kubectl { binary: kubectl_path(), home }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.home.path().join(name);
        std::fs::write(&path, text).expect("a manifest");
        path
    }

    /// Runs kubectl; (success, stdout, stderr).
    pub(super) fn run(&self, args: &[&str]) -> (bool, String, String) {
        let home: &Path = self.home.path();
        let output = Command::new(&self.binary)
            .args(args)
            .arg("--cache-dir")
            .arg(home.join("cache"))
            .env("KUBECONFIG", home.join("kubeconfig"))
            .env("HOME", home)
            .output()
            .expect("kubectl runs");
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (output.status.success(), text(&output.stdout), text(&output.stderr))
    }

    #[track_caller]
    pub(super) fn ok(&self, args: &[&str]) -> String {
        let (success, stdout, stderr) = self.run(args);
        assert!(success, "kubectl {args:?} failed: {stderr}");
        stdout
    }
}

const MANIFESTS: &str = "apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: demo
  labels:
    app: \"x\"
data:
  key: value
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: other
  namespace: demo
  labels:
    app: \"y\"
";

#[test]
fn kubectl_applies_gets_selects_and_deletes() {
    let kube = FakeKube::start_for_test();
    let kubectl = Kubectl::new(&kube, &["east", "west"]);
    let manifests = kubectl.write("manifests.yaml", MANIFESTS);
    let applied = kubectl.ok(&["apply", "--server-side", "-f", manifests.to_str().expect("UTF-8")]);
    assert!(applied.contains("configmap/settings serverside-applied"), "{applied}");
    let stored =
        kube.get("east", ("v1", "ConfigMap", Some("demo"), "settings")).expect("applied to the current context");
    assert_eq!(stored["metadata"]["managedFields"][0]["manager"], "kubectl");
    assert!(kube.get("west", ("v1", "Namespace", None, "demo")).is_none());

    let json: Value =
        serde_json::from_str(&kubectl.ok(&["get", "configmap", "settings", "-n", "demo", "-o", "json"])).expect("JSON");
    assert_eq!(json["data"]["key"], "value");
    let selected = kubectl.ok(&["get", "configmaps", "-n", "demo", "-l", "app=x", "-o", "name"]);
    assert_eq!(selected.trim(), "configmap/settings");
    let table = kubectl.ok(&["get", "configmaps", "-n", "demo", "-l", "app in (x,y)"]);
    assert!(table.contains("settings") && table.contains("other") && table.starts_with("NAME"), "{table}");

    // A CRD, then a custom resource of its type: valid, then with a typo kubectl's strict
    // validation (done by the server) refuses.
    let crd = serde_json::to_string(&super::api::crd()).expect("JSON");
    kubectl.ok(&["apply", "--server-side", "-f", kubectl.write("crd.json", &crd).to_str().expect("UTF-8")]);
    let resource = serde_json::to_string(&k8ssandra_cluster("serverVersion")).expect("JSON");
    let created =
        kubectl.ok(&["apply", "--server-side", "-f", kubectl.write("k8c.json", &resource).to_str().expect("UTF-8")]);
    assert!(created.contains("k8ssandracluster.k8ssandra.io/demo serverside-applied"), "{created}");
    let typo = serde_json::to_string(&k8ssandra_cluster("serverVerison")).expect("JSON");
    let (success, _, stderr) =
        kubectl.run(&["apply", "--server-side", "-f", kubectl.write("typo.json", &typo).to_str().expect("UTF-8")]);
    assert!(!success && stderr.contains("spec.cassandra.serverVerison: field not declared in schema"), "{stderr}");
    let listed = kubectl.ok(&["get", "k8c", "-A", "-o", "name"]);
    assert_eq!(listed.trim(), "k8ssandracluster.k8ssandra.io/demo");

    let deleted = kubectl.ok(&["delete", "configmap", "settings", "-n", "demo"]);
    assert!(deleted.contains("configmap \"settings\" deleted"), "{deleted}");
    assert!(kube.get("east", ("v1", "ConfigMap", Some("demo"), "settings")).is_none());
    kubectl.ok(&["delete", "namespace", "demo"]);
    let (success, _, stderr) = kubectl.run(&["get", "namespace", "demo"]);
    assert!(!success && stderr.contains("namespaces \"demo\" not found"), "{stderr}");
    // The other context is another cluster on the same server.
    let west = kubectl.ok(&["--context", "west", "get", "configmap", "coredns", "-n", "kube-system", "-o", "json"]);
    assert!(west.contains("Corefile"));
}
