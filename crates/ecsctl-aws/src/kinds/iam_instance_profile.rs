//! `iam_instance_profile`: an instance profile holding one role. The id is the profile
//! name. A fresh profile is not usable by EC2 for some seconds: consumers retry with
//! [`super::iam_propagation::retry_iam_propagation`].

use super::iam_role::{iam_tags, tag_pairs, PATH_PREFIX};
use crate::kinds::Handler;
use crate::kinds::{Reads, Req, Res};
use crate::read_set::ReadSet;
use crate::retry::once;
use crate::{args, error, Clients};
use async_trait::async_trait;
use aws_sdk_iam::types::InstanceProfile;
use ecsctl_graph::Kind;
use ecsctl_provider::{Attrs, Created, ErrorClass, Live, Orphan, ProviderError, ReadItem};
use serde_json::{json, Map, Value as Json};
use std::collections::BTreeMap;

pub struct IamInstanceProfile;

async fn get(aws: &Clients, name: &str) -> Result<Option<InstanceProfile>, ProviderError> {
    tracing::debug!(name, "iam GetInstanceProfile");
    let out = error::not_found_ok(
        aws.iam
            .get_instance_profile()
            .instance_profile_name(name)
            .send()
            .await
            .map_err(error::map),
    )?;
    Ok(out.and_then(|o| o.instance_profile().cloned()))
}

fn created(p: &InstanceProfile) -> Created {
    let mut outputs = Attrs::new();
    outputs.insert("id".into(), json!(p.instance_profile_name()));
    outputs.insert("arn".into(), json!(p.arn()));
    Created {
        id: p.instance_profile_name().to_string(),
        outputs,
    }
}

fn live(p: &InstanceProfile) -> Live {
    let role = p
        .roles()
        .first()
        .map(|r| json!(r.role_name()))
        .unwrap_or(Json::Null);
    let mut args = Attrs::new();
    args.insert("name".into(), json!(p.instance_profile_name()));
    args.insert("path".into(), json!(p.path()));
    args.insert("role_name".into(), role);
    args.insert("tags".into(), args::read_tags(tag_pairs(p.tags())));
    Live {
        args,
        outputs: created(p).outputs,
    }
}

async fn add_role(aws: &Clients, profile: &str, role: &str) -> Result<(), ProviderError> {
    tracing::debug!(profile, role, "iam AddRoleToInstanceProfile");
    let err = match aws
        .iam
        .add_role_to_instance_profile()
        .instance_profile_name(profile)
        .role_name(role)
        .send()
        .await
    {
        Ok(_) => return Ok(()),
        Err(e) => error::map(e),
    };
    // An SDK retry after a lost reply finds the profile full (one role per profile) with
    // the role the first attempt added.
    if err.code.as_deref() == Some("LimitExceeded") {
        if let Some(p) = get(aws, profile).await? {
            if p.roles().iter().any(|r| r.role_name() == role) {
                return Ok(());
            }
        }
    }
    Err(error::with_context(
        err,
        &format!("adding role {role} to instance profile {profile}"),
    ))
}

async fn remove_role(aws: &Clients, profile: &str, role: &str) -> Result<(), ProviderError> {
    tracing::debug!(profile, role, "iam RemoveRoleFromInstanceProfile");
    error::not_found_ok(
        aws.iam
            .remove_role_from_instance_profile()
            .instance_profile_name(profile)
            .role_name(role)
            .send()
            .await
            .map_err(error::map),
    )?;
    Ok(())
}

#[async_trait]
impl Handler for IamInstanceProfile {
    async fn create(&self, req: &Req<'_>) -> Res<Created> {
        let Req {
            aws, call, args, ..
        } = *req;
        let name = args::str(args, "name")?;
        let path = args::str(args, "path")?;
        let role = args::opt_str(args, "role_name");
        tracing::debug!(name, path, "iam CreateInstanceProfile");
        // No idempotency token: a retry after a lost reply answers EntityAlreadyExists and
        // the profile is adopted when its tags say it is this one.
        let profile = match aws
            .iam
            .create_instance_profile()
            .instance_profile_name(name)
            .path(path)
            .set_tags(Some(iam_tags(args)?))
            .customize()
            .config_override(once!(aws_sdk_iam))
            .send()
            .await
        {
            Ok(out) => out.instance_profile().cloned().ok_or_else(|| {
                ProviderError::new(ErrorClass::Other, "CreateInstanceProfile returned nothing")
            })?,
            Err(e) => {
                let e = error::map(e);
                if e.code.as_deref() != Some("EntityAlreadyExists") {
                    return Err(e);
                }
                match get(aws, name).await? {
                    Some(p)
                        if args::tags_match(
                            args,
                            &call.address.to_string(),
                            &tag_pairs(p.tags()),
                        ) =>
                    {
                        p
                    }
                    _ => {
                        return Err(ProviderError {
                            message: format!(
                                "{} (an instance profile named `{name}` exists and was not \
                                 made for this resource: delete it, or change the stack name)",
                                e.message
                            ),
                            ..e
                        })
                    }
                }
            }
        };
        if let Some(role) = role {
            if !profile.roles().iter().any(|r| r.role_name() == role) {
                add_role(aws, name, role).await?;
            }
        }
        Ok(created(&profile))
    }

