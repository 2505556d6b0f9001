//! `subnet`: CreateSubnet (tags at creation), ModifySubnetAttribute for
//! MapPublicIpOnLaunch, DeleteSubnet.

use super::ec2::{self, bool_attr, gone, no_id};
use super::Handler;
use crate::kinds::{Reads, Req, Res};
use crate::read_set::ReadSet;
use crate::retry::once;
use crate::{args, error, Clients};
use async_trait::async_trait;
use aws_sdk_ec2::types::{ResourceType, Subnet as Net};
use ecsctl_graph::Kind;
use ecsctl_provider::{Attrs, Created, ProviderError, ReadItem};
use serde_json::json;

pub struct Subnet;

#[async_trait]
impl Handler for Subnet {
    async fn create(&self, req: &Req<'_>) -> Res<Created> {
        let Req {
            aws, call, args, ..
        } = *req;
        let vpc_id = args::str(args, "vpc_id")?;
        let cidr = args::str(args, "cidr_block")?;
        let az = args::str(args, "availability_zone")?;
        let public = args::bool(args, "map_public_ip_on_launch")?;
        tracing::debug!(address = %call.address, vpc_id, cidr, az, "CreateSubnet");
        let out = aws
            .ec2
            .create_subnet()
            .vpc_id(vpc_id)
            .cidr_block(cidr)
            .availability_zone(az)
            .tag_specifications(ec2::tag_spec(ResourceType::Subnet, args))
            .customize()
            .config_override(once!(aws_sdk_ec2))
            .send()
            .await
            .map_err(error::map)?;
        let id = out
            .subnet()
            .and_then(|s| s.subnet_id())
            .ok_or_else(|| no_id("CreateSubnet"))?
            .to_string();
        if public {
            set_public(aws, &id, true).await?;
        }
        Ok(ec2::created(&id))
    }

    async fn find(&self, req: &Req<'_>) -> Res<Option<Created>> {
        let Req {
            aws, call, args, ..
        } = *req;
        let Some(subnet) = ec2::find_own::<Net>(aws, call, args).await? else {
            return Ok(None);
        };
        let id = subnet.subnet_id().ok_or_else(|| no_id("DescribeSubnets"))?;
        // An interrupted create may have stopped before MapPublicIpOnLaunch: finish it.
        let public = args::bool(args, "map_public_ip_on_launch")?;
        if subnet.map_public_ip_on_launch().unwrap_or(false) != public {
            set_public(aws, id, public).await?;
        }
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
        tracing::debug!(address = %call.address, id, "update subnet");
        let want = args::bool(new, "map_public_ip_on_launch")?;
        if args::bool(old, "map_public_ip_on_launch").ok() != Some(want) {
            set_public(aws, id, want).await?;
        }
        ec2::sync_tags(&aws.ec2, id, old, new).await?;
        Ok(ec2::id_outputs(id))
    }

    async fn delete(&self, req: &Req<'_>) -> Res<()> {
        let Req { aws, call, id, .. } = *req;
        tracing::debug!(address = %call.address, id, "DeleteSubnet");
        match aws.ec2.delete_subnet().subnet_id(id).send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = error::map(e);
                if gone(&e) {
                    return Ok(());
                }
                Err(ec2::explain(&aws.ec2, e, "subnet-id", id).await)
            }
        }
    }

    async fn read(&self, aws: &Clients, set: &ReadSet, items: &[ReadItem]) -> Res<Reads> {
        ec2::read_each(aws, set, Kind::Subnet, items, |s: &Net| {
            let id = s.subnet_id()?;
            let args = json!({
                "vpc_id": s.vpc_id(),
                "cidr_block": s.cidr_block(),
                "availability_zone": s.availability_zone(),
                "map_public_ip_on_launch": s.map_public_ip_on_launch().unwrap_or(false),
                "tags": ec2::tags_json(s.tags()),
            });
            Some(ec2::live(args, ec2::id_outputs(id)))
        })
        .await
    }

    fn finds_tagged_in_read(&self) -> bool {
        true
    }
}

async fn set_public(aws: &Clients, id: &str, on: bool) -> Result<(), ProviderError> {
    tracing::debug!(id, map_public_ip_on_launch = on, "ModifySubnetAttribute");
    aws.ec2
        .modify_subnet_attribute()
        .subnet_id(id)
        .map_public_ip_on_launch(bool_attr(on))
        .send()
        .await
        .map_err(error::map)?;
    Ok(())
}
