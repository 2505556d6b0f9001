//! `security_group`: CreateSecurityGroup (tags at creation), then the rules: the default
//! allow-all egress rule is revoked unless wanted, the desired rules authorized. Updates
//! diff the rules and revoke by `SecurityGroupRuleIds` (which works for rules that refer
//! to another group everywhere).
//!
//! Rules are compared and read in one shape: one rule per (direction, protocol, ports,
//! CIDR or source group), i.e. `cidr_blocks` holds a single CIDR in what `read` returns.
//! Protocols are lowercase names (`tcp`, `udp`, `icmp`) or `"-1"` for all, whose ports read
//! back as 0–0. Prefix-list rules are outside this model and left alone.

use super::ec2::{self, filter, gone, into_attrs, no_id};
use super::Handler;
use crate::kinds::{Reads, Req, Res};
use crate::read_set::ReadSet;
use crate::retry::once;
use crate::{args, error, Clients};
use async_trait::async_trait;
use aws_sdk_ec2::types::{
    IpPermission, IpRange, Ipv6Range, ResourceType, SecurityGroup as Sg, SecurityGroupRule,
    UserIdGroupPair,
};
use ecsctl_graph::Kind;
use ecsctl_provider::{Attrs, Created, ErrorClass, Live, ProviderError, ReadItem};
use serde_json::{json, Value as Json};
use std::collections::HashMap;

pub struct SecurityGroup;

/// One rule in the compared shape.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Rule {
    egress: bool,
    protocol: String,
    from_port: i32,
    to_port: i32,
    peer: Peer,
    description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Peer {
    Cidr(String),
    Group(String),
}

impl Rule {
    fn json(&self) -> Json {
        let mut m = serde_json::Map::new();
        m.insert("protocol".into(), json!(self.protocol));
        m.insert("from_port".into(), json!(self.from_port));
        m.insert("to_port".into(), json!(self.to_port));
        match &self.peer {
            Peer::Cidr(c) => m.insert("cidr_blocks".into(), json!([c])),
            Peer::Group(g) => m.insert("source_security_group_id".into(), json!(g)),
        };
        if let Some(d) = &self.description {
            m.insert("description".into(), json!(d));
        }
        Json::Object(m)
    }

    /// The same rule whatever its description.
    fn base(&self) -> Rule {
        Rule {
            description: None,
            ..self.clone()
        }
    }

    fn permission(&self) -> IpPermission {
        let p = IpPermission::builder()
            .ip_protocol(&self.protocol)
            .from_port(self.from_port)
            .to_port(self.to_port);
        match &self.peer {
            Peer::Cidr(c) if c.contains(':') => p.ipv6_ranges(
                Ipv6Range::builder()
                    .cidr_ipv6(c)
                    .set_description(self.description.clone())
                    .build(),
            ),
            Peer::Cidr(c) => p.ip_ranges(
                IpRange::builder()
                    .cidr_ip(c)
                    .set_description(self.description.clone())
                    .build(),
            ),
            Peer::Group(g) => p.user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id(g)
                    .set_description(self.description.clone())
                    .build(),
            ),
        }
        .build()
    }
}

/// `"all"`, `-1` → `"-1"`; protocol numbers of tcp/udp/icmp → their names; lowercase.
fn protocol(v: Option<&Json>) -> Result<String, ProviderError> {
    let raw = match v {
        Some(Json::String(s)) => s.to_ascii_lowercase(),
        Some(Json::Number(n)) => n.to_string(),
        _ => {
            return Err(ProviderError::new(
                ErrorClass::InvalidInput,
                "argument `protocol` of a rule must be a protocol name or number",
            ))
        }
    };
    Ok(match raw.as_str() {
        "all" | "-1" => "-1".into(),
        "6" => "tcp".into(),
        "17" => "udp".into(),
        "1" => "icmp".into(),
        _ => raw,
    })
}

fn ports(protocol: &str, from: i32, to: i32) -> (i32, i32) {
    if protocol == "-1" {
        (0, 0)
    } else {
        (from, to)
    }
}

