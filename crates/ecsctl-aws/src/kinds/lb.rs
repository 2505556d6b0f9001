//! `lb`: an Application Load Balancer (ELBv2 CreateLoadBalancer / DeleteLoadBalancer).
//!
//! The id is the load balancer's ARN. Create tags at creation, sets the idle timeout
//! attribute and waits until the load balancer is `active`; delete waits until it is gone.
//! This file also holds the small helpers the other ELBv2 kinds (and the Auto Scaling
//! group) share: tag diffs, batched DescribeTags, per-id fallback on NotFound, orphans.

use crate::kinds::Handler;
use crate::kinds::{Reads, Req, Res};
use crate::read_set::{ElbTags, ReadSet};
use crate::safe_create::once;
use crate::wait::{self, Poll};
use crate::{args, error, Clients};
use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    LoadBalancer, LoadBalancerAttribute, LoadBalancerSchemeEnum, LoadBalancerStateEnum,
    LoadBalancerTypeEnum, Tag, TagDescription,
};
use ecsctl_graph::{Address, Kind};
use ecsctl_provider::{Attrs, Call, Created, ErrorClass, Live, Orphan, ProviderError, ReadItem};
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::Duration;

pub(crate) use ecsctl_graph::{ADDRESS_TAG, STACK_TAG};
/// DescribeTags, DescribeLoadBalancers and DescribeTargetGroups take at most 20 ARNs.
pub(crate) const ELB_BATCH: usize = 20;

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
        let listing = set.elb_load_balancers(aws).await?;
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
        let arns = set.elb_stack_load_balancers(aws).await?;
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

// ---- Helpers shared by the ELBv2 kinds and the Auto Scaling group ----

