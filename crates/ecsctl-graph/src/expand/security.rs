//! Security groups: the load balancer's and the instances'.
//!
//! The instances admit only the dynamic host port range, and only from the load balancer's
//! group (plus SSH from `ssh_cidrs` when set). The load balancer's egress goes to the VPC
//! CIDR rather than to the instances' group: naming that group would make the two groups
//! reference each other, a cycle no create order satisfies.

use super::{addr, map, resource, Ctx, DYNAMIC_PORT_FIRST, DYNAMIC_PORT_LAST};
use crate::{Graph, Value};
use ipnet::Ipv4Net;

/// The HTTPS port the load balancer listens on when a certificate is set.
pub(crate) const HTTPS_PORT: u16 = 443;

pub(super) fn expand(ctx: &Ctx, g: &mut Graph) {
    let vpc = addr::vpc();
    let lb = &ctx.stack.load_balancer;

    let mut alb_ingress = vec![cidr_rule(
        "tcp",
        lb.listen_port.into(),
        lb.listen_port.into(),
        &lb.allowed_cidrs,
        "clients to the listener",
    )];
    if lb.certificate_arn.is_some() && lb.listen_port != HTTPS_PORT {
        alb_ingress.push(cidr_rule(
            "tcp",
            HTTPS_PORT.into(),
            HTTPS_PORT.into(),
            &lb.allowed_cidrs,
            "clients to the HTTPS listener",
        ));
    }
    let alb_egress = vec![cidr_rule(
        "tcp",
        DYNAMIC_PORT_FIRST,
        DYNAMIC_PORT_LAST,
        &[ctx.stack.network.cidr],
        "to the container dynamic host ports",
    )];
    let alb = addr::alb_sg();
    let alb_name = ctx.named("alb");
    g.add(resource(
        &alb,
        [
            ("name", Value::str(&alb_name)),
            (
                "description",
                Value::String(format!("ecsctl {}: load balancer", ctx.name())),
            ),
            ("vpc_id", vpc.attr("id")),
            ("ingress", Value::List(alb_ingress)),
            ("egress", Value::List(alb_egress)),
            ("tags", ctx.tags(&alb, &alb_name)),
        ],
    ));

    let mut ingress = vec![map([
        ("protocol", Value::str("tcp")),
        ("from_port", Value::int(DYNAMIC_PORT_FIRST)),
        ("to_port", Value::int(DYNAMIC_PORT_LAST)),
        ("source_security_group_id", alb.attr("id")),
        (
            "description",
            Value::str("load balancer to the container dynamic host ports"),
        ),
    ])];
    if !ctx.stack.cluster.ssh_cidrs.is_empty() {
        ingress.push(cidr_rule(
            "tcp",
            22,
            22,
            &ctx.stack.cluster.ssh_cidrs,
            "SSH from ssh_cidrs",
        ));
    }
    // `Ipv4Net::default()` is 0.0.0.0/0. Instances pull images and reach the ECS, CloudWatch and ECR endpoints through the NAT.
    let egress = vec![cidr_rule(
        "-1",
        0,
        0,
        &[Ipv4Net::default()],
        "instances to anywhere (image pulls, AWS APIs)",
    )];
    let instances = addr::instances_sg();
    let name = ctx.named("instances");
    g.add(resource(
        &instances,
        [
            ("name", Value::str(&name)),
            (
                "description",
                Value::String(format!("ecsctl {}: container instances", ctx.name())),
            ),
            ("vpc_id", vpc.attr("id")),
            ("ingress", Value::List(ingress)),
            ("egress", Value::List(egress)),
            ("tags", ctx.tags(&instances, &name)),
        ],
    ));
}

fn cidr_rule(protocol: &str, from: i64, to: i64, cidrs: &[Ipv4Net], description: &str) -> Value {
    map([
        ("protocol", Value::str(protocol)),
        ("from_port", Value::int(from)),
        ("to_port", Value::int(to)),
        (
            "cidr_blocks",
            Value::List(cidrs.iter().map(|c| Value::String(c.to_string())).collect()),
        ),
        ("description", Value::str(description)),
    ])
}