/// The `ingress` or `egress` argument as rules, one per CIDR or source group.
fn desired(args: &Attrs, egress: bool) -> Result<Vec<Rule>, ProviderError> {
    let name = if egress { "egress" } else { "ingress" };
    let mut out = Vec::new();
    for r in args::objects(args, name)? {
        let protocol = protocol(r.get("protocol"))?;
        let from = r.get("from_port").and_then(Json::as_i64).unwrap_or(0) as i32;
        let to = r
            .get("to_port")
            .and_then(Json::as_i64)
            .unwrap_or(i64::from(from)) as i32;
        let (from_port, to_port) = ports(&protocol, from, to);
        let description = args::opt_str(r, "description")
            .filter(|d| !d.is_empty())
            .map(str::to_string);
        let mut peers: Vec<Peer> = args::strings(r, "cidr_blocks")?
            .into_iter()
            .map(Peer::Cidr)
            .collect();
        if let Some(g) = args::opt_str(r, "source_security_group_id") {
            peers.push(Peer::Group(g.to_string()));
        }
        if peers.is_empty() {
            return Err(ProviderError::new(
                ErrorClass::InvalidInput,
                format!("each {name} rule needs `cidr_blocks` or `source_security_group_id`"),
            ));
        }
        for peer in peers {
            out.push(Rule {
                egress,
                protocol: protocol.clone(),
                from_port,
                to_port,
                peer,
                description: description.clone(),
            });
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// A rule as AWS lists it; `None` for prefix-list rules.
fn live_rule(r: &SecurityGroupRule) -> Option<Rule> {
    let protocol = r.ip_protocol()?.to_ascii_lowercase();
    let protocol = if protocol == "-1" {
        protocol
    } else {
        protocol_name(protocol)
    };
    let peer = if let Some(c) = r.cidr_ipv4() {
        Peer::Cidr(c.to_string())
    } else if let Some(c) = r.cidr_ipv6() {
        Peer::Cidr(c.to_string())
    } else if let Some(g) = r.referenced_group_info().and_then(|g| g.group_id()) {
        Peer::Group(g.to_string())
    } else {
        return None;
    };
    let (from_port, to_port) = ports(
        &protocol,
        r.from_port().unwrap_or(-1),
        r.to_port().unwrap_or(-1),
    );
    Some(Rule {
        egress: r.is_egress().unwrap_or(false),
        protocol,
        from_port,
        to_port,
        peer,
        description: r
            .description()
            .filter(|d| !d.is_empty())
            .map(str::to_string),
    })
}

fn protocol_name(p: String) -> String {
    match p.as_str() {
        "6" => "tcp".into(),
        "17" => "udp".into(),
        "1" => "icmp".into(),
        _ => p,
    }
}

#[async_trait]
impl Handler for SecurityGroup {
    async fn create(&self, req: &Req<'_>) -> Res<Created> {
        let Req {
            aws, call, args, ..
        } = *req;
        let name = args::str(args, "name")?;
        let description = args::str(args, "description")?;
        let vpc_id = args::str(args, "vpc_id")?;
        let mut want = desired(args, false)?;
        want.extend(desired(args, true)?);
        tracing::debug!(address = %call.address, name, vpc_id, "CreateSecurityGroup");
        let out = aws
            .ec2
            .create_security_group()
            .group_name(name)
            .description(description)
            .vpc_id(vpc_id)
            .tag_specifications(ec2::tag_spec(ResourceType::SecurityGroup, args))
            .customize()
            .config_override(once!(aws_sdk_ec2))
            .send()
            .await
            .map_err(error::map)?;
        let id = out.group_id().ok_or_else(|| no_id("CreateSecurityGroup"))?;
        sync_rules(aws, id, &want).await?;
        Ok(ec2::created(id))
    }

    async fn find(&self, req: &Req<'_>) -> Res<Option<Created>> {
        let Req {
            aws, call, args, ..
        } = *req;
        let Some(group) = ec2::find_own::<Sg>(aws, call, args).await? else {
            return Ok(None);
        };
        let id = group
            .group_id()
            .ok_or_else(|| no_id("DescribeSecurityGroups"))?;
        // An interrupted create may have stopped before its rules: converge them.
        let mut want = desired(args, false)?;
        want.extend(desired(args, true)?);
        sync_rules(aws, id, &want).await?;
        Ok(Some(ec2::created(id)))
    }

    async fn update(&self, req: &Req<'_>) -> Res<Attrs> {
        let Req {
            aws,
            call,
            id,
            old,
            args: new,
            ..
        } = *req;
        tracing::debug!(address = %call.address, id, "update security group");
        let mut want = desired(new, false)?;
        want.extend(desired(new, true)?);
        sync_rules(aws, id, &want).await?;
        ec2::sync_tags(&aws.ec2, id, old, new).await?;
        Ok(ec2::id_outputs(id))
    }

    async fn delete(&self, req: &Req<'_>) -> Res<()> {
        let Req { aws, call, id, .. } = *req;
        tracing::debug!(address = %call.address, id, "DeleteSecurityGroup");
        match aws.ec2.delete_security_group().group_id(id).send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = error::map(e);
                if gone(&e) {
                    return Ok(());
                }
                let e = ec2::explain(&aws.ec2, e, "group-id", id).await;
                Err(referenced_by(aws, e, id).await)
            }
        }
    }

    async fn read(&self, aws: &Clients, set: &ReadSet, items: &[ReadItem]) -> Res<Reads> {
        let groups: Vec<Sg> = ec2::scan_objects(aws, set, Kind::SecurityGroup, items).await?;
        // The rules come with the groups (IpPermissions): no DescribeSecurityGroupRules
        // call, and descriptions of rules naming a group are there (the emulator leaves
        // them out of DescribeSecurityGroupRules).
        let mut rules: HashMap<String, Vec<Rule>> = HashMap::new();
        for g in &groups {
            let Some(id) = g.group_id() else { continue };
            let mine = rules.entry(id.to_string()).or_default();
            for (egress, perms) in [
                (false, g.ip_permissions()),
                (true, g.ip_permissions_egress()),
            ] {
                for p in perms {
                    let Some(proto) = p.ip_protocol() else {
                        continue;
                    };
                    let proto = proto.to_ascii_lowercase();
                    let protocol = if proto == "-1" {
                        proto
                    } else {
                        protocol_name(proto)
                    };
                    let (from_port, to_port) = ports(
                        &protocol,
                        p.from_port().unwrap_or(-1),
                        p.to_port().unwrap_or(-1),
                    );
                    let rule = |peer: Peer, description: Option<&str>| Rule {
                        egress,
                        protocol: protocol.clone(),
                        from_port,
                        to_port,
                        peer,
                        description: description.filter(|d| !d.is_empty()).map(str::to_string),
                    };
                    for r in p.ip_ranges() {
                        if let Some(c) = r.cidr_ip() {
                            mine.push(rule(Peer::Cidr(c.to_string()), r.description()));
                        }
                    }
                    for r in p.ipv6_ranges() {
                        if let Some(c) = r.cidr_ipv6() {
                            mine.push(rule(Peer::Cidr(c.to_string()), r.description()));
                        }
                    }
                    for pair in p.user_id_group_pairs() {
                        if let Some(group) = pair.group_id() {
                            mine.push(rule(Peer::Group(group.to_string()), pair.description()));
                        }
                    }
                }
            }
        }
        let found: HashMap<String, Live> = groups
            .iter()
            .filter_map(|g: &Sg| {
                let id = g.group_id()?;
                let mut mine = rules.remove(id).unwrap_or_default();
                mine.sort();
                mine.dedup();
                let list = |egress: bool| -> Vec<Json> {
                    mine.iter()
                        .filter(|r| r.egress == egress)
                        .map(Rule::json)
                        .collect()
                };
                let args = json!({
                    "name": g.group_name(),
                    "description": g.description(),
                    "vpc_id": g.vpc_id(),
                    "ingress": list(false),
                    "egress": list(true),
                    "tags": ec2::tags_json(g.tags()),
                });
                Some((
                    id.to_string(),
                    Live {
                        args: into_attrs(args),
                        outputs: ec2::id_outputs(id),
                    },
                ))
            })
            .collect();
        Ok(ec2::by_address(items, &found))
    }

    fn finds_tagged_in_read(&self) -> bool {
        true
    }
}

/// Every rule of the groups `ids`, with its group id.
async fn rules_of(
    aws: &Clients,
    ids: &[String],
) -> Result<Vec<(String, SecurityGroupRule)>, ProviderError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(200) {
        tracing::debug!(count = chunk.len(), "DescribeSecurityGroupRules");
        let rules: Vec<SecurityGroupRule> = aws
            .ec2
            .describe_security_group_rules()
            .filters(filter("group-id", chunk.iter().cloned()))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(error::map)?;
        out.extend(
            rules
                .into_iter()
                .filter_map(|r| Some((r.group_id()?.to_string(), r))),
        );
    }
    Ok(out)
}

