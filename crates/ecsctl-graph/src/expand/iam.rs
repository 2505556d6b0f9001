//! IAM: the instance role (only what the ECS agent needs) with its instance profile, and
//! the task execution role (pull the services' ECR images, write to their log groups).
//!
//! No statement grants a wildcard action. Resources are scoped wherever AWS supports it:
//! the cluster and its container instances, the stack's log groups and their streams, the
//! ECR repositories the services' images come from. ARNs that need the region or account
//! are `Unknown` until those are known.

use super::{addr, map, partition_of, resource, Ctx};
use crate::{Graph, Value};

/// The path every ecsctl role and instance profile lives under.
pub(crate) const IAM_PATH: &str = "/ecsctl/";

/// Agent actions scoped to the cluster and its container instances.
const AGENT_SCOPED: &[&str] = &[
    "ecs:DeregisterContainerInstance",
    "ecs:ListTagsForResource",
    "ecs:RegisterContainerInstance",
    "ecs:SubmitAttachmentStateChanges",
    "ecs:SubmitContainerStateChange",
    "ecs:SubmitTaskStateChange",
    "ecs:UpdateContainerInstancesState",
];

/// Agent actions AWS authorises on no particular resource.
const AGENT_UNSCOPED: &[&str] = &[
    "ecs:DiscoverPollEndpoint",
    "ecs:Poll",
    "ecs:PutSystemLogEvents",
    "ecs:StartTelemetrySession",
];

const ECR_PULL: &[&str] = &[
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
];

const LOG_WRITE: &[&str] = &["logs:CreateLogStream", "logs:PutLogEvents"];

/// An IAM name: `<stack>-<region>-<suffix>`. IAM names are unique in the whole account
/// (paths do not separate them), so the same stack name applied in two regions needs the
/// region in the name or the second apply would find, and take over, the first's roles.
/// Unknown until the region is (it is known at plan time, from the stack or the profile).
fn iam_name(ctx: &Ctx, suffix: &str) -> (Value, String) {
    match ctx.region() {
        Some(region) => {
            let name = format!("{}-{region}-{suffix}", ctx.name());
            (Value::str(&name), name)
        }
        None => (Value::Unknown, ctx.named(suffix)),
    }
}

pub(super) fn expand(ctx: &Ctx, g: &mut Graph) {
    let role = addr::instance_role();
    let (name, role_name) = iam_name(ctx, "instance");
    g.add(resource(
        &role,
        [
            ("name", name.clone()),
            ("path", Value::str(IAM_PATH)),
            ("assume_role_policy", trust("ec2.amazonaws.com")),
            (
                "inline_policies",
                map([("ecs-agent", document(instance_statements(ctx)))]),
            ),
            ("managed_policy_arns", Value::List(vec![])),
            ("tags", ctx.global_tags(&role, &role_name)),
        ],
    ));

    let profile = addr::instance_profile();
    g.add(resource(
        &profile,
        [
            ("name", name),
            ("path", Value::str(IAM_PATH)),
            ("role_name", role.attr("id")),
            ("tags", ctx.global_tags(&profile, &role_name)),
        ],
    ));

    let exec = addr::execution_role();
    let (name, exec_name) = iam_name(ctx, "task-execution");
    g.add(resource(
        &exec,
        [
            ("name", name),
            ("path", Value::str(IAM_PATH)),
            ("assume_role_policy", trust("ecs-tasks.amazonaws.com")),
            (
                "inline_policies",
                map([("task-execution", document(execution_statements(ctx)))]),
            ),
            ("managed_policy_arns", Value::List(vec![])),
            ("tags", ctx.global_tags(&exec, &exec_name)),
        ],
    ));
}

fn instance_statements(ctx: &Ctx) -> Vec<Value> {
    let scope = Value::List(vec![
        addr::cluster().attr("arn"),
        ctx.arn("ecs", &format!("container-instance/{}/*", ctx.name())),
    ]);
    vec![
        statement("ClusterMembership", AGENT_SCOPED, scope.clone()),
        // Tagging only as part of registering an instance, as AWS's managed policy does.
        with_condition(
            statement("TagOnRegistration", &["ecs:TagResource"], scope),
            map([(
                "StringEquals",
                map([("ecs:CreateAction", Value::str("RegisterContainerInstance"))]),
            )]),
        ),
        statement("AgentChannels", AGENT_UNSCOPED, Value::str("*")),
    ]
}

fn execution_statements(ctx: &Ctx) -> Vec<Value> {
    let mut out = Vec::new();
    let mut repos: Vec<String> = ctx
        .stack
        .services
        .iter()
        .filter_map(|s| ecr_repository_arn(&s.image))
        .collect();
    repos.sort();
    repos.dedup();
    if !repos.is_empty() {
        // GetAuthorizationToken has no resource to scope to.
        out.push(statement(
            "EcrLogin",
            &["ecr:GetAuthorizationToken"],
            Value::str("*"),
        ));
        out.push(statement(
            "PullImages",
            ECR_PULL,
            Value::List(repos.into_iter().map(Value::String).collect()),
        ));
    }
    // CreateLogStream is authorised on the group, PutLogEvents on its streams.
    let mut logs: Vec<Value> = ctx
        .stack
        .services
        .iter()
        .map(|s| addr::log_group(&s.name).attr("arn"))
        .collect();
    logs.extend(ctx.stack.services.iter().map(|s| {
        ctx.arn(
            "logs",
            &format!("log-group:{}:log-stream:*", log_group_name(ctx, &s.name)),
        )
    }));
    out.push(statement("WriteLogs", LOG_WRITE, Value::List(logs)));
    out
}

