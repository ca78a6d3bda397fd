//! [`AzureProvider`]: the engine's provider contract for every Azure kind, on one generic path
//! (PUT, wait, GET, observe) with the few per-kind exceptions spelled out: an AKS VM size
//! change, a VNet update keeping what others attached, kubeconfigs, untaggable peerings and role
//! assignments (one made under another name is adopted).

use std::sync::OnceLock;

use ringform_core::provider::{
    ADDRESS_TAG, Applied, BoxFuture, CreateRequest, DEPLOYMENT_TAG, DeleteRequest, FindRequest, Observed,
    ProviderError, ProviderResult, ReadRequest, ReadResponse, ResourceProvider, UpdateRequest,
};
use ringform_core::schema::ProviderSchema;
use ringform_core::{Address, Attributes, Inputs, Kind, Value};
use ringform_schema::azure;

use crate::arm::{ArmClient, MANAGED_CLUSTERS, ResourceType, WaitClass};
use crate::attrs::reconcile;
use crate::error::{ArmError, ArmResult};
use crate::kinds::{self, Ctx, Seen, aks, role_assignment, spec};
use crate::settings::AzureSettings;

/// AKS node pools, for deleting the old system pool after a VM size change.
const AGENT_POOLS: ResourceType = ResourceType {
    name: "Microsoft.ContainerService/managedClusters/agentPools",
    api_version: MANAGED_CLUSTERS.api_version,
    wait: WaitClass::Aks,
};

/// Subnet properties other parties attach (NSGs, route tables, delegations...), kept when a
/// VNet update rewrites the subnet list.
const KEPT_SUBNET_PROPERTIES: &[&str] = &[
    "networkSecurityGroup",
    "routeTable",
    "natGateway",
    "serviceEndpoints",
    "serviceEndpointPolicies",
    "delegations",
    "privateEndpointNetworkPolicies",
    "privateLinkServiceNetworkPolicies",
    "defaultOutboundAccess",
];

/// Manages Azure objects through ARM. Cheap to build: no credential or connection is made
/// until the first call, so `ringform plan` needs none.
pub struct AzureProvider {
    settings: AzureSettings,
    client: OnceLock<ArmClient>,
}

impl AzureProvider {
    pub fn new(settings: AzureSettings) -> AzureProvider {
        AzureProvider { settings, client: OnceLock::new() }
    }

