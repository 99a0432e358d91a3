//! One module per resource kind or family: observation, create, update and delete over the EC2,
//! Route 53 and IAM APIs.

pub(crate) mod dhcp_options;
pub(crate) mod eip;
pub(crate) mod hosted_zone;
pub(crate) mod iam;
pub(crate) mod instance;
pub(crate) mod internet_gateway;
pub(crate) mod main_route_table;
pub(crate) mod nat_gateway;
pub(crate) mod route;
pub(crate) mod route_table;
pub(crate) mod route_table_association;
pub(crate) mod security_group;
pub(crate) mod subnet;
pub(crate) mod vpc;
pub(crate) mod vpc_endpoint;

use tether_engine::ProviderError;
use tether_model::{Address, Attributes, ObservedResource, Value};

use crate::error::AwsError;

/// Builds an observed resource from `(name, value)` pairs.
pub(crate) fn observed<const N: usize>(address: Address, id: &str, attributes: [(&str, Value); N]) -> ObservedResource {
    let attributes: Attributes = attributes.into_iter().map(|(name, value)| (name.to_owned(), value)).collect();
    ObservedResource { address, id: id.to_owned(), attributes }
}

/// Unwraps a field that a successful response of `operation` must contain.
///
/// # Errors
/// Returns [`AwsError::MissingResponseField`] when it is absent.
pub(crate) fn response_field<T>(
    value: Option<T>,
    operation: &'static str,
    field: &'static str,
) -> Result<T, ProviderError> {
    value.ok_or_else(|| AwsError::MissingResponseField { field }.into_provider_error(operation))
}

/// Converts an optional string to a value: the string, or null when AWS left it out.
pub(crate) fn optional_string(value: Option<&str>) -> Value {
    value.map_or(Value::Null, Value::from)
}
