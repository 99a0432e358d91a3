//! Lowering of HyperShift's IAM: the OIDC provider, the seven component roles that its
//! controllers assume through web identity, and the workers' role and instance profile.
//!
//! Names follow `hcp create cluster aws`: each component role is `<infra-id>-<suffix>` with an
//! inline policy of the same name, the worker role is `<infra-id>-worker-role` with the inline
//! policy `<infra-id>-worker-policy`, and the instance profile is `<infra-id>-worker`.

use serde_json::{Value as Json, json};
use tether_config::Checked;
use tether_model::{Address, Attributes, Resource, Value};

use crate::marks::Owner;

/// Client ids the OIDC provider accepts: `openshift` for HyperShift's own token exchange and
/// `sts.amazonaws.com` for the AWS SDKs.
const OIDC_CLIENT_IDS: [&str; 2] = ["openshift", "sts.amazonaws.com"];

/// One component role: its `rolesRef` field, role-name suffix, the service accounts allowed to
/// assume it (`namespace:name`), and its permission statements.
struct Component {
    roles_ref_field: &'static str,
    suffix: &'static str,
    service_accounts: &'static [&'static str],
    statements: fn() -> Json,
}

const COMPONENTS: [Component; 7] = [
    Component {
        roles_ref_field: "ingressARN",
        suffix: "openshift-ingress",
        service_accounts: &["openshift-ingress-operator:ingress-operator"],
        statements: ingress_statements,
    },
    Component {
        roles_ref_field: "imageRegistryARN",
        suffix: "openshift-image-registry",
        service_accounts: &[
            "openshift-image-registry:cluster-image-registry-operator",
            "openshift-image-registry:registry",
        ],
        statements: image_registry_statements,
    },
    Component {
        roles_ref_field: "storageARN",
        suffix: "aws-ebs-csi-driver-controller",
        service_accounts: &["openshift-cluster-csi-drivers:aws-ebs-csi-driver-controller-sa"],
        statements: storage_statements,
    },
    Component {
        roles_ref_field: "kubeCloudControllerARN",
        suffix: "cloud-controller",
        service_accounts: &["kube-system:kube-controller-manager"],
        statements: cloud_controller_statements,
    },
    Component {
        roles_ref_field: "nodePoolManagementARN",
        suffix: "node-pool",
        service_accounts: &["kube-system:capa-controller-manager"],
        statements: node_pool_statements,
    },
    Component {
        roles_ref_field: "controlPlaneOperatorARN",
        suffix: "control-plane-operator",
        service_accounts: &["kube-system:control-plane-operator"],
        statements: control_plane_operator_statements,
    },
    Component {
        roles_ref_field: "networkARN",
        suffix: "cloud-network-config-controller",
        service_accounts: &["openshift-cloud-network-config-controller:cloud-network-config-controller"],
        statements: network_statements,
    },
];

