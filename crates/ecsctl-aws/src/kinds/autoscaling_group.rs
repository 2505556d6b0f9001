//! `autoscaling_group`: the EC2 Auto Scaling group that runs the cluster's instances from
//! the launch template (CreateAutoScalingGroup / UpdateAutoScalingGroup /
//! DeleteAutoScalingGroup). The id is the group's name.
//!
//! Create (and an update that raises the minimum) waits, unless `--no-wait`, until the
//! minimum of instances is in service and registered in the `cluster` (see `capacity`).
//! The `cluster` argument is not a property of the group (the launch template's user data
//! names the cluster); it is read back as it was applied.
//!
//! Delete forces the deletion and waits until the group is gone: its instances terminate
//! first, and only then can the security groups and subnets they use be deleted.

use super::iam_propagation::retry_iam_propagation;
use crate::args::{int32, int_or_str, is_ours, like, stack_of};
use crate::kinds::Handler;
use crate::kinds::{Reads, Req, Res};
use crate::read_set::ReadSet;
use crate::retry::once;
use crate::wait::{self, Poll};
use crate::{args, error, Clients};
use async_trait::async_trait;
use aws_sdk_autoscaling::types::{AutoScalingGroup, Filter, LaunchTemplateSpecification, Tag};
use ecsctl_graph::Kind;
use ecsctl_graph::STACK_TAG;
use ecsctl_provider::{Attrs, Created, ErrorClass, Live, ProviderError, ReadItem};
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::time::Duration;

const RESOURCE_TYPE: &str = "auto-scaling-group";
/// DescribeAutoScalingGroups takes at most 100 names.
const BATCH: usize = 100;
const GONE_POLL: Duration = Duration::from_secs(10);

pub struct AutoscalingGroup;

