//! `nat_gateway`: CreateNatGateway (ClientToken, tags at creation), then wait until it is
//! `available` (1–3 minutes on AWS); delete waits until it is `deleted`, because the
//! internet gateway cannot detach and the elastic IP cannot be released before.

use super::ec2::{self, gone, no_id, Object};
use super::ec2_object::alive;
use super::Handler;
use crate::kinds::{Reads, Req, Res};
use crate::read_set::ReadSet;
use crate::retry::once;
use crate::wait::{self, Poll};
use crate::{args, error, Clients};
use async_trait::async_trait;
use aws_sdk_ec2::types::{NatGateway as Nat, NatGatewayState, ResourceType};
use ecsctl_graph::Kind;
use ecsctl_provider::{Attrs, Call, Created, ErrorClass, ProviderError, ReadItem};
use serde_json::json;
use std::time::Duration;

pub struct NatGateway;

/// First poll interval; the waiter grows it to 4× (20 s).
const POLL: Duration = Duration::from_secs(5);

#[async_trait]
impl Handler for NatGateway {
    async fn create(&self, req: &Req<'_>) -> Res<Created> {
        let Req {
            aws,
            call,
            args,
            token,
            ..
        } = *req;
        let subnet = args::str(args, "subnet_id")?;
        let allocation = args::str(args, "allocation_id")?;
        tracing::debug!(address = %call.address, subnet, allocation, "CreateNatGateway");
        let out = aws
            .ec2
            .create_nat_gateway()
            .subnet_id(subnet)
            .allocation_id(allocation)
            .client_token(args::client_token(token, 64))
            .tag_specifications(ec2::tag_spec(ResourceType::Natgateway, args))
            .customize()
            .config_override(once!(aws_sdk_ec2))
            .send()
            .await
            .map_err(error::map)?;
        let id = out
            .nat_gateway()
            .and_then(|n| n.nat_gateway_id())
            .ok_or_else(|| no_id("CreateNatGateway"))?
            .to_string();
        wait_available(aws, call, &id).await?;
        Ok(ec2::created(&id))
    }

    async fn find(&self, req: &Req<'_>) -> Res<Option<Created>> {
        let Req {
            aws, call, args, ..
        } = *req;
        // Listing leaves deleted gateways out (`ec2_object`).
        let Some(nat) = ec2::find_own::<Nat>(aws, call, args).await? else {
            return Ok(None);
        };
        let id = nat
            .nat_gateway_id()
            .ok_or_else(|| no_id("DescribeNatGateways"))?;
        wait_available(aws, call, id).await?;
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
        tracing::debug!(address = %call.address, id, "update NAT gateway tags");
        ec2::sync_tags(&aws.ec2, id, old, new).await?;
        Ok(ec2::id_outputs(id))
    }

    async fn delete(&self, req: &Req<'_>) -> Res<()> {
        let Req { aws, call, id, .. } = *req;
        tracing::debug!(address = %call.address, id, "DeleteNatGateway");
        if let Err(e) = aws.ec2.delete_nat_gateway().nat_gateway_id(id).send().await {
            let e = error::map(e);
            if gone(&e) {
                return Ok(());
            }
            return Err(e);
        }
        wait_deleted(aws, call, id).await
    }

    async fn read(&self, aws: &Clients, set: &ReadSet, items: &[ReadItem]) -> Res<Reads> {
        ec2::read_each(aws, set, Kind::NatGateway, items, |n: &Nat| {
            if !alive(n) {
                return None;
            }
            let id = n.nat_gateway_id()?;
            let allocation = n
                .nat_gateway_addresses()
                .iter()
                .find_map(|a| a.allocation_id());
            let args = json!({
                "subnet_id": n.subnet_id(),
                "allocation_id": allocation,
                "tags": ec2::tags_json(n.tags()),
            });
            Some(ec2::live(args, ec2::id_outputs(id)))
        })
        .await
    }

    fn finds_tagged_in_read(&self) -> bool {
        true
    }
}

/// Whether the gateway exists in a useful sense: not deleted, deleting or failed (AWS lists
/// those for an hour or so).
/// The gateway's current description; `None` when AWS does not know it.
async fn state_of(aws: &Clients, id: &str) -> Result<Option<Nat>, ProviderError> {
    match Nat::by_ids(aws, vec![id.to_string()]).await {
        Ok(found) => Ok(found.into_iter().next()),
        Err(e) if gone(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Wait until the gateway is `available`; fail with AWS's reason if it goes `failed`.
pub async fn wait_available(aws: &Clients, call: &Call<'_>, id: &str) -> Result<(), ProviderError> {
    wait::until(call, POLL, || async move {
        let Some(nat) = state_of(aws, id).await? else {
            // Just created: Describe may not see it for a moment.
            return Ok(Poll::Pending(format!(
                "waiting for NAT gateway {id} to appear"
            )));
        };
        match nat.state() {
            Some(NatGatewayState::Available) => Ok(Poll::Done(())),
            Some(NatGatewayState::Pending) | None => Ok(Poll::Pending(format!(
                "waiting for NAT gateway {id} to become available"
            ))),
            Some(NatGatewayState::Failed) => Err(ProviderError::new(
                ErrorClass::Other,
                format!(
                    "NAT gateway {id} failed: {}{}",
                    nat.failure_message().unwrap_or("AWS gave no reason"),
                    nat.failure_code()
                        .map(|c| format!(" ({c})"))
                        .unwrap_or_default()
                ),
            )
            .with_code(nat.failure_code().unwrap_or("NatGatewayFailed"))),
            Some(other) => Err(ProviderError::new(
                ErrorClass::Other,
                format!(
                    "NAT gateway {id} is {} while waiting for it to become available",
                    other.as_str()
                ),
            )),
        }
    })
    .await
}

/// Wait until the gateway is `deleted` (or unknown to AWS).
pub async fn wait_deleted(aws: &Clients, call: &Call<'_>, id: &str) -> Result<(), ProviderError> {
    wait::until(call, POLL, || async move {
        match state_of(aws, id).await?.as_ref().and_then(Nat::state) {
            None | Some(NatGatewayState::Deleted) => Ok(Poll::Done(())),
            Some(NatGatewayState::Failed) => Ok(Poll::Done(())),
            Some(_) => Ok(Poll::Pending(format!(
                "waiting for NAT gateway {id} to be deleted"
            ))),
        }
    })
    .await
}
