//! `eip`: AllocateAddress (domain vpc, tags at creation) / ReleaseAddress, addressed by
//! allocation id; output `public_ip`.

use super::ec2::{self, filter, gone, no_id, Object};
use super::Handler;
use crate::kinds::{Reads, Req, Res};
use crate::read_set::ReadSet;
use crate::retry::once;
use crate::{args, error, Clients};
use async_trait::async_trait;
use aws_sdk_ec2::types::{Address as Ip, DomainType, ResourceType};
use ecsctl_graph::Kind;
use ecsctl_provider::{Attrs, Created, ErrorClass, ProviderError, ReadItem};
use serde_json::{json, Value as Json};

pub struct Eip;

#[async_trait]
impl Handler for Eip {
    async fn create(&self, req: &Req<'_>) -> Res<Created> {
        let Req {
            aws, call, args, ..
        } = *req;
        let domain = args::opt_str(args, "domain").unwrap_or("vpc");
        if domain != "vpc" {
            return Err(ProviderError::new(
                ErrorClass::InvalidInput,
                format!("argument `domain` must be \"vpc\" (got \"{domain}\")"),
            ));
        }
        tracing::debug!(address = %call.address, "AllocateAddress");
        let out = aws
            .ec2
            .allocate_address()
            .domain(DomainType::Vpc)
            .tag_specifications(ec2::tag_spec(ResourceType::ElasticIp, args))
            .customize()
            .config_override(once!(aws_sdk_ec2))
            .send()
            .await
            .map_err(error::map)?;
        let id = out
            .allocation_id()
            .ok_or_else(|| no_id("AllocateAddress"))?;
        Ok(Created {
            id: id.to_string(),
            outputs: outputs(id, out.public_ip()),
        })
    }

    async fn find(&self, req: &Req<'_>) -> Res<Option<Created>> {
        let Req {
            aws, call, args, ..
        } = *req;
        let found = ec2::find_own::<Ip>(aws, call, args).await?;
        Ok(found.and_then(|a| {
            let id = a.allocation_id()?;
            Some(Created {
                id: id.to_string(),
                outputs: outputs(id, a.public_ip()),
            })
        }))
    }

    async fn update(&self, req: &Req<'_>) -> Res<Attrs> {
        let Req {
            aws,
            call,
            id,
            old,
            args: new,
            outputs,
            ..
        } = *req;
        tracing::debug!(address = %call.address, id, "update elastic IP tags");
        ec2::sync_tags(&aws.ec2, id, old, new).await?;
        let mut out = outputs.clone();
        out.insert("id".into(), Json::String(id.to_string()));
        Ok(out)
    }

    async fn delete(&self, req: &Req<'_>) -> Res<()> {
        let Req { aws, call, id, .. } = *req;
        tracing::debug!(address = %call.address, id, "ReleaseAddress");
        match aws.ec2.release_address().allocation_id(id).send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = error::map(e);
                if gone(&e) {
                    return Ok(());
                }
                // AWS answers AuthFailure or InvalidIPAddress.InUse for an address that is
                // still associated: say with what.
                Err(explain(aws, e, id).await)
            }
        }
    }

    async fn read(&self, aws: &Clients, set: &ReadSet, items: &[ReadItem]) -> Res<Reads> {
        ec2::read_each(aws, set, Kind::Eip, items, |a: &Ip| {
            let id = a.allocation_id()?;
            let args = json!({
                "domain": a.domain().map(|d| d.as_str()).unwrap_or("vpc"),
                "tags": ec2::tags_json(a.tags()),
            });
            Some(ec2::live(args, outputs(id, a.public_ip())))
        })
        .await
    }

    fn finds_tagged_in_read(&self) -> bool {
        true
    }
}

fn outputs(id: &str, public_ip: Option<&str>) -> Attrs {
    let mut out = ec2::id_outputs(id);
    out.insert("public_ip".into(), json!(public_ip));
    out
}

/// Name the interface (NAT gateway, instance) an address that cannot be released is
/// associated with.
async fn explain(aws: &Clients, err: ProviderError, id: &str) -> ProviderError {
    let Ok(found) = Ip::by_ids(aws, vec![id.to_string()]).await else {
        return err;
    };
    let Some(eni) = found.first().and_then(|a| a.network_interface_id()) else {
        return err;
    };
    let enis = aws
        .ec2
        .describe_network_interfaces()
        .filters(filter("network-interface-id", [eni]))
        .send()
        .await;
    let held = match enis {
        Ok(out) if !out.network_interfaces().is_empty() => ec2::holders(out.network_interfaces()),
        _ => format!("held by {eni}"),
    };
    let mut err = error::with_context(err, &held);
    if err.class != ErrorClass::NotFound {
        err.class = ErrorClass::DependencyViolation;
    }
    err
}
