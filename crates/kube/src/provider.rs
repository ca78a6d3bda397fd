//! [`KubeProvider`]: the engine's calls carried out as server-side applies, label-selected
//! lists and deletes in each cluster. One client per cluster, made on first use.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use ringform_core::provider::{
    Applied, BoxFuture, CreateRequest, DeleteRequest, FindRequest, Observed, ProviderError, ProviderResult,
    ReadRequest, ReadResponse, ResourceProvider, UpdateRequest,
};
use ringform_core::schema::ProviderSchema;
use ringform_core::{Address, Attributes, Inputs, Value};
use ringform_schema::kubernetes;

use crate::access::Access;
use crate::cluster::{Cluster, ObjectRef};
use crate::datacenters;
use crate::dns;
use crate::error::KubeResult;
use crate::keyspaces;
use crate::kinds::{Ctx, Settle, coredns, pod_networking, rebuild, spec};
use crate::labels;
use crate::node_pools;
use crate::settings::KubeSettings;
use crate::wait;

/// How long the token controller takes to fill a token Secret.
const TOKEN_WAIT: Duration = Duration::from_secs(60);
/// How long the k8ssandra control plane takes to restart and load a ClientConfig.
const LOAD_WAIT: Duration = Duration::from_secs(5 * 60);
/// What k8ssandra-operator annotates on a ClientConfig when it loads it at start-up.
const LOADED_ANNOTATIONS: [&str; 2] = ["k8ssandra.io/resource-hash", "k8ssandra.io/secret-hash"];
/// How long streaming a datacenter's data from another can take: hours for terabytes.
const TASK_WAIT: Duration = Duration::from_secs(24 * 60 * 60);
/// How long a cloud takes to give a load balancer an address.
const LOAD_BALANCER_WAIT: Duration = Duration::from_secs(10 * 60);
/// cass-operator's labels on a datacenter's pods, and on the seeds among them.
const DATACENTER_LABEL: &str = "cassandra.datastax.com/datacenter";
const SEED_LABEL: &str = "cassandra.datastax.com/seed-node";

pub struct KubeProvider {
    pub(crate) settings: KubeSettings,
    clusters: Mutex<HashMap<String, Arc<Cluster>>>,
}

impl KubeProvider {
    pub fn new(settings: KubeSettings) -> KubeProvider {
        KubeProvider { settings, clusters: Mutex::new(HashMap::new()) }
    }

    /// The cluster an object with `inputs` lives in, connected on first use.
    pub(crate) async fn cluster(&self, address: &Address, inputs: &Attributes) -> KubeResult<Arc<Cluster>> {
        let inputs = Inputs::new(address, inputs);
        let name = inputs.str("cluster")?;
        if let Some(cluster) = self.clusters.lock().ok().and_then(|c| c.get(name).cloned()) {
            return Ok(cluster);
        }
        // Two first calls may both connect; one client is kept.
        let client = Access::of(&self.settings, name, &inputs)?.client(name).await?;
        let mut clusters = self.clusters.lock().map_err(|_| ProviderError::fatal("a cluster connection panicked"))?;
        Ok(clusters.entry(name.to_owned()).or_insert_with(|| Arc::new(Cluster::new(name, client))).clone())
    }

