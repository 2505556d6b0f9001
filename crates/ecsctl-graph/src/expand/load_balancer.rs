//! The application load balancer: the ALB, one target group per service, the listener(s),
//! a rule per service after the first, and a DNS alias per service in the private zone.

use super::security::HTTPS_PORT;
use super::{addr, int, map, resource, Ctx};
use crate::{Address, Graph, Value};

pub(super) fn expand(ctx: &Ctx, g: &mut Graph) {
    let lb_cfg = &ctx.stack.load_balancer;
    let lb = addr::lb();
    let azs = ctx.az_count();
    g.add(
        resource(
            &lb,
            [
                ("name", Value::str(ctx.name())),
                ("internal", Value::Bool(false)),
                ("type", Value::str("application")),
                (
                    "subnet_ids",
                    Value::List(
                        (0..azs)
                            .map(|i| addr::public_subnet(i).attr("id"))
                            .collect(),
                    ),
                ),
                (
                    "security_group_ids",
                    Value::List(vec![addr::alb_sg().attr("id")]),
                ),
                ("idle_timeout", lb_cfg.idle_timeout.into()),
                ("tags", ctx.tags(&lb, ctx.name())),
            ],
        )
        // AWS refuses an internet-facing load balancer in a VPC whose internet gateway is not
        // attached yet (InvalidSubnet "VPC ... has no internet gateway"), and on destroy the
        // public route must outlive it while it drains.
        .after(&addr::public_route_table()),
    );

    for s in &ctx.stack.services {
        let tg = addr::target_group(&s.name);
        let name = target_group_name(ctx, &s.name, s.container_port);
        g.add(resource(
            &tg,
            [
                ("name", Value::str(&name)),
                // Targets register on their dynamic host port; this is only the default.
                ("port", s.container_port.into()),
                ("protocol", Value::str("HTTP")),
                ("vpc_id", addr::vpc().attr("id")),
                ("target_type", Value::str("instance")),
                (
                    "health_check",
                    map([
                        ("path", Value::str(&s.health_check_path)),
                        ("matcher", Value::str("200-399")),
                        ("interval", Value::int(15)),
                        ("timeout", Value::int(5)),
                        ("healthy_threshold", Value::int(2)),
                        ("unhealthy_threshold", Value::int(3)),
                    ]),
                ),
                ("deregistration_delay", s.deregistration_delay.into()),
                ("tags", ctx.tags(&tg, &name)),
            ],
        ));
    }

    let Some(first) = ctx.stack.services.first() else {
        return;
    };
    let forward = map([
        ("type", Value::str("forward")),
        (
            "target_group_arn",
            addr::target_group(&first.name).attr("arn"),
        ),
    ]);
    let serving = serving_listener(ctx);
    match &lb_cfg.certificate_arn {
        None => listener(ctx, g, lb_cfg.listen_port, "HTTP", Value::Null, forward),
        Some(cert) => {
            if lb_cfg.listen_port != HTTPS_PORT {
                let redirect = map([
                    ("type", Value::str("redirect")),
                    ("port", Value::String(HTTPS_PORT.to_string())),
                    ("protocol", Value::str("HTTPS")),
                    ("status_code", Value::str("HTTP_301")),
                ]);
                listener(ctx, g, lb_cfg.listen_port, "HTTP", Value::Null, redirect);
            }
            listener(ctx, g, HTTPS_PORT, "HTTPS", Value::str(cert), forward);
        }
    }

    for (i, s) in ctx.stack.services.iter().enumerate().skip(1) {
        let rule = addr::listener_rule(&s.name);
        let name = ctx.named(&s.name);
        g.add(resource(
            &rule,
            [
                ("listener_arn", serving.attr("arn")),
                ("priority", int(i * 10)),
                (
                    "path_patterns",
                    Value::list(s.path.iter().map(String::as_str)),
                ),
                (
                    "host_headers",
                    Value::list(s.host.iter().map(String::as_str)),
                ),
                ("target_group_arn", addr::target_group(&s.name).attr("arn")),
                ("tags", ctx.tags(&rule, &name)),
            ],
        ));
    }

    if let Some(dns) = &ctx.stack.dns {
        for s in &ctx.stack.services {
            g.add(resource(
                &addr::dns_record(&s.name),
                [
                    ("zone_id", addr::zone().attr("id")),
                    ("name", Value::String(format!("{}.{}", s.name, dns.zone))),
                    ("type", Value::str("A")),
                    (
                        "alias_target",
                        map([
                            ("dns_name", lb.attr("dns_name")),
                            ("hosted_zone_id", lb.attr("zone_id")),
                            ("evaluate_target_health", Value::Bool(true)),
                        ]),
                    ),
                ],
            ));
        }
    }
}