/// Make the rules of group `id` exactly `want`: authorize what is missing and revoke what
/// is not wanted (by rule id). A rule whose description alone changed is revoked before it
/// is authorized again (AWS refuses a duplicate); other additions come first, so traffic
/// that stays allowed is never cut.
async fn sync_rules(aws: &Clients, id: &str, want: &[Rule]) -> Result<(), ProviderError> {
    let have: Vec<(String, Rule)> = rules_of(aws, &[id.to_string()])
        .await?
        .into_iter()
        .filter_map(|(_, r)| Some((r.security_group_rule_id()?.to_string(), live_rule(&r)?)))
        .collect();
    let revoke: Vec<&(String, Rule)> = have.iter().filter(|(_, r)| !want.contains(r)).collect();
    let add: Vec<&Rule> = want
        .iter()
        .filter(|w| !have.iter().any(|(_, r)| r == *w))
        .collect();
    let (after, first): (Vec<&Rule>, Vec<&Rule>) = add
        .into_iter()
        .partition(|w| revoke.iter().any(|(_, r)| r.base() == w.base()));
    authorize(aws, id, &first).await?;
    for egress in [false, true] {
        let ids: Vec<String> = revoke
            .iter()
            .filter(|(_, r)| r.egress == egress)
            .map(|(rid, _)| rid.clone())
            .collect();
        if ids.is_empty() {
            continue;
        }
        tracing::debug!(id, count = ids.len(), egress, "RevokeSecurityGroup rules");
        let result = if egress {
            aws.ec2
                .revoke_security_group_egress()
                .group_id(id)
                .set_security_group_rule_ids(Some(ids))
                .send()
                .await
                .map(|_| ())
                .map_err(error::map)
        } else {
            aws.ec2
                .revoke_security_group_ingress()
                .group_id(id)
                .set_security_group_rule_ids(Some(ids))
                .send()
                .await
                .map(|_| ())
                .map_err(error::map)
        };
        match result {
            Ok(()) => {}
            Err(e) if gone(&e) => {}
            Err(e) => return Err(error::with_context(e, "revoking security group rules")),
        }
    }
    authorize(aws, id, &after).await
}

