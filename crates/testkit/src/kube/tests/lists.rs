//! Server-side apply of the lists built-in types merge by `name` (a pod template's containers,
//! env, volumes), as on EKS's `aws-node` DaemonSet, whose env entries EKS and others own one by
//! one; and the VPC CNI's `ENIConfig` type an EKS cluster serves.

use serde_json::{Value, json};

use super::{apply, call};
use crate::kube::{FakeKube, Flavor};

const AWS_NODE: &str = "/east/apis/apps/v1/namespaces/kube-system/daemonsets/aws-node";
const CUSTOM_NETWORK: &str = "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG";
const LABEL_DEF: &str = "ENI_CONFIG_LABEL_DEF";

/// A DaemonSet apply setting only `env` on the `aws-node` container.
fn aws_node_env(env: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": { "name": "aws-node", "namespace": "kube-system" },
        "spec": { "template": { "spec": { "containers": [{ "name": "aws-node", "env": env }] } } }
    })
}

fn container<'v>(daemon_set: &'v Value, name: &str) -> &'v Value {
    let containers = daemon_set["spec"]["template"]["spec"]["containers"].as_array().expect("containers");
    containers.iter().find(|c| c["name"] == name).expect("the container")
}

/// The `aws-node` container's env entries, `name → value` (null when it has none).
fn env(daemon_set: &Value) -> Vec<(String, Value)> {
    let entries = container(daemon_set, "aws-node")["env"].as_array().expect("env");
    entries.iter().map(|e| (e["name"].as_str().expect("a name").to_string(), e["value"].clone())).collect()
}

fn value_of(daemon_set: &Value, name: &str) -> Option<Value> {
    env(daemon_set).into_iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

/// What `manager` owns of the `aws-node` container's env, in FieldsV1.
fn owned_env<'v>(daemon_set: &'v Value, manager: &str) -> &'v Value {
    let entries = daemon_set["metadata"]["managedFields"].as_array().expect("managedFields");
    let entry = entries.iter().find(|e| e["manager"] == manager).expect("an entry of the manager");
    &entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"][r#"k:{"name":"aws-node"}"#]["f:env"]
}

