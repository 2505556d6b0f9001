//! `scaling_policy`: target tracking on the Auto Scaling group's average CPU
//! (PutScalingPolicy / DeletePolicy). The id is the policy's ARN. Scaling policies carry no
//! tags: `find` looks the policy up by its name in its group, `tagged` lists nothing.

use super::autoscaling_group::is_missing;
use crate::args::number;
use crate::kinds::Handler;
use crate::kinds::{Reads, Req, Res};
use crate::read_set::ReadSet;
use crate::{args, error, Clients};
use async_trait::async_trait;
use aws_sdk_autoscaling::types::{
    MetricType, PredefinedMetricSpecification, ScalingPolicy as AwsPolicy,
    TargetTrackingConfiguration,
};
use ecsctl_provider::{Attrs, Created, ErrorClass, Live, ProviderError, ReadItem};
use serde_json::json;
use std::collections::BTreeMap;

const POLICY_TYPE: &str = "TargetTrackingScaling";

pub struct ScalingPolicy;

#[async_trait]
impl Handler for ScalingPolicy {
    async fn create(&self, req: &Req<'_>) -> Res<Created> {
        let Req { aws, args, .. } = *req;
        // PutScalingPolicy is an upsert by (group, name): retrying it is harmless.
        put(aws, args).await
    }

    async fn find(&self, req: &Req<'_>) -> Res<Option<Created>> {
        let Req { aws, args, .. } = *req;
        let group = args::str(args, "autoscaling_group_name")?;
        let name = args::str(args, "name")?;
        let policies = policies_of(aws, group, vec![name.to_string()]).await?;
        Ok(policies
            .iter()
            .find(|p| p.policy_name() == Some(name))
            .map(created_from))
    }

    async fn update(&self, req: &Req<'_>) -> Res<Attrs> {
        let Req { aws, args: new, .. } = *req;
        Ok(put(aws, new).await?.outputs)
    }

    async fn delete(&self, req: &Req<'_>) -> Res<()> {
        let Req { aws, id, args, .. } = *req;
        let group = args::str(args, "autoscaling_group_name")?;
        // DeletePolicy takes the name or the ARN; the name is what stays stable.
        let name = args::opt_str(args, "name").unwrap_or(id);
        tracing::debug!(id, group, "autoscaling DeletePolicy");
        match aws
            .autoscaling
            .delete_policy()
            .auto_scaling_group_name(group)
            .policy_name(name)
            .send()
            .await
            .map_err(error::map)
        {
            Ok(_) => Ok(()),
            // The group (and so the policy) is gone, or the policy is.
            Err(e) if is_missing(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn read(&self, aws: &Clients, _set: &ReadSet, items: &[ReadItem]) -> Res<Reads> {
        // One DescribePolicies per group, for all of that group's policies.
        let mut by_group: BTreeMap<&str, Vec<&ReadItem>> = BTreeMap::new();
        for item in items {
            let group = args::str(&item.args, "autoscaling_group_name")?;
            by_group.entry(group).or_default().push(item);
        }
        let mut out = BTreeMap::new();
        for (group, items) in by_group {
            let names: Vec<String> = items
                .iter()
                .filter_map(|i| args::opt_str(&i.args, "name").map(str::to_string))
                .collect();
            let policies = policies_of(aws, group, names).await?;
            for item in items {
                let name = args::opt_str(&item.args, "name");
                let live = policies
                    .iter()
                    .find(|p| p.policy_arn() == Some(item.id.as_str()))
                    .or_else(|| policies.iter().find(|p| p.policy_name() == name))
                    .map(|p| Live {
                        args: live_args(p),
                        outputs: created_from(p).outputs,
                    });
                out.insert(item.address.clone(), live);
            }
        }
        Ok(out)
    }
}

async fn put(aws: &Clients, args: &Attrs) -> Result<Created, ProviderError> {
    let group = args::str(args, "autoscaling_group_name")?;
    let name = args::str(args, "name")?;
    let target = args::float(args, "target_cpu")?;
    tracing::debug!(group, name, target, "autoscaling PutScalingPolicy");
    let out = aws
        .autoscaling
        .put_scaling_policy()
        .auto_scaling_group_name(group)
        .policy_name(name)
        .policy_type(POLICY_TYPE)
        .target_tracking_configuration(
            TargetTrackingConfiguration::builder()
                .predefined_metric_specification(
                    PredefinedMetricSpecification::builder()
                        .predefined_metric_type(MetricType::AsgAverageCpuUtilization)
                        .build(),
                )
                .target_value(target)
                .build(),
        )
        .send()
        .await
        .map_err(error::map)?;
    if let Some(arn) = out.policy_arn() {
        return Ok(created(arn));
    }
    // Some endpoints (the moto emulator) leave the ARN out of the answer: look it up.
    policies_of(aws, group, vec![name.to_string()])
        .await?
        .iter()
        .find(|p| p.policy_name() == Some(name))
        .map(created_from)
        .ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Other,
                format!(
                    "PutScalingPolicy for {name} succeeded but the policy cannot be read \
                     back; run the command again"
                ),
            )
        })
}

fn created(arn: &str) -> Created {
    let mut o = Attrs::new();
    o.insert("id".into(), json!(arn));
    o.insert("arn".into(), json!(arn));
    Created {
        id: arn.to_string(),
        outputs: o,
    }
}

fn created_from(p: &AwsPolicy) -> Created {
    created(p.policy_arn().unwrap_or_default())
}

fn live_args(p: &AwsPolicy) -> Attrs {
    let target = p
        .target_tracking_configuration()
        .and_then(|t| t.target_value())
        .map(number)
        .unwrap_or(json!(null));
    let mut a = Attrs::new();
    a.insert("name".into(), json!(p.policy_name()));
    a.insert(
        "autoscaling_group_name".into(),
        json!(p.auto_scaling_group_name()),
    );
    a.insert("target_cpu".into(), target);
    a
}

/// A group's policies named `names` (all pages); none when the group is gone.
async fn policies_of(
    aws: &Clients,
    group: &str,
    names: Vec<String>,
) -> Result<Vec<AwsPolicy>, ProviderError> {
    tracing::debug!(group, ?names, "autoscaling DescribePolicies");
    let mut pages = aws
        .autoscaling
        .describe_policies()
        .auto_scaling_group_name(group)
        .set_policy_names(Some(names))
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        match page.map_err(error::map) {
            Ok(page) => out.extend(page.scaling_policies().iter().cloned()),
            Err(e) if is_missing(&e) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