    /// Applies the resource's objects in order, waits until they work, and says what was made.
    async fn apply(&self, deployment: &str, address: &Address, inputs: &Attributes) -> KubeResult<Applied> {
        let cluster = self.cluster(address, inputs).await?;
        if keyspaces::is_keyspace(address.kind()) {
            return keyspaces::apply(&cluster, address, inputs).await;
        }
        if address.kind() == kubernetes::NODE_POOL {
            return node_pools::apply(&cluster, &self.settings, address, inputs).await;
        }
        let spec = spec(address.kind())?;
        let ctx = Ctx { address, inputs: Inputs::new(address, inputs) };
        let mut objects = (spec.objects)(&ctx)?;
        let mut restart_dns = false;
        let mut ring_change = None;
        match address.kind() {
            kubernetes::REBUILD => self.clear_failed_task(&cluster, &objects).await?,
            kubernetes::K8SSANDRA_CLUSTER => {
                let Some(object) = objects.first_mut() else { return Err(ProviderError::fatal("no K8ssandraCluster")) };
                ring_change = Some(self.prepare_ring_change(&cluster, &ctx, object).await?);
            }
            kubernetes::COREDNS_STUB_DOMAINS => {
                let (edited, restart) = coredns::edit(&cluster, &ctx, &stub_domains(&ctx)?).await?;
                (objects, restart_dns) = (vec![edited], restart);
            }
            kubernetes::CUSTOM_NETWORKING => pod_networking::require_aws_node(&cluster).await?,
            _ => {}
        }
        let mut applied = Vec::new();
        for mut object in objects {
            // EKS's aws-node DaemonSet gets only the env entries: no labels of ringform's.
            if address.kind() != kubernetes::CUSTOM_NETWORKING {
                labels::own(&mut object, deployment, &address.to_string());
            }
            applied.push(cluster.apply(&object).await?);
        }
        if restart_dns {
            cluster.apply(&coredns::restart(&now())).await?;
        }
        wait::ready(&cluster, &self.settings, &applied).await?;
        let marker =
            marker(applied.iter().filter(|o| {
                (o["apiVersion"].as_str(), o["kind"].as_str()) == (Some(spec.marker.0), Some(spec.marker.1))
            }))
            .ok_or_else(|| ProviderError::fatal(format!("{address}: made no {}", spec.marker.1)))?;
        let target = ObjectRef::of(marker)?;
        let mut outputs = outputs(marker);
        outputs.extend(self.settle(spec.settle, &cluster, &target, &ctx.inputs).await?);
        if let Some(change) = ring_change {
            self.settle_ring_change(&cluster, &target, &change).await?;
            outputs.insert("keyspaces".to_owned(), self.ring_keyspaces(address, &ctx.inputs).await?);
        }
        Ok(Applied { provider_id: provider_id(&target), outputs })
    }

