//! Clusters, discovery, the verbs, server-side apply, CRDs, inspection and faults.

use serde_json::{Value, json};

use super::{apply, call, raw};
use crate::kube::{AKS_COREFILE, EKS_COREFILE, FakeKube, FakeKubeOptions, Fault, Flavor};

const CM: &str = "/east/api/v1/namespaces/default/configmaps";

fn configmap(name: &str, data: Value) -> Value {
    json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": name, "namespace": "default" }, "data": data })
}

fn names(list: &Value) -> Vec<&str> {
    list["items"].as_array().expect("items").iter().map(|i| i["metadata"]["name"].as_str().expect("a name")).collect()
}

#[test]
fn a_cluster_springs_into_existence_with_what_eks_starts_with() {
    let kube = FakeKube::start_for_test();
    let namespaces = call(&kube, "GET", "/east/api/v1/namespaces", None).ok();
    assert_eq!(names(&namespaces), ["default", "kube-public", "kube-system"]);
    assert_eq!(namespaces["kind"], "NamespaceList");
    let coredns = call(&kube, "GET", "/east/api/v1/namespaces/kube-system/configmaps/coredns", None).ok();
    assert_eq!(coredns["data"]["Corefile"], EKS_COREFILE);
    assert!(EKS_COREFILE.contains("forward . /etc/resolv.conf"));
    let dns = call(&kube, "GET", "/east/api/v1/namespaces/kube-system/services/kube-dns", None).ok();
    assert_eq!(dns["spec"]["clusterIP"], "10.100.0.10");
    // Each cluster is its own: a write to one is not seen in the other.
    call(&kube, "POST", CM, Some(&configmap("only-east", json!({})))).expect(201, "");
    assert!(call(&kube, "GET", "/west/api/v1/namespaces/default/configmaps/only-east", None).status == 404);
    assert_eq!(kube.clusters(), ["east", "west"]);
    kube.add_cluster("north").expect("a valid name");
    assert!(kube.add_cluster("North_1").is_err());
    assert_eq!(kube.objects("north").len(), 9);
    // EKS ships no gp3 class; AKS ships its disk classes and the CoreDNS ConfigMap it imports.
    let classes = call(&kube, "GET", "/north/apis/storage.k8s.io/v1/storageclasses", None).ok();
    assert_eq!(names(&classes), ["gp2"]);
    kube.add_cluster_of("azure", Flavor::Aks).expect("a valid name");
    let classes = call(&kube, "GET", "/azure/apis/storage.k8s.io/v1/storageclasses", None).ok();
    assert_eq!(
        names(&classes),
        ["azurefile-csi", "azurefile-csi-premium", "default", "managed-csi", "managed-csi-premium"]
    );
    let coredns = call(&kube, "GET", "/azure/api/v1/namespaces/kube-system/configmaps/coredns", None).ok();
    assert_eq!(coredns["data"]["Corefile"], AKS_COREFILE);
    call(&kube, "GET", "/azure/api/v1/namespaces/kube-system/configmaps/coredns-custom", None).ok();
    let dns = call(&kube, "GET", "/azure/api/v1/namespaces/kube-system/services/kube-dns", None).ok();
    assert_eq!(dns["spec"]["clusterIP"], "10.0.0.10");
}

#[test]
fn every_request_needs_the_bearer_token() {
    let kube = FakeKube::start(FakeKubeOptions { token: Some("secret".into()), ..FakeKubeOptions::default() })
        .expect("a server");
    assert_eq!(kube.token(), "secret");
    raw(&kube, "GET", "/east/api", "application/json", b"", None).expect(401, "Unauthorized");
    raw(&kube, "GET", "/east/api", "application/json", b"", Some("wrong")).expect(401, "Unauthorized");
    raw(&kube, "GET", "/__objects", "application/json", b"", None).expect(401, "Unauthorized");
    assert!(kube.clusters().is_empty(), "refused requests create no cluster");
}

