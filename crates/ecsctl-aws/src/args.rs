//! Typed access to a resource's resolved arguments, with errors that name the argument.

use ecsctl_graph::{Address, Kind, ADDRESS_TAG, REGION_TAG, STACK_TAG};
use ecsctl_provider::{Attrs, ErrorClass, Orphan, ProviderError};
use serde_json::{json, Value as Json};

fn missing(name: &str, want: &str) -> ProviderError {
    ProviderError::new(
        ErrorClass::InvalidInput,
        format!("argument `{name}` must be {want}"),
    )
}

pub fn str<'a>(args: &'a Attrs, name: &str) -> Result<&'a str, ProviderError> {
    args.get(name)
        .and_then(Json::as_str)
        .ok_or_else(|| missing(name, "a string"))
}

/// A string argument that may be absent or null.
pub fn opt_str<'a>(args: &'a Attrs, name: &str) -> Option<&'a str> {
    args.get(name).and_then(Json::as_str)
}

pub fn int(args: &Attrs, name: &str) -> Result<i64, ProviderError> {
    args.get(name)
        .and_then(Json::as_i64)
        .ok_or_else(|| missing(name, "an integer"))
}

pub fn float(args: &Attrs, name: &str) -> Result<f64, ProviderError> {
    args.get(name)
        .and_then(Json::as_f64)
        .ok_or_else(|| missing(name, "a number"))
}

pub fn bool(args: &Attrs, name: &str) -> Result<bool, ProviderError> {
    args.get(name)
        .and_then(Json::as_bool)
        .ok_or_else(|| missing(name, "true or false"))
}

/// A list of strings; absent or null is empty.
pub fn strings(args: &Attrs, name: &str) -> Result<Vec<String>, ProviderError> {
    match args.get(name) {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| missing(name, "a list of strings"))
            })
            .collect(),
        Some(_) => Err(missing(name, "a list of strings")),
    }
}

/// A list of objects; absent or null is empty.
pub fn objects<'a>(args: &'a Attrs, name: &str) -> Result<Vec<&'a Attrs>, ProviderError> {
    match args.get(name) {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_object()
                    .ok_or_else(|| missing(name, "a list of objects"))
            })
            .collect(),
        Some(_) => Err(missing(name, "a list of objects")),
    }
}

pub fn object<'a>(args: &'a Attrs, name: &str) -> Result<&'a Attrs, ProviderError> {
    args.get(name)
        .and_then(Json::as_object)
        .ok_or_else(|| missing(name, "an object"))
}

/// The `tags` argument as sorted key/value pairs; absent is empty.
pub fn tags(args: &Attrs) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = args
        .get("tags")
        .and_then(Json::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Build a tags object from key/value pairs (for reads).
pub fn tags_json<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Json {
    Json::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k, Json::String(v)))
            .collect(),
    )
}

/// Whether tags read from AWS mark the resource as made for `address` in the stack the
/// `args` name (its `ecsctl:stack` and `ecsctl:address` tags, and its `ecsctl:region` tag
/// where the arguments carry one: IAM entities of the same stack name in another region are
/// never ours).
pub fn tags_match(args: &Attrs, address: &str, found: &[(String, String)]) -> bool {
    let wanted = tags(args);
    let get = |k| tag_value(found, k);
    let region_agrees = tag_value(&wanted, REGION_TAG).is_none_or(|r| get(REGION_TAG) == Some(r));
    get(ADDRESS_TAG) == Some(address)
        && get(STACK_TAG) == tag_value(&wanted, STACK_TAG)
        && region_agrees
}

/// Whether tags read from a resource of a service global to the account (IAM, Route53) mark
/// it as the stack's in `region`: its stack tag names `stack`, and its region tag, if it has
/// one, `region` (resources made before the region tag existed have none).
pub fn global_ours(found: &[(String, String)], stack: &str, region: &str) -> bool {
    tag_value(found, STACK_TAG) == Some(stack)
        && tag_value(found, REGION_TAG).is_none_or(|r| r == region)
}

/// The value of tag `key` among `pairs`.
pub fn tag_value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Tags read from AWS as the `tags` argument: every pair except AWS's own (`aws:` keys).
pub fn read_tags<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Json {
    tags_json(pairs.into_iter().filter(|(k, _)| !k.starts_with("aws:")))
}

/// The orphan a resource of `kind` with these tags is, if its `ecsctl:address` tag names an
/// address of that kind.
pub fn orphan(
    kind: ecsctl_graph::Kind,
    found: &[(String, String)],
    id: &str,
) -> Option<ecsctl_provider::Orphan> {
    let address: ecsctl_graph::Address = found
        .iter()
        .find(|(k, _)| k == ADDRESS_TAG)
        .and_then(|(_, v)| v.parse().ok())?;
    (address.kind == kind).then(|| ecsctl_provider::Orphan {
        address,
        id: id.to_string(),
    })
}

