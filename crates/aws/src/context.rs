//! What every operation carries (settings, the region's clients, the deployment, a subject for
//! messages), and [`Object`]: an AWS object as ringform sees it.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use ringform_core::provider::{Applied, Observed, ProviderError};
use ringform_core::{Address, Attributes, Value};

use crate::AwsSettings;
use crate::attrs::{attributes, merge, merge_outputs};
use crate::clients::Clients;
use crate::errors::ApiError;
use crate::tags;

pub(crate) struct Ctx<'a> {
    pub settings: &'a AwsSettings,
    pub clients: Arc<Clients>,
    pub deployment: &'a str,
    pub region: String,
    /// Names what the operation is about, e.g. "aws_vpc.eu-west (eu-west-1)".
    pub subject: String,
}

impl Ctx<'_> {
    pub fn ec2(&self) -> &aws_sdk_ec2::Client {
        &self.clients.ec2
    }

    pub fn eks(&self) -> &aws_sdk_eks::Client {
        &self.clients.eks
    }

    pub fn iam(&self) -> &aws_sdk_iam::Client {
        &self.clients.iam
    }

    /// Maps a failed call to a [`ProviderError`] saying what was being done: `.map_err(ctx.fail("creating the VPC"))`.
    pub fn fail<E: Into<ApiError>>(&self, doing: &str) -> impl FnOnce(E) -> ProviderError + use<'_, E> {
        let doing = format!("{}: {doing}", self.subject);
        move |error| error.into().context(&doing)
    }

    /// The ownership tags of the object at `address`.
    pub fn tags(&self, address: &Address, name: Option<&str>) -> Vec<(String, String)> {
        tags::ownership(self.deployment, address, name)
    }

    /// How a new EC2 object at `address` is tagged: ownership tags, and `Name` if it has one.
    pub fn ec2_tags(&self, resource: ResourceType, address: &Address, name: Option<&str>) -> TagSpecification {
        tags::ec2_spec(resource, &self.tags(address, name))
    }

    /// The error for a create AWS refused because `name` is taken: the object holding it is
    /// not this deployment's (its own would have been found and adopted).
    pub fn taken(&self, what: &str, name: &str, error: ApiError) -> ProviderError {
        ProviderError::fatal(format!(
            "{}: {what} {name} already exists and is not tagged as this deployment's",
            self.subject
        ))
        .with_source(error)
        .with_hint("rename it in the topology, or delete the other one")
    }
}

/// An AWS object as a describe saw it or a create made it: its id, tags, the inputs AWS reports
/// (all of them, or those a create's caller needs to know), and its outputs.
#[derive(Clone, Debug, Default)]
pub(crate) struct Object {
    pub id: String,
    pub tags: BTreeMap<String, String>,
    pub observed: Attributes,
    pub outputs: Attributes,
}

/// `{"id": id}`: what most kinds output.
pub(crate) fn id_output(id: &str) -> Attributes {
    attributes([("id", id.into())])
}

impl Object {
    /// An object whose one output is its id.
    pub fn new(id: impl Into<String>) -> Object {
        let id = id.into();
        Object { outputs: id_output(&id), id, ..Object::default() }
    }

    /// An EC2 object carrying `tags`, as a describe lists it.
    pub fn tagged(id: &str, tags: &[Tag], observed: Attributes) -> Object {
        Object { tags: tags::ec2_map(tags), observed, ..Object::new(id) }
    }

    /// Reports the `Name` tag as the `name` input, for kinds that have one.
    pub fn named(mut self) -> Object {
        self.observed.insert("name".to_owned(), self.tags.get("Name").cloned().into());
        self
    }

    /// True when AWS reports input `name` as `value`.
    pub fn reports(&self, name: &str, value: &str) -> bool {
        self.observed.get(name).and_then(Value::as_str) == Some(value)
    }

    /// What a create returns for this object.
    pub fn applied(self) -> Applied {
        Applied { provider_id: self.id, outputs: self.outputs }
    }

    /// The object as the engine sees it: `base_inputs`/`base_outputs` (recorded, or desired on a
    /// find) overlaid with what AWS reports.
    pub fn into_observed(self, address: &Address, base_inputs: &Attributes, base_outputs: &Attributes) -> Observed {
        Observed {
            address: address.clone(),
            provider_id: self.id,
            inputs: merge(address.kind(), base_inputs, self.observed),
            outputs: merge_outputs(base_outputs, self.outputs),
        }
    }
}
