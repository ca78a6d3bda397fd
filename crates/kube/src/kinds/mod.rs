//! One [`Spec`] per kind: the Kubernetes objects a resource is made of, the type listed to find
//! it again, and how its inputs read back from what the cluster holds. Creating and updating
//! are the same server-side apply; deleting removes the objects in reverse order.

mod cassandra;
pub mod coredns;
mod install;
mod namespace;
pub mod pod_networking;
pub mod rebuild;
mod remote_access;
mod secret;
mod storage_class;

use ringform_core::provider::ProviderError;
use ringform_core::{Address, Attributes, Inputs, Kind};
use ringform_schema::kubernetes;
use serde_json::Value;

use crate::error::KubeResult;

/// One resource being applied.
pub struct Ctx<'a> {
    pub address: &'a Address,
    pub inputs: Inputs<'a>,
}

pub struct Spec {
    /// The objects the resource is made of, in the order they are applied.
    pub objects: fn(&Ctx<'_>) -> KubeResult<Vec<Value>>,
    /// The type of the object that stands for the resource: listed (by ownership label) to
    /// refresh and to find it, and read back by `observe`.
    pub marker: (&'static str, &'static str),
    /// The inputs that object shows.
    pub observe: fn(&Value) -> KubeResult<Attributes>,
    /// What else must hold before the resource is made.
    pub settle: Settle,
}

/// What makes a resource done once its objects are stored and show their conditions, and the
/// outputs only the cluster knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settle {
    /// Nothing more.
    Stored,
    /// The token controller has filled the service-account token Secret; output `kubeconfig`
    /// reaches the cluster with that token.
    Token,
    /// The k8ssandra control plane has loaded the ClientConfig (it annotates the hashes of what
    /// it loaded); output `context_name`.
    Loaded,
    /// The datacenter is Ready; output `seed_ips` holds its seed pods' addresses.
    Seeds,
    /// The load balancer has an address; output `ips` holds where it answers (an AWS load
    /// balancer's host name resolved to every address it stands for, one per zone).
    LoadBalancer,
    /// The CassandraTask has finished on every node, none failing.
    Task,
}

pub fn spec(kind: Kind) -> KubeResult<&'static Spec> {
    Ok(match kind {
        kubernetes::ENI_CONFIG => &pod_networking::ENI_CONFIG,
        kubernetes::CUSTOM_NETWORKING => &pod_networking::CUSTOM_NETWORKING,
        kubernetes::NAMESPACE => &namespace::SPEC,
        kubernetes::SECRET => &secret::SPEC,
        kubernetes::STORAGE_CLASS => &storage_class::SPEC,
        kubernetes::CERT_MANAGER => &install::CERT_MANAGER,
        kubernetes::K8SSANDRA_OPERATOR => &install::K8SSANDRA_OPERATOR,
        kubernetes::CASS_OPERATOR => &install::CASS_OPERATOR,
        kubernetes::SERVICE_ACCOUNT => &remote_access::SERVICE_ACCOUNT_TOKEN,
        kubernetes::CLIENT_CONFIG => &remote_access::CLIENT_CONFIG,
        kubernetes::CASSANDRA_DATACENTER => &cassandra::DATACENTER,
        kubernetes::K8SSANDRA_CLUSTER => &cassandra::K8SSANDRA_CLUSTER,
        kubernetes::REBUILD => &rebuild::SPEC,
        kubernetes::DNS_ENDPOINT => &coredns::DNS_ENDPOINT,
        kubernetes::COREDNS_STUB_DOMAINS => &coredns::STUB_DOMAINS,
        other => return Err(ProviderError::fatal(format!("{other} is not a Kubernetes kind"))),
    })
}

/// `name=value` pairs as attributes.
fn attributes<const N: usize>(pairs: [(&str, ringform_core::Value); N]) -> Attributes {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// The integer at `pointer` in `object`, as a value; null when absent.
fn int_at(object: &Value, pointer: &str) -> ringform_core::Value {
    object.pointer(pointer).and_then(Value::as_i64).map_or(ringform_core::Value::Null, ringform_core::Value::Int)
}

/// The text at `pointer` in `object` (`/metadata/name`), as a value; null when absent.
fn text_at(object: &Value, pointer: &str) -> ringform_core::Value {
    object.pointer(pointer).and_then(Value::as_str).map_or(ringform_core::Value::Null, Into::into)
}
