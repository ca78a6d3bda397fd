//! A canned-response HTTP client for unit tests of what moto cannot show (objects that take
//! time to settle, DependencyViolation, throttling): answers by EC2/IAM `Action` or by REST
//! `METHOD /path` (EKS), in order, repeating the last answer; records every call.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

use crate::{AwsProvider, AwsSettings};

#[derive(Clone, Debug, Default)]
pub(crate) struct Canned {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    answers: HashMap<String, VecDeque<(u16, String)>>,
    /// Each call and the body it was sent with.
    calls: Vec<(String, String)>,
}

pub(crate) const EC2_NS: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

impl Canned {
    /// Queues an answer to `call` (an action, or "METHOD /path").
    pub fn answer(&self, call: &str, status: u16, body: impl Into<String>) -> &Self {
        let mut state = self.state.lock().unwrap();
        state.answers.entry(call.to_owned()).or_default().push_back((status, body.into()));
        self
    }

    /// Queues a successful EC2 answer whose response element holds `inner`.
    pub fn ec2(&self, action: &str, inner: &str) -> &Self {
        self.answer(
            action,
            200,
            format!(r#"<{action}Response xmlns="{EC2_NS}"><requestId>r</requestId>{inner}</{action}Response>"#),
        )
    }

    /// Queues an EC2 error answer.
    pub fn ec2_error(&self, action: &str, status: u16, code: &str, message: &str) -> &Self {
        let body = format!(
            "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>r</RequestID></Response>"
        );
        self.answer(action, status, body)
    }

    pub fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap().calls.iter().map(|(call, _)| call.clone()).collect()
    }

    /// The bodies `call` was sent with, in order (form-encoded for EC2, JSON for EKS).
    pub fn bodies(&self, call: &str) -> Vec<String> {
        self.state.lock().unwrap().calls.iter().filter(|(c, _)| c == call).map(|(_, body)| body.clone()).collect()
    }

    pub fn count(&self, call: &str) -> usize {
        self.calls().iter().filter(|c| *c == call).count()
    }

    /// A provider that sends everything here, with fast polling.
    pub fn provider(&self) -> AwsProvider {
        let settings = AwsSettings {
            max_attempts: 1,
            poll_interval: Duration::from_millis(1),
            dependency_timeout: Duration::from_millis(30),
            eks_cluster_timeout: Duration::from_secs(2),
            eks_node_group_timeout: Duration::from_secs(2),
            eks_addon_timeout: Duration::from_secs(2),
            peering_timeout: Duration::from_secs(2),
            transit_gateway_timeout: Duration::from_secs(2),
            vpn_timeout: Duration::from_secs(2),
            static_credentials: Some(("testing".into(), "testing".into())),
            endpoint_url: Some("http://canned.invalid".into()),
        };
        AwsProvider::with_http_client(settings, SharedHttpClient::new(self.clone()))
    }

    fn respond(&self, request: &HttpRequest) -> (u16, String) {
        let body = request.body().bytes().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
        let call =
            body.split('&').find_map(|pair| pair.strip_prefix("Action=")).map(str::to_owned).unwrap_or_else(|| {
                let path = request.uri().split("://").nth(1).and_then(|r| r.find('/').map(|i| r[i..].to_owned()));
                format!("{} {}", request.method(), path.unwrap_or_default().split('?').next().unwrap_or_default())
            });
        let mut state = self.state.lock().unwrap();
        state.calls.push((call.clone(), body));
        match state.answers.get_mut(&call) {
            Some(queue) if queue.len() > 1 => queue.pop_front().unwrap(),
            Some(queue) if !queue.is_empty() => queue[0].clone(),
            _ if call.contains(' ') => {
                (404, r#"{"__type":"ResourceNotFoundException","message":"not found"}"#.to_owned())
            }
            _ => (200, format!(r#"<{call}Response xmlns="{EC2_NS}"><requestId>r</requestId></{call}Response>"#)),
        }
    }
}

impl HttpConnector for Canned {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (status, body) = self.respond(&request);
        let mut response = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body));
        let content_type = if status < 300 && !response.body().bytes().unwrap_or_default().starts_with(b"{") {
            "text/xml"
        } else {
            "application/json"
        };
        response.headers_mut().insert("content-type", content_type);
        HttpConnectorFuture::ready(Ok(response))
    }
}

impl HttpClient for Canned {
    fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}
