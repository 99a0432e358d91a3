//! `aws.eip`: an Elastic IP address in the VPC domain, identified by its allocation id.

use aws_sdk_ec2::types::{DomainType, ResourceType};
use tether_engine::{ApplyRequest, DeleteRequest, ProviderError};
use tether_model::{ObservedResource, Value};

use super::{observed, response_field};
use crate::attributes::AttributeReader;
use crate::client::AwsProvider;
use crate::error::{send, send_unless_absent};
use crate::kind::Kind;
use crate::tags::{
    desired_tags, environment_filter, observed_tags, owned_address, tag_specification, update_tags_only,
};

/// Lists the environment's Elastic IPs (DescribeAddresses returns them all in one page).
///
/// # Errors
/// Fails when DescribeAddresses fails.
pub(crate) async fn observe(
    ec2: &aws_sdk_ec2::Client,
    environment: &str,
) -> Result<Vec<ObservedResource>, ProviderError> {
    let call = ec2.describe_addresses().filters(environment_filter(environment)).send();
    let output = send("DescribeAddresses", call).await?;

    let observed_addresses = output.addresses().iter().filter_map(|elastic_ip| {
        let id = elastic_ip.allocation_id()?;
        let address = owned_address(elastic_ip.tags(), Kind::Eip, id, environment)?;
        let domain = elastic_ip.domain().map_or(Value::Null, |domain| Value::from(domain.as_str()));
        Some(observed(address, id, [("domain", domain), ("tags", observed_tags(elastic_ip.tags()))]))
    });
    Ok(observed_addresses.collect())
}

/// Allocates the address with its tags.
///
/// # Errors
/// Fails when `domain` is not `vpc`, or when AllocateAddress fails.
pub(crate) async fn create(provider: &AwsProvider, request: &ApplyRequest<'_>) -> Result<String, ProviderError> {
    const OPERATION: &str = "AllocateAddress";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    if reader.string("domain")? != DomainType::Vpc.as_str() {
        return Err(reader.invalid("domain", "\"vpc\", the only domain tether manages"));
    }
    let tags = desired_tags(&reader, request.environment)?;

    let call = provider
        .ec2
        .allocate_address()
        .domain(DomainType::Vpc)
        .tag_specifications(tag_specification(ResourceType::ElasticIp, &tags))
        .send();
    let output = send(OPERATION, call).await?;
    let id = response_field(output.allocation_id(), OPERATION, "AllocationId")?;
    tracing::debug!(id, "Elastic IP allocated");
    Ok(id.to_owned())
}

/// Updates the address's tags, the only attribute that changes in place.
///
/// # Errors
/// Fails when `domain` would change, or when a tag call fails.
pub(crate) async fn update(
    provider: &AwsProvider,
    request: &ApplyRequest<'_>,
    id: &str,
) -> Result<String, ProviderError> {
    update_tags_only(&provider.ec2, request, id, &["domain"]).await
}

/// Releases the address; one that is already released counts as deleted.
///
/// # Errors
/// Fails when ReleaseAddress fails, e.g. while a NAT gateway still uses the address.
pub(crate) async fn delete(provider: &AwsProvider, request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
    let call = provider.ec2.release_address().allocation_id(request.id).send();
    send_unless_absent("ReleaseAddress", &["InvalidAllocationID.NotFound"], call).await?;
    Ok(())
}
