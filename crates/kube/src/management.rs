//! Cassandra's Management API (management-api-for-apache-cassandra, port 8080 of every
//! Cassandra pod), reached through the Kubernetes API server's pod proxy: what a node sees of
//! the ring, the keyspaces and their replication, and keyspaces made or altered. Paths and
//! bodies as its v0 resources take them:
//!
//! - `GET api/v0/metadata/endpoints`: the gossip endpoint states (`nodetool status`);
//! - `GET api/v0/ops/keyspace`: every keyspace's name;
//! - `GET api/v0/ops/keyspace/replication?keyspaceName=KS`: `{"class": …, "<dc>": "<factor>"}`,
//!   404 when it does not exist;
//! - `POST api/v0/ops/keyspace/create` and `…/alter` with
//!   `{"keyspace_name", "replication_settings": [{"dc_name", "replication_factor"}]}`:
//!   NetworkTopologyStrategy with exactly those factors.

use std::collections::{BTreeMap, BTreeSet};

use ringform_core::provider::ProviderError;
use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::error::{KubeResult, api_error, is_not_found};

/// A keyspace's replication: factors per datacenter under NetworkTopologyStrategy, or
/// `replication_factor` alone under SimpleStrategy (what Cassandra gives its system keyspaces).
pub type Replication = BTreeMap<String, i64>;

/// Keyspaces every node keeps for itself or computes: never replicated, never changed.
const LOCAL_KEYSPACES: [&str; 4] = ["system", "system_schema", "system_views", "system_virtual_schema"];
/// Cassandra's replicated keyspaces: a datacenter leaves them only once its nodes have left
/// (Cassandra 4.1 refuses otherwise for `system_auth`), through their own resources.
pub(crate) const SYSTEM_KEYSPACES: [&str; 3] = ["system_auth", "system_distributed", "system_traces"];

/// One Ready Cassandra pod, to ask through.
pub struct Node<'c> {
    cluster: &'c Cluster,
    namespace: String,
    pub pod: String,
}

