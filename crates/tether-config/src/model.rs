//! The environment file's serde model, exactly as written in TOML.
//!
//! Values that need checking (CIDRs, names, image references) stay strings here, so that one bad value
//! becomes a diagnostic at its span instead of stopping deserialization. The validated, parsed forms
//! live on [`crate::Checked`].

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One hybrid Hosted Control Planes environment: a hosted cluster whose control plane runs on an
/// on-prem management cluster and whose worker node pools run in AWS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Environment {
    /// Path of a base environment file whose values this file overrides, relative to this file's
    /// folder. The base may extend another file in turn; a cycle is an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-tether-promotable" = false))]
    pub extends: Option<String>,
    /// Environment name (DNS-1123 label), used in AWS tags, Kubernetes labels and the state store.
    #[schemars(extend("x-tether-promotable" = false))]
    pub name: String,
    /// The hosted cluster and its control plane on the management cluster.
    pub cluster: Cluster,
    /// The AWS account, region and VPC that hold the worker node pools.
    #[schemars(extend("x-tether-promotable" = false))]
    pub aws: Aws,
    /// On-prem networks and the routes that send their traffic for the VPC through the subnet router.
    #[schemars(extend("x-tether-promotable" = false))]
    pub onprem: OnPrem,
    /// The EC2 instance that routes traffic between the on-prem networks and the VPC.
    #[schemars(extend("x-tether-promotable" = false))]
    pub subnet_router: SubnetRouter,
    /// Worker node pools by name (DNS-1123 label); each becomes the NodePool `<cluster.name>-<pool name>`.
    /// The pools' settings are marked one by one; adding or removing a whole pool is per environment.
    #[serde(default)]
    #[schemars(extend("x-tether-promotable" = false))]
    pub pools: BTreeMap<String, Pool>,
    /// Where tether keeps the environment's state and its lock; the `local` backend when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-tether-promotable" = false))]
    pub state: Option<StateSettings>,
    /// Settings of `tether drift`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-tether-promotable" = false))]
    pub drift: Option<crate::DriftSettings>,
    /// Ids of existing resources for `tether import`, for those it cannot find by HyperShift's tags
    /// or by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-tether-promotable" = false))]
    pub import: Option<crate::ImportSettings>,
    /// Operators installed on the hosted cluster through Operator Lifecycle Manager, by name
    /// (DNS-1123 label). `gpu-operator`, `node-feature-discovery` and `openshift-ai` are presets
    /// that need only a `channel`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("x-tether-promotable" = false))]
    pub addons: BTreeMap<String, crate::Addon>,
}

/// The state backend of an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct StateSettings {
    /// `local`: a JSON file under `.tether/` beside the environment file, locked with an OS file
    /// lock. `kubernetes`: Secrets in `cluster.namespace` on the management cluster, locked with a
    /// `coordination.k8s.io/v1` Lease.
    #[serde(default)]
    pub backend: StateBackend,
}

/// Where the state lives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(inline)]
pub enum StateBackend {
    /// A file beside the environment file.
    #[default]
    Local,
    /// Secrets and a Lease on the management cluster.
    Kubernetes,
}

