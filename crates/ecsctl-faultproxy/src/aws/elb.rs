//! ELBv2 rules: names, the internet gateway an internet-facing load balancer needs, the
//! network interfaces a deleted load balancer leaves behind, tags, and the target groups
//! whose listener ECS does not see at once.

use super::limits::{elb_name_problem, tags_problem};
use super::request::{xml_items, xml_texts, Req};
use super::upstream::Upstream;
use super::{Refusal, RuleDoc, Rules};
use std::collections::BTreeMap;

pub(crate) const NAMES: RuleDoc = RuleDoc {
    name: "elbv2-names",
    calls: "elasticloadbalancing:CreateLoadBalancer, elasticloadbalancing:CreateTargetGroup",
    behaviour: "Names have at most 32 alphanumeric characters or hyphens, do not begin or end \
                with a hyphen, and a load balancer's does not begin with `internal-` \
                (ValidationError).",
    source: "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html (Name); \
             API_CreateTargetGroup.html (Name)",
};

pub(crate) const NEEDS_IGW: RuleDoc = RuleDoc {
    name: "elbv2-internet-facing-needs-igw",
    calls: "elasticloadbalancing:CreateLoadBalancer",
    behaviour: "An internet-facing load balancer in a VPC with no internet gateway attached is \
                refused: InvalidSubnet `VPC vpc-... has no internet gateway`.",
    source: "https://github.com/giantswarm/aws-operator/pull/1231; \
             https://github.com/openshift/installer/issues/1110",
};

pub(crate) const ENIS_LINGER: RuleDoc = RuleDoc {
    name: "elbv2-network-interfaces-linger",
    calls: "elasticloadbalancing:DeleteLoadBalancer",
    behaviour: "After DeleteLoadBalancer its network interfaces (description `ELB app/<name>/<id>`) \
                stay in its subnets, holding its security groups, for a while (minutes on AWS; \
                the layer's `eni_linger`), so deleting those groups or subnets meets \
                DependencyViolation until they are gone.",
    source: "https://github.com/hashicorp/terraform-provider-aws/issues/40; \
             terraform-provider-aws internal/service/elbv2/load_balancer.go (cleanupALBNetworkInterfaces: \
             \"the cleanup is asynchronous and may take time which then blocks IGW, SG or VPC on deletion\")",
};

pub(crate) const TAGS: RuleDoc = RuleDoc {
    name: "elbv2-tags",
    calls: "elasticloadbalancing:Create*, elasticloadbalancing:AddTags",
    behaviour: "At most 50 tags a resource (TooManyTags), keys of 1-128 and values of at most \
                256 characters (ValidationError).",
    source: "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_AddTags.html",
};

pub(crate) async fn before(
    _rules: &Rules,
    req: &Req<'_>,
    up: &Upstream,
) -> Option<(&'static str, Refusal)> {
    let tags = tags_of(req);
    if let Some(problem) = tags_problem(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        let code = if tags.len() > 50 {
            "TooManyTags"
        } else {
            "ValidationError"
        };
        return Some((TAGS.name, Refusal::new(400, code, problem)));
    }
    match req.call.action.as_str() {
        "CreateLoadBalancer" => {
            let name = req.param("Name").unwrap_or("");
            if let Some(problem) = elb_name_problem(name, true) {
                return Some((NAMES.name, Refusal::new(400, "ValidationError", problem)));
            }
            let internal = req.param("Scheme") == Some("internal");
            let lb_type = req.param("Type").unwrap_or("application");
            if internal || lb_type == "gateway" {
                return None;
            }
            let subnets: Vec<&str> = req
                .params_like("Subnets.member.", "")
                .into_iter()
                .map(|(_, v)| v)
                .collect();
            let subnet = subnets.first()?;
            let xml = up.ec2("DescribeSubnets", &[("SubnetId.1", subnet)]).await?;
            let vpc = xml_texts(&xml, "vpcId").into_iter().next()?;
            let igws = up
                .ec2(
                    "DescribeInternetGateways",
                    &[
                        ("Filter.1.Name", "attachment.vpc-id"),
                        ("Filter.1.Value.1", &vpc),
                    ],
                )
                .await?;
            xml_texts(&igws, "internetGatewayId").is_empty().then(|| {
                (
                    NEEDS_IGW.name,
                    Refusal::new(
                        400,
                        "InvalidSubnet",
                        format!("VPC {vpc} has no internet gateway"),
                    ),
                )
            })
        }
        "CreateTargetGroup" => {
            let name = req.param("Name").unwrap_or("");
            elb_name_problem(name, false)
                .map(|p| (NAMES.name, Refusal::new(400, "ValidationError", p)))
        }
        _ => None,
    }
}

