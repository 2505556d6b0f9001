//! What the EC2 kinds share: tags in and out of the API's shapes, the ownership filters
//! `find` and `tagged` use, batched reads that survive one missing id, and the description
//! of what holds a resource that cannot be deleted.

pub use super::ec2_object::Object;
use super::{Reads, Res};
use crate::error::each_on_missing;
use crate::read_set::ReadSet;
use crate::{args, error, Clients};
use aws_sdk_ec2::types::{Filter, NetworkInterface, ResourceType, Tag, TagSpecification};
use ecsctl_graph::{Address, Kind};
use ecsctl_provider::{Attrs, Call, Created, ErrorClass, Live, Orphan, ProviderError, ReadItem};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;

pub use ecsctl_graph::{ADDRESS_TAG, STACK_TAG};

/// Ids per Describe call (the APIs accept more; this keeps requests and replies small).
const BATCH: usize = 100;

/// Key/value pairs as EC2 tags.
pub fn tag_list(pairs: &[(String, String)]) -> Vec<Tag> {
    pairs
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// The `tags` argument as a tag specification for resources of type `rt` (tags at create).
pub fn tag_spec(rt: ResourceType, args: &Attrs) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(rt)
        .set_tags(Some(tag_list(&args::tags(args))))
        .build()
}

/// EC2 tags as key/value pairs (sorted by key).
pub fn pairs(tags: &[Tag]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = tags
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect();
    pairs.sort();
    pairs
}

/// EC2 tags as the `tags` argument's JSON (sorted by key).
pub fn tags_json(tags: &[Tag]) -> Json {
    args::tags_json(pairs(tags))
}

pub fn filter(name: &str, values: impl IntoIterator<Item = impl Into<String>>) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().map(Into::into).collect()))
        .build()
}

/// Filters narrowing a search to what this stack created: `ecsctl:stack` when the
/// arguments carry it, else anything with an `ecsctl:address` tag. The address itself is
/// checked with [`is_at`] on the results: filter values are glob patterns, and the `[i]` of
/// an indexed address is not matched literally everywhere.
pub fn owner_filters(args: &Attrs) -> Vec<Filter> {
    match stack_of(args) {
        Some(stack) => vec![filter(&format!("tag:{STACK_TAG}"), [stack])],
        None => vec![filter("tag-key", [ADDRESS_TAG])],
    }
}

/// Whether the tags say the resource is the one at the call's address in the stack the
/// arguments name: both `ecsctl:address` and `ecsctl:stack` must match (the listing's tag
/// filter is not trusted alone; moto, for one, ignores it on DescribeNatGateways).
pub fn is_at(tags: &[Tag], call: &Call<'_>, args: &Attrs) -> bool {
    args::tags_match(args, &call.address.to_string(), &pairs(tags))
}

/// The `ecsctl:stack` tag of the arguments.
pub fn stack_of(args: &Attrs) -> Option<String> {
    args::tags(args)
        .into_iter()
        .find(|(k, _)| k == STACK_TAG)
        .map(|(_, v)| v)
}

/// Filter for everything tagged as part of `stack`.
pub fn stack_filter(stack: &str) -> Filter {
    filter(&format!("tag:{STACK_TAG}"), [stack])
}

/// An orphan for a resource whose tags name its address.
pub fn orphan(tags: &[Tag], id: &str) -> Option<Orphan> {
    let address: Address = tags
        .iter()
        .find(|t| t.key() == Some(ADDRESS_TAG))?
        .value()?
        .parse()
        .ok()?;
    Some(Orphan {
        address,
        id: id.to_string(),
    })
}

/// Outputs holding only the id.
pub fn id_outputs(id: &str) -> Attrs {
    let mut out = Attrs::new();
    out.insert("id".into(), Json::String(id.to_string()));
    out
}

pub fn created(id: &str) -> Created {
    Created {
        id: id.to_string(),
        outputs: id_outputs(id),
    }
}

/// Make the tags of `id` go from `old`'s to `new`'s: CreateTags for new and changed values,
/// DeleteTags for keys no longer wanted.
pub async fn sync_tags(
    ec2: &aws_sdk_ec2::Client,
    id: &str,
    old: &Attrs,
    new: &Attrs,
) -> Result<(), ProviderError> {
    let (set, remove) = args::tag_changes(old, new);
    if !set.is_empty() {
        tracing::debug!(id, count = set.len(), "CreateTags");
        ec2.create_tags()
            .resources(id)
            .set_tags(Some(tag_list(&set)))
            .send()
            .await
            .map_err(error::map)?;
    }
    if !remove.is_empty() {
        tracing::debug!(id, count = remove.len(), "DeleteTags");
        ec2.delete_tags()
            .resources(id)
            .set_tags(Some(
                remove
                    .iter()
                    .map(|k| Tag::builder().key(k).build())
                    .collect(),
            ))
            .send()
            .await
            .map_err(error::map)?;
    }
    Ok(())
}

