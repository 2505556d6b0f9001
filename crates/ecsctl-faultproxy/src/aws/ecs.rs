//! ECS rules: the service-linked role of a fresh account, target groups whose listener ECS
//! does not see yet, clusters that still hold container instances, tags.

use super::limits::tags_problem;
use super::request::Req;
use super::upstream::Upstream;
use super::{Refusal, RuleDoc, Rules};
use serde_json::{json, Value};

pub(crate) const SERVICE_LINKED_ROLE: RuleDoc = RuleDoc {
    name: "ecs-service-linked-role",
    calls: "ecs:CreateCluster",
    behaviour: "On a fresh account the first CreateCluster creates the ECS service-linked role \
                and is refused while it propagates: InvalidParameterException `Unable to \
                assume the service linked role. Please verify that the ECS service linked role \
                exists.` (refused once per account here).",
    source: "https://github.com/awslabs/fargatecli/issues/35; terraform-provider-aws \
             internal/service/ecs/cluster.go retryClusterCreate (retries this message for 2 minutes)",
};

pub(crate) const TARGET_GROUP_ASSOCIATION: RuleDoc = RuleDoc {
    name: "ecs-target-group-association",
    calls: "ecs:CreateService, ecs:UpdateService",
    behaviour: "Right after a listener or rule starts forwarding to a target group, ECS does not \
                see the association yet: InvalidParameterException `The target group with \
                targetGroupArn ... does not have an associated load balancer.` (refused once \
                per target group here).",
    source: "https://github.com/trussworks/terraform-aws-ecs-service/issues/335; \
             terraform-provider-aws internal/service/ecs/service.go retryServiceCreate (retries \
             `does not have an associated load balancer` and `verify that the ECS service role \
             being passed has the proper permissions` for 4 minutes)",
};

pub(crate) const CLUSTER_WITH_INSTANCES: RuleDoc = RuleDoc {
    name: "ecs-cluster-with-instances",
    calls: "ecs:DeleteCluster",
    behaviour: "A cluster with registered container instances cannot be deleted: \
                ClusterContainsContainerInstancesException `The Cluster cannot be deleted \
                while Container Instances are active or draining.`",
    source: "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteCluster.html; \
             https://github.com/aws-samples/aws-scalable-big-blue-button-example/issues/79",
};

pub(crate) const TAGS: RuleDoc = RuleDoc {
    name: "ecs-tags",
    calls: "ecs:CreateCluster, ecs:CreateService, ecs:RegisterTaskDefinition, ecs:TagResource",
    behaviour: "At most 50 tags a resource, keys of 1-128 and values of at most 256 characters, \
                no `aws:` prefix (InvalidParameterException).",
    source: "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Tag.html",
};

pub(crate) async fn before(
    rules: &Rules,
    req: &Req<'_>,
    up: &Upstream,
) -> Option<(&'static str, Refusal)> {
    let body = req.json()?;
    if let Some(tags) = body.get("tags").and_then(Value::as_array) {
        let pairs = tags.iter().map(|t| {
            (
                t.get("key").and_then(Value::as_str).unwrap_or(""),
                t.get("value").and_then(Value::as_str).unwrap_or(""),
            )
        });
        if let Some(problem) = tags_problem(pairs) {
            return Some((
                TAGS.name,
                Refusal::new(400, "InvalidParameterException", problem),
            ));
        }
    }
    match req.call.action.as_str() {
        "CreateCluster" => {
            let fresh = rules.mem().service_linked_role.insert(req.account());
            fresh.then(|| {
                (
                    SERVICE_LINKED_ROLE.name,
                    Refusal::new(
                        400,
                        "InvalidParameterException",
                        "Unable to assume the service linked role. Please verify that the ECS \
                         service linked role exists.",
                    ),
                )
            })
        }
        "CreateService" | "UpdateService" => {
            let account = req.account();
            let lbs = body.get("loadBalancers").and_then(Value::as_array)?;
            for lb in lbs {
                let Some(arn) = lb.get("targetGroupArn").and_then(Value::as_str) else {
                    continue;
                };
                if rules
                    .mem()
                    .fresh_target_groups
                    .remove(&(account.clone(), arn.to_string()))
                {
                    return Some((
                        TARGET_GROUP_ASSOCIATION.name,
                        Refusal::new(
                            400,
                            "InvalidParameterException",
                            format!(
                                "The target group with targetGroupArn {arn} does not have an \
                                 associated load balancer."
                            ),
                        ),
                    ));
                }
            }
            None
        }
        "DeleteCluster" => {
            let cluster = body.get("cluster").and_then(Value::as_str)?;
            let listed = up
                .ecs("ListContainerInstances", json!({ "cluster": cluster }))
                .await?;
            let any = listed
                .get("containerInstanceArns")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty());
            any.then(|| {
                (
                    CLUSTER_WITH_INSTANCES.name,
                    Refusal::new(
                        400,
                        "ClusterContainsContainerInstancesException",
                        "The Cluster cannot be deleted while Container Instances are active or \
                         draining.",
                    ),
                )
            })
        }
        _ => None,
    }
}
