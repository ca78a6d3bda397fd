use std::collections::BTreeSet;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::*;

const ALL: [&Manifest; 3] = [&CERT_MANAGER, &K8SSANDRA_OPERATOR, &CASS_OPERATOR];
const PROVENANCE: &str = include_str!("../../manifests/PROVENANCE.md");

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `kind/name` of every object of `objects`.
fn names(objects: &[Value]) -> BTreeSet<String> {
    objects
        .iter()
        .map(|o| format!("{}/{}", o["kind"].as_str().unwrap(), o["metadata"]["name"].as_str().unwrap()))
        .collect()
}

fn missing(objects: &[Value], expected: &[&str]) -> Vec<String> {
    let names = names(objects);
    expected.iter().filter(|e| !names.contains(**e)).map(|e| (*e).to_owned()).collect()
}

#[test]
fn embedded_files_are_the_rendered_ones() {
    for manifest in ALL {
        let digest = hex(&Sha256::digest(manifest.yaml.as_bytes()));
        assert_eq!(digest, manifest.sha256, "{}", manifest.name);
        assert!(PROVENANCE.contains(&digest), "PROVENANCE.md records {}'s checksum", manifest.name);
        assert!(
            manifest.yaml.contains(&format!(":{}", manifest.version)),
            "{} images are tagged {}",
            manifest.name,
            manifest.version
        );
    }
}

#[test]
fn every_object_parses_and_has_a_kind_and_name() {
    for manifest in ALL {
        let objects = manifest.objects().unwrap();
        assert!(objects.len() >= 20, "{}: {} objects", manifest.name, objects.len());
        for object in &objects {
            assert!(object["apiVersion"].is_string() && object["kind"].is_string(), "{}: {object}", manifest.name);
            assert!(object["metadata"]["name"].is_string(), "{}: {object}", manifest.name);
        }
    }
}

#[test]
fn cert_manager_has_all_its_pieces() {
    let objects = CERT_MANAGER.objects().unwrap();
    let expected = [
        "Namespace/cert-manager",
        "CustomResourceDefinition/certificates.cert-manager.io",
        "CustomResourceDefinition/certificaterequests.cert-manager.io",
        "CustomResourceDefinition/issuers.cert-manager.io",
        "CustomResourceDefinition/clusterissuers.cert-manager.io",
        "CustomResourceDefinition/orders.acme.cert-manager.io",
        "CustomResourceDefinition/challenges.acme.cert-manager.io",
        "ServiceAccount/cert-manager",
        "ServiceAccount/cert-manager-cainjector",
        "ServiceAccount/cert-manager-webhook",
        "ClusterRole/cert-manager-controller-certificates",
        "ClusterRoleBinding/cert-manager-controller-certificates",
        "Service/cert-manager-webhook",
        "Deployment/cert-manager",
        "Deployment/cert-manager-cainjector",
        "Deployment/cert-manager-webhook",
        "MutatingWebhookConfiguration/cert-manager-webhook",
        "ValidatingWebhookConfiguration/cert-manager-webhook",
    ];
    assert_eq!(missing(&objects, &expected), Vec::<String>::new());
}

