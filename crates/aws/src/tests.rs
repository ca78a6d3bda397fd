//! Unit tests, against canned AWS answers, of what moto cannot show: objects that take time to
//! settle (EKS clusters and add-ons, which moto lacks), DependencyViolation on delete, and
//! throttling.

use ringform_core::provider::{
    CreateRequest, DeleteRequest, ErrorClass, ReadRequest, ResourceProvider, Scope, Tracked,
};
use ringform_core::{Address, Attributes, Provider, Value};
use ringform_schema::aws;

use crate::attrs::attributes;
use crate::testing::Canned;

fn address(text: &str) -> Address {
    text.parse().unwrap()
}

fn create(address: &Address, inputs: Attributes) -> CreateRequest {
    CreateRequest { deployment: "d".into(), address: address.clone(), inputs }
}

fn peering_xml(status: &str) -> String {
    format!(
        "<vpcPeeringConnectionSet><item><vpcPeeringConnectionId>pcx-1</vpcPeeringConnectionId>\
         <status><code>{status}</code><message>m</message></status></item></vpcPeeringConnectionSet>"
    )
}

#[tokio::test]
async fn accepter_waits_for_pending_acceptance_accepts_and_waits_for_active() {
    let aws = Canned::default();
    aws.ec2("DescribeVpcPeeringConnections", &peering_xml("initiating-request"))
        .ec2("DescribeVpcPeeringConnections", &peering_xml("pending-acceptance"))
        .ec2("DescribeVpcPeeringConnections", &peering_xml("provisioning"))
        .ec2("DescribeVpcPeeringConnections", &peering_xml("active"))
        .ec2("AcceptVpcPeeringConnection", "");
    let accepter = address("aws_vpc_peering_accepter.a~b");
    let inputs = attributes([("region", "eu-central-1".into()), ("peering_id", "pcx-1".into())]);
    let applied = aws.provider().create(create(&accepter, inputs)).await.unwrap();
    assert_eq!(applied.provider_id, "pcx-1");
    assert_eq!(applied.outputs["peering_id"], Value::from("pcx-1"));
    assert_eq!(aws.count("AcceptVpcPeeringConnection"), 1);
    assert_eq!(aws.count("DescribeVpcPeeringConnections"), 4);
}

#[tokio::test]
async fn accepter_accepts_its_own_peering_among_others_the_region_lists() {
    let aws = Canned::default();
    let other = peering_xml("active").replace("pcx-1", "pcx-other");
    let both = |status: &str| {
        other.replace("</vpcPeeringConnectionSet>", "") + &peering_xml(status).replace("<vpcPeeringConnectionSet>", "")
    };
    // The first look is the create's search for an accepted peering to adopt.
    aws.ec2("DescribeVpcPeeringConnections", &both("pending-acceptance"))
        .ec2("DescribeVpcPeeringConnections", &both("pending-acceptance"))
        .ec2("DescribeVpcPeeringConnections", &both("active"))
        .ec2("AcceptVpcPeeringConnection", "");
    let accepter = address("aws_vpc_peering_accepter.a~b");
    let inputs = attributes([("region", "eu-central-1".into()), ("peering_id", "pcx-1".into())]);
    aws.provider().create(create(&accepter, inputs)).await.unwrap();
    let accepted = aws.bodies("AcceptVpcPeeringConnection");
    assert!(accepted.len() == 1 && accepted[0].contains("VpcPeeringConnectionId=pcx-1"), "{accepted:?}");
}

#[tokio::test]
async fn failed_peering_is_a_fatal_error_naming_the_reason() {
    let aws = Canned::default();
    aws.ec2(
        "DescribeVpcPeeringConnections",
        &peering_xml("failed").replace("<message>m</message>", "<message>overlapping CIDRs</message>"),
    );
    let accepter = address("aws_vpc_peering_accepter.a~b");
    let inputs = attributes([("region", "eu-central-1".into()), ("peering_id", "pcx-1".into())]);
    let error = aws.provider().create(create(&accepter, inputs)).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Fatal);
    assert!(error.message.contains("overlapping CIDRs"), "{}", error.message);
}

