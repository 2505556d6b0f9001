//! `ecs_service`: an ECS service on the EC2 launch type behind target groups. The id is the
//! service ARN.
//!
//! Creates and updates wait, when `Options::wait_for_services` is on, until the service is
//! stable (one PRIMARY deployment with every task running, rollout COMPLETED where ECS
//! reports one), showing each new service event and each stopped task's reason on the way,
//! and failing early when the deployment circuit breaker marks the rollout FAILED.
//!
//! Reads report what ECS returns and invent nothing: an emulator that drops the deployment
//! configuration, grace period or placement on CreateService reads back `null` / `[]`
//! there.

use super::ecs_cluster::{ecs_tag_pairs, ecs_tags, is_stacks, retag};
use super::iam_propagation::retry_iam_propagation;
use crate::kinds::Handler;
use crate::kinds::{Reads, Req, Res};
use crate::read_set::ReadSet;
use crate::retry::once;
use crate::wait::{self, Poll};
use crate::{args, error, Clients};
use async_trait::async_trait;
use aws_sdk_ecs::types::{
    DeploymentCircuitBreaker, DeploymentConfiguration, DeploymentRolloutState, DesiredStatus,
    LaunchType, LoadBalancer, PlacementStrategy, PlacementStrategyType, PropagateTags, Service,
    ServiceField,
};
use ecsctl_graph::Kind;
use ecsctl_provider::{Attrs, Call, Created, ErrorClass, Live, Orphan, ProviderError, ReadItem};
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

pub struct EcsService;

/// DescribeServices takes at most this many services per call.
const DESCRIBE_BATCH: usize = 10;
/// ECS allows at most 36 characters in a client token.
const CLIENT_TOKEN_MAX: usize = 36;
const STABLE_POLL: Duration = Duration::from_secs(6);
const DRAIN_POLL: Duration = Duration::from_secs(5);
/// How many of the service's existing events the first poll shows.
const FIRST_EVENTS: usize = 3;

fn load_balancers(args: &Attrs) -> Result<Vec<LoadBalancer>, ProviderError> {
    args::objects(args, "load_balancers")?
        .into_iter()
        .map(|lb| {
            Ok(LoadBalancer::builder()
                .target_group_arn(args::str(lb, "target_group_arn")?)
                .container_name(args::str(lb, "container_name")?)
                .set_container_port(args::opt_int32(lb, "container_port")?)
                .build())
        })
        .collect()
}

fn deployment(args: &Attrs) -> Result<Option<DeploymentConfiguration>, ProviderError> {
    let Some(Json::Object(d)) = args.get("deployment") else {
        return Ok(None);
    };
    let breaker = match d.get("circuit_breaker") {
        Some(Json::Object(cb)) => Some(
            DeploymentCircuitBreaker::builder()
                .enable(cb.get("enable").and_then(Json::as_bool).unwrap_or(false))
                .rollback(cb.get("rollback").and_then(Json::as_bool).unwrap_or(false))
                .build(),
        ),
        _ => None,
    };
    Ok(Some(
        DeploymentConfiguration::builder()
            .set_minimum_healthy_percent(args::opt_int32(d, "minimum_healthy_percent")?)
            .set_maximum_percent(args::opt_int32(d, "maximum_percent")?)
            .set_deployment_circuit_breaker(breaker)
            .build(),
    ))
}

fn placement(args: &Attrs) -> Result<Vec<PlacementStrategy>, ProviderError> {
    args::objects(args, "placement_strategy")?
        .into_iter()
        .map(|p| {
            Ok(PlacementStrategy::builder()
                .r#type(PlacementStrategyType::from(args::str(p, "type")?))
                .set_field(args::opt_str(p, "field").map(str::to_string))
                .build())
        })
        .collect()
}

/// The cluster a service belongs to: its `cluster` argument, else the ARN's
/// `service/<cluster>/<name>` segment.
fn cluster_of(id: &str, args: &Attrs) -> Result<String, ProviderError> {
    if let Some(c) = args::opt_str(args, "cluster") {
        return Ok(c.to_string());
    }
    let resource = id.rsplit(':').next().unwrap_or_default();
    match resource.split('/').collect::<Vec<_>>()[..] {
        ["service", cluster, _] => Ok(cluster.to_string()),
        _ => Err(ProviderError::new(
            ErrorClass::InvalidInput,
            format!("cannot tell the cluster of service `{id}`: set its `cluster` argument"),
        )),
    }
}

fn created(s: &Service) -> Option<Created> {
    let arn = s.service_arn()?;
    let mut outputs = Attrs::new();
    outputs.insert("id".into(), json!(arn));
    outputs.insert("arn".into(), json!(arn));
    Some(Created {
        id: arn.to_string(),
        outputs,
    })
}

