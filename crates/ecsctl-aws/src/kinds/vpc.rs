//! `vpc`: CreateVpc (tags at creation), ModifyVpcAttribute for DNS support and hostnames
//! (one attribute per call, as the API requires), DeleteVpc.

use super::ec2::{self, bool_attr, no_id};
use super::Handler;
use crate::kinds::{Reads, Req, Res};
use crate::read_set::ReadSet;
use crate::retry::once;
use crate::{args, error, Clients};
use async_trait::async_trait;
use aws_sdk_ec2::types::{ResourceType, Vpc as Net, VpcAttributeName};
use ecsctl_graph::Kind;
use ecsctl_provider::{Attrs, Created, ProviderError, ReadItem};
use serde_json::json;
use std::collections::HashMap;

pub struct Vpc;

/// What AWS sets on a new VPC.
const DEFAULT_DNS_SUPPORT: bool = true;
const DEFAULT_DNS_HOSTNAMES: bool = false;

#[async_trait]
impl Handler for Vpc {
    async fn create(&self, req: &Req<'_>) -> Res<Created> {
        let Req {
            aws, call, args, ..
        } = *req;
        let cidr = args::str(args, "cidr_block")?;
        let support = args::bool(args, "enable_dns_support")?;
        let hostnames = args::bool(args, "enable_dns_hostnames")?;
        tracing::debug!(address = %call.address, cidr, "CreateVpc");
        let out = aws
            .ec2
            .create_vpc()
            .cidr_block(cidr)
            .tag_specifications(ec2::tag_spec(ResourceType::Vpc, args))
            .customize()
            .config_override(once!(aws_sdk_ec2))
            .send()
            .await
            .map_err(error::map)?;
        let id = out
            .vpc()
            .and_then(|v| v.vpc_id())
            .ok_or_else(|| no_id("CreateVpc"))?
            .to_string();
        set_dns(
            aws,
            &id,
            (DEFAULT_DNS_SUPPORT, DEFAULT_DNS_HOSTNAMES),
            (support, hostnames),
        )
        .await?;
        Ok(ec2::created(&id))
    }

    async fn find(&self, req: &Req<'_>) -> Res<Option<Created>> {
        let Req {
            aws, call, args, ..
        } = *req;
        let Some(vpc) = ec2::find_own::<Net>(aws, call, args).await? else {
            return Ok(None);
        };
        let id = vpc.vpc_id().ok_or_else(|| no_id("DescribeVpcs"))?;
        // An interrupted create may have stopped before the DNS attributes: finish it.
        let (support, hostnames) = tokio::try_join!(
            attribute(aws, id, VpcAttributeName::EnableDnsSupport),
            attribute(aws, id, VpcAttributeName::EnableDnsHostnames),
        )?;
        let want = (
            args::bool(args, "enable_dns_support")?,
            args::bool(args, "enable_dns_hostnames")?,
        );
        set_dns(aws, id, (support, hostnames), want).await?;
        Ok(Some(ec2::created(id)))
    }

    async fn update(&self, req: &Req<'_>) -> Res<Attrs> {
        let Req {
            aws,
            call,
            id,
            old,
            args: new,
            ..
        } = *req;
        tracing::debug!(address = %call.address, id, "update VPC");
        let before = (
            args::bool(old, "enable_dns_support").unwrap_or(DEFAULT_DNS_SUPPORT),
            args::bool(old, "enable_dns_hostnames").unwrap_or(DEFAULT_DNS_HOSTNAMES),
        );
        let after = (
            args::bool(new, "enable_dns_support")?,
            args::bool(new, "enable_dns_hostnames")?,
        );
        set_dns(aws, id, before, after).await?;
        ec2::sync_tags(&aws.ec2, id, old, new).await?;
        Ok(ec2::id_outputs(id))
    }

    async fn delete(&self, req: &Req<'_>) -> Res<()> {
        let Req { aws, call, id, .. } = *req;
        tracing::debug!(address = %call.address, id, "DeleteVpc");
        match aws.ec2.delete_vpc().vpc_id(id).send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = error::map(e);
                if e.class == ecsctl_provider::ErrorClass::NotFound {
                    return Ok(());
                }
                Err(ec2::explain(&aws.ec2, e, "vpc-id", id).await)
            }
        }
    }

    async fn read(&self, aws: &Clients, set: &ReadSet, items: &[ReadItem]) -> Res<Reads> {
        let vpcs: Vec<Net> = ec2::scan_objects(aws, set, Kind::Vpc, items).await?;
        let mut found = HashMap::new();
        for v in vpcs {
            // Attributes take two calls a VPC: only for the state's, not orphans.
            let Some(id) = v.vpc_id().filter(|id| items.iter().any(|i| i.id == *id)) else {
                continue;
            };
            let (support, hostnames) = tokio::try_join!(
                attribute(aws, id, VpcAttributeName::EnableDnsSupport),
                attribute(aws, id, VpcAttributeName::EnableDnsHostnames),
            )?;
            let args = json!({
                "cidr_block": v.cidr_block(),
                "enable_dns_support": support,
                "enable_dns_hostnames": hostnames,
                "tags": ec2::tags_json(v.tags()),
            });
            found.insert(id.to_string(), ec2::live(args, ec2::id_outputs(id)));
        }
        Ok(ec2::by_address(items, &found))
    }

    fn finds_tagged_in_read(&self) -> bool {
        true
    }
}

/// Move the DNS attributes from `before` to `after` (support, hostnames), one call per
/// changed attribute, in an order AWS accepts: hostnames need support on.
async fn set_dns(
    aws: &Clients,
    id: &str,
    before: (bool, bool),
    after: (bool, bool),
) -> Result<(), ProviderError> {
    let support = (before.0 != after.0).then_some(after.0);
    let hostnames = (before.1 != after.1).then_some(after.1);
    let set_support = |v: bool| async move {
        tracing::debug!(id, enable_dns_support = v, "ModifyVpcAttribute");
        aws.ec2
            .modify_vpc_attribute()
            .vpc_id(id)
            .enable_dns_support(bool_attr(v))
            .send()
            .await
            .map(|_| ())
            .map_err(error::map)
    };
    let set_hostnames = |v: bool| async move {
        tracing::debug!(id, enable_dns_hostnames = v, "ModifyVpcAttribute");
        aws.ec2
            .modify_vpc_attribute()
            .vpc_id(id)
            .enable_dns_hostnames(bool_attr(v))
            .send()
            .await
            .map(|_| ())
            .map_err(error::map)
    };
    if after.0 {
        if let Some(v) = support {
            set_support(v).await?;
        }
        if let Some(v) = hostnames {
            set_hostnames(v).await?;
        }
    } else {
        if let Some(v) = hostnames {
            set_hostnames(v).await?;
        }
        if let Some(v) = support {
            set_support(v).await?;
        }
    }
    Ok(())
}

async fn attribute(aws: &Clients, id: &str, name: VpcAttributeName) -> Result<bool, ProviderError> {
    tracing::debug!(id, attribute = name.as_str(), "DescribeVpcAttribute");
    let out = aws
        .ec2
        .describe_vpc_attribute()
        .vpc_id(id)
        .attribute(name.clone())
        .send()
        .await
        .map_err(error::map)?;
    let value = match name {
        VpcAttributeName::EnableDnsSupport => out.enable_dns_support(),
        _ => out.enable_dns_hostnames(),
    };
    Ok(value.and_then(|v| v.value()).unwrap_or(false))
}