#[async_trait]
impl Handler for AutoscalingGroup {
    async fn create(&self, req: &Req<'_>) -> Res<Created> {
        let Req {
            aws, call, args, ..
        } = *req;
        let name = args::str(args, "name")?;
        let template = template(args)?;
        let (min, max, desired) = sizes(args)?;
        let subnets = args::strings(args, "subnet_ids")?.join(",");
        let grace = int32(args, "health_check_grace_period")?;
        let tags = asg_tags(name, args::tags(args));
        // A fresh instance profile in the launch template may not be usable yet: retry
        // AWS's "Invalid IamInstanceProfile" for a bounded time.
        let created = retry_iam_propagation(call, || async {
            tracing::debug!(name, "autoscaling CreateAutoScalingGroup");
            aws.autoscaling
                .create_auto_scaling_group()
                .auto_scaling_group_name(name)
                .launch_template(template.clone())
                .min_size(min)
                .max_size(max)
                .desired_capacity(desired)
                .vpc_zone_identifier(&subnets)
                .health_check_grace_period(grace)
                .new_instances_protected_from_scale_in(false)
                .set_tags(Some(tags.clone()))
                .customize()
                .config_override(once!(aws_sdk_autoscaling))
                .send()
                .await
                .map_err(error::map)
        })
        .await;
        match created {
            Ok(_) => {}
            // No client token: a retry after a lost reply finds the group made by the
            // first attempt. Adopt it when it is ours.
            Err(e) if e.code.as_deref() == Some("AlreadyExists") => {
                if self.find(req).await?.is_none() {
                    return Err(ProviderError {
                        message: format!(
                            "{}; an Auto Scaling group named {name} exists and does not belong \
                             to this stack: delete or rename it",
                            e.message
                        ),
                        ..e
                    });
                }
            }
            Err(e) => return Err(e),
        }
        let group = describe(aws, vec![name.to_string()])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                ProviderError::new(
                    ErrorClass::Other,
                    format!("Auto Scaling group {name} was created but cannot be read back; run the command again"),
                )
            })?;
        if call.options.wait_for_services {
            super::capacity::wait(aws, call, name, min, cluster(args)).await?;
        }
        Ok(created_from(&group))
    }

    async fn find(&self, req: &Req<'_>) -> Res<Option<Created>> {
        let Req {
            aws, call, args, ..
        } = *req;
        let name = args::str(args, "name")?;
        let Some(stack) = stack_of(args) else {
            return Ok(None);
        };
        let groups = describe(aws, vec![name.to_string()]).await?;
        Ok(groups
            .iter()
            .find(|g| is_ours(&tags_of(g), stack, call.address))
            .map(created_from))
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
        // `cluster` is ecsctl's (which cluster the instances join), not a group setting.
        if args::settings_changed(Kind::AutoscalingGroup, old, new, &["cluster"]) {
            let template = template(new)?;
            let (min, max, desired) = sizes(new)?;
            let subnets = args::strings(new, "subnet_ids")?.join(",");
            let grace = int32(new, "health_check_grace_period")?;
            retry_iam_propagation(call, || async {
                tracing::debug!(id, "autoscaling UpdateAutoScalingGroup");
                aws.autoscaling
                    .update_auto_scaling_group()
                    .auto_scaling_group_name(id)
                    .launch_template(template.clone())
                    .min_size(min)
                    .max_size(max)
                    .desired_capacity(desired)
                    .vpc_zone_identifier(&subnets)
                    .health_check_grace_period(grace)
                    .send()
                    .await
                    .map_err(error::map)
            })
            .await?;
            let (old_min, _, _) = sizes(old).unwrap_or((0, 0, 0));
            if min > old_min && call.options.wait_for_services {
                super::capacity::wait(aws, call, id, min, cluster(new)).await?;
            }
        }
        let (set, remove) = args::tag_changes(old, new);
        if !remove.is_empty() {
            tracing::debug!(id, ?remove, "autoscaling DeleteTags");
            let keys = remove
                .into_iter()
                .map(|k| (k, String::new()))
                .collect::<Vec<_>>();
            aws.autoscaling
                .delete_tags()
                .set_tags(Some(asg_tags(id, keys)))
                .send()
                .await
                .map_err(error::map)?;
        }
        if !set.is_empty() {
            tracing::debug!(id, "autoscaling CreateOrUpdateTags");
            aws.autoscaling
                .create_or_update_tags()
                .set_tags(Some(asg_tags(id, set)))
                .send()
                .await
                .map_err(error::map)?;
        }
        Ok(outputs.clone())
    }

    async fn delete(&self, req: &Req<'_>) -> Res<()> {
        let Req { aws, call, id, .. } = *req;
        // ForceDelete terminates the instances with the group; a scaling activity still
        // running makes AWS refuse, so that is waited out too.
        let accepted = wait::until(call, GONE_POLL, || async {
            tracing::debug!(id, "autoscaling DeleteAutoScalingGroup (force)");
            match aws
                .autoscaling
                .delete_auto_scaling_group()
                .auto_scaling_group_name(id)
                .force_delete(true)
                .send()
                .await
                .map_err(error::map)
            {
                Ok(_) => Ok(Poll::Done(true)),
                Err(e) if is_missing(&e) => Ok(Poll::Done(false)),
                Err(e)
                    if matches!(
                        e.code.as_deref(),
                        Some("ScalingActivityInProgress") | Some("ResourceInUse")
                    ) =>
                {
                    Ok(Poll::Pending(format!(
                        "waiting for a scaling activity of auto scaling group {id} to finish \
                         before deleting it"
                    )))
                }
                Err(e) => Err(e),
            }
        })
        .await?;
        if !accepted {
            return Ok(());
        }
        wait::until(call, GONE_POLL, || async {
            let groups = describe(aws, vec![id.to_string()]).await?;
            Ok(match groups.first() {
                None => Poll::Done(()),
                Some(g) => {
                    let n = g.instances().len();
                    let s = if n == 1 { "" } else { "s" };
                    Poll::Pending(format!(
                        "waiting for auto scaling group {id} to be deleted ({n} instance{s} left)"
                    ))
                }
            })
        })
        .await
    }

    async fn read(&self, aws: &Clients, set: &ReadSet, items: &[ReadItem]) -> Res<Reads> {
        // With a stack to look for, one listing by the stack tag finds the state's groups
        // and the orphans; groups it misses (deleted, retagged by hand) are asked by name.
        let mut groups = Vec::new();
        let mut wanted: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
        if let Some(stack) = set.stack() {
            groups = by_tag(aws, stack).await?;
            let mut found = Vec::new();
            for g in &groups {
                let name = g.auto_scaling_group_name().unwrap_or_default();
                found.extend(crate::args::stack_orphan(
                    Kind::AutoscalingGroup,
                    stack,
                    &tags_of(g),
                    name,
                ));
            }
            set.found_tagged(Kind::AutoscalingGroup, found);
            wanted.retain(|n| {
                !groups
                    .iter()
                    .any(|g| g.auto_scaling_group_name() == Some(n.as_str()))
            });
        }
        for chunk in wanted.chunks(BATCH) {
            groups.extend(describe(aws, chunk.to_vec()).await?);
        }
        let mut out = BTreeMap::new();
        for item in items {
            let live = groups
                .iter()
                .find(|g| g.auto_scaling_group_name() == Some(item.id.as_str()))
                // A group being deleted is as good as gone.
                .filter(|g| g.status().is_none_or(|s| !s.starts_with("Delete")))
                .map(|g| Live {
                    args: live_args(g, &item.args),
                    outputs: created_from(g).outputs,
                });
            out.insert(item.address.clone(), live);
        }
        Ok(out)
    }

    fn finds_tagged_in_read(&self) -> bool {
        true
    }
}

