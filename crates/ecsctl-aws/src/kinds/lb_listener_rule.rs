//! `lb_listener_rule`: a listener rule forwarding a path pattern and/or host header to a
//! target group (ELBv2 CreateRule / ModifyRule + SetRulePriorities / DeleteRule). The id is
//! the rule's ARN.

use super::elb::{self, elb_tags, orphans, retag, tags_in, tags_of, ELB_BATCH};
use crate::args::{int32, is_ours, stack_of};
use crate::error::each_on_missing;
use crate::kinds::Handler;
use crate::kinds::{Reads, Req, Res};
use crate::read_set::ReadSet;
use crate::retry::once;
use crate::{args, error, Clients};
use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, HostHeaderConditionConfig, PathPatternConditionConfig, Rule,
    RuleCondition, RulePriorityPair,
};
use ecsctl_graph::{Kind, STACK_TAG};
use ecsctl_provider::{Attrs, Call, Created, ErrorClass, Live, Orphan, ProviderError, ReadItem};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

pub struct LbListenerRule;

#[async_trait]
impl Handler for LbListenerRule {
    async fn create(&self, req: &Req<'_>) -> Res<Created> {
        let Req {
            aws, call, args, ..
        } = *req;
        let priority = int32(args, "priority")?;
        let err = match create_at(aws, args, priority).await {
            Err(e) if e.code.as_deref() == Some("PriorityInUse") => e,
            done => return done,
        };
        // The priority is held. When the holder is this stack's (the rule of a renamed
        // service, deleted later in this apply, or one moving to another priority), park
        // behind it at `PARKED + priority`: the holder keeps routing until it goes or
        // moves, and then hands the priority over (see `hand_over`).
        let parked = park_at(aws, args, priority, err).await?;
        let created = create_at(aws, args, parked).await?;
        take_if_free(call, aws, &created.id, priority, parked).await;
        Ok(created)
    }