/// Describe `ids` (each once) in batches of [`BATCH`], a missing id not hiding the others
/// ([`each_on_missing`]).
pub async fn batched<T, F, Fut>(ids: &[String], describe: F) -> Result<Vec<T>, ProviderError>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: Future<Output = Result<Vec<T>, ProviderError>>,
{
    let unique: Vec<String> = ids
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut out = Vec::new();
    for chunk in unique.chunks(BATCH) {
        out.extend(each_on_missing(chunk, &describe).await?);
    }
    Ok(out)
}

/// The items of `kind` (objects of type `T`) and, with a stack to look for, its orphans.
/// With a stack, one listing by the stack tag finds the items and the orphans together
/// (the tagged ones are reported to `set`); items it does not return (deleted, or their tag
/// removed by hand) are then described by id. Without a stack, by id only. Either way, a
/// missing id does not hide the others.
pub async fn scan_objects<T: Object>(
    aws: &Clients,
    set: &ReadSet,
    kind: Kind,
    items: &[ReadItem],
) -> Res<Vec<T>> {
    let describe = |ids| T::by_ids(aws, ids);
    let Some(stack) = set.stack() else {
        return batched(&ids(items), describe).await;
    };
    let mut found = T::list(aws, vec![stack_filter(stack)]).await?;
    // The emulator ignores the tag filter of some Describe calls: check the tag here too.
    let ours = |t: &T| {
        t.tags()
            .iter()
            .any(|t| t.key() == Some(STACK_TAG) && t.value() == Some(stack))
    };
    set.found_tagged(
        kind,
        found
            .iter()
            .filter(|t| ours(t))
            .filter_map(|t| orphan(t.tags(), t.id()?))
            .collect(),
    );
    let seen: BTreeSet<&str> = found.iter().filter_map(T::id).collect();
    let missing: Vec<String> = items
        .iter()
        .filter(|i| !seen.contains(i.id.as_str()))
        .map(|i| i.id.clone())
        .collect();
    if !missing.is_empty() {
        found.extend(batched(&missing, describe).await?);
    }
    Ok(found)
}

/// The object of type `T` an earlier create for the call's address made: listed by the
/// stack's tag, confirmed by both ownership tags.
pub async fn find_own<T: Object>(aws: &Clients, call: &Call<'_>, args: &Attrs) -> Res<Option<T>> {
    tracing::debug!(address = %call.address, "find by tags");
    let found = T::list(aws, owner_filters(args)).await?;
    Ok(found.into_iter().find(|o| is_at(o.tags(), call, args)))
}

/// `read` for a kind whose live form comes from its object alone (`None`: as good as gone).
pub async fn read_each<T: Object>(
    aws: &Clients,
    set: &ReadSet,
    kind: Kind,
    items: &[ReadItem],
    live: impl Fn(&T) -> Option<Live>,
) -> Res<Reads> {
    let found = scan_objects::<T>(aws, set, kind, items).await?;
    let by_id: HashMap<String, Live> = found
        .iter()
        .filter_map(|o| Some((o.id()?.to_string(), live(o)?)))
        .collect();
    Ok(by_address(items, &by_id))
}

/// A live form from arguments written as JSON.
pub fn live(args: Json, outputs: Attrs) -> Live {
    Live {
        args: into_attrs(args),
        outputs,
    }
}

/// The read result for `items` from what was found by id: `None` for the rest.
pub fn by_address(
    items: &[ReadItem],
    found: &HashMap<String, Live>,
) -> BTreeMap<Address, Option<Live>> {
    items
        .iter()
        .map(|i| (i.address.clone(), found.get(&i.id).cloned()))
        .collect()
}

/// The ids of `items`.
pub fn ids(items: &[ReadItem]) -> Vec<String> {
    items.iter().map(|i| i.id.clone()).collect()
}

