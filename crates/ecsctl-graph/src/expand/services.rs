//! Each service: its log group, task definition (bridge networking, dynamic host port) and
//! ECS service behind the load balancer.

use super::iam::log_group_name;
use super::load_balancer::serving_listener;
use super::{addr, map, resource, Ctx};
use crate::{Graph, Value};
use ecsctl_stack::Service;

pub(super) fn expand(ctx: &Ctx, g: &mut Graph) {
    let serving = serving_listener(ctx);
    for (i, s) in ctx.stack.services.iter().enumerate() {
        let name = ctx.named(&s.name);
        let group_name = log_group_name(ctx, &s.name);

        let lg = addr::log_group(&s.name);
        g.add(resource(
            &lg,
            [
                ("name", Value::str(&group_name)),
                ("retention_in_days", s.log_retention_days.into()),
                ("tags", ctx.tags(&lg, &group_name)),
            ],
        ));

        let td = addr::task_definition(&s.name);
        g.add(
            resource(
                &td,
                [
                    ("family", Value::str(&name)),
                    ("execution_role_arn", addr::execution_role().attr("arn")),
                    ("task_role_arn", Value::Null),
                    ("network_mode", Value::str("bridge")),
                    ("requires_compatibilities", Value::list(["EC2"])),
                    (
                        "container_definitions",
                        Value::List(vec![container(ctx, s, &group_name)]),
                    ),
                    ("tags", ctx.tags(&td, &name)),
                ],
            )
            // The awslogs driver needs the group to exist when the first task starts.
            .after(&lg),
        );

        let svc = addr::service(&s.name);
        let mut service = resource(
            &svc,
            [
                ("name", Value::str(&s.name)),
                ("cluster", addr::cluster().attr("arn")),
                ("task_definition", td.attr("arn")),
                ("desired_count", s.desired_count.into()),
                ("launch_type", Value::str("EC2")),
                (
                    "load_balancers",
                    Value::List(vec![map([
                        ("target_group_arn", addr::target_group(&s.name).attr("arn")),
                        ("container_name", Value::str(&s.name)),
                        ("container_port", s.container_port.into()),
                    ])]),
                ),
                (
                    "deployment",
                    map([
                        ("minimum_healthy_percent", Value::int(50)),
                        ("maximum_percent", Value::int(200)),
                        (
                            "circuit_breaker",
                            map([
                                ("enable", Value::Bool(true)),
                                ("rollback", Value::Bool(true)),
                            ]),
                        ),
                    ]),
                ),
                (
                    "health_check_grace_period",
                    s.health_check_grace_period.into(),
                ),
                (
                    "placement_strategy",
                    Value::List(vec![
                        map([
                            ("type", Value::str("spread")),
                            ("field", Value::str("attribute:ecs.availability-zone")),
                        ]),
                        map([
                            ("type", Value::str("binpack")),
                            ("field", Value::str("memory")),
                        ]),
                    ]),
                ),
                ("tags", ctx.tags(&svc, &name)),
            ],
        )
        // AWS refuses a service whose target group no listener uses; tasks need instances.
        .after(&serving)
        .after(&addr::asg());
        if i > 0 {
            service = service.after(&addr::listener_rule(&s.name));
        }
        g.add(service);
    }
}

fn container(ctx: &Ctx, s: &Service, group_name: &str) -> Value {
    let command = if s.command.is_empty() {
        Value::Null
    } else {
        Value::list(s.command.iter().map(String::as_str))
    };
    // A BTreeMap iterates sorted by name: the order ECS keeps and the plan compares.
    let environment = s
        .environment
        .iter()
        .map(|(k, v)| map([("name", Value::str(k)), ("value", Value::str(v))]))
        .collect();
    map([
        ("name", Value::str(&s.name)),
        ("image", Value::str(&s.image)),
        ("command", command),
        ("cpu", s.cpu.into()),
        ("memory", s.memory.into()),
        ("essential", Value::Bool(true)),
        (
            "port_mappings",
            Value::List(vec![map([
                ("container_port", s.container_port.into()),
                ("host_port", Value::int(0)),
                ("protocol", Value::str("tcp")),
            ])]),
        ),
        ("environment", Value::List(environment)),
        (
            "log_configuration",
            map([
                ("log_driver", Value::str("awslogs")),
                (
                    "options",
                    map([
                        ("awslogs-group", Value::str(group_name)),
                        ("awslogs-region", ctx.region_value()),
                        ("awslogs-stream-prefix", Value::str(&s.name)),
                    ]),
                ),
            ]),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::super::{test_stack, Data};
    use super::*;

    #[test]
    fn an_empty_command_is_null_and_environment_is_sorted() {
        let mut stack = test_stack::hello();
        stack.services[0].command.clear();
        stack.services[0]
            .environment
            .insert("A_FIRST".into(), "1".into());
        let data = Data::default();
        let ctx = Ctx {
            stack: &stack,
            data: &data,
        };
        let Value::Map(c) = container(&ctx, &stack.services[0], "/ecsctl/hello/hello") else {
            panic!("a container map")
        };
        assert_eq!(c["command"], Value::Null);
        let names: Vec<Value> = match &c["environment"] {
            Value::List(items) => items
                .iter()
                .map(|e| match e {
                    Value::Map(m) => m["name"].clone(),
                    _ => Value::Null,
                })
                .collect(),
            _ => vec![],
        };
        assert_eq!(names, vec![Value::str("A_FIRST"), Value::str("GREETING")]);
    }
}