    fn client(&self) -> ArmResult<&ArmClient> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        // Built again on each call while it fails, so every error keeps its cause; two racing
        // first calls may both build one, and one of them is kept.
        let client = ArmClient::new(&self.settings)?;
        Ok(self.client.get_or_init(|| client))
    }

    /// The resource's subscription input, else the default one.
    fn subscription(&self, address: &Address, inputs: &Attributes) -> ArmResult<String> {
        match Inputs::new(address, inputs).opt_str("subscription")? {
            Some(subscription) => Ok(subscription.to_owned()),
            None => self.default_subscription(address),
        }
    }

    fn default_subscription(&self, what: &dyn std::fmt::Display) -> ArmResult<String> {
        self.settings.default_subscription.clone().ok_or_else(|| {
            ArmError::invalid(format!(
                "{what}: no Azure subscription: set `subscription` on the cluster in the topology, or AZURE_SUBSCRIPTION_ID"
            ))
        })
    }

    fn ctx<'a>(&self, deployment: &'a str, address: &'a Address, inputs: &'a Attributes) -> ArmResult<Ctx<'a>> {
        Ok(Ctx::new(self.subscription(address, inputs)?, deployment, address, inputs))
    }

    async fn create_impl(&self, request: CreateRequest) -> ArmResult<Applied> {
        let kind = request.address.kind();
        let spec = spec(kind)?;
        let ctx = self.ctx(&request.deployment, &request.address, &request.inputs)?;
        let id = ctx.id(kind)?;
        let client = self.client()?;
        let resource = match client.put(&id, spec.ty, &(spec.body)(&ctx)?).await {
            // The same grant under another name (the Azure CLI's, say): that one is adopted.
            Err(error) if error.code() == Some("RoleAssignmentExists") => {
                match role_assignment::existing(client, &ctx.inputs).await? {
                    Some(existing) => existing,
                    None => return Err(error),
                }
            }
            other => other?,
        };
        let observed =
            self.observe(kind, &request.address, &resource, &request.inputs, &Attributes::new(), &id).await?;
        Ok(Applied { provider_id: observed.provider_id, outputs: observed.outputs })
    }

    async fn update_impl(&self, request: UpdateRequest) -> ArmResult<Applied> {
        let kind = request.address.kind();
        let spec = spec(kind)?;
        let ctx = self.ctx(&request.deployment, &request.address, &request.after)?;
        let id = ctx.id(kind)?;
        let client = self.client()?;
        let resource = match kind {
            azure::AKS_CLUSTER => self.update_cluster(&ctx, &id).await?,
            azure::VIRTUAL_NETWORK => {
                let mut body = (spec.body)(&ctx)?;
                if let Some(current) = client.get(&id, spec.ty).await? {
                    keep_attached(&mut body, &current);
                }
                client.put(&id, spec.ty, &body).await?
            }
            _ => client.put(&id, spec.ty, &(spec.body)(&ctx)?).await?,
        };
        let recorded_id = if request.provider_id.is_empty() { id } else { request.provider_id.clone() };
        let observed =
            self.observe(kind, &request.address, &resource, &request.after, &request.outputs, &recorded_id).await?;
        Ok(Applied { provider_id: observed.provider_id, outputs: observed.outputs })
    }

    /// Count, version and network changes are one PUT of the cluster (as `az aks scale` does).
    /// AKS refuses to change a pool's VM size, and refuses to add or remove pools through the
    /// cluster, and a cluster needs a system pool at all times. So a size change first adds a
    /// system pool of the new size under the other of two names with the agent pools API,
    /// deletes the old pool (AKS cordons and drains it onto the new one), then PUTs the cluster.
    async fn update_cluster(&self, ctx: &Ctx<'_>, id: &str) -> ArmResult<serde_json::Value> {
        let client = self.client()?;
        let current: Option<aks::ManagedCluster> = match client.get(id, MANAGED_CLUSTERS).await? {
            Some(resource) => Some(kinds::decode(&resource)?),
            None => None,
        };
        let old_pool = current.as_ref().and_then(|c| c.system_pool()).cloned();
        let pool_name = old_pool.as_ref().map_or(aks::POOL_NAMES[0], |p| p.name.as_str());
        let mut cluster = aks::cluster(ctx, pool_name)?;
        if let Some(old_pool) = old_pool
            && let Some(pool) = cluster.properties.agent_pool_profiles.first_mut()
            && !pool.vm_size.eq_ignore_ascii_case(&old_pool.vm_size)
        {
            pool.name =
                if old_pool.name == aks::POOL_NAMES[0] { aks::POOL_NAMES[1] } else { aks::POOL_NAMES[0] }.to_owned();
            client.put(&format!("{id}/agentPools/{}", pool.name), AGENT_POOLS, &aks::pool_body(pool)?).await?;
            client.delete(&format!("{id}/agentPools/{}", old_pool.name), AGENT_POOLS).await?;
        }
        client.put(id, MANAGED_CLUSTERS, &cluster).await
    }

    async fn delete_impl(&self, request: DeleteRequest) -> ArmResult<()> {
        let kind = request.address.kind();
        let spec = spec(kind)?;
        let id = if request.provider_id.is_empty() {
            self.ctx(&request.deployment, &request.address, &request.inputs)?.id(kind)?
        } else {
            request.provider_id.clone()
        };
        // Deleting a resource group deletes everything in it; the engine deletes it last.
        self.client()?.delete(&id, spec.ty).await
    }

    async fn read_impl(&self, request: ReadRequest) -> ArmResult<ReadResponse> {
        let kind = request.kind;
        if request.resources.is_empty() {
            return Ok(ReadResponse::default());
        }
        let subscription = match request.scope.account.as_str() {
            "" => self.default_subscription(&request.scope)?,
            account => account.to_owned(),
        };
        let candidates = if spec(kind)?.taggable {
            self.list_owned(kind, &subscription, &request.deployment).await?
        } else if kind == azure::ROLE_ASSIGNMENT {
            // Scattered over scopes: each is read at its own id.
            let mut items = vec![];
            for tracked in &request.resources {
                items.extend(self.client()?.get(&tracked.provider_id, spec(kind)?.ty).await?);
            }
            items
        } else {
            // Untaggable children: one list per parent VNet of the tracked peerings.
            let mut parents: Vec<&str> = request.resources.iter().filter_map(|r| parent_of(&r.provider_id)).collect();
            parents.sort_by_key(|p| p.to_ascii_lowercase());
            parents.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
            let mut items = vec![];
            for parent in parents {
                items.extend(self.list_children(parent).await?);
            }
            items
        };
        let mut found = vec![];
        for tracked in &request.resources {
            let same_id = |c: &&serde_json::Value| {
                c.get("id").and_then(|v| v.as_str()).is_some_and(|id| id.eq_ignore_ascii_case(&tracked.provider_id))
            };
            if let Some(resource) = candidates.iter().find(same_id) {
                found.push(
                    self.observe(
                        kind,
                        &tracked.address,
                        resource,
                        &tracked.inputs,
                        &tracked.outputs,
                        &tracked.provider_id,
                    )
                    .await?,
                );
            }
        }
        Ok(ReadResponse { found })
    }

    /// Every object of `kind` in the subscription tagged with the deployment: one listing.
    async fn list_owned(&self, kind: Kind, subscription: &str, deployment: &str) -> ArmResult<Vec<serde_json::Value>> {
        let ty = spec(kind)?.ty;
        let client = self.client()?;
        let items = if kind == azure::RESOURCE_GROUP {
            // Resource groups are the one collection ARM filters by tag server-side.
            let filter = format!("tagName eq '{DEPLOYMENT_TAG}' and tagValue eq '{}'", deployment.replace('\'', "''"));
            client.list(&format!("/subscriptions/{subscription}/resourcegroups"), ty, Some(&filter)).await?
        } else {
            client.list(&format!("/subscriptions/{subscription}/providers/{}", ty.name), ty, None).await?
        };
        Ok(items.into_iter().filter(|item| tag(item, DEPLOYMENT_TAG) == Some(deployment)).collect())
    }

    /// The peerings of one VNet; none when the VNet is gone.
    async fn list_children(&self, parent: &str) -> ArmResult<Vec<serde_json::Value>> {
        let ty = kinds::peering::SPEC.ty;
        match self.client()?.list(&format!("{parent}/virtualNetworkPeerings"), ty, None).await {
            Err(e) if e.is_not_found() => Ok(vec![]),
            other => other,
        }
    }

    async fn find_impl(&self, request: FindRequest) -> ArmResult<Option<Observed>> {
        let kind = request.address.kind();
        let spec = spec(kind)?;
        let ctx = self.ctx(&request.deployment, &request.address, &request.inputs)?;
        let id = ctx.id(kind)?;
        let resource = if spec.taggable {
            let address = request.address.to_string();
            let mut owned = self.list_owned(kind, &ctx.subscription, &request.deployment).await?;
            owned.retain(|item| tag(item, ADDRESS_TAG) == Some(address.as_str()));
            if owned.len() > 1 {
                let ids: Vec<&str> = owned.iter().filter_map(|o| o.get("id").and_then(|v| v.as_str())).collect();
                return Err(ArmError::invalid(format!(
                    "{address}: {} objects carry this deployment's tags for it ({}); delete the extra ones by hand",
                    owned.len(),
                    ids.join(", ")
                )));
            }
            owned.pop()
        } else {
            // Peerings and role assignments have no tags; the deterministic id is all there is.
            self.client()?.get(&id, spec.ty).await?
        };
        match resource {
            None => Ok(None),
            Some(resource) => Ok(Some(
                self.observe(kind, &request.address, &resource, &request.inputs, &Attributes::new(), &id).await?,
            )),
        }
    }

    /// A GET answer in the graph's terms, reconciled with what state recorded; AKS clusters
    /// also get their kubeconfig, carried over when recorded, else fetched.
    async fn observe(
        &self,
        kind: Kind,
        address: &Address,
        resource: &serde_json::Value,
        recorded_inputs: &Attributes,
        recorded_outputs: &Attributes,
        recorded_id: &str,
    ) -> ArmResult<Observed> {
        let Seen { id, tags: _, mut inputs, outputs } = (spec(kind)?.observe)(resource)?;
        if kind != azure::RESOURCE_GROUP
            && let Some(group) = segment_after(&id, "resourceGroups")
        {
            inputs.insert("resource_group".to_owned(), group.into());
        }
        if kind == azure::VNET_PEERING
            && let Some(vnet) = segment_after(&id, "virtualNetworks")
        {
            inputs.insert("virtual_network_name".to_owned(), vnet.into());
        }
        let schema = kinds::schema(kind)?;
        let inputs = reconcile(inputs, recorded_inputs, schema.inputs, true);
        let mut outputs = reconcile(outputs, recorded_outputs, schema.outputs, false);
        let provider_id =
            if id.is_empty() || id.eq_ignore_ascii_case(recorded_id) { recorded_id.to_owned() } else { id };
        if kind == azure::AKS_CLUSTER && !matches!(outputs.get("kubeconfig"), Some(Value::Secret(_))) {
            let credentials = self.client()?.post(&provider_id, "listClusterAdminCredential", MANAGED_CLUSTERS).await?;
            outputs.insert("kubeconfig".to_owned(), aks::kubeconfig(&credentials, &provider_id)?);
        }
        Ok(Observed { address: address.clone(), provider_id, inputs, outputs })
    }
}

