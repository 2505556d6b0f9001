//! `hosted_zone`: a private Route53 zone associated with the stack's VPC. The id is the
//! zone id without `/hostedzone/`. Also the Route53 change waiter the record kind shares.

use crate::kinds::Handler;
use crate::kinds::{Reads, Req, Res};
use crate::read_set::ReadSet;
use crate::retry::once;
use crate::wait::{self, Poll};
use crate::{args, error, Clients};
use async_trait::async_trait;
use aws_sdk_route53::types::{
    ChangeInfo, ChangeStatus, HostedZone as AwsZone, HostedZoneConfig, Tag, TagResourceType, Vpc,
    VpcRegion,
};
use ecsctl_graph::Kind;
use ecsctl_provider::{Attrs, Call, Created, ErrorClass, Live, Orphan, ProviderError, ReadItem};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

pub struct HostedZone;

/// Route53 caller references are at most 128 characters.
const CALLER_REFERENCE_MAX: usize = 128;
/// ListTagsForResources takes at most this many zones per call.
const TAGS_BATCH: usize = 10;
const CHANGE_POLL: Duration = Duration::from_secs(5);

/// A zone id without its `/hostedzone/` prefix.
pub(crate) fn bare_id(id: &str) -> &str {
    id.trim_start_matches("/hostedzone/")
}

/// Wait until the Route53 change is INSYNC (propagated to all Route53 servers).
pub(crate) async fn wait_insync(
    aws: &Clients,
    call: &Call<'_>,
    change: Option<&ChangeInfo>,
) -> Result<(), ProviderError> {
    let Some(change) = change else {
        return Ok(());
    };
    if *change.status() == ChangeStatus::Insync {
        return Ok(());
    }
    let id = change.id().trim_start_matches("/change/").to_string();
    let id = &id;
    wait::until(call, CHANGE_POLL, move || async move {
        tracing::debug!(change = %id, "route53 GetChange");
        let out = aws
            .route53
            .get_change()
            .id(id)
            .send()
            .await
            .map_err(error::map)?;
        Ok(match out.change_info().map(|c| c.status()) {
            Some(ChangeStatus::Insync) | None => Poll::Done(()),
            Some(s) => Poll::Pending(format!(
                "waiting for Route53 change {id} to propagate ({})",
                s.as_str()
            )),
        })
    })
    .await
}

fn tag_pairs(tags: &[Tag]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = tags
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect();
    pairs.sort();
    pairs
}

/// The tags of each zone in `ids` (bare ids), in as few calls as Route53 allows.
async fn tags_of(
    aws: &Clients,
    ids: &[String],
) -> Result<HashMap<String, Vec<(String, String)>>, ProviderError> {
    let mut out = HashMap::new();
    for batch in ids.chunks(TAGS_BATCH) {
        tracing::debug!(count = batch.len(), "route53 ListTagsForResources");
        let resp = aws
            .route53
            .list_tags_for_resources()
            .resource_type(TagResourceType::Hostedzone)
            .set_resource_ids(Some(batch.to_vec()))
            .send()
            .await;
        let sets = match resp {
            Ok(r) => r.resource_tag_sets().to_vec(),
            Err(e) => {
                let e = error::map(e);
                if e.class != ErrorClass::NotFound || batch.len() == 1 {
                    if e.class == ErrorClass::NotFound {
                        continue;
                    }
                    return Err(e);
                }
                // One zone of the batch is gone: ask for the others one by one.
                let mut sets = Vec::new();
                for id in batch {
                    let one = error::not_found_ok(
                        aws.route53
                            .list_tags_for_resource()
                            .resource_type(TagResourceType::Hostedzone)
                            .resource_id(id)
                            .send()
                            .await
                            .map_err(error::map),
                    )?;
                    sets.extend(one.and_then(|o| o.resource_tag_set().cloned()));
                }
                sets
            }
        };
        for set in sets {
            if let Some(id) = set.resource_id() {
                out.insert(bare_id(id).to_string(), tag_pairs(set.tags()));
            }
        }
    }
    Ok(out)
}

/// Route53 takes at most 10 added tags and 10 removed keys a ChangeTagsForResource call
/// (API reference, ChangeTagsForResource: "You can add a maximum of 10 tags").
const TAGS_PER_CALL: usize = 10;

