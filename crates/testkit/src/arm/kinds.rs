//! The resource types the fake serves and what ARM knows about each of them.

use super::errors::ArmError;

/// A resource type served by the fake ARM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Kind {
    ResourceGroup,
    VirtualNetwork,
    PublicIp,
    VnetGateway,
    Connection,
    LocalGateway,
    Peering,
    ManagedCluster,
    AgentPool,
    /// Nested under the scope it grants on, which may be any resource.
    RoleAssignment,
}

pub(super) const NETWORK: &str = "Microsoft.Network";
pub(super) const CONTAINER_SERVICE: &str = "Microsoft.ContainerService";
pub(super) const RESOURCES: &str = "Microsoft.Resources";
pub(super) const AUTHORIZATION: &str = "Microsoft.Authorization";

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::ResourceGroup,
        Kind::VirtualNetwork,
        Kind::PublicIp,
        Kind::VnetGateway,
        Kind::Connection,
        Kind::LocalGateway,
        Kind::Peering,
        Kind::ManagedCluster,
        Kind::AgentPool,
        Kind::RoleAssignment,
    ];

    /// The name used by the fixtures (`<key>.schema.json`, `api-versions.json`) and as the last
    /// segment of the type.
    pub fn key(self) -> &'static str {
        match self {
            Kind::ResourceGroup => "resourceGroups",
            Kind::VirtualNetwork => "virtualNetworks",
            Kind::PublicIp => "publicIPAddresses",
            Kind::VnetGateway => "virtualNetworkGateways",
            Kind::Connection => "connections",
            Kind::LocalGateway => "localNetworkGateways",
            Kind::Peering => "virtualNetworkPeerings",
            Kind::ManagedCluster => "managedClusters",
            Kind::AgentPool => "agentPools",
            Kind::RoleAssignment => "roleAssignments",
        }
    }

    /// The api-version of a type whose fixtures are ringform's own rather than copies of the
    /// shared ones: `api-versions.json` is such a copy, never edited, so it has no entry for them.
    pub fn own_api_version(self) -> Option<&'static str> {
        match self {
            Kind::RoleAssignment => Some("2022-04-01"),
            _ => None,
        }
    }

    /// The kind whose fixtures (api-version, schema) this one uses: agent pools have none of
    /// their own and are served at their cluster's api-version.
    pub fn fixture(self) -> Kind {
        match self {
            Kind::AgentPool => Kind::ManagedCluster,
            _ => self,
        }
    }

    pub fn namespace(self) -> &'static str {
        match self {
            Kind::ResourceGroup => RESOURCES,
            Kind::ManagedCluster | Kind::AgentPool => CONTAINER_SERVICE,
            Kind::RoleAssignment => AUTHORIZATION,
            _ => NETWORK,
        }
    }

    /// The kind a child resource is nested under: a peering's network, a pool's cluster.
    pub fn parent(self) -> Option<Kind> {
        match self {
            Kind::Peering => Some(Kind::VirtualNetwork),
            Kind::AgentPool => Some(Kind::ManagedCluster),
            _ => None,
        }
    }

    /// What a nested resource's id puts between its parent's id and its name.
    pub fn child_path(self) -> String {
        match self {
            Kind::RoleAssignment => format!("providers/{}", self.type_name()),
            _ => self.key().to_string(),
        }
    }

    /// The child kind a path segment after one of this kind's resources names, if any.
    pub fn child(self, segment: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.parent() == Some(self) && k.key().eq_ignore_ascii_case(segment))
    }

    /// The ARM type as responses spell it, e.g. `Microsoft.Network/virtualNetworks`.
    pub fn type_name(self) -> String {
        match self.parent() {
            Some(parent) => format!("{}/{}", parent.type_name(), self.key()),
            None => format!("{}/{}", self.namespace(), self.key()),
        }
    }

    /// Tracked resources carry a location; proxy resources (children, role assignments) have none.
    pub fn tracked(self) -> bool {
        self.parent().is_none() && self != Kind::RoleAssignment
    }

    /// Resource-group and role-assignment PUTs are synchronous; every other PUT is long-running.
    pub fn long_running_put(self) -> bool {
        !matches!(self, Kind::ResourceGroup | Kind::RoleAssignment)
    }

    /// Role assignments are deleted at once (200); every other DELETE is long-running.
    pub fn long_running_delete(self) -> bool {
        self != Kind::RoleAssignment
    }

    /// Whether `name` (a full type, a short one, or the fixtures' key) names this kind.
    pub fn matches(self, name: &str) -> bool {
        name.eq_ignore_ascii_case(self.key()) || name.eq_ignore_ascii_case(&self.type_name())
    }

    /// Resolves `{namespace}/{type}` as it appears after `/providers/`, for the top-level types;
    /// with ARM's errors for a namespace or a type that is not registered.
    pub fn from_provider(namespace: &str, type_segment: &str) -> Result<Kind, ArmError> {
        let known = [NETWORK, CONTAINER_SERVICE, RESOURCES].iter().any(|ns| ns.eq_ignore_ascii_case(namespace));
        if !known {
            return Err(ArmError::bad_request(
                "NoRegisteredProviderFound",
                format!("No registered resource provider found for namespace '{namespace}'."),
            ));
        }
        Kind::ALL
            .into_iter()
            .filter(|k| *k != Kind::ResourceGroup && k.parent().is_none())
            .find(|k| k.namespace().eq_ignore_ascii_case(namespace) && k.key().eq_ignore_ascii_case(type_segment))
            .ok_or_else(|| invalid_type(namespace, type_segment))
    }
}

pub(super) fn invalid_type(namespace: &str, type_path: &str) -> ArmError {
    ArmError::not_found(
        "InvalidResourceType",
        format!("The resource type '{type_path}' could not be found in the namespace '{namespace}'."),
    )
}