    /// Waits for what `settle` asks of the resource whose marker is `target`, and returns the
    /// outputs only the cluster knows.
    async fn settle(
        &self,
        settle: Settle,
        cluster: &Cluster,
        target: &ObjectRef,
        inputs: &Inputs<'_>,
    ) -> KubeResult<Attributes> {
        let mut outputs = Attributes::new();
        match settle {
            Settle::Stored => {}
            Settle::Token => {
                let has_token = |o: &serde_json::Value| o["data"]["token"].as_str().is_some_and(|t| !t.is_empty());
                let what = "get its service-account token";
                let secret = wait::until(cluster, target, what, has_token, self.settings.timeout(TOKEN_WAIT)).await?;
                let token = secret["data"]["token"].as_str().and_then(|t| STANDARD.decode(t).ok());
                let token = token.and_then(|t| String::from_utf8(t).ok()).ok_or_else(|| {
                    ProviderError::fatal(format!(
                        "cluster {}: {target} holds a token that is not base64 text",
                        cluster.name
                    ))
                })?;
                let (server, ca) = Access::of(&self.settings, &cluster.name, inputs)?.server(&cluster.name)?;
                outputs.insert(
                    "kubeconfig".to_owned(),
                    Value::secret(kubeconfig(&cluster.name, &server, ca, &token).into()),
                );
            }
            Settle::Loaded => {
                let loaded = |o: &serde_json::Value| {
                    LOADED_ANNOTATIONS.iter().all(|a| o["metadata"]["annotations"][*a].is_string())
                };
                let what = "be loaded by the k8ssandra control plane (it restarts to load a new ClientConfig)";
                let config = wait::until(cluster, target, what, loaded, self.settings.timeout(LOAD_WAIT)).await?;
                outputs.insert(
                    "context_name".to_owned(),
                    config["spec"]["contextName"].as_str().unwrap_or_default().into(),
                );
            }
            Settle::LoadBalancer => {
                let has_address = |o: &serde_json::Value| {
                    let ingress = &o["status"]["loadBalancer"]["ingress"][0];
                    ingress["ip"].is_string() || ingress["hostname"].is_string()
                };
                let what = "get a load balancer address";
                let service =
                    wait::until(cluster, target, what, has_address, self.settings.timeout(LOAD_BALANCER_WAIT)).await?;
                outputs.insert("ips".to_owned(), self.load_balancer_ips(cluster, target, &service).await?);
            }
            Settle::Task => {
                let finished = |o: &serde_json::Value| o["status"]["completionTime"].is_string();
                let what = "finish on every node";
                let task = wait::until(cluster, target, what, finished, self.settings.timeout(TASK_WAIT)).await?;
                if wait::has_condition(&task, "Failed") {
                    return Err(task_failed(&cluster.name, target, &task));
                }
            }
            Settle::Seeds => {
                let namespace = target.namespace.as_deref();
                let selector = format!("{DATACENTER_LABEL}={},{SEED_LABEL}=true", target.name);
                let pods = cluster.list("v1", "Pod", namespace, &selector).await?;
                let mut ips: Vec<String> =
                    pods.iter().filter_map(|p| p["status"]["podIP"].as_str()).map(str::to_owned).collect();
                ips.sort();
                outputs.insert("seed_ips".to_owned(), Value::List(ips.into_iter().map(Value::from).collect()));
                outputs.insert("keyspaces".to_owned(), datacenters::keyspaces_seen(cluster, target).await?);
            }
        }
        Ok(outputs)
    }

    /// Where the load balancer of `service` (at `target`) answers: its IP (AKS), or every IPv4
    /// address its host name stands for (AWS), sorted; CoreDNS forwards to them all.
    async fn load_balancer_ips(
        &self,
        cluster: &Cluster,
        target: &ObjectRef,
        service: &serde_json::Value,
    ) -> KubeResult<Value> {
        let ingress = &service["status"]["loadBalancer"]["ingress"][0];
        let ips = match (ingress["ip"].as_str(), ingress["hostname"].as_str()) {
            (Some(ip), _) => vec![ip.to_owned()],
            (None, Some(host)) => {
                let what = format!("cluster {}: {target}'s load balancer", cluster.name);
                let found = dns::resolve(host, self.settings.dns_server.as_deref(), &what).await?;
                found.iter().map(ToString::to_string).collect()
            }
            (None, None) => {
                return Err(ProviderError::retryable(format!(
                    "cluster {}: {target} lost its load balancer address",
                    cluster.name
                )));
            }
        };
        Ok(Value::from(ips))
    }

    /// A CassandraTask among `objects` that already ran and failed is deleted, so that applying
    /// it again runs it anew (a finished task never runs twice).
    async fn clear_failed_task(&self, cluster: &Cluster, objects: &[serde_json::Value]) -> KubeResult<()> {
        for object in objects.iter().filter(|o| {
            (o["apiVersion"].as_str(), o["kind"].as_str()) == (Some(rebuild::TASK.0), Some(rebuild::TASK.1))
        }) {
            let target = ObjectRef::of(object)?;
            if cluster.get(&target).await?.is_some_and(|task| wait::has_condition(&task, "Failed")) {
                cluster.delete(&target).await?;
                wait::gone(cluster, &target, self.settings.timeout(Duration::from_secs(60))).await?;
            }
        }
        Ok(())
    }