async fn authorize(aws: &Clients, id: &str, rules: &[&Rule]) -> Result<(), ProviderError> {
    for egress in [false, true] {
        let perms: Vec<IpPermission> = rules
            .iter()
            .filter(|r| r.egress == egress)
            .map(|r| r.permission())
            .collect();
        if perms.is_empty() {
            continue;
        }
        tracing::debug!(
            id,
            count = perms.len(),
            egress,
            "AuthorizeSecurityGroup rules"
        );
        let result = if egress {
            aws.ec2
                .authorize_security_group_egress()
                .group_id(id)
                .set_ip_permissions(Some(perms))
                .send()
                .await
                .map(|_| ())
                .map_err(error::map)
        } else {
            aws.ec2
                .authorize_security_group_ingress()
                .group_id(id)
                .set_ip_permissions(Some(perms))
                .send()
                .await
                .map(|_| ())
                .map_err(error::map)
        };
        match result {
            Ok(()) => {}
            // An SDK retry after a lost reply meets the rules the first attempt added:
            // authorize one rule at a time, the duplicates being already there.
            Err(e) if e.code.as_deref() == Some(DUPLICATE_RULE) => {
                authorize_each(aws, id, rules, egress).await?;
            }
            // A server error may hide a call that took effect: look before failing.
            Err(e) if e.class == ErrorClass::Other && present(aws, id, rules, egress).await? => {}
            Err(e) => return Err(error::with_context(e, "authorizing security group rules")),
        }
    }
    Ok(())
}

/// Whether group `id` has every `egress` (or ingress) rule of `rules`, descriptions aside
/// (moto does not list the description of a rule that refers to a group).
async fn present(
    aws: &Clients,
    id: &str,
    rules: &[&Rule],
    egress: bool,
) -> Result<bool, ProviderError> {
    let have: Vec<Rule> = rules_of(aws, &[id.to_string()])
        .await?
        .iter()
        .filter_map(|(_, r)| live_rule(r).map(|r| r.base()))
        .collect();
    Ok(rules
        .iter()
        .filter(|r| r.egress == egress)
        .all(|r| have.contains(&r.base())))
}