fn cluster_json(status: &str) -> String {
    serde_json::json!({"cluster": {
        "name": "d-eu-west", "arn": "arn:aws:eks:eu-west-1:1:cluster/d-eu-west", "status": status,
        "endpoint": "https://abc.eks.amazonaws.com", "certificateAuthority": {"data": "Q0E="},
        "version": "1.30", "roleArn": "arn:aws:iam::1:role/r",
        "resourcesVpcConfig": {"subnetIds": ["subnet-1", "subnet-2"], "clusterSecurityGroupId": "sg-cluster"},
        "kubernetesNetworkConfig": {"serviceIpv4Cidr": "10.100.0.0/16"},
        "tags": {"ringform:deployment": "d", "ringform:address": "aws_eks_cluster.eu-west"}
    }})
    .to_string()
}

fn cluster_inputs() -> Attributes {
    attributes([
        ("region", "eu-west-1".into()),
        ("cluster_name", "d-eu-west".into()),
        ("kubernetes_version", "1.30".into()),
        ("role_arn", "arn:aws:iam::1:role/r".into()),
        ("subnet_ids", Value::from(vec!["subnet-2", "subnet-1"])),
        ("service_cidr", "10.100.0.0/16".into()),
    ])
}

#[tokio::test]
async fn eks_cluster_create_waits_from_creating_to_active() {
    let aws = Canned::default();
    aws.answer("POST /clusters", 200, cluster_json("CREATING"))
        .answer(
            "GET /clusters/d-eu-west",
            404,
            r#"{"__type":"ResourceNotFoundException","message":"No cluster found"}"#,
        )
        .answer("GET /clusters/d-eu-west", 200, cluster_json("CREATING"))
        .answer("GET /clusters/d-eu-west", 200, cluster_json("CREATING"))
        .answer("GET /clusters/d-eu-west", 200, cluster_json("ACTIVE"));
    let cluster = address("aws_eks_cluster.eu-west");
    let applied = aws.provider().create(create(&cluster, cluster_inputs())).await.unwrap();
    assert_eq!(applied.provider_id, "d-eu-west");
    assert_eq!(applied.outputs["endpoint"], Value::from("https://abc.eks.amazonaws.com"));
    assert_eq!(applied.outputs["certificate_authority"], Value::from("Q0E="));
    assert_eq!(applied.outputs["cluster_name"], Value::from("d-eu-west"));
    assert_eq!(applied.outputs["cluster_security_group_id"], Value::from("sg-cluster"));
    assert_eq!(aws.count("POST /clusters"), 1);
    assert_eq!(aws.count("GET /clusters/d-eu-west"), 4, "one look for a cluster to adopt, three while it settles");
}

#[tokio::test]
async fn eks_cluster_read_keeps_recorded_order_of_sets() {
    let aws = Canned::default();
    aws.answer("GET /clusters/d-eu-west", 200, cluster_json("ACTIVE"));
    let cluster = address("aws_eks_cluster.eu-west");
    let tracked = Tracked {
        address: cluster.clone(),
        provider_id: "d-eu-west".into(),
        inputs: cluster_inputs(),
        outputs: Attributes::new(),
    };
    let scope = Scope { provider: Provider::Aws, account: String::new(), region: "eu-west-1".into() };
    let request = ReadRequest { deployment: "d".into(), kind: aws::EKS_CLUSTER, scope, resources: vec![tracked] };
    let read = aws.provider().read(request).await.unwrap();
    assert_eq!(read.found.len(), 1);
    assert_eq!(read.found[0].inputs, cluster_inputs(), "no drift when nothing changed");
}

fn template_inputs() -> Attributes {
    attributes([
        ("region", "eu-west-1".into()),
        ("name", "d-eu-west-nodes".into()),
        ("security_group_ids", Value::from(vec!["sg-1"])),
        ("cluster_security_group_id", "sg-cluster".into()),
    ])
}