/// Auto Scaling answers ValidationError "AutoScalingGroup name not found" for a missing
/// group (and for a missing scaling policy).
pub(crate) fn is_missing(e: &ProviderError) -> bool {
    e.class == ErrorClass::NotFound
        || (e.code.as_deref() == Some("ValidationError")
            && e.message.to_ascii_lowercase().contains("not found"))
}

/// The ECS cluster the group's instances join, if the arguments name it.
fn cluster(args: &Attrs) -> Option<&str> {
    args.get("cluster").and_then(Json::as_str)
}

fn template(args: &Attrs) -> Result<LaunchTemplateSpecification, ProviderError> {
    Ok(LaunchTemplateSpecification::builder()
        .launch_template_id(args::str(args, "launch_template_id")?)
        .version(int_or_str(args, "launch_template_version")?)
        .build())
}

fn sizes(args: &Attrs) -> Result<(i32, i32, i32), ProviderError> {
    let (min, max, desired) = (
        int32(args, "min_size")?,
        int32(args, "max_size")?,
        int32(args, "desired_capacity")?,
    );
    if min > max || desired < min || desired > max {
        return Err(ProviderError::new(
            ErrorClass::InvalidInput,
            format!(
                "sizes must satisfy min_size ≤ desired_capacity ≤ max_size (got {min} ≤ \
                 {desired} ≤ {max})"
            ),
        ));
    }
    Ok((min, max, desired))
}

/// Group tags, all propagated to the instances the group launches.
fn asg_tags(group: &str, pairs: Vec<(String, String)>) -> Vec<Tag> {
    pairs
        .into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .resource_id(group)
                .resource_type(RESOURCE_TYPE)
                .key(k)
                .value(v)
                .propagate_at_launch(true)
                .build()
        })
        .collect()
}

fn tags_of(g: &AutoScalingGroup) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = g
        .tags()
        .iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .filter(|(k, _)| !k.starts_with("aws:"))
        .collect();
    tags.sort();
    tags
}

