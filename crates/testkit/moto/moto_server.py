"""moto_server, with what ringform relies on that moto 5.2.5 lacks.

Runs moto's own server (same arguments as `moto_server`) after teaching it:
- the cluster security group EKS makes for every cluster in the cluster's VPC, reported as
  `resourcesVpcConfig.clusterSecurityGroupId` and deleted with the cluster;
- EKS add-ons (CreateAddon, DescribeAddon, UpdateAddon, DeleteAddon, ListAddons), the way EKS
  answers them: an add-on belongs to an existing cluster, its name must be one EKS offers, a
  second create is ResourceInUseException, it is CREATING until first described and DELETING
  once more before it is gone, and it goes with its cluster;
- static routes of a site-to-site VPN connection (CreateVpnConnectionRoute,
  DeleteVpnConnectionRoute), listed as `Routes` by DescribeVpnConnections.
Requests are routed by botocore's models like every other moto operation, so the recorder and
`/moto-api/reset` see these too.
"""

import sys
import uuid

from moto import server
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.eks import urls
from moto.eks.exceptions import (
    InvalidParameterException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from moto.eks.models import EKSBackend
from moto.eks.responses import EKSResponse
from moto.ec2.exceptions import InvalidRouteError, RouteAlreadyExistsError
from moto.ec2.models import ec2_backends
from moto.ec2.responses.vpn_connections import VPNConnections

# The add-ons EKS offers every cluster (`aws eks describe-addon-versions`), with a current
# default version of each.
DEFAULT_VERSIONS = {
    "aws-ebs-csi-driver": "v1.48.0-eksbuild.2",
    "aws-efs-csi-driver": "v2.1.11-eksbuild.1",
    "coredns": "v1.12.3-eksbuild.1",
    "eks-pod-identity-agent": "v1.3.8-eksbuild.2",
    "kube-proxy": "v1.35.0-eksbuild.2",
    "vpc-cni": "v1.20.3-eksbuild.1",
}


def not_found(cluster_name, addon_name, message):
    return ResourceNotFoundException(
        clusterName=cluster_name,
        nodegroupName=None,
        fargateProfileName=None,
        addonName=addon_name,
        message=message,
    )


def addons_of(backend, cluster_name):
    cluster = backend.clusters.get(cluster_name)
    if cluster is None:
        raise not_found(cluster_name, None, f"No cluster found for name: {cluster_name}.")
    if not hasattr(cluster, "addons"):
        cluster.addons = {}
    return cluster, cluster.addons


def create_addon(self, cluster_name, addon_name, addon_version, role_arn, configuration, tags):
    cluster, addons = addons_of(self, cluster_name)
    if addon_name not in DEFAULT_VERSIONS:
        raise InvalidParameterException(
            clusterName=cluster_name,
            nodegroupName=None,
            fargateProfileName=None,
            addonName=addon_name,
            message=f"Addon {addon_name} specified is not supported",
        )
    if addon_name in addons:
        raise ResourceInUseException(
            clusterName=cluster_name,
            nodegroupName=None,
            fargateProfileName=None,
            addonName=addon_name,
            message="Addon already exists.",
        )
    now = utcnow()
    arn = cluster.arn.replace(":cluster/", ":addon/") + f"/{addon_name}/{uuid.uuid4()}"
    addons[addon_name] = {
        "addonName": addon_name,
        "clusterName": cluster_name,
        "status": "CREATING",
        "addonVersion": addon_version or DEFAULT_VERSIONS[addon_name],
        "health": {"issues": []},
        "addonArn": arn,
        "createdAt": now,
        "modifiedAt": now,
        "serviceAccountRoleArn": role_arn,
        "tags": tags or {},
        "configurationValues": configuration,
    }
    return dict(addons[addon_name])


def stored_addon(backend, cluster_name, addon_name):
    _, addons = addons_of(backend, cluster_name)
    if addon_name not in addons:
        raise not_found(cluster_name, addon_name, f"No addon: {addon_name} found in cluster: {cluster_name}")
    return addons[addon_name]


def describe_addon(self, cluster_name, addon_name):
    addon = stored_addon(self, cluster_name, addon_name)
    described = dict(addon)
    # What EKS takes minutes for happens between one look and the next.
    if addon["status"] in ("CREATING", "UPDATING"):
        addon["status"] = "ACTIVE"
    elif addon["status"] == "DELETING":
        del self.clusters[cluster_name].addons[addon_name]
    return described


def update_addon(self, cluster_name, addon_name, addon_version):
    stored = stored_addon(self, cluster_name, addon_name)
    if addon_version:
        stored["addonVersion"] = addon_version
    stored["status"] = "UPDATING"
    stored["modifiedAt"] = utcnow()
    return {
        "id": str(uuid.uuid4()),
        "status": "InProgress",
        "type": "AddonUpdate",
        "params": [{"type": "AddonVersion", "value": stored["addonVersion"]}],
        "createdAt": stored["modifiedAt"],
        "errors": [],
    }


def delete_addon(self, cluster_name, addon_name):
    addon = stored_addon(self, cluster_name, addon_name)
    addon["status"] = "DELETING"
    return dict(addon)


def list_addons(self, cluster_name):
    _, addons = addons_of(self, cluster_name)
    return sorted(addons)


class Responses:
    """The handlers, named as moto names an operation's handler (CreateAddon → create_addon)."""

    def create_addon(self):
        addon = self.eks_backend.create_addon(
            self._get_param("name"),
            self._get_param("addonName"),
            self._get_param("addonVersion"),
            self._get_param("serviceAccountRoleArn"),
            self._get_param("configurationValues"),
            self._get_param("tags"),
        )
        return ActionResult({"addon": addon})

    def describe_addon(self):
        addon = self.eks_backend.describe_addon(self._get_param("name"), self._get_param("addonName"))
        return ActionResult({"addon": addon})

    def update_addon(self):
        update = self.eks_backend.update_addon(
            self._get_param("name"), self._get_param("addonName"), self._get_param("addonVersion")
        )
        return ActionResult({"update": update})

    def delete_addon(self):
        addon = self.eks_backend.delete_addon(self._get_param("name"), self._get_param("addonName"))
        return ActionResult({"addon": addon})

    def list_addons(self):
        names = self.eks_backend.list_addons(self._get_param("name"))
        return ActionResult({"addons": names})


def vpn_routes(response):
    """The connection the request names (InvalidVpnConnectionID.NotFound when there is none),
    its static routes, and the route's destination."""
    connection_id = response._get_param("VpnConnectionId")
    connection = response.ec2_backend.describe_vpn_connections(vpn_connection_ids=[connection_id])[0]
    if getattr(connection, "routes", None) is None:
        connection.routes = []
    return connection, connection.routes, response._get_param("DestinationCidrBlock")


def create_vpn_connection_route(self):
    connection, routes, cidr = vpn_routes(self)
    if any(r["DestinationCidrBlock"] == cidr for r in routes):
        raise RouteAlreadyExistsError(cidr)
    routes.append({"DestinationCidrBlock": cidr, "Source": "Static", "State": "available"})
    return EmptyResult()


def delete_vpn_connection_route(self):
    connection, routes, cidr = vpn_routes(self)
    if not any(r["DestinationCidrBlock"] == cidr for r in routes):
        raise InvalidRouteError(connection.id, cidr)
    connection.routes = [r for r in routes if r["DestinationCidrBlock"] != cidr]
    return EmptyResult()


def teach_vpn_routes():
    VPNConnections.create_vpn_connection_route = create_vpn_connection_route
    VPNConnections.delete_vpn_connection_route = delete_vpn_connection_route


def teach_cluster_security_groups():
    create_cluster, delete_cluster = EKSBackend.create_cluster, EKSBackend.delete_cluster

    def with_group(self, **request):
        cluster = create_cluster(self, **request)
        subnets = cluster.resources_vpc_config.get("subnetIds") or []
        if subnets:
            ec2 = ec2_backends[self.account_id][self.region_name]
            vpc_id = ec2.get_subnet(subnets[0]).vpc_id
            group = ec2.create_security_group(
                name=f"eks-cluster-sg-{cluster.name}-{uuid.uuid4().hex[:10]}",
                description="EKS created security group applied to ENI that is attached to EKS Control Plane "
                "master nodes, as well as any managed workloads.",
                vpc_id=vpc_id,
                tags={"aws:eks:cluster-name": cluster.name, f"kubernetes.io/cluster/{cluster.name}": "owned"},
            )
            cluster.resources_vpc_config = {
                **cluster.resources_vpc_config,
                "clusterSecurityGroupId": group.id,
                "vpcId": vpc_id,
            }
        return cluster

    def and_its_group(self, name):
        cluster = delete_cluster(self, name)
        group = cluster.resources_vpc_config.get("clusterSecurityGroupId")
        if group:
            ec2_backends[self.account_id][self.region_name].delete_security_group(group_id=group)
        return cluster

    EKSBackend.create_cluster = with_group
    EKSBackend.delete_cluster = and_its_group


def teach_eks_addons():
    for name in ("create_addon", "describe_addon", "update_addon", "delete_addon", "list_addons"):
        setattr(EKSBackend, name, globals()[name])
        setattr(EKSResponse, name, getattr(Responses, name))
    dispatch = urls.response.dispatch
    urls.url_paths["{0}/clusters/(?P<name>[^/]+)/addons$"] = dispatch
    urls.url_paths["{0}/clusters/(?P<name>[^/]+)/addons/(?P<addonName>[^/]+)$"] = dispatch
    urls.url_paths["{0}/clusters/(?P<name>[^/]+)/addons/(?P<addonName>[^/]+)/update$"] = dispatch


if __name__ == "__main__":
    teach_cluster_security_groups()
    teach_eks_addons()
    teach_vpn_routes()
    server.main(sys.argv[1:])