impl<'c> Node<'c> {
    /// A Ready pod of datacenter `datacenter` in `namespace`.
    pub async fn of(cluster: &'c Cluster, namespace: &str, datacenter: &str) -> KubeResult<Node<'c>> {
        let selector = format!("cassandra.datastax.com/datacenter={datacenter}");
        let pods = cluster.list("v1", "Pod", Some(namespace), &selector).await?;
        let ready = pods.iter().find(|p| crate::wait::has_condition(p, "Ready")).ok_or_else(|| {
            ProviderError::retryable(format!(
                "cluster {}: no pod of datacenter {datacenter} in namespace {namespace} is Ready to ask",
                cluster.name
            ))
        })?;
        let pod = ready["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        Ok(Node { cluster, namespace: namespace.to_owned(), pod })
    }

    /// Sends `method path` (`body` as JSON) to the pod's Management API; its answer, or `None`
    /// when it answers 404.
    async fn call(&self, method: http::Method, path: &str, body: Option<&Value>) -> KubeResult<Option<String>> {
        let uri = format!("/api/v1/namespaces/{}/pods/{}:8080/proxy/{path}", self.namespace, self.pod);
        let mut request = http::Request::builder().method(method.clone()).uri(&uri);
        if body.is_some() {
            request = request.header(http::header::CONTENT_TYPE, "application/json");
        }
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let request = request
            .body(bytes)
            .map_err(|e| ProviderError::fatal(format!("{uri} is not a request path")).with_source(e))?;
        let what = format!("cluster {}: {method} {path} on pod {}", self.cluster.name, self.pod);
        match self.cluster.client().request_text(request).await {
            Ok(text) => Ok(Some(text)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(api_error(&what, e)),
        }
    }

    async fn json(&self, path: &str) -> KubeResult<Value> {
        let text = self.call(http::Method::GET, path, None).await?.unwrap_or_default();
        serde_json::from_str(&text).map_err(|e| {
            let what =
                format!("cluster {}: pod {} answered {path} with something not JSON", self.cluster.name, self.pod);
            ProviderError::retryable(what).with_source(e)
        })
    }

    /// What the node knows of every node of the ring: its gossip endpoint states.
    pub async fn endpoints(&self) -> KubeResult<Value> {
        self.json("api/v0/metadata/endpoints").await
    }

    /// Every replicated keyspace with its replication.
    pub async fn keyspaces(&self) -> KubeResult<BTreeMap<String, Replication>> {
        let names = self.json("api/v0/ops/keyspace").await?;
        let mut keyspaces = BTreeMap::new();
        for name in names.as_array().into_iter().flatten().filter_map(Value::as_str) {
            if LOCAL_KEYSPACES.contains(&name) {
                continue;
            }
            if let Some(replication) = self.replication(name).await? {
                keyspaces.insert(name.to_owned(), replication);
            }
        }
        Ok(keyspaces)
    }

    /// The keyspace's replication, `None` when it does not exist.
    pub async fn replication(&self, keyspace: &str) -> KubeResult<Option<Replication>> {
        let path = format!("api/v0/ops/keyspace/replication?keyspaceName={keyspace}");
        let Some(text) = self.call(http::Method::GET, &path, None).await? else { return Ok(None) };
        let answer: BTreeMap<String, Value> = serde_json::from_str(&text).map_err(|e| {
            ProviderError::retryable(format!(
                "cluster {}: the replication of {keyspace} is not a map",
                self.cluster.name
            ))
            .with_source(e)
        })?;
        let factor = |v: &Value| v.as_str().and_then(|s| s.parse().ok()).or_else(|| v.as_i64());
        Ok(Some(
            answer.iter().filter(|(k, _)| *k != "class").filter_map(|(k, v)| Some((k.clone(), factor(v)?))).collect(),
        ))
    }

    /// The datacenters of the ring, as gossip knows them.
    pub async fn datacenters(&self) -> KubeResult<BTreeSet<String>> {
        let endpoints = self.endpoints().await?;
        let states = endpoints["entity"].as_array().into_iter().flatten();
        Ok(states.filter_map(|s| s["DC"].as_str()).map(str::to_owned).collect())
    }

    /// Takes `datacenter` out of every keyspace's replication but Cassandra's own before its
    /// nodes go, refusing, before it changes anything, when a keyspace would be left with no
    /// replica at all.
    pub async fn release(&self, datacenter: &str) -> KubeResult<()> {
        let keyspaces = self.keyspaces().await?;
        let holding: Vec<(&String, Replication)> = keyspaces
            .iter()
            .filter(|(k, _)| !SYSTEM_KEYSPACES.contains(&k.as_str()))
            .filter(|(_, r)| r.get(datacenter).is_some_and(|f| *f > 0) && !r.contains_key("replication_factor"))
            .map(|(k, r)| (k, r.iter().filter(|(dc, _)| *dc != datacenter).map(|(d, f)| (d.clone(), *f)).collect()))
            .collect();
        let stranded: Vec<&str> =
            holding.iter().filter(|(_, rest)| rest.values().all(|f| *f == 0)).map(|(k, _)| k.as_str()).collect();
        if !stranded.is_empty() {
            return Err(ProviderError::fatal(format!(
                "datacenter {datacenter} holds the only replicas of keyspace{} {}",
                if stranded.len() == 1 { "" } else { "s" },
                stranded.join(", ")
            ))
            .with_hint("replicate them to another datacenter first (or drop them), then apply again"));
        }
        for (keyspace, rest) in holding {
            self.ensure(keyspace, &rest).await?;
        }
        Ok(())
    }

    /// Makes `keyspace` replicate exactly as `replication` says: created when missing, altered
    /// when it differs, left alone otherwise.
    pub async fn ensure(&self, keyspace: &str, replication: &Replication) -> KubeResult<()> {
        let verb = match self.replication(keyspace).await? {
            Some(now) if now == *replication => return Ok(()),
            Some(_) => "alter",
            None => "create",
        };
        let settings: Vec<Value> =
            replication.iter().map(|(dc, factor)| json!({"dc_name": dc, "replication_factor": factor})).collect();
        let body = json!({"keyspace_name": keyspace, "replication_settings": settings});
        self.call(http::Method::POST, &format!("api/v0/ops/keyspace/{verb}"), Some(&body)).await?;
        Ok(())
    }
}