    async fn find(&self, req: &Req<'_>) -> Res<Option<Created>> {
        let Req {
            aws, call, args, ..
        } = *req;
        let Some(stack) = stack_of(args) else {
            return Ok(None);
        };
        let listener = args::str(args, "listener_arn")?;
        let arns = match rules_of(aws, listener).await {
            Ok(arns) => arns,
            Err(e) if e.class == ErrorClass::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let tags = tags_of(aws, &arns).await?;
        Ok(arns
            .iter()
            .find(|arn| {
                tags.get(*arn)
                    .is_some_and(|t| is_ours(t, stack, call.address))
            })
            .map(|arn| created(arn)))
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
        // The priority moves with a call of its own (SetRulePriorities).
        if args::settings_changed(Kind::LbListenerRule, old, new, &["priority"]) {
            tracing::debug!(id, "elbv2 ModifyRule");
            aws.elbv2
                .modify_rule()
                .rule_arn(id)
                .set_conditions(Some(conditions(new)?))
                .actions(forward(new)?)
                .send()
                .await
                .map_err(error::map)?;
        }
        let moved = old.get("priority") != new.get("priority");
        if moved {
            // Services reordered: the new priority may still be held by the stack's rule
            // that moves away from it in this apply. Park behind it; its move hands over.
            let want = int32(new, "priority")?;
            match set_priority(aws, id, want).await {
                Err(e) if e.code.as_deref() == Some("PriorityInUse") => {
                    let parked = park_at(aws, new, want, e).await?;
                    set_priority(aws, id, parked).await?;
                    take_if_free(req.call, aws, id, want, parked).await;
                }
                done => done?,
            }
        }
        retag(aws, id, old, new).await?;
        if moved {
            // Idempotent: a rule parked behind the old priority takes it now.
            hand_over(req.call, aws, old).await;
        }
        Ok(outputs.clone())
    }

    async fn delete(&self, req: &Req<'_>) -> Res<()> {
        let Req {
            aws,
            call,
            id,
            args,
            ..
        } = *req;
        tracing::debug!(id, "elbv2 DeleteRule");
        error::gone_ok(
            aws.elbv2
                .delete_rule()
                .rule_arn(id)
                .send()
                .await
                .map_err(error::map),
        )?;
        hand_over(call, aws, args).await;
        Ok(())
    }

    async fn read(&self, aws: &Clients, set: &ReadSet, items: &[ReadItem]) -> Res<Reads> {
        let mut out = BTreeMap::new();
        for chunk in items.chunks(ELB_BATCH) {
            let ids: Vec<String> = chunk.iter().map(|i| i.id.clone()).collect();
            let found = each_on_missing(&ids, |ids| describe(aws, ids)).await?;
            let by_arn: HashMap<&str, &Rule> = found
                .iter()
                .filter_map(|r| r.rule_arn().map(|a| (a, r)))
                .collect();
            let present: Vec<String> = by_arn.keys().map(|a| a.to_string()).collect();
            let tags = tags_in(aws, set, &present).await?;
            for item in chunk {
                let live = by_arn.get(item.id.as_str()).map(|r| Live {
                    args: live_args(r, &item.args, tags.get(&item.id).cloned()),
                    outputs: created(&item.id).outputs,
                });
                out.insert(item.address.clone(), live);
            }
        }
        Ok(out)
    }

    async fn tagged(&self, aws: &Clients, set: &ReadSet, stack: &str) -> Res<Vec<Orphan>> {
        let mut arns = Vec::new();
        let listeners = elb::stack_listeners(aws, set).await?.unwrap_or_default();
        for listener in listeners.iter().filter_map(|l| l.listener_arn()) {
            match rules_of(aws, listener).await {
                Ok(found) => arns.extend(found),
                Err(e) if e.class == ErrorClass::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        orphans(aws, set, Kind::LbListenerRule, stack, &arns).await
    }
}

/// A rule whose priority `p` is held waits at `PARKED + p`, behind every rule of the
/// stack (ten per service, far below) and at a place of its own, so that two renames in
/// one apply never pick the same one.
const PARKED: i32 = 45_000;
/// The highest priority a listener rule can have (ELBv2 API reference, CreateRule).
const MAX_PRIORITY: i32 = 50_000;

/// CreateRule at `priority`.
async fn create_at(aws: &Clients, args: &Attrs, priority: i32) -> Result<Created, ProviderError> {
    let listener = args::str(args, "listener_arn")?;
    tracing::debug!(listener, priority, "elbv2 CreateRule");
    // No client token; the priority is unique per listener, so a retried create fails
    // with PriorityInUse instead of duplicating, and `find` adopts the first one.
    let out = aws
        .elbv2
        .create_rule()
        .listener_arn(listener)
        .priority(priority)
        .set_conditions(Some(conditions(args)?))
        .actions(forward(args)?)
        .set_tags(Some(elb_tags(args)))
        .customize()
        .config_override(once!(aws_sdk_elasticloadbalancingv2))
        .send()
        .await
        .map_err(error::map)?;
    let arn = out
        .rules()
        .first()
        .and_then(|r| r.rule_arn())
        .ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Other,
                "CreateRule returned no rule; run the command again",
            )
        })?;
    Ok(created(arn))
}

/// After a rule was deleted or moved off the priority its arguments (`args`) name: the
/// stack's rule parked behind it (see `create`) takes that priority. The parked rule has
/// routed the same requests since the holder went, so there is no gap; moving it up
/// restores the order the stack file gives. A failure here is a note, not an error: the
/// holder is gone either way, and the next plan moves the parked rule (its priority reads
/// back as the parked one).
async fn hand_over(call: &Call<'_>, aws: &Clients, args: &Attrs) {
    let (Ok(listener), Ok(priority), Some(stack)) = (
        args::str(args, "listener_arn"),
        int32(args, "priority"),
        stack_of(args),
    ) else {
        return;
    };
    let parked = PARKED + priority;
    let result = async {
        let rules = error::not_found_ok(listener_rules(aws, listener).await)?.unwrap_or_default();
        let Some(heir) = rules
            .iter()
            .find(|r| priority_of(r) == Some(parked))
            .and_then(|r| r.rule_arn())
        else {
            return Ok(());
        };
        let tags = tags_of(aws, &[heir.to_string()]).await?;
        if tags.get(heir).and_then(|t| args::tag_value(t, STACK_TAG)) != Some(stack) {
            return Ok(());
        }
        tracing::debug!(heir, priority, "hand over");
        error::gone_ok(set_priority(aws, heir, priority).await)
    }
    .await;
    if let Err(e) = result {
        call.progress.note(
            call.address,
            &format!(
                "could not hand priority {priority} to the rule parked at {parked} ({e}); \
                 the next apply moves it"
            ),
        );
    }
}

