//! ringform's AWS provider: it owns every `aws_*` resource kind — VPC networking (VPCs, subnets,
//! internet gateways, route tables, routes, security groups and their rules), cross-region VPC
//! peering and transit gateways, site-to-site VPN, IAM roles, and EKS clusters, node groups and
//! add-ons — and implements the engine's [`ResourceProvider`] contract for them on aws-sdk-rust:
//! idempotent create and delete, in-place update, batched tag-filtered reads, and adoption by
//! ownership tags. Credentials, region chain and endpoint come from aws-config (`AWS_ENDPOINT_URL`
//! points it at an emulator such as moto); clients are built per region on first use.

mod addon;
mod attrs;
mod clients;
mod context;
mod ec2;
mod eks;
mod errors;
mod iam;
mod kinds;
mod settings;
mod tags;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
mod wait;

use aws_smithy_runtime_api::client::http::SharedHttpClient;
use ringform_core::provider::{
    Applied, BoxFuture, CreateRequest, DeleteRequest, FindRequest, Observed, ProviderResult, ReadRequest, ReadResponse,
    ResourceProvider, UpdateRequest,
};
use ringform_core::schema::ProviderSchema;
use ringform_core::{Address, Attributes, Inputs};
use ringform_schema::aws;

use crate::clients::ClientCache;
use crate::context::Ctx;
use crate::kinds::Change;

pub use clients::sdk_config;
pub use settings::AwsSettings;

/// The AWS [`ResourceProvider`]. Cheap to build: nothing talks to AWS until the first call.
pub struct AwsProvider {
    settings: AwsSettings,
    clients: ClientCache,
}

impl AwsProvider {
    pub fn new(settings: AwsSettings) -> AwsProvider {
        AwsProvider::with_http_client(settings, clients::https_client())
    }

    /// A provider whose requests all go through `http` (tests answer them with canned responses).
    pub(crate) fn with_http_client(settings: AwsSettings, http: SharedHttpClient) -> AwsProvider {
        AwsProvider { clients: ClientCache::new(settings.clone(), http), settings }
    }

    async fn ctx<'a>(&'a self, deployment: &'a str, region: &str, subject: String) -> Ctx<'a> {
        let clients = self.clients.get(region).await;
        Ctx { settings: &self.settings, clients, deployment, region: region.to_owned(), subject }
    }

    /// The context of an operation on the object at `address`: its region's clients, and a
    /// subject naming the object and region.
    async fn object_ctx<'a>(&'a self, deployment: &'a str, address: &Address, inputs: &Attributes) -> Ctx<'a> {
        // As the schema says: IAM is global (""), everything else names its region.
        let region = self.scope(address, inputs).region;
        self.ctx(deployment, &region, subject(address, &region)).await
    }
}

fn subject(address: &Address, region: &str) -> String {
    if region.is_empty() { address.to_string() } else { format!("{address} ({region})") }
}

impl ResourceProvider for AwsProvider {
    fn schema(&self) -> &'static ProviderSchema {
        &aws::SCHEMA
    }

    fn create(&self, request: CreateRequest) -> BoxFuture<'_, ProviderResult<Applied>> {
        Box::pin(async move {
            let address = &request.address;
            let spec = kinds::spec(address.kind())?;
            let ctx = self.object_ctx(&request.deployment, address, &request.inputs).await;
            kinds::adopt_or_create(spec, &ctx, Inputs::new(address, &request.inputs)).await
        })
    }

    fn update(&self, request: UpdateRequest) -> BoxFuture<'_, ProviderResult<Applied>> {
        Box::pin(async move {
            let address = &request.address;
            let spec = kinds::spec(address.kind())?;
            let ctx = self.object_ctx(&request.deployment, address, &request.after).await;
            let (before, after) = (Inputs::new(address, &request.before), Inputs::new(address, &request.after));
            let applied = (spec.update)(&ctx, Change::new(&request.provider_id, before, after)).await?;
            // Outputs AWS did not report again (e.g. a kubeconfig-relevant CA) stay as they were.
            Ok(Applied {
                provider_id: applied.provider_id,
                outputs: attrs::merge_outputs(&request.outputs, applied.outputs),
            })
        })
    }

    fn delete(&self, request: DeleteRequest) -> BoxFuture<'_, ProviderResult<()>> {
        Box::pin(async move {
            let address = &request.address;
            let spec = kinds::spec(address.kind())?;
            let ctx = self.object_ctx(&request.deployment, address, &request.inputs).await;
            (spec.delete)(&ctx, Inputs::new(address, &request.inputs), &request.provider_id).await
        })
    }

    fn read(&self, request: ReadRequest) -> BoxFuture<'_, ProviderResult<ReadResponse>> {
        Box::pin(async move {
            if request.resources.is_empty() {
                return Ok(ReadResponse::default());
            }
            let kind = request.kind;
            let spec = kinds::spec(kind)?;
            let region = request.scope.region.as_str();
            let subject = format!("reading {kind} objects of deployment {}{}", request.deployment, in_region(region));
            let ctx = self.ctx(&request.deployment, region, subject).await;
            Ok(ReadResponse { found: spec.read(&ctx, &request.resources).await? })
        })
    }

    fn find(&self, request: FindRequest) -> BoxFuture<'_, ProviderResult<Option<Observed>>> {
        Box::pin(async move {
            let address = &request.address;
            let spec = kinds::spec(address.kind())?;
            let ctx = self.object_ctx(&request.deployment, address, &request.inputs).await;
            let found = spec.find(&ctx, Inputs::new(address, &request.inputs)).await?;
            Ok(found.map(|o| o.into_observed(address, &request.inputs, &Attributes::new())))
        })
    }
}

fn in_region(region: &str) -> String {
    if region.is_empty() { String::new() } else { format!(" in {region}") }
}
