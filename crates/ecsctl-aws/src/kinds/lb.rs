//! `lb`: an Application Load Balancer (ELBv2 CreateLoadBalancer / DeleteLoadBalancer).
//!
//! The id is the load balancer's ARN. Create tags at creation, sets the idle timeout
//! attribute and waits until the load balancer is `active`; delete waits until it is gone.

use super::elb::{
    self, elb_tags, listed_or_described, orphans, retag, tags_in, tags_of, ELB_BATCH,
};
use crate::args::{is_ours, stack_of};
use crate::kinds::Handler;
use crate::kinds::{Reads, Req, Res};
use crate::read_set::ReadSet;
use crate::retry::once;
use crate::wait::{self, Poll};
use crate::{args, error, Clients};
use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    LoadBalancer, LoadBalancerAttribute, LoadBalancerSchemeEnum, LoadBalancerStateEnum,
    LoadBalancerTypeEnum,
};
use ecsctl_graph::Kind;
use ecsctl_provider::{Attrs, Call, Created, ErrorClass, Live, Orphan, ProviderError, ReadItem};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

const IDLE_TIMEOUT: &str = "idle_timeout.timeout_seconds";
const ACTIVE_POLL: Duration = Duration::from_secs(5);
const GONE_POLL: Duration = Duration::from_secs(3);

pub struct Lb;

#[async_trait]
impl Handler for Lb {
    async fn create(&self, req: &Req<'_>) -> Res<Created> {
        let Req {
            aws, call, args, ..
        } = *req;
        let name = args::str(args, "name")?;
        let scheme = if args::bool(args, "internal")? {
            LoadBalancerSchemeEnum::Internal
        } else {
            LoadBalancerSchemeEnum::InternetFacing
        };
        let kind = args::opt_str(args, "type").unwrap_or("application");
        tracing::debug!(name, "elbv2 CreateLoadBalancer");
        // ELBv2 has no client token, but CreateLoadBalancer is idempotent by name: a retry
        // after a lost reply returns the load balancer the first call made.
        let out = aws
            .elbv2
            .create_load_balancer()
            .name(name)
            .r#type(LoadBalancerTypeEnum::from(kind))
            .scheme(scheme)
            .set_subnets(Some(args::strings(args, "subnet_ids")?))
            .set_security_groups(Some(args::strings(args, "security_group_ids")?))
            .set_tags(Some(elb_tags(args)))
            .customize()
            .config_override(once!(aws_sdk_elasticloadbalancingv2))
            .send()
            .await
            .map_err(error::map)?;
        let lb = out
            .load_balancers()
            .first()
            .ok_or_else(|| no_answer("CreateLoadBalancer", name))?;
        let arn = lb.load_balancer_arn().unwrap_or_default().to_string();
        set_idle_timeout(aws, &arn, args::int(args, "idle_timeout")?).await?;
        let lb = wait_active(aws, call, &arn).await?;
        Ok(Created {
            id: arn,
            outputs: outputs(&lb),
        })
    }

