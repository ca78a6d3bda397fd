//! The `kubernetes` provider: what ringform puts inside each Kubernetes cluster — cert-manager,
//! the k8ssandra or cass operator, remote access for the k8ssandra control plane, the Cassandra
//! datacenters and CoreDNS stub domains. Its kinds are declared in
//! [`ringform_schema::kubernetes`]; this crate knows how to make them. The operators' install
//! manifests are rendered once from the pinned upstream releases and embedded
//! ([`manifests`]), so an apply needs no network beyond the clusters' API servers.

pub mod manifests;
