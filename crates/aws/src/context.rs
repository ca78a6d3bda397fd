//! What every operation carries: settings, the region's clients, the deployment, and a subject
//! for messages.

use std::sync::Arc;

use ringform_core::Address;
use ringform_core::provider::{Observed, ProviderError};

use crate::AwsSettings;
use crate::attrs::{merge, merge_outputs};
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
}

/// An AWS object as one describe call saw it: its id, tags, the inputs AWS reports, and outputs.
#[derive(Clone, Debug, Default)]
pub(crate) struct Object {
    pub id: String,
    pub tags: std::collections::BTreeMap<String, String>,
    pub observed: ringform_core::Attributes,
    pub outputs: ringform_core::Attributes,
}

impl Object {
    /// The object as the engine sees it: `base_inputs`/`base_outputs` (recorded, or desired on a
    /// find) overlaid with what AWS reports.
    pub fn into_observed(
        self,
        address: &Address,
        base_inputs: &ringform_core::Attributes,
        base_outputs: &ringform_core::Attributes,
    ) -> Observed {
        Observed {
            address: address.clone(),
            provider_id: self.id,
            inputs: merge(base_inputs, self.observed),
            outputs: merge_outputs(base_outputs, self.outputs),
        }
    }
}