async fn change_tags(
    aws: &Clients,
    id: &str,
    set: Vec<(String, String)>,
    remove: Vec<String>,
) -> Result<(), ProviderError> {
    let mut set = set.chunks(TAGS_PER_CALL);
    let mut remove = remove.chunks(TAGS_PER_CALL);
    loop {
        let (add, drop) = (set.next(), remove.next());
        if add.is_none() && drop.is_none() {
            return Ok(());
        }
        tracing::debug!(zone = id, "route53 ChangeTagsForResource");
        aws.route53
            .change_tags_for_resource()
            .resource_type(TagResourceType::Hostedzone)
            .resource_id(id)
            .set_add_tags(add.map(|a| {
                a.iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect()
            }))
            .set_remove_tag_keys(drop.map(<[String]>::to_vec))
            .send()
            .await
            .map_err(error::map)?;
    }
}

fn outputs(id: &str, name_servers: &[String]) -> Attrs {
    let mut out = Attrs::new();
    out.insert("id".into(), json!(bare_id(id)));
    out.insert("name_servers".into(), json!(name_servers));
    out
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// The zones named `name`.
async fn zones_named(aws: &Clients, name: &str) -> Result<Vec<AwsZone>, ProviderError> {
    tracing::debug!(name, "route53 ListHostedZonesByName");
    let mut out = Vec::new();
    let mut next: Option<(String, Option<String>)> = Some((name.to_string(), None));
    while let Some((dns, zone)) = next.take() {
        let resp = aws
            .route53
            .list_hosted_zones_by_name()
            .dns_name(dns)
            .set_hosted_zone_id(zone)
            .send()
            .await
            .map_err(error::map)?;
        let mut past = false;
        for z in resp.hosted_zones() {
            if same_name(z.name(), name) {
                out.push(z.clone());
            } else {
                past = true;
            }
        }
        if resp.is_truncated() && !past {
            if let Some(d) = resp.next_dns_name() {
                next = Some((
                    d.to_string(),
                    resp.next_hosted_zone_id().map(str::to_string),
                ));
            }
        }
    }
    Ok(out)
}

#[async_trait]
impl Handler for HostedZone {
    async fn create(&self, req: &Req<'_>) -> Res<Created> {
        let Req {
            aws,
            call,
            args,
            token,
            ..
        } = *req;
        let name = args::str(args, "name")?;
        let vpc = Vpc::builder()
            .vpc_id(args::str(args, "vpc_id")?)
            .vpc_region(VpcRegion::from(args::str(args, "vpc_region")?))
            .build();
        let config = HostedZoneConfig::builder()
            .set_comment(args::opt_str(args, "comment").map(str::to_string))
            .private_zone(true)
            .build();
        tracing::debug!(name, "route53 CreateHostedZone");
        let (id, name_servers, change) = match aws
            .route53
            .create_hosted_zone()
            .name(name)
            .caller_reference(args::client_token(token, CALLER_REFERENCE_MAX))
            .hosted_zone_config(config)
            .vpc(vpc)
            .customize()
            .config_override(once!(aws_sdk_route53))
            .send()
            .await
        {
            Ok(out) => {
                let zone = out.hosted_zone().ok_or_else(|| {
                    ProviderError::new(ErrorClass::Other, "CreateHostedZone returned no zone")
                })?;
                let ns = out
                    .delegation_set()
                    .map(|d| d.name_servers().to_vec())
                    .unwrap_or_default();
                (
                    bare_id(zone.id()).to_string(),
                    ns,
                    out.change_info().cloned(),
                )
            }
            Err(e) => {
                let e = error::map(e);
                // The same caller reference again: an earlier attempt made the zone.
                if e.code.as_deref() != Some("HostedZoneAlreadyExists") {
                    return Err(e);
                }
                let found = self.find(req).await?.ok_or(e)?;
                (found.id, Vec::new(), None)
            }
        };
        let (set, _) = args::tag_changes(&Attrs::new(), args);
        change_tags(aws, &id, set, Vec::new()).await?;
        wait_insync(aws, call, change.as_ref()).await?;
        Ok(Created {
            outputs: outputs(&id, &name_servers),
            id,
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
        let name = args::str(args, "name")?;
        let reference = args::client_token(token, CALLER_REFERENCE_MAX);
        let zones: Vec<AwsZone> = zones_named(aws, name)
            .await?
            .into_iter()
            .filter(|z| z.config().is_some_and(|c| c.private_zone()))
            .collect();
        if let Some(z) = zones.iter().find(|z| z.caller_reference() == reference) {
            // Made by this intent; an interrupted create may have stopped before tagging
            // it (ChangeTagsForResource is idempotent).
            let id = bare_id(z.id()).to_string();
            let (set, _) = args::tag_changes(&Attrs::new(), args);
            change_tags(aws, &id, set, Vec::new()).await?;
            return Ok(Some(Created {
                outputs: outputs(z.id(), &[]),
                id,
            }));
        }
        let ids: Vec<String> = zones.iter().map(|z| bare_id(z.id()).to_string()).collect();
        let tags = tags_of(aws, &ids).await?;
        let address = call.address.to_string();
        Ok(ids
            .into_iter()
            .find(|id| {
                tags.get(id)
                    .is_some_and(|t| args::tags_match(args, &address, t))
            })
            .map(|id| Created {
                outputs: outputs(&id, &[]),
                id,
            }))
    }

    async fn update(&self, req: &Req<'_>) -> Res<Attrs> {
        let Req {
            aws,
            call,
            id,
            old,
            args: new,
            outputs: outputs_in,
            ..
        } = *req;
        if old.get("comment") != new.get("comment") {
            tracing::debug!(zone = id, "route53 UpdateHostedZoneComment");
            aws.route53
                .update_hosted_zone_comment()
                .id(id)
                .comment(args::opt_str(new, "comment").unwrap_or_default())
                .send()
                .await
                .map_err(error::map)?;
        }
        let vpc_of = |a: &Attrs| -> Result<Vpc, ProviderError> {
            Ok(Vpc::builder()
                .vpc_id(args::str(a, "vpc_id")?)
                .vpc_region(VpcRegion::from(args::str(a, "vpc_region")?))
                .build())
        };
        if old.get("vpc_id") != new.get("vpc_id") || old.get("vpc_region") != new.get("vpc_region")
        {
            // A private zone must keep one VPC: associate the new one first.
            tracing::debug!(zone = id, "route53 AssociateVPCWithHostedZone");
            let out = aws
                .route53
                .associate_vpc_with_hosted_zone()
                .hosted_zone_id(id)
                .vpc(vpc_of(new)?)
                .send()
                .await
                .map_err(error::map)?;
            wait_insync(aws, call, out.change_info()).await?;
            tracing::debug!(zone = id, "route53 DisassociateVPCFromHostedZone");
            let out = error::not_found_ok(
                aws.route53
                    .disassociate_vpc_from_hosted_zone()
                    .hosted_zone_id(id)
                    .vpc(vpc_of(old)?)
                    .send()
                    .await
                    .map_err(error::map),
            )?;
            wait_insync(aws, call, out.as_ref().and_then(|o| o.change_info())).await?;
        }
        let (set, remove) = args::tag_changes(old, new);
        change_tags(aws, id, set, remove).await?;
        let mut out = outputs_in.clone();
        out.insert("id".into(), json!(id));
        out.entry("name_servers").or_insert_with(|| json!([]));
        Ok(out)
    }

    async fn delete(&self, req: &Req<'_>) -> Res<()> {
        let Req { aws, id, .. } = *req;
        tracing::debug!(zone = id, "route53 DeleteHostedZone");
        error::not_found_ok(
            aws.route53
                .delete_hosted_zone()
                .id(id)
                .send()
                .await
                .map_err(error::map),
        )?;
        Ok(())
    }

    async fn read(&self, aws: &Clients, _set: &ReadSet, items: &[ReadItem]) -> Res<Reads> {
        // GetHostedZone takes one zone: run them concurrently.
        let mut tasks = tokio::task::JoinSet::new();
        for item in items {
            let (aws, item) = (aws.clone(), item.clone());
            tasks.spawn(async move {
                tracing::debug!(zone = %item.id, "route53 GetHostedZone");
                let got = error::not_found_ok(
                    aws.route53
                        .get_hosted_zone()
                        .id(&item.id)
                        .send()
                        .await
                        .map_err(error::map),
                );
                (item, got)
            });
        }
        let mut zones = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            let (item, got) = joined.map_err(|e| {
                ProviderError::new(ErrorClass::Other, format!("reading hosted zones: {e}"))
            })?;
            zones.push((item.clone(), got.map_err(|e| e.at(&item.address))?));
        }
        let present: Vec<String> = zones
            .iter()
            .filter(|(_, z)| z.is_some())
            .map(|(i, _)| i.id.clone())
            .collect();
        let tags = tags_of(aws, &present).await?;
        let mut out = BTreeMap::new();
        for (item, got) in zones {
            let live = got.and_then(|z| {
                let zone = z.hosted_zone()?;
                let vpc = z.vpcs().first();
                let ns = z
                    .delegation_set()
                    .map(|d| d.name_servers().to_vec())
                    .unwrap_or_default();
                let mut args = Attrs::new();
                args.insert("name".into(), json!(zone.name()));
                args.insert("vpc_id".into(), json!(vpc.and_then(|v| v.vpc_id())));
                args.insert(
                    "vpc_region".into(),
                    json!(vpc.and_then(|v| v.vpc_region()).map(|r| r.as_str())),
                );
                args.insert(
                    "comment".into(),
                    json!(zone.config().and_then(|c| c.comment())),
                );
                args.insert(
                    "tags".into(),
                    args::read_tags(tags.get(&item.id).cloned().unwrap_or_default()),
                );
                Some(Live {
                    args,
                    outputs: outputs(zone.id(), &ns),
                })
            });
            out.insert(item.address, live);
        }
        Ok(out)
    }

    async fn tagged(&self, aws: &Clients, set: &ReadSet, stack: &str) -> Res<Vec<Orphan>> {
        // The zones the refresh reads are not orphans: no tags needed for them.
        let known: Vec<&str> = set
            .items(Kind::HostedZone)
            .iter()
            .map(|i| bare_id(&i.id))
            .collect();
        tracing::debug!(stack, "route53 ListHostedZones");
        let zones = aws
            .route53
            .list_hosted_zones()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(error::map)?;
        let ids: Vec<String> = zones
            .iter()
            .filter(|z| z.config().is_some_and(|c| c.private_zone()))
            .map(|z| bare_id(z.id()).to_string())
            .filter(|id| !known.contains(&id.as_str()))
            .collect();
        let tags = tags_of(aws, &ids).await?;
        Ok(ids
            .iter()
            .filter_map(|id| {
                let t = tags.get(id)?;
                let ours = args::global_ours(t, stack, &aws.region);
                args::orphan(Kind::HostedZone, t, id).filter(|_| ours)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::ecs_service::test_support::{mock_clients, Notes};
    use aws_sdk_route53::operation::get_change::GetChangeOutput;
    use aws_sdk_route53::Client;
    use aws_smithy_mocks::mock;
    use aws_smithy_types::DateTime;
    use ecsctl_graph::Address;
    use ecsctl_provider::Options;

    fn change(status: ChangeStatus) -> ChangeInfo {
        ChangeInfo::builder()
            .id("/change/C123")
            .status(status)
            .submitted_at(DateTime::from_secs(0))
            .build()
            .expect("complete change info")
    }

    #[tokio::test(start_paused = true)]
    async fn waits_for_pending_changes_to_be_insync() {
        let get = mock!(Client::get_change)
            .sequence()
            .output(|| {
                GetChangeOutput::builder()
                    .change_info(change(ChangeStatus::Pending))
                    .build()
            })
            .times(2)
            .output(|| {
                GetChangeOutput::builder()
                    .change_info(change(ChangeStatus::Insync))
                    .build()
            })
            .build();
        let aws = mock_clients(&[&get]).await;
        let address = Address::new(Kind::HostedZone, "private");
        let notes = Notes::default();
        let options = Options::default();
        let call = Call {
            address: &address,
            progress: &notes,
            options: &options,
        };
        wait_insync(&aws, &call, Some(&change(ChangeStatus::Pending)))
            .await
            .unwrap();
        assert_eq!(get.num_calls(), 3);
        let notes = notes.all();
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].contains("C123"), "{notes:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_change_still_pending_at_the_deadline_times_out() {
        let get = mock!(Client::get_change).then_output(|| {
            GetChangeOutput::builder()
                .change_info(change(ChangeStatus::Pending))
                .build()
        });
        let aws = mock_clients(&[&get]).await;
        let address = Address::new(Kind::DnsRecord, "web");
        let options = Options {
            wait_timeout: Duration::from_millis(1),
            ..Options::default()
        };
        let call = Call {
            address: &address,
            progress: &ecsctl_provider::Quiet,
            options: &options,
        };
        let err = wait_insync(&aws, &call, Some(&change(ChangeStatus::Pending)))
            .await
            .unwrap_err();
        assert_eq!(err.class, ErrorClass::Timeout);
    }

    #[test]
    fn zone_ids_lose_their_prefix() {
        assert_eq!(bare_id("/hostedzone/Z123"), "Z123");
        assert_eq!(bare_id("Z123"), "Z123");
        assert!(same_name("myorg.local.", "MyOrg.local"));
    }
}