fn live(s: &Service) -> Option<Live> {
    let created = created(s)?;
    let lbs: Vec<Json> = s
        .load_balancers()
        .iter()
        .map(|lb| {
            json!({
                "target_group_arn": lb.target_group_arn(),
                "container_name": lb.container_name(),
                "container_port": lb.container_port(),
            })
        })
        .collect();
    let deployment = match s.deployment_configuration() {
        Some(d) => json!({
            "minimum_healthy_percent": d.minimum_healthy_percent(),
            "maximum_percent": d.maximum_percent(),
            "circuit_breaker": d.deployment_circuit_breaker().map(|cb| json!({
                "enable": cb.enable(),
                "rollback": cb.rollback(),
            })),
        }),
        None => Json::Null,
    };
    let placement: Vec<Json> = s
        .placement_strategy()
        .iter()
        .map(|p| json!({"type": p.r#type().map(|t| t.as_str()), "field": p.field()}))
        .collect();
    let mut args = Attrs::new();
    args.insert("name".into(), json!(s.service_name()));
    args.insert("cluster".into(), json!(s.cluster_arn()));
    args.insert("task_definition".into(), json!(s.task_definition()));
    args.insert("desired_count".into(), json!(s.desired_count()));
    args.insert(
        "launch_type".into(),
        json!(s.launch_type().map(|l| l.as_str())),
    );
    args.insert("load_balancers".into(), Json::Array(lbs));
    args.insert("deployment".into(), deployment);
    args.insert(
        "health_check_grace_period".into(),
        json!(s.health_check_grace_period_seconds()),
    );
    args.insert("placement_strategy".into(), Json::Array(placement));
    args.insert("tags".into(), args::read_tags(ecs_tag_pairs(s.tags())));
    Some(Live {
        args,
        outputs: created.outputs,
    })
}

/// What a scan needs of the services: without a stack, `items` (see [`describe_items`]).
/// With one, every service of the clusters tagged for it (ListServices and DescribeServices
/// per cluster), which finds the items and the orphans together; items not among them are
/// then described on their own.
/// The refresh's DescribeServices answers (see [`scan`]), made once per refresh.
pub(crate) async fn services<'a>(aws: &Clients, set: &'a ReadSet) -> &'a Res<Vec<Service>> {
    set.ecs_services(|| scan(aws, set, set.items(Kind::EcsService)))
        .await
}

pub(crate) async fn scan(
    aws: &Clients,
    set: &ReadSet,
    items: &[ReadItem],
) -> Result<Vec<Service>, ProviderError> {
    let Some(stack) = set.stack() else {
        return describe_items(aws, items).await;
    };
    let clusters: Vec<String> = super::ecs_cluster::clusters(aws, set)
        .await?
        .unwrap_or_default()
        .iter()
        .filter(|c| is_stacks(c, stack))
        .filter_map(|c| c.cluster_arn().map(str::to_string))
        .collect();
    let mut out: Vec<Service> = Vec::new();
    for cluster in clusters {
        tracing::debug!(cluster, "ecs ListServices");
        let arns: Vec<String> = aws
            .ecs
            .list_services()
            .cluster(&cluster)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(error::map)?;
        out.extend(describe(aws, &cluster, &arns).await?);
    }
    let missing: Vec<ReadItem> = items
        .iter()
        .filter(|i| !out.iter().any(|s| s.service_arn() == Some(i.id.as_str())))
        .cloned()
        .collect();
    if !missing.is_empty() {
        out.extend(describe_items(aws, &missing).await?);
    }
    Ok(out)
}

/// The services among `items` that still exist, with tags: DescribeServices per cluster,
/// ten services a call.
pub(crate) async fn describe_items(
    aws: &Clients,
    items: &[ReadItem],
) -> Result<Vec<Service>, ProviderError> {
    let mut by_cluster: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in items {
        let cluster = cluster_of(&item.id, &item.args).map_err(|e| e.at(&item.address))?;
        by_cluster.entry(cluster).or_default().push(item.id.clone());
    }
    let mut out = Vec::new();
    for (cluster, ids) in by_cluster {
        out.extend(describe(aws, &cluster, &ids).await?);
    }
    Ok(out)
}

/// The services among `ids` in `cluster` that still exist (not INACTIVE), with tags.
async fn describe(
    aws: &Clients,
    cluster: &str,
    ids: &[String],
) -> Result<Vec<Service>, ProviderError> {
    let mut out = Vec::new();
    for batch in ids.chunks(DESCRIBE_BATCH) {
        tracing::debug!(cluster, count = batch.len(), "ecs DescribeServices");
        match aws
            .ecs
            .describe_services()
            .cluster(cluster)
            .set_services(Some(batch.to_vec()))
            .include(ServiceField::Tags)
            .send()
            .await
        {
            Ok(resp) => out.extend(
                resp.services()
                    .iter()
                    .filter(|s| s.status() != Some("INACTIVE"))
                    .cloned(),
            ),
            Err(e) => {
                let e = error::map(e);
                // A deleted cluster takes its services with it.
                if e.class == ErrorClass::NotFound {
                    return Ok(Vec::new());
                }
                return Err(e);
            }
        }
    }
    Ok(out)
}

/// What the stability waiter has already shown.
#[derive(Default)]
struct Shown {
    polls: usize,
    events: HashSet<String>,
    tasks: HashSet<String>,
    /// Stopped tasks' reasons shown so far, oldest first (the failure message repeats the
    /// last few).
    reasons: Vec<String>,
}

/// How many stopped tasks' reasons and service events a failed deployment's message names.
const FAILURE_DETAILS: usize = 3;

/// The id of the deployment a CreateService or UpdateService answer started: the PRIMARY one.
fn started_deployment(s: Option<&Service>) -> Option<String> {
    s?.deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
        .and_then(|d| d.id())
        .map(str::to_string)
}

/// The error for a deployment that will not become stable: what happened, then the last
/// stopped tasks' reasons and service events, so the cause is in the message itself.
fn deployment_failed(what: String, s: &Service, shown: &Shown) -> ProviderError {
    let mut message = what;
    let reasons: Vec<&str> = shown
        .reasons
        .iter()
        .rev()
        .take(FAILURE_DETAILS)
        .map(String::as_str)
        .collect();
    if !reasons.is_empty() {
        message.push_str(&format!("; stopped tasks: {}", reasons.join(" | ")));
    }
    let events: Vec<&str> = s
        .events()
        .iter()
        .take(FAILURE_DETAILS)
        .filter_map(|e| e.message())
        .collect();
    if !events.is_empty() {
        message.push_str(&format!("; last service events: {}", events.join(" | ")));
    }
    ProviderError::new(ErrorClass::Other, message)
}

/// One poll of the stability waiter.
async fn poll_stable(
    aws: &Clients,
    call: &Call<'_>,
    cluster: &str,
    service: &str,
    shown: &Mutex<Shown>,
    started: i64,
    ours: Option<&str>,
) -> Result<Poll<()>, ProviderError> {
    let found = describe(aws, cluster, &[service.to_string()]).await?;
    let Some(s) = found.into_iter().next() else {
        return Err(ProviderError::new(
            ErrorClass::NotFound,
            format!("service {service} disappeared while waiting for it to become stable"),
        ));
    };
    let first = {
        let mut shown = shown.lock().unwrap_or_else(|p| p.into_inner());
        shown.polls += 1;
        // Events come newest first; show the new ones oldest first.
        let fresh: Vec<(String, String)> = s
            .events()
            .iter()
            .filter_map(|e| Some((e.id()?.to_string(), e.message()?.to_string())))
            .filter(|(id, _)| !shown.events.contains(id))
            .collect();
        let take = if shown.polls == 1 {
            FIRST_EVENTS
        } else {
            fresh.len()
        };
        for (id, _) in &fresh {
            shown.events.insert(id.clone());
        }
        for (_, message) in fresh.iter().take(take).rev() {
            call.progress.note(call.address, message);
        }
        shown.polls == 1
    };
    report_stopped_tasks(aws, call, cluster, service, shown, first, started).await?;

    let deployments = s.deployments();
    let primary = deployments.iter().find(|d| d.status() == Some("PRIMARY"));
    let name = s.service_name().unwrap_or(service);
    let runs = |d: Option<&aws_sdk_ecs::types::Deployment>| {
        d.and_then(|d| d.task_definition())
            .map(|t| t.rsplit('/').next().unwrap_or(t).to_string())
            .unwrap_or_else(|| "nothing".to_string())
    };
    // Follow the deployment this apply started: after a circuit-breaker rollback ECS makes a
    // new PRIMARY deployment of the last good revision, which becomes stable too, so the
    // PRIMARY alone would report a rolled-back deployment as a success.
    let target = match ours {
        Some(id) => deployments.iter().find(|d| d.id() == Some(id)),
        None => primary,
    };
    let failure = match (ours, target) {
        (Some(id), None) => Some(format!(
            "the deployment {id} of service {name} is gone (rolled back or replaced): ECS now \
             runs {}",
            runs(primary)
        )),
        (_, Some(d)) if d.rollout_state() == Some(&DeploymentRolloutState::Failed) => {
            let back = match primary {
                Some(p) if p.id() != d.id() => {
                    format!("; ECS rolled back to {}", runs(Some(p)))
                }
                _ => String::new(),
            };
            Some(format!(
                "the deployment of {} failed: {} (the deployment circuit breaker stopped it){back}",
                runs(Some(d)),
                d.rollout_state_reason().unwrap_or("no reason given"),
            ))
        }
        (Some(id), Some(d)) if d.status() != Some("PRIMARY") => Some(format!(
            "the deployment {id} of service {name} ({}) was replaced by another deployment \
             ({}) before it became stable",
            runs(Some(d)),
            runs(primary)
        )),
        _ => None,
    };
    if let Some(what) = failure {
        let shown = shown.lock().unwrap_or_else(|p| p.into_inner());
        return Err(deployment_failed(what, &s, &shown));
    }
    let stable = deployments.len() == 1
        && primary.is_some_and(|d| {
            d.running_count() == d.desired_count()
                && d.rollout_state()
                    .is_none_or(|r| *r == DeploymentRolloutState::Completed)
        });
    if stable {
        return Ok(Poll::Done(()));
    }
    let (running, desired) = primary
        .map(|d| (d.running_count(), d.desired_count()))
        .unwrap_or((s.running_count(), s.desired_count()));
    let rollout = primary
        .and_then(|d| d.rollout_state())
        .map(|r| format!(", rollout {}", r.as_str()))
        .unwrap_or_default();
    Ok(Poll::Pending(format!(
        "waiting for service {} to become stable: {running}/{desired} tasks running, {} \
         deployment(s){rollout}",
        s.service_name().unwrap_or(service),
        deployments.len(),
    )))
}

/// Show the reason of each task of the service that stopped (once each). On the first poll,
/// tasks that stopped well before the wait began are old news and only marked as shown.
async fn report_stopped_tasks(
    aws: &Clients,
    call: &Call<'_>,
    cluster: &str,
    service: &str,
    shown: &Mutex<Shown>,
    first: bool,
    started: i64,
) -> Result<(), ProviderError> {
    tracing::debug!(cluster, service, "ecs ListTasks STOPPED");
    let listed = aws
        .ecs
        .list_tasks()
        .cluster(cluster)
        .service_name(service.rsplit('/').next().unwrap_or(service))
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await
        .map_err(error::map)?;
    let new: Vec<String> = {
        let shown = shown.lock().unwrap_or_else(|p| p.into_inner());
        listed
            .task_arns()
            .iter()
            .filter(|a| !shown.tasks.contains(*a))
            .take(100)
            .cloned()
            .collect()
    };
    if new.is_empty() {
        return Ok(());
    }
    tracing::debug!(cluster, count = new.len(), "ecs DescribeTasks");
    let tasks = aws
        .ecs
        .describe_tasks()
        .cluster(cluster)
        .set_tasks(Some(new.clone()))
        .send()
        .await
        .map_err(error::map)?;
    let mut shown = shown.lock().unwrap_or_else(|p| p.into_inner());
    for t in tasks.tasks() {
        let Some(arn) = t.task_arn() else { continue };
        let stopped_at = t.stopped_at().map(|d| d.secs());
        let old = first && stopped_at.is_some_and(|at| at < started - 60);
        // A task still stopping has no reason yet: show it on a later poll.
        let Some(reason) = t.stopped_reason() else {
            if old {
                shown.tasks.insert(arn.to_string());
            }
            continue;
        };
        shown.tasks.insert(arn.to_string());
        if !old {
            let id = arn.rsplit('/').next().unwrap_or(arn);
            call.progress
                .note(call.address, &format!("task {id} stopped: {reason}"));
            shown.reasons.push(format!("task {id}: {reason}"));
        }
    }
    Ok(())
}

/// Wait until the service is stable (see the module doc), or fail at the deadline with
/// class Timeout, or early when the deployment `ours` (the one this apply started; the
/// PRIMARY when unknown) FAILED, is gone, or was replaced by another.
async fn wait_stable(
    aws: &Clients,
    call: &Call<'_>,
    cluster: &str,
    service: &str,
    ours: Option<&str>,
) -> Result<(), ProviderError> {
    let shown = Mutex::new(Shown::default());
    let shown = &shown;
    let started = wait::now_epoch_secs();
    wait::until(call, STABLE_POLL, move || async move {
        poll_stable(aws, call, cluster, service, shown, started, ours).await
    })
    .await
}

/// Wait until a deleted service is INACTIVE (or gone).
async fn wait_inactive(
    aws: &Clients,
    call: &Call<'_>,
    cluster: &str,
    service: &str,
) -> Result<(), ProviderError> {
    wait::until(call, DRAIN_POLL, move || async move {
        let found = describe(aws, cluster, &[service.to_string()]).await?;
        Ok(match found.first() {
            None => Poll::Done(()),
            Some(s) => Poll::Pending(format!(
                "waiting for service {} to drain ({}, {} tasks running)",
                s.service_name().unwrap_or(service),
                s.status().unwrap_or("unknown"),
                s.running_count()
            )),
        })
    })
    .await
}

/// ECS's answers for a service that is deleted or being deleted.
fn service_gone(e: &ProviderError) -> bool {
    e.class == ErrorClass::NotFound || e.code.as_deref() == Some("ServiceNotActiveException")
}

#[async_trait]
impl Handler for EcsService {
    async fn create(&self, req: &Req<'_>) -> Res<Created> {
        let Req {
            aws,
            call,
            args,
            token,
            ..
        } = *req;
        let name = args::str(args, "name")?;
        let cluster = args::str(args, "cluster")?;
        let lbs = load_balancers(args)?;
        // ECS only accepts a grace period for services behind a load balancer.
        let grace = if lbs.is_empty() {
            None
        } else {
            args::opt_int32(args, "health_check_grace_period")?
        };
        let strategy = placement(args)?;
        let tags = ecs_tags(args);
        let req = aws
            .ecs
            .create_service()
            .service_name(name)
            .cluster(cluster)
            .task_definition(args::str(args, "task_definition")?)
            .desired_count(args::opt_int32(args, "desired_count")?.unwrap_or(0))
            .launch_type(LaunchType::from(args::str(args, "launch_type")?))
            .set_load_balancers((!lbs.is_empty()).then_some(lbs))
            .set_deployment_configuration(deployment(args)?)
            .set_health_check_grace_period_seconds(grace)
            .set_placement_strategy((!strategy.is_empty()).then_some(strategy))
            .set_tags((!tags.is_empty()).then_some(tags))
            .propagate_tags(PropagateTags::Service)
            .client_token(args::client_token(token, CLIENT_TOKEN_MAX));
        let out = retry_iam_propagation(call, || {
            let req = req.clone();
            async move {
                tracing::debug!(name, cluster, "ecs CreateService");
                req.customize()
                    .config_override(once!(aws_sdk_ecs))
                    .send()
                    .await
                    .map_err(error::map)
            }
        })
        .await?;
        let created = out.service().and_then(created).ok_or_else(|| {
            ProviderError::new(ErrorClass::Other, "CreateService returned no service ARN")
        })?;
        if call.options.wait_for_services {
            let ours = started_deployment(out.service());
            wait_stable(aws, call, cluster, &created.id, ours.as_deref()).await?;
        }
        Ok(created)
    }

    async fn find(&self, req: &Req<'_>) -> Res<Option<Created>> {
        let Req {
            aws, call, args, ..
        } = *req;
        let name = args::str(args, "name")?;
        let cluster = args::str(args, "cluster")?;
        let address = call.address.to_string();
        Ok(describe(aws, cluster, &[name.to_string()])
            .await?
            .iter()
            .filter(|s| s.status() == Some("ACTIVE"))
            .find(|s| args::tags_match(args, &address, &ecs_tag_pairs(s.tags())))
            .and_then(created))
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
        let cluster = cluster_of(id, new)?;
        let changed = |k: &str| old.get(k) != new.get(k);
        let mut req = aws
            .ecs
            .update_service()
            .cluster(&cluster)
            .service(id)
            .task_definition(args::str(new, "task_definition")?)
            .set_desired_count(args::opt_int32(new, "desired_count")?)
            .set_deployment_configuration(deployment(new)?);
        let lbs = load_balancers(new)?;
        if !lbs.is_empty() {
            req = req.set_health_check_grace_period_seconds(args::opt_int32(
                new,
                "health_check_grace_period",
            )?);
        }
        if changed("load_balancers") {
            req = req.set_load_balancers(Some(lbs));
        }
        if changed("placement_strategy") {
            req = req.set_placement_strategy(Some(placement(new)?));
        }
        let tags_only = !args::settings_changed(Kind::EcsService, old, new, &[]);
        let mut ours = None;
        if !tags_only {
            let out = retry_iam_propagation(call, || {
                let req = req.clone();
                async move {
                    tracing::debug!(service = id, "ecs UpdateService");
                    req.send().await.map_err(error::map)
                }
            })
            .await?;
            ours = started_deployment(out.service());
        }
        retag(aws, id, old, new).await?;
        if !tags_only && call.options.wait_for_services {
            wait_stable(aws, call, &cluster, id, ours.as_deref()).await?;
        }
        let mut out = outputs.clone();
        out.insert("id".into(), json!(id));
        out.insert("arn".into(), json!(id));
        Ok(out)
    }

    async fn delete(&self, req: &Req<'_>) -> Res<()> {
        let Req {
            aws,
            call,
            id,
            args,
            ..
        } = *req;
        let cluster = cluster_of(id, args)?;
        tracing::debug!(service = id, "ecs UpdateService desiredCount=0");
        if let Err(e) = aws
            .ecs
            .update_service()
            .cluster(&cluster)
            .service(id)
            .desired_count(0)
            .send()
            .await
        {
            let e = error::map(e);
            if service_gone(&e) {
                return Ok(());
            }
            return Err(e);
        }
        tracing::debug!(service = id, "ecs DeleteService");
        if let Err(e) = aws
            .ecs
            .delete_service()
            .cluster(&cluster)
            .service(id)
            .force(false)
            .send()
            .await
        {
            let e = error::map(e);
            if service_gone(&e) {
                return Ok(());
            }
            return Err(e);
        }
        wait_inactive(aws, call, &cluster, id).await
    }

    async fn read(&self, aws: &Clients, set: &ReadSet, items: &[ReadItem]) -> Res<Reads> {
        // The set's DescribeServices answers (the task definition reader uses them too).
        let found = services(aws, set).await.as_ref().map_err(Clone::clone)?;
        Ok(items
            .iter()
            .map(|item| {
                let live = found
                    .iter()
                    .find(|s| s.service_arn() == Some(item.id.as_str()))
                    .and_then(live);
                (item.address.clone(), live)
            })
            .collect())
    }

    async fn tagged(&self, aws: &Clients, set: &ReadSet, stack: &str) -> Res<Vec<Orphan>> {
        // With a stack, the set's services are every service of the stack's clusters.
        let mut out = Vec::new();
        for s in services(aws, set).await.as_ref().map_err(Clone::clone)? {
            let tags = ecs_tag_pairs(s.tags());
            let ours = tags.iter().any(|(k, v)| k == "ecsctl:stack" && v == stack);
            if let (true, Some(arn)) = (ours, s.service_arn()) {
                out.extend(args::orphan(Kind::EcsService, &tags, arn));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use crate::Clients;
    use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode};
    use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
    use ecsctl_graph::Address;
    use ecsctl_provider::Progress;
    use std::sync::Mutex;

    /// Clients whose every call is answered by `rules` (any order).
    pub(crate) async fn mock_clients(rules: &[&Rule]) -> Clients {
        let mut icpt = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
        for r in rules {
            icpt = icpt.with_rule(r);
        }
        let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-2"))
            .credentials_provider(aws_sdk_ecs::config::Credentials::for_tests())
            .http_client(aws_smithy_mocks::create_mock_http_client())
            .load()
            .await;
        Clients::from_conf_with(&conf, SharedInterceptor::new(icpt))
    }

    /// A progress sink that keeps every note.
    #[derive(Default)]
    pub(crate) struct Notes(pub Mutex<Vec<String>>);

    impl Progress for Notes {
        fn note(&self, _: &Address, message: &str) {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(message.to_string());
        }
    }

    impl Notes {
        pub(crate) fn all(&self) -> Vec<String> {
            self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{mock_clients, Notes};
    use super::*;
    use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
    use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
    use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
    use aws_sdk_ecs::operation::update_service::UpdateServiceOutput;
    use aws_sdk_ecs::types::{Deployment, ServiceEvent, Task};
    use aws_sdk_ecs::Client;
    use aws_smithy_mocks::{mock, Rule};
    use ecsctl_graph::Address;
    use ecsctl_provider::{Call, Options};

    const ARN: &str = "arn:aws:ecs:eu-west-2:123456789012:service/demo/web";

    fn deployment(status: &str, running: i32, desired: i32, rollout: &str) -> Deployment {
        Deployment::builder()
            .id(format!("ecs-svc/{status}{running}"))
            .status(status)
            .task_definition("arn:aws:ecs:eu-west-2:123456789012:task-definition/demo-web:2")
            .running_count(running)
            .desired_count(desired)
            .rollout_state(DeploymentRolloutState::from(rollout))
            .rollout_state_reason("ECS deployment circuit breaker: tasks failed to start.")
            .build()
    }

    fn service(deployments: Vec<Deployment>, events: &[(&str, &str)]) -> DescribeServicesOutput {
        let mut s = Service::builder()
            .service_arn(ARN)
            .service_name("web")
            .status("ACTIVE")
            .desired_count(2)
            .set_deployments(Some(deployments));
        // Newest first, as ECS lists them.
        for (id, message) in events.iter().rev() {
            s = s.events(ServiceEvent::builder().id(*id).message(*message).build());
        }
        DescribeServicesOutput::builder()
            .services(s.build())
            .build()
    }

    fn no_stopped_tasks() -> Rule {
        mock!(Client::list_tasks).then_output(|| ListTasksOutput::builder().build())
    }

    #[tokio::test(start_paused = true)]
    async fn waits_until_stable_and_shows_each_event_once() {
        let describe = mock!(Client::describe_services)
            .sequence()
            .output(|| {
                service(
                    vec![
                        deployment("PRIMARY", 0, 2, "IN_PROGRESS"),
                        deployment("ACTIVE", 2, 2, "COMPLETED"),
                    ],
                    &[
                        ("e1", "has started 2 tasks"),
                        ("e2", "registered 1 targets"),
                    ],
                )
            })
            .output(|| {
                service(
                    vec![deployment("PRIMARY", 1, 2, "IN_PROGRESS")],
                    &[
                        ("e1", "has started 2 tasks"),
                        ("e2", "registered 1 targets"),
                        ("e3", "has stopped 2 running tasks"),
                    ],
                )
            })
            .output(|| {
                service(
                    vec![deployment("PRIMARY", 2, 2, "COMPLETED")],
                    &[
                        ("e1", "has started 2 tasks"),
                        ("e2", "registered 1 targets"),
                        ("e3", "has stopped 2 running tasks"),
                        ("e4", "has reached a steady state."),
                    ],
                )
            })
            .build();
        let tasks = no_stopped_tasks();
        let aws = mock_clients(&[&describe, &tasks]).await;
        let address = Address::new(Kind::EcsService, "web");
        let notes = Notes::default();
        let options = Options::bounded(true, Duration::from_secs(600));
        let call = Call {
            address: &address,
            progress: &notes,
            options: &options,
        };
        wait_stable(&aws, &call, "demo", ARN, None).await.unwrap();
        assert_eq!(describe.num_calls(), 3);
        let notes = notes.all();
        for event in [
            "has started 2 tasks",
            "registered 1 targets",
            "has stopped 2 running tasks",
            "has reached a steady state.",
        ] {
            let n = notes.iter().filter(|n| n.as_str() == event).count();
            assert_eq!(n, 1, "{event} shown {n} times: {notes:?}");
        }
        // Oldest first.
        let pos = |e: &str| notes.iter().position(|n| n == e).unwrap();
        assert!(pos("has started 2 tasks") < pos("registered 1 targets"));
    }

    #[tokio::test(start_paused = true)]
    async fn stopped_tasks_reasons_are_shown_once() {
        let describe = mock!(Client::describe_services)
            .sequence()
            .output(|| service(vec![deployment("PRIMARY", 0, 2, "IN_PROGRESS")], &[]))
            .times(2)
            .output(|| service(vec![deployment("PRIMARY", 2, 2, "COMPLETED")], &[]))
            .build();
        let list = mock!(Client::list_tasks).then_output(|| {
            ListTasksOutput::builder()
                .task_arns("arn:aws:ecs:eu-west-2:123456789012:task/demo/abc123")
                .build()
        });
        let tasks = mock!(Client::describe_tasks).then_output(|| {
            DescribeTasksOutput::builder()
                .tasks(
                    Task::builder()
                        .task_arn("arn:aws:ecs:eu-west-2:123456789012:task/demo/abc123")
                        .stopped_reason("Essential container in task exited")
                        .build(),
                )
                .build()
        });
        let aws = mock_clients(&[&describe, &list, &tasks]).await;
        let address = Address::new(Kind::EcsService, "web");
        let notes = Notes::default();
        let options = Options::bounded(true, Duration::from_secs(600));
        let call = Call {
            address: &address,
            progress: &notes,
            options: &options,
        };
        wait_stable(&aws, &call, "demo", ARN, None).await.unwrap();
        let notes = notes.all();
        let shown: Vec<_> = notes.iter().filter(|n| n.contains("stopped:")).collect();
        assert_eq!(
            shown,
            vec!["task abc123 stopped: Essential container in task exited"],
            "{notes:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_rollout_fails_at_once() {
        let describe = mock!(Client::describe_services)
            .then_output(|| service(vec![deployment("PRIMARY", 0, 2, "FAILED")], &[]));
        let tasks = no_stopped_tasks();
        let aws = mock_clients(&[&describe, &tasks]).await;
        let address = Address::new(Kind::EcsService, "web");
        let options = Options::bounded(true, Duration::from_secs(600));
        let call = Call {
            address: &address,
            progress: &ecsctl_provider::Quiet,
            options: &options,
        };
        let err = wait_stable(&aws, &call, "demo", ARN, None)
            .await
            .unwrap_err();
        assert_eq!(err.class, ErrorClass::Other);
        assert!(err.message.contains("tasks failed to start"), "{err}");
        assert_eq!(describe.num_calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_is_a_timeout() {
        let describe = mock!(Client::describe_services)
            .then_output(|| service(vec![deployment("PRIMARY", 1, 2, "IN_PROGRESS")], &[]));
        let tasks = no_stopped_tasks();
        let aws = mock_clients(&[&describe, &tasks]).await;
        let address = Address::new(Kind::EcsService, "web");
        let options = Options::bounded(true, Duration::from_millis(1));
        let call = Call {
            address: &address,
            progress: &ecsctl_provider::Quiet,
            options: &options,
        };
        let err = wait_stable(&aws, &call, "demo", ARN, None)
            .await
            .unwrap_err();
        assert_eq!(err.class, ErrorClass::Timeout);
        assert!(err.message.contains("1/2 tasks running"), "{err}");
    }

    /// A deployment of revision `rev` of demo-web.
    fn revision(id: &str, status: &str, rev: u32, running: i32, rollout: &str) -> Deployment {
        Deployment::builder()
            .id(id)
            .status(status)
            .task_definition(format!(
                "arn:aws:ecs:eu-west-2:123456789012:task-definition/demo-web:{rev}"
            ))
            .running_count(running)
            .desired_count(2)
            .rollout_state(DeploymentRolloutState::from(rollout))
            .rollout_state_reason("ECS deployment circuit breaker: tasks failed to start.")
            .build()
    }

    fn update_args(rev: u32) -> Attrs {
        let mut a = Attrs::new();
        a.insert("cluster".into(), json!("demo"));
        a.insert(
            "task_definition".into(),
            json!(format!(
                "arn:aws:ecs:eu-west-2:123456789012:task-definition/demo-web:{rev}"
            )),
        );
        a.insert("desired_count".into(), json!(2));
        a
    }

    /// The service's update from revision 2 to 3, waited for.
    async fn update_2_to_3(aws: &Clients) -> Result<Attrs, ProviderError> {
        let address = Address::new(Kind::EcsService, "web");
        let options = Options::bounded(true, Duration::from_secs(600));
        let call = Call {
            address: &address,
            progress: &ecsctl_provider::Quiet,
            options: &options,
        };
        let (old, new, outputs) = (update_args(2), update_args(3), Attrs::new());
        EcsService
            .update(&Req::update(aws, &call, ARN, &old, &new, &outputs))
            .await
    }

    /// UpdateService answers with the deployment it started (revision 3) as PRIMARY.
    fn update_starts_revision_3() -> Rule {
        mock!(Client::update_service).then_output(|| {
            UpdateServiceOutput::builder()
                .service(
                    Service::builder()
                        .service_arn(ARN)
                        .service_name("web")
                        .deployments(revision("ecs-svc/3", "PRIMARY", 3, 0, "IN_PROGRESS"))
                        .deployments(revision("ecs-svc/2", "ACTIVE", 2, 2, "COMPLETED"))
                        .build(),
                )
                .build()
        })
    }

    fn one_stopped_task() -> (Rule, Rule) {
        let list = mock!(Client::list_tasks).then_output(|| {
            ListTasksOutput::builder()
                .task_arns("arn:aws:ecs:eu-west-2:123456789012:task/demo/t1")
                .build()
        });
        let tasks = mock!(Client::describe_tasks).then_output(|| {
            DescribeTasksOutput::builder()
                .tasks(
                    Task::builder()
                        .task_arn("arn:aws:ecs:eu-west-2:123456789012:task/demo/t1")
                        .stopped_reason("CannotPullContainerError: pull access denied")
                        .build(),
                )
                .build()
        });
        (list, tasks)
    }

    // The circuit breaker rolled the service back: revision 3's deployment is gone and a new
    // PRIMARY of revision 2 is steady. The PRIMARY alone looks like a success.
    #[tokio::test(start_paused = true)]
    async fn a_rolled_back_update_fails_naming_the_cause() {
        let update = update_starts_revision_3();
        let describe = mock!(Client::describe_services)
            .sequence()
            .output(|| {
                service(
                    vec![
                        revision("ecs-svc/3", "PRIMARY", 3, 0, "IN_PROGRESS"),
                        revision("ecs-svc/2", "ACTIVE", 2, 2, "COMPLETED"),
                    ],
                    &[("e1", "(service web) has started 1 tasks: (task t1).")],
                )
            })
            .output(|| {
                service(
                    vec![revision("ecs-svc/back", "PRIMARY", 2, 2, "COMPLETED")],
                    &[
                        ("e1", "(service web) has started 1 tasks: (task t1)."),
                        ("e2", "(service web) rolling back to deployment ecs-svc/2."),
                    ],
                )
            })
            .build();
        let (list, tasks) = one_stopped_task();
        let aws = mock_clients(&[&update, &describe, &list, &tasks]).await;
        let err = update_2_to_3(&aws).await.unwrap_err();
        assert_eq!(err.class, ErrorClass::Other);
        for part in [
            "ecs-svc/3",
            "now runs demo-web:2",
            "CannotPullContainerError: pull access denied",
            "rolling back to deployment ecs-svc/2",
        ] {
            assert!(err.message.contains(part), "{part} missing from: {err}");
        }
        assert_eq!(describe.num_calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_deployment_beside_its_rollback_names_both() {
        let update = update_starts_revision_3();
        let describe = mock!(Client::describe_services).then_output(|| {
            service(
                vec![
                    revision("ecs-svc/back", "PRIMARY", 2, 1, "IN_PROGRESS"),
                    revision("ecs-svc/3", "ACTIVE", 3, 0, "FAILED"),
                ],
                &[],
            )
        });
        let tasks = no_stopped_tasks();
        let aws = mock_clients(&[&update, &describe, &tasks]).await;
        let err = update_2_to_3(&aws).await.unwrap_err();
        assert!(
            err.message.contains("deployment of demo-web:3 failed")
                && err.message.contains("tasks failed to start")
                && err.message.contains("rolled back to demo-web:2"),
            "{err}"
        );
    }

    // Someone else deployed while this apply waited: its deployment is no longer PRIMARY.
    #[tokio::test(start_paused = true)]
    async fn a_deployment_replaced_by_another_is_not_a_success() {
        let update = update_starts_revision_3();
        let describe = mock!(Client::describe_services).then_output(|| {
            service(
                vec![
                    revision("ecs-svc/4", "PRIMARY", 4, 2, "COMPLETED"),
                    revision("ecs-svc/3", "ACTIVE", 3, 0, "IN_PROGRESS"),
                ],
                &[],
            )
        });
        let tasks = no_stopped_tasks();
        let aws = mock_clients(&[&update, &describe, &tasks]).await;
        let err = update_2_to_3(&aws).await.unwrap_err();
        assert!(
            err.message
                .contains("replaced by another deployment (demo-web:4)"),
            "{err}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_started_deployment_becoming_stable_is_a_success() {
        let update = update_starts_revision_3();
        let describe = mock!(Client::describe_services).then_output(|| {
            service(
                vec![revision("ecs-svc/3", "PRIMARY", 3, 2, "COMPLETED")],
                &[],
            )
        });
        let tasks = no_stopped_tasks();
        let aws = mock_clients(&[&update, &describe, &tasks]).await;
        update_2_to_3(&aws).await.unwrap();
    }

    #[test]
    fn the_cluster_comes_from_the_arguments_or_the_arn() {
        let args = Attrs::new();
        assert_eq!(cluster_of(ARN, &args).unwrap(), "demo");
        let mut args = Attrs::new();
        args.insert("cluster".into(), json!("arn:c"));
        assert_eq!(cluster_of(ARN, &args).unwrap(), "arn:c");
        assert!(cluster_of("arn:aws:ecs:r:1:service/web", &Attrs::new()).is_err());
    }
}
