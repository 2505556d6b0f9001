//! `nat_gateway`: CreateNatGateway (ClientToken, tags at creation), then wait until it is
//! `available` (1–3 minutes on AWS); delete waits until it is `deleted`, because the
//! internet gateway cannot detach and the elastic IP cannot be released before.

use super::ec2::{self, gone, into_attrs, no_id};
use super::Handler;
use crate::kinds::{Reads, Req, Res};
use crate::read_set::ReadSet;
use crate::safe_create::once;
use crate::wait::{self, Poll};
use crate::{args, error, Clients};
use async_trait::async_trait;
use aws_sdk_ec2::types::{NatGateway as Nat, NatGatewayState, ResourceType};
use ecsctl_graph::Kind;
use ecsctl_provider::{Attrs, Call, Created, ErrorClass, Live, ProviderError, ReadItem};
use serde_json::json;
use std::collections::HashMap;
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
        tracing::debug!(address = %call.address, "DescribeNatGateways by tags");
        let out = aws
            .ec2
            .describe_nat_gateways()
            .set_filter(Some(ec2::owner_filters(args)))
            .send()
            .await
            .map_err(error::map)?;
        let Some(id) = out
            .nat_gateways()
            .iter()
            .filter(|n| alive(n) && ec2::is_at(n.tags(), call, args))
            .find_map(|n| n.nat_gateway_id())
        else {
            return Ok(None);
        };
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
        let nats = ec2::scan(
            set,
            Kind::NatGateway,
            items,
            |f| async move {
                aws.ec2
                    .describe_nat_gateways()
                    .filter(f)
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect()
                    .await
                    .map(|nats: Vec<Nat>| nats.into_iter().filter(alive).collect())
                    .map_err(error::map)
            },
            |ids| describe(aws, ids),
            Nat::nat_gateway_id,
            Nat::tags,
        )
        .await?;
        let found: HashMap<String, Live> = nats
            .iter()
            .filter(|n| alive(n))
            .filter_map(|n| {
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
                Some((
                    id.to_string(),
                    Live {
                        args: into_attrs(args),
                        outputs: ec2::id_outputs(id),
                    },
                ))
            })
            .collect();
        Ok(ec2::by_address(items, &found))
    }

    fn finds_tagged_in_read(&self) -> bool {
        true
    }
}

/// Whether the gateway exists in a useful sense: not deleted, deleting or failed (AWS lists
/// those for an hour or so).
fn alive(n: &Nat) -> bool {
    !matches!(
        n.state(),
        Some(NatGatewayState::Deleted | NatGatewayState::Deleting | NatGatewayState::Failed)
    )
}

async fn describe(aws: &Clients, ids: Vec<String>) -> Result<Vec<Nat>, ProviderError> {
    tracing::debug!(count = ids.len(), "DescribeNatGateways");
    aws.ec2
        .describe_nat_gateways()
        .set_nat_gateway_ids(Some(ids))
        .send()
        .await
        .map(|o| o.nat_gateways().to_vec())
        .map_err(error::map)
}

/// The gateway's current description; `None` when AWS does not know it.
async fn state_of(aws: &Clients, id: &str) -> Result<Option<Nat>, ProviderError> {
    match describe(aws, vec![id.to_string()]).await {
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