/// The HostedCluster and the settings of its control plane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Cluster {
    /// HostedCluster name (DNS-1123 label).
    #[schemars(extend("x-tether-promotable" = false))]
    pub name: String,
    /// Management-cluster namespace of the HostedCluster (DNS-1123 label). HyperShift runs the control
    /// plane in the namespace `<namespace>-<name>`.
    #[schemars(extend("x-tether-promotable" = false))]
    pub namespace: String,
    /// HyperShift infra id (DNS-1123 label), used in AWS resource names and the
    /// `kubernetes.io/cluster/<infra id>` tag. It cannot change after the cluster is created.
    #[schemars(extend("x-tether-promotable" = false))]
    pub infra_id: String,
    /// Base DNS domain (DNS-1123 subdomain), e.g. `hcp.example.com`. It cannot change after the cluster
    /// is created.
    #[schemars(extend("x-tether-promotable" = false))]
    pub base_domain: String,
    /// OpenShift release image pull spec with a tag or digest, e.g.
    /// `quay.io/openshift-release-dev/ocp-release:4.21.12-x86_64`.
    #[schemars(extend("x-tether-promotable" = true))]
    pub release_image: String,
    /// Storage class for etcd volumes on the management cluster (DNS-1123 subdomain). It cannot change
    /// after the cluster is created.
    #[schemars(extend("x-tether-promotable" = false))]
    pub etcd_storage_class: String,
    /// Path of the pull secret JSON file; a relative path resolves against the environment file's folder.
    #[schemars(extend("x-tether-promotable" = false))]
    pub pull_secret_file: String,
    /// Pod network CIDR of the hosted cluster.
    #[serde(default = "default_cluster_network")]
    #[schemars(extend("x-tether-promotable" = false))]
    pub cluster_network: String,
    /// Service network CIDR of the hosted cluster.
    #[serde(default = "default_service_network")]
    #[schemars(extend("x-tether-promotable" = false))]
    pub service_network: String,
}

/// The AWS side of the environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Aws {
    /// AWS account id: 12 digits.
    pub account_id: String,
    /// AWS region, e.g. `ap-southeast-2`.
    pub region: String,
    /// Availability zones of the region that get a public and a private subnet; at least one, no
    /// duplicates, at most 8.
    #[schemars(length(min = 1, max = 8))]
    pub zones: Vec<String>,
    /// VPC CIDR; HyperShift requires a /16 and cuts a public and a private /20 from it per zone.
    pub vpc_cidr: String,
    /// IAM role to assume, e.g. `arn:aws:iam::123456789012:role/hypershift-cli-role`; its account must
    /// equal `account_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// Path of an STS credentials JSON file; a relative path resolves against the environment file's
    /// folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sts_credentials_file: Option<String>,
    /// NAT gateways: `per-zone` (the default, one in each zone's public subnet, as `hcp` makes them)
    /// or `single` (one in the first zone, shared by every private route table, as with `hcp`'s
    /// `--single-nat-gateway`).
    #[serde(default = "default_nat")]
    #[schemars(extend("enum" = ["per-zone", "single"]))]
    pub nat: String,
    /// S3 bucket where the HyperShift operator publishes the cluster's OIDC documents (its
    /// `--oidc-storage-provider-s3-bucket-name`); defaults to `<infra_id>-oidc`. The issuer URL is
    /// `https://<bucket>.s3.<bucket region>.amazonaws.com/<infra_id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_bucket: Option<String>,
    /// Region of `oidc_bucket`; defaults to `region`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_bucket_region: Option<String>,
}

/// The on-prem side of the environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct OnPrem {
    /// On-prem IPv4 CIDRs that reach the VPC through the subnet router.
    #[schemars(length(min = 1))]
    pub networks: Vec<String>,
    /// MachineConfigPools on the management cluster whose nodes get the routes.
    #[serde(default = "default_machine_config_roles")]
    pub machine_config_roles: Vec<String>,
    /// Static routes on the management cluster's nodes, delivered as a MachineConfig.
    #[serde(default)]
    pub routes: Vec<OnPremRoute>,
}

/// One static route on the management cluster's nodes, as written in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct OnPremRoute {
    /// Destination IPv4 CIDR, usually the VPC CIDR.
    pub destination: String,
    /// Next-hop IPv4 address; it must lie inside one of `onprem.networks`.
    pub gateway: String,
    /// Network interface on the node, e.g. `br-ex`.
    pub device: String,
}

/// The subnet router's EC2 instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SubnetRouter {
    /// EC2 instance type, e.g. `t3.small`.
    pub instance_type: String,
    /// Pinned AMI id: `ami-` followed by 8 or 17 hex digits.
    pub ami: String,
    /// Whether the router rewrites source addresses to its own. When false, the instance's
    /// source/destination check must be off so it can forward traffic.
    #[serde(default)]
    pub source_nat: bool,
    /// Path of a file whose content becomes the instance's user data, e.g. a script that installs a
    /// VPN client agent; a relative path resolves against the environment file's folder. At most
    /// 16384 bytes of UTF-8 text. Plans and state hold only its SHA-256 digest, and a change
    /// replaces the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data_file: Option<String>,
}