/// Where a rule waits for `priority`, which `err` (PriorityInUse) says is held: at
/// `PARKED + priority`, when the holder is this stack's; otherwise `err`, naming the holder.
async fn park_at(aws: &Clients, args: &Attrs, priority: i32, err: ProviderError) -> Res<i32> {
    let listener = args::str(args, "listener_arn")?;
    let rules = listener_rules(aws, listener).await?;
    let Some(holder) = rules.iter().find(|r| priority_of(r) == Some(priority)) else {
        return Err(err);
    };
    let holder = holder.rule_arn().unwrap_or_default().to_string();
    let tags = tags_of(aws, std::slice::from_ref(&holder)).await?;
    let stack = stack_of(args);
    let theirs = tags
        .get(&holder)
        .and_then(|t| args::tag_value(t, STACK_TAG));
    let parked = PARKED + priority;
    if stack.is_none() || theirs != stack || parked > MAX_PRIORITY {
        let mut err = err;
        err.message = format!(
            "{}: priority {priority} is held by rule {holder}, which this stack does not \
             own; remove it or move it to another priority",
            err.message
        );
        return Err(err);
    }
    Ok(parked)
}

/// A parked rule takes its priority at once if the holder already went or moved (it may
/// have between the refusal and the parking); otherwise the holder hands it over.
async fn take_if_free(call: &Call<'_>, aws: &Clients, arn: &str, priority: i32, parked: i32) {
    match set_priority(aws, arn, priority).await {
        Ok(()) => {}
        Err(_) => call.progress.note(
            call.address,
            &format!(
                "priority {priority} is still held by another rule of this stack, which goes \
                 or moves later in this apply: waiting at priority {parked} behind it until then"
            ),
        ),
    }
}

async fn set_priority(aws: &Clients, arn: &str, priority: i32) -> Res<()> {
    tracing::debug!(arn, priority, "elbv2 SetRulePriorities");
    aws.elbv2
        .set_rule_priorities()
        .rule_priorities(
            RulePriorityPair::builder()
                .rule_arn(arn)
                .priority(priority)
                .build(),
        )
        .send()
        .await
        .map(|_| ())
        .map_err(error::map)
}

fn priority_of(r: &Rule) -> Option<i32> {
    r.priority()?.parse().ok()
}

fn created(arn: &str) -> Created {
    let mut o = Attrs::new();
    o.insert("id".into(), json!(arn));
    o.insert("arn".into(), json!(arn));
    Created {
        id: arn.to_string(),
        outputs: o,
    }
}

/// The rule's conditions: a path-pattern and/or a host-header condition.
fn conditions(args: &Attrs) -> Result<Vec<RuleCondition>, ProviderError> {
    let paths = args::strings(args, "path_patterns")?;
    let hosts = args::strings(args, "host_headers")?;
    let mut out = Vec::new();
    if !paths.is_empty() {
        out.push(
            RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(
                    PathPatternConditionConfig::builder()
                        .set_values(Some(paths))
                        .build(),
                )
                .build(),
        );
    }
    if !hosts.is_empty() {
        out.push(
            RuleCondition::builder()
                .field("host-header")
                .host_header_config(
                    HostHeaderConditionConfig::builder()
                        .set_values(Some(hosts))
                        .build(),
                )
                .build(),
        );
    }
    if out.is_empty() {
        return Err(ProviderError::new(
            ErrorClass::InvalidInput,
            "a listener rule needs at least one of `path_patterns` or `host_headers`",
        ));
    }
    Ok(out)
}

fn forward(args: &Attrs) -> Result<Action, ProviderError> {
    Ok(Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(args::str(args, "target_group_arn")?)
        .build())
}

