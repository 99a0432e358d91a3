//! Ownership marks: the tag, label and annotation keys by which tether finds what it manages.
//! Every provider and the catalogue use these, so a resource tether wrote is one it can find.

/// AWS tag and Kubernetes label whose value is the environment's name.
pub const ENVIRONMENT: &str = "tether.dev/environment";
/// AWS tag and Kubernetes annotation whose value is the resource's address.
pub const ADDRESS: &str = "tether.dev/address";
/// The standard Kubernetes label naming the managing tool.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY_LABEL`] on tether's objects.
pub const MANAGED_BY_VALUE: &str = "tether";