/// The value of tag `name` on a listed resource.
fn tag<'a>(resource: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    resource.get("tags")?.get(name)?.as_str()
}

/// The path segment after `/{key}/` in an ARM id, matching the key ignoring case.
fn segment_after<'a>(id: &'a str, key: &str) -> Option<&'a str> {
    let mut parts = id.split('/');
    parts.by_ref().find(|p| p.eq_ignore_ascii_case(key))?;
    parts.next().filter(|p| !p.is_empty())
}

/// The VNet id a peering id belongs to.
fn parent_of(peering_id: &str) -> Option<&str> {
    let at = peering_id.to_ascii_lowercase().rfind("/virtualnetworkpeerings/")?;
    peering_id.get(..at)
}

/// Copies into a VNet body what ARM would otherwise drop on PUT and ringform does not manage:
/// the peerings, and properties other parties set on subnets that stay.
fn keep_attached(body: &mut serde_json::Value, current: &serde_json::Value) {
    let current_properties = current.get("properties");
    let Some(properties) = body.get_mut("properties").and_then(|p| p.as_object_mut()) else { return };
    if let Some(peerings) = current_properties.and_then(|p| p.get("virtualNetworkPeerings")).filter(|p| p.is_array()) {
        properties.insert("virtualNetworkPeerings".to_owned(), peerings.clone());
    }
    let current_subnets = current_properties.and_then(|p| p.get("subnets")).and_then(|s| s.as_array());
    let Some(subnets) = properties.get_mut("subnets").and_then(|s| s.as_array_mut()) else { return };
    for subnet in subnets {
        let name = subnet.get("name").and_then(|n| n.as_str()).unwrap_or_default().to_owned();
        let existing = current_subnets
            .into_iter()
            .flatten()
            .find(|s| s.get("name").and_then(|n| n.as_str()).is_some_and(|n| n.eq_ignore_ascii_case(&name)));
        let (Some(existing), Some(target)) = (
            existing.and_then(|s| s.get("properties")).and_then(|p| p.as_object()),
            subnet.get_mut("properties").and_then(|p| p.as_object_mut()),
        ) else {
            continue;
        };
        for key in KEPT_SUBNET_PROPERTIES {
            if let Some(value) = existing.get(*key) {
                target.entry((*key).to_owned()).or_insert_with(|| value.clone());
            }
        }
    }
}

