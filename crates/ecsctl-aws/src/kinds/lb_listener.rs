//! `lb_listener`: a listener on the load balancer (ELBv2 CreateListener / ModifyListener /
//! DeleteListener). The id is the listener's ARN.
//!
//! `default_action` is `{type: "forward", target_group_arn}` or `{type: "redirect", port,
//! protocol, status_code}` (`status_code` as AWS spells it: `HTTP_301` / `HTTP_302`; `port`
//! a number or a string such as `"#{port}"`, read back in the same JSON type).

use super::elb::{
    self, elb_tags, listed_or_described, orphans, retag, tags_in, tags_of, ELB_BATCH,
};
use crate::args::{int32, int_or_str, is_ours, like, stack_of};
use crate::kinds::Handler;
use crate::kinds::{Reads, Req, Res};
use crate::read_set::ReadSet;
use crate::retry::once;
use crate::{args, error, Clients};
use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, Listener, ProtocolEnum, RedirectActionConfig,
    RedirectActionStatusCodeEnum,
};
use ecsctl_graph::Kind;
use ecsctl_provider::{Attrs, Created, ErrorClass, Live, Orphan, ProviderError, ReadItem};
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, HashMap};

/// The TLS policy of HTTPS listeners: TLS 1.3 and 1.2 only.
pub(crate) const SSL_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";

pub struct LbListener;

#[async_trait]
impl Handler for LbListener {
    async fn create(&self, req: &Req<'_>) -> Res<Created> {
        let Req { aws, args, .. } = *req;
        let lb = args::str(args, "load_balancer_arn")?;
        let protocol = args::str(args, "protocol")?;
        let mut req = aws
            .elbv2
            .create_listener()
            .load_balancer_arn(lb)
            .port(int32(args, "port")?)
            .protocol(ProtocolEnum::from(protocol))
            .default_actions(default_action(args)?)
            .set_tags(Some(elb_tags(args)));
        if let Some(cert) = certificate(args, protocol)? {
            req = req.certificates(cert).ssl_policy(SSL_POLICY);
        }
        tracing::debug!(lb, "elbv2 CreateListener");
        // No client token; a repeated CreateListener with the same settings returns the
        // existing listener, and the port is unique per load balancer.
        let out = req
            .customize()
            .config_override(once!(aws_sdk_elasticloadbalancingv2))
            .send()
            .await
            .map_err(error::map)?;
        let arn = out
            .listeners()
            .first()
            .and_then(|l| l.listener_arn())
            .ok_or_else(|| {
                ProviderError::new(
                    ErrorClass::Other,
                    "CreateListener returned no listener; run the command again",
                )
            })?;
        Ok(created(arn))
    }

