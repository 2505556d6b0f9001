//! `ecs_cluster`: an ECS cluster with its Container Insights setting. The id is the
//! cluster ARN. Also the ECS helpers the task definition and service kinds share (tags).

use crate::kinds::iam_propagation::retry_iam_propagation;
use crate::kinds::Handler;
use crate::kinds::{Reads, Req, Res};
use crate::read_set::ReadSet;
use crate::retry::once;
use crate::{args, error, Clients};
use async_trait::async_trait;
use aws_sdk_ecs::types::{
    Cluster, ClusterField, ClusterSetting, ClusterSettingName, ContainerInstanceStatus, Tag,
};
use ecsctl_graph::Kind;
use ecsctl_provider::{Attrs, Created, ErrorClass, Live, Orphan, ProviderError, ReadItem};
use serde_json::{json, Value as Json};

pub struct EcsCluster;

/// DescribeClusters takes at most this many clusters per call.
const DESCRIBE_BATCH: usize = 100;

/// The `tags` argument as ECS tags.
pub(crate) fn ecs_tags(args: &Attrs) -> Vec<Tag> {
    args::tags(args)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

pub(crate) fn ecs_tag_pairs(tags: &[Tag]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = tags
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect();
    pairs.sort();
    pairs
}

/// Apply the tag changes from `old` to `new` arguments to the ECS resource `arn`.
pub(crate) async fn retag(
    aws: &Clients,
    arn: &str,
    old: &Attrs,
    new: &Attrs,
) -> Result<(), ProviderError> {
    let (set, remove) = args::tag_changes(old, new);
    if !set.is_empty() {
        tracing::debug!(arn, "ecs TagResource");
        aws.ecs
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(
                set.into_iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
            .send()
            .await
            .map_err(error::map)?;
    }
    if !remove.is_empty() {
        tracing::debug!(arn, "ecs UntagResource");
        aws.ecs
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(error::map)?;
    }
    Ok(())
}

fn insights(enabled: bool) -> ClusterSetting {
    ClusterSetting::builder()
        .name(ClusterSettingName::ContainerInsights)
        .value(if enabled { "enabled" } else { "disabled" })
        .build()
}

fn created(c: &Cluster) -> Option<Created> {
    let arn = c.cluster_arn()?;
    let mut outputs = Attrs::new();
    outputs.insert("id".into(), json!(arn));
    outputs.insert("arn".into(), json!(arn));
    Some(Created {
        id: arn.to_string(),
        outputs,
    })
}

fn live(c: &Cluster) -> Option<Live> {
    let created = created(c)?;
    let insights = c
        .settings()
        .iter()
        .find(|s| s.name() == Some(&ClusterSettingName::ContainerInsights))
        .and_then(|s| s.value())
        .is_some_and(|v| v == "enabled" || v == "enhanced");
    let mut args = Attrs::new();
    args.insert("name".into(), json!(c.cluster_name().unwrap_or_default()));
    args.insert("container_insights".into(), json!(insights));
    args.insert("tags".into(), args::read_tags(ecs_tag_pairs(c.tags())));
    Some(Live {
        args,
        outputs: created.outputs,
    })
}

/// The active clusters among `ids` (names or ARNs), with settings and tags.
/// Whether `c` is tagged `ecsctl:stack = stack`.
pub(crate) fn is_stacks(c: &Cluster, stack: &str) -> bool {
    ecs_tag_pairs(c.tags())
        .iter()
        .any(|(k, v)| k == "ecsctl:stack" && v == stack)
}

/// Every active cluster of the account, with tags and settings (ListClusters, then
/// DescribeClusters 100 a call).
/// Every cluster of the account with tags and settings, listed once per scan; `None`
/// without a stack.
pub(crate) async fn clusters<'a>(aws: &Clients, set: &'a ReadSet) -> Res<Option<&'a [Cluster]>> {
    set.ecs_clusters(|| list_all(aws)).await
}

async fn list_all(aws: &Clients) -> Result<Vec<Cluster>, ProviderError> {
    tracing::debug!("ecs ListClusters");
    let arns: Vec<String> = aws
        .ecs
        .list_clusters()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(error::map)?;
    describe(aws, &arns).await
}

async fn describe(aws: &Clients, ids: &[String]) -> Result<Vec<Cluster>, ProviderError> {
    let mut out = Vec::new();
    for batch in ids.chunks(DESCRIBE_BATCH) {
        tracing::debug!(count = batch.len(), "ecs DescribeClusters");
        let resp = aws
            .ecs
            .describe_clusters()
            .set_clusters(Some(batch.to_vec()))
            .include(ClusterField::Tags)
            .include(ClusterField::Settings)
            .send()
            .await
            .map_err(error::map)?;
        out.extend(
            resp.clusters()
                .iter()
                .filter(|c| c.status() != Some("INACTIVE"))
                .cloned(),
        );
    }
    Ok(out)
}

/// ECS refuses to delete a cluster that still has services, tasks or instances: that is a
/// dependency the engine retries.
fn classify(mut e: ProviderError) -> ProviderError {
    if e.code
        .as_deref()
        .is_some_and(|c| c.starts_with("ClusterContains"))
    {
        e.class = ErrorClass::DependencyViolation;
    }
    e
}