    /// Deletes the resource's objects, last applied first.
    async fn remove(&self, request: &DeleteRequest) -> KubeResult<()> {
        if keyspaces::is_keyspace(request.address.kind()) || request.address.kind() == kubernetes::NODE_POOL {
            // Forgotten: a keyspace's data stays, and pods stay where they run.
            return Ok(());
        }
        let spec = spec(request.address.kind())?;
        let cluster = self.cluster(&request.address, &request.inputs).await?;
        let ctx = Ctx { address: &request.address, inputs: Inputs::new(&request.address, &request.inputs) };
        match request.address.kind() {
            kubernetes::COREDNS_STUB_DOMAINS => {
                // Applied without ringform's stubs and labels: the edit is undone, the ConfigMap stays.
                let (restored, restart) = coredns::edit(&cluster, &ctx, &BTreeMap::new()).await?;
                cluster.apply(&restored).await?;
                if restart {
                    cluster.apply(&coredns::restart(&now())).await?;
                }
                return Ok(());
            }
            kubernetes::CUSTOM_NETWORKING => return pod_networking::release(&cluster).await,
            kubernetes::CASSANDRA_DATACENTER => datacenters::leave_ring(&cluster, &ctx).await?,
            _ => {}
        }
        for object in (spec.objects)(&ctx)?.iter().rev() {
            let target = ObjectRef::of(object)?;
            cluster.delete(&target).await?;
            // What holds cloud objects must be gone before the cluster or network it uses goes.
            if let Some(real) = wait::teardown(&target.kind) {
                wait::gone(&cluster, &target, self.settings.timeout(real)).await?;
            }
        }
        Ok(())
    }

    /// The marker objects of this deployment (of one address, when given) in one list.
    async fn owned(
        &self,
        cluster: &Cluster,
        deployment: &str,
        kind: ringform_core::Kind,
        address: Option<&str>,
    ) -> KubeResult<Vec<serde_json::Value>> {
        if kind == kubernetes::CUSTOM_NETWORKING {
            // EKS's DaemonSet carries no labels of ringform's; its field manager's part says.
            return Ok(pod_networking::applied(cluster).await?.into_iter().collect());
        }
        let (api_version, marker) = spec(kind)?.marker;
        cluster.list(api_version, marker, None, &labels::selector(deployment, address)).await
    }

    async fn read_impl(&self, request: ReadRequest) -> KubeResult<ReadResponse> {
        let Some(first) = request.resources.first() else { return Ok(ReadResponse::default()) };
        let cluster = self.cluster(&first.address, &first.inputs).await?;
        if keyspaces::is_keyspace(request.kind) {
            return Ok(ReadResponse { found: keyspaces::read(&cluster, &request.resources).await? });
        }
        if request.kind == kubernetes::NODE_POOL {
            // Where pods run is not compared: the next apply moves any that strayed.
            let found = request.resources.iter().map(|t| Observed {
                address: t.address.clone(),
                provider_id: t.provider_id.clone(),
                inputs: t.inputs.clone(),
                outputs: t.outputs.clone(),
            });
            return Ok(ReadResponse { found: found.collect() });
        }
        let owned = self.owned(&cluster, &request.deployment, request.kind, None).await?;
        let spec = spec(request.kind)?;
        let mut found = Vec::new();
        for tracked in &request.resources {
            if let Some(object) = standing_for(&owned, &tracked.address) {
                let mut observed = outputs(object);
                // Where a load balancer answers can change under the same Service (an NLB's
                // addresses): read anew, so the stub domains forwarding there re-plan.
                if spec.settle == Settle::LoadBalancer {
                    observed.insert(
                        "ips".to_owned(),
                        self.load_balancer_ips(&cluster, &ObjectRef::of(object)?, object).await?,
                    );
                }
                // What the ring replicates where, for plans to see which keyspaces a datacenter
                // holds; with no node up to ask, what was seen last stays.
                let keyspaces = match request.kind {
                    kubernetes::CASSANDRA_DATACENTER => {
                        Some(datacenters::keyspaces_seen(&cluster, &ObjectRef::of(object)?).await)
                    }
                    kubernetes::K8SSANDRA_CLUSTER => Some(
                        self.ring_keyspaces(&tracked.address, &Inputs::new(&tracked.address, &tracked.inputs)).await,
                    ),
                    _ => None,
                };
                if let Some(Ok(keyspaces)) = keyspaces {
                    observed.insert("keyspaces".to_owned(), keyspaces);
                }
                found.push(Observed {
                    address: tracked.address.clone(),
                    provider_id: tracked.provider_id.clone(),
                    inputs: merged(&tracked.inputs, (spec.observe)(object)?),
                    outputs: merged_outputs(&tracked.outputs, observed),
                });
            }
        }
        Ok(ReadResponse { found })
    }

