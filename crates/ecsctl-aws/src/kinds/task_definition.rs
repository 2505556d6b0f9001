//! `task_definition`: one revision of an ECS task definition. Revisions are immutable: any
//! change registers a new one (the plan replaces, creating before destroying). The id is
//! the revision's ARN; outputs add `revision`.
//!
//! A family holds many revisions and has no unique name, so each registration carries an
//! `ecsctl:token` tag with the create intent's token: [`Handler::find`] adopts exactly the
//! revision an interrupted create registered. Reads leave that tag out.

use super::ecs_cluster::{ecs_tag_pairs, ecs_tags, retag};
use super::iam_propagation::retry_iam_propagation;
use crate::kinds::Handler;
use crate::kinds::{Reads, Req, Res};
use crate::read_set::ReadSet;
use crate::retry::once;
use crate::{args, error, Clients};
use async_trait::async_trait;
use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, KeyValuePair, LogConfiguration, LogDriver, NetworkMode,
    PortMapping, SortOrder, Tag, TaskDefinition as AwsTaskDefinition, TaskDefinitionField,
    TaskDefinitionStatus, TransportProtocol,
};
use ecsctl_graph::Kind;
use ecsctl_provider::{Attrs, Created, ErrorClass, Live, Orphan, ProviderError, ReadItem};
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, HashMap, HashSet};

pub struct TaskDefinition;

const TOKEN_TAG: &str = "ecsctl:token";

/// How many of a family's newest revisions `find` looks through.
const FIND_DEPTH: usize = 20;

fn bad(what: &str) -> ProviderError {
    ProviderError::new(
        ErrorClass::InvalidInput,
        format!("argument `container_definitions`: {what}"),
    )
}

/// One `container_definitions` entry as the SDK type.
fn container(c: &Attrs) -> Result<ContainerDefinition, ProviderError> {
    let name = args::str(c, "name").map_err(|_| bad("every container needs a `name`"))?;
    let image = args::str(c, "image").map_err(|_| bad("every container needs an `image`"))?;
    let mut b = ContainerDefinition::builder()
        .name(name)
        .image(image)
        .set_cpu(args::opt_int32(c, "cpu")?)
        .set_memory(args::opt_int32(c, "memory")?)
        .set_essential(c.get("essential").and_then(Json::as_bool));
    if c.get("command").is_some_and(|v| !v.is_null()) {
        b = b.set_command(Some(args::strings(c, "command")?));
    }
    for pm in args::objects(c, "port_mappings")? {
        b = b.port_mappings(
            PortMapping::builder()
                .set_container_port(args::opt_int32(pm, "container_port")?)
                .set_host_port(args::opt_int32(pm, "host_port")?)
                .set_protocol(args::opt_str(pm, "protocol").map(TransportProtocol::from))
                .build(),
        );
    }
    let mut env = args::objects(c, "environment")?;
    env.sort_by_key(|e| args::opt_str(e, "name").unwrap_or_default().to_string());
    for e in env {
        b = b.environment(
            KeyValuePair::builder()
                .set_name(args::opt_str(e, "name").map(str::to_string))
                .set_value(args::opt_str(e, "value").map(str::to_string))
                .build(),
        );
    }
    if let Some(Json::Object(lc)) = c.get("log_configuration") {
        let options: Option<HashMap<String, String>> =
            lc.get("options").and_then(Json::as_object).map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            });
        let driver = args::str(lc, "log_driver")
            .map_err(|_| bad("`log_configuration` needs a `log_driver`"))?;
        b = b.log_configuration(
            LogConfiguration::builder()
                .log_driver(LogDriver::from(driver))
                .set_options(options)
                .build()
                .map_err(|e| bad(&e.to_string()))?,
        );
    }
    Ok(b.build())
}

