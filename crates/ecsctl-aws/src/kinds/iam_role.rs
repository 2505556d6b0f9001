//! `iam_role`: an IAM role with its trust policy, inline policies and attached managed
//! policies. The id is the role name. IAM has no batch read: reads run one role at a time,
//! concurrently.

use crate::kinds::Handler;
use crate::kinds::{Reads, Req, Res};
use crate::read_set::ReadSet;
use crate::retry::once;
use crate::{args, error, Clients};
use async_trait::async_trait;
use aws_sdk_iam::types::{RoleDetail, Tag};
use ecsctl_graph::Kind;
use ecsctl_provider::{Attrs, Created, ErrorClass, Live, Orphan, ProviderError, ReadItem};
use serde_json::{json, Map, Value as Json};
use std::collections::{BTreeMap, BTreeSet};

/// Where ecsctl puts its roles and instance profiles (`/ecsctl/<stack>/` below it).
pub(crate) const PATH_PREFIX: &str = "/ecsctl/";

pub struct IamRole;

/// The `tags` argument as IAM tags.
pub(crate) fn iam_tags(args: &Attrs) -> Result<Vec<Tag>, ProviderError> {
    args::tags(args)
        .into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| ProviderError::new(ErrorClass::InvalidInput, e.to_string()))
        })
        .collect()
}

