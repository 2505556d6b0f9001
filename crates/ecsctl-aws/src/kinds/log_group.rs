//! `log_group`: a CloudWatch Logs group with its retention. The id is the group name; the
//! `arn` output is the group's ARN without the `:*` suffix DescribeLogGroups gives.
//! Reads list every group under the names' common prefix (`/ecsctl/<stack>/`) at once.

use crate::kinds::Handler;
use crate::kinds::{Reads, Req, Res};
use crate::read_set::ReadSet;
use crate::retry::once;
use crate::{args, error, Clients};
use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::LogGroup as AwsLogGroup;
use ecsctl_graph::Kind;
use ecsctl_provider::{Attrs, Created, ErrorClass, Live, ProviderError, ReadItem};
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, HashMap};

pub struct LogGroup;

/// The group's ARN as the tagging APIs want it (no `:*`).
fn arn_of(g: &AwsLogGroup) -> Option<String> {
    g.log_group_arn()
        .map(str::to_string)
        .or_else(|| g.arn().map(|a| a.trim_end_matches(":*").to_string()))
}

/// Every group whose name starts with `prefix` (all groups when empty).
async fn list(aws: &Clients, prefix: &str) -> Result<Vec<AwsLogGroup>, ProviderError> {
    tracing::debug!(prefix, "logs DescribeLogGroups");
    let mut req = aws.logs.describe_log_groups();
    if !prefix.is_empty() {
        req = req.log_group_name_prefix(prefix);
    }
    req.into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(error::map)
}

/// The group named exactly `name`.
async fn get(aws: &Clients, name: &str) -> Result<Option<AwsLogGroup>, ProviderError> {
    Ok(list(aws, name)
        .await?
        .into_iter()
        .find(|g| g.log_group_name() == Some(name)))
}

async fn tags_of(aws: &Clients, arn: &str) -> Result<Option<Vec<(String, String)>>, ProviderError> {
    tracing::debug!(arn, "logs ListTagsForResource");
    let out = error::not_found_ok(
        aws.logs
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(error::map),
    )?;
    Ok(out.map(|o| {
        let mut pairs: Vec<(String, String)> = o
            .tags()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        pairs.sort();
        pairs
    }))
}

fn outputs(name: &str, arn: &str) -> Attrs {
    let mut out = Attrs::new();
    out.insert("id".into(), json!(name));
    out.insert("arn".into(), json!(arn));
    out
}

async fn set_retention(aws: &Clients, name: &str, days: Option<i64>) -> Result<(), ProviderError> {
    match days {
        Some(days) => {
            let days = i32::try_from(days).map_err(|_| {
                ProviderError::new(
                    ErrorClass::InvalidInput,
                    format!("retention_in_days {days} is out of range"),
                )
            })?;
            tracing::debug!(name, days, "logs PutRetentionPolicy");
            aws.logs
                .put_retention_policy()
                .log_group_name(name)
                .retention_in_days(days)
                .send()
                .await
                .map_err(error::map)?;
        }
        None => {
            tracing::debug!(name, "logs DeleteRetentionPolicy");
            error::not_found_ok(
                aws.logs
                    .delete_retention_policy()
                    .log_group_name(name)
                    .send()
                    .await
                    .map_err(error::map),
            )?;
        }
    }
    Ok(())
}

/// The longest common prefix of `names`, cut back to a `/` boundary when it ends inside a
/// name segment (so `/ecsctl/s/api` and `/ecsctl/s/app` list `/ecsctl/s/`).
fn common_prefix(names: &[&str]) -> String {
    let Some(first) = names.first() else {
        return String::new();
    };
    let mut len = first.len();
    for n in &names[1..] {
        len = first
            .bytes()
            .zip(n.bytes())
            .take(len)
            .take_while(|(a, b)| a == b)
            .count();
    }
    while !first.is_char_boundary(len) {
        len -= 1;
    }
    let prefix = &first[..len];
    if names.len() == 1 {
        return prefix.to_string();
    }
    match prefix.rfind('/') {
        Some(i) => prefix[..=i].to_string(),
        None => prefix.to_string(),
    }
}

