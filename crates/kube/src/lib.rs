//! The `kubernetes` provider: what ringform puts inside each Kubernetes cluster — on EKS the VPC
//! CNI's custom networking, cert-manager, the k8ssandra or cass operator, remote access for the
//! k8ssandra control plane, the Cassandra datacenters and CoreDNS stub domains. Its kinds are
//! declared in [`ringform_schema::kubernetes`]; this crate knows how to make them: each
//! resource is a set of Kubernetes objects applied server-side (field manager `ringform`),
//! labelled with the deployment and address that own them, and waited for by watching their
//! conditions. The operators' install manifests are rendered once from the pinned upstream
//! releases and embedded ([`manifests`]), so an apply needs nothing beyond the clusters' API
//! servers.

mod access;
mod cluster;
mod datacenters;
mod dns;
pub mod eks;
mod error;
mod keyspaces;
mod kinds;
mod labels;
mod management;
pub mod manifests;
mod node_pools;
mod provider;
mod settings;
pub mod status;
mod wait;

pub use provider::KubeProvider;
pub use settings::KubeSettings;

#[cfg(test)]
mod tests;