    async fn find(&self, req: &Req<'_>) -> Res<Option<Created>> {
        let Req {
            aws, call, args, ..
        } = *req;
        let name = args::str(args, "name")?;
        tracing::debug!(name, "elbv2 DescribeLoadBalancers by name");
        let found = match aws
            .elbv2
            .describe_load_balancers()
            .names(name)
            .send()
            .await
            .map_err(error::map)
        {
            Ok(out) => out.load_balancers().to_vec(),
            Err(e) if e.class == ErrorClass::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let arns: Vec<String> = found
            .iter()
            .filter_map(|lb| lb.load_balancer_arn().map(str::to_string))
            .collect();
        let tags = tags_of(aws, &arns).await?;
        let Some(stack) = stack_of(args) else {
            return Ok(None);
        };
        for lb in found {
            let arn = lb.load_balancer_arn().unwrap_or_default();
            if tags
                .get(arn)
                .is_some_and(|t| is_ours(t, stack, call.address))
            {
                // An interrupted create may have stopped before the idle timeout or the
                // wait: finish both (setting the attribute again is harmless).
                set_idle_timeout(aws, arn, args::int(args, "idle_timeout")?).await?;
                let lb = wait_active(aws, call, arn).await?;
                return Ok(Some(Created {
                    id: arn.to_string(),
                    outputs: outputs(&lb),
                }));
            }
        }
        Ok(None)
    }

    async fn update(&self, req: &Req<'_>) -> Res<Attrs> {
        let Req {
            aws,
            id,
            old,
            args: new,
            outputs,
            ..
        } = *req;
        let subnets = args::strings(new, "subnet_ids")?;
        if sorted(args::strings(old, "subnet_ids")?) != sorted(subnets.clone()) {
            tracing::debug!(id, "elbv2 SetSubnets");
            aws.elbv2
                .set_subnets()
                .load_balancer_arn(id)
                .set_subnets(Some(subnets))
                .send()
                .await
                .map_err(error::map)?;
        }
        let groups = args::strings(new, "security_group_ids")?;
        if sorted(args::strings(old, "security_group_ids")?) != sorted(groups.clone()) {
            tracing::debug!(id, "elbv2 SetSecurityGroups");
            aws.elbv2
                .set_security_groups()
                .load_balancer_arn(id)
                .set_security_groups(Some(groups))
                .send()
                .await
                .map_err(error::map)?;
        }
        let idle = args::int(new, "idle_timeout")?;
        if old.get("idle_timeout") != new.get("idle_timeout") {
            set_idle_timeout(aws, id, idle).await?;
        }
        retag(aws, id, old, new).await?;
        Ok(outputs.clone())
    }

    async fn delete(&self, req: &Req<'_>) -> Res<()> {
        let Req { aws, call, id, .. } = *req;
        tracing::debug!(id, "elbv2 DeleteLoadBalancer");
        match aws
            .elbv2
            .delete_load_balancer()
            .load_balancer_arn(id)
            .send()
            .await
            .map_err(error::map)
        {
            Ok(_) => {}
            Err(e) if e.class == ErrorClass::NotFound => return Ok(()),
            Err(e) => return Err(e),
        }
        wait::until(call, GONE_POLL, || async {
            match describe(aws, vec![id.to_string()]).await {
                Err(e) if e.class == ErrorClass::NotFound => Ok(Poll::Done(())),
                Err(e) => Err(e),
                Ok(lbs) if lbs.is_empty() => Ok(Poll::Done(())),
                Ok(lbs) => Ok(Poll::Pending(format!(
                    "waiting for load balancer to be deleted ({})",
                    state_name(&lbs[0])
                ))),
            }
        })
        .await?;
        interfaces_gone(aws, call, id).await
    }

    async fn read(&self, aws: &Clients, set: &ReadSet, items: &[ReadItem]) -> Res<Reads> {
        // With a stack, from the listing orphan discovery makes anyway.
        let listing = elb::load_balancers(aws, set).await?;
        let mut out = BTreeMap::new();
        for chunk in items.chunks(ELB_BATCH) {
            let ids: Vec<String> = chunk.iter().map(|i| i.id.clone()).collect();
            let found =
                listed_or_described(listing, &ids, LoadBalancer::load_balancer_arn, |ids| {
                    describe(aws, ids)
                })
                .await?;
            let by_arn: HashMap<&str, &LoadBalancer> = found
                .iter()
                .filter_map(|lb| lb.load_balancer_arn().map(|a| (a, lb)))
                .collect();
            let present: Vec<String> = by_arn.keys().map(|a| a.to_string()).collect();
            let tags = tags_in(aws, set, &present).await?;
            for item in chunk {
                let Some(lb) = by_arn.get(item.id.as_str()) else {
                    out.insert(item.address.clone(), None);
                    continue;
                };
                let Some(idle) = idle_timeout(aws, &item.id).await? else {
                    out.insert(item.address.clone(), None);
                    continue;
                };
                let mut a = Attrs::new();
                a.insert("name".into(), json!(lb.load_balancer_name()));
                a.insert(
                    "internal".into(),
                    json!(lb.scheme() == Some(&LoadBalancerSchemeEnum::Internal)),
                );
                a.insert(
                    "type".into(),
                    json!(lb.r#type().map(|t| t.as_str()).unwrap_or("application")),
                );
                let subnets: Vec<&str> = lb
                    .availability_zones()
                    .iter()
                    .filter_map(|z| z.subnet_id())
                    .collect();
                a.insert("subnet_ids".into(), json!(subnets));
                a.insert("security_group_ids".into(), json!(lb.security_groups()));
                a.insert("idle_timeout".into(), json!(idle));
                a.insert(
                    "tags".into(),
                    args::tags_json(tags.get(&item.id).cloned().unwrap_or_default()),
                );
                out.insert(
                    item.address.clone(),
                    Some(Live {
                        args: a,
                        outputs: outputs(lb),
                    }),
                );
            }
        }
        Ok(out)
    }

    async fn tagged(&self, aws: &Clients, set: &ReadSet, stack: &str) -> Res<Vec<Orphan>> {
        let arns = elb::stack_load_balancers(aws, set).await?;
        orphans(aws, set, Kind::Lb, stack, &arns).await
    }
}

fn outputs(lb: &LoadBalancer) -> Attrs {
    let arn = lb.load_balancer_arn().unwrap_or_default();
    let mut o = Attrs::new();
    o.insert("id".into(), json!(arn));
    o.insert("arn".into(), json!(arn));
    o.insert("dns_name".into(), json!(lb.dns_name().unwrap_or_default()));
    o.insert(
        "zone_id".into(),
        json!(lb.canonical_hosted_zone_id().unwrap_or_default()),
    );
    o
}

fn state_name(lb: &LoadBalancer) -> &str {
    lb.state()
        .and_then(|s| s.code())
        .map(|c| c.as_str())
        .unwrap_or("unknown state")
}

async fn describe(aws: &Clients, arns: Vec<String>) -> Result<Vec<LoadBalancer>, ProviderError> {
    tracing::debug!(?arns, "elbv2 DescribeLoadBalancers");
    let out = aws
        .elbv2
        .describe_load_balancers()
        .set_load_balancer_arns(Some(arns))
        .send()
        .await
        .map_err(error::map)?;
    Ok(out.load_balancers().to_vec())
}

/// Poll until the load balancer is active; a `failed` state is an error that says why.
async fn wait_active(
    aws: &Clients,
    call: &Call<'_>,
    arn: &str,
) -> Result<LoadBalancer, ProviderError> {
    wait::until(call, ACTIVE_POLL, || async {
        let lbs = describe(aws, vec![arn.to_string()]).await?;
        let Some(lb) = lbs.into_iter().next() else {
            return Ok(Poll::Pending(
                "waiting for the new load balancer to appear".to_string(),
            ));
        };
        let state = lb.state().and_then(|s| s.code()).cloned();
        match state {
            Some(LoadBalancerStateEnum::Active) | Some(LoadBalancerStateEnum::ActiveImpaired) => {
                Ok(Poll::Done(lb))
            }
            Some(LoadBalancerStateEnum::Failed) => {
                let reason = lb
                    .state()
                    .and_then(|s| s.reason())
                    .unwrap_or("AWS gave no reason");
                Err(ProviderError::new(
                    ErrorClass::Other,
                    format!(
                        "load balancer {arn} failed to provision: {reason}; check the subnets \
                         (one per availability zone, at least two zones) and security groups, \
                         then destroy it and apply again"
                    ),
                ))
            }
            _ => Ok(Poll::Pending(format!(
                "waiting for load balancer to become active ({})",
                state_name(&lb)
            ))),
        }
    })
    .await
}

async fn set_idle_timeout(aws: &Clients, arn: &str, seconds: i64) -> Result<(), ProviderError> {
    tracing::debug!(arn, seconds, "elbv2 ModifyLoadBalancerAttributes");
    aws.elbv2
        .modify_load_balancer_attributes()
        .load_balancer_arn(arn)
        .attributes(
            LoadBalancerAttribute::builder()
                .key(IDLE_TIMEOUT)
                .value(seconds.to_string())
                .build(),
        )
        .send()
        .await
        .map_err(error::map)?;
    Ok(())
}

/// The idle timeout attribute; `None` when the load balancer is gone.
async fn idle_timeout(aws: &Clients, arn: &str) -> Result<Option<i64>, ProviderError> {
    tracing::debug!(arn, "elbv2 DescribeLoadBalancerAttributes");
    let out = match aws
        .elbv2
        .describe_load_balancer_attributes()
        .load_balancer_arn(arn)
        .send()
        .await
        .map_err(error::map)
    {
        Ok(out) => out,
        Err(e) if e.class == ErrorClass::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let value = out
        .attributes()
        .iter()
        .find(|a| a.key() == Some(IDLE_TIMEOUT))
        .and_then(|a| a.value())
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    Ok(Some(value))
}

fn no_answer(op: &str, what: &str) -> ProviderError {
    ProviderError::new(
        ErrorClass::Other,
        format!("{op} for {what} returned nothing; run the command again"),
    )
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Waits until the deleted load balancer's network interfaces are gone. AWS removes them
/// minutes after DeleteLoadBalancer, and until then they hold its security groups and
/// subnets (DependencyViolation); terraform-provider-aws waits the same way
/// (internal/service/elbv2/load_balancer.go, cleanupALBNetworkInterfaces). At the deadline
/// the error names the interfaces.
async fn interfaces_gone(aws: &Clients, call: &Call<'_>, arn: &str) -> Result<(), ProviderError> {
    // arn:aws:elasticloadbalancing:REGION:ACCOUNT:loadbalancer/app/NAME/ID
    let Some((_, suffix)) = arn.split_once(":loadbalancer/") else {
        return Ok(());
    };
    let description = format!("ELB {suffix}");
    wait::until(call, GONE_POLL, || async {
        tracing::debug!(%description, "ec2 DescribeNetworkInterfaces");
        let out = aws
            .ec2
            .describe_network_interfaces()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("description")
                    .values(&description)
                    .build(),
            )
            .send()
            .await
            .map_err(error::map)?;
        let ids: Vec<&str> = out
            .network_interfaces()
            .iter()
            .filter_map(|n| n.network_interface_id())
            .collect();
        Ok(if ids.is_empty() {
            Poll::Done(())
        } else {
            Poll::Pending(format!(
                "waiting for the load balancer's network interfaces to go ({}), which hold its \
                 subnets and security groups",
                ids.join(", ")
            ))
        })
    })
    .await
}