/// One worker node pool, lowered to a HyperShift NodePool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Pool {
    /// EC2 instance type of the pool's nodes, e.g. `m6i.2xlarge`. A change replaces every node.
    #[schemars(extend("x-tether-promotable" = true))]
    pub instance_type: String,
    /// Fixed node count; give either this or `autoscaling`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    #[schemars(extend("x-tether-promotable" = false))]
    pub replicas: Option<i64>,
    /// Autoscaling bounds; give either this or `replicas`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-tether-promotable" = true))]
    pub autoscaling: Option<Autoscaling>,
    /// Taints for the pool's nodes. HyperShift applies them only to nodes created after a change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-tether-promotable" = true))]
    pub taints: Vec<Taint>,
    /// Labels for the pool's nodes. HyperShift applies them only to nodes created after a change.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("x-tether-promotable" = true))]
    pub labels: BTreeMap<String, String>,
    /// Root volume of each node. A change replaces every node.
    #[serde(default)]
    #[schemars(extend("x-tether-promotable" = true))]
    pub root_volume: RootVolume,
    /// Release image for the pool's nodes; defaults to `cluster.release_image`. It must not be newer
    /// than the control plane's release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-tether-promotable" = true))]
    pub release_image: Option<String>,
}

/// Autoscaling bounds of a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Autoscaling {
    /// Minimum node count, 0 or more.
    #[schemars(range(min = 0))]
    pub min: i64,
    /// Maximum node count, 1 or more and at least `min`.
    #[schemars(range(min = 1))]
    pub max: i64,
}

/// One Kubernetes taint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Taint {
    /// Taint key: a qualified name such as `nvidia.com/gpu`.
    pub key: String,
    /// Taint value; may be left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Taint effect.
    #[schemars(extend("enum" = ["NoSchedule", "PreferNoSchedule", "NoExecute"]))]
    pub effect: String,
}

/// Root volume of a pool's nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RootVolume {
    /// Size in GiB, at least 8.
    #[serde(default = "default_root_volume_size")]
    #[schemars(range(min = 8))]
    pub size_gib: i64,
    /// EBS volume type, e.g. `gp3`.
    #[serde(rename = "type", default = "default_root_volume_type")]
    pub volume_type: String,
}

impl Default for RootVolume {
    fn default() -> Self {
        RootVolume { size_gib: default_root_volume_size(), volume_type: default_root_volume_type() }
    }
}

impl Pool {
    /// Returns the pool's release image: its own override, or else the cluster's.
    pub fn release_image_or<'a>(&'a self, cluster: &'a Cluster) -> &'a str {
        self.release_image.as_deref().unwrap_or(&cluster.release_image)
    }
}

/// HyperShift's default pod network, the same default the `hcp` CLI uses.
pub const DEFAULT_CLUSTER_NETWORK: &str = "10.132.0.0/14";

/// HyperShift's default service network, the same default the `hcp` CLI uses.
pub const DEFAULT_SERVICE_NETWORK: &str = "172.31.0.0/16";

fn default_cluster_network() -> String {
    DEFAULT_CLUSTER_NETWORK.to_owned()
}

fn default_service_network() -> String {
    DEFAULT_SERVICE_NETWORK.to_owned()
}

/// The `[aws] nat` value for one NAT gateway per zone.
pub const NAT_PER_ZONE: &str = "per-zone";

/// The `[aws] nat` value for one NAT gateway shared by all zones.
pub const NAT_SINGLE: &str = "single";

fn default_nat() -> String {
    NAT_PER_ZONE.to_owned()
}

fn default_machine_config_roles() -> Vec<String> {
    vec!["master".to_owned()]
}

/// Returns the `hcp` CLI's default root volume size for AWS node pools, in GiB.
fn default_root_volume_size() -> i64 {
    120
}

fn default_root_volume_type() -> String {
    "gp3".to_owned()
}