#[test]
fn eks_makes_aws_node_with_its_env_owned_entry_by_entry() {
    let kube = FakeKube::start_for_test();
    let aws_node = call(&kube, "GET", AWS_NODE, None).ok();
    let image = container(&aws_node, "aws-node")["image"].as_str().expect("an image");
    assert!(image.starts_with("602401143452.dkr.ecr.") && image.contains("/amazon-k8s-cni:v1.20."), "{image}");
    assert_eq!(value_of(&aws_node, CUSTOM_NETWORK), Some(json!("false")));
    assert_eq!(value_of(&aws_node, "WARM_ENI_TARGET"), Some(json!("1")));
    assert_eq!(value_of(&aws_node, LABEL_DEF), None);
    let managers = aws_node["metadata"]["managedFields"].as_array().expect("managedFields");
    assert_eq!(managers.len(), 1);
    assert_eq!((managers[0]["manager"].as_str(), managers[0]["operation"].as_str()), (Some("eks"), Some("Apply")));
    let item = &managers[0]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"][r#"k:{"name":"aws-node"}"#];
    assert_eq!((&item["."], &item["f:name"], &item["f:image"]), (&json!({}), &json!({}), &json!({})));
    assert_eq!(
        item["f:env"][r#"k:{"name":"WARM_ENI_TARGET"}"#],
        json!({ ".": {}, "f:name": {}, "f:value": {} }),
        "{item}"
    );
    // AKS runs its own CNI.
    kube.add_cluster_of("azure", Flavor::Aks).expect("a valid name");
    call(&kube, "GET", "/azure/apis/apps/v1/namespaces/kube-system/daemonsets/aws-node", None).expect(404, "NotFound");
}

#[test]
fn another_manager_adds_and_removes_its_own_env_entries_without_touching_ekss() {
    let kube = FakeKube::start_for_test();
    let before = call(&kube, "GET", AWS_NODE, None).ok();
    let mine = aws_node_env(json!([{ "name": LABEL_DEF, "value": "topology.kubernetes.io/zone" }]));
    let added = apply(&kube, AWS_NODE, "ringform", "", &mine).expect(200, "").body;
    assert_eq!(env(&added).len(), env(&before).len() + 1);
    assert_eq!(env(&added)[..env(&before).len()], env(&before)[..], "EKS's entries stay, in order");
    assert_eq!(value_of(&added, LABEL_DEF), Some(json!("topology.kubernetes.io/zone")));
    assert_eq!(container(&added, "aws-node")["image"], container(&before, "aws-node")["image"]);
    assert_eq!(container(&added, "aws-eks-nodeagent"), container(&before, "aws-eks-nodeagent"));
    let owned = owned_env(&added, "ringform");
    assert_eq!(owned.as_object().map(|o| o.len()), Some(1), "{owned}");
    assert!(owned_env(&added, "eks").get(format!(r#"k:{{"name":"{LABEL_DEF}"}}"#)).is_none());

    // Applied again without it, only that entry goes; EKS's are as they were.
    let removed = apply(&kube, AWS_NODE, "ringform", "", &aws_node_env(json!([]))).expect(200, "").body;
    assert_eq!(removed["spec"], before["spec"]);
    let released = json!({ "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": { "name": "aws-node", "namespace": "kube-system" } });
    let released = apply(&kube, AWS_NODE, "ringform", "", &released).expect(200, "").body;
    assert_eq!(released["spec"], before["spec"]);
    let managers = released["metadata"]["managedFields"].as_array().expect("managedFields");
    assert!(managers.iter().all(|m| m["manager"] != "ringform"), "nothing left to ringform: {managers:?}");
}

#[test]
fn a_value_another_manager_owns_is_a_conflict_unless_forced_and_released_it_is_gone() {
    let kube = FakeKube::start_for_test();
    let on = aws_node_env(json!([{ "name": CUSTOM_NETWORK, "value": "true" }]));
    let conflict = apply(&kube, AWS_NODE, "ringform", "", &on).expect(409, "Conflict");
    let field = format!(r#".spec.template.spec.containers[name="aws-node"].env[name="{CUSTOM_NETWORK}"].value"#);
    assert_eq!(conflict.body["details"]["causes"][0]["field"], field.as_str(), "{}", conflict.body);
    assert_eq!(conflict.body["details"]["causes"].as_array().map(Vec::len), Some(1), "the same name is shared");

    let forced = apply(&kube, AWS_NODE, "ringform", "&force=true", &on).expect(200, "").body;
    assert_eq!(value_of(&forced, CUSTOM_NETWORK), Some(json!("true")));
    let item = format!(r#"k:{{"name":"{CUSTOM_NETWORK}"}}"#);
    assert_eq!(owned_env(&forced, "eks")[&item], json!({ ".": {}, "f:name": {} }), "the value moved to ringform");
    // Released, the value nobody owns goes; the entry stays EKS's.
    let released = apply(&kube, AWS_NODE, "ringform", "", &aws_node_env(json!([]))).expect(200, "").body;
    assert_eq!(value_of(&released, CUSTOM_NETWORK), Some(Value::Null));
    assert_eq!(value_of(&released, "WARM_ENI_TARGET"), Some(json!("1")));
}

#[test]
fn updates_own_the_items_they_change_and_custom_resources_keep_atomic_lists() {
    let kube = FakeKube::start_for_test();
    // `kubectl set env` style: an Update adding one entry owns that entry only.
    let token = kube.token();
    let mut added = call(&kube, "GET", AWS_NODE, None).ok();
    let containers = added["spec"]["template"]["spec"]["containers"].as_array_mut().expect("containers");
    let env = containers[0]["env"].as_array_mut().expect("env");
    env.push(json!({ "name": "WARM_IP_TARGET", "value": "5" }));
    let body = serde_json::to_vec(&added).expect("JSON");
    let target = format!("{AWS_NODE}?fieldManager=kubectl-set");
    let updated = super::raw(&kube, "PUT", &target, "application/json", &body, Some(&token)).expect(200, "").body;
    let owned = owned_env(&updated, "kubectl-set");
    assert_eq!(owned, &json!({ r#"k:{"name":"WARM_IP_TARGET"}"#: { ".": {}, "f:name": {}, "f:value": {} } }));
    assert!(owned_env(&updated, "eks").get(r#"k:{"name":"WARM_ENI_TARGET"}"#).is_some(), "EKS keeps its entries");

    // A custom resource's list is one field: another manager's different list conflicts.
    call(
        &kube,
        "POST",
        "/east/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        Some(&super::crd("x.io", "v1", "Widget", None)),
    )
    .expect(201, "");
    let widget = |names: &[&str]| {
        let items: Vec<Value> = names.iter().map(|n| json!({ "name": n })).collect();
        json!({ "apiVersion": "x.io/v1", "kind": "Widget", "metadata": { "name": "w" }, "spec": { "containers": items } })
    };
    let path = "/east/apis/x.io/v1/namespaces/default/widgets/w";
    apply(&kube, path, "a", "", &widget(&["one"])).expect(201, "");
    let conflict = apply(&kube, path, "b", "", &widget(&["two"])).expect(409, "Conflict");
    assert_eq!(conflict.body["details"]["causes"][0]["field"], ".spec.containers");
}

#[test]
fn an_eks_cluster_serves_eniconfigs_and_checks_their_spec() {
    let kube = FakeKube::start_for_test();
    let configs = "/east/apis/crd.k8s.amazonaws.com/v1alpha1/eniconfigs";
    assert_eq!(call(&kube, "GET", configs, None).ok()["items"], json!([]));
    let config = |field: &str| {
        json!({ "apiVersion": "crd.k8s.amazonaws.com/v1alpha1", "kind": "ENIConfig", "metadata": { "name": "eu-west-1a" },
                "spec": { field: "subnet-0abc", "securityGroups": ["sg-1", "sg-2"] } })
    };
    let stored = apply(&kube, &format!("{configs}/eu-west-1a"), "ringform", "", &config("subnet")).expect(201, "");
    assert_eq!(stored.body["spec"]["securityGroups"], json!(["sg-1", "sg-2"]));
    assert!(stored.body["metadata"].get("namespace").is_none(), "cluster-scoped");
    let typo =
        apply(&kube, &format!("{configs}/eu-west-1a"), "ringform", "", &config("subnett")).expect(422, "Invalid");
    assert!(typo.body["message"].as_str().expect("a message").contains("spec.subnett"), "{}", typo.body);
    kube.add_cluster_of("azure", Flavor::Aks).expect("a valid name");
    call(&kube, "GET", "/azure/apis/crd.k8s.amazonaws.com/v1alpha1/eniconfigs", None).expect(404, "NotFound");
}
