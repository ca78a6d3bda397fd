//! The ARM client against a scripted server: long-running operations through
//! `Azure-AsyncOperation` and `Location`, `Retry-After`, error mapping, retries, pagination.

use std::time::Duration;

use ringform_core::provider::{ErrorClass, ProviderError};

use crate::arm::{ArmClient, MANAGED_CLUSTERS, VIRTUAL_NETWORKS};
use crate::error::ArmError;
use crate::script::{Reply, Script, serve};
use crate::settings::{ArmSettings, AzureSettings};

const ID: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v";

fn client(script: &Script, max_wait: Duration) -> ArmClient {
    let arm = ArmSettings {
        poll_interval: Duration::from_millis(10),
        max_poll_interval: Duration::from_secs(5),
        attempts: 3,
        retry_delay: Duration::from_millis(10),
        max_wait_gateway: max_wait,
        max_wait_aks: max_wait,
        max_wait,
    };
    let settings =
        AzureSettings { endpoint: script.endpoint.clone(), token: Some("t".into()), arm, ..AzureSettings::default() };
    ArmClient::new(&settings).unwrap()
}

fn reply(status: u16, headers: &[(&'static str, &str)], body: &str) -> Reply {
    (status, headers.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(), body.to_owned())
}

fn methods_and_paths(script: &Script) -> Vec<String> {
    script.requests().into_iter().map(|(m, p)| format!("{m} {}", p.split('?').next().unwrap_or(""))).collect()
}

#[tokio::test]
async fn put_polls_the_async_operation_then_gets_the_resource() {
    let op = [("azure-asyncoperation", "{endpoint}/operations/1?api-version=2024-05-01")];
    let script = serve(vec![
        reply(201, &op, "{}"),
        reply(200, &[], r#"{"status":"InProgress"}"#),
        reply(200, &[], r#"{"status":"Succeeded"}"#),
        reply(200, &[], &format!(r#"{{"id":"{ID}","name":"v"}}"#)),
    ])
    .await;
    let resource =
        client(&script, Duration::from_secs(10)).put(ID, VIRTUAL_NETWORKS, &serde_json::json!({})).await.unwrap();
    assert_eq!(resource["name"], "v");
    assert_eq!(
        methods_and_paths(&script),
        [format!("PUT {ID}"), "GET /operations/1".into(), "GET /operations/1".into(), format!("GET {ID}")]
    );
    assert!(script.requests()[0].1.contains("api-version=2024-05-01"));
}

#[tokio::test]
async fn delete_polls_location_until_it_stops_answering_202() {
    let location = [("location", "{endpoint}/results/9")];
    let script = serve(vec![reply(202, &location, ""), reply(202, &[], ""), reply(204, &[], "")]).await;
    client(&script, Duration::from_secs(10)).delete(ID, VIRTUAL_NETWORKS).await.unwrap();
    assert_eq!(methods_and_paths(&script), [format!("DELETE {ID}"), "GET /results/9".into(), "GET /results/9".into()]);
}

#[tokio::test]
async fn deleting_what_is_gone_succeeds() {
    let script = serve(vec![reply(404, &[], r#"{"error":{"code":"ResourceNotFound","message":"gone"}}"#)]).await;
    client(&script, Duration::from_secs(10)).delete(ID, VIRTUAL_NETWORKS).await.unwrap();
}

#[tokio::test]
async fn retry_after_is_honoured_between_polls() {
    let op = [("azure-asyncoperation", "{endpoint}/operations/2"), ("retry-after", "1")];
    let script = serve(vec![
        reply(201, &op, "{}"),
        reply(200, &[("retry-after", "1")], r#"{"status":"InProgress"}"#),
        reply(200, &[], r#"{"status":"Succeeded"}"#),
        reply(200, &[], r#"{"id":"x"}"#),
    ])
    .await;
    client(&script, Duration::from_secs(10)).put(ID, VIRTUAL_NETWORKS, &serde_json::json!({})).await.unwrap();
    let times: Vec<_> = script.seen.lock().unwrap().iter().map(|(_, _, t)| *t).collect();
    assert!(times[1] - times[0] >= Duration::from_millis(950), "first poll came after {:?}", times[1] - times[0]);
    assert!(times[2] - times[1] >= Duration::from_millis(950), "second poll came after {:?}", times[2] - times[1]);
    // Without Retry-After the floor applies (10 ms), not a second.
    assert!(times[3] - times[2] < Duration::from_millis(900));
}

#[tokio::test]
async fn a_failed_operation_reports_its_error() {
    let op = [("azure-asyncoperation", "{endpoint}/operations/3")];
    let failed = r#"{"status":"Failed","error":{"code":"InvalidGatewaySku","message":"VpnGw9 does not exist"}}"#;
    let script = serve(vec![reply(201, &op, "{}"), reply(200, &[], failed)]).await;
    let error =
        client(&script, Duration::from_secs(10)).put(ID, VIRTUAL_NETWORKS, &serde_json::json!({})).await.unwrap_err();
    let error = ProviderError::from(error);
    assert_eq!(error.class, ErrorClass::Fatal);
    assert_eq!(error.message, format!("{ID}: the operation ended Failed: InvalidGatewaySku: VpnGw9 does not exist"));
}

#[tokio::test]
async fn throttling_becomes_throttled_with_retry_after() {
    let body = r#"{"error":{"code":"TooManyRequests","message":"slow down"}}"#;
    let script = serve(vec![reply(429, &[("retry-after", "7")], body)]).await;
    let error =
        client(&script, Duration::from_secs(10)).put(ID, VIRTUAL_NETWORKS, &serde_json::json!({})).await.unwrap_err();
    let error = ProviderError::from(error);
    assert_eq!(error.class, ErrorClass::Throttled { retry_after: Some(Duration::from_secs(7)) });
    assert!(error.message.contains("429 TooManyRequests: slow down"), "{}", error.message);
    assert_eq!(script.requests().len(), 1, "a 429 goes back to the engine, which lowers the rate");
}

#[tokio::test]
async fn server_errors_are_retried_for_idempotent_calls_only() {
    let busy = r#"{"error":{"code":"InternalServerError","message":"oops"}}"#;
    let script = serve(vec![reply(503, &[], busy), reply(500, &[], busy), reply(200, &[], r#"{"id":"x"}"#)]).await;
    let found = client(&script, Duration::from_secs(10)).get(ID, VIRTUAL_NETWORKS).await.unwrap();
    assert_eq!(found.unwrap()["id"], "x");
    assert_eq!(script.requests().len(), 3);

    let script = serve(vec![reply(503, &[], busy), reply(200, &[], "{}")]).await;
    let error = client(&script, Duration::from_secs(10)).post(ID, "listClusterAdminCredential", MANAGED_CLUSTERS).await;
    assert_eq!(ProviderError::from(error.unwrap_err()).class, ErrorClass::Retryable);
    assert_eq!(script.requests().len(), 1, "a POST is not retried inside the client");
}

#[tokio::test]
async fn conflicts_from_running_operations_are_retryable_and_other_4xx_fatal() {
    let busy = r#"{"error":{"code":"AnotherOperationInProgress","message":"busy"}}"#;
    let bad = r#"{"error":{"code":"InvalidRequestFormat","message":"bad","details":[{"code":"X","message":"why"}]}}"#;
    let script = serve(vec![reply(409, &[], busy), reply(400, &[], bad)]).await;
    let arm = client(&script, Duration::from_secs(10));
    let body = serde_json::json!({});
    assert_eq!(
        ProviderError::from(arm.put(ID, VIRTUAL_NETWORKS, &body).await.unwrap_err()).class,
        ErrorClass::Retryable
    );
    let error = ProviderError::from(arm.put(ID, VIRTUAL_NETWORKS, &body).await.unwrap_err());
    assert_eq!(error.class, ErrorClass::Fatal);
    assert_eq!(error.message, format!("PUT {ID}: ARM answered 400 InvalidRequestFormat: bad [X: why]"));
}

#[tokio::test]
async fn operations_that_outlast_their_limit_time_out() {
    let op = [("azure-asyncoperation", "{endpoint}/operations/4")];
    let running = reply(200, &[], r#"{"status":"InProgress"}"#);
    let script =
        serve(vec![reply(201, &op, "{}")].into_iter().chain(std::iter::repeat_n(running, 100)).collect()).await;
    let error = client(&script, Duration::from_millis(100)).put(ID, VIRTUAL_NETWORKS, &serde_json::json!({})).await;
    let error = error.unwrap_err();
    assert!(matches!(error, ArmError::Timeout { .. }), "{error}");
    assert_eq!(ProviderError::from(error).class, ErrorClass::Retryable);
}

#[tokio::test]
async fn polling_links_to_other_hosts_are_not_followed() {
    let op = [("azure-asyncoperation", "https://elsewhere.example/operations/5")];
    let script = serve(vec![reply(201, &op, "{}")]).await;
    let error =
        client(&script, Duration::from_secs(10)).put(ID, VIRTUAL_NETWORKS, &serde_json::json!({})).await.unwrap_err();
    assert!(error.to_string().contains("another host"), "{error}");
    assert_eq!(script.requests().len(), 1);
}

#[tokio::test]
async fn lists_follow_next_link() {
    let script = serve(vec![
        reply(200, &[], r#"{"value":[{"id":"a"}],"nextLink":"{endpoint}/page/2?api-version=2024-05-01"}"#),
        reply(200, &[], r#"{"value":[{"id":"b"}]}"#),
    ])
    .await;
    let items = client(&script, Duration::from_secs(10))
        .list("/subscriptions/s/providers/Microsoft.Network/virtualNetworks", VIRTUAL_NETWORKS, None)
        .await
        .unwrap();
    assert_eq!(items.iter().map(|i| i["id"].as_str().unwrap()).collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(script.requests()[1].1, "/page/2?api-version=2024-05-01");
}