/// Append what holds a resource to a DependencyViolation: the network interfaces matching
/// `filter_name = value` (e.g. `subnet-id`, `group-id`, `vpc-id`). Other errors pass.
pub async fn explain(
    ec2: &aws_sdk_ec2::Client,
    err: ProviderError,
    filter_name: &str,
    value: &str,
) -> ProviderError {
    if err.class != ErrorClass::DependencyViolation {
        return err;
    }
    let enis = ec2
        .describe_network_interfaces()
        .filters(filter(filter_name, [value]))
        .send()
        .await;
    match enis {
        Ok(out) => error::with_context(err, &holders(out.network_interfaces())),
        Err(_) => err,
    }
}

/// "held by eni-… (ELB app/…, interface type …), …" for the interfaces given.
pub fn holders(enis: &[NetworkInterface]) -> String {
    const SHOWN: usize = 5;
    if enis.is_empty() {
        return String::new();
    }
    let mut parts: Vec<String> = enis.iter().take(SHOWN).map(describe_eni).collect();
    if enis.len() > SHOWN {
        parts.push(format!("and {} more", enis.len() - SHOWN));
    }
    format!("held by {}", parts.join(", "))
}

fn describe_eni(eni: &NetworkInterface) -> String {
    let id = eni.network_interface_id().unwrap_or("an interface");
    let mut what = Vec::new();
    if let Some(d) = eni.description().filter(|d| !d.is_empty()) {
        what.push(d.to_string());
    }
    if let Some(i) = eni.attachment().and_then(|a| a.instance_id()) {
        what.push(format!("instance {i}"));
    }
    if let Some(t) = eni.interface_type() {
        what.push(format!("interface type {}", t.as_str()));
    }
    if let Some(r) = eni.requester_id().filter(|r| !r.is_empty()) {
        what.push(format!("requested by {r}"));
    }
    if what.is_empty() {
        id.to_string()
    } else {
        format!("{id} ({})", what.join(", "))
    }
}

/// The error for a create call whose reply lacks the new resource's id.
pub fn no_id(call: &str) -> ProviderError {
    ProviderError::new(ErrorClass::Other, format!("{call} returned no id"))
}

/// A JSON object as attributes (anything else is empty).
pub fn into_attrs(v: Json) -> Attrs {
    match v {
        Json::Object(m) => m,
        _ => Attrs::new(),
    }
}

pub use crate::error::gone;

/// A boolean attribute value for Modify*Attribute calls.
pub fn bool_attr(b: bool) -> aws_sdk_ec2::types::AttributeBooleanValue {
    aws_sdk_ec2::types::AttributeBooleanValue::builder()
        .value(b)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::types::{NetworkInterfaceAttachment, NetworkInterfaceType};
    use ecsctl_graph::Kind;

    #[test]
    fn orphans_come_from_the_address_tag() {
        let tags = tag_list(&[
            (STACK_TAG.into(), "hello".into()),
            (ADDRESS_TAG.into(), "subnet.private[1]".into()),
        ]);
        let o = orphan(&tags, "subnet-1").expect("orphan");
        assert_eq!(o.address, Address::indexed(Kind::Subnet, "private", 1));
        assert_eq!(o.id, "subnet-1");
        assert!(orphan(&tag_list(&[("Name".into(), "x".into())]), "subnet-2").is_none());
    }

    #[test]
    fn holders_name_interfaces_and_what_they_are() {
        let eni = NetworkInterface::builder()
            .network_interface_id("eni-1")
            .description("ELB app/hello/abc")
            .interface_type(NetworkInterfaceType::Interface)
            .build();
        let attached = NetworkInterface::builder()
            .network_interface_id("eni-2")
            .attachment(
                NetworkInterfaceAttachment::builder()
                    .instance_id("i-9")
                    .build(),
            )
            .build();
        assert_eq!(
            holders(&[eni, attached]),
            "held by eni-1 (ELB app/hello/abc, interface type interface), eni-2 (instance i-9)"
        );
        assert_eq!(holders(&[]), "");
    }

    #[tokio::test]
    async fn a_missing_id_does_not_hide_the_others() {
        let ids = vec!["a".to_string(), "gone".to_string(), "b".to_string()];
        let found = batched(&ids, |batch| async move {
            if batch.iter().any(|i| i == "gone") {
                Err(ProviderError::new(ErrorClass::NotFound, "gone is gone"))
            } else {
                Ok(batch)
            }
        })
        .await
        .expect("read");
        assert_eq!(found, vec!["a".to_string(), "b".to_string()]);
        let failed = batched(&ids, |_| async {
            Err::<Vec<String>, _>(ProviderError::new(ErrorClass::AccessDenied, "no"))
        })
        .await;
        assert_eq!(failed.unwrap_err().class, ErrorClass::AccessDenied);
    }
}