/// `Tags.member.N.Key` / `.Value` pairs.
fn tags_of(req: &Req) -> Vec<(String, String)> {
    let mut tags: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (k, v) in req.params_like("Tags.member.", "") {
        let rest = &k["Tags.member.".len()..];
        let Some((n, field)) = rest.split_once('.') else {
            continue;
        };
        let e = tags.entry(n.to_string()).or_default();
        match field {
            "Key" => e.0 = v.to_string(),
            "Value" => e.1 = v.to_string(),
            _ => {}
        }
    }
    tags.into_values().collect()
}

pub(crate) async fn after(rules: &Rules, req: &Req<'_>, _answer: &str, _up: &Upstream) {
    // A listener or rule that forwards to a target group: ECS learns of the association
    // a little later (see ecs::TARGET_GROUP_ASSOCIATION).
    if matches!(
        req.call.action.as_str(),
        "CreateListener" | "CreateRule" | "ModifyListener" | "ModifyRule"
    ) {
        let account = req.account();
        let mut mem = rules.mem();
        for (_, arn) in req.params_like("", "TargetGroupArn") {
            mem.fresh_target_groups
                .insert((account.clone(), arn.to_string()));
        }
    }
}

/// A load balancer about to be deleted: where its interfaces are.
pub(crate) struct Deleted {
    description: String,
    subnets: Vec<String>,
    groups: Vec<String>,
}

pub(crate) async fn prepare_delete(req: &Req<'_>, up: &Upstream) -> super::Prepared {
    let Some(arn) = req.param("LoadBalancerArn") else {
        return super::Prepared::Nothing;
    };
    let Some(xml) = up
        .elbv2(
            "DescribeLoadBalancers",
            &[("LoadBalancerArns.member.1", arn)],
        )
        .await
    else {
        return super::Prepared::Nothing;
    };
    // arn:aws:elasticloadbalancing:REGION:ACCOUNT:loadbalancer/app/NAME/ID
    let Some(suffix) = arn.split_once(":loadbalancer/").map(|(_, s)| s) else {
        return super::Prepared::Nothing;
    };
    let groups = xml_items(&xml, "SecurityGroups")
        .first()
        .map(|g| xml_texts(g, "member"))
        .unwrap_or_default();
    super::Prepared::LoadBalancer(Deleted {
        description: format!("ELB {suffix}"),
        subnets: xml_texts(&xml, "SubnetId"),
        groups,
    })
}

/// Leaves the deleted load balancer's interfaces behind for `eni_linger`, then removes them.
/// The interfaces exist before the delete's answer goes back, as on AWS.
pub(crate) async fn linger(rules: &Rules, lb: Deleted, up: Upstream) {
    let linger = rules.settings.eni_linger;
    if linger.is_zero() {
        return;
    }
    let mut made = Vec::new();
    {
        for subnet in &lb.subnets {
            let mut params: Vec<(String, String)> = vec![
                ("SubnetId".into(), subnet.clone()),
                ("Description".into(), lb.description.clone()),
            ];
            for (i, g) in lb.groups.iter().enumerate() {
                params.push((format!("SecurityGroupId.{}", i + 1), g.clone()));
            }
            let refs: Vec<(&str, &str)> = params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            if let Some(xml) = up.ec2("CreateNetworkInterface", &refs).await {
                made.extend(xml_texts(&xml, "networkInterfaceId").into_iter().take(1));
            }
        }
    }
    tokio::spawn(async move {
        tokio::time::sleep(linger).await;
        for id in made {
            let _ = up
                .ec2("DeleteNetworkInterface", &[("NetworkInterfaceId", &id)])
                .await;
        }
    });
}