#[test]
fn the_operators_have_all_their_pieces_and_watch_every_namespace() {
    let k8ssandra = [
        "Namespace/k8ssandra-operator",
        "CustomResourceDefinition/k8ssandraclusters.k8ssandra.io",
        "CustomResourceDefinition/clientconfigs.config.k8ssandra.io",
        "CustomResourceDefinition/cassandradatacenters.cassandra.datastax.com",
        "ServiceAccount/k8ssandra-operator",
        "ClusterRole/k8ssandra-operator",
        "ClusterRole/cass-operator-manager-crrole",
        "Deployment/k8ssandra-operator",
        "Deployment/cass-operator-controller-manager",
        "Issuer/k8ssandra-operator-selfsigned-issuer",
        "Issuer/cass-operator-selfsigned-issuer",
        "Certificate/k8ssandra-operator-serving-cert",
        "Certificate/cass-operator-serving-cert",
        "MutatingWebhookConfiguration/k8ssandra-operator-mutating-webhook-configuration",
        "ValidatingWebhookConfiguration/k8ssandra-operator-validating-webhook-configuration",
        "ValidatingWebhookConfiguration/cass-operator-validating-webhook-configuration",
        "Service/k8ssandra-operator-webhook-service",
    ];
    let cass = [
        "Namespace/cass-operator",
        "CustomResourceDefinition/cassandradatacenters.cassandra.datastax.com",
        "ClusterRole/cass-operator-manager-crrole",
        "Deployment/cass-operator-controller-manager",
        "Issuer/cass-operator-selfsigned-issuer",
        "Certificate/cass-operator-serving-cert",
        "ValidatingWebhookConfiguration/cass-operator-validating-webhook-configuration",
        "Service/cass-operator-webhook-service",
    ];
    for (manifest, expected) in [(&K8SSANDRA_OPERATOR, &k8ssandra[..]), (&CASS_OPERATOR, &cass[..])] {
        let objects = manifest.objects().unwrap();
        assert_eq!(missing(&objects, expected), Vec::<String>::new(), "{}", manifest.name);
        // Cluster-scoped: every operator watches all namespaces (an empty WATCH_NAMESPACE), or
        // datacenters outside the operator's namespace would never be reconciled.
        let watched: Vec<&Value> = objects
            .iter()
            .filter(|o| o["kind"] == "Deployment")
            .flat_map(|o| o["spec"]["template"]["spec"]["containers"].as_array().unwrap())
            .flat_map(|c| c["env"].as_array().into_iter().flatten())
            .filter(|e| e["name"] == "WATCH_NAMESPACE")
            .map(|e| &e["value"])
            .collect();
        assert!(!watched.is_empty() && watched.iter().all(|v| *v == ""), "{}: {watched:?}", manifest.name);
        let stray: Vec<String> = objects
            .iter()
            .filter_map(|o| o["metadata"]["namespace"].as_str())
            .filter(|ns| *ns != manifest.namespace)
            .map(str::to_owned)
            .collect();
        assert_eq!(stray, Vec::<String>::new(), "{}", manifest.name);
    }
}

#[test]
fn control_and_data_planes_are_the_upstream_renders() {
    let control = include_str!("../../manifests/k8ssandra-operator-v1.32.5-control-plane.yaml");
    let control = Manifest { yaml: control, ..K8SSANDRA_OPERATOR };
    assert_eq!(k8ssandra_operator(true).unwrap(), control.objects().unwrap());
    assert_eq!(k8ssandra_operator(false).unwrap(), K8SSANDRA_OPERATOR.objects().unwrap());
}

/// The CRD schemas in the repository's fixtures (what tests validate ringform's objects
/// against) are the ones the embedded operators install.
#[test]
fn the_fixture_schemas_are_the_installed_crds() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/crds");
    let schema = |manifest: &Manifest, crd: &str| {
        let objects = manifest.objects().unwrap();
        let crd = objects
            .into_iter()
            .find(|o| o["kind"] == "CustomResourceDefinition" && o["metadata"]["name"] == crd)
            .unwrap_or_else(|| panic!("{} installs {crd}", manifest.name));
        crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
    };
    let fixture = |file: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(format!("{fixtures}/{file}")).unwrap()).unwrap()
    };
    assert_eq!(schema(&K8SSANDRA_OPERATOR, "k8ssandraclusters.k8ssandra.io"), fixture("k8ssandracluster.schema.json"));
    assert_eq!(schema(&K8SSANDRA_OPERATOR, "clientconfigs.config.k8ssandra.io"), fixture("clientconfig.schema.json"));
    assert_eq!(
        schema(&CASS_OPERATOR, "cassandradatacenters.cassandra.datastax.com"),
        fixture("cassandradatacenter.schema.json")
    );
}