#[test]
fn discovery_describes_every_served_type() {
    let kube = FakeKube::start_for_test();
    let core = call(&kube, "GET", "/east/api", None).ok();
    assert_eq!(core["versions"], json!(["v1"]));
    let groups = call(&kube, "GET", "/east/apis", None).ok();
    let group_names: Vec<&str> =
        groups["groups"].as_array().expect("groups").iter().filter_map(|g| g["name"].as_str()).collect();
    for group in [
        "apps",
        "rbac.authorization.k8s.io",
        "admissionregistration.k8s.io",
        "storage.k8s.io",
        "apiextensions.k8s.io",
        "coordination.k8s.io",
        "policy",
    ] {
        assert!(group_names.contains(&group), "{group} missing from {group_names:?}");
    }
    let apps = call(&kube, "GET", "/east/apis/apps/v1", None).ok();
    let deployments = apps["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["name"] == "deployments")
        .expect("deployments");
    assert_eq!((deployments["kind"].as_str(), deployments["namespaced"].as_bool()), (Some("Deployment"), Some(true)));
    assert!(deployments["verbs"].as_array().expect("verbs").contains(&json!("watch")));
    assert_eq!(deployments["shortNames"], json!(["deploy"]));
    assert!(apps["resources"].as_array().expect("resources").iter().any(|r| r["name"] == "deployments/status"));
    let core_v1 = call(&kube, "GET", "/east/api/v1", None).ok();
    let namespaces = core_v1["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["name"] == "namespaces")
        .expect("namespaces");
    assert_eq!(namespaces["namespaced"], false);
    assert_eq!(call(&kube, "GET", "/east/version", None).ok()["minor"], "33");
    call(&kube, "GET", "/east/apis/nothing.example.com/v1", None).expect(404, "NotFound");
    call(&kube, "GET", "/east/apis/apps/v1/widgets", None).expect(404, "NotFound");
    let openapi = call(&kube, "GET", "/east/openapi/v3", None).ok();
    let url = openapi["paths"]["apis/apps/v1"]["serverRelativeURL"].as_str().expect("a URL");
    let document = call(&kube, "GET", &format!("/east{url}"), None).ok();
    let patch = &document["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
    assert_eq!(patch["x-kubernetes-group-version-kind"]["kind"], "Deployment");
}

#[test]
fn create_get_replace_and_their_errors() {
    let kube = FakeKube::start_for_test();
    let created = call(&kube, "POST", CM, Some(&configmap("a", json!({ "k": "1" })))).expect(201, "").body;
    let metadata = &created["metadata"];
    assert!(metadata["uid"].is_string() && metadata["creationTimestamp"].is_string());
    assert_eq!(metadata["generation"], 1);
    call(&kube, "POST", CM, Some(&configmap("a", json!({})))).expect(409, "AlreadyExists");
    let got = call(&kube, "GET", &format!("{CM}/a"), None).ok();
    assert_eq!(got, created);
    call(&kube, "GET", &format!("{CM}/missing"), None).expect(404, "NotFound");

    let mut stale = got.clone();
    stale["data"]["k"] = "2".into();
    let replaced = call(&kube, "PUT", &format!("{CM}/a"), Some(&stale)).expect(200, "").body;
    assert_eq!(replaced["data"]["k"], "2");
    assert_eq!(replaced["metadata"]["generation"], 2);
    assert!(replaced["metadata"]["resourceVersion"] != got["metadata"]["resourceVersion"]);
    let conflict = call(&kube, "PUT", &format!("{CM}/a"), Some(&stale)).expect(409, "Conflict");
    assert!(conflict.body["message"].as_str().expect("a message").contains("the object has been modified"));
    call(&kube, "PUT", &format!("{CM}/b"), Some(&configmap("b", json!({})))).expect(404, "NotFound");
    call(&kube, "PUT", &format!("{CM}/a"), Some(&configmap("b", json!({})))).expect(400, "BadRequest");

    let nowhere = "/east/api/v1/namespaces/nowhere/configmaps";
    let mut elsewhere = configmap("a", json!({}));
    call(&kube, "POST", nowhere, Some(&elsewhere)).expect(400, "BadRequest");
    elsewhere["metadata"]["namespace"] = "nowhere".into();
    call(&kube, "POST", nowhere, Some(&elsewhere)).expect(404, "NotFound");
    let mut secret = configmap("s", json!({}));
    secret["kind"] = "Secret".into();
    call(&kube, "POST", CM, Some(&secret)).expect(400, "BadRequest");
    let unnamed = json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "generateName": "gen-" } });
    let generated = call(&kube, "POST", CM, Some(&unnamed)).expect(201, "").body;
    assert!(generated["metadata"]["name"].as_str().expect("a name").starts_with("gen-"));
    call(&kube, "POST", CM, Some(&json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": {} })))
        .expect(422, "Invalid");
}

#[test]
fn garbage_gets_a_400_status_and_the_server_carries_on() {
    let kube = FakeKube::start_for_test();
    let token = kube.token();
    raw(&kube, "POST", CM, "application/json", b"{not json", Some(&token)).expect(400, "BadRequest");
    raw(&kube, "POST", CM, "application/json", b"[1, 2]", Some(&token)).expect(400, "BadRequest");
    let target = format!("{CM}/a?fieldManager=m");
    raw(&kube, "PATCH", &target, "application/apply-patch+yaml", b"a: [b\n  c: }", Some(&token))
        .expect(400, "BadRequest");
    raw(&kube, "PATCH", &target, "text/plain", b"[]", Some(&token)).expect(415, "UnsupportedMediaType");
    call(&kube, "POST", CM, Some(&configmap("a", json!({})))).expect(201, "");
    let json_patch =
        |body: &[u8]| raw(&kube, "PATCH", &format!("{CM}/a"), "application/json-patch+json", body, Some(&token));
    json_patch(b"{}").expect(422, "Invalid");
    json_patch(br#"[{"op": "add", "path": "", "value": 3}]"#).expect(400, "BadRequest");
    json_patch(br#"[{"op": "test", "path": "/data", "value": 1}]"#).expect(422, "Invalid");
    raw(&kube, "POST", CM, "application/vnd.kubernetes.protobuf", b"k8s\0", Some(&token))
        .expect(415, "UnsupportedMediaType");
    call(&kube, "GET", &format!("{CM}?labelSelector=a%20in%20b"), None).expect(400, "BadRequest");
    call(&kube, "GET", &format!("{CM}?fieldSelector=spec.x%3D1"), None).expect(400, "BadRequest");
    call(&kube, "DELETE", CM, None).expect(405, "MethodNotAllowed");
    call(&kube, "GET", "/east/api/v1/namespaces/default/namespaces/x", None).expect(404, "NotFound");
    call(&kube, "GET", "/east/api/v1/configmaps/x", None).expect(404, "NotFound");
    call(&kube, "GET", "/east/api", None).ok();
}

#[test]
fn misshapen_objects_are_refused_not_choked_on() {
    let kube = FakeKube::start_for_test();
    let namespaces = "/east/api/v1/namespaces";
    let crds = "/east/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    let cases = [
        (CM, json!({ "metadata": "x" })),
        (CM, json!({ "metadata": { "name": "a", "labels": "x" } })),
        (CM, json!({ "metadata": { "name": "a", "labels": { "n": 1 } } })),
        (CM, json!({ "metadata": { "name": "a", "finalizers": "x" } })),
        (CM, json!({ "metadata": { "name": ["a"] } })),
        (namespaces, json!({ "metadata": { "name": "n" }, "spec": "x" })),
        (namespaces, json!({ "metadata": { "name": "n" }, "status": [] })),
        (crds, json!({ "metadata": { "name": "a.b" }, "spec": { "names": [], "versions": {} } })),
        (
            crds,
            json!({ "metadata": { "name": "xs.b" }, "spec": { "group": "b", "names": { "plural": "xs", "kind": "X" }, "scope": "Cluster", "versions": [{ "name": 1, "storage": true, "schema": { "openAPIV3Schema": "x" } }] } }),
        ),
    ];
    for (path, body) in cases {
        let answer = call(&kube, "POST", path, Some(&body));
        assert!(
            (400..500).contains(&answer.status) || answer.status == 201,
            "{body} → {} {}",
            answer.status,
            answer.body
        );
    }
    call(&kube, "GET", CM, None).ok();
}

#[test]
fn lists_filter_by_label_and_field_selectors() {
    let kube = FakeKube::start_for_test();
    for (name, labels) in [("a", json!({ "app": "x", "tier": "db" })), ("b", json!({ "app": "y" })), ("c", json!({}))] {
        let mut object = configmap(name, json!({}));
        object["metadata"]["labels"] = labels;
        call(&kube, "POST", CM, Some(&object)).expect(201, "");
    }
    let list = |query: &str| {
        let list = call(&kube, "GET", &format!("{CM}?{query}"), None).ok();
        assert_eq!(list["kind"], "ConfigMapList");
        assert!(list["metadata"]["resourceVersion"].as_str().is_some_and(|rv| !rv.is_empty()));
        names(&list).into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    assert_eq!(list("labelSelector=app%3Dx"), ["a"]);
    assert_eq!(list("labelSelector=app%20in%20(x,y)"), ["a", "b"]);
    assert_eq!(list("labelSelector=app%20notin%20(x)"), ["b", "c"]);
    assert_eq!(list("labelSelector=!app"), ["c"]);
    assert_eq!(list("labelSelector=app,tier!%3Ddb"), ["b"]);
    assert_eq!(list("fieldSelector=metadata.name%3Db&limit=500"), ["b"]);
    let everywhere =
        call(&kube, "GET", "/east/api/v1/configmaps?fieldSelector=metadata.namespace%3Dkube-system", None).ok();
    assert_eq!(names(&everywhere), ["coredns"]);
}

#[test]
fn server_side_apply_tracks_who_owns_which_field() {
    let kube = FakeKube::start_for_test();
    let target = format!("{CM}/settings");
    let mut mine = configmap("settings", json!({ "shared": "1", "mine": "a" }));
    mine["metadata"]["labels"] = json!({ "app": "x" });
    let created = apply(&kube, &target, "ringform", "", &mine).expect(201, "").body;
    let managed = &created["metadata"]["managedFields"][0];
    assert_eq!((managed["manager"].as_str(), managed["operation"].as_str()), (Some("ringform"), Some("Apply")));
    assert_eq!(managed["fieldsV1"]["f:data"]["f:mine"], json!({}));

    // Another manager may set a field to the same value (shared), not to another one.
    let theirs = configmap("settings", json!({ "shared": "1", "theirs": "b" }));
    apply(&kube, &target, "other", "", &theirs).expect(200, "");
    let clash = configmap("settings", json!({ "mine": "changed" }));
    let conflict = apply(&kube, &target, "other", "", &clash).expect(409, "Conflict");
    assert!(conflict.body["message"].as_str().expect("a message").contains("conflict with \"ringform\": .data.mine"));
    assert_eq!(conflict.body["details"]["causes"][0]["field"], ".data.mine");
    // Forced, the field moves to the new manager.
    apply(&kube, &target, "other", "&force=true", &clash).expect(200, "");
    let now = call(&kube, "GET", &target, None).ok();
    assert_eq!(now["data"], json!({ "shared": "1", "mine": "changed" }), "other's `theirs` went: it left it out");

    // What ringform applied before and leaves out goes, unless someone else owns it.
    let fewer = configmap("settings", json!({ "shared": "1" }));
    apply(&kube, &target, "ringform", "", &fewer).expect(200, "");
    let now = call(&kube, "GET", &target, None).ok();
    assert_eq!(now["data"], json!({ "shared": "1", "mine": "changed" }));
    assert!(now["metadata"].get("labels").is_none_or(|l| l.get("app").is_none()), "the label went: {now}");
    let only_other = configmap("settings", json!({}));
    apply(&kube, &target, "other", "", &only_other).expect(200, "");
    assert_eq!(
        call(&kube, "GET", &target, None).ok()["data"],
        json!({ "shared": "1" }),
        "ringform still owns `shared`"
    );

    // YAML bodies, dry runs, and the field manager that apply needs.
    let yaml = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  shared: \"1\"\n  added: yes-from-yaml\n";
    let token = kube.token();
    raw(
        &kube,
        "PATCH",
        &format!("{target}?fieldManager=ringform&dryRun=All"),
        "application/apply-patch+yaml",
        yaml,
        Some(&token),
    )
    .expect(200, "");
    assert!(call(&kube, "GET", &target, None).ok()["data"].get("added").is_none(), "a dry run stores nothing");
    raw(&kube, "PATCH", &format!("{target}?fieldManager=ringform"), "application/apply-patch+yaml", yaml, Some(&token))
        .expect(200, "");
    assert_eq!(call(&kube, "GET", &target, None).ok()["data"]["added"], "yes-from-yaml");
    raw(&kube, "PATCH", &target, "application/apply-patch+yaml", yaml, Some(&token)).expect(422, "Invalid");
}

#[test]
fn merge_patches_and_the_status_subresource() {
    let kube = FakeKube::start_for_test();
    let target = "/east/apis/apps/v1/namespaces/default/deployments/web";
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": { "name": "web" },
        "spec": { "replicas": 1, "template": { "spec": { "containers": [{ "name": "web", "image": "nginx" }] } } },
        "status": { "readyReplicas": 7 }
    });
    let created = apply(&kube, target, "ringform", "", &deployment).expect(201, "").body;
    assert!(created.get("status").is_none(), "status is written through /status only: {created}");
    let status = json!({ "apiVersion": "apps/v1", "kind": "Deployment", "metadata": { "name": "web" }, "status": { "availableReplicas": 1 } });
    let with_status = apply(&kube, &format!("{target}/status"), "controller", "", &status).expect(200, "").body;
    assert_eq!(with_status["status"]["availableReplicas"], 1);
    assert_eq!(with_status["metadata"]["generation"], 1, "status changes leave the generation");

    let token = kube.token();
    let patch = br#"{"spec": {"replicas": 3}, "metadata": {"labels": {"a": "b"}}}"#;
    let patched = raw(&kube, "PATCH", target, "application/merge-patch+json", patch, Some(&token)).expect(200, "").body;
    assert_eq!((patched["spec"]["replicas"].as_i64(), patched["metadata"]["generation"].as_i64()), (Some(3), Some(2)));
    assert_eq!(patched["status"]["availableReplicas"], 1, "the main resource keeps status");
    let remove = br#"{"metadata": {"labels": {"a": null}}}"#;
    let patched =
        raw(&kube, "PATCH", target, "application/merge-patch+json", remove, Some(&token)).expect(200, "").body;
    assert!(patched["metadata"]["labels"].get("a").is_none());
    let status_patch = br#"{"status": {"availableReplicas": 3}, "spec": {"replicas": 9}}"#;
    let patched =
        raw(&kube, "PATCH", &format!("{target}/status"), "application/merge-patch+json", status_patch, Some(&token))
            .expect(200, "")
            .body;
    assert_eq!(
        (patched["status"]["availableReplicas"].as_i64(), patched["spec"]["replicas"].as_i64()),
        (Some(3), Some(3))
    );
    let stale = br#"{"metadata": {"resourceVersion": "1"}, "spec": {"replicas": 2}}"#;
    raw(&kube, "PATCH", target, "application/merge-patch+json", stale, Some(&token)).expect(409, "Conflict");
    call(&kube, "GET", "/east/api/v1/namespaces/default/configmaps/x/status", None).expect(404, "NotFound");
}

#[test]
fn finalizers_hold_deletion_and_a_namespace_takes_its_contents() {
    let kube = FakeKube::start_for_test();
    call(
        &kube,
        "POST",
        "/east/api/v1/namespaces",
        Some(&json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": "app" } })),
    )
    .expect(201, "");
    let in_app = "/east/api/v1/namespaces/app/configmaps";
    let mut held = configmap("held", json!({}));
    held["metadata"]["namespace"] = "app".into();
    held["metadata"]["finalizers"] = json!(["example.com/cleanup"]);
    call(&kube, "POST", in_app, Some(&held)).expect(201, "");
    let mut plain = configmap("plain", json!({}));
    plain["metadata"]["namespace"] = "app".into();
    call(&kube, "POST", in_app, Some(&plain)).expect(201, "");

    let deleted = call(&kube, "DELETE", &format!("{in_app}/held"), None).ok();
    assert!(deleted["metadata"]["deletionTimestamp"].is_string(), "held by its finalizer: {deleted}");
    call(&kube, "GET", &format!("{in_app}/held"), None).ok();

    let namespace = call(&kube, "DELETE", "/east/api/v1/namespaces/app", None).ok();
    assert_eq!(namespace["status"]["phase"], "Terminating");
    call(&kube, "GET", &format!("{in_app}/plain"), None).expect(404, "NotFound");
    call(&kube, "POST", in_app, Some(&plain)).expect(403, "Forbidden");
    // The last finalizer going (a JSON patch, as kube-rs's finalizer helper sends) lets the
    // object, then its namespace, go.
    let token = kube.token();
    let clear = br#"[{"op": "test", "path": "/metadata/finalizers/0", "value": "example.com/cleanup"},
                     {"op": "remove", "path": "/metadata/finalizers/0"}]"#;
    raw(&kube, "PATCH", &format!("{in_app}/held"), "application/json-patch+json", clear, Some(&token)).ok();
    call(&kube, "GET", &format!("{in_app}/held"), None).expect(404, "NotFound");
    call(&kube, "GET", "/east/api/v1/namespaces/app", None).expect(404, "NotFound");
    call(&kube, "DELETE", "/east/api/v1/namespaces/kube-system", None).expect(403, "Forbidden");
}

pub(super) fn crd() -> Value {
    let mut crd = super::crd("k8ssandra.io", "v1alpha1", "K8ssandraCluster", Some("k8ssandracluster"));
    crd["spec"]["names"]["shortNames"] = json!(["k8c"]);
    crd
}

pub(super) fn k8ssandra_cluster(version_field: &str) -> Value {
    json!({
        "apiVersion": "k8ssandra.io/v1alpha1",
        "kind": "K8ssandraCluster",
        "metadata": { "name": "demo", "namespace": "default" },
        "spec": { "cassandra": { version_field: "4.1.5", "datacenters": [{ "metadata": { "name": "dc1" }, "size": 3 }] } }
    })
}

#[test]
fn a_crd_serves_its_type_and_validates_custom_resources_against_its_schema() {
    let kube = FakeKube::start_for_test();
    let resources = "/east/apis/k8ssandra.io/v1alpha1/namespaces/default/k8ssandraclusters";
    call(&kube, "GET", resources, None).expect(404, "NotFound");
    let crd_path = "/east/apis/apiextensions.k8s.io/v1/customresourcedefinitions/k8ssandraclusters.k8ssandra.io";
    let stored = apply(&kube, crd_path, "ringform", "", &crd()).expect(201, "").body;
    let conditions: Vec<(&str, &str)> = stored["status"]["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .map(|c| (c["type"].as_str().unwrap_or_default(), c["status"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(conditions, [("NamesAccepted", "True"), ("Established", "True")]);
    let groups = call(&kube, "GET", "/east/apis", None).ok();
    assert!(groups["groups"].as_array().expect("groups").iter().any(|g| g["name"] == "k8ssandra.io"));
    let discovered = call(&kube, "GET", "/east/apis/k8ssandra.io/v1alpha1", None).ok();
    assert_eq!(discovered["resources"][0]["kind"], "K8ssandraCluster");
    assert_eq!(discovered["resources"][0]["shortNames"], json!(["k8c"]));

    apply(&kube, &format!("{resources}/demo"), "ringform", "", &k8ssandra_cluster("serverVersion")).expect(201, "");
    let typo =
        apply(&kube, &format!("{resources}/demo"), "ringform", "&force=true", &k8ssandra_cluster("serverVerison"));
    let typo = typo.expect(422, "Invalid");
    assert!(
        typo.body["message"]
            .as_str()
            .expect("a message")
            .contains("spec.cassandra.serverVerison: field not declared in schema")
    );
    assert_eq!(typo.body["details"]["causes"][0]["field"], "spec.cassandra.serverVerison");
    let mut wrong_type = k8ssandra_cluster("serverVersion");
    wrong_type["metadata"]["name"] = "other".into();
    wrong_type["spec"]["cassandra"]["datacenters"][0]["size"] = "three".into();
    call(&kube, "POST", resources, Some(&wrong_type)).expect(422, "Invalid");

    let mut misnamed = crd();
    misnamed["metadata"]["name"] = "wrong.k8ssandra.io".into();
    call(&kube, "POST", "/east/apis/apiextensions.k8s.io/v1/customresourcedefinitions", Some(&misnamed))
        .expect(422, "Invalid");
    // Deleting the CRD takes its resources and its type.
    call(&kube, "DELETE", crd_path, None).ok();
    call(&kube, "GET", resources, None).expect(404, "NotFound");
    assert!(kube.get("east", ("k8ssandra.io/v1alpha1", "K8ssandraCluster", Some("default"), "demo")).is_none());
}

#[test]
fn tests_inspect_and_change_objects_behind_the_clients_back() {
    let kube = FakeKube::start_for_test();
    call(&kube, "POST", CM, Some(&configmap("a", json!({ "k": "1" })))).expect(201, "");
    call(&kube, "GET", "/west/api", None).ok();
    let all = call(&kube, "GET", "/__objects", None).ok();
    let all = all.as_array().expect("a list");
    assert_eq!(all.len(), 19, "nine defaults per EKS cluster, and one");
    assert!(all.iter().any(|o| o["cluster"] == "east" && o["object"]["metadata"]["name"] == "a"));
    assert_eq!(kube.all_objects().len(), 19);

    let a = ("v1", "ConfigMap", Some("default"), "a");
    assert!(kube.edit("east", a, |o| o["data"]["k"] = "drifted".into()));
    assert_eq!(call(&kube, "GET", &format!("{CM}/a"), None).ok()["data"]["k"], "drifted");
    let put = kube.put("east", configmap("b", json!({}))).expect("a known kind");
    assert!(put["metadata"]["uid"].is_string());
    assert_eq!(kube.get("east", ("v1", "ConfigMap", Some("default"), "b")), Some(put));
    assert!(kube.delete("east", a) && !kube.delete("east", a));
    call(&kube, "GET", &format!("{CM}/a"), None).expect(404, "NotFound");
    assert!(kube.put("east", json!({ "apiVersion": "v9", "kind": "Nope", "metadata": { "name": "x" } })).is_err());
    assert_eq!(kube.count_requests("GET", "/east/api/v1/namespaces/default/configmaps/a"), 2);
    let posted = kube.requests().into_iter().find(|r| r.method == "POST").expect("the POST");
    assert_eq!((posted.path.as_str(), posted.status), (CM, 201));
    kube.clear_requests();
    assert!(kube.requests().is_empty());
}

#[test]
fn armed_faults_answer_conflict_or_throttle_the_matching_requests() {
    let kube = FakeKube::start_for_test();
    kube.inject("/configmaps", 1, Fault::Conflict);
    kube.inject("/services", 2, Fault::Throttle { retry_after_secs: 3 });
    call(&kube, "GET", "/east/api/v1/namespaces", None).ok();
    call(&kube, "GET", CM, None).expect(409, "Conflict");
    call(&kube, "GET", CM, None).ok();
    for _ in 0..2 {
        let throttled = call(&kube, "GET", "/east/api/v1/services", None).expect(429, "TooManyRequests");
        assert_eq!(throttled.header("retry-after"), Some("3"));
    }
    call(&kube, "GET", "/east/api/v1/services", None).ok();
}

#[test]
fn the_same_port_speaks_https_with_a_certificate_rustls_accepts() {
    use std::io::{Read, Write};
    use std::sync::Arc;

    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
    use tokio_rustls::rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned, crypto};

    let kube = FakeKube::start_for_test();
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(kube.ca().as_bytes()).expect("a PEM certificate")).expect("a CA");
    let config = ClientConfig::builder_with_provider(Arc::new(crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("127.0.0.1").expect("a server name");
    let connection = ClientConnection::new(Arc::new(config), name).expect("a TLS client");
    let address = kube.https_endpoint().trim_start_matches("https://").to_string();
    let mut tls = StreamOwned::new(connection, std::net::TcpStream::connect(address).expect("connect"));
    let request = format!(
        "GET /east/api HTTP/1.1\r\nHost: kube\r\nConnection: close\r\nAuthorization: Bearer {}\r\n\r\n",
        kube.token()
    );
    tls.write_all(request.as_bytes()).expect("the handshake and the request");
    let mut answer = Vec::new();
    // The server may hang up without a TLS close_notify; what came before counts.
    let _ = tls.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200") && answer.contains("APIVersions"), "{answer}");
    assert!(kube.kubeconfig(&["east"]).contains("server: https://127.0.0.1:"));
}