    async fn find(&self, req: &Req<'_>) -> Res<Option<Created>> {
        let Req {
            aws, call, args, ..
        } = *req;
        let name = args::str(args, "name")?;
        let Some(profile) = get(aws, name)
            .await?
            .filter(|p| args::tags_match(args, &call.address.to_string(), &tag_pairs(p.tags())))
        else {
            return Ok(None);
        };
        // An interrupted create may have stopped before adding the role: finish it.
        if let Some(role) = args::opt_str(args, "role_name") {
            if !profile.roles().iter().any(|r| r.role_name() == role) {
                add_role(aws, name, role).await?;
            }
        }
        Ok(Some(created(&profile)))
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
        let (before, after) = (
            args::opt_str(old, "role_name"),
            args::opt_str(new, "role_name"),
        );
        if before != after {
            // A profile holds at most one role: the old one must go first.
            if let Some(role) = before {
                remove_role(aws, id, role).await?;
            }
            if let Some(role) = after {
                add_role(aws, id, role).await?;
            }
        }
        let (set, remove) = args::tag_changes(old, new);
        if !set.is_empty() {
            let tags = iam_tags(&Map::from_iter([(
                "tags".to_string(),
                args::tags_json(set),
            )]))?;
            tracing::debug!(profile = id, "iam TagInstanceProfile");
            aws.iam
                .tag_instance_profile()
                .instance_profile_name(id)
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(error::map)?;
        }
        if !remove.is_empty() {
            tracing::debug!(profile = id, "iam UntagInstanceProfile");
            aws.iam
                .untag_instance_profile()
                .instance_profile_name(id)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .map_err(error::map)?;
        }
        if outputs.get("arn").and_then(Json::as_str).is_some() {
            return Ok(outputs.clone());
        }
        let p = get(aws, id).await?.ok_or_else(|| {
            ProviderError::new(
                ErrorClass::NotFound,
                format!("instance profile `{id}` is gone"),
            )
        })?;
        Ok(created(&p).outputs)
    }

    async fn delete(&self, req: &Req<'_>) -> Res<()> {
        let Req { aws, id, .. } = *req;
        let Some(profile) = get(aws, id).await? else {
            return Ok(());
        };
        for role in profile.roles() {
            remove_role(aws, id, role.role_name()).await?;
        }
        tracing::debug!(profile = id, "iam DeleteInstanceProfile");
        error::not_found_ok(
            aws.iam
                .delete_instance_profile()
                .instance_profile_name(id)
                .send()
                .await
                .map_err(error::map),
        )?;
        Ok(())
    }

    async fn read(&self, aws: &Clients, set: &ReadSet, items: &[ReadItem]) -> Res<Reads> {
        // A profile holding a role comes with that role in the refresh's IAM listing. Those
        // not found there (no role, the listing refused) or listed without their tags
        // (AWS may leave them out; ecsctl's profiles always have some) are read one by one.
        let mut out = BTreeMap::new();
        let mut rest = Vec::new();
        let listed: BTreeMap<&str, &InstanceProfile> =
            match super::iam_role::details(aws, set).await {
                Ok(Some(roles)) => roles
                    .iter()
                    .flat_map(|r| r.instance_profile_list())
                    .filter(|p| !p.tags().is_empty())
                    .map(|p| (p.instance_profile_name(), p))
                    .collect(),
                Ok(None) => BTreeMap::new(),
                Err(e) => return Err(e.clone()),
            };
        for item in items {
            match listed.get(item.id.as_str()) {
                Some(p) => {
                    out.insert(item.address.clone(), Some(live(p)));
                }
                None => rest.push(item.clone()),
            }
        }
        let items = rest;
        let mut tasks = tokio::task::JoinSet::new();
        for item in items {
            let (aws, item) = (aws.clone(), item.clone());
            tasks.spawn(async move {
                let found = get(&aws, &item.id).await;
                (item.address, found)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            let (address, found) = joined.map_err(|e| {
                ProviderError::new(ErrorClass::Other, format!("reading instance profiles: {e}"))
            })?;
            let found = found.map_err(|e| e.at(&address))?;
            out.insert(address, found.as_ref().map(live));
        }
        Ok(out)
    }

    async fn tagged(&self, aws: &Clients, set: &ReadSet, stack: &str) -> Res<Vec<Orphan>> {
        // Tags of profiles holding a role come with the refresh's IAM listing.
        let with_roles: BTreeMap<String, Vec<(String, String)>> =
            match super::iam_role::details(aws, set).await {
                Ok(Some(roles)) => roles
                    .iter()
                    .flat_map(|r| r.instance_profile_list())
                    .filter(|p| !p.tags().is_empty())
                    .map(|p| (p.instance_profile_name().to_string(), tag_pairs(p.tags())))
                    .collect(),
                _ => BTreeMap::new(),
            };
        tracing::debug!(stack, "iam ListInstanceProfiles");
        let profiles = aws
            .iam
            .list_instance_profiles()
            .path_prefix(PATH_PREFIX)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(error::map)?;
        let mut out = Vec::new();
        for listed in profiles {
            // ListInstanceProfiles may leave tags out: GetInstanceProfile has them.
            let tags = if let Some(tags) = with_roles.get(listed.instance_profile_name()) {
                tags.clone()
            } else if listed.tags().is_empty() {
                match get(aws, listed.instance_profile_name()).await? {
                    Some(p) => tag_pairs(p.tags()),
                    None => continue,
                }
            } else {
                tag_pairs(listed.tags())
            };
            let ours = args::global_ours(&tags, stack, &aws.region);
            if let Some(o) = args::orphan(
                Kind::IamInstanceProfile,
                &tags,
                listed.instance_profile_name(),
            )
            .filter(|_| ours)
            {
                out.push(o);
            }
        }
        Ok(out)
    }
}