/// A container as ECS describes it, in the argument shape.
fn container_json(c: &ContainerDefinition) -> Attrs {
    let mut env: Vec<(String, String)> = c
        .environment()
        .iter()
        .map(|e| {
            (
                e.name().unwrap_or_default().to_string(),
                e.value().unwrap_or_default().to_string(),
            )
        })
        .collect();
    env.sort();
    let mut o = Attrs::new();
    o.insert("name".into(), json!(c.name().unwrap_or_default()));
    o.insert("image".into(), json!(c.image().unwrap_or_default()));
    o.insert("command".into(), json!(c.command()));
    o.insert("cpu".into(), json!(c.cpu()));
    o.insert(
        "memory".into(),
        c.memory().map(|m| json!(m)).unwrap_or(Json::Null),
    );
    o.insert(
        "essential".into(),
        c.essential().map(|e| json!(e)).unwrap_or(Json::Null),
    );
    o.insert(
        "port_mappings".into(),
        Json::Array(
            c.port_mappings()
                .iter()
                .map(|p| {
                    json!({
                        "container_port": p.container_port(),
                        "host_port": p.host_port(),
                        "protocol": p.protocol().map(|p| p.as_str()),
                    })
                })
                .collect(),
        ),
    );
    o.insert(
        "environment".into(),
        Json::Array(
            env.into_iter()
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect(),
        ),
    );
    o.insert(
        "log_configuration".into(),
        match c.log_configuration() {
            Some(lc) => {
                let options: BTreeMap<&String, &String> =
                    lc.options().map(|m| m.iter().collect()).unwrap_or_default();
                json!({"log_driver": lc.log_driver().as_str(), "options": options})
            }
            None => Json::Null,
        },
    );
    o
}

/// A value ECS fills in when the arguments leave it out.
fn is_default(key: &str, v: &Json) -> bool {
    match v {
        Json::Null => true,
        Json::Array(a) => a.is_empty(),
        Json::Object(o) => o.is_empty(),
        Json::Number(n) => key == "cpu" && n.as_i64() == Some(0),
        Json::String(s) => key == "protocol" && s == "tcp",
        Json::Bool(_) => false,
    }
}

/// Shape `live` like `applied`: where the arguments never set a key and ECS answers its
/// default, the key takes the arguments' form (absent, or null), so a read right after
/// create equals the arguments. Anything else ECS says is kept, so real drift shows.
fn shape_like(live: &mut Attrs, applied: &Attrs) {
    let keys: Vec<String> = live.keys().cloned().collect();
    for key in keys {
        let unset = applied.get(&key).is_none_or(Json::is_null);
        if unset && live.get(&key).is_some_and(|v| is_default(&key, v)) {
            match applied.get(&key) {
                None => {
                    live.remove(&key);
                }
                Some(_) => {
                    live.insert(key.clone(), Json::Null);
                }
            }
            continue;
        }
        if key == "port_mappings" {
            if let (Some(Json::Array(l)), Some(Json::Array(a))) =
                (live.get_mut(&key), applied.get(&key))
            {
                for (lp, ap) in l.iter_mut().zip(a) {
                    if let (Json::Object(lp), Json::Object(ap)) = (lp, ap) {
                        shape_like(lp, ap);
                    }
                }
            }
        }
    }
}

fn outputs(td: &AwsTaskDefinition) -> Option<Created> {
    let arn = td.task_definition_arn()?;
    let mut out = Attrs::new();
    out.insert("id".into(), json!(arn));
    out.insert("arn".into(), json!(arn));
    out.insert("revision".into(), json!(td.revision()));
    Some(Created {
        id: arn.to_string(),
        outputs: out,
    })
}

