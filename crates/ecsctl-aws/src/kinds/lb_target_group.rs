//! `lb_target_group`: an ELBv2 target group (CreateTargetGroup + the deregistration delay
//! attribute). The id is the target group's ARN.

use super::elb::{
    self, elb_tags, listed_or_described, orphans, retag, tags_in, tags_of, ELB_BATCH,
};
use crate::args::{int32, is_ours, stack_of};
use crate::kinds::Handler;
use crate::kinds::{Reads, Req, Res};
use crate::read_set::ReadSet;
use crate::retry::once;
use crate::{args, error, Clients};
use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    Matcher, ProtocolEnum, TargetGroup, TargetGroupAttribute, TargetTypeEnum,
};
use ecsctl_graph::Kind;
use ecsctl_provider::{Attrs, Created, ErrorClass, Live, Orphan, ProviderError, ReadItem};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

const DEREGISTRATION_DELAY: &str = "deregistration_delay.timeout_seconds";

pub struct LbTargetGroup;

/// The `health_check` argument.
struct HealthCheck {
    path: String,
    matcher: String,
    interval: i32,
    timeout: i32,
    healthy: i32,
    unhealthy: i32,
}

impl HealthCheck {
    fn from_args(args: &Attrs) -> Result<Self, ProviderError> {
        let hc = args::object(args, "health_check")?;
        let field = |name: &str| {
            int32(hc, name).map_err(|e| ProviderError {
                message: format!("health_check: {}", e.message),
                ..e
            })
        };
        Ok(HealthCheck {
            path: args::str(hc, "path")?.to_string(),
            matcher: args::str(hc, "matcher")?.to_string(),
            interval: field("interval")?,
            timeout: field("timeout")?,
            healthy: field("healthy_threshold")?,
            unhealthy: field("unhealthy_threshold")?,
        })
    }
}

#[async_trait]
impl Handler for LbTargetGroup {
    async fn create(&self, req: &Req<'_>) -> Res<Created> {
        let Req { aws, args, .. } = *req;
        let name = args::str(args, "name")?;
        let hc = HealthCheck::from_args(args)?;
        tracing::debug!(name, "elbv2 CreateTargetGroup");
        // No client token; AWS answers a repeated identical CreateTargetGroup with the
        // existing group, and a conflicting one with DuplicateTargetGroupName.
        let created = aws
            .elbv2
            .create_target_group()
            .name(name)
            .protocol(ProtocolEnum::from(args::str(args, "protocol")?))
            .port(int32(args, "port")?)
            .vpc_id(args::str(args, "vpc_id")?)
            .target_type(TargetTypeEnum::from(args::str(args, "target_type")?))
            .health_check_enabled(true)
            .health_check_path(&hc.path)
            .matcher(Matcher::builder().http_code(&hc.matcher).build())
            .health_check_interval_seconds(hc.interval)
            .health_check_timeout_seconds(hc.timeout)
            .healthy_threshold_count(hc.healthy)
            .unhealthy_threshold_count(hc.unhealthy)
            .set_tags(Some(elb_tags(args)))
            .customize()
            .config_override(once!(aws_sdk_elasticloadbalancingv2))
            .send()
            .await
            .map_err(error::map);
        let arn = match created {
            Ok(out) => out
                .target_groups()
                .first()
                .and_then(|tg| tg.target_group_arn())
                .map(str::to_string)
                .ok_or_else(|| {
                    ProviderError::new(
                        ErrorClass::Other,
                        format!("CreateTargetGroup for {name} returned nothing; run again"),
                    )
                })?,
            Err(e) if e.code.as_deref() == Some("DuplicateTargetGroupName") => {
                // Ours from an earlier attempt (a retry after a lost reply): adopt it.
                match self.find(req).await? {
                    Some(found) => found.id,
                    None => {
                        return Err(ProviderError {
                            message: format!(
                                "{}; a target group named {name} exists and does not belong \
                                 to this stack: delete or rename it",
                                e.message
                            ),
                            ..e
                        })
                    }
                }
            }
            Err(e) => return Err(e),
        };
        set_delay(aws, &arn, args::int(args, "deregistration_delay")?).await?;
        Ok(Created {
            outputs: outputs(&arn),
            id: arn,
        })
    }

