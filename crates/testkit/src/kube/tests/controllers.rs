//! Simulated controllers: a Deployment becomes Available after its scaled rollout time, seen by
//! the next request or by a watch that is waiting.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{apply, call, watch};
use crate::kube::{FakeKube, FakeKubeOptions};

const WEB: &str = "/east/apis/apps/v1/namespaces/default/deployments/web";

fn deployment(replicas: u32) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": { "name": "web" },
        "spec": { "replicas": replicas, "selector": { "matchLabels": { "app": "web" } },
                  "template": { "metadata": { "labels": { "app": "web" } }, "spec": { "containers": [{ "name": "web", "image": "nginx" }] } } }
    })
}

fn available(object: &Value) -> bool {
    let conditions = object["status"]["conditions"].as_array().cloned().unwrap_or_default();
    conditions.iter().any(|c| c["type"] == "Available" && c["status"] == "True")
}

#[test]
fn a_deployment_becomes_available_once_its_rollout_time_has_passed() {
    // Instant by default: the answer to the apply has no status yet, the next request sees it.
    let kube = FakeKube::start_for_test();
    let created = apply(&kube, WEB, "ringform", "", &deployment(3)).expect(201, "").body;
    assert!(!available(&created));
    let now = call(&kube, "GET", WEB, None).ok();
    assert!(available(&now), "{now}");
    assert_eq!(
        (now["status"]["readyReplicas"].as_i64(), now["status"]["observedGeneration"].as_i64()),
        (Some(3), Some(1))
    );
    apply(&kube, WEB, "ringform", "", &deployment(5)).expect(200, "");
    let scaled = kube.get("east", ("apps/v1", "Deployment", Some("default"), "web")).expect("the deployment");
    assert_eq!(
        (scaled["status"]["availableReplicas"].as_i64(), scaled["status"]["observedGeneration"].as_i64()),
        (Some(5), Some(2))
    );
}

#[test]
fn a_waiting_watch_sees_the_rollout_end_after_the_scaled_delay() {
    // 10 s of rollout at 1/20 of real time.
    let options = FakeKubeOptions { time_scale: 0.05, ..FakeKubeOptions::default() };
    let kube = FakeKube::start(options).expect("a server");
    let started = Instant::now();
    let created = apply(&kube, WEB, "ringform", "", &deployment(2)).expect(201, "").body;
    let rv = created["metadata"]["resourceVersion"].as_str().expect("a resourceVersion");
    assert!(!available(&call(&kube, "GET", WEB, None).ok()), "not before its time");
    let target = format!(
        "/east/apis/apps/v1/namespaces/default/deployments?watch=true&timeoutSeconds=5&fieldSelector=metadata.name%3Dweb&resourceVersion={rv}"
    );
    let events = watch(&kube, &target, 1);
    assert_eq!(events[0]["type"], "MODIFIED");
    assert!(available(&events[0]["object"]), "{}", events[0]);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(450) && waited < Duration::from_secs(4), "{waited:?}");
}