#[tokio::test]
async fn launch_template_gives_nodes_the_cassandra_and_the_cluster_security_group() {
    let aws = Canned::default();
    aws.ec2("DescribeLaunchTemplates", "<launchTemplates/>").ec2(
        "CreateLaunchTemplate",
        "<launchTemplate><launchTemplateId>lt-1</launchTemplateId><latestVersionNumber>1</latestVersionNumber></launchTemplate>",
    );
    let template = address("aws_launch_template.eu-west");
    let applied = aws.provider().create(create(&template, template_inputs())).await.unwrap();
    assert_eq!(applied.outputs["version"], Value::from("1"));
    let sent = &aws.bodies("CreateLaunchTemplate")[0];
    for part in ["SecurityGroupId.1=sg-1", "SecurityGroupId.2=sg-cluster", "ResourceType=launch-template"] {
        assert!(sent.contains(part), "{part} in {sent}");
    }

    // A refresh splits the groups the way the inputs do, and skips other templates.
    let version = |id: &str, groups: &str| {
        format!(
            "<item><launchTemplateId>{id}</launchTemplateId><launchTemplateName>d-eu-west-nodes</launchTemplateName>\
             <versionNumber>1</versionNumber><launchTemplateData><securityGroupIdSet>{groups}</securityGroupIdSet>\
             </launchTemplateData></item>"
        )
    };
    aws.ec2(
        "DescribeLaunchTemplateVersions",
        &format!(
            "<launchTemplateVersionSet>{}{}</launchTemplateVersionSet>",
            version("lt-other", "<item>sg-9</item>"),
            version("lt-1", "<item>sg-cluster</item><item>sg-1</item>")
        ),
    );
    let tracked = Tracked {
        address: template.clone(),
        provider_id: "lt-1".into(),
        inputs: template_inputs(),
        outputs: applied.outputs,
    };
    let scope = Scope { provider: Provider::Aws, account: String::new(), region: "eu-west-1".into() };
    let request = ReadRequest { deployment: "d".into(), kind: aws::LAUNCH_TEMPLATE, scope, resources: vec![tracked] };
    let read = aws.provider().read(request).await.unwrap();
    assert_eq!(read.found.len(), 1);
    assert_eq!(read.found[0].inputs, template_inputs(), "no drift when nothing changed");
}