    async fn find(&self, req: &Req<'_>) -> Res<Option<Created>> {
        let Req {
            aws, call, args, ..
        } = *req;
        let name = args::str(args, "name")?;
        let Some(stack) = stack_of(args) else {
            return Ok(None);
        };
        tracing::debug!(name, "elbv2 DescribeTargetGroups by name");
        let found = match aws
            .elbv2
            .describe_target_groups()
            .names(name)
            .send()
            .await
            .map_err(error::map)
        {
            Ok(out) => out.target_groups().to_vec(),
            Err(e) if e.class == ErrorClass::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let arns: Vec<String> = found
            .iter()
            .filter_map(|tg| tg.target_group_arn().map(str::to_string))
            .collect();
        let tags = tags_of(aws, &arns).await?;
        let Some(arn) = arns.into_iter().find(|arn| {
            tags.get(arn)
                .is_some_and(|t| is_ours(t, stack, call.address))
        }) else {
            return Ok(None);
        };
        // An interrupted create may have stopped before the deregistration delay.
        set_delay(aws, &arn, args::int(args, "deregistration_delay")?).await?;
        Ok(Some(Created {
            outputs: outputs(&arn),
            id: arn,
        }))
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
        if old.get("health_check") != new.get("health_check") {
            let hc = HealthCheck::from_args(new)?;
            tracing::debug!(id, "elbv2 ModifyTargetGroup");
            aws.elbv2
                .modify_target_group()
                .target_group_arn(id)
                .health_check_enabled(true)
                .health_check_path(&hc.path)
                .matcher(Matcher::builder().http_code(&hc.matcher).build())
                .health_check_interval_seconds(hc.interval)
                .health_check_timeout_seconds(hc.timeout)
                .healthy_threshold_count(hc.healthy)
                .unhealthy_threshold_count(hc.unhealthy)
                .send()
                .await
                .map_err(error::map)?;
        }
        if old.get("deregistration_delay") != new.get("deregistration_delay") {
            set_delay(aws, id, args::int(new, "deregistration_delay")?).await?;
        }
        retag(aws, id, old, new).await?;
        Ok(outputs.clone())
    }

    async fn delete(&self, req: &Req<'_>) -> Res<()> {
        let Req { aws, id, .. } = *req;
        tracing::debug!(id, "elbv2 DeleteTargetGroup");
        match aws
            .elbv2
            .delete_target_group()
            .target_group_arn(id)
            .send()
            .await
            .map_err(error::map)
        {
            Ok(_) => Ok(()),
            Err(e) if e.class == ErrorClass::NotFound => Ok(()),
            // ResourceInUse maps to DependencyViolation: the engine retries it while the
            // listener, rule or service that uses the group goes away.
            Err(e) => Err(e),
        }
    }

    async fn read(&self, aws: &Clients, set: &ReadSet, items: &[ReadItem]) -> Res<Reads> {
        // With a stack, from the listing orphan discovery makes anyway.
        let listing = elb::target_groups(aws, set).await?;
        let mut out = BTreeMap::new();
        for chunk in items.chunks(ELB_BATCH) {
            let ids: Vec<String> = chunk.iter().map(|i| i.id.clone()).collect();
            let found = listed_or_described(listing, &ids, TargetGroup::target_group_arn, |ids| {
                describe(aws, ids)
            })
            .await?;
            let by_arn: HashMap<&str, &TargetGroup> = found
                .iter()
                .filter_map(|tg| tg.target_group_arn().map(|a| (a, tg)))
                .collect();
            let present: Vec<String> = by_arn.keys().map(|a| a.to_string()).collect();
            let tags = tags_in(aws, set, &present).await?;
            for item in chunk {
                let live = match by_arn.get(item.id.as_str()) {
                    None => None,
                    // The deregistration delay takes a call per group: read it for a lone
                    // group; with more, the recorded value is returned as it is (changes
                    // made by hand are not seen), so refresh stays at a few calls however
                    // many services there are.
                    Some(tg) if items.len() > 1 => {
                        let recorded = item
                            .args
                            .get("deregistration_delay")
                            .and_then(|d| d.as_i64());
                        let mut args =
                            live_args(tg, recorded.unwrap_or(0), tags.get(&item.id).cloned());
                        if recorded.is_none() {
                            args.remove("deregistration_delay");
                        }
                        Some(Live {
                            args,
                            outputs: outputs(&item.id),
                        })
                    }
                    // No attributes means the group went away between the two calls.
                    Some(tg) => delay(aws, &item.id).await?.map(|delay| Live {
                        args: live_args(tg, delay, tags.get(&item.id).cloned()),
                        outputs: outputs(&item.id),
                    }),
                };
                out.insert(item.address.clone(), live);
            }
        }
        Ok(out)
    }

    async fn tagged(&self, aws: &Clients, set: &ReadSet, stack: &str) -> Res<Vec<Orphan>> {
        // Target groups are named `<stack>-<service>`.
        let prefix = format!("{stack}-");
        let arns: Vec<String> = elb::target_groups(aws, set)
            .await?
            .unwrap_or_default()
            .iter()
            .filter(|tg| {
                tg.target_group_name()
                    .is_some_and(|n| n.starts_with(&prefix))
            })
            .filter_map(|tg| tg.target_group_arn().map(str::to_string))
            .collect();
        orphans(aws, set, Kind::LbTargetGroup, stack, &arns).await
    }
}

fn live_args(tg: &TargetGroup, delay: i64, tags: Option<Vec<(String, String)>>) -> Attrs {
    let mut a = Attrs::new();
    a.insert("name".into(), json!(tg.target_group_name()));
    a.insert("port".into(), json!(tg.port()));
    a.insert("protocol".into(), json!(tg.protocol().map(|p| p.as_str())));
    a.insert("vpc_id".into(), json!(tg.vpc_id()));
    a.insert(
        "target_type".into(),
        json!(tg.target_type().map(|t| t.as_str())),
    );
    a.insert(
        "health_check".into(),
        json!({
            "path": tg.health_check_path(),
            "matcher": tg.matcher().and_then(|m| m.http_code()),
            "interval": tg.health_check_interval_seconds(),
            "timeout": tg.health_check_timeout_seconds(),
            "healthy_threshold": tg.healthy_threshold_count(),
            "unhealthy_threshold": tg.unhealthy_threshold_count(),
        }),
    );
    a.insert("deregistration_delay".into(), json!(delay));
    a.insert("tags".into(), args::tags_json(tags.unwrap_or_default()));
    a
}

fn outputs(arn: &str) -> Attrs {
    let mut o = Attrs::new();
    o.insert("id".into(), json!(arn));
    o.insert("arn".into(), json!(arn));
    o
}

async fn describe(aws: &Clients, arns: Vec<String>) -> Result<Vec<TargetGroup>, ProviderError> {
    tracing::debug!(?arns, "elbv2 DescribeTargetGroups");
    let out = aws
        .elbv2
        .describe_target_groups()
        .set_target_group_arns(Some(arns))
        .send()
        .await
        .map_err(error::map)?;
    Ok(out.target_groups().to_vec())
}

async fn set_delay(aws: &Clients, arn: &str, seconds: i64) -> Result<(), ProviderError> {
    tracing::debug!(arn, seconds, "elbv2 ModifyTargetGroupAttributes");
    aws.elbv2
        .modify_target_group_attributes()
        .target_group_arn(arn)
        .attributes(
            TargetGroupAttribute::builder()
                .key(DEREGISTRATION_DELAY)
                .value(seconds.to_string())
                .build(),
        )
        .send()
        .await
        .map_err(error::map)?;
    Ok(())
}

/// The deregistration delay; `None` when the group is gone.
async fn delay(aws: &Clients, arn: &str) -> Result<Option<i64>, ProviderError> {
    tracing::debug!(arn, "elbv2 DescribeTargetGroupAttributes");
    let out = match aws
        .elbv2
        .describe_target_group_attributes()
        .target_group_arn(arn)
        .send()
        .await
        .map_err(error::map)
    {
        Ok(out) => out,
        Err(e) if e.class == ErrorClass::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Some(
        out.attributes()
            .iter()
            .find(|a| a.key() == Some(DEREGISTRATION_DELAY))
            .and_then(|a| a.value())
            .and_then(|v| v.parse().ok())
            .unwrap_or(300),
    ))
}