    async fn find(&self, req: &Req<'_>) -> Res<Option<Created>> {
        let Req {
            aws, call, args, ..
        } = *req;
        let Some(stack) = stack_of(args) else {
            return Ok(None);
        };
        let lb = args::str(args, "load_balancer_arn")?;
        let arns: Vec<String> = match elb::listeners_of(aws, lb).await {
            Ok(found) => found
                .iter()
                .filter_map(|l| l.listener_arn().map(str::to_string))
                .collect(),
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
        if args::settings_changed(Kind::LbListener, old, new, &[]) {
            let protocol = args::str(new, "protocol")?;
            // Every setting is sent, not only the changed ones: ModifyListener replaces the
            // default actions as a whole, and an HTTPS listener needs its certificate.
            let mut req = aws
                .elbv2
                .modify_listener()
                .listener_arn(id)
                .port(int32(new, "port")?)
                .protocol(ProtocolEnum::from(protocol))
                .default_actions(default_action(new)?);
            if let Some(cert) = certificate(new, protocol)? {
                req = req.certificates(cert).ssl_policy(SSL_POLICY);
            }
            tracing::debug!(id, "elbv2 ModifyListener");
            req.send().await.map_err(error::map)?;
        }
        retag(aws, id, old, new).await?;
        Ok(outputs.clone())
    }

    async fn delete(&self, req: &Req<'_>) -> Res<()> {
        let Req { aws, id, .. } = *req;
        tracing::debug!(id, "elbv2 DeleteListener");
        error::gone_ok(
            aws.elbv2
                .delete_listener()
                .listener_arn(id)
                .send()
                .await
                .map_err(error::map),
        )
    }

    async fn read(&self, aws: &Clients, set: &ReadSet, items: &[ReadItem]) -> Res<Reads> {
        // With a stack, from the listing orphan discovery makes anyway.
        let listing = elb::stack_listeners(aws, set).await?;
        let mut out = BTreeMap::new();
        for chunk in items.chunks(ELB_BATCH) {
            let ids: Vec<String> = chunk.iter().map(|i| i.id.clone()).collect();
            let found = listed_or_described(listing, &ids, Listener::listener_arn, |ids| {
                describe(aws, ids)
            })
            .await?;
            let by_arn: HashMap<&str, &Listener> = found
                .iter()
                .filter_map(|l| l.listener_arn().map(|a| (a, l)))
                .collect();
            let present: Vec<String> = by_arn.keys().map(|a| a.to_string()).collect();
            let tags = tags_in(aws, set, &present).await?;
            for item in chunk {
                let live = by_arn.get(item.id.as_str()).map(|l| Live {
                    args: live_args(l, &item.args, tags.get(&item.id).cloned()),
                    outputs: created(&item.id).outputs,
                });
                out.insert(item.address.clone(), live);
            }
        }
        Ok(out)
    }

    async fn tagged(&self, aws: &Clients, set: &ReadSet, stack: &str) -> Res<Vec<Orphan>> {
        let arns: Vec<String> = elb::stack_listeners(aws, set)
            .await?
            .unwrap_or_default()
            .iter()
            .filter_map(|l| l.listener_arn().map(str::to_string))
            .collect();
        orphans(aws, set, Kind::LbListener, stack, &arns).await
    }
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

/// The certificate an HTTPS listener needs; a clear error when it is missing.
fn certificate(args: &Attrs, protocol: &str) -> Result<Option<Certificate>, ProviderError> {
    match (protocol, args::opt_str(args, "certificate_arn")) {
        ("HTTPS", Some(arn)) => Ok(Some(Certificate::builder().certificate_arn(arn).build())),
        ("HTTPS", None) => Err(ProviderError::new(
            ErrorClass::InvalidInput,
            "an HTTPS listener needs `certificate_arn` (an ACM certificate in the stack's region)",
        )),
        _ => Ok(None),
    }
}

/// The `default_action` argument as an ELBv2 action.
pub(crate) fn default_action(args: &Attrs) -> Result<Action, ProviderError> {
    let a = args::object(args, "default_action")?;
    match args::str(a, "type")? {
        "forward" => Ok(Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .target_group_arn(args::str(a, "target_group_arn")?)
            .build()),
        "redirect" => Ok(Action::builder()
            .r#type(ActionTypeEnum::Redirect)
            .redirect_config(
                RedirectActionConfig::builder()
                    .protocol(args::str(a, "protocol")?)
                    .port(int_or_str(a, "port")?)
                    .host("#{host}")
                    .path("/#{path}")
                    .query("#{query}")
                    .status_code(RedirectActionStatusCodeEnum::from(args::str(
                        a,
                        "status_code",
                    )?))
                    .build(),
            )
            .build()),
        other => Err(ProviderError::new(
            ErrorClass::InvalidInput,
            format!("default_action type `{other}` is not supported: use forward or redirect"),
        )),
    }
}

fn live_args(l: &Listener, old: &Attrs, tags: Option<Vec<(String, String)>>) -> Attrs {
    let mut a = Attrs::new();
    a.insert("load_balancer_arn".into(), json!(l.load_balancer_arn()));
    a.insert("port".into(), json!(l.port()));
    a.insert("protocol".into(), json!(l.protocol().map(|p| p.as_str())));
    a.insert(
        "certificate_arn".into(),
        json!(l.certificates().first().and_then(|c| c.certificate_arn())),
    );
    let old_action = old.get("default_action").and_then(Json::as_object);
    let action = l
        .default_actions()
        .iter()
        .find(|x| {
            matches!(
                x.r#type(),
                Some(ActionTypeEnum::Forward) | Some(ActionTypeEnum::Redirect)
            )
        })
        .or_else(|| l.default_actions().first())
        .map(|x| action_json(x, old_action))
        .unwrap_or(Json::Null);
    a.insert("default_action".into(), action);
    a.insert("tags".into(), args::tags_json(tags.unwrap_or_default()));
    a
}

/// A listener's default action in the argument's shape.
fn action_json(action: &Action, old: Option<&Attrs>) -> Json {
    match action.r#type() {
        Some(ActionTypeEnum::Forward) => {
            let tg = action.target_group_arn().or_else(|| {
                action
                    .forward_config()
                    .and_then(|f| f.target_groups().first())
                    .and_then(|t| t.target_group_arn())
            });
            json!({"type": "forward", "target_group_arn": tg})
        }
        Some(ActionTypeEnum::Redirect) => {
            let r = action.redirect_config();
            let port = r.and_then(|r| r.port()).unwrap_or("#{port}");
            json!({
                "type": "redirect",
                "port": like(old.and_then(|o| o.get("port")), port),
                "protocol": r.and_then(|r| r.protocol()),
                "status_code": r.and_then(|r| r.status_code()).map(|c| c.as_str()),
            })
        }
        other => json!({"type": other.map(|t| t.as_str().to_ascii_lowercase())}),
    }
}

async fn describe(aws: &Clients, arns: Vec<String>) -> Result<Vec<Listener>, ProviderError> {
    tracing::debug!(?arns, "elbv2 DescribeListeners");
    let out = aws
        .elbv2
        .describe_listeners()
        .set_listener_arns(Some(arns))
        .send()
        .await
        .map_err(error::map)?;
    Ok(out.listeners().to_vec())
}
