//! `dns_record`: an alias A record (to the load balancer) in the private zone. The id is
//! `<zone_id>/<name>/A`. Create and update are both an UPSERT; every change waits until
//! Route53 reports it INSYNC. Reads return the alias target as Route53 says it (lower case,
//! maybe `dualstack.`-prefixed, with or without the trailing dot): the plan normalises.

use super::hosted_zone::{bare_id, wait_insync};
use crate::kinds::Handler;
use crate::kinds::{Reads, Req, Res};
use crate::read_set::ReadSet;
use crate::{args, error, Clients};
use async_trait::async_trait;
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, ResourceRecordSet, RrType,
};
use ecsctl_provider::{Attrs, Call, Created, ErrorClass, Live, ProviderError, ReadItem};
use serde_json::{json, Value as Json};
use std::cmp::Ordering;
use std::collections::BTreeMap;

pub struct DnsRecord;

fn built<T>(
    r: Result<T, aws_smithy_types::error::operation::BuildError>,
) -> Result<T, ProviderError> {
    r.map_err(|e| ProviderError::new(ErrorClass::InvalidInput, e.to_string()))
}

fn record_id(zone: &str, name: &str, kind: &str) -> String {
    format!("{}/{name}/{kind}", bare_id(zone))
}

/// Zone, name and type of a record: from its arguments, else from its id.
fn parts(id: &str, args: &Attrs) -> Result<(String, String, String), ProviderError> {
    if let (Some(z), Some(n)) = (args::opt_str(args, "zone_id"), args::opt_str(args, "name")) {
        let t = args::opt_str(args, "type").unwrap_or("A");
        return Ok((bare_id(z).to_string(), n.to_string(), t.to_string()));
    }
    let bad = || {
        ProviderError::new(
            ErrorClass::InvalidInput,
            format!("`{id}` is not a record id of the form <zone_id>/<name>/<type>"),
        )
    };
    let (zone, rest) = id.split_once('/').ok_or_else(bad)?;
    let (name, kind) = rest.rsplit_once('/').ok_or_else(bad)?;
    Ok((zone.to_string(), name.to_string(), kind.to_string()))
}

/// A DNS name compared the way Route53 does: case-insensitive, trailing dot optional,
/// `*` escaped as `\052`.
fn canonical(name: &str) -> String {
    let n = name.replace("\\052", "*").to_ascii_lowercase();
    if n.ends_with('.') {
        n
    } else {
        format!("{n}.")
    }
}

/// Route53 lists records by name with the labels reversed (`com.example.www`).
fn route53_order(a: &str, b: &str) -> Ordering {
    let key = |n: &str| {
        canonical(n)
            .trim_end_matches('.')
            .split('.')
            .rev()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    key(a).cmp(&key(b))
}

fn alias_set(args: &Attrs) -> Result<ResourceRecordSet, ProviderError> {
    let name = args::str(args, "name")?;
    let kind = args::opt_str(args, "type").unwrap_or("A");
    let target = args::object(args, "alias_target")?;
    let alias = built(
        AliasTarget::builder()
            .dns_name(args::str(target, "dns_name")?)
            .hosted_zone_id(args::str(target, "hosted_zone_id")?)
            .evaluate_target_health(
                target
                    .get("evaluate_target_health")
                    .and_then(Json::as_bool)
                    .unwrap_or(false),
            )
            .build(),
    )?;
    built(
        ResourceRecordSet::builder()
            .name(name)
            .r#type(RrType::from(kind))
            .alias_target(alias)
            .build(),
    )
}

/// Apply one change to `zone` and wait for it to be INSYNC.
async fn change(
    aws: &Clients,
    call: &Call<'_>,
    zone: &str,
    action: ChangeAction,
    set: ResourceRecordSet,
) -> Result<(), ProviderError> {
    tracing::debug!(
        zone,
        name = set.name(),
        action = action.as_str(),
        "route53 ChangeResourceRecordSets"
    );
    let batch = built(
        ChangeBatch::builder()
            .changes(built(
                Change::builder()
                    .action(action)
                    .resource_record_set(set)
                    .build(),
            )?)
            .build(),
    )?;
    let out = aws
        .route53
        .change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(batch)
        .send()
        .await
        .map_err(error::map)?;
    wait_insync(aws, call, out.change_info()).await
}

/// The record sets of `zone` named like `wanted` (type `kind`), listing from the first of
/// them in Route53's order and stopping past the last.
async fn list_named(
    aws: &Clients,
    zone: &str,
    wanted: &[(String, String)],
) -> Result<Option<Vec<ResourceRecordSet>>, ProviderError> {
    let mut names: Vec<&str> = wanted.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_by(|a, b| route53_order(a, b));
    let (Some(first), Some(last)) = (names.first().copied(), names.last().copied()) else {
        return Ok(Some(Vec::new()));
    };
    let mut out = Vec::new();
    let mut next = Some((first.to_string(), None::<RrType>));
    while let Some((name, kind)) = next.take() {
        tracing::debug!(zone, start = %name, "route53 ListResourceRecordSets");
        let resp = match aws
            .route53
            .list_resource_record_sets()
            .hosted_zone_id(zone)
            .start_record_name(&name)
            .set_start_record_type(kind)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                let e = error::map(e);
                if e.class == ErrorClass::NotFound {
                    // The zone is gone, and its records with it.
                    return Ok(None);
                }
                return Err(e);
            }
        };
        let mut past = false;
        for set in resp.resource_record_sets() {
            if route53_order(set.name(), last) == Ordering::Greater {
                past = true;
                break;
            }
            if wanted
                .iter()
                .any(|(n, t)| canonical(n) == canonical(set.name()) && set.r#type().as_str() == t)
            {
                out.push(set.clone());
            }
        }
        if resp.is_truncated() && !past {
            if let Some(n) = resp.next_record_name() {
                next = Some((n.to_string(), resp.next_record_type().cloned()));
            }
        }
    }
    Ok(Some(out))
}

