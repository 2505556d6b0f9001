//! Expansion of a validated stack into the resource graph.
//!
//! Every resource gets exactly the arguments its kind's schema names (see [`crate::kinds`]),
//! `Value::Null` for an absent optional one. References between resources are
//! `Value::Ref`s; values that need a cloud lookup that has not been made (availability
//! zones, the AMI, the region or account inside ARNs) are `Value::Unknown`.
//!
//! One submodule per part of the stack: `network` (VPC, subnets, gateways, routes, DNS
//! zone), `security` (security groups), `iam` (roles and the instance profile), `compute`
//! (cluster, launch template, Auto Scaling), `load_balancer` (ALB, target groups,
//! listeners, rules, DNS records) and `services` (log groups, task definitions, services).

mod compute;
mod iam;
mod load_balancer;
mod network;
mod security;
mod services;

use crate::{Address, Graph, Value};
use ecsctl_stack::{Azs, Stack};
use std::collections::BTreeMap;

/// Values looked up from the cloud before expansion. `None` means not looked up: the
/// dependent arguments are `Value::Unknown` in the graph.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Data {
    /// Availability zone names, in order, at least as many as the stack uses.
    pub azs: Option<Vec<String>>,
    /// The AMI id the cluster's `ami` resolves to.
    pub ami_id: Option<String>,
    /// The region the stack is applied in.
    pub region: Option<String>,
    /// The AWS account id.
    pub account_id: Option<String>,
}

/// Expand `stack` into every resource it needs, with the edges AWS requires.
///
/// The result has no cycles and no dependency outside itself (both are tested for many
/// stacks); `data` only decides which arguments are known yet.
pub fn expand(stack: &Stack, data: &Data) -> Graph {
    let ctx = Ctx { stack, data };
    let mut g = Graph::new();
    network::expand(&ctx, &mut g);
    security::expand(&ctx, &mut g);
    iam::expand(&ctx, &mut g);
    compute::expand(&ctx, &mut g);
    load_balancer::expand(&ctx, &mut g);
    services::expand(&ctx, &mut g);
    g
}

/// Well-known addresses, so that every part names them the same way.
pub(crate) mod addr {
    use crate::{Address, Kind};

    pub fn vpc() -> Address {
        Address::new(Kind::Vpc, "main")
    }
    pub fn igw() -> Address {
        Address::new(Kind::InternetGateway, "main")
    }
    pub fn public_subnet(i: usize) -> Address {
        Address::indexed(Kind::Subnet, "public", i)
    }
    pub fn private_subnet(i: usize) -> Address {
        Address::indexed(Kind::Subnet, "private", i)
    }
    pub fn public_route_table() -> Address {
        Address::new(Kind::RouteTable, "public")
    }
    pub fn private_route_table(i: usize) -> Address {
        Address::indexed(Kind::RouteTable, "private", i)
    }
    pub fn eip(i: usize) -> Address {
        Address::indexed(Kind::Eip, "nat", i)
    }
    pub fn nat(i: usize) -> Address {
        Address::indexed(Kind::NatGateway, "main", i)
    }
    pub fn zone() -> Address {
        Address::new(Kind::HostedZone, "private")
    }
    pub fn dns_record(service: &str) -> Address {
        Address::new(Kind::DnsRecord, service)
    }
    pub fn alb_sg() -> Address {
        Address::new(Kind::SecurityGroup, "alb")
    }
    pub fn instances_sg() -> Address {
        Address::new(Kind::SecurityGroup, "instances")
    }
    pub fn instance_role() -> Address {
        Address::new(Kind::IamRole, "instance")
    }
    pub fn instance_profile() -> Address {
        Address::new(Kind::IamInstanceProfile, "instance")
    }
    pub fn execution_role() -> Address {
        Address::new(Kind::IamRole, "task_execution")
    }
    pub fn cluster() -> Address {
        Address::new(Kind::EcsCluster, "main")
    }
    pub fn launch_template() -> Address {
        Address::new(Kind::LaunchTemplate, "instances")
    }
    pub fn asg() -> Address {
        Address::new(Kind::AutoscalingGroup, "instances")
    }
    pub fn scaling_policy() -> Address {
        Address::new(Kind::ScalingPolicy, "instances")
    }
    pub fn lb() -> Address {
        Address::new(Kind::Lb, "main")
    }
    pub fn target_group(service: &str) -> Address {
        Address::new(Kind::LbTargetGroup, service)
    }
    pub fn http_listener() -> Address {
        Address::new(Kind::LbListener, "http")
    }
    pub fn https_listener() -> Address {
        Address::new(Kind::LbListener, "https")
    }
    pub fn listener_rule(service: &str) -> Address {
        Address::new(Kind::LbListenerRule, service)
    }
    pub fn log_group(service: &str) -> Address {
        Address::new(Kind::LogGroup, service)
    }
    pub fn task_definition(service: &str) -> Address {
        Address::new(Kind::TaskDefinition, service)
    }
    pub fn service(service: &str) -> Address {
        Address::new(Kind::EcsService, service)
    }
}