impl ResourceProvider for AzureProvider {
    /// ARM limits and listings are per subscription; regions do not matter.
    fn schema(&self) -> &'static ProviderSchema {
        &azure::SCHEMA
    }

    fn create(&self, request: CreateRequest) -> BoxFuture<'_, ProviderResult<Applied>> {
        Box::pin(async move { self.create_impl(request).await.map_err(ProviderError::from) })
    }

    fn update(&self, request: UpdateRequest) -> BoxFuture<'_, ProviderResult<Applied>> {
        Box::pin(async move { self.update_impl(request).await.map_err(ProviderError::from) })
    }

    fn delete(&self, request: DeleteRequest) -> BoxFuture<'_, ProviderResult<()>> {
        Box::pin(async move { self.delete_impl(request).await.map_err(ProviderError::from) })
    }

    fn read(&self, request: ReadRequest) -> BoxFuture<'_, ProviderResult<ReadResponse>> {
        Box::pin(async move { self.read_impl(request).await.map_err(ProviderError::from) })
    }

    fn find(&self, request: FindRequest) -> BoxFuture<'_, ProviderResult<Option<Observed>>> {
        Box::pin(async move { self.find_impl(request).await.map_err(ProviderError::from) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_split_into_their_parts() {
        let id =
            "/subscriptions/s/resourcegroups/RG/providers/Microsoft.Network/virtualNetworks/v/virtualNetworkPeerings/p";
        assert_eq!(segment_after(id, "resourceGroups"), Some("RG"));
        assert_eq!(segment_after(id, "virtualNetworks"), Some("v"));
        assert_eq!(
            parent_of(id),
            Some("/subscriptions/s/resourcegroups/RG/providers/Microsoft.Network/virtualNetworks/v")
        );
        assert_eq!(segment_after("/subscriptions/s", "resourceGroups"), None);
    }

    #[test]
    fn vnet_updates_keep_peerings_and_subnet_attachments() {
        let mut body = serde_json::json!({"properties": {"subnets": [
            {"name": "nodes", "properties": {"addressPrefix": "10.0.0.0/24"}}
        ]}});
        let current = serde_json::json!({"properties": {
            "virtualNetworkPeerings": [{"name": "to-x"}],
            "subnets": [{"name": "Nodes", "properties": {"addressPrefix": "10.9.0.0/24", "routeTable": {"id": "rt"}}}]
        }});
        keep_attached(&mut body, &current);
        assert_eq!(body["properties"]["virtualNetworkPeerings"][0]["name"], "to-x");
        assert_eq!(body["properties"]["subnets"][0]["properties"]["routeTable"]["id"], "rt");
        assert_eq!(body["properties"]["subnets"][0]["properties"]["addressPrefix"], "10.0.0.0/24");
    }

    #[test]
    fn scope_is_the_subscription_or_empty() {
        let provider = AzureProvider::new(AzureSettings::default());
        let address: Address = "azure_virtual_network.eastus".parse().unwrap();
        let with = [("subscription".to_owned(), Value::from("sub-1"))].into();
        assert_eq!(provider.scope(&address, &with).account, "sub-1");
        assert_eq!(provider.scope(&address, &Attributes::new()).account, "");
    }
}