/// What to change to go from the `tags` of `old` to those of `new`: the pairs to set (new or
/// changed values) and the keys to remove.
pub fn tag_changes(old: &Attrs, new: &Attrs) -> (Vec<(String, String)>, Vec<String>) {
    let before = tags(old);
    let after = tags(new);
    let set = after
        .iter()
        .filter(|pair| !before.contains(pair))
        .cloned()
        .collect();
    let remove = before
        .iter()
        .filter(|(k, _)| !after.iter().any(|(k2, _)| k2 == k))
        .map(|(k, _)| k.clone())
        .collect();
    (set, remove)
}

/// An idempotency token for an API that takes at most `max` ASCII characters, derived
/// deterministically from the engine's `token`: the token itself when it fits (characters
/// other than ASCII alphanumerics, `-` and `_` replaced by `-`), else its head followed by
/// a hash of the whole token, so two different tokens never share an API token.
pub fn client_token(token: &str, max: usize) -> String {
    let clean: String = token
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if clean.len() <= max && clean == token {
        return clean;
    }
    let hash = format!("{:016x}", fnv1a(token.as_bytes()));
    let keep = max.saturating_sub(hash.len() + 1);
    let head: String = clean.chars().take(keep).collect();
    if head.is_empty() {
        hash.chars().take(max).collect()
    } else {
        format!("{head}-{hash}")
    }
}

/// FNV-1a, 64 bits: stable across builds and platforms (unlike the std hasher).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

// ---- Ownership tags and numbers, as the ELBv2, Auto Scaling and ECS kinds read them ----

/// The stack named by the `ecsctl:stack` tag of a resource's arguments.
pub fn stack_of(args: &Attrs) -> Option<&str> {
    args.get("tags")
        .and_then(|t| t.get(STACK_TAG))
        .and_then(Json::as_str)
}

/// Whether live tags say the resource is this stack's resource at this address.
pub fn is_ours(tags: &[(String, String)], stack: &str, address: &Address) -> bool {
    let has = |k: &str, v: &str| tags.iter().any(|(tk, tv)| tk == k && tv == v);
    has(STACK_TAG, stack) && has(ADDRESS_TAG, &address.to_string())
}

/// The orphan a resource's tags describe, if it belongs to `stack` and names an address of
/// `kind`.
pub fn stack_orphan(
    kind: Kind,
    stack: &str,
    tags: &[(String, String)],
    id: &str,
) -> Option<Orphan> {
    (tag_value(tags, STACK_TAG) == Some(stack))
        .then(|| orphan(kind, tags, id))
        .flatten()
}

/// A JSON number from AWS's float: an integer when it is one (so `60` reads back as `60`).
pub fn number(f: f64) -> Json {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        json!(f as i64)
    } else {
        json!(f)
    }
}

/// Read an integer-like value back in the JSON type the arguments used (a number or a
/// numeric string), so reads compare equal to what was asked.
pub fn like(old: Option<&Json>, live: &str) -> Json {
    match (old, live.parse::<i64>()) {
        (Some(Json::String(_)), _) | (_, Err(_)) => json!(live),
        (_, Ok(n)) => json!(n),
    }
}

/// An integer argument that must fit AWS's 32-bit integers.
pub fn int32(args: &Attrs, name: &str) -> Result<i32, ProviderError> {
    let n = int(args, name)?;
    i32::try_from(n).map_err(|_| {
        ProviderError::new(
            ErrorClass::InvalidInput,
            format!("argument `{name}` = {n} is out of range"),
        )
    })
}

/// An integer argument that may be absent or null and must fit AWS's 32-bit integers.
pub fn opt_int32(args: &Attrs, name: &str) -> Result<Option<i32>, ProviderError> {
    match args.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(_) => int32(args, name).map(Some),
    }
}

/// Whether an update changes a setting of `kind` other than those in `apart`: every
/// argument of the kind's schema is compared except those that force a replacement and the
/// tags. A kind names in `apart` what it changes with calls of its own (or what is not an
/// AWS setting), so an argument added to the schema is sent by default, never skipped.
pub fn settings_changed(kind: Kind, old: &Attrs, new: &Attrs, apart: &[&str]) -> bool {
    kind.schema()
        .args
        .iter()
        .map(|(name, _)| *name)
        .filter(|n| *n != "tags" && !kind.forces_replace(n) && !apart.contains(n))
        .any(|n| old.get(n) != new.get(n))
}