/// The first port of the range Docker and the ECS agent pick dynamic host ports from.
pub(crate) const DYNAMIC_PORT_FIRST: i64 = 32768;
/// The last port of that range.
pub(crate) const DYNAMIC_PORT_LAST: i64 = 65535;

/// What every part of the expansion reads: the stack, the looked-up data and derived names.
pub(crate) struct Ctx<'a> {
    pub stack: &'a Stack,
    pub data: &'a Data,
}

impl Ctx<'_> {
    /// The stack name `S` that prefixes AWS names.
    pub fn name(&self) -> &str {
        &self.stack.name
    }

    /// `S-suffix`.
    pub fn named(&self, suffix: &str) -> String {
        format!("{}-{}", self.stack.name, suffix)
    }

    pub fn region(&self) -> Option<&str> {
        self.stack.region.as_deref().or(self.data.region.as_deref())
    }

    pub fn region_value(&self) -> Value {
        known(self.region())
    }

    /// The ARN partition of the region (`aws` when the region is not known yet; the ARNs
    /// that use it are unknown then anyway).
    pub fn partition(&self) -> &'static str {
        partition_of(self.region().unwrap_or(""))
    }

    /// `arn:<partition>:<service>:<region>:<account>:<resource>`, unknown until both the
    /// region and the account are.
    pub fn arn(&self, service: &str, resource: &str) -> Value {
        match (self.region(), self.data.account_id.as_deref()) {
            (Some(region), Some(account)) => Value::String(format!(
                "arn:{}:{service}:{region}:{account}:{resource}",
                self.partition()
            )),
            _ => Value::Unknown,
        }
    }

    /// How many availability zones (and so public/private subnet pairs) the stack uses.
    pub fn az_count(&self) -> usize {
        let n = &self.stack.network;
        n.azs
            .count()
            .min(n.public_subnets.len())
            .min(n.private_subnets.len())
    }

    /// The name of the `i`-th availability zone, when known.
    pub fn az(&self, i: usize) -> Option<&str> {
        match &self.stack.network.azs {
            Azs::Names(names) => names.get(i).map(String::as_str),
            Azs::Count(_) => self
                .data
                .azs
                .as_ref()
                .and_then(|azs| azs.get(i))
                .map(String::as_str),
        }
    }

    pub fn az_value(&self, i: usize) -> Value {
        known(self.az(i))
    }

    /// A readable label for the `i`-th AZ: its name, or `1`, `2`, … while unknown.
    pub fn az_label(&self, i: usize) -> String {
        match self.az(i) {
            Some(az) => az.to_string(),
            None => (i + 1).to_string(),
        }
    }

    /// The `tags` argument: the stack's tags, then `Name`, `ecsctl:stack` and
    /// `ecsctl:address` (which win over a stack tag of the same key).
    pub fn tags(&self, address: &Address, name: &str) -> Value {
        let mut tags: BTreeMap<String, Value> = self
            .stack
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), Value::str(v)))
            .collect();
        tags.insert("Name".into(), Value::str(name));
        tags.insert(crate::STACK_TAG.into(), Value::str(self.name()));
        tags.insert(
            crate::ADDRESS_TAG.into(),
            Value::String(address.to_string()),
        );
        Value::Map(tags)
    }

    /// The `tags` of a resource in a service global to the account (IAM, Route53): also
    /// `ecsctl:region`, since the stack tag alone cannot tell one stack name's resources in
    /// two regions apart.
    pub fn global_tags(&self, address: &Address, name: &str) -> Value {
        match self.tags(address, name) {
            Value::Map(mut tags) => {
                tags.insert(crate::REGION_TAG.into(), self.region_value());
                Value::Map(tags)
            }
            other => other,
        }
    }
}