fn created_from(g: &AutoScalingGroup) -> Created {
    let name = g.auto_scaling_group_name().unwrap_or_default();
    let mut o = Attrs::new();
    o.insert("id".into(), json!(name));
    o.insert("arn".into(), json!(g.auto_scaling_group_arn()));
    Created {
        id: name.to_string(),
        outputs: o,
    }
}

fn live_args(g: &AutoScalingGroup, old: &Attrs) -> Attrs {
    let lt = g.launch_template();
    let subnets: Vec<&str> = g
        .vpc_zone_identifier()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let version = lt
        .and_then(|t| t.version())
        .map(|v| like(old.get("launch_template_version"), v))
        .unwrap_or(Json::Null);
    let mut a = Attrs::new();
    a.insert("name".into(), json!(g.auto_scaling_group_name()));
    a.insert(
        "launch_template_id".into(),
        json!(lt.and_then(|t| t.launch_template_id())),
    );
    a.insert("launch_template_version".into(), version);
    a.insert("min_size".into(), json!(g.min_size()));
    a.insert("max_size".into(), json!(g.max_size()));
    a.insert("desired_capacity".into(), json!(g.desired_capacity()));
    a.insert("subnet_ids".into(), json!(subnets));
    a.insert(
        "health_check_grace_period".into(),
        json!(g.health_check_grace_period().unwrap_or(0)),
    );
    a.insert("tags".into(), args::tags_json(tags_of(g)));
    // Not a property of the group (see the module doc): as applied.
    if let Some(c) = old.get("cluster") {
        a.insert("cluster".into(), c.clone());
    }
    a
}

/// The groups among `names` that exist (all pages).
/// The groups tagged `ecsctl:stack = stack`.
async fn by_tag(aws: &Clients, stack: &str) -> Result<Vec<AutoScalingGroup>, ProviderError> {
    tracing::debug!(stack, "autoscaling DescribeAutoScalingGroups by tag");
    let mut pages = aws
        .autoscaling
        .describe_auto_scaling_groups()
        .filters(
            Filter::builder()
                .name(format!("tag:{STACK_TAG}"))
                .values(stack)
                .build(),
        )
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(error::map)?;
        out.extend(page.auto_scaling_groups().iter().cloned());
    }
    Ok(out)
}

async fn describe(
    aws: &Clients,
    names: Vec<String>,
) -> Result<Vec<AutoScalingGroup>, ProviderError> {
    tracing::debug!(?names, "autoscaling DescribeAutoScalingGroups");
    let mut pages = aws
        .autoscaling
        .describe_auto_scaling_groups()
        .set_auto_scaling_group_names(Some(names))
        .max_records(BATCH as i32)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(error::map)?;
        out.extend(page.auto_scaling_groups().iter().cloned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_must_be_ordered() {
        let mut a = Attrs::new();
        a.insert("min_size".into(), json!(2));
        a.insert("max_size".into(), json!(4));
        a.insert("desired_capacity".into(), json!(5));
        assert_eq!(sizes(&a).unwrap_err().class, ErrorClass::InvalidInput);
        a.insert("desired_capacity".into(), json!(3));
        assert_eq!(sizes(&a).unwrap(), (2, 4, 3));
    }

    #[test]
    fn a_missing_group_is_recognised_by_its_message() {
        let e = ProviderError::new(
            ErrorClass::InvalidInput,
            "AutoScalingGroup name not found - AutoScalingGroup 'x' not found",
        )
        .with_code("ValidationError");
        assert!(is_missing(&e));
        let other = ProviderError::new(ErrorClass::InvalidInput, "Max size out of range")
            .with_code("ValidationError");
        assert!(!is_missing(&other));
    }

    #[test]
    fn tags_propagate_to_instances() {
        let t = asg_tags("g", vec![("k".into(), "v".into())]);
        assert_eq!(t[0].resource_id(), Some("g"));
        assert_eq!(t[0].resource_type(), Some(RESOURCE_TYPE));
        assert_eq!(t[0].propagate_at_launch(), Some(true));
    }
}