fn live_args(r: &Rule, old: &Attrs, tags: Option<Vec<(String, String)>>) -> Attrs {
    let values = |field: &str| -> Vec<String> {
        r.conditions()
            .iter()
            .filter(|c| c.field() == Some(field))
            .flat_map(|c| {
                let configured = match field {
                    "path-pattern" => c.path_pattern_config().map(|p| p.values().to_vec()),
                    _ => c.host_header_config().map(|h| h.values().to_vec()),
                };
                configured
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| c.values().to_vec())
            })
            .collect()
    };
    let target = r
        .actions()
        .iter()
        .find(|a| a.r#type() == Some(&ActionTypeEnum::Forward))
        .and_then(|a| {
            a.target_group_arn().or_else(|| {
                a.forward_config()
                    .and_then(|f| f.target_groups().first())
                    .and_then(|t| t.target_group_arn())
            })
        });
    // A rule cannot move between listeners; its ARN names the listener's.
    let listener = r
        .rule_arn()
        .and_then(listener_of_rule)
        .map(|l| json!(l))
        .or_else(|| old.get("listener_arn").cloned())
        .unwrap_or(json!(null));
    let mut a = Attrs::new();
    a.insert("listener_arn".into(), listener);
    a.insert(
        "priority".into(),
        r.priority()
            .and_then(|p| p.parse::<i64>().ok())
            .map(|p| json!(p))
            .unwrap_or(json!(null)),
    );
    a.insert("path_patterns".into(), json!(values("path-pattern")));
    a.insert("host_headers".into(), json!(values("host-header")));
    a.insert("target_group_arn".into(), json!(target));
    a.insert("tags".into(), args::tags_json(tags.unwrap_or_default()));
    a
}

/// `arn:…:listener-rule/app/<lb>/<lb-id>/<listener-id>/<rule-id>` →
/// `arn:…:listener/app/<lb>/<lb-id>/<listener-id>`.
fn listener_of_rule(rule_arn: &str) -> Option<String> {
    let (head, _rule_id) = rule_arn.rsplit_once('/')?;
    head.contains(":listener-rule/")
        .then(|| head.replacen(":listener-rule/", ":listener/", 1))
}

async fn describe(aws: &Clients, arns: Vec<String>) -> Result<Vec<Rule>, ProviderError> {
    tracing::debug!(?arns, "elbv2 DescribeRules");
    let out = aws
        .elbv2
        .describe_rules()
        .set_rule_arns(Some(arns))
        .send()
        .await
        .map_err(error::map)?;
    Ok(out.rules().to_vec())
}

/// A listener's rules, without its default rule.
async fn listener_rules(aws: &Clients, listener: &str) -> Result<Vec<Rule>, ProviderError> {
    tracing::debug!(listener, "elbv2 DescribeRules by listener");
    let mut rules = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = aws
            .elbv2
            .describe_rules()
            .listener_arn(listener)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(error::map)?;
        rules.extend(
            out.rules()
                .iter()
                .filter(|r| r.is_default() != Some(true))
                .cloned(),
        );
        match out.next_marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_string()),
            _ => return Ok(rules),
        }
    }
}

/// The ARNs of a listener's rules, without its default rule.
async fn rules_of(aws: &Clients, listener: &str) -> Result<Vec<String>, ProviderError> {
    Ok(listener_rules(aws, listener)
        .await?
        .iter()
        .filter_map(|r| r.rule_arn().map(str::to_string))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_arn_names_its_listener() {
        let rule = "arn:aws:elasticloadbalancing:eu-west-2:123456789012:listener-rule/app/hello/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee";
        assert_eq!(
            listener_of_rule(rule).as_deref(),
            Some("arn:aws:elasticloadbalancing:eu-west-2:123456789012:listener/app/hello/50dc6c495c0c9188/f2f7dc8efc522ab2")
        );
        assert_eq!(listener_of_rule("not-an-arn"), None);
    }

    #[test]
    fn a_rule_needs_a_condition() {
        let mut args = Attrs::new();
        args.insert("path_patterns".into(), json!([]));
        args.insert("host_headers".into(), json!([]));
        assert_eq!(
            conditions(&args).unwrap_err().class,
            ErrorClass::InvalidInput
        );
        args.insert("path_patterns".into(), json!(["/api/*"]));
        args.insert("host_headers".into(), json!(["api.example.com"]));
        let c = conditions(&args).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].field(), Some("path-pattern"));
        assert_eq!(c[1].field(), Some("host-header"));
    }
}