    async fn find_impl(&self, request: FindRequest) -> KubeResult<Option<Observed>> {
        let cluster = self.cluster(&request.address, &request.inputs).await?;
        if keyspaces::is_keyspace(request.address.kind()) || request.address.kind() == kubernetes::NODE_POOL {
            // Every keyspace ringform keeps can be made again as it should be, and pods moved,
            // whether or not a killed run got to it.
            let applied = self.apply(&request.deployment, &request.address, &request.inputs).await?;
            return Ok(Some(Observed {
                address: request.address.clone(),
                provider_id: applied.provider_id,
                inputs: request.inputs.clone(),
                outputs: applied.outputs,
            }));
        }
        let address = request.address.to_string();
        let owned = self.owned(&cluster, &request.deployment, request.address.kind(), Some(&address)).await?;
        let Some(object) = standing_for(&owned, &request.address) else { return Ok(None) };
        let inputs = merged(&request.inputs, (spec(request.address.kind())?.observe)(object)?);
        // A run killed between applying and settling left the resource half made (a datacenter
        // still starting, a token not issued), and what it outputs comes only once it has
        // settled: what is found is applied again, which changes nothing already right, and
        // waited for like a create.
        let applied = self.apply(&request.deployment, &request.address, &request.inputs).await?;
        Ok(Some(Observed {
            address: request.address.clone(),
            provider_id: applied.provider_id,
            inputs,
            outputs: applied.outputs,
        }))
    }
}

/// What a CassandraTask that finished with failed nodes says, and that the next apply runs it
/// again.
fn task_failed(cluster: &str, target: &ObjectRef, task: &serde_json::Value) -> ProviderError {
    let conditions = task["status"]["conditions"].as_array().into_iter().flatten();
    let message =
        conditions.filter(|c| c["type"] == "Failed").find_map(|c| c["message"].as_str()).unwrap_or("some nodes failed");
    let pods = task["status"]["podStatuses"].as_object().into_iter().flatten();
    let errors: Vec<String> = pods
        .filter_map(|(pod, s)| Some(format!("{pod}: {}", s["error"].as_str().filter(|e| !e.is_empty())?)))
        .collect();
    let detail = if errors.is_empty() { String::new() } else { format!(" ({})", errors.join("; ")) };
    ProviderError::fatal(format!("cluster {cluster}: {target} failed: {message}{detail}")).with_hint(format!(
        "see the nodes' logs (`kubectl --context {cluster} -n {} describe cassandratask {}`); the next apply runs it again",
        target.namespace.as_deref().unwrap_or_default(),
        target.name
    ))
}

/// The stub domains input: `zone → addresses`.
fn stub_domains(ctx: &Ctx<'_>) -> KubeResult<BTreeMap<String, Vec<String>>> {
    let Some(Value::Map(stubs)) = ctx.inputs.attrs.get("stub_domains") else { return Ok(BTreeMap::new()) };
    let stubs_inputs = Inputs::new(ctx.address, stubs);
    stubs.keys().map(|zone| Ok((zone.clone(), stubs_inputs.strings(zone)?))).collect()
}

/// Seconds since the Unix epoch: a different annotation value on every restart.
fn now() -> String {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format!("{seconds}")
}

