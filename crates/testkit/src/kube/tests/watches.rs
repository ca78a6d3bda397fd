//! Watches as kube-rs's watcher and kubectl use them: list, then watch from the list's
//! resourceVersion; streaming lists; 410 when history is gone; faults that drop a watch.

use serde_json::{Value, json};

use super::{call, watch};
use crate::kube::{FakeKube, Fault};

const CM: &str = "/east/api/v1/namespaces/default/configmaps";

fn configmap(name: &str, value: &str) -> Value {
    json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": name, "labels": { "app": "x" } }, "data": { "v": value } })
}

/// (type, name) of each event.
fn summary(events: &[Value]) -> Vec<(String, String)> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    events.iter().map(|e| (text(&e["type"]), text(&e["object"]["metadata"]["name"]))).collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(t, n)| (t.to_string(), n.to_string())).collect()
}

#[test]
fn list_then_watch_from_its_resource_version_as_kube_rs_does() {
    let kube = FakeKube::start_for_test();
    let selector = "fieldSelector=metadata.name%3Dx";
    let list = call(&kube, "GET", &format!("{CM}?{selector}&limit=500"), None).ok();
    let rv = list["metadata"]["resourceVersion"].as_str().expect("a resourceVersion").to_string();
    call(&kube, "POST", CM, Some(&configmap("x", "1"))).expect(201, "");
    call(&kube, "POST", CM, Some(&configmap("y", "1"))).expect(201, "");
    let token = kube.token();
    let merge = br#"{"data": {"v": "2"}}"#;
    super::raw(&kube, "PATCH", &format!("{CM}/x"), "application/merge-patch+json", merge, Some(&token)).ok();
    call(&kube, "DELETE", &format!("{CM}/x"), None).ok();
    let target = format!("{CM}?watch=true&timeoutSeconds=1&allowWatchBookmarks=true&{selector}&resourceVersion={rv}");
    let events = watch(&kube, &target, 10);
    assert_eq!(summary(&events), pairs(&[("ADDED", "x"), ("MODIFIED", "x"), ("DELETED", "x"), ("BOOKMARK", "")]));
    assert_eq!(events[1]["object"]["data"]["v"], "2");
    let bookmark_rv = events[3]["object"]["metadata"]["resourceVersion"].as_str().expect("a bookmark rv");
    assert!(bookmark_rv.parse::<u64>().expect("a number") > rv.parse::<u64>().expect("a number"));
}

#[test]
fn a_watch_follows_changes_made_while_it_runs() {
    let kube = FakeKube::start_for_test();
    let target = format!("{CM}?watch=1&labelSelector=app%3Dx&timeoutSeconds=5");
    let events = std::thread::scope(|scope| {
        let watching = scope.spawn(|| watch(&kube, &target, 4));
        std::thread::sleep(std::time::Duration::from_millis(200));
        let mut unlabelled = configmap("quiet", "1");
        unlabelled["metadata"]["labels"] = json!({});
        call(&kube, "POST", CM, Some(&unlabelled)).expect(201, "");
        call(&kube, "POST", CM, Some(&configmap("a", "1"))).expect(201, "");
        assert!(kube.edit("east", ("v1", "ConfigMap", Some("default"), "a"), |o| o["data"]["v"] = "drift".into()));
        // Relabelled, objects leave and enter the selection.
        assert!(
            kube.edit("east", ("v1", "ConfigMap", Some("default"), "a"), |o| o["metadata"]["labels"]["app"] =
                "z".into())
        );
        assert!(kube.edit("east", ("v1", "ConfigMap", Some("default"), "quiet"), |o| o["metadata"]["labels"]["app"] =
            "x".into()));
        watching.join().expect("the watch")
    });
    assert_eq!(summary(&events), pairs(&[("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a"), ("ADDED", "quiet")]));
    assert_eq!(events[1]["object"]["data"]["v"], "drift");
}

#[test]
fn a_watch_without_resource_version_starts_with_the_current_objects() {
    let kube = FakeKube::start_for_test();
    let target = "/east/api/v1/namespaces?watch=true&timeoutSeconds=1";
    let names: Vec<String> = summary(&watch(&kube, target, 10)).into_iter().map(|(t, n)| format!("{t} {n}")).collect();
    assert_eq!(names, ["ADDED default", "ADDED kube-public", "ADDED kube-system"]);
    // A streaming list (kube-rs's `streaming_lists()`) ends its initial events with a bookmark.
    let target = "/east/api/v1/namespaces?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1";
    let events = watch(&kube, target, 4);
    assert_eq!(events[3]["type"], "BOOKMARK");
    assert_eq!(events[3]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"], "true");
}

#[test]
fn a_watch_from_forgotten_history_gets_410_expired() {
    let kube = FakeKube::start_for_test();
    call(&kube, "POST", CM, Some(&configmap("a", "1"))).expect(201, "");
    kube.compact("east");
    let events = watch(&kube, &format!("{CM}?watch=true&resourceVersion=1"), 10);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "ERROR");
    assert_eq!(
        (events[0]["object"]["code"].as_u64(), events[0]["object"]["reason"].as_str()),
        (Some(410), Some("Expired"))
    );
    call(&kube, "GET", &format!("{CM}?watch=true&resourceVersion=abc"), None).expect(400, "BadRequest");
}

#[test]
fn an_armed_fault_drops_a_watch_after_some_events() {
    let kube = FakeKube::start_for_test();
    kube.inject("/namespaces", 1, Fault::DropWatchAfter { events: 2 });
    // The fault waits for a watch: plain requests do not use it up.
    call(&kube, "GET", "/east/api/v1/namespaces", None).ok();
    let events = watch(&kube, "/east/api/v1/namespaces?watch=true", 10);
    assert_eq!(events.len(), 2, "dropped after two events, with no timeout given");
    assert_eq!(watch(&kube, "/east/api/v1/namespaces?watch=true&timeoutSeconds=1", 10).len(), 3);
}