#[tokio::test]
async fn node_group_rolls_to_a_new_launch_template_version_in_place() {
    let aws = Canned::default();
    let group = serde_json::json!({"nodegroup": {
        "clusterName": "d-eu-west", "nodegroupName": "cassandra", "status": "ACTIVE",
        "launchTemplate": {"id": "lt-1", "version": "2"}
    }});
    aws.answer("POST /clusters/d-eu-west/node-groups/cassandra/update-version", 200, r#"{"update": {"id": "u-1"}}"#)
        .answer("GET /clusters/d-eu-west/node-groups/cassandra", 200, group.to_string());
    let inputs = |version: &str| {
        attributes([
            ("region", "eu-west-1".into()),
            ("desired_size", Value::Int(3)),
            ("launch_template_id", "lt-1".into()),
            ("launch_template_version", version.into()),
        ])
    };
    let request = ringform_core::provider::UpdateRequest {
        deployment: "d".into(),
        address: address("aws_eks_node_group.eu-west"),
        provider_id: "d-eu-west:cassandra".into(),
        before: inputs("1"),
        after: inputs("2"),
        outputs: Attributes::new(),
    };
    aws.provider().update(request).await.unwrap();
    let sent = aws.bodies("POST /clusters/d-eu-west/node-groups/cassandra/update-version");
    assert!(sent.len() == 1 && sent[0].contains(r#""version":"2""#), "{sent:?}");
    assert_eq!(aws.count("POST /clusters/d-eu-west/node-groups/cassandra/update-config"), 0, "no scaling change");
}

fn vpc_delete() -> DeleteRequest {
    DeleteRequest {
        deployment: "d".into(),
        address: address("aws_vpc.eu-west"),
        provider_id: "vpc-1".into(),
        inputs: attributes([("region", "eu-west-1".into())]),
        outputs: Attributes::new(),
    }
}

#[tokio::test]
async fn vpc_delete_retries_dependency_violation_then_names_the_blockers() {
    let aws = Canned::default();
    aws.ec2_error("DeleteVpc", 400, "DependencyViolation", "The vpc 'vpc-1' has dependencies and cannot be deleted.")
        .ec2(
            "DescribeNetworkInterfaces",
            "<networkInterfaceSet><item><networkInterfaceId>eni-9</networkInterfaceId>\
             <description>Amazon EKS d-eu-west</description></item></networkInterfaceSet>",
        )
        .ec2("DescribeSecurityGroups", "<securityGroupInfo><item><groupId>sg-7</groupId><groupName>cassandra</groupName></item></securityGroupInfo>");
    let request = vpc_delete();
    let error = aws.provider().delete(request).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Fatal);
    assert!(error.message.contains("eni-9 (Amazon EKS d-eu-west)"), "{}", error.message);
    assert!(error.message.contains("sg-7 (security group cassandra)"), "{}", error.message);
    assert!(aws.count("DeleteVpc") > 1, "DependencyViolation is retried: {:?}", aws.calls());
    // AWS's last answer is the cause, said once, not folded into the message.
    let cause = std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default();
    assert!(cause.starts_with("AWS answered DependencyViolation: The vpc 'vpc-1' has dependencies"), "{cause}");
    assert!(!error.message.contains("has dependencies"), "{}", error.message);
    assert!(error.hint.as_deref().is_some_and(|h| h.starts_with("delete those objects")), "{error:?}");
}

#[tokio::test]
async fn vpc_delete_succeeds_once_dependencies_are_gone_and_when_already_gone() {
    let aws = Canned::default();
    aws.ec2_error("DeleteVpc", 400, "DependencyViolation", "has dependencies")
        .ec2("DeleteVpc", "<return>true</return>");
    let request = vpc_delete();
    aws.provider().delete(request.clone()).await.unwrap();
    assert_eq!(aws.count("DeleteVpc"), 2);
    let gone = Canned::default();
    gone.ec2_error("DeleteVpc", 400, "InvalidVpcID.NotFound", "The vpc ID 'vpc-1' does not exist");
    gone.provider().delete(request).await.unwrap();
}

#[tokio::test]
async fn throttling_answers_are_throttled_errors() {
    let aws = Canned::default();
    aws.ec2_error("DescribeVpcs", 503, "RequestLimitExceeded", "Request limit exceeded.");
    let tracked = Tracked {
        address: address("aws_vpc.eu-west"),
        provider_id: "vpc-1".into(),
        inputs: attributes([("region", "eu-west-1".into())]),
        outputs: Attributes::new(),
    };
    let scope = Scope { provider: Provider::Aws, account: String::new(), region: "eu-west-1".into() };
    let request = ReadRequest { deployment: "d".into(), kind: aws::VPC, scope, resources: vec![tracked] };
    let error = aws.provider().read(request).await.unwrap_err();
    assert!(matches!(error.class, ErrorClass::Throttled { .. }), "{error:?}");
    assert!(error.message.contains("RequestLimitExceeded"), "{}", error.message);
}

#[tokio::test]
async fn scope_is_the_region_and_global_for_iam() {
    let provider = Canned::default().provider();
    let inputs = attributes([("region", "eu-west-1".into())]);
    assert_eq!(provider.scope(&address("aws_vpc.x"), &inputs).region, "eu-west-1");
    assert_eq!(provider.scope(&address("aws_iam_role.x/cluster"), &inputs).region, "");
}

fn vpc_xml(id: &str, address: &str) -> String {
    format!(
        "<item><vpcId>{id}</vpcId><cidrBlock>10.0.0.0/16</cidrBlock><tagSet>\
         <item><key>ringform:deployment</key><value>d</value></item>\
         <item><key>ringform:address</key><value>{address}</value></item></tagSet></item>"
    )
}

fn vpc_inputs() -> Attributes {
    attributes([("region", "eu-west-1".into()), ("cidr_block", "10.0.0.0/16".into())])
}

#[tokio::test]
async fn create_adopts_the_object_tagged_with_its_address_instead_of_making_another() {
    let aws = Canned::default();
    let listed =
        format!("<vpcSet>{}{}</vpcSet>", vpc_xml("vpc-other", "aws_vpc.other"), vpc_xml("vpc-9", "aws_vpc.eu-west"));
    aws.ec2("DescribeVpcs", &listed);
    let applied = aws.provider().create(create(&address("aws_vpc.eu-west"), vpc_inputs())).await.unwrap();
    assert_eq!(applied.provider_id, "vpc-9");
    assert_eq!(applied.outputs["id"], Value::from("vpc-9"));
    assert_eq!(aws.count("CreateVpc"), 0, "{:?}", aws.calls());
}

#[tokio::test]
async fn create_makes_an_object_tagged_with_its_address_when_none_is() {
    let aws = Canned::default();
    aws.ec2("DescribeVpcs", &format!("<vpcSet>{}</vpcSet>", vpc_xml("vpc-other", "aws_vpc.other")))
        .ec2("CreateVpc", "<vpc><vpcId>vpc-new</vpcId></vpc>");
    let applied = aws.provider().create(create(&address("aws_vpc.eu-west"), vpc_inputs())).await.unwrap();
    assert_eq!(applied.provider_id, "vpc-new");
    let sent = aws.bodies("CreateVpc");
    assert!(sent.len() == 1 && sent[0].contains("aws_vpc.eu-west") && sent[0].contains("ResourceType=vpc"), "{sent:?}");
}

fn rule_xml(id: &str, port: u16) -> String {
    format!(
        "<item><securityGroupRuleId>{id}</securityGroupRuleId><groupId>sg-1</groupId><isEgress>false</isEgress>\
         <ipProtocol>tcp</ipProtocol><fromPort>{port}</fromPort><toPort>{port}</toPort>\
         <cidrIpv4>10.1.0.0/16</cidrIpv4></item>"
    )
}

#[tokio::test]
async fn a_rule_a_crashed_create_left_half_made_gets_only_its_missing_pairs() {
    let aws = Canned::default();
    aws.ec2(
        "DescribeSecurityGroupRules",
        &format!("<securityGroupRuleSet>{}</securityGroupRuleSet>", rule_xml("sgr-1", 7000)),
    )
    .ec2(
        "AuthorizeSecurityGroupIngress",
        &format!("<return>true</return><securityGroupRuleSet>{}</securityGroupRuleSet>", rule_xml("sgr-2", 9042)),
    );
    let inputs = attributes([
        ("region", "eu-west-1".into()),
        ("security_group_id", "sg-1".into()),
        ("protocol", "tcp".into()),
        ("ports", Value::from(vec![7000i64, 9042])),
        ("cidr_blocks", Value::from(vec!["10.1.0.0/16"])),
    ]);
    let rule = address("aws_security_group_rule.eu-west~eu-central");
    let applied = aws.provider().create(create(&rule, inputs)).await.unwrap();
    assert_eq!(applied.provider_id, "sgr-1,sgr-2");
    let sent = aws.bodies("AuthorizeSecurityGroupIngress");
    assert!(sent.len() == 1 && sent[0].contains("FromPort=9042") && !sent[0].contains("FromPort=7000"), "{sent:?}");
}

#[tokio::test]
async fn a_route_to_the_same_destination_via_another_target_is_not_taken_over() {
    let aws = Canned::default();
    aws.ec2(
        "DescribeRouteTables",
        "<routeTableSet><item><routeTableId>rtb-1</routeTableId><routeSet><item>\
         <destinationCidrBlock>10.2.0.0/16</destinationCidrBlock><gatewayId>igw-1</gatewayId>\
         </item></routeSet></item></routeTableSet>",
    );
    let inputs = attributes([
        ("region", "eu-west-1".into()),
        ("route_table_id", "rtb-1".into()),
        ("destination_cidr_block", "10.2.0.0/16".into()),
        ("vpc_peering_connection_id", "pcx-1".into()),
    ]);
    let route = address("aws_route.eu-west~eu-central/network");
    let error = aws.provider().create(create(&route, inputs)).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Fatal);
    assert!(error.message.contains("already has a route to 10.2.0.0/16"), "{}", error.message);
    assert_eq!(aws.count("CreateRoute") + aws.count("ReplaceRoute"), 0);
}

#[tokio::test]
async fn an_update_compares_inputs_the_way_the_schema_does() {
    let aws = Canned::default();
    aws.answer("POST /clusters/d-eu-west/updates", 200, r#"{"update": {"id": "u-1"}}"#).answer(
        "GET /clusters/d-eu-west",
        200,
        cluster_json("ACTIVE"),
    );
    let mut after = cluster_inputs();
    after.insert("kubernetes_version".into(), "1.31".into());
    // The subnets are a set: another order is no change (EKS could not make one in place).
    after.insert("subnet_ids".into(), Value::from(vec!["subnet-1", "subnet-2"]));
    let request = ringform_core::provider::UpdateRequest {
        deployment: "d".into(),
        address: address("aws_eks_cluster.eu-west"),
        provider_id: "d-eu-west".into(),
        before: cluster_inputs(),
        after,
        outputs: Attributes::new(),
    };
    aws.provider().update(request).await.unwrap();
    let sent = aws.bodies("POST /clusters/d-eu-west/updates");
    assert!(sent.len() == 1 && sent[0].contains(r#""version":"1.31""#), "{sent:?}");
}

#[tokio::test]
async fn a_kind_the_provider_does_not_have_is_one_fatal_error() {
    let aws = Canned::default();
    let error = aws.provider().create(create(&address("aws_nonsense.x"), vpc_inputs())).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Fatal);
    assert_eq!(error.message, "the AWS provider has no resource kind aws_nonsense");
    assert!(aws.calls().is_empty());
}

const ADDON_PATH: &str = "/clusters/d-eu-west/addons/aws-ebs-csi-driver";

fn addon_json(status: &str, deployment: &str, issues: serde_json::Value) -> String {
    serde_json::json!({"addon": {
        "addonName": "aws-ebs-csi-driver", "clusterName": "d-eu-west", "status": status,
        "addonVersion": "v1.35.0-eksbuild.1", "health": {"issues": issues},
        "tags": {"ringform:deployment": deployment, "ringform:address": "aws_eks_addon.eu-west/aws-ebs-csi-driver"}
    }})
    .to_string()
}

fn addon_inputs() -> Attributes {
    attributes([
        ("region", "eu-west-1".into()),
        ("cluster_name", "d-eu-west".into()),
        ("addon_name", "aws-ebs-csi-driver".into()),
        ("addon_version", Value::Null),
    ])
}

fn addon_address() -> Address {
    address("aws_eks_addon.eu-west/aws-ebs-csi-driver")
}

#[tokio::test]
async fn eks_addon_create_waits_from_creating_to_active() {
    let aws = Canned::default();
    let get = format!("GET {ADDON_PATH}");
    aws.answer("POST /clusters/d-eu-west/addons", 200, addon_json("CREATING", "d", serde_json::json!([])))
        .answer(&get, 404, r#"{"__type":"ResourceNotFoundException","message":"No addon: aws-ebs-csi-driver found"}"#)
        .answer(&get, 200, addon_json("CREATING", "d", serde_json::json!([])))
        .answer(&get, 200, addon_json("CREATING", "d", serde_json::json!([])))
        .answer(&get, 200, addon_json("ACTIVE", "d", serde_json::json!([])));
    let applied = aws.provider().create(create(&addon_address(), addon_inputs())).await.unwrap();
    assert_eq!(applied.provider_id, "d-eu-west:aws-ebs-csi-driver");
    assert_eq!(applied.outputs["id"], Value::from("d-eu-west:aws-ebs-csi-driver"));
    assert_eq!(aws.count(&get), 4, "one look for an add-on to adopt, three while it settles");
    let sent: serde_json::Value = serde_json::from_str(&aws.bodies("POST /clusters/d-eu-west/addons")[0]).unwrap();
    assert_eq!(sent["addonName"], "aws-ebs-csi-driver");
    assert_eq!(sent["resolveConflicts"], "OVERWRITE");
    assert_eq!(sent["tags"]["ringform:address"], "aws_eks_addon.eu-west/aws-ebs-csi-driver");
    assert_eq!(sent["tags"]["ringform:deployment"], "d");
    assert!(sent.get("addonVersion").is_none(), "EKS picks the default version: {sent}");
}

#[tokio::test]
async fn eks_addon_tagged_as_this_deployments_is_adopted_and_anothers_is_not_taken_over() {
    let aws = Canned::default();
    aws.answer(&format!("GET {ADDON_PATH}"), 200, addon_json("ACTIVE", "d", serde_json::json!([])));
    let applied = aws.provider().create(create(&addon_address(), addon_inputs())).await.unwrap();
    assert_eq!(applied.provider_id, "d-eu-west:aws-ebs-csi-driver");
    assert_eq!(aws.count("POST /clusters/d-eu-west/addons"), 0, "{:?}", aws.calls());

    // Installed by someone else: EKS refuses a second one, and ringform says whose it is not.
    let other = Canned::default();
    other
        .answer(&format!("GET {ADDON_PATH}"), 200, addon_json("ACTIVE", "someone-else", serde_json::json!([])))
        .answer(
            "POST /clusters/d-eu-west/addons",
            409,
            r#"{"__type":"ResourceInUseException","message":"Addon already exists."}"#,
        );
    let error = other.provider().create(create(&addon_address(), addon_inputs())).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Fatal);
    assert!(error.message.contains("already exists and is not tagged as this deployment's"), "{}", error.message);
}

#[tokio::test]
async fn eks_addon_that_failed_to_create_is_reported_with_its_health_issues() {
    let aws = Canned::default();
    let issues = serde_json::json!([{
        "code": "InsufficientNumberOfReplicas", "message": "The add-on is unhealthy because it doesn't have the desired number of replicas.",
        "resourceIds": ["ebs-csi-controller"]
    }]);
    aws.answer("POST /clusters/d-eu-west/addons", 200, addon_json("CREATING", "d", serde_json::json!([])))
        .answer(&format!("GET {ADDON_PATH}"), 404, r#"{"__type":"ResourceNotFoundException","message":"no"}"#)
        .answer(&format!("GET {ADDON_PATH}"), 200, addon_json("CREATE_FAILED", "d", issues));
    let error = aws.provider().create(create(&addon_address(), addon_inputs())).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Fatal);
    assert!(
        error.message.contains("is CREATE_FAILED: InsufficientNumberOfReplicas: The add-on is unhealthy"),
        "{}",
        error.message
    );
    assert!(error.message.contains("delete the add-on and apply again"), "{}", error.message);
}

#[tokio::test]
async fn eks_addon_delete_waits_until_it_is_gone() {
    let aws = Canned::default();
    let get = format!("GET {ADDON_PATH}");
    aws.answer(&format!("DELETE {ADDON_PATH}"), 200, addon_json("DELETING", "d", serde_json::json!([])))
        .answer(&get, 200, addon_json("DELETING", "d", serde_json::json!([])))
        .answer(&get, 200, addon_json("DELETING", "d", serde_json::json!([])))
        .answer(&get, 404, r#"{"__type":"ResourceNotFoundException","message":"No addon found"}"#);
    let request = DeleteRequest {
        deployment: "d".into(),
        address: addon_address(),
        provider_id: "d-eu-west:aws-ebs-csi-driver".into(),
        inputs: addon_inputs(),
        outputs: Attributes::new(),
    };
    aws.provider().delete(request.clone()).await.unwrap();
    assert_eq!(aws.count(&format!("DELETE {ADDON_PATH}")), 1);
    assert_eq!(aws.count(&get), 3);
    // Deleting again, once it is gone, is no error.
    aws.provider().delete(request).await.unwrap();
}