/// A kubeconfig whose cluster, user and context are all named `cluster`, reaching `server` with
/// `token` (JSON, which is YAML too).
fn kubeconfig(cluster: &str, server: &str, ca: Option<String>, token: &str) -> String {
    let mut entry = serde_json::json!({"server": server});
    if let Some(ca) = ca {
        entry["certificate-authority-data"] = ca.into();
    }
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": entry}],
        "users": [{"name": cluster, "user": {"token": token}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": cluster}}],
        "current-context": cluster,
    })
    .to_string()
}

/// Of a resource's objects of its marker type (an install has several Deployments), the one
/// that stands for it: the first by namespace and name, whichever order the cluster lists them
/// in, so the id recorded at create is the one every refresh finds.
fn marker<'a>(objects: impl Iterator<Item = &'a serde_json::Value>) -> Option<&'a serde_json::Value> {
    objects.min_by_key(|o| (o["metadata"]["namespace"].as_str(), o["metadata"]["name"].as_str()))
}

/// Of a kind's listed marker objects, the one that stands for `address`. EKS's aws-node
/// DaemonSet, unlabelled, is listed only when ringform has a part of it: one per cluster.
fn standing_for<'a>(owned: &'a [serde_json::Value], address: &Address) -> Option<&'a serde_json::Value> {
    if address.kind() == kubernetes::CUSTOM_NETWORKING {
        return owned.first();
    }
    let address = address.to_string();
    marker(owned.iter().filter(|o| labels::owner(o) == Some(address.as_str())))
}

/// The marker object's identity, as state records it: `apiVersion/kind/namespace/name`.
fn provider_id(object: &ObjectRef) -> String {
    format!("{}/{}/{}/{}", object.api_version, object.kind, object.namespace.as_deref().unwrap_or(""), object.name)
}

fn outputs(marker: &serde_json::Value) -> Attributes {
    let mut outputs = Attributes::new();
    if let Ok(object) = ObjectRef::of(marker) {
        outputs.insert("id".to_owned(), provider_id(&object).into());
        outputs.insert("name".to_owned(), object.name.into());
    }
    outputs
}

/// `recorded` with what the cluster shows for the inputs it records; what the cluster cannot
/// show (how to reach it, its name) is carried over.
fn merged(recorded: &Attributes, observed: Attributes) -> Attributes {
    let mut inputs = recorded.clone();
    for (key, value) in observed {
        if let Some(slot) = inputs.get_mut(&key) {
            *slot = value;
        }
    }
    inputs
}

fn merged_outputs(recorded: &Attributes, observed: Attributes) -> Attributes {
    let mut outputs = recorded.clone();
    outputs.extend(observed.into_iter().filter(|(_, v)| *v != Value::Null));
    outputs
}

impl ResourceProvider for KubeProvider {
    fn schema(&self) -> &'static ProviderSchema {
        &kubernetes::SCHEMA
    }

    fn create(&self, request: CreateRequest) -> BoxFuture<'_, ProviderResult<Applied>> {
        Box::pin(async move { self.apply(&request.deployment, &request.address, &request.inputs).await })
    }

    fn update(&self, request: UpdateRequest) -> BoxFuture<'_, ProviderResult<Applied>> {
        Box::pin(async move { self.apply(&request.deployment, &request.address, &request.after).await })
    }

    fn delete(&self, request: DeleteRequest) -> BoxFuture<'_, ProviderResult<()>> {
        Box::pin(async move { self.remove(&request).await })
    }

    fn read(&self, request: ReadRequest) -> BoxFuture<'_, ProviderResult<ReadResponse>> {
        Box::pin(self.read_impl(request))
    }

    fn find(&self, request: FindRequest) -> BoxFuture<'_, ProviderResult<Option<Observed>>> {
        Box::pin(self.find_impl(request))
    }
}
