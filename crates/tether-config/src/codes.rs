//! Diagnostic codes, one per rule, so callers and tests can match a problem without parsing its message.

/// Defines each code as `tether::config::<suffix>`.
macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $suffix:literal;)*) => {
        $( $(#[$doc])* pub const $name: &str = concat!("tether::config::", $suffix); )*
    };
}

codes! {
    /// The environment file cannot be read.
    FILE_UNREADABLE = "file_unreadable";
    /// The environment file is larger than [`crate::MAX_FILE_BYTES`].
    FILE_TOO_LARGE = "file_too_large";
    /// The environment file is not UTF-8.
    NOT_UTF8 = "not_utf8";
    /// The environment file is not valid TOML.
    TOML_SYNTAX = "toml_syntax";
    /// A value has the wrong TOML type, e.g. a string where an integer belongs.
    INVALID_TYPE = "invalid_type";
    /// A required key is missing.
    MISSING_KEY = "missing_key";
    /// A key that the table does not allow.
    UNKNOWN_KEY = "unknown_key";
    /// The base file named by `extends` does not exist.
    EXTENDS_NOT_FOUND = "extends_not_found";
    /// A chain of `extends` that leads back to a file already in it.
    EXTENDS_CYCLE = "extends_cycle";

    /// A name that is not a DNS-1123 label.
    INVALID_DNS_LABEL = "invalid_dns_label";
    /// A name that is not a DNS-1123 subdomain.
    INVALID_DNS_SUBDOMAIN = "invalid_dns_subdomain";
    /// `<cluster>-<pool>`, the NodePool name, is longer than 63 characters.
    NODE_POOL_NAME_TOO_LONG = "node_pool_name_too_long";
    /// `<namespace>-<cluster>`, the control plane's namespace, is longer than 63 characters.
    CONTROL_PLANE_NAMESPACE_TOO_LONG = "control_plane_namespace_too_long";
    /// An infra id too long for the IAM role names built from it.
    INFRA_ID_TOO_LONG = "infra_id_too_long";
    /// A release image that is not a pull spec with a tag or digest.
    INVALID_RELEASE_IMAGE = "invalid_release_image";

    /// A value that is not an IPv4 CIDR.
    INVALID_CIDR = "invalid_cidr";
    /// A CIDR whose address has bits set after the prefix length.
    CIDR_HOST_BITS = "cidr_host_bits";
    /// Two address ranges that overlap, or one that overlaps a range OVN-Kubernetes reserves.
    CIDR_OVERLAP = "cidr_overlap";
    /// A VPC CIDR that is not a /16.
    VPC_CIDR_PREFIX = "vpc_cidr_prefix";
    /// `onprem.networks` is empty.
    NO_ONPREM_NETWORKS = "no_onprem_networks";
    /// A route gateway that is not an IPv4 address.
    INVALID_GATEWAY = "invalid_gateway";
    /// A route gateway outside every on-prem network.
    GATEWAY_OUTSIDE_ONPREM = "gateway_outside_onprem";
    /// A route device that is not a Linux interface name.
    INVALID_DEVICE = "invalid_device";
    /// A route whose destination does not overlap the VPC (warning).
    ROUTE_OUTSIDE_VPC = "route_outside_vpc";
    /// Routes are given but `onprem.machine_config_roles` is empty.
    NO_MACHINE_CONFIG_ROLES = "no_machine_config_roles";
    /// The same entry twice in a list that needs distinct entries.
    DUPLICATE_ENTRY = "duplicate_entry";

    /// An AWS account id that is not 12 digits.
    INVALID_ACCOUNT_ID = "invalid_account_id";
    /// A malformed IAM role ARN.
    INVALID_ROLE_ARN = "invalid_role_arn";
    /// An IAM role ARN in an account other than `aws.account_id`.
    ROLE_ACCOUNT_MISMATCH = "role_account_mismatch";
    /// A malformed AWS region name.
    INVALID_REGION = "invalid_region";
    /// `aws.zones` is empty.
    NO_ZONES = "no_zones";
    /// An availability zone that does not belong to `aws.region`.
    ZONE_NOT_IN_REGION = "zone_not_in_region";
    /// More zones than a /16 VPC has /20 subnet pairs for.
    TOO_MANY_ZONES = "too_many_zones";
    /// A file path that cannot be a path, e.g. an empty string.
    INVALID_PATH = "invalid_path";
    /// An EC2 instance type that is not `family.size`.
    INVALID_INSTANCE_TYPE = "invalid_instance_type";
    /// An AMI id that is not `ami-` followed by 8 or 17 hex digits.
    INVALID_AMI = "invalid_ami";
    /// An `aws.nat` value other than `per-zone` or `single`.
    INVALID_NAT_MODE = "invalid_nat_mode";
    /// An OIDC bucket name that is not a valid S3 bucket name.
    INVALID_BUCKET_NAME = "invalid_bucket_name";
    /// The subnet router's user data file is missing, unreadable, too large or not UTF-8.
    USER_DATA_UNREADABLE = "user_data_unreadable";

    /// A pool with both `replicas` and `autoscaling`.
    REPLICAS_AND_AUTOSCALING = "replicas_and_autoscaling";
    /// A pool with neither `replicas` nor `autoscaling`.
    NO_REPLICAS_OR_AUTOSCALING = "no_replicas_or_autoscaling";
    /// Autoscaling `min` greater than `max`.
    AUTOSCALING_MIN_ABOVE_MAX = "autoscaling_min_above_max";
    /// Autoscaling `max` below 1.
    AUTOSCALING_MAX_BELOW_ONE = "autoscaling_max_below_one";
    /// A negative `replicas` or autoscaling `min`.
    NEGATIVE_REPLICAS = "negative_replicas";
    /// A taint effect other than `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    INVALID_TAINT_EFFECT = "invalid_taint_effect";
    /// A taint key that is not a qualified name.
    INVALID_TAINT_KEY = "invalid_taint_key";
    /// A taint value that is not a valid label value.
    INVALID_TAINT_VALUE = "invalid_taint_value";
    /// A node label key that is not a qualified name.
    INVALID_LABEL_KEY = "invalid_label_key";
    /// A node label value that is not a valid label value.
    INVALID_LABEL_VALUE = "invalid_label_value";
    /// A root volume smaller than 8 GiB.
    ROOT_VOLUME_TOO_SMALL = "root_volume_too_small";
    /// A root volume type that is not an EBS volume type.
    INVALID_VOLUME_TYPE = "invalid_volume_type";
    /// The file defines no node pool (warning).
    NO_POOLS = "no_pools";
    /// Pools without a `NoSchedule` or `NoExecute` taint have fewer than two nodes in total.
    UNTAINTED_NODES_TOO_FEW = "untainted_nodes_too_few";
    /// A pool autoscales from zero, which HyperShift on AWS supports only under conditions (warning).
    SCALE_FROM_ZERO = "scale_from_zero";
    /// A pool's release is newer than the HostedCluster's, or older than the allowed skew.
    RELEASE_SKEW = "release_skew";
    /// A release image has no version in its tag, so version rules cannot run (advice).
    RELEASE_VERSION_UNKNOWN = "release_version_unknown";

    /// The pull secret file does not exist.
    PULL_SECRET_MISSING = "pull_secret_missing";
    /// The pull secret path is a directory or another non-file.
    PULL_SECRET_NOT_A_FILE = "pull_secret_not_a_file";
    /// The pull secret file cannot be read, is too large or is not UTF-8.
    PULL_SECRET_UNREADABLE = "pull_secret_unreadable";
    /// The pull secret file is not JSON.
    PULL_SECRET_INVALID_JSON = "pull_secret_invalid_json";
    /// The pull secret JSON has no `auths` object.
    PULL_SECRET_NO_AUTHS = "pull_secret_no_auths";

    /// A `[[drift.ignore]]` rule whose resource address or attribute path is malformed.
    INVALID_DRIFT_IGNORE = "invalid_drift_ignore";
}

codes! {
    /// An add-on that is not a preset and lacks `package`, `source` or `namespace`, or an operand
    /// without `api_version`, `kind` or `name`.
    ADDON_INCOMPLETE = "addon_incomplete";
    /// An add-on or operand value that is not a valid name, channel or table.
    ADDON_INVALID_VALUE = "addon_invalid_value";
    /// An operand file that is missing, too large, or not a JSON object with its identity.
    ADDON_OPERAND_FILE = "addon_operand_file";
    /// Two add-ons with the same install namespace.
    ADDON_NAMESPACE_SHARED = "addon_namespace_shared";
    /// An add-on with `approval = "Manual"`, whose InstallPlans wait for approval (warning).
    ADDON_MANUAL_APPROVAL = "addon_manual_approval";
}

codes! {
    /// An `[import]` entry whose address, route table name or id is malformed.
    INVALID_IMPORT = "invalid_import";
}
