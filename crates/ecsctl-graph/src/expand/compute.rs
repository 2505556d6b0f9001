//! The cluster and its instances: ECS cluster, launch template, Auto Scaling group and its
//! target-tracking policy.

use super::{addr, int, map, resource, Ctx};
use crate::{Graph, Value};
use ecsctl_stack::Ami;

/// The root device of the ECS-optimised Amazon Linux AMIs.
const ROOT_DEVICE: &str = "/dev/xvda";
/// The IMDSv2 PUT response hop limit: the instance itself, not its bridge-mode containers.
pub(crate) const METADATA_HOP_LIMIT: i64 = 1;
/// Seconds an instance may boot before the ASG health checks count.
const ASG_GRACE_PERIOD: usize = 60;

pub(super) fn expand(ctx: &Ctx, g: &mut Graph) {
    let c = &ctx.stack.cluster;
    let cluster = addr::cluster();
    g.add(resource(
        &cluster,
        [
            ("name", Value::str(ctx.name())),
            ("container_insights", Value::Bool(false)),
            ("tags", ctx.tags(&cluster, ctx.name())),
        ],
    ));

    let lt = addr::launch_template();
    let lt_name = ctx.named("instances");
    let image_id = match &c.ami {
        Ami::Id(id) => Value::str(id),
        Ami::Ssm(_) => super::known(ctx.data.ami_id.as_deref()),
    };
    g.add(
        resource(
            &lt,
            [
                ("name", Value::str(&lt_name)),
                ("image_id", image_id),
                ("instance_type", Value::str(&c.instance_type)),
                (
                    "iam_instance_profile_arn",
                    addr::instance_profile().attr("arn"),
                ),
                (
                    "security_group_ids",
                    Value::List(vec![addr::instances_sg().attr("id")]),
                ),
                ("user_data", Value::String(user_data(ctx.name()))),
                (
                    "key_name",
                    c.key_name.as_deref().map_or(Value::Null, Value::str),
                ),
                ("metadata_http_tokens", Value::str("required")),
                // Bridge-mode containers are one hop from the instance: a limit of 1 keeps
                // the instance role's credentials out of their reach (the agent runs on
                // the host network; task roles come from the ECS credentials endpoint).
                // AL2023 images default to 2 for containers' sake.
                ("metadata_hop_limit", Value::int(METADATA_HOP_LIMIT)),
                (
                    "root_volume",
                    map([
                        ("device_name", Value::str(ROOT_DEVICE)),
                        ("size_gb", c.root_volume_size.into()),
                        ("volume_type", Value::str("gp3")),
                        ("encrypted", Value::Bool(true)),
                    ]),
                ),
                ("tags", ctx.tags(&lt, &lt_name)),
            ],
        )
        // The user data names the cluster the instances join.
        .after(&cluster),
    );

    let asg = addr::asg();
    let azs = ctx.az_count();
    let mut group = resource(
        &asg,
        [
            ("name", Value::str(&lt_name)),
            ("launch_template_id", lt.attr("id")),
            ("launch_template_version", lt.attr("latest_version")),
            ("min_size", c.min_size.into()),
            ("max_size", c.max_size.into()),
            ("desired_capacity", c.desired_capacity.into()),
            (
                "subnet_ids",
                Value::List(
                    (0..azs)
                        .map(|i| addr::private_subnet(i).attr("id"))
                        .collect(),
                ),
            ),
            ("health_check_grace_period", int(ASG_GRACE_PERIOD)),
            // Apply waits until the minimum of instances has joined it.
            ("cluster", Value::str(ctx.name())),
            ("tags", ctx.tags(&asg, &lt_name)),
        ],
    )
    .after(&cluster)
    // The instances' agents reach ECS through the NAT and the public route: on destroy
    // both must outlive the group, or terminated instances stay registered (ECS
    // deregisters only instances whose agent is connected) and the drain hangs.
    .after(&addr::public_route_table());
    // Instances in private subnets need the NAT route to register with the cluster.
    for i in 0..azs {
        group = group.after(&addr::private_route_table(i));
    }
    g.add(group);

    if let Some(scaling) = &c.scaling {
        let policy = addr::scaling_policy();
        g.add(resource(
            &policy,
            [
                ("name", Value::String(ctx.named("cpu-target"))),
                ("autoscaling_group_name", asg.attr("id")),
                ("target_cpu", number(scaling.cpu_target)),
            ],
        ));
    }
}

/// The instances' user data: join the cluster, enable the task metadata endpoint, let
/// awslogs use the task execution role.
pub(crate) fn user_data(cluster: &str) -> String {
    format!(
        "#!/bin/bash\n\
         # Written by ecsctl: join ECS cluster {cluster}.\n\
         cat >> /etc/ecs/ecs.config <<'ECSCTL'\n\
         ECS_CLUSTER={cluster}\n\
         ECS_ENABLE_CONTAINER_METADATA=true\n\
         ECS_ENABLE_AWSLOGS_EXECUTIONROLE_OVERRIDE=true\n\
         ECSCTL\n"
    )
}

/// A number value; an integral target is an integer (`60`), as the provider reads it back.
fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        Value::int(x as i64)
    } else {
        serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_data_joins_the_cluster() {
        let script = user_data("hello");
        assert!(script.starts_with("#!/bin/bash\n"));
        assert!(script.contains("/etc/ecs/ecs.config"));
        assert!(script.lines().any(|l| l == "ECS_CLUSTER=hello"));
        assert!(script
            .lines()
            .any(|l| l == "ECS_ENABLE_CONTAINER_METADATA=true"));
    }

    #[test]
    fn cpu_targets_are_numbers() {
        assert_eq!(number(60.0), Value::int(60));
        assert_eq!(
            number(42.5),
            Value::Number(serde_json::Number::from_f64(42.5).unwrap())
        );
    }
}
