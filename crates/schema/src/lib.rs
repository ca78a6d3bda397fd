//! The schemas of ringform's providers: for every resource kind, its name, the inputs it takes
//! (required ones, those that force replacement, secrets, how values compare), the outputs it
//! returns, where calls about it go and how long they take. Each provider answers its schema
//! request from here ([`ringform_core::provider::ResourceProvider::schema`]). The schemas are
//! kept apart from the providers, as plain data with no SDK and no I/O, so that the resource
//! graph takes its kind names from them and the fake cloud and the tests can read them without
//! linking a cloud SDK. This crate knows nothing of how a kind is created; only what it is.

pub mod aws;
pub mod azure;
pub mod kubernetes;
pub mod local;

use ringform_core::schema::Schemas;

/// The Kubernetes versions ringform creates clusters at: in standard support on both EKS and AKS
/// (EKS gives a version 14 months, AKS 12), within what the cert-manager release ringform
/// installs supports (v1.20: 1.32 to 1.35), and no older than the API its Kubernetes client
/// speaks (1.33). Kept in step with each of those.
pub const KUBERNETES_VERSIONS: &[&str] = &["1.33", "1.34", "1.35"];

/// The rule both managed Kubernetes services' `kubernetes_version` follows.
const KUBERNETES_VERSION: ringform_core::schema::Rule = ringform_core::schema::Rule::OneOf {
    values: KUBERNETES_VERSIONS,
    what: "a Kubernetes version ringform supports (1.33 to 1.35: in standard support on EKS and AKS, and covered by the cert-manager it installs)",
};

/// Every provider's schema, in the order plans list kinds in: the clouds' networks and
/// clusters, the secrets ringform generates, then what runs inside the clusters.
pub fn all() -> Schemas {
    Schemas::new().with(&aws::SCHEMA).with(&azure::SCHEMA).with(&local::SCHEMA).with(&kubernetes::SCHEMA)
}

/// Character classes the clouds' naming rules are written in.
mod chars {
    pub fn alphanumeric(c: char) -> bool {
        c.is_ascii_alphanumeric()
    }

    /// What most ARM resource names and EKS names allow.
    pub fn word_or_dash(c: char) -> bool {
        c.is_ascii_alphanumeric() || c == '_' || c == '-'
    }

    pub fn word_dash_or_dot(c: char) -> bool {
        word_or_dash(c) || c == '.'
    }

    pub fn printable_ascii(c: char) -> bool {
        c.is_ascii() && !c.is_ascii_control()
    }
}