/// The revision in the argument shape, shaped like `applied` where that is known.
fn live(td: &AwsTaskDefinition, tags: &[Tag], applied: &Attrs) -> Option<Live> {
    let created = outputs(td)?;
    let applied_containers = args::objects(applied, "container_definitions").unwrap_or_default();
    let containers: Vec<Json> = td
        .container_definitions()
        .iter()
        .map(|c| {
            let mut o = container_json(c);
            if let Some(a) = applied_containers
                .iter()
                .find(|a| args::opt_str(a, "name") == c.name())
            {
                shape_like(&mut o, a);
            }
            Json::Object(o)
        })
        .collect();
    let mut args = Attrs::new();
    args.insert("family".into(), json!(td.family().unwrap_or_default()));
    args.insert(
        "execution_role_arn".into(),
        td.execution_role_arn()
            .map(|a| json!(a))
            .unwrap_or(Json::Null),
    );
    args.insert(
        "task_role_arn".into(),
        td.task_role_arn().map(|a| json!(a)).unwrap_or(Json::Null),
    );
    args.insert(
        "network_mode".into(),
        td.network_mode()
            .map(|m| json!(m.as_str()))
            .unwrap_or(Json::Null),
    );
    args.insert(
        "requires_compatibilities".into(),
        json!(td
            .requires_compatibilities()
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()),
    );
    args.insert("container_definitions".into(), Json::Array(containers));
    let pairs = ecs_tag_pairs(tags)
        .into_iter()
        .filter(|(k, _)| k != TOKEN_TAG);
    args.insert("tags".into(), args::read_tags(pairs));
    Some(Live {
        args,
        outputs: created.outputs,
    })
}

/// ECS answers a ClientException, not a NotFound code, for a revision it does not know.
fn is_gone(e: &ProviderError) -> bool {
    e.class == ErrorClass::NotFound
        || (e.code.as_deref() == Some("ClientException")
            && [
                "unable to describe",
                "does not exist",
                "not found",
                "inactive",
            ]
            .iter()
            .any(|p| e.message.to_ascii_lowercase().contains(p)))
}

/// The family of a revision's ARN (`…:task-definition/<family>:<revision>`).
fn family_of(arn: &str) -> Option<&str> {
    let name = arn.rsplit_once("task-definition/")?.1;
    Some(name.rsplit_once(':').map_or(name, |(f, _)| f))
}

/// The revision `arn` with its tags, or None when it is gone or deregistered.
async fn describe(
    aws: &Clients,
    arn: &str,
) -> Result<Option<(AwsTaskDefinition, Vec<Tag>)>, ProviderError> {
    tracing::debug!(arn, "ecs DescribeTaskDefinition");
    match aws
        .ecs
        .describe_task_definition()
        .task_definition(arn)
        .include(TaskDefinitionField::Tags)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .task_definition()
            .filter(|td| {
                td.status()
                    .is_none_or(|s| *s == TaskDefinitionStatus::Active)
            })
            .map(|td| (td.clone(), out.tags().to_vec()))),
        Err(e) => {
            let e = error::map(e);
            if is_gone(&e) {
                Ok(None)
            } else {
                Err(e)
            }
        }
    }
}

/// The active revisions of `family` (ListTaskDefinitions' `familyPrefix` is a whole family
/// name), newest first.
async fn list(aws: &Clients, family: &str) -> Result<Vec<String>, ProviderError> {
    tracing::debug!(family, "ecs ListTaskDefinitions");
    aws.ecs
        .list_task_definitions()
        .family_prefix(family)
        .status(TaskDefinitionStatus::Active)
        .sort(SortOrder::Desc)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(error::map)
}

