//! What the ELBv2 kinds share: tags (batched DescribeTags, tag diffs), orphans found by
//! tag, and batched Describe calls that survive one missing ARN.

use crate::error::each_on_missing;
use crate::kinds::Res;
use crate::read_set::{ElbTags, ReadSet};
use crate::{args, error, Clients};
use aws_sdk_elasticloadbalancingv2::types::{
    Listener, LoadBalancer, Tag, TagDescription, TargetGroup,
};
use ecsctl_graph::Kind;
use ecsctl_provider::{Attrs, ErrorClass, Orphan, ProviderError};
use std::collections::HashMap;
use std::future::Future;

/// DescribeTags, DescribeLoadBalancers and DescribeTargetGroups take at most 20 ARNs.
pub(crate) const ELB_BATCH: usize = 20;

/// The `tags` argument as ELBv2 tags.
pub(crate) fn elb_tags(args: &Attrs) -> Vec<Tag> {
    args::tags(args)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
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
    match refresh_tags(aws, set).await {
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
    let mut tags = match refresh_tags(aws, set).await {
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
        .filter_map(|arn| args::stack_orphan(kind, stack, tags.get(arn)?, arn))
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

/// The refresh's tags of every ELBv2 resource (see [`ReadSet::elb_tags`]).
pub(crate) async fn refresh_tags<'a>(
    aws: &Clients,
    set: &'a ReadSet,
) -> &'a Result<ElbTags, ProviderError> {
    set.elb_tags(|arns| async move { describe_tags(aws, &arns).await })
        .await
}

/// Every load balancer of the account, listed once per scan; `None` without a stack.
pub(crate) async fn load_balancers<'a>(
    aws: &Clients,
    set: &'a ReadSet,
) -> Res<Option<&'a [LoadBalancer]>> {
    set.elb_load_balancers(|| list_all(aws)).await
}

/// The ARNs of the stack's load balancers (named after the stack).
pub(crate) async fn stack_load_balancers(aws: &Clients, set: &ReadSet) -> Res<Vec<String>> {
    let stack = set.stack().unwrap_or_default();
    Ok(load_balancers(aws, set)
        .await?
        .unwrap_or_default()
        .iter()
        .filter(|lb| {
            lb.load_balancer_name()
                .is_some_and(|n| n.starts_with(stack))
        })
        .filter_map(|lb| lb.load_balancer_arn().map(str::to_string))
        .collect())
}

/// Every target group of the account, listed once per scan; `None` without a stack.
pub(crate) async fn target_groups<'a>(
    aws: &Clients,
    set: &'a ReadSet,
) -> Res<Option<&'a [TargetGroup]>> {
    set.elb_target_groups(|| list_target_groups(aws)).await
}

/// Every listener of the stack's load balancers (one DescribeListeners per load balancer),
/// once per scan; `None` without a stack.
pub(crate) async fn stack_listeners<'a>(
    aws: &Clients,
    set: &'a ReadSet,
) -> Res<Option<&'a [Listener]>> {
    set.elb_listeners(|| async {
        let mut out = Vec::new();
        for lb in stack_load_balancers(aws, set).await? {
            match listeners_of(aws, &lb).await {
                Ok(found) => out.extend(found),
                Err(e) if e.class == ErrorClass::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    })
    .await
}

/// Every target group of the account (DescribeTargetGroups, 400 a page).
pub(crate) async fn list_target_groups(aws: &Clients) -> Result<Vec<TargetGroup>, ProviderError> {
    tracing::debug!("elbv2 DescribeTargetGroups (all)");
    let mut pages = aws.elbv2.describe_target_groups().into_paginator().send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        out.extend(page.map_err(error::map)?.target_groups().iter().cloned());
    }
    Ok(out)
}

/// A load balancer's listeners.
pub(crate) async fn listeners_of(aws: &Clients, lb: &str) -> Result<Vec<Listener>, ProviderError> {
    tracing::debug!(lb, "elbv2 DescribeListeners by load balancer");
    let mut pages = aws
        .elbv2
        .describe_listeners()
        .load_balancer_arn(lb)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        out.extend(page.map_err(error::map)?.listeners().iter().cloned());
    }
    Ok(out)
}