/// The listener that forwards to the services: HTTPS when a certificate is set (plain HTTP
/// then only redirects), HTTP otherwise.
pub(crate) fn serving_listener(ctx: &Ctx) -> Address {
    if ctx.stack.load_balancer.certificate_arn.is_some() {
        addr::https_listener()
    } else {
        addr::http_listener()
    }
}

fn listener(
    ctx: &Ctx,
    g: &mut Graph,
    port: u16,
    protocol: &str,
    certificate: Value,
    action: Value,
) {
    let a = if protocol == "HTTPS" {
        addr::https_listener()
    } else {
        addr::http_listener()
    };
    let name = ctx.named(&a.name);
    g.add(resource(
        &a,
        [
            ("load_balancer_arn", addr::lb().attr("arn")),
            ("port", port.into()),
            ("protocol", Value::str(protocol)),
            ("certificate_arn", certificate),
            ("default_action", action),
            ("tags", ctx.tags(&a, &name)),
        ],
    ));
}

/// AWS's limit on target group names.
const TARGET_GROUP_NAME_MAX: usize = 32;

/// A target group's name: `<stack>-<service>-<h>`, `h` four hex digits of what forces its
/// replacement (the service, its container port, the VPC's CIDR). A replacement then has a
/// new name, so it is created before the old one is deleted: the listener, its rules and the
/// service move to the new group, then the old goes. With one name the old group would have
/// to go first, while the listener still forwards to it (AWS: ResourceInUse), and the
/// listener could only move once the new one exists: a deadlock. Names are unique per
/// region and account, at most 32 characters: a long `<stack>-<service>` is shortened.
pub(crate) fn target_group_name(ctx: &Ctx, service: &str, port: impl std::fmt::Display) -> String {
    let key = format!("{service}|{port}|{}", ctx.stack.network.cidr);
    let h = fnv1a(key.as_bytes());
    let suffix = format!("-{:04x}", (h ^ (h >> 16)) & 0xffff);
    let base = ctx.named(service);
    let room = TARGET_GROUP_NAME_MAX - suffix.len();
    let base = if base.len() > room {
        base[..room].trim_end_matches('-')
    } else {
        base.as_str()
    };
    format!("{base}{suffix}")
}

/// 32-bit FNV-1a: stable across Rust versions and platforms (names must not change when
/// ecsctl is rebuilt).
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::super::{test_stack, Data};
    use super::*;

    fn graph(stack: &ecsctl_stack::Stack) -> Graph {
        let mut g = Graph::new();
        expand(
            &Ctx {
                stack,
                data: &Data::default(),
            },
            &mut g,
        );
        g
    }

    #[test]
    fn a_certificate_redirects_http_and_serves_https() {
        let mut stack = test_stack::hello();
        stack.load_balancer.certificate_arn = Some("arn:aws:acm:eu-west-2:1:certificate/x".into());
        let mut api = test_stack::service("api");
        api.path = Some("/api/*".into());
        stack.services.push(api);
        let g = graph(&stack);
        let http = g.get(&addr::http_listener()).unwrap();
        let Value::Map(action) = &http.args["default_action"] else {
            panic!("an action map")
        };
        assert_eq!(action["type"], Value::str("redirect"));
        assert_eq!(action["status_code"], Value::str("HTTP_301"));
        let https = g.get(&addr::https_listener()).unwrap();
        assert_eq!(https.args["port"], Value::int(443));
        let rule = g.get(&addr::listener_rule("api")).unwrap();
        assert_eq!(
            rule.args["listener_arn"],
            addr::https_listener().attr("arn")
        );
        assert_eq!(rule.args["path_patterns"], Value::list(["/api/*"]));
        assert_eq!(rule.args["host_headers"], Value::List(vec![]));
    }

    #[test]
    fn listening_on_443_with_a_certificate_needs_no_redirect_listener() {
        let mut stack = test_stack::hello();
        stack.load_balancer.listen_port = 443;
        stack.load_balancer.certificate_arn = Some("arn:aws:acm:eu-west-2:1:certificate/x".into());
        let g = graph(&stack);
        assert!(g.get(&addr::http_listener()).is_none());
        assert!(g.get(&addr::https_listener()).is_some());
    }
}