#[async_trait]
impl Handler for TaskDefinition {
    async fn create(&self, req: &Req<'_>) -> Res<Created> {
        let Req {
            aws,
            call,
            args,
            token,
            ..
        } = *req;
        let family = args::str(args, "family")?;
        let containers = args::objects(args, "container_definitions")?
            .into_iter()
            .map(container)
            .collect::<Result<Vec<_>, _>>()?;
        let mut tags = ecs_tags(args);
        tags.push(
            Tag::builder()
                .key(TOKEN_TAG)
                .value(args::client_token(token, 128))
                .build(),
        );
        let compat = args::strings(args, "requires_compatibilities")?
            .iter()
            .map(|c| Compatibility::from(c.as_str()))
            .collect::<Vec<_>>();
        let req = aws
            .ecs
            .register_task_definition()
            .family(family)
            .execution_role_arn(args::str(args, "execution_role_arn")?)
            .set_task_role_arn(args::opt_str(args, "task_role_arn").map(str::to_string))
            .network_mode(NetworkMode::from(args::str(args, "network_mode")?))
            .set_requires_compatibilities((!compat.is_empty()).then_some(compat))
            .set_container_definitions(Some(containers))
            .set_tags(Some(tags));
        // A role created moments ago may not be assumable by ECS yet.
        let out = retry_iam_propagation(call, || {
            let req = req.clone();
            async move {
                tracing::debug!(family, "ecs RegisterTaskDefinition");
                req.customize()
                    .config_override(once!(aws_sdk_ecs))
                    .send()
                    .await
                    .map_err(error::map)
            }
        })
        .await?;
        out.task_definition().and_then(outputs).ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Other,
                "RegisterTaskDefinition returned no task definition ARN",
            )
        })
    }

    async fn find(&self, req: &Req<'_>) -> Res<Option<Created>> {
        let Req {
            aws,
            call,
            args,
            token,
            ..
        } = *req;
        let family = args::str(args, "family")?;
        let want = args::client_token(token, 128);
        let address = call.address.to_string();
        for arn in list(aws, family).await?.into_iter().take(FIND_DEPTH) {
            let Some((td, tags)) = describe(aws, &arn).await? else {
                continue;
            };
            if td.family() != Some(family) {
                continue;
            }
            let pairs = ecs_tag_pairs(&tags);
            let same_intent = pairs.iter().any(|(k, v)| k == TOKEN_TAG && *v == want);
            if same_intent && args::tags_match(args, &address, &pairs) {
                return Ok(outputs(&td));
            }
        }
        Ok(None)
    }

    /// Only tags change in place (the schema replaces on everything else).
    async fn update(&self, req: &Req<'_>) -> Res<Attrs> {
        let Req {
            aws,
            id,
            old,
            args: new,
            outputs,
            ..
        } = *req;
        let fixed = Kind::TaskDefinition
            .schema()
            .args
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| *name != "tags")
            .find(|name| old.get(*name) != new.get(*name));
        if let Some(name) = fixed {
            return Err(ProviderError::new(
                ErrorClass::InvalidInput,
                format!(
                    "task definition revision {id} cannot change `{name}` in place: that \
                     registers a new revision (the plan should replace it)"
                ),
            ));
        }
        retag(aws, id, old, new).await?;
        Ok(outputs.clone())
    }

    async fn delete(&self, req: &Req<'_>) -> Res<()> {
        let Req { aws, id, .. } = *req;
        tracing::debug!(arn = id, "ecs DeregisterTaskDefinition");
        if let Err(e) = aws
            .ecs
            .deregister_task_definition()
            .task_definition(id)
            .send()
            .await
        {
            let e = error::map(e);
            if !is_gone(&e) {
                return Err(e);
            }
        }
        // Deregistered revisions stay listed as INACTIVE until deleted; deleting them is
        // tidier but optional (not every endpoint supports it), so failures are ignored.
        tracing::debug!(arn = id, "ecs DeleteTaskDefinitions");
        if let Err(e) = aws
            .ecs
            .delete_task_definitions()
            .task_definitions(id)
            .send()
            .await
        {
            tracing::debug!(arn = id, error = %error::map(e), "DeleteTaskDefinitions failed; ignored");
        }
        Ok(())
    }

    async fn read(&self, aws: &Clients, set: &ReadSet, items: &[ReadItem]) -> Res<Reads> {
        // A revision never changes once registered: what can happen to it outside ecsctl is
        // deregistration and retagging. A revision a service of the refresh runs or is
        // deploying is there (ECS keeps running and scaling it even if deregistered): its
        // recorded arguments are returned as they are, at no cost, so tags changed by hand
        // on it are not seen. Any other revision is described, all concurrently.
        let in_use: HashSet<String> = if set.items(Kind::EcsService).is_empty() {
            HashSet::new()
        } else {
            match super::ecs_service::services(aws, set).await {
                Ok(services) => services
                    .iter()
                    .flat_map(|s| {
                        s.deployments()
                            .iter()
                            .filter_map(|d| d.task_definition())
                            .chain(s.task_definition())
                    })
                    .map(str::to_string)
                    .collect(),
                // The service reader reports it; describe the revisions instead.
                Err(_) => HashSet::new(),
            }
        };
        let mut out = BTreeMap::new();
        let mut tasks = tokio::task::JoinSet::new();
        for item in items {
            if in_use.contains(&item.id) {
                let live = Live {
                    args: item.args.clone(),
                    outputs: item.outputs.clone(),
                };
                out.insert(item.address.clone(), Some(live));
                continue;
            }
            let (aws, item) = (aws.clone(), item.clone());
            tasks.spawn(async move {
                let found = describe(&aws, &item.id).await;
                (item, found)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            let (item, found) = joined.map_err(|e| {
                ProviderError::new(ErrorClass::Other, format!("reading task definitions: {e}"))
            })?;
            let found = found.map_err(|e| e.at(&item.address))?;
            let live = found.and_then(|(td, tags)| live(&td, &tags, &item.args));
            out.insert(item.address, live);
        }
        Ok(out)
    }

    async fn tagged(&self, aws: &Clients, set: &ReadSet, stack: &str) -> Res<Vec<Orphan>> {
        // Families are named `<stack>-<service>`. One listing of the account's active
        // revisions (100 a page) finds the stack's; only those the refresh does not already
        // know are described for their tags (normally none).
        let prefix = format!("{stack}-");
        let known: HashSet<&str> = set
            .items(Kind::TaskDefinition)
            .iter()
            .map(|i| i.id.as_str())
            .collect();
        tracing::debug!(stack, "ecs ListTaskDefinitions (active)");
        let arns: Vec<String> = aws
            .ecs
            .list_task_definitions()
            .status(TaskDefinitionStatus::Active)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(error::map)?;
        let mut out = Vec::new();
        for arn in arns {
            let ours_by_name = family_of(&arn).is_some_and(|f| f.starts_with(&prefix));
            if !ours_by_name || known.contains(arn.as_str()) {
                continue;
            }
            let Some((_, tags)) = describe(aws, &arn).await? else {
                continue;
            };
            let pairs = ecs_tag_pairs(&tags);
            let ours = pairs.iter().any(|(k, v)| k == "ecsctl:stack" && v == stack);
            if ours {
                out.extend(args::orphan(Kind::TaskDefinition, &pairs, &arn));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Json) -> Attrs {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn defaults_ecs_fills_in_are_shaped_like_the_arguments() {
        let applied = obj(json!({
            "name": "web", "image": "nginx", "command": null, "memory": 512,
            "port_mappings": [{"container_port": 80, "host_port": 0}],
        }));
        let mut live = obj(json!({
            "name": "web", "image": "nginx", "command": [], "cpu": 0, "memory": 512,
            "environment": [],
            "port_mappings": [{"container_port": 80, "host_port": 0, "protocol": "tcp"}],
        }));
        shape_like(&mut live, &applied);
        assert_eq!(Json::Object(live), Json::Object(applied));
    }

    #[test]
    fn real_differences_survive_shaping() {
        let applied = obj(json!({"name": "web", "image": "nginx", "cpu": 256}));
        let mut live = obj(json!({"name": "web", "image": "httpd", "cpu": 128, "command": ["x"]}));
        shape_like(&mut live, &applied);
        assert_eq!(live["image"], json!("httpd"));
        assert_eq!(live["cpu"], json!(128));
        assert_eq!(live["command"], json!(["x"]));
    }

    #[test]
    fn containers_round_trip_through_the_sdk_type() {
        let c = obj(json!({
            "name": "web", "image": "nginx", "command": ["a", "b"], "cpu": 256, "memory": 512,
            "essential": true,
            "port_mappings": [{"container_port": 5000, "host_port": 0, "protocol": "tcp"}],
            "environment": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
            "log_configuration": {"log_driver": "awslogs", "options": {"awslogs-group": "/g"}},
        }));
        let back = container_json(&container(&c).unwrap());
        let mut want = c.clone();
        want["environment"] = json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]);
        assert_eq!(Json::Object(back), Json::Object(want));
    }
}
