//! `Provider` for AWS: dispatches each request to its kind's module, inside a tracing span.

use async_trait::async_trait;
use tether_engine::{Applied, ApplyRequest, DeleteRequest, ObserveScope, Provider, ProviderError};
use tether_model::{Address, ObservedResource, ProviderId};
use tracing::Instrument;

use crate::client::AwsProvider;
use crate::error::AwsError;
use crate::kind::Kind;
use crate::observe;
use crate::resources::{
    dhcp_options, eip, hosted_zone, iam, instance, internet_gateway, main_route_table, nat_gateway, route, route_table,
    route_table_association, security_group, subnet, vpc, vpc_endpoint,
};
use crate::retry::for_resource;

#[async_trait]
impl Provider for AwsProvider {
    fn id(&self) -> ProviderId {
        ProviderId::Aws
    }

    async fn observe(&self, scope: &ObserveScope<'_>) -> Result<Vec<ObservedResource>, ProviderError> {
        let span = tracing::debug_span!("observe", provider = "aws", environment = scope.environment);
        observe::observe(self, scope).instrument(span).await
    }

    async fn create(&self, request: &ApplyRequest<'_>) -> Result<Applied, ProviderError> {
        let kind = kind_of(request.address, "create")?;
        let span = tracing::debug_span!("aws_operation", resource = %request.address, action = "create");
        let id = for_resource(request.address, self.create_kind(kind, request)).instrument(span.clone()).await?;
        self.created.record(&id);
        span.in_scope(|| tracing::debug!(id, "created"));
        Ok(Applied { id, attributes: request.attributes.clone() })
    }

    async fn update(&self, request: &ApplyRequest<'_>) -> Result<Applied, ProviderError> {
        let kind = kind_of(request.address, "update")?;
        let Some(id) = request.id else {
            let error = AwsError::MissingId { address: request.address.clone() };
            return Err(error.into_provider_error("update"));
        };
        let span = tracing::debug_span!("aws_operation", resource = %request.address, action = "update", id);
        let id = for_resource(request.address, self.update_kind(kind, request, id)).instrument(span.clone()).await?;
        span.in_scope(|| tracing::debug!(id, "updated"));
        Ok(Applied { id, attributes: request.attributes.clone() })
    }

    async fn delete(&self, request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
        let kind = kind_of(request.address, "delete")?;
        let span =
            tracing::debug_span!("aws_operation", resource = %request.address, action = "delete", id = request.id);
        for_resource(request.address, self.delete_kind(kind, request)).instrument(span.clone()).await?;
        span.in_scope(|| tracing::debug!("deleted"));
        Ok(())
    }
}

impl AwsProvider {
    async fn create_kind(&self, kind: Kind, request: &ApplyRequest<'_>) -> Result<String, ProviderError> {
        match kind {
            Kind::Vpc => vpc::create(self, request).await,
            Kind::InternetGateway => internet_gateway::create(self, request).await,
            Kind::Subnet => subnet::create(self, request).await,
            Kind::Eip => eip::create(self, request).await,
            Kind::NatGateway => nat_gateway::create(self, request).await,
            Kind::RouteTable => route_table::create(self, request).await,
            Kind::Route => route::create(self, request).await,
            Kind::RouteTableAssociation => route_table_association::create(self, request).await,
            Kind::SecurityGroup => security_group::create(self, request).await,
            Kind::Instance => instance::create(self, request).await,
            Kind::DhcpOptions => dhcp_options::create(self, request).await,
            Kind::DhcpOptionsAssociation => dhcp_options::associate(self, request).await,
            Kind::MainRouteTableAssociation => main_route_table::create(self, request).await,
            Kind::VpcEndpoint => vpc_endpoint::create(self, request).await,
            Kind::PrivateZone => hosted_zone::create_private(self, request).await,
            Kind::OidcProvider => iam::create_oidc(self, request).await,
            Kind::IamRole => iam::create_role(self, request).await,
            Kind::InstanceProfile => iam::create_profile(self, request).await,
        }
    }

    async fn update_kind(&self, kind: Kind, request: &ApplyRequest<'_>, id: &str) -> Result<String, ProviderError> {
        match kind {
            Kind::Vpc => vpc::update(self, request, id).await,
            Kind::InternetGateway => internet_gateway::update(self, request, id).await,
            Kind::Subnet => subnet::update(self, request, id).await,
            Kind::Eip => eip::update(self, request, id).await,
            Kind::NatGateway => nat_gateway::update(self, request, id).await,
            Kind::RouteTable => route_table::update(self, request, id).await,
            Kind::Route => route::update(self, request).await,
            Kind::RouteTableAssociation => route_table_association::update(self, request, id).await,
            Kind::SecurityGroup => security_group::update(self, request, id).await,
            Kind::Instance => instance::update(self, request, id).await,
            Kind::DhcpOptions => dhcp_options::update(self, request, id).await,
            Kind::DhcpOptionsAssociation => dhcp_options::associate(self, request).await,
            Kind::MainRouteTableAssociation => main_route_table::update(self, request, id).await,
            Kind::VpcEndpoint => vpc_endpoint::update(self, request, id).await,
            Kind::PrivateZone => hosted_zone::update_private(self, request, id).await,
            Kind::OidcProvider => iam::update_oidc(self, request, id).await,
            Kind::IamRole => iam::update_role(self, request, id).await,
            Kind::InstanceProfile => iam::update_profile(self, request, id).await,
        }
    }

    async fn delete_kind(&self, kind: Kind, request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
        match kind {
            Kind::Vpc => vpc::delete(self, request).await,
            Kind::InternetGateway => internet_gateway::delete(self, request).await,
            Kind::Subnet => subnet::delete(self, request).await,
            Kind::Eip => eip::delete(self, request).await,
            Kind::NatGateway => nat_gateway::delete(self, request).await,
            Kind::RouteTable => route_table::delete(self, request).await,
            Kind::Route => route::delete(self, request).await,
            Kind::RouteTableAssociation => route_table_association::delete(self, request).await,
            Kind::SecurityGroup => security_group::delete(self, request).await,
            Kind::Instance => instance::delete(self, request).await,
            Kind::DhcpOptions => dhcp_options::delete(self, request).await,
            Kind::DhcpOptionsAssociation => dhcp_options::disassociate(self, request).await,
            Kind::MainRouteTableAssociation => main_route_table::delete(self, request).await,
            Kind::VpcEndpoint => vpc_endpoint::delete(self, request).await,
            Kind::PrivateZone => hosted_zone::delete_private(self, request).await,
            Kind::OidcProvider => iam::delete_oidc(self, request).await,
            Kind::IamRole => iam::delete_role(self, request).await,
            Kind::InstanceProfile => iam::delete_profile(self, request).await,
        }
    }
}

fn kind_of(address: &Address, action: &str) -> Result<Kind, ProviderError> {
    Kind::of(address).map_err(|error| error.into_provider_error(action))
}