/// AWS's answer to authorizing a rule the group already has.
const DUPLICATE_RULE: &str = "InvalidPermission.Duplicate";

/// Authorize the `egress` (or ingress) rules one by one, a duplicate being success.
async fn authorize_each(
    aws: &Clients,
    id: &str,
    rules: &[&Rule],
    egress: bool,
) -> Result<(), ProviderError> {
    for rule in rules.iter().filter(|r| r.egress == egress) {
        let result = if egress {
            aws.ec2
                .authorize_security_group_egress()
                .group_id(id)
                .ip_permissions(rule.permission())
                .send()
                .await
                .map(|_| ())
                .map_err(error::map)
        } else {
            aws.ec2
                .authorize_security_group_ingress()
                .group_id(id)
                .ip_permissions(rule.permission())
                .send()
                .await
                .map(|_| ())
                .map_err(error::map)
        };
        match result {
            Ok(()) => {}
            Err(e) if e.code.as_deref() == Some(DUPLICATE_RULE) => {}
            Err(e) => return Err(error::with_context(e, "authorizing security group rules")),
        }
    }
    Ok(())
}

/// Name the groups whose rules still refer to group `id` (AWS refuses to delete it).
async fn referenced_by(aws: &Clients, err: ProviderError, id: &str) -> ProviderError {
    if err.class != ErrorClass::DependencyViolation {
        return err;
    }
    let mut referrers = Vec::new();
    for name in ["ip-permission.group-id", "egress.ip-permission.group-id"] {
        if let Ok(out) = aws
            .ec2
            .describe_security_groups()
            .filters(filter(name, [id]))
            .send()
            .await
        {
            referrers.extend(
                out.security_groups()
                    .iter()
                    .filter_map(|g| g.group_id())
                    .filter(|g| *g != id)
                    .map(str::to_string),
            );
        }
    }
    referrers.sort();
    referrers.dedup();
    if referrers.is_empty() {
        return err;
    }
    error::with_context(
        err,
        &format!("referenced by the rules of {}", referrers.join(", ")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_one_per_peer_with_canonical_protocols() {
        let args = into_attrs(json!({
            "ingress": [
                {"protocol": "TCP", "from_port": 80, "to_port": 80,
                 "cidr_blocks": ["10.0.0.0/8", "192.168.0.0/16"], "description": "web"},
                {"protocol": 6, "from_port": 32768, "to_port": 65535,
                 "source_security_group_id": "sg-1"},
            ],
            "egress": [{"protocol": "all", "from_port": -1, "to_port": -1, "cidr_blocks": ["0.0.0.0/0"]}],
        }));
        let ingress = desired(&args, false).expect("ingress");
        assert_eq!(ingress.len(), 3);
        assert!(ingress.iter().all(|r| r.protocol == "tcp"));
        assert_eq!(
            ingress
                .iter()
                .filter(|r| r.description.as_deref() == Some("web"))
                .count(),
            2
        );
        let egress = desired(&args, true).expect("egress");
        assert_eq!(egress[0].protocol, "-1");
        assert_eq!((egress[0].from_port, egress[0].to_port), (0, 0));
        assert_eq!(
            egress[0].json(),
            json!({"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]})
        );
    }

    #[test]
    fn a_rule_without_peer_is_refused() {
        let args =
            into_attrs(json!({"ingress": [{"protocol": "tcp", "from_port": 1, "to_port": 2}]}));
        assert_eq!(
            desired(&args, false).unwrap_err().class,
            ErrorClass::InvalidInput
        );
    }

    #[test]
    fn live_rules_read_in_the_same_shape() {
        let r = SecurityGroupRule::builder()
            .security_group_rule_id("sgr-1")
            .group_id("sg-2")
            .is_egress(false)
            .ip_protocol("tcp")
            .from_port(32768)
            .to_port(65535)
            .referenced_group_info(
                aws_sdk_ec2::types::ReferencedSecurityGroup::builder()
                    .group_id("sg-1")
                    .build(),
            )
            .build();
        let rule = live_rule(&r).expect("rule");
        let args = into_attrs(json!({"ingress": [rule.json()]}));
        assert_eq!(desired(&args, false).expect("desired"), vec![rule]);
    }
}