/// The `tags` argument as ELBv2 tags.
pub(crate) fn elb_tags(args: &Attrs) -> Vec<Tag> {
    args::tags(args)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// The stack named by the `ecsctl:stack` tag of a resource's arguments.
pub(crate) fn stack_of(args: &Attrs) -> Option<&str> {
    args.get("tags")
        .and_then(|t| t.get(STACK_TAG))
        .and_then(Json::as_str)
}

/// Whether live tags say the resource is this stack's resource at this address.
pub(crate) fn is_ours(tags: &[(String, String)], stack: &str, address: &Address) -> bool {
    let has = |k: &str, v: &str| tags.iter().any(|(tk, tv)| tk == k && tv == v);
    has(STACK_TAG, stack) && has(ADDRESS_TAG, &address.to_string())
}

/// The orphan a resource's tags describe, if it belongs to `stack` and names an address of
/// `kind`.
pub(crate) fn orphan(
    kind: Kind,
    stack: &str,
    tags: &[(String, String)],
    id: &str,
) -> Option<Orphan> {
    let get = |k: &str| tags.iter().find(|(tk, _)| tk == k).map(|(_, v)| v.as_str());
    if get(STACK_TAG) != Some(stack) {
        return None;
    }
    let address: Address = get(ADDRESS_TAG)?.parse().ok()?;
    (address.kind == kind).then(|| Orphan {
        address,
        id: id.to_string(),
    })
}

/// Apply the difference between the old and new `tags` arguments to an ELBv2 resource.
pub(crate) async fn retag(
    aws: &Clients,
    arn: &str,
    old: &Attrs,
    new: &Attrs,
) -> Result<(), ProviderError> {
    let (set, remove) = args::tag_changes(old, new);
    if !remove.is_empty() {
        tracing::debug!(arn, ?remove, "elbv2 RemoveTags");
        aws.elbv2
            .remove_tags()
            .resource_arns(arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(error::map)?;
    }
    if !set.is_empty() {
        tracing::debug!(arn, "elbv2 AddTags");
        let tags = set
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        aws.elbv2
            .add_tags()
            .resource_arns(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(error::map)?;
    }
    Ok(())
}

/// One DescribeTags call for at most [`ELB_BATCH`] ARNs of any ELBv2 kinds.
async fn describe_tags_once(
    aws: &Clients,
    arns: Vec<String>,
) -> Result<Vec<TagDescription>, ProviderError> {
    tracing::debug!(?arns, "elbv2 DescribeTags");
    let resp = aws
        .elbv2
        .describe_tags()
        .set_resource_arns(Some(arns))
        .send()
        .await
        .map_err(error::map)?;
    Ok(resp.tag_descriptions().to_vec())
}

/// Tags by ARN, without AWS's own `aws:` tags.
fn by_arn(found: Vec<TagDescription>, out: &mut ElbTags) {
    for d in found {
        let tags = d
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
            .filter(|(k, _)| !k.starts_with("aws:"))
            .collect();
        out.insert(d.resource_arn().unwrap_or_default().to_string(), tags);
    }
}

/// The tags of `arns` (any mix of ELBv2 kinds), 20 a call. Fails `NotFound` when one of
/// them is gone.
pub(crate) async fn describe_tags(
    aws: &Clients,
    arns: &[String],
) -> Result<ElbTags, ProviderError> {
    let mut out = HashMap::new();
    for chunk in arns.chunks(ELB_BATCH) {
        by_arn(describe_tags_once(aws, chunk.to_vec()).await?, &mut out);
    }
    Ok(out)
}

/// The tags of `arns`, 20 a call; an ARN that is gone is left out.
pub(crate) async fn tags_of(aws: &Clients, arns: &[String]) -> Result<ElbTags, ProviderError> {
    let mut out = HashMap::new();
    for chunk in arns.chunks(ELB_BATCH) {
        let found = each_on_missing(chunk, |arns| describe_tags_once(aws, arns)).await?;
        by_arn(found, &mut out);
    }
    Ok(out)
}

/// The tags of `present` (resources a reader found) from the refresh's one DescribeTags
/// call over every ELBv2 resource; when that call failed because something is gone, from a
/// call of the reader's own.
pub(crate) async fn tags_in(
    aws: &Clients,
    set: &ReadSet,
    present: &[String],
) -> Result<ElbTags, ProviderError> {
    match set.elb_tags(aws).await {
        Ok(all) if present.iter().all(|a| all.contains_key(a)) => Ok(present
            .iter()
            .filter_map(|a| all.get(a).map(|t| (a.clone(), t.clone())))
            .collect()),
        Ok(_) => tags_of(aws, present).await,
        Err(e) if e.class == ErrorClass::NotFound => tags_of(aws, present).await,
        Err(e) => Err(e.clone()),
    }
}

/// The orphans of `kind` among `arns`, by their tags (from the scan's one DescribeTags
/// call where it has them).
pub(crate) async fn orphans(
    aws: &Clients,
    set: &ReadSet,
    kind: Kind,
    stack: &str,
    arns: &[String],
) -> Res<Vec<Orphan>> {
    let mut tags = match set.elb_tags(aws).await {
        Ok(known) => known.clone(),
        Err(_) => ElbTags::new(),
    };
    let rest: Vec<String> = arns
        .iter()
        .filter(|a| !tags.contains_key(*a))
        .cloned()
        .collect();
    if !rest.is_empty() {
        tags.extend(tags_of(aws, &rest).await?);
    }
    let mut out: Vec<Orphan> = arns
        .iter()
        .filter_map(|arn| orphan(kind, stack, tags.get(arn)?, arn))
        .collect();
    out.sort_by(|a, b| (&a.address, &a.id).cmp(&(&b.address, &b.id)));
    Ok(out)
}

/// `ids` from a listing the scan made anyway (orphan discovery), when there is one; what it
/// does not hold is described by ARN.
pub(crate) async fn listed_or_described<T, F, Fut>(
    listing: Option<&[T]>,
    ids: &[String],
    arn_of: fn(&T) -> Option<&str>,
    describe: F,
) -> Result<Vec<T>, ProviderError>
where
    T: Clone,
    F: Fn(Vec<String>) -> Fut,
    Fut: Future<Output = Result<Vec<T>, ProviderError>>,
{
    let Some(listing) = listing else {
        return each_on_missing(ids, describe).await;
    };
    let mut found: Vec<T> = listing
        .iter()
        .filter(|t| arn_of(t).is_some_and(|a| ids.iter().any(|i| i == a)))
        .cloned()
        .collect();
    let missing: Vec<String> = ids
        .iter()
        .filter(|i| !found.iter().any(|t| arn_of(t) == Some(i.as_str())))
        .cloned()
        .collect();
    if !missing.is_empty() {
        found.extend(each_on_missing(&missing, describe).await?);
    }
    Ok(found)
}

/// Every load balancer of the account (DescribeLoadBalancers, 400 a page).
pub(crate) async fn list_all(aws: &Clients) -> Result<Vec<LoadBalancer>, ProviderError> {
    tracing::debug!("elbv2 DescribeLoadBalancers (all)");
    let mut pages = aws.elbv2.describe_load_balancers().into_paginator().send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        out.extend(page.map_err(error::map)?.load_balancers().iter().cloned());
    }
    Ok(out)
}

/// Run a batched Describe for `ids`; when it fails NotFound (one id is gone and the API
/// refuses the whole batch), ask for each id alone and leave out the ones that are gone.
pub(crate) async fn each_on_missing<T, F, Fut>(
    ids: &[String],
    fetch: F,
) -> Result<Vec<T>, ProviderError>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: Future<Output = Result<Vec<T>, ProviderError>>,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    match fetch(ids.to_vec()).await {
        Err(e) if e.class == ErrorClass::NotFound => {
            let mut all = Vec::new();
            for id in ids {
                match fetch(vec![id.clone()]).await {
                    Ok(found) => all.extend(found),
                    Err(e) if e.class == ErrorClass::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(all)
        }
        other => other,
    }
}

/// A JSON number from AWS's float: an integer when it is one (so `60` reads back as `60`).
pub(crate) fn number(f: f64) -> Json {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        json!(f as i64)
    } else {
        json!(f)
    }
}

/// Read an integer-like value back in the JSON type the arguments used (a number or a
/// numeric string), so reads compare equal to what was asked.
pub(crate) fn like(old: Option<&Json>, live: &str) -> Json {
    match (old, live.parse::<i64>()) {
        (Some(Json::String(_)), _) | (_, Err(_)) => json!(live),
        (_, Ok(n)) => json!(n),
    }
}

/// An integer argument that must fit AWS's 32-bit integers.
pub(crate) fn int32(args: &Attrs, name: &str) -> Result<i32, ProviderError> {
    let n = args::int(args, name)?;
    i32::try_from(n).map_err(|_| {
        ProviderError::new(
            ErrorClass::InvalidInput,
            format!("argument `{name}` = {n} is out of range"),
        )
    })
}

/// An integer-or-string argument as the string AWS wants.
pub(crate) fn int_or_str(args: &Attrs, name: &str) -> Result<String, ProviderError> {
    match args.get(name) {
        Some(Json::String(s)) => Ok(s.clone()),
        Some(Json::Number(n)) => Ok(n.to_string()),
        _ => Err(ProviderError::new(
            ErrorClass::InvalidInput,
            format!("argument `{name}` must be a number or a string"),
        )),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn orphans_need_the_stack_and_an_address_of_the_kind() {
        let tags = pairs(&[(STACK_TAG, "hello"), (ADDRESS_TAG, "lb.main")]);
        let o = orphan(Kind::Lb, "hello", &tags, "arn:1").unwrap();
        assert_eq!(o.address.to_string(), "lb.main");
        assert!(orphan(Kind::Lb, "other", &tags, "arn:1").is_none());
        assert!(orphan(Kind::LbListener, "hello", &tags, "arn:1").is_none());
        let bad = pairs(&[(STACK_TAG, "hello"), (ADDRESS_TAG, "not an address")]);
        assert!(orphan(Kind::Lb, "hello", &bad, "arn:1").is_none());
    }

    #[test]
    fn numbers_read_back_in_the_shape_they_were_given() {
        assert_eq!(number(60.0), json!(60));
        assert_eq!(number(62.5), json!(62.5));
        assert_eq!(like(Some(&json!(443)), "443"), json!(443));
        assert_eq!(like(Some(&json!("443")), "443"), json!("443"));
        assert_eq!(like(None, "#{port}"), json!("#{port}"));
    }

    #[tokio::test]
    async fn a_missing_id_does_not_hide_the_others() {
        let calls = std::sync::Mutex::new(Vec::new());
        let ids = vec!["a".to_string(), "gone".to_string(), "c".to_string()];
        let found = each_on_missing(&ids, |ids| {
            calls.lock().unwrap().push(ids.clone());
            async move {
                if ids.iter().any(|i| i == "gone") {
                    Err(ProviderError::new(ErrorClass::NotFound, "gone"))
                } else {
                    Ok(ids)
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(found, vec!["a".to_string(), "c".to_string()]);
        assert_eq!(calls.lock().unwrap().len(), 4);
    }
}