#[async_trait]
impl Handler for LogGroup {
    async fn create(&self, req: &Req<'_>) -> Res<Created> {
        let Req { aws, args, .. } = *req;
        let name = args::str(args, "name")?;
        let tags: HashMap<String, String> = args::tags(args).into_iter().collect();
        tracing::debug!(name, "logs CreateLogGroup");
        // No idempotency token: a retry after a lost reply answers
        // ResourceAlreadyExistsException and the group is adopted when its tags say so.
        if let Err(e) = aws
            .logs
            .create_log_group()
            .log_group_name(name)
            .set_tags((!tags.is_empty()).then_some(tags))
            .customize()
            .config_override(once!(aws_sdk_cloudwatchlogs))
            .send()
            .await
        {
            let e = error::map(e);
            if e.code.as_deref() != Some("ResourceAlreadyExistsException") {
                return Err(e);
            }
            let adopted = self.find(req).await?;
            if adopted.is_none() {
                return Err(ProviderError {
                    message: format!(
                        "{} (log group `{name}` exists and was not made for this resource: \
                         delete it, or change the stack or service name)",
                        e.message
                    ),
                    ..e
                });
            }
        }
        set_retention(
            aws,
            name,
            args.get("retention_in_days").and_then(Json::as_i64),
        )
        .await?;
        let g = get(aws, name).await?.ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Other,
                format!("log group `{name}` is not listed right after its creation"),
            )
        })?;
        let arn = arn_of(&g).unwrap_or_default();
        Ok(Created {
            id: name.to_string(),
            outputs: outputs(name, &arn),
        })
    }

    async fn find(&self, req: &Req<'_>) -> Res<Option<Created>> {
        let Req {
            aws, call, args, ..
        } = *req;
        let name = args::str(args, "name")?;
        let Some(arn) = get(aws, name).await?.as_ref().and_then(arn_of) else {
            return Ok(None);
        };
        let tags = tags_of(aws, &arn).await?.unwrap_or_default();
        if !args::tags_match(args, &call.address.to_string(), &tags) {
            return Ok(None);
        }
        // An interrupted create may have stopped before the retention: set it (idempotent).
        set_retention(
            aws,
            name,
            args.get("retention_in_days").and_then(Json::as_i64),
        )
        .await?;
        Ok(Some(Created {
            id: name.to_string(),
            outputs: outputs(name, &arn),
        }))
    }

    async fn update(&self, req: &Req<'_>) -> Res<Attrs> {
        let Req {
            aws,
            id,
            old,
            args: new,
            outputs: outputs_in,
            ..
        } = *req;
        let days = new.get("retention_in_days").and_then(Json::as_i64);
        if old.get("retention_in_days").and_then(Json::as_i64) != days {
            set_retention(aws, id, days).await?;
        }
        let arn = match outputs_in.get("arn").and_then(Json::as_str) {
            Some(a) => a.to_string(),
            None => get(aws, id)
                .await?
                .as_ref()
                .and_then(arn_of)
                .ok_or_else(|| {
                    ProviderError::new(ErrorClass::NotFound, format!("log group `{id}` is gone"))
                })?,
        };
        let (set, remove) = args::tag_changes(old, new);
        if !set.is_empty() {
            tracing::debug!(name = id, "logs TagResource");
            aws.logs
                .tag_resource()
                .resource_arn(&arn)
                .set_tags(Some(set.into_iter().collect()))
                .send()
                .await
                .map_err(error::map)?;
        }
        if !remove.is_empty() {
            tracing::debug!(name = id, "logs UntagResource");
            aws.logs
                .untag_resource()
                .resource_arn(&arn)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .map_err(error::map)?;
        }
        Ok(outputs(id, &arn))
    }

    async fn delete(&self, req: &Req<'_>) -> Res<()> {
        let Req { aws, id, .. } = *req;
        tracing::debug!(name = id, "logs DeleteLogGroup");
        error::not_found_ok(
            aws.logs
                .delete_log_group()
                .log_group_name(id)
                .send()
                .await
                .map_err(error::map),
        )?;
        Ok(())
    }

    async fn read(&self, aws: &Clients, set: &ReadSet, items: &[ReadItem]) -> Res<Reads> {
        let names: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
        let prefix = common_prefix(&names);
        // One listing under the common prefix; without one, one listing per name rather
        // than every group of the account.
        let mut found: HashMap<String, AwsLogGroup> = HashMap::new();
        let mut listings: Vec<String> = if names.is_empty() {
            Vec::new()
        } else if prefix.trim_matches('/').is_empty() {
            names.iter().map(|n| n.to_string()).collect()
        } else {
            vec![prefix]
        };
        // Looking for orphans lists the stack's namespace, `/ecsctl/<stack>/`, which holds
        // the groups ecsctl names: one listing serves both when the items are all there.
        let namespace = set.stack().map(|s| format!("/ecsctl/{s}/"));
        if let Some(ns) = &namespace {
            if names.iter().all(|n| n.starts_with(ns.as_str())) {
                listings = vec![ns.clone()];
            } else {
                listings.push(ns.clone());
            }
        }
        for p in listings {
            for g in list(aws, &p).await? {
                if let Some(n) = g.log_group_name() {
                    found.insert(n.to_string(), g.clone());
                }
            }
        }
        if let (Some(stack), Some(ns)) = (set.stack(), &namespace) {
            let mut orphans = Vec::new();
            for (name, g) in &found {
                if !name.starts_with(ns.as_str()) || names.contains(&name.as_str()) {
                    continue;
                }
                // Not in the state: its tags say whose it is.
                let Some(arn) = arn_of(g) else { continue };
                let Some(tags) = tags_of(aws, &arn).await? else {
                    continue;
                };
                let ours = tags.iter().any(|(k, v)| k == "ecsctl:stack" && v == stack);
                if let Some(o) = args::orphan(Kind::LogGroup, &tags, name).filter(|_| ours) {
                    orphans.push(o);
                }
            }
            set.found_tagged(Kind::LogGroup, orphans);
        }
        let mut out = BTreeMap::new();
        for item in items {
            let live = match found.get(&item.id) {
                // Tags take a call per group (ListTagsForResource), so they are not read
                // back: the recorded ones are returned as they are (tags changed by hand on
                // a log group are not seen), and refresh stays at one call for any number
                // of services. Retention and existence are read.
                Some(g) => match (g.log_group_name(), arn_of(g)) {
                    (Some(name), Some(arn)) => {
                        let mut args = Attrs::new();
                        args.insert("name".into(), json!(name));
                        args.insert(
                            "retention_in_days".into(),
                            g.retention_in_days()
                                .map(|d| json!(d))
                                .unwrap_or(Json::Null),
                        );
                        if let Some(tags) = item.args.get("tags") {
                            args.insert("tags".into(), tags.clone());
                        }
                        Some(Live {
                            args,
                            outputs: outputs(name, &arn),
                        })
                    }
                    _ => None,
                },
                None => None,
            };
            out.insert(item.address.clone(), live);
        }
        Ok(out)
    }

    fn finds_tagged_in_read(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefix_stops_at_a_path_boundary() {
        assert_eq!(
            common_prefix(&["/ecsctl/s/api", "/ecsctl/s/app"]),
            "/ecsctl/s/"
        );
        assert_eq!(common_prefix(&["/ecsctl/s/web"]), "/ecsctl/s/web");
        assert_eq!(common_prefix(&["/a/x", "/b/y"]), "/");
        assert_eq!(common_prefix(&["x", "y"]), "");
        assert_eq!(common_prefix(&[]), "");
    }
}
