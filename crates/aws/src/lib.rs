//! ringform's AWS provider: it owns every `aws_*` resource kind — VPC networking (VPCs, subnets,
//! internet gateways, route tables, routes, security groups and their rules), cross-region VPC
//! peering and transit gateways, site-to-site VPN, IAM roles, and EKS clusters and node groups —
//! and implements the engine's [`ResourceProvider`] contract for them on aws-sdk-rust: idempotent
//! create and delete, in-place update, batched tag-filtered reads, and adoption by ownership
//! tags. Credentials, region chain and endpoint come from aws-config (`AWS_ENDPOINT_URL` points
//! it at an emulator such as moto); clients are built per region on first use.

mod attrs;
mod clients;
mod context;
mod ec2;
mod eks;
mod errors;
mod iam;
mod settings;
mod tags;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
mod wait;

use aws_smithy_runtime_api::client::http::SharedHttpClient;
use ringform_core::provider::{
    Applied, BoxFuture, CreateRequest, DeleteRequest, FindRequest, Observed, ProviderError, ProviderResult,
    ReadRequest, ReadResponse, ResourceProvider, Scope, UpdateRequest,
};
use ringform_core::{Address, Attributes, Kind, Provider, Value};

use crate::attrs::Inputs;
use crate::clients::ClientCache;
use crate::context::Ctx;

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
        let region = region_of(address.kind(), inputs);
        self.ctx(deployment, &region, subject(address, &region)).await
    }
}

/// The region calls about an object go to: IAM is global (""), everything else names its region.
fn region_of(kind: Kind, inputs: &Attributes) -> String {
    match kind {
        Kind::AwsIamRole => String::new(),
        _ => inputs.get("region").and_then(Value::as_str).unwrap_or_default().to_owned(),
    }
}

fn subject(address: &Address, region: &str) -> String {
    if region.is_empty() { address.to_string() } else { format!("{address} ({region})") }
}

fn not_aws(kind: Kind) -> ProviderError {
    ProviderError::fatal(format!("{kind} is not an AWS resource kind; the AWS provider cannot manage it"))
}

impl ResourceProvider for AwsProvider {
    fn scope(&self, address: &Address, inputs: &Attributes) -> Scope {
        Scope { provider: Provider::Aws, account: String::new(), region: region_of(address.kind(), inputs) }
    }

    fn create(&self, request: CreateRequest) -> BoxFuture<'_, ProviderResult<Applied>> {
        Box::pin(async move {
            let address = &request.address;
            let ctx = self.object_ctx(&request.deployment, address, &request.inputs).await;
            let inputs = Inputs::new(address, &request.inputs);
            match address.kind() {
                Kind::AwsIamRole => iam::create(&ctx, inputs).await,
                Kind::AwsEksCluster => eks::create_cluster(&ctx, inputs).await,
                Kind::AwsEksNodeGroup => eks::create_node_group(&ctx, inputs).await,
                kind if kind.provider() == Provider::Aws => ec2::create(&ctx, inputs).await,
                kind => Err(not_aws(kind)),
            }
        })
    }

    fn update(&self, request: UpdateRequest) -> BoxFuture<'_, ProviderResult<Applied>> {
        Box::pin(async move {
            let address = &request.address;
            let ctx = self.object_ctx(&request.deployment, address, &request.after).await;
            let before = Inputs::new(address, &request.before);
            let after = Inputs::new(address, &request.after);
            let id = request.provider_id.as_str();
            let applied = match address.kind() {
                Kind::AwsIamRole => iam::update(&ctx, before, after, id).await?,
                Kind::AwsEksCluster => eks::update_cluster(&ctx, before, after, id).await?,
                Kind::AwsEksNodeGroup => eks::update_node_group(&ctx, before, after, id).await?,
                kind if kind.provider() == Provider::Aws => ec2::update(&ctx, before, after, id).await?,
                kind => return Err(not_aws(kind)),
            };
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
            let ctx = self.object_ctx(&request.deployment, address, &request.inputs).await;
            let inputs = Inputs::new(address, &request.inputs);
            let id = request.provider_id.as_str();
            match address.kind() {
                Kind::AwsIamRole => iam::delete(&ctx, inputs, id).await,
                Kind::AwsEksCluster => eks::delete_cluster(&ctx, id).await,
                Kind::AwsEksNodeGroup => eks::delete_node_group(&ctx, inputs, id).await,
                kind if kind.provider() == Provider::Aws => ec2::delete(&ctx, inputs, id).await,
                kind => Err(not_aws(kind)),
            }
        })
    }

    fn read(&self, request: ReadRequest) -> BoxFuture<'_, ProviderResult<ReadResponse>> {
        Box::pin(async move {
            if request.resources.is_empty() {
                return Ok(ReadResponse::default());
            }
            let kind = request.kind;
            let region = request.scope.region.as_str();
            let subject = format!("reading {kind} objects of deployment {}{}", request.deployment, in_region(region));
            let ctx = self.ctx(&request.deployment, region, subject).await;
            let found = match kind {
                Kind::AwsIamRole => iam::read(&ctx, &request.resources).await?,
                Kind::AwsEksCluster => eks::read_clusters(&ctx, &request.resources).await?,
                Kind::AwsEksNodeGroup => eks::read_node_groups(&ctx, &request.resources).await?,
                kind if kind.provider() == Provider::Aws => ec2::read(&ctx, kind, &request.resources).await?,
                kind => return Err(not_aws(kind)),
            };
            Ok(ReadResponse { found })
        })
    }

    fn find(&self, request: FindRequest) -> BoxFuture<'_, ProviderResult<Option<Observed>>> {
        Box::pin(async move {
            let address = &request.address;
            let ctx = self.object_ctx(&request.deployment, address, &request.inputs).await;
            let inputs = Inputs::new(address, &request.inputs);
            match address.kind() {
                Kind::AwsIamRole => iam::find(&ctx, inputs).await,
                Kind::AwsEksCluster => eks::find_cluster(&ctx, inputs).await,
                Kind::AwsEksNodeGroup => eks::find_node_group(&ctx, inputs).await,
                kind if kind.provider() == Provider::Aws => ec2::find(&ctx, inputs).await,
                kind => Err(not_aws(kind)),
            }
        })
    }
}

fn in_region(region: &str) -> String {
    if region.is_empty() { String::new() } else { format!(" in {region}") }
}