/// The ARNs of the container instances registered in `cluster` (all pages), only those in
/// `status` when given.
pub(crate) async fn container_instances(
    aws: &Clients,
    cluster: &str,
    status: Option<ContainerInstanceStatus>,
) -> Result<Vec<String>, ProviderError> {
    tracing::debug!(cluster, ?status, "ecs ListContainerInstances");
    aws.ecs
        .list_container_instances()
        .cluster(cluster)
        .set_status(status)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(error::map)
}

/// Deregisters (with `force`) the container instances still registered in `cluster`. By
/// now the Auto Scaling group is gone; ECS deregisters a terminated instance by itself only
/// while its agent is connected (DeregisterContainerInstance API reference), and a cluster
/// with registered instances cannot be deleted (ClusterContainsContainerInstancesException).
async fn deregister_instances(aws: &Clients, cluster: &str) -> Result<(), ProviderError> {
    let arns = match container_instances(aws, cluster, None).await {
        Ok(arns) => arns,
        Err(e) if e.class == ErrorClass::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for arn in arns {
        tracing::debug!(cluster, instance = %arn, "ecs DeregisterContainerInstance (force)");
        if let Err(e) = aws
            .ecs
            .deregister_container_instance()
            .cluster(cluster)
            .container_instance(&arn)
            .force(true)
            .send()
            .await
        {
            let e = error::map(e);
            if e.class != ErrorClass::NotFound {
                return Err(e);
            }
        }
    }
    Ok(())
}

#[async_trait]
impl Handler for EcsCluster {
    async fn create(&self, req: &Req<'_>) -> Res<Created> {
        let Req {
            aws, call, args, ..
        } = *req;
        let name = args::str(args, "name")?;
        let insights_on = args
            .get("container_insights")
            .and_then(Json::as_bool)
            .unwrap_or(false);
        tracing::debug!(name, "ecs CreateCluster");
        // CreateCluster is idempotent by name: a retry answers the same cluster. On a fresh
        // account the first call creates ECS's service-linked role and is refused ("Unable
        // to assume the service linked role") until it propagates: retried.
        let tags = ecs_tags(args);
        let out = retry_iam_propagation(call, || async {
            aws.ecs
                .create_cluster()
                .cluster_name(name)
                .settings(insights(insights_on))
                .set_tags((!tags.is_empty()).then(|| tags.clone()))
                .customize()
                .config_override(once!(aws_sdk_ecs))
                .send()
                .await
                .map_err(error::map)
        })
        .await?;
        out.cluster().and_then(created).ok_or_else(|| {
            ProviderError::new(ErrorClass::Other, "CreateCluster returned no cluster ARN")
        })
    }

    async fn find(&self, req: &Req<'_>) -> Res<Option<Created>> {
        let Req {
            aws, call, args, ..
        } = *req;
        let name = args::str(args, "name")?;
        let address = call.address.to_string();
        Ok(describe(aws, &[name.to_string()])
            .await?
            .iter()
            .find(|c| args::tags_match(args, &address, &ecs_tag_pairs(c.tags())))
            .and_then(created))
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
        let on = new
            .get("container_insights")
            .and_then(Json::as_bool)
            .unwrap_or(false);
        if old
            .get("container_insights")
            .and_then(Json::as_bool)
            .unwrap_or(false)
            != on
        {
            tracing::debug!(cluster = id, "ecs UpdateCluster");
            aws.ecs
                .update_cluster()
                .cluster(id)
                .settings(insights(on))
                .send()
                .await
                .map_err(error::map)?;
        }
        retag(aws, id, old, new).await?;
        let mut out = outputs.clone();
        out.insert("id".into(), json!(id));
        out.insert("arn".into(), json!(id));
        Ok(out)
    }

    async fn delete(&self, req: &Req<'_>) -> Res<()> {
        let Req { aws, id, .. } = *req;
        deregister_instances(aws, id).await?;
        tracing::debug!(cluster = id, "ecs DeleteCluster");
        match aws.ecs.delete_cluster().cluster(id).send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = classify(error::map(e));
                if e.class == ErrorClass::NotFound {
                    Ok(())
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn read(&self, aws: &Clients, set: &ReadSet, items: &[ReadItem]) -> Res<Reads> {
        // Looking for orphans lists every cluster (with tags) anyway: read from that
        // listing, and describe only what it missed.
        let mut found = clusters(aws, set).await?.unwrap_or_default().to_vec();
        let ids: Vec<String> = items
            .iter()
            .filter(|i| !found.iter().any(|c| c.cluster_arn() == Some(i.id.as_str())))
            .map(|i| i.id.clone())
            .collect();
        if !ids.is_empty() {
            found.extend(describe(aws, &ids).await?);
        }
        Ok(items
            .iter()
            .map(|item| {
                let live = found
                    .iter()
                    .find(|c| c.cluster_arn() == Some(item.id.as_str()))
                    .and_then(live);
                (item.address.clone(), live)
            })
            .collect())
    }

    async fn tagged(&self, aws: &Clients, set: &ReadSet, stack: &str) -> Res<Vec<Orphan>> {
        let mut out = Vec::new();
        for c in clusters(aws, set).await?.unwrap_or_default() {
            let tags = ecs_tag_pairs(c.tags());
            if let (true, Some(arn)) = (is_stacks(c, stack), c.cluster_arn()) {
                out.extend(args::orphan(Kind::EcsCluster, &tags, arn));
            }
        }
        Ok(out)
    }
}
