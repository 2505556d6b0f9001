//! The network: VPC, internet gateway, public and private subnets per AZ, route tables,
//! elastic IPs and NAT gateways, and the private hosted zone.

use super::{addr, map, resource, Ctx};
use crate::{Graph, Value};
use ecsctl_stack::NatMode;

/// The default route's destination.
const ANYWHERE: &str = "0.0.0.0/0";

pub(super) fn expand(ctx: &Ctx, g: &mut Graph) {
    let net = &ctx.stack.network;
    let vpc = addr::vpc();
    g.add(resource(
        &vpc,
        [
            ("cidr_block", Value::String(net.cidr.to_string())),
            ("enable_dns_support", Value::Bool(true)),
            ("enable_dns_hostnames", Value::Bool(true)),
            ("tags", ctx.tags(&vpc, ctx.name())),
        ],
    ));

    let igw = addr::igw();
    g.add(resource(
        &igw,
        [
            ("vpc_id", vpc.attr("id")),
            ("tags", ctx.tags(&igw, ctx.name())),
        ],
    ));

    let azs = ctx.az_count();
    for i in 0..azs {
        for (public, cidr) in [
            (true, net.public_subnets[i]),
            (false, net.private_subnets[i]),
        ] {
            let (a, tier) = if public {
                (addr::public_subnet(i), "public")
            } else {
                (addr::private_subnet(i), "private")
            };
            let name = ctx.named(&format!("{tier}-{}", ctx.az_label(i)));
            g.add(resource(
                &a,
                [
                    ("vpc_id", vpc.attr("id")),
                    ("cidr_block", Value::String(cidr.to_string())),
                    ("availability_zone", ctx.az_value(i)),
                    ("map_public_ip_on_launch", Value::Bool(public)),
                    ("tags", ctx.tags(&a, &name)),
                ],
            ));
        }
    }

    let public_rt = addr::public_route_table();
    g.add(resource(
        &public_rt,
        [
            ("vpc_id", vpc.attr("id")),
            (
                "routes",
                Value::List(vec![map([
                    ("destination_cidr_block", Value::str(ANYWHERE)),
                    ("gateway_id", igw.attr("id")),
                ])]),
            ),
            (
                "subnet_ids",
                Value::List(
                    (0..azs)
                        .map(|i| addr::public_subnet(i).attr("id"))
                        .collect(),
                ),
            ),
            ("tags", ctx.tags(&public_rt, &ctx.named("public"))),
        ],
    ));

    let nats = nat_count(net.nat, azs);
    for i in 0..nats {
        let eip = addr::eip(i);
        let nat = addr::nat(i);
        let name = ctx.named(&format!("nat-{}", ctx.az_label(i)));
        // Both need the internet gateway attached: AWS refuses a NAT gateway (and an
        // address for it) in a VPC without one, and the NAT must go before the gateway
        // detaches on destroy.
        g.add(
            resource(
                &eip,
                [
                    ("domain", Value::str("vpc")),
                    ("tags", ctx.tags(&eip, &name)),
                ],
            )
            .after(&igw),
        );
        g.add(
            resource(
                &nat,
                [
                    ("subnet_id", addr::public_subnet(i).attr("id")),
                    ("allocation_id", eip.attr("id")),
                    ("tags", ctx.tags(&nat, &name)),
                ],
            )
            .after(&igw)
            // The NAT is the private subnets' way out only through the public route to the
            // gateway: on destroy that route must outlive it (and everything behind it).
            .after(&public_rt),
        );
    }

    for i in 0..azs {
        let rt = addr::private_route_table(i);
        let routes = match net.nat {
            NatMode::None => vec![],
            NatMode::Single => vec![nat_route(0)],
            NatMode::PerAz => vec![nat_route(i)],
        };
        let name = ctx.named(&format!("private-{}", ctx.az_label(i)));
        g.add(resource(
            &rt,
            [
                ("vpc_id", vpc.attr("id")),
                ("routes", Value::List(routes)),
                (
                    "subnet_ids",
                    Value::List(vec![addr::private_subnet(i).attr("id")]),
                ),
                ("tags", ctx.tags(&rt, &name)),
            ],
        ));
    }

    if let Some(dns) = &ctx.stack.dns {
        let zone = addr::zone();
        g.add(resource(
            &zone,
            [
                ("name", Value::str(&dns.zone)),
                ("vpc_id", vpc.attr("id")),
                ("vpc_region", ctx.region_value()),
                (
                    "comment",
                    Value::String(format!("Private zone of ecsctl stack {}", ctx.name())),
                ),
                // Route53 is global: the region tag keeps two regions' zones of one stack apart.
                ("tags", ctx.global_tags(&zone, &dns.zone)),
            ],
        ));
    }
}

/// How many NAT gateways (and elastic IPs) a mode needs.
fn nat_count(mode: NatMode, azs: usize) -> usize {
    match mode {
        NatMode::None => 0,
        NatMode::Single => azs.min(1),
        NatMode::PerAz => azs,
    }
}

fn nat_route(i: usize) -> Value {
    map([
        ("destination_cidr_block", Value::str(ANYWHERE)),
        ("nat_gateway_id", addr::nat(i).attr("id")),
    ])
}

#[cfg(test)]
mod tests {
    use super::super::{test_stack, Data};
    use super::*;
    use crate::Address;

    fn graph(nat: NatMode) -> Graph {
        let mut stack = test_stack::hello();
        stack.network.nat = nat;
        let mut g = Graph::new();
        expand(
            &Ctx {
                stack: &stack,
                data: &Data::default(),
            },
            &mut g,
        );
        g
    }

    fn routes(g: &Graph, a: &Address) -> Vec<Value> {
        match &g.get(a).unwrap().args["routes"] {
            Value::List(items) => items.clone(),
            other => panic!("routes of {a} is {other:?}"),
        }
    }

    #[test]
    fn single_nat_serves_every_private_table() {
        let g = graph(NatMode::Single);
        assert!(g.get(&addr::nat(0)).is_some());
        assert!(g.get(&addr::nat(1)).is_none());
        for i in 0..2 {
            assert_eq!(
                routes(&g, &addr::private_route_table(i)),
                vec![nat_route(0)]
            );
        }
    }

    #[test]
    fn only_public_subnets_map_public_ips() {
        let g = graph(NatMode::None);
        let flag = |a: Address| g.get(&a).unwrap().args["map_public_ip_on_launch"].clone();
        assert_eq!(flag(addr::public_subnet(1)), Value::Bool(true));
        assert_eq!(flag(addr::private_subnet(1)), Value::Bool(false));
    }

    #[test]
    fn unknown_az_names_give_numbered_names() {
        let g = graph(NatMode::Single);
        let Value::Map(tags) = &g.get(&addr::private_subnet(1)).unwrap().args["tags"] else {
            panic!("tags are a map")
        };
        assert_eq!(tags["Name"], Value::str("hello-private-2"));
    }
}