/// The ARN partition a region belongs to.
pub(crate) fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else {
        "aws"
    }
}

/// A string if known, `Unknown` otherwise.
pub(crate) fn known(s: Option<&str>) -> Value {
    s.map_or(Value::Unknown, Value::str)
}

/// An ordered map value from key/value pairs.
pub(crate) fn map<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Map(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// An integer value from a count or index.
pub(crate) fn int(n: usize) -> Value {
    Value::int(i64::try_from(n).unwrap_or(i64::MAX))
}

/// A resource of `address` with exactly the given arguments.
pub(crate) fn resource<const N: usize>(
    address: &Address,
    args: [(&str, Value); N],
) -> crate::Resource {
    let mut r = crate::Resource::new(address.clone());
    for (k, v) in args {
        r.args.insert(k.to_string(), v);
    }
    r
}

#[cfg(test)]
pub(crate) mod test_stack {
    //! A small stack builder for the unit tests of the expansion's parts.
    use ecsctl_stack::*;
    use std::collections::BTreeMap;

    pub fn service(name: &str) -> Service {
        Service {
            name: name.into(),
            image: "public.ecr.aws/docker/library/python:3.12-slim".into(),
            command: vec!["python".into(), "-m".into(), "http.server".into()],
            container_port: 5000,
            cpu: 256,
            memory: 512,
            desired_count: 2,
            health_check_path: "/".into(),
            environment: BTreeMap::from([("GREETING".into(), "hello".into())]),
            path: None,
            host: None,
            log_retention_days: 30,
            deregistration_delay: 30,
            health_check_grace_period: 30,
        }
    }

    pub fn hello() -> Stack {
        Stack {
            name: "hello".into(),
            region: Some("eu-west-2".into()),
            tags: BTreeMap::from([("Environment".into(), "dev".into())]),
            network: Network {
                cidr: "10.0.0.0/16".parse().unwrap(),
                azs: Azs::Count(2),
                public_subnets: vec![
                    "10.0.0.0/24".parse().unwrap(),
                    "10.0.1.0/24".parse().unwrap(),
                ],
                private_subnets: vec![
                    "10.0.50.0/24".parse().unwrap(),
                    "10.0.51.0/24".parse().unwrap(),
                ],
                nat: NatMode::Single,
            },
            dns: Some(Dns {
                zone: "myorg.local.".into(),
            }),
            cluster: Cluster {
                instance_type: "t3.small".into(),
                ami: Ami::Ssm(DEFAULT_AMI_PARAMETER.into()),
                min_size: 2,
                max_size: 4,
                desired_capacity: 2,
                key_name: None,
                ssh_cidrs: vec![],
                root_volume_size: 30,
                scaling: Some(Scaling { cpu_target: 60.0 }),
            },
            load_balancer: LoadBalancer {
                listen_port: 80,
                allowed_cidrs: vec!["0.0.0.0/0".parse().unwrap()],
                certificate_arn: None,
                idle_timeout: 60,
            },
            services: vec![service("hello")],
            source_hash: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_comes_from_the_stack_then_the_data() {
        let mut stack = test_stack::hello();
        let data = Data {
            region: Some("us-east-1".into()),
            ..Data::default()
        };
        let ctx = Ctx {
            stack: &stack,
            data: &data,
        };
        assert_eq!(ctx.region(), Some("eu-west-2"));
        stack.region = None;
        let ctx = Ctx {
            stack: &stack,
            data: &data,
        };
        assert_eq!(ctx.region(), Some("us-east-1"));
        let none = Data::default();
        let ctx = Ctx {
            stack: &stack,
            data: &none,
        };
        assert_eq!(ctx.region_value(), Value::Unknown);
    }

    #[test]
    fn arns_need_region_and_account_and_follow_the_partition() {
        let mut stack = test_stack::hello();
        stack.region = Some("cn-north-1".into());
        let mut data = Data::default();
        let ctx = Ctx {
            stack: &stack,
            data: &data,
        };
        assert_eq!(ctx.arn("ecs", "cluster/hello"), Value::Unknown);
        data.account_id = Some("123456789012".into());
        let ctx = Ctx {
            stack: &stack,
            data: &data,
        };
        assert_eq!(
            ctx.arn("ecs", "cluster/hello"),
            Value::str("arn:aws-cn:ecs:cn-north-1:123456789012:cluster/hello")
        );
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of("eu-west-2"), "aws");
    }

    #[test]
    fn az_names_come_from_the_stack_or_the_data_and_are_unknown_otherwise() {
        let mut stack = test_stack::hello();
        let data = Data {
            azs: Some(vec!["eu-west-2a".into()]),
            ..Data::default()
        };
        let ctx = Ctx {
            stack: &stack,
            data: &data,
        };
        assert_eq!(ctx.az_value(0), Value::str("eu-west-2a"));
        // Fewer looked-up zones than the stack needs: unknown, not a panic.
        assert_eq!(ctx.az_value(1), Value::Unknown);
        assert_eq!(ctx.az_label(1), "2");
        stack.network.azs = Azs::Names(vec!["x-1a".into(), "x-1b".into()]);
        let ctx = Ctx {
            stack: &stack,
            data: &data,
        };
        assert_eq!(ctx.az_value(1), Value::str("x-1b"));
    }

    /// Whether `a` depends on `b`, directly or through others.
    fn depends_on(g: &Graph, a: &Address, b: &Address) -> bool {
        let mut todo = vec![a.clone()];
        let mut seen = std::collections::BTreeSet::new();
        while let Some(x) = todo.pop() {
            if !seen.insert(x.clone()) {
                continue;
            }
            let Some(r) = g.get(&x) else { continue };
            for d in r.deps() {
                if &d == b {
                    return true;
                }
                todo.push(d);
            }
        }
        false
    }

    #[test]
    fn the_way_out_outlives_everything_that_needs_it_on_destroy() {
        // Destroy runs dependents first: whatever depends on the public route table is
        // deleted before it, and so before the internet gateway. The NAT, the load
        // balancer, the instances and the services need that path while they go.
        for nat in [ecsctl_stack::NatMode::Single, ecsctl_stack::NatMode::PerAz] {
            let mut stack = test_stack::hello();
            stack.network.nat = nat;
            let g = expand(&stack, &Data::default());
            let public = addr::public_route_table();
            for needs in [
                addr::nat(0),
                addr::lb(),
                addr::asg(),
                addr::service("hello"),
                addr::private_route_table(0),
                addr::private_route_table(1),
            ] {
                assert!(
                    depends_on(&g, &needs, &public),
                    "{needs} must be deleted before {public}"
                );
                assert!(
                    depends_on(&g, &needs, &addr::igw()),
                    "{needs} after the gateway"
                );
            }
        }
    }

    #[test]
    fn ecsctl_tags_win_over_stack_tags_of_the_same_key() {
        let mut stack = test_stack::hello();
        stack.tags.insert("Name".into(), "mine".into());
        stack
            .tags
            .insert("ecsctl:stack".into(), "someone-else".into());
        let data = Data::default();
        let ctx = Ctx {
            stack: &stack,
            data: &data,
        };
        let a = addr::vpc();
        let Value::Map(tags) = ctx.tags(&a, "hello") else {
            panic!("tags are a map")
        };
        assert_eq!(tags["Name"], Value::str("hello"));
        assert_eq!(tags["ecsctl:stack"], Value::str("hello"));
        assert_eq!(tags["ecsctl:address"], Value::str("vpc.main"));
        assert_eq!(tags["Environment"], Value::str("dev"));
    }
}
