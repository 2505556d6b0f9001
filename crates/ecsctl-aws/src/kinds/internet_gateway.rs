//! `internet_gateway`: CreateInternetGateway (tags at creation) + AttachInternetGateway;
//! delete detaches (tolerating "not attached") then deletes.

use super::ec2::{self, filter, gone, no_id, Object};
use super::Handler;
use crate::kinds::{Reads, Req, Res};
use crate::read_set::ReadSet;
use crate::retry::once;
use crate::{args, error, Clients};
use async_trait::async_trait;
use aws_sdk_ec2::types::{InternetGateway as Igw, ResourceType};
use ecsctl_graph::Kind;
use ecsctl_provider::{Attrs, Created, ErrorClass, ProviderError, ReadItem};
use serde_json::json;

pub struct InternetGateway;

#[async_trait]
impl Handler for InternetGateway {
    async fn create(&self, req: &Req<'_>) -> Res<Created> {
        let Req {
            aws, call, args, ..
        } = *req;
        let vpc_id = args::str(args, "vpc_id")?;
        tracing::debug!(address = %call.address, "CreateInternetGateway");
        let out = aws
            .ec2
            .create_internet_gateway()
            .tag_specifications(ec2::tag_spec(ResourceType::InternetGateway, args))
            .customize()
            .config_override(once!(aws_sdk_ec2))
            .send()
            .await
            .map_err(error::map)?;
        let id = out
            .internet_gateway()
            .and_then(|g| g.internet_gateway_id())
            .ok_or_else(|| no_id("CreateInternetGateway"))?
            .to_string();
        attach(aws, &id, vpc_id).await?;
        Ok(ec2::created(&id))
    }

    async fn find(&self, req: &Req<'_>) -> Res<Option<Created>> {
        let Req {
            aws, call, args, ..
        } = *req;
        let Some(igw) = ec2::find_own::<Igw>(aws, call, args).await? else {
            return Ok(None);
        };
        let id = igw
            .internet_gateway_id()
            .ok_or_else(|| no_id("DescribeInternetGateways"))?;
        // An interrupted create may have stopped between create and attach: finish it.
        let vpc_id = args::str(args, "vpc_id")?;
        if attached_vpc(&igw).is_none() {
            attach(aws, id, vpc_id).await?;
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
        tracing::debug!(address = %call.address, id, "update internet gateway tags");
        ec2::sync_tags(&aws.ec2, id, old, new).await?;
        Ok(ec2::id_outputs(id))
    }

    async fn delete(&self, req: &Req<'_>) -> Res<()> {
        let Req { aws, call, id, .. } = *req;
        // Detach from wherever it is attached (the state's vpc_id may be stale).
        let live = match Igw::by_ids(aws, vec![id.to_string()]).await {
            Ok(found) => found,
            Err(e) if gone(&e) => return Ok(()),
            Err(e) => return Err(e),
        };
        let Some(igw) = live.first() else {
            return Ok(());
        };
        let vpcs: Vec<String> = igw
            .attachments()
            .iter()
            .filter_map(|a| a.vpc_id().map(str::to_string))
            .collect();
        for vpc in &vpcs {
            tracing::debug!(address = %call.address, id, vpc, "DetachInternetGateway");
            if let Err(e) = aws
                .ec2
                .detach_internet_gateway()
                .internet_gateway_id(id)
                .vpc_id(vpc)
                .send()
                .await
            {
                let e = error::map(e);
                if gone(&e) {
                    continue;
                }
                return Err(explain_detach(aws, e, vpc).await);
            }
        }
        tracing::debug!(address = %call.address, id, "DeleteInternetGateway");
        match aws
            .ec2
            .delete_internet_gateway()
            .internet_gateway_id(id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = error::map(e);
                if gone(&e) {
                    Ok(())
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn read(&self, aws: &Clients, set: &ReadSet, items: &[ReadItem]) -> Res<Reads> {
        ec2::read_each(aws, set, Kind::InternetGateway, items, |g: &Igw| {
            let id = g.internet_gateway_id()?;
            let args = json!({
                "vpc_id": attached_vpc(g),
                "tags": ec2::tags_json(g.tags()),
            });
            Some(ec2::live(args, ec2::id_outputs(id)))
        })
        .await
    }

    fn finds_tagged_in_read(&self) -> bool {
        true
    }
}

async fn attach(aws: &Clients, id: &str, vpc_id: &str) -> Result<(), ProviderError> {
    tracing::debug!(id, vpc_id, "AttachInternetGateway");
    let err = match aws
        .ec2
        .attach_internet_gateway()
        .internet_gateway_id(id)
        .vpc_id(vpc_id)
        .send()
        .await
    {
        Ok(_) => return Ok(()),
        Err(e) => error::map(e),
    };
    // An SDK retry after a lost reply finds the gateway attached by the first attempt.
    if err.code.as_deref() == Some("Resource.AlreadyAssociated") {
        let out = aws
            .ec2
            .describe_internet_gateways()
            .internet_gateway_ids(id)
            .send()
            .await
            .map_err(error::map)?;
        if out
            .internet_gateways()
            .iter()
            .any(|g| attached_vpc(g) == Some(vpc_id))
        {
            return Ok(());
        }
    }
    Err(error::with_context(
        err,
        &format!("attaching the gateway to {vpc_id}"),
    ))
}

/// The VPC the gateway is attached to (or attaching to).
fn attached_vpc(g: &Igw) -> Option<&str> {
    g.attachments().iter().find_map(|a| a.vpc_id())
}

/// A detach refused because public addresses are still mapped in the VPC: name the
/// interfaces that hold them (NAT gateways, load balancers, instances).
async fn explain_detach(aws: &Clients, err: ProviderError, vpc: &str) -> ProviderError {
    if err.class != ErrorClass::DependencyViolation {
        return err;
    }
    let enis = aws
        .ec2
        .describe_network_interfaces()
        .filters(filter("vpc-id", [vpc]))
        .send()
        .await;
    let Ok(enis) = enis else { return err };
    let public: Vec<_> = enis
        .network_interfaces()
        .iter()
        .filter(|n| n.association().and_then(|a| a.public_ip()).is_some())
        .cloned()
        .collect();
    error::with_context(err, &ec2::holders(&public))
}