pub(crate) fn tag_pairs(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

/// A policy document as IAM returns it (URL-encoded JSON) parsed to a JSON value.
pub(crate) fn decode_policy(doc: &str) -> Result<Json, ProviderError> {
    let text = if doc.trim_start().starts_with('{') {
        doc.to_string()
    } else {
        urlencoding::decode(doc)
            .map_err(|e| {
                ProviderError::new(
                    ErrorClass::Other,
                    format!("IAM returned a policy document that is not URL-encoded UTF-8: {e}"),
                )
            })?
            .into_owned()
    };
    serde_json::from_str(&text).map_err(|e| {
        ProviderError::new(
            ErrorClass::Other,
            format!("IAM returned a policy document that is not JSON: {e}"),
        )
    })
}

fn policy_text(doc: &Json) -> String {
    doc.to_string()
}

/// The `inline_policies` argument: policy name -> document.
fn inline_policies(args: &Attrs) -> Result<BTreeMap<String, Json>, ProviderError> {
    match args.get("inline_policies") {
        None | Some(Json::Null) => Ok(BTreeMap::new()),
        Some(Json::Object(m)) => Ok(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        Some(_) => Err(ProviderError::new(
            ErrorClass::InvalidInput,
            "argument `inline_policies` must be a map of policy name to policy document",
        )),
    }
}

async fn put_inline(
    aws: &Clients,
    role: &str,
    policies: &BTreeMap<String, Json>,
) -> Result<(), ProviderError> {
    for (name, doc) in policies {
        tracing::debug!(role, policy = %name, "iam PutRolePolicy");
        aws.iam
            .put_role_policy()
            .role_name(role)
            .policy_name(name)
            .policy_document(policy_text(doc))
            .send()
            .await
            .map_err(error::map)?;
    }
    Ok(())
}

async fn attach(aws: &Clients, role: &str, arns: &[String]) -> Result<(), ProviderError> {
    for arn in arns {
        tracing::debug!(role, arn = %arn, "iam AttachRolePolicy");
        aws.iam
            .attach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await
            .map_err(error::map)?;
    }
    Ok(())
}

/// The role `name` and its tags, or None when there is no such role.
async fn get_role(
    aws: &Clients,
    name: &str,
) -> Result<Option<aws_sdk_iam::types::Role>, ProviderError> {
    tracing::debug!(name, "iam GetRole");
    match aws.iam.get_role().role_name(name).send().await {
        Ok(out) => Ok(out.role().cloned()),
        Err(e) => {
            let e = error::map(e);
            if error::gone(&e) {
                Ok(None)
            } else {
                Err(e)
            }
        }
    }
}

/// Everything the plan compares about one role, or None when it is gone.
async fn read_one(aws: &Clients, name: &str) -> Result<Option<Live>, ProviderError> {
    let Some(role) = get_role(aws, name).await? else {
        return Ok(None);
    };
    let result = async {
        let names: Vec<String> = aws
            .iam
            .list_role_policies()
            .role_name(name)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(error::map)?;
        let mut inline = Map::new();
        for policy in names {
            tracing::debug!(role = name, policy = %policy, "iam GetRolePolicy");
            let out = aws
                .iam
                .get_role_policy()
                .role_name(name)
                .policy_name(&policy)
                .send()
                .await
                .map_err(error::map)?;
            inline.insert(policy, decode_policy(out.policy_document())?);
        }
        let mut managed: Vec<String> = aws
            .iam
            .list_attached_role_policies()
            .role_name(name)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(error::map)?
            .into_iter()
            .filter_map(|p| p.policy_arn().map(str::to_string))
            .collect();
        managed.sort();
        Ok::<_, ProviderError>((inline, managed))
    }
    .await;
    let (inline, managed) = match result {
        Ok(v) => v,
        // Deleted between the calls.
        Err(e) if error::gone(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let trust = match role.assume_role_policy_document() {
        Some(doc) => decode_policy(doc)?,
        None => Json::Null,
    };
    let mut live = Attrs::new();
    live.insert("name".into(), json!(role.role_name()));
    live.insert("path".into(), json!(role.path()));
    live.insert("assume_role_policy".into(), trust);
    live.insert("inline_policies".into(), Json::Object(inline));
    live.insert("managed_policy_arns".into(), json!(managed));
    live.insert("tags".into(), args::read_tags(tag_pairs(role.tags())));
    let mut outputs = Attrs::new();
    outputs.insert("id".into(), json!(role.role_name()));
    outputs.insert("arn".into(), json!(role.arn()));
    Ok(Some(Live {
        args: live,
        outputs,
    }))
}

fn created(role: &aws_sdk_iam::types::Role) -> Created {
    let mut outputs = Attrs::new();
    outputs.insert("id".into(), json!(role.role_name()));
    outputs.insert("arn".into(), json!(role.arn()));
    Created {
        id: role.role_name().to_string(),
        outputs,
    }
}

/// Every role of the account with its details (GetAccountAuthorizationDetails, 1,000 a
/// page); `None` when the caller may not make that call.
/// Every role of the account with its policies, tags and instance profiles, listed once
/// per refresh (see [`list_details`]).
pub(crate) async fn details<'a>(
    aws: &Clients,
    set: &'a ReadSet,
) -> &'a Res<Option<Vec<RoleDetail>>> {
    set.iam_roles(|| list_details(aws)).await
}

async fn list_details(aws: &Clients) -> Result<Option<Vec<RoleDetail>>, ProviderError> {
    tracing::debug!("iam GetAccountAuthorizationDetails (roles)");
    let listed = aws
        .iam
        .get_account_authorization_details()
        .filter(aws_sdk_iam::types::EntityType::Role)
        .into_paginator()
        .page_size(1000)
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(error::map);
    match listed {
        Ok(pages) => Ok(Some(
            pages
                .iter()
                .flat_map(|p| p.role_detail_list().iter().cloned())
                .collect(),
        )),
        Err(e) if e.class == ErrorClass::AccessDenied => {
            tracing::debug!("no GetAccountAuthorizationDetails: reading roles one by one");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// A role's live form from its listing entry.
fn live_of_detail(role: &RoleDetail) -> Result<Live, ProviderError> {
    let trust = match role.assume_role_policy_document() {
        Some(doc) => decode_policy(doc)?,
        None => Json::Null,
    };
    let mut inline = Map::new();
    for p in role.role_policy_list() {
        if let (Some(n), Some(doc)) = (p.policy_name(), p.policy_document()) {
            inline.insert(n.to_string(), decode_policy(doc)?);
        }
    }
    let mut managed: Vec<&str> = role
        .attached_managed_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .collect();
    managed.sort();
    let mut args = Attrs::new();
    args.insert("name".into(), json!(role.role_name()));
    args.insert("path".into(), json!(role.path()));
    args.insert("assume_role_policy".into(), trust);
    args.insert("inline_policies".into(), Json::Object(inline));
    args.insert("managed_policy_arns".into(), json!(managed));
    args.insert("tags".into(), args::read_tags(tag_pairs(role.tags())));
    let mut outputs = Attrs::new();
    outputs.insert("id".into(), json!(role.role_name()));
    outputs.insert("arn".into(), json!(role.arn()));
    Ok(Live { args, outputs })
}

#[async_trait]
impl Handler for IamRole {
    async fn create(&self, req: &Req<'_>) -> Res<Created> {
        let Req {
            aws, call, args, ..
        } = *req;
        let name = args::str(args, "name")?;
        let path = args::str(args, "path")?;
        let trust = args::object(args, "assume_role_policy")?;
        let inline = inline_policies(args)?;
        let managed = args::strings(args, "managed_policy_arns")?;
        tracing::debug!(name, path, "iam CreateRole");
        // IAM has no idempotency token: a retried CreateRole after a lost reply answers
        // EntityAlreadyExists, and the role is adopted when its tags say it is this one.
        let role = match aws
            .iam
            .create_role()
            .role_name(name)
            .path(path)
            .assume_role_policy_document(Json::Object(trust.clone()).to_string())
            .set_tags(Some(iam_tags(args)?))
            .customize()
            .config_override(once!(aws_sdk_iam))
            .send()
            .await
        {
            Ok(out) => out.role().cloned().ok_or_else(|| {
                ProviderError::new(ErrorClass::Other, "CreateRole returned no role")
            })?,
            Err(e) => {
                let e = error::map(e);
                if e.code.as_deref() != Some("EntityAlreadyExists") {
                    return Err(e);
                }
                match get_role(aws, name).await? {
                    Some(r)
                        if args::tags_match(
                            args,
                            &call.address.to_string(),
                            &tag_pairs(r.tags()),
                        ) =>
                    {
                        r
                    }
                    _ => {
                        return Err(ProviderError {
                            message: format!(
                                "{} (an IAM role named `{name}` exists and was not made for \
                                 this resource: delete or rename it, or change the stack name)",
                                e.message
                            ),
                            ..e
                        })
                    }
                }
            }
        };
        put_inline(aws, name, &inline).await?;
        attach(aws, name, &managed).await?;
        Ok(created(&role))
    }

    async fn find(&self, req: &Req<'_>) -> Res<Option<Created>> {
        let Req {
            aws, call, args, ..
        } = *req;
        let name = args::str(args, "name")?;
        let Some(role) = get_role(aws, name)
            .await?
            .filter(|r| args::tags_match(args, &call.address.to_string(), &tag_pairs(r.tags())))
        else {
            return Ok(None);
        };
        // An interrupted create may have stopped before its policies: both calls are
        // idempotent, so put them all.
        put_inline(aws, name, &inline_policies(args)?).await?;
        attach(aws, name, &args::strings(args, "managed_policy_arns")?).await?;
        Ok(Some(created(&role)))
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
        if old.get("assume_role_policy") != new.get("assume_role_policy") {
            let trust = args::object(new, "assume_role_policy")?;
            tracing::debug!(role = id, "iam UpdateAssumeRolePolicy");
            aws.iam
                .update_assume_role_policy()
                .role_name(id)
                .policy_document(Json::Object(trust.clone()).to_string())
                .send()
                .await
                .map_err(error::map)?;
        }

        let (before, after) = (inline_policies(old)?, inline_policies(new)?);
        let changed: BTreeMap<String, Json> = after
            .iter()
            .filter(|(k, v)| before.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        put_inline(aws, id, &changed).await?;
        for name in before.keys().filter(|k| !after.contains_key(*k)) {
            tracing::debug!(role = id, policy = %name, "iam DeleteRolePolicy");
            error::gone_ok(
                aws.iam
                    .delete_role_policy()
                    .role_name(id)
                    .policy_name(name)
                    .send()
                    .await
                    .map_err(error::map),
            )?;
        }

        let before: BTreeSet<String> = args::strings(old, "managed_policy_arns")?
            .into_iter()
            .collect();
        let after: BTreeSet<String> = args::strings(new, "managed_policy_arns")?
            .into_iter()
            .collect();
        let added: Vec<String> = after.difference(&before).cloned().collect();
        attach(aws, id, &added).await?;
        for arn in before.difference(&after) {
            tracing::debug!(role = id, arn = %arn, "iam DetachRolePolicy");
            error::gone_ok(
                aws.iam
                    .detach_role_policy()
                    .role_name(id)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map_err(error::map),
            )?;
        }

        let (set, remove) = args::tag_changes(old, new);
        if !set.is_empty() {
            let tags = iam_tags(&Map::from_iter([(
                "tags".to_string(),
                args::tags_json(set),
            )]))?;
            tracing::debug!(role = id, "iam TagRole");
            aws.iam
                .tag_role()
                .role_name(id)
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(error::map)?;
        }
        if !remove.is_empty() {
            tracing::debug!(role = id, "iam UntagRole");
            aws.iam
                .untag_role()
                .role_name(id)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .map_err(error::map)?;
        }

        if outputs.get("arn").and_then(Json::as_str).is_some() {
            return Ok(outputs.clone());
        }
        let role = get_role(aws, id).await?.ok_or_else(|| {
            ProviderError::new(ErrorClass::NotFound, format!("IAM role `{id}` is gone"))
        })?;
        Ok(created(&role).outputs)
    }

    async fn delete(&self, req: &Req<'_>) -> Res<()> {
        let Req { aws, id, .. } = *req;
        let result = async {
            let attached = aws
                .iam
                .list_attached_role_policies()
                .role_name(id)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map_err(error::map)?;
            for p in attached {
                if let Some(arn) = p.policy_arn() {
                    tracing::debug!(role = id, arn, "iam DetachRolePolicy");
                    error::gone_ok(
                        aws.iam
                            .detach_role_policy()
                            .role_name(id)
                            .policy_arn(arn)
                            .send()
                            .await
                            .map_err(error::map),
                    )?;
                }
            }
            let inline = aws
                .iam
                .list_role_policies()
                .role_name(id)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map_err(error::map)?;
            for name in inline {
                tracing::debug!(role = id, policy = %name, "iam DeleteRolePolicy");
                error::gone_ok(
                    aws.iam
                        .delete_role_policy()
                        .role_name(id)
                        .policy_name(&name)
                        .send()
                        .await
                        .map_err(error::map),
                )?;
            }
            let profiles = aws
                .iam
                .list_instance_profiles_for_role()
                .role_name(id)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map_err(error::map)?;
            for p in profiles {
                tracing::debug!(
                    role = id,
                    profile = p.instance_profile_name(),
                    "iam RemoveRoleFromInstanceProfile"
                );
                error::gone_ok(
                    aws.iam
                        .remove_role_from_instance_profile()
                        .instance_profile_name(p.instance_profile_name())
                        .role_name(id)
                        .send()
                        .await
                        .map_err(error::map),
                )?;
            }
            tracing::debug!(role = id, "iam DeleteRole");
            aws.iam
                .delete_role()
                .role_name(id)
                .send()
                .await
                .map_err(error::map)?;
            Ok(())
        }
        .await;
        error::gone_ok(result)
    }

    async fn read(&self, aws: &Clients, set: &ReadSet, items: &[ReadItem]) -> Res<Reads> {
        if items.is_empty() {
            return Ok(BTreeMap::new());
        }
        // One GetAccountAuthorizationDetails listing has every role with its trust policy,
        // inline and attached policies and tags: one call instead of four per role.
        // Without permission for it, read each role on its own.
        if let Some(roles) = details(aws, set).await.as_ref().map_err(Clone::clone)? {
            let by_name: BTreeMap<&str, &RoleDetail> = roles
                .iter()
                .filter_map(|r| Some((r.role_name()?, r)))
                .collect();
            let mut out = BTreeMap::new();
            for item in items {
                let live = match by_name.get(item.id.as_str()) {
                    None => None,
                    Some(role) => Some(live_of_detail(role).map_err(|e| e.at(&item.address))?),
                };
                out.insert(item.address.clone(), live);
            }
            return Ok(out);
        }
        let mut tasks = tokio::task::JoinSet::new();
        for item in items {
            let (aws, item) = (aws.clone(), item.clone());
            tasks.spawn(async move {
                let live = read_one(&aws, &item.id).await;
                (item.address, live)
            });
        }
        let mut out = BTreeMap::new();
        while let Some(joined) = tasks.join_next().await {
            let (address, live) = joined.map_err(|e| {
                ProviderError::new(ErrorClass::Other, format!("reading IAM roles: {e}"))
            })?;
            out.insert(address.clone(), live.map_err(|e| e.at(&address))?);
        }
        Ok(out)
    }

    async fn tagged(&self, aws: &Clients, set: &ReadSet, stack: &str) -> Res<Vec<Orphan>> {
        // The refresh's listing has every role with its tags.
        if let Some(roles) = details(aws, set).await.as_ref().map_err(Clone::clone)? {
            return Ok(roles
                .iter()
                .filter_map(|role| {
                    let tags = tag_pairs(role.tags());
                    let ours = args::global_ours(&tags, stack, &aws.region);
                    args::orphan(Kind::IamRole, &tags, role.role_name()?).filter(|_| ours)
                })
                .collect());
        }
        tracing::debug!(stack, "iam ListRoles");
        let roles = aws
            .iam
            .list_roles()
            .path_prefix(PATH_PREFIX)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(error::map)?;
        let mut out = Vec::new();
        // ListRoles leaves tags out: read each role's.
        for role in roles {
            let tags = match aws
                .iam
                .list_role_tags()
                .role_name(role.role_name())
                .send()
                .await
            {
                Ok(t) => tag_pairs(t.tags()),
                Err(e) => {
                    let e = error::map(e);
                    if error::gone(&e) {
                        continue;
                    }
                    return Err(e);
                }
            };
            let ours = args::global_ours(&tags, stack, &aws.region);
            if let Some(o) = args::orphan(Kind::IamRole, &tags, role.role_name()).filter(|_| ours) {
                out.push(o);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_decoded_from_url_encoding() {
        let raw = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(
            decode_policy(raw).unwrap(),
            json!({"Version": "2012-10-17", "Statement": []})
        );
        assert_eq!(decode_policy("{\"a\": 1}").unwrap(), json!({"a": 1}));
        assert!(decode_policy("%7Bnot json").is_err());
    }
}