/// The IAM resources and the addresses the cluster side refers to.
pub(crate) struct Iam {
    pub resources: Vec<Resource>,
    /// Each `rolesRef` field with the address of its role; the role's id is its ARN.
    pub roles: Vec<(&'static str, Address)>,
    /// The workers' instance profile; its id is its name.
    pub instance_profile: Address,
}

/// Returns the OIDC issuer URL HyperShift publishes the cluster's documents under:
/// `https://<bucket>.s3.<bucket region>.amazonaws.com/<infra-id>`.
pub(crate) fn issuer_url(checked: &Checked) -> String {
    format!("https://{}", issuer_host_path(checked))
}

fn issuer_host_path(checked: &Checked) -> String {
    let aws = &checked.environment.aws;
    let infra_id = &checked.environment.cluster.infra_id;
    let bucket = aws.oidc_bucket.clone().unwrap_or_else(|| format!("{infra_id}-oidc"));
    let region = aws.oidc_bucket_region.as_deref().unwrap_or(&aws.region);
    format!("{bucket}.s3.{region}.amazonaws.com/{infra_id}")
}

pub(crate) fn lower(checked: &Checked, owner: &Owner) -> Iam {
    let environment = &checked.environment;
    let infra_id = &environment.cluster.infra_id;
    let account = &environment.aws.account_id;
    let host_path = issuer_host_path(checked);
    let mut resources = Vec::new();

    let provider = Address::aws("oidc_provider", "main");
    let client_ids = OIDC_CLIENT_IDS.iter().map(|id| Value::from(*id)).collect();
    resources.push(Resource::new(
        provider.clone(),
        attributes([
            ("url", Value::string(issuer_url(checked))),
            ("client_ids", Value::List(client_ids)),
            ("tags", owner.aws_tags_without_name(&provider)),
        ]),
    ));

    // The provider's ARN follows from the account and the issuer, so the trust policies can name
    // it before the provider exists. The dependency orders the creates.
    let provider_arn = format!("arn:aws:iam::{account}:oidc-provider/{host_path}");
    let mut roles = Vec::new();
    for component in &COMPONENTS {
        let address = Address::aws("iam_role", component.suffix);
        let name = format!("{infra_id}-{}", component.suffix);
        let trust = web_identity_trust(&provider_arn, &host_path, component.service_accounts);
        let role = role(owner, &address, &name, &trust, &name, &policy((component.statements)()));
        resources.push(role.depending_on(&provider));
        roles.push((component.roles_ref_field, address));
    }

    let worker_role = Address::aws("iam_role", "worker");
    let worker_role_name = format!("{infra_id}-worker-role");
    let worker_trust = policy(json!([{
        "Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }]));
    let worker_policy = policy(json!([{
        "Effect": "Allow",
        "Action": ["ec2:DescribeInstances", "ec2:DescribeRegions"],
        "Resource": "*",
    }]));
    let worker_policy_name = format!("{infra_id}-worker-policy");
    resources.push(role(owner, &worker_role, &worker_role_name, &worker_trust, &worker_policy_name, &worker_policy));

    let instance_profile = Address::aws("instance_profile", "worker");
    resources.push(
        Resource::new(
            instance_profile.clone(),
            attributes([
                ("name", Value::string(format!("{infra_id}-worker"))),
                ("role_name", Value::string(worker_role_name)),
                ("tags", owner.aws_tags_without_name(&instance_profile)),
            ]),
        )
        .depending_on(&worker_role),
    );

    Iam { resources, roles, instance_profile }
}

fn attributes<const N: usize>(pairs: [(&str, Value); N]) -> Attributes {
    pairs.into_iter().map(|(key, value)| (key.to_owned(), value)).collect()
}

/// Builds a role with path `/`, its trust policy and one inline policy.
fn role(owner: &Owner, address: &Address, name: &str, trust: &str, policy_name: &str, policy: &str) -> Resource {
    Resource::new(
        address.clone(),
        attributes([
            ("name", Value::from(name)),
            ("path", Value::from("/")),
            ("assume_role_policy", Value::from(trust)),
            ("inline_policies", Value::map([(policy_name, Value::from(policy))])),
            ("tags", owner.aws_tags_without_name(address)),
        ]),
    )
}

/// Builds a policy document from its statements, as compact JSON.
fn policy(statements: Json) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

/// Builds the trust policy that lets the given service accounts assume a role with a token from
/// the cluster's OIDC issuer. One account is written as a string, several as a list, as HyperShift
/// writes them.
fn web_identity_trust(provider_arn: &str, host_path: &str, service_accounts: &[&str]) -> String {
    let subjects: Vec<String> =
        service_accounts.iter().map(|account| format!("system:serviceaccount:{account}")).collect();
    let subject = match subjects.as_slice() {
        [only] => json!(only),
        _ => json!(subjects),
    };
    policy(json!([{
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {format!("{host_path}:sub"): subject}},
    }]))
}

fn allow(actions: &[&str], resource: &str) -> Json {
    json!({"Effect": "Allow", "Action": actions, "Resource": resource})
}

// NOTE: HyperShift scopes the record changes of the ingress and control-plane-operator roles to
// the ARNs of the cluster's zones. Those zone ids exist only after the zones are created and an
// attribute cannot embed a reference inside a string, so these policies allow every hosted zone.
const ANY_HOSTED_ZONE: &str = "arn:aws:route53:::hostedzone/*";

fn ingress_statements() -> Json {
    json!([
        allow(&["elasticloadbalancing:DescribeLoadBalancers", "tag:GetResources", "route53:ListHostedZones"], "*"),
        allow(&["route53:ChangeResourceRecordSets"], ANY_HOSTED_ZONE),
    ])
}

fn image_registry_statements() -> Json {
    json!([allow(
        &[
            "s3:CreateBucket",
            "s3:DeleteBucket",
            "s3:PutBucketTagging",
            "s3:GetBucketTagging",
            "s3:PutBucketPublicAccessBlock",
            "s3:GetBucketPublicAccessBlock",
            "s3:PutEncryptionConfiguration",
            "s3:GetEncryptionConfiguration",
            "s3:PutLifecycleConfiguration",
            "s3:GetLifecycleConfiguration",
            "s3:GetBucketLocation",
            "s3:ListBucket",
            "s3:GetObject",
            "s3:PutObject",
            "s3:DeleteObject",
            "s3:ListBucketMultipartUploads",
            "s3:AbortMultipartUpload",
            "s3:ListMultipartUploadParts",
        ],
        "*",
    )])
}

fn storage_statements() -> Json {
    json!([
        allow(
            &[
                "ec2:AttachVolume",
                "ec2:CreateSnapshot",
                "ec2:CreateTags",
                "ec2:CreateVolume",
                "ec2:DeleteSnapshot",
                "ec2:DeleteTags",
                "ec2:DeleteVolume",
                "ec2:DescribeAvailabilityZones",
                "ec2:DescribeInstances",
                "ec2:DescribeSnapshots",
                "ec2:DescribeTags",
                "ec2:DescribeVolumes",
                "ec2:DescribeVolumesModifications",
                "ec2:DetachVolume",
                "ec2:ModifyVolume",
            ],
            "*",
        ),
        allow(
            &[
                "kms:Decrypt",
                "kms:Encrypt",
                "kms:GenerateDataKeyWithoutPlaintext",
                "kms:CreateGrant",
                "kms:DescribeKey"
            ],
            "*",
        ),
    ])
}

fn cloud_controller_statements() -> Json {
    json!([
        allow(
            &[
                "ec2:DescribeInstances",
                "ec2:DescribeImages",
                "ec2:DescribeRegions",
                "ec2:DescribeRouteTables",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVolumes",
                "ec2:DescribeVpcs",
                "ec2:CreateSecurityGroup",
                "ec2:CreateTags",
                "ec2:CreateVolume",
                "ec2:ModifyInstanceAttribute",
                "ec2:ModifyVolume",
                "ec2:AttachVolume",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:CreateRoute",
                "ec2:DeleteRoute",
                "ec2:DeleteSecurityGroup",
                "ec2:DeleteVolume",
                "ec2:DetachVolume",
                "ec2:RevokeSecurityGroupIngress",
            ],
            "*",
        ),
        allow(&["elasticloadbalancing:*"], "*"),
        allow(&["iam:CreateServiceLinkedRole", "kms:DescribeKey"], "*"),
    ])
}

fn node_pool_statements() -> Json {
    json!([
        allow(
            &[
                "ec2:AllocateAddress",
                "ec2:AssociateRouteTable",
                "ec2:AttachInternetGateway",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:CreateInternetGateway",
                "ec2:CreateLaunchTemplate",
                "ec2:CreateLaunchTemplateVersion",
                "ec2:CreateNatGateway",
                "ec2:CreateRoute",
                "ec2:CreateRouteTable",
                "ec2:CreateSecurityGroup",
                "ec2:CreateSubnet",
                "ec2:CreateTags",
                "ec2:DeleteLaunchTemplate",
                "ec2:DeleteLaunchTemplateVersions",
                "ec2:DeleteSecurityGroup",
                "ec2:DeleteTags",
                "ec2:DescribeAccountAttributes",
                "ec2:DescribeAddresses",
                "ec2:DescribeAvailabilityZones",
                "ec2:DescribeImages",
                "ec2:DescribeInstances",
                "ec2:DescribeInternetGateways",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:DescribeNatGateways",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeNetworkInterfaceAttribute",
                "ec2:DescribeRouteTables",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs",
                "ec2:DescribeVpcAttribute",
                "ec2:DescribeVolumes",
                "ec2:ModifyInstanceAttribute",
                "ec2:ModifyNetworkInterfaceAttribute",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:RunInstances",
                "ec2:TerminateInstances",
                "tag:GetResources",
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:RegisterInstancesWithLoadBalancer",
            ],
            "*",
        ),
        {
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": "arn:*:iam::*:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing",
            "Condition": {"StringLike": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}},
        },
        allow(&["iam:PassRole"], "arn:*:iam::*:role/*-worker-role"),
        allow(&["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant"], "*"),
        allow(&["sqs:ReceiveMessage", "sqs:DeleteMessage"], "*"),
    ])
}

fn control_plane_operator_statements() -> Json {
    json!([
        allow(
            &[
                "ec2:CreateVpcEndpoint",
                "ec2:DescribeVpcEndpoints",
                "ec2:ModifyVpcEndpoint",
                "ec2:DeleteVpcEndpoints",
                "ec2:CreateTags",
                "ec2:CreateSecurityGroup",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:AuthorizeSecurityGroupEgress",
                "ec2:DeleteSecurityGroup",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupEgress",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeVpcs",
                "ec2:DescribeSubnets",
                "route53:ListHostedZones",
            ],
            "*",
        ),
        allow(&["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"], ANY_HOSTED_ZONE),
    ])
}

fn network_statements() -> Json {
    json!([allow(
        &[
            "ec2:DescribeInstances",
            "ec2:DescribeInstanceStatus",
            "ec2:DescribeInstanceTypes",
            "ec2:UnassignPrivateIpAddresses",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignIpv6Addresses",
            "ec2:AssignIpv6Addresses",
            "ec2:DescribeSubnets",
            "ec2:DescribeNetworkInterfaces",
        ],
        "*",
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_policy_names_issuer_and_accounts() {
        let trust = web_identity_trust(
            "arn:aws:iam::123456789012:oidc-provider/b.s3.r.amazonaws.com/ai",
            "b.s3.r.amazonaws.com/ai",
            &["ns:one", "ns:two"],
        );
        let parsed: Json = serde_json::from_str(&trust).unwrap();
        let condition = &parsed["Statement"][0]["Condition"]["StringEquals"]["b.s3.r.amazonaws.com/ai:sub"];
        assert_eq!(condition, &json!(["system:serviceaccount:ns:one", "system:serviceaccount:ns:two"]));
        let federated = &parsed["Statement"][0]["Principal"]["Federated"];
        assert_eq!(federated, "arn:aws:iam::123456789012:oidc-provider/b.s3.r.amazonaws.com/ai");
    }

    #[test]
    fn single_account_is_a_string() {
        let trust = web_identity_trust("arn", "host/ai", &["ns:one"]);
        let parsed: Json = serde_json::from_str(&trust).unwrap();
        assert_eq!(parsed["Statement"][0]["Condition"]["StringEquals"]["host/ai:sub"], "system:serviceaccount:ns:one");
    }

    #[test]
    fn every_rolesref_field_once() {
        let mut fields: Vec<&str> = COMPONENTS.iter().map(|component| component.roles_ref_field).collect();
        fields.sort_unstable();
        fields.dedup();
        assert_eq!(fields.len(), 7);
    }
}