/// An integer-or-string argument as the string AWS wants.
pub fn int_or_str(args: &Attrs, name: &str) -> Result<String, ProviderError> {
    match args.get(name) {
        Some(Json::String(s)) => Ok(s.clone()),
        Some(Json::Number(n)) => Ok(n.to_string()),
        _ => Err(ProviderError::new(
            ErrorClass::InvalidInput,
            format!("argument `{name}` must be a number or a string"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn orphans_need_the_stack_and_an_address_of_the_kind() {
        use ecsctl_graph::Kind;
        let tags = pairs(&[(STACK_TAG, "hello"), (ADDRESS_TAG, "lb.main")]);
        let o = stack_orphan(Kind::Lb, "hello", &tags, "arn:1").unwrap();
        assert_eq!(o.address.to_string(), "lb.main");
        assert!(stack_orphan(Kind::Lb, "other", &tags, "arn:1").is_none());
        assert!(stack_orphan(Kind::LbListener, "hello", &tags, "arn:1").is_none());
        let bad = pairs(&[(STACK_TAG, "hello"), (ADDRESS_TAG, "not an address")]);
        assert!(stack_orphan(Kind::Lb, "hello", &bad, "arn:1").is_none());
    }

    #[test]
    fn every_setting_of_a_kind_counts_as_a_change_but_tags_and_replacements() {
        let old = json!({"name": "web", "cluster": "c", "desired_count": 2,
            "placement_strategy": [], "tags": {"a": "1"}});
        let old = old.as_object().unwrap().clone();
        let with = |k: &str, v: Json| {
            let mut m = old.clone();
            m.insert(k.into(), v);
            m
        };
        let svc = Kind::EcsService;
        assert!(!settings_changed(svc, &old, &old, &[]));
        assert!(!settings_changed(
            svc,
            &old,
            &with("tags", json!({"a": "2"})),
            &[]
        ));
        assert!(!settings_changed(
            svc,
            &old,
            &with("name", json!("api")),
            &[]
        ));
        // One no update code names: it is sent all the same.
        assert!(settings_changed(
            svc,
            &old,
            &with("placement_strategy", json!([{"type": "spread"}])),
            &[]
        ));
        assert!(settings_changed(
            svc,
            &old,
            &with("health_check_grace_period", json!(60)),
            &[]
        ));
        assert!(!settings_changed(
            svc,
            &old,
            &with("desired_count", json!(3)),
            &["desired_count"]
        ));
        // Every kind: each argument that is neither a tag nor replaced is a setting.
        for kind in Kind::ALL {
            for (name, _) in kind.schema().args {
                if *name == "tags" || kind.forces_replace(name) {
                    continue;
                }
                let changed = with(name, json!("changed"));
                assert!(
                    settings_changed(*kind, &old, &changed, &[]),
                    "{kind:?}.{name}"
                );
            }
        }
    }

    #[test]
    fn numbers_read_back_in_the_shape_they_were_given() {
        assert_eq!(number(60.0), json!(60));
        assert_eq!(number(62.5), json!(62.5));
        assert_eq!(like(Some(&json!(443)), "443"), json!(443));
        assert_eq!(like(Some(&json!("443")), "443"), json!("443"));
        assert_eq!(like(None, "#{port}"), json!("#{port}"));
    }

    fn attrs(v: Json) -> Attrs {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn tag_changes_set_changed_and_remove_dropped() {
        let old = attrs(json!({"tags": {"Name": "a", "Team": "x", "Old": "1"}}));
        let new = attrs(json!({"tags": {"Name": "b", "Team": "x", "New": "2"}}));
        let (set, remove) = tag_changes(&old, &new);
        assert_eq!(
            set,
            vec![("Name".into(), "b".into()), ("New".into(), "2".into())]
        );
        assert_eq!(remove, vec!["Old".to_string()]);
    }

    #[test]
    fn client_tokens_fit_and_stay_distinct() {
        assert_eq!(client_token("abc-123", 64), "abc-123");
        let long = "x".repeat(100);
        let t = client_token(&long, 64);
        assert_eq!(t.len(), 64);
        assert_eq!(t, client_token(&long, 64));
        assert_ne!(t, client_token(&format!("{long}y"), 64));
        let odd = client_token("nat_gateway.main[0]:7f3a", 64);
        assert!(odd.len() <= 64 && odd.is_ascii(), "{odd}");
        assert_ne!(odd, client_token("nat_gateway.main-0-:7f3a", 64));
        assert_eq!(client_token(&long, 8).len(), 8);
    }
}