async fn current(
    aws: &Clients,
    zone: &str,
    name: &str,
    kind: &str,
) -> Result<Option<ResourceRecordSet>, ProviderError> {
    let wanted = [(name.to_string(), kind.to_string())];
    Ok(list_named(aws, zone, &wanted)
        .await?
        .and_then(|sets| sets.into_iter().next()))
}

fn live(zone: &str, set: &ResourceRecordSet) -> Live {
    let target = set
        .alias_target()
        .map(|a| {
            json!({
                "dns_name": a.dns_name(),
                "hosted_zone_id": a.hosted_zone_id(),
                "evaluate_target_health": a.evaluate_target_health(),
            })
        })
        .unwrap_or(Json::Null);
    let mut args = Attrs::new();
    args.insert("zone_id".into(), json!(zone));
    args.insert("name".into(), json!(set.name()));
    args.insert("type".into(), json!(set.r#type().as_str()));
    args.insert("alias_target".into(), target);
    let mut outputs = Attrs::new();
    outputs.insert(
        "id".into(),
        json!(record_id(zone, set.name(), set.r#type().as_str())),
    );
    Live { args, outputs }
}

fn created(zone: &str, name: &str, kind: &str) -> Created {
    let id = record_id(zone, name, kind);
    let mut outputs = Attrs::new();
    outputs.insert("id".into(), json!(id));
    Created { id, outputs }
}

#[async_trait]
impl Handler for DnsRecord {
    async fn create(&self, req: &Req<'_>) -> Res<Created> {
        let Req {
            aws, call, args, ..
        } = *req;
        let (zone, name, kind) = parts("", args)?;
        // UPSERT is idempotent: a retry after a lost reply changes nothing.
        change(aws, call, &zone, ChangeAction::Upsert, alias_set(args)?).await?;
        Ok(created(&zone, &name, &kind))
    }

    async fn find(&self, req: &Req<'_>) -> Res<Option<Created>> {
        let Req { aws, args, .. } = *req;
        // Records carry no tags: the name is the record's identity within the zone.
        let (zone, name, kind) = parts("", args)?;
        Ok(current(aws, &zone, &name, &kind)
            .await?
            .map(|_| created(&zone, &name, &kind)))
    }

    async fn update(&self, req: &Req<'_>) -> Res<Attrs> {
        let Req {
            aws,
            call,
            id,
            args: new,
            ..
        } = *req;
        let (zone, name, kind) = parts(id, new)?;
        change(aws, call, &zone, ChangeAction::Upsert, alias_set(new)?).await?;
        Ok(created(&zone, &name, &kind).outputs)
    }

    async fn delete(&self, req: &Req<'_>) -> Res<()> {
        let Req {
            aws,
            call,
            id,
            args,
            ..
        } = *req;
        let (zone, name, kind) = parts(id, args)?;
        // DELETE must repeat the record exactly: use what Route53 holds now.
        let Some(set) = current(aws, &zone, &name, &kind).await? else {
            return Ok(());
        };
        match change(aws, call, &zone, ChangeAction::Delete, set).await {
            Ok(()) => Ok(()),
            Err(e)
                if e.class == ErrorClass::NotFound
                    || (e.code.as_deref() == Some("InvalidChangeBatch")
                        && e.message.to_ascii_lowercase().contains("not found")) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn read(&self, aws: &Clients, _set: &ReadSet, items: &[ReadItem]) -> Res<Reads> {
        let mut by_zone: BTreeMap<String, Vec<(&ReadItem, String, String)>> = BTreeMap::new();
        for item in items {
            let (zone, name, kind) =
                parts(&item.id, &item.args).map_err(|e| e.at(&item.address))?;
            by_zone.entry(zone).or_default().push((item, name, kind));
        }
        let mut out = BTreeMap::new();
        for (zone, records) in by_zone {
            let wanted: Vec<(String, String)> = records
                .iter()
                .map(|(_, n, k)| (n.clone(), k.clone()))
                .collect();
            let sets = list_named(aws, &zone, &wanted).await?.unwrap_or_default();
            for (item, name, kind) in records {
                let found = sets.iter().find(|s| {
                    canonical(s.name()) == canonical(&name) && s.r#type().as_str() == kind
                });
                out.insert(item.address.clone(), found.map(|s| live(&zone, s)));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_split_back_into_zone_name_and_type() {
        let (z, n, t) = parts("Z1/web.myorg.local./A", &Attrs::new()).unwrap();
        assert_eq!(
            (z.as_str(), n.as_str(), t.as_str()),
            ("Z1", "web.myorg.local.", "A")
        );
        assert!(parts("nonsense", &Attrs::new()).is_err());
    }

    #[test]
    fn names_sort_like_route53_lists_them() {
        let mut names = vec!["web.b.local.", "api.a.local.", "a.local.", "Zed.a.local"];
        names.sort_by(|a, b| route53_order(a, b));
        assert_eq!(
            names,
            vec!["a.local.", "api.a.local.", "Zed.a.local", "web.b.local."]
        );
        assert_eq!(canonical("\\052.A.local"), "*.a.local.");
    }
}