/// The CloudWatch log group of a service: `/ecsctl/<stack>/<service>`.
pub(crate) fn log_group_name(ctx: &Ctx, service: &str) -> String {
    format!("/ecsctl/{}/{service}", ctx.name())
}

/// The ARN of the private ECR repository an image comes from, `None` for any other
/// registry (public images need no permission).
///
/// `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<repo>[:tag|@digest]`
pub(crate) fn ecr_repository_arn(image: &str) -> Option<String> {
    let (host, path) = image.split_once('/')?;
    let labels: Vec<&str> = host.split('.').collect();
    let (account, region) = match labels.as_slice() {
        [account, "dkr", "ecr" | "ecr-fips", region, "amazonaws", "com"]
        | [account, "dkr", "ecr" | "ecr-fips", region, "amazonaws", "com", "cn"] => {
            (*account, *region)
        }
        _ => return None,
    };
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) || region.is_empty() {
        return None;
    }
    let repo = match path.split_once('@') {
        Some((repo, _digest)) => repo,
        None => match path.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => repo,
            _ => path,
        },
    };
    if repo.is_empty() {
        return None;
    }
    Some(format!(
        "arn:{}:ecr:{region}:{account}:repository/{repo}",
        partition_of(region)
    ))
}

fn trust(service: &str) -> Value {
    document(vec![map([
        ("Effect", Value::str("Allow")),
        ("Principal", map([("Service", Value::str(service))])),
        ("Action", Value::str("sts:AssumeRole")),
    ])])
}

fn document(statements: Vec<Value>) -> Value {
    map([
        ("Version", Value::str("2012-10-17")),
        ("Statement", Value::List(statements)),
    ])
}

fn statement(sid: &str, actions: &[&str], resource: Value) -> Value {
    map([
        ("Sid", Value::str(sid)),
        ("Effect", Value::str("Allow")),
        ("Action", Value::list(actions.iter().copied())),
        ("Resource", resource),
    ])
}

fn with_condition(statement: Value, condition: Value) -> Value {
    match statement {
        Value::Map(mut m) => {
            m.insert("Condition".into(), condition);
            Value::Map(m)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{test_stack, Data};
    use super::*;
    use crate::Address;

    fn referenced(v: &Value) -> Vec<Address> {
        v.refs().into_iter().map(|r| r.address.clone()).collect()
    }

    #[test]
    fn ecr_images_name_their_repository() {
        assert_eq!(
            ecr_repository_arn("123456789012.dkr.ecr.eu-west-2.amazonaws.com/team/api:1.2"),
            Some("arn:aws:ecr:eu-west-2:123456789012:repository/team/api".into())
        );
        assert_eq!(
            ecr_repository_arn("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/api@sha256:ab"),
            Some("arn:aws-cn:ecr:cn-north-1:123456789012:repository/api".into())
        );
        assert_eq!(
            ecr_repository_arn("123456789012.dkr.ecr.us-east-1.amazonaws.com/api"),
            Some("arn:aws:ecr:us-east-1:123456789012:repository/api".into())
        );
        for public in [
            "public.ecr.aws/docker/library/python:3.12-slim",
            "nginx:latest",
            "ghcr.io/org/app:1",
            "localhost:5000/app",
        ] {
            assert_eq!(ecr_repository_arn(public), None, "{public}");
        }
    }

    #[test]
    fn public_images_need_no_ecr_permission_and_private_ones_only_their_repo() {
        let mut stack = test_stack::hello();
        let data = Data::default();
        let ctx = Ctx {
            stack: &stack,
            data: &data,
        };
        let text = format!("{:?}", execution_statements(&ctx));
        assert!(!text.contains("ecr:"), "{text}");

        stack.services[0].image = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/api:1".into();
        let ctx = Ctx {
            stack: &stack,
            data: &data,
        };
        let statements = execution_statements(&ctx);
        let pull = statements
            .iter()
            .find_map(|s| match s {
                Value::Map(m) if m["Sid"] == Value::str("PullImages") => {
                    Some(m["Resource"].clone())
                }
                _ => None,
            })
            .expect("a pull statement");
        assert_eq!(
            pull,
            Value::list(["arn:aws:ecr:eu-west-2:123456789012:repository/api"])
        );
    }

    #[test]
    fn log_permissions_reference_every_log_group() {
        let mut stack = test_stack::hello();
        stack.services.push(test_stack::service("api"));
        let data = Data {
            account_id: Some("123456789012".into()),
            ..Data::default()
        };
        let ctx = Ctx {
            stack: &stack,
            data: &data,
        };
        let statements = execution_statements(&ctx);
        let logs = statements.last().unwrap();
        let mut refs = referenced(logs);
        refs.sort();
        assert_eq!(refs, vec![addr::log_group("api"), addr::log_group("hello")]);
        assert!(format!("{logs:?}").contains(
            "arn:aws:logs:eu-west-2:123456789012:log-group:/ecsctl/hello/api:log-stream:*"
        ));
    }
}
