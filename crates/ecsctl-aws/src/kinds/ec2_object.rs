//! The EC2 object types the stack's kinds manage, behind one trait: how each is listed by
//! filters and described by ids, and where its id and tags are. The EC2 kinds' `find` and
//! `read` are written once over it ([`super::ec2::find_own`], [`super::ec2::read_each`]).

use super::Res;
use crate::{error, Clients};
use async_trait::async_trait;
use aws_sdk_ec2::types::{
    Address, Filter, InternetGateway, LaunchTemplate, NatGateway, NatGatewayState, RouteTable,
    SecurityGroup, Subnet, Tag, Vpc,
};

/// One EC2 object type.
#[async_trait]
pub trait Object: Sized + Clone + Send + Sync + 'static {
    fn id(&self) -> Option<&str>;
    fn tags(&self) -> &[Tag];
    /// Every object matching `filters`, all pages.
    async fn list(aws: &Clients, filters: Vec<Filter>) -> Res<Vec<Self>>;
    /// The objects with these ids, in one call (NotFound when one of them does not exist).
    async fn by_ids(aws: &Clients, ids: Vec<String>) -> Res<Vec<Self>>;
}

/// `impl Object` for a type whose Describe call is paginated and takes `filters`:
/// type, id getter, Describe call, its ids setter, its output list.
macro_rules! paginated {
    ($ty:ty, $id:ident, $call:ident, $ids:ident, $out:ident) => {
        #[async_trait]
        impl Object for $ty {
            fn id(&self) -> Option<&str> {
                self.$id()
            }
            fn tags(&self) -> &[Tag] {
                <$ty>::tags(self)
            }
            async fn list(aws: &Clients, filters: Vec<Filter>) -> Res<Vec<Self>> {
                tracing::debug!(call = stringify!($call), "EC2 describe by filters");
                aws.ec2
                    .$call()
                    .set_filters(Some(filters))
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect()
                    .await
                    .map_err(error::map)
            }
            async fn by_ids(aws: &Clients, ids: Vec<String>) -> Res<Vec<Self>> {
                tracing::debug!(
                    call = stringify!($call),
                    count = ids.len(),
                    "EC2 describe by ids"
                );
                aws.ec2
                    .$call()
                    .$ids(Some(ids))
                    .send()
                    .await
                    .map(|o| o.$out().to_vec())
                    .map_err(error::map)
            }
        }
    };
}

paginated!(Vpc, vpc_id, describe_vpcs, set_vpc_ids, vpcs);
paginated!(Subnet, subnet_id, describe_subnets, set_subnet_ids, subnets);
paginated!(
    InternetGateway,
    internet_gateway_id,
    describe_internet_gateways,
    set_internet_gateway_ids,
    internet_gateways
);
paginated!(
    RouteTable,
    route_table_id,
    describe_route_tables,
    set_route_table_ids,
    route_tables
);
paginated!(
    SecurityGroup,
    group_id,
    describe_security_groups,
    set_group_ids,
    security_groups
);
paginated!(
    LaunchTemplate,
    launch_template_id,
    describe_launch_templates,
    set_launch_template_ids,
    launch_templates
);

/// Listing leaves out gateways that are deleted or being deleted (AWS lists them for an
/// hour); by id they are returned, so a delete can see that it is done.
#[async_trait]
impl Object for NatGateway {
    fn id(&self) -> Option<&str> {
        self.nat_gateway_id()
    }
    fn tags(&self) -> &[Tag] {
        NatGateway::tags(self)
    }
    async fn list(aws: &Clients, filters: Vec<Filter>) -> Res<Vec<Self>> {
        tracing::debug!("DescribeNatGateways by filters");
        let all: Vec<NatGateway> = aws
            .ec2
            .describe_nat_gateways()
            .set_filter(Some(filters))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(error::map)?;
        Ok(all.into_iter().filter(alive).collect())
    }
    async fn by_ids(aws: &Clients, ids: Vec<String>) -> Res<Vec<Self>> {
        tracing::debug!(count = ids.len(), "DescribeNatGateways");
        aws.ec2
            .describe_nat_gateways()
            .set_nat_gateway_ids(Some(ids))
            .send()
            .await
            .map(|o| o.nat_gateways().to_vec())
            .map_err(error::map)
    }
}

/// Whether a NAT gateway is (or is becoming) usable.
pub fn alive(n: &NatGateway) -> bool {
    !matches!(
        n.state(),
        Some(NatGatewayState::Deleted | NatGatewayState::Deleting | NatGatewayState::Failed)
    )
}

/// Elastic IPs are addressed by allocation id; DescribeAddresses is not paginated.
#[async_trait]
impl Object for Address {
    fn id(&self) -> Option<&str> {
        self.allocation_id()
    }
    fn tags(&self) -> &[Tag] {
        Address::tags(self)
    }
    async fn list(aws: &Clients, filters: Vec<Filter>) -> Res<Vec<Self>> {
        tracing::debug!("DescribeAddresses by filters");
        aws.ec2
            .describe_addresses()
            .set_filters(Some(filters))
            .send()
            .await
            .map(|o| o.addresses().to_vec())
            .map_err(error::map)
    }
    async fn by_ids(aws: &Clients, ids: Vec<String>) -> Res<Vec<Self>> {
        tracing::debug!(count = ids.len(), "DescribeAddresses");
        aws.ec2
            .describe_addresses()
            .set_allocation_ids(Some(ids))
            .send()
            .await
            .map(|o| o.addresses().to_vec())
            .map_err(error::map)
    }
}
