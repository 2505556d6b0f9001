//! Expansion of whole stacks: the resources, the edges AWS needs, and the shape every
//! resource's arguments must have for the provider.

use ecsctl_graph::{expand, to_dot, Address, Data, Graph, Kind, Resource, Value};
use ecsctl_stack::*;
use std::collections::{BTreeMap, BTreeSet};

// ---- a small stack builder (the parser is not used here) ----

fn service(name: &str) -> Service {
    Service {
        name: name.into(),
        image: "public.ecr.aws/docker/library/python:3.12-slim".into(),
        command: vec![
            "python".into(),
            "-m".into(),
            "http.server".into(),
            "5000".into(),
        ],
        container_port: 5000,
        cpu: 256,
        memory: 512,
        desired_count: 4,
        health_check_path: "/".into(),
        environment: BTreeMap::from([("GREETING".into(), "hello".into())]),
        path: None,
        host: None,
        log_retention_days: 30,
        deregistration_delay: 30,
        health_check_grace_period: 30,
    }
}

/// The stack of STACK.md: 2 AZs, one NAT, a private zone, one service.
fn hello() -> Stack {
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
            key_name: Some("eHa".into()),
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

fn with_services(mut stack: Stack, n: usize) -> Stack {
    stack.services = (0..n)
        .map(|i| {
            let mut s = service(&format!("svc{i}"));
            if i > 0 {
                if i % 2 == 0 {
                    s.host = Some(format!("svc{i}.example.com"));
                } else {
                    s.path = Some(format!("/svc{i}/*"));
                }
            }
            s
        })
        .collect();
    stack
}

fn with_nat(mut stack: Stack, nat: NatMode) -> Stack {
    stack.network.nat = nat;
    stack
}

fn with_https(mut stack: Stack) -> Stack {
    stack.load_balancer.certificate_arn =
        Some("arn:aws:acm:eu-west-2:123456789012:certificate/abc".into());
    stack
}

fn with_three_named_azs(mut stack: Stack) -> Stack {
    stack.network.azs = Azs::Names(vec![
        "eu-west-2a".into(),
        "eu-west-2b".into(),
        "eu-west-2c".into(),
    ]);
    stack
        .network
        .public_subnets
        .push("10.0.2.0/24".parse().unwrap());
    stack
        .network
        .private_subnets
        .push("10.0.52.0/24".parse().unwrap());
    stack
}

fn known_data() -> Data {
    Data {
        azs: Some(vec![
            "eu-west-2a".into(),
            "eu-west-2b".into(),
            "eu-west-2c".into(),
        ]),
        ami_id: Some("ami-0123456789abcdef0".into()),
        region: Some("eu-west-2".into()),
        account_id: Some("123456789012".into()),
    }
}

/// Many different stacks, each with data unknown and known.
fn variety() -> Vec<(String, Graph)> {
    let mut minimal = hello();
    minimal.dns = None;
    minimal.cluster.scaling = None;
    minimal.cluster.key_name = None;
    minimal.region = None;
    let mut ssh = hello();
    ssh.cluster.ssh_cidrs = vec!["203.0.113.0/24".parse().unwrap()];
    let stacks = vec![
        ("hello", hello()),
        ("3 services", with_services(hello(), 3)),
        ("10 services", with_services(hello(), 10)),
        ("https", with_https(with_services(hello(), 3))),
        (
            "per_az",
            with_nat(with_three_named_azs(hello()), NatMode::PerAz),
        ),
        ("nat none", with_nat(hello(), NatMode::None)),
        ("minimal", minimal),
        ("ssh", ssh),
    ];
    let mut out = Vec::new();
    for (name, stack) in stacks {
        out.push((
            format!("{name}, data unknown"),
            expand(&stack, &Data::default()),
        ));
        out.push((format!("{name}, data known"), expand(&stack, &known_data())));
    }
    out
}

// ---- helpers ----

fn a(s: &str) -> Address {
    s.parse().unwrap()
}

fn res<'g>(g: &'g Graph, s: &str) -> &'g Resource {
    g.get(&a(s)).unwrap_or_else(|| panic!("{s} is missing"))
}

fn field<'v>(v: &'v Value, key: &str) -> &'v Value {
    match v {
        Value::Map(m) => m.get(key).unwrap_or_else(|| panic!("no `{key}` in {v:?}")),
        other => panic!("`{key}` asked of a non-map {other:?}"),
    }
}

fn items(v: &Value) -> &[Value] {
    match v {
        Value::List(items) => items,
        other => panic!("not a list: {other:?}"),
    }
}

fn string(v: &Value) -> &str {
    match v {
        Value::String(s) => s,
        other => panic!("not a string: {other:?}"),
    }
}

fn addresses(g: &Graph) -> Vec<String> {
    let mut out: Vec<String> = g.resources().map(|r| r.address.to_string()).collect();
    out.sort();
    out
}

fn deps(g: &Graph, s: &str) -> BTreeSet<String> {
    res(g, s).deps().iter().map(|d| d.to_string()).collect()
}

fn assert_after(g: &Graph, dependent: &str, dep: &str) {
    assert!(
        deps(g, dependent).contains(dep),
        "{dependent} must wait for {dep}; it waits for {:?}",
        deps(g, dependent)
    );
}

// ---- the resources ----

#[test]
fn the_hello_stack_expands_to_exactly_these_resources() {
    let g = expand(&hello(), &Data::default());
    let expected = [
        "autoscaling_group.instances",
        "dns_record.hello",
        "ecs_cluster.main",
        "ecs_service.hello",
        "eip.nat[0]",
        "hosted_zone.private",
        "iam_instance_profile.instance",
        "iam_role.instance",
        "iam_role.task_execution",
        "internet_gateway.main",
        "launch_template.instances",
        "lb.main",
        "lb_listener.http",
        "lb_target_group.hello",
        "log_group.hello",
        "nat_gateway.main[0]",
        "route_table.private[0]",
        "route_table.private[1]",
        "route_table.public",
        "scaling_policy.instances",
        "security_group.alb",
        "security_group.instances",
        "subnet.private[0]",
        "subnet.private[1]",
        "subnet.public[0]",
        "subnet.public[1]",
        "task_definition.hello",
        "vpc.main",
    ];
    assert_eq!(addresses(&g), expected);
}

#[test]
fn without_dns_and_scaling_there_is_no_zone_record_or_policy() {
    let mut stack = hello();
    stack.dns = None;
    stack.cluster.scaling = None;
    let g = expand(&stack, &Data::default());
    for kind in [Kind::HostedZone, Kind::DnsRecord, Kind::ScalingPolicy] {
        assert!(g.resources().all(|r| r.kind() != kind), "{kind} present");
    }
}

#[test]
fn per_az_nat_gives_each_private_table_its_own_gateway() {
    let g = expand(
        &with_nat(with_three_named_azs(hello()), NatMode::PerAz),
        &Data::default(),
    );
    for i in 0..3 {
        res(&g, &format!("eip.nat[{i}]"));
        let nat = res(&g, &format!("nat_gateway.main[{i}]"));
        assert_eq!(
            nat.args["subnet_id"],
            a(&format!("subnet.public[{i}]")).attr("id")
        );
        assert_eq!(
            nat.args["allocation_id"],
            a(&format!("eip.nat[{i}]")).attr("id")
        );
        let rt = res(&g, &format!("route_table.private[{i}]"));
        let routes = items(&rt.args["routes"]);
        assert_eq!(routes.len(), 1);
        assert_eq!(
            string(field(&routes[0], "destination_cidr_block")),
            "0.0.0.0/0"
        );
        assert_eq!(
            *field(&routes[0], "nat_gateway_id"),
            a(&format!("nat_gateway.main[{i}]")).attr("id")
        );
        assert_eq!(
            rt.args["subnet_ids"],
            Value::List(vec![a(&format!("subnet.private[{i}]")).attr("id")])
        );
    }
    assert!(g.get(&a("nat_gateway.main[3]")).is_none());
}

#[test]
fn single_nat_is_shared_by_every_private_table() {
    let g = expand(&hello(), &Data::default());
    assert!(g.get(&a("nat_gateway.main[1]")).is_none());
    assert!(g.get(&a("eip.nat[1]")).is_none());
    for i in 0..2 {
        let routes = items(&res(&g, &format!("route_table.private[{i}]")).args["routes"]).to_vec();
        assert_eq!(
            *field(&routes[0], "nat_gateway_id"),
            a("nat_gateway.main[0]").attr("id")
        );
    }
    // The NAT sits in the first public subnet.
    assert_eq!(
        res(&g, "nat_gateway.main[0]").args["subnet_id"],
        a("subnet.public[0]").attr("id")
    );
}

#[test]
fn no_nat_means_no_gateway_address_or_default_route_in_private_tables() {
    let g = expand(&with_nat(hello(), NatMode::None), &Data::default());
    assert!(g
        .resources()
        .all(|r| r.kind() != Kind::NatGateway && r.kind() != Kind::Eip));
    for i in 0..2 {
        let rt = res(&g, &format!("route_table.private[{i}]"));
        assert_eq!(rt.args["routes"], Value::List(vec![]));
    }
    assert!(g.dangling().is_empty());
}

#[test]
fn the_public_table_routes_to_the_internet_gateway_for_every_public_subnet() {
    let g = expand(&hello(), &Data::default());
    let rt = res(&g, "route_table.public");
    let routes = items(&rt.args["routes"]);
    assert_eq!(routes.len(), 1);
    assert_eq!(
        *field(&routes[0], "gateway_id"),
        a("internet_gateway.main").attr("id")
    );
    assert_eq!(
        rt.args["subnet_ids"],
        Value::List(vec![
            a("subnet.public[0]").attr("id"),
            a("subnet.public[1]").attr("id")
        ])
    );
    let vpc = res(&g, "vpc.main");
    assert_eq!(vpc.args["enable_dns_support"], Value::Bool(true));
    assert_eq!(vpc.args["enable_dns_hostnames"], Value::Bool(true));
}

// ---- the edges STACK.md demands ----

#[test]
fn nat_gateways_and_their_addresses_wait_for_the_internet_gateway() {
    let g = expand(&with_nat(hello(), NatMode::PerAz), &Data::default());
    for i in 0..2 {
        assert_after(
            &g,
            &format!("nat_gateway.main[{i}]"),
            "internet_gateway.main",
        );
        assert_after(
            &g,
            &format!("nat_gateway.main[{i}]"),
            &format!("eip.nat[{i}]"),
        );
        assert_after(
            &g,
            &format!("nat_gateway.main[{i}]"),
            &format!("subnet.public[{i}]"),
        );
        assert_after(&g, &format!("eip.nat[{i}]"), "internet_gateway.main");
    }
}

#[test]
fn the_asg_waits_for_every_private_route_table_and_the_cluster() {
    let g = expand(
        &with_nat(with_three_named_azs(hello()), NatMode::PerAz),
        &Data::default(),
    );
    for i in 0..3 {
        assert_after(
            &g,
            "autoscaling_group.instances",
            &format!("route_table.private[{i}]"),
        );
        assert_after(
            &g,
            "autoscaling_group.instances",
            &format!("subnet.private[{i}]"),
        );
    }
    assert_after(&g, "autoscaling_group.instances", "ecs_cluster.main");
    assert_after(
        &g,
        "autoscaling_group.instances",
        "launch_template.instances",
    );
    assert_after(&g, "launch_template.instances", "ecs_cluster.main");
    assert_after(
        &g,
        "launch_template.instances",
        "iam_instance_profile.instance",
    );
    assert_after(&g, "launch_template.instances", "security_group.instances");
}

#[test]
fn services_wait_for_their_listener_rule_and_the_asg() {
    let g = expand(&with_services(hello(), 3), &Data::default());
    assert_after(&g, "ecs_service.svc0", "lb_listener.http");
    assert_after(&g, "ecs_service.svc0", "autoscaling_group.instances");
    assert_after(&g, "ecs_service.svc0", "lb_target_group.svc0");
    assert_after(&g, "ecs_service.svc0", "task_definition.svc0");
    for s in ["svc1", "svc2"] {
        let svc = format!("ecs_service.{s}");
        assert_after(&g, &svc, "lb_listener.http");
        assert_after(&g, &svc, &format!("lb_listener_rule.{s}"));
        assert_after(&g, &svc, "autoscaling_group.instances");
    }
    // The first service is the listener's default action: it has no rule.
    assert!(g.get(&a("lb_listener_rule.svc0")).is_none());

    let https = expand(&with_https(with_services(hello(), 2)), &Data::default());
    assert_after(&https, "ecs_service.svc0", "lb_listener.https");
    assert_after(&https, "ecs_service.svc1", "lb_listener_rule.svc1");
    assert_after(&https, "lb_listener_rule.svc1", "lb_listener.https");
}

#[test]
fn listener_rules_have_priorities_in_file_order_and_their_conditions() {
    let g = expand(&with_services(hello(), 4), &Data::default());
    for (i, s) in ["svc1", "svc2", "svc3"].iter().enumerate() {
        let rule = res(&g, &format!("lb_listener_rule.{s}"));
        assert_eq!(rule.args["priority"], Value::int(10 * (i as i64 + 1)));
        assert_eq!(
            rule.args["target_group_arn"],
            a(&format!("lb_target_group.{s}")).attr("arn")
        );
    }
    let path = res(&g, "lb_listener_rule.svc1");
    assert_eq!(path.args["path_patterns"], Value::list(["/svc1/*"]));
    assert_eq!(path.args["host_headers"], Value::List(vec![]));
    let host = res(&g, "lb_listener_rule.svc2");
    assert_eq!(host.args["host_headers"], Value::list(["svc2.example.com"]));
    assert_eq!(host.args["path_patterns"], Value::List(vec![]));
    let listener = res(&g, "lb_listener.http");
    assert_eq!(
        *field(&listener.args["default_action"], "target_group_arn"),
        a("lb_target_group.svc0").attr("arn")
    );
}

#[test]
fn dns_records_alias_the_alb_in_the_private_zone() {
    let g = expand(&hello(), &Data::default());
    assert_after(&g, "dns_record.hello", "lb.main");
    assert_after(&g, "dns_record.hello", "hosted_zone.private");
    let r = res(&g, "dns_record.hello");
    assert_eq!(r.args["name"], Value::str("hello.myorg.local."));
    assert_eq!(r.args["type"], Value::str("A"));
    let alias = &r.args["alias_target"];
    assert_eq!(*field(alias, "dns_name"), a("lb.main").attr("dns_name"));
    assert_eq!(
        *field(alias, "hosted_zone_id"),
        a("lb.main").attr("zone_id")
    );
    assert_after(&g, "hosted_zone.private", "vpc.main");
}

#[test]
fn the_execution_role_waits_for_every_log_group() {
    let g = expand(&with_services(hello(), 3), &Data::default());
    for i in 0..3 {
        assert_after(&g, "iam_role.task_execution", &format!("log_group.svc{i}"));
        assert_after(
            &g,
            &format!("task_definition.svc{i}"),
            "iam_role.task_execution",
        );
        assert_after(
            &g,
            &format!("task_definition.svc{i}"),
            &format!("log_group.svc{i}"),
        );
    }
}

#[test]
fn no_stack_has_a_cycle_or_a_dangling_dependency() {
    for (name, g) in variety() {
        assert_eq!(g.cycles(), vec![], "{name}");
        assert_eq!(g.dangling(), vec![], "{name}");
        assert!(g.topo_order().is_ok(), "{name}");
    }
}

// ---- the shape the provider relies on ----

#[test]
fn every_resource_has_exactly_its_kinds_arguments() {
    for (name, g) in variety() {
        for r in g.resources() {
            let want: BTreeSet<&str> = r.kind().schema().args.iter().map(|(a, _)| *a).collect();
            let got: BTreeSet<&str> = r.args.keys().map(String::as_str).collect();
            assert_eq!(got, want, "{name}: {}", r.address);
        }
    }
}

#[test]
fn every_reference_names_an_output_or_argument_of_its_target() {
    for (name, g) in variety() {
        for r in g.resources() {
            for v in r.args.values() {
                for re in v.refs() {
                    let s = re.address.kind.schema();
                    let ok = s.outputs.contains(&re.attr.as_str())
                        || s.args.iter().any(|(a, _)| *a == re.attr);
                    assert!(ok, "{name}: {} references {re}", r.address);
                }
            }
        }
    }
}

fn policy_documents(g: &Graph) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for r in g.resources().filter(|r| r.kind() == Kind::IamRole) {
        out.push((
            format!("{} trust", r.address),
            r.args["assume_role_policy"].clone(),
        ));
        if let Value::Map(policies) = &r.args["inline_policies"] {
            for (p, doc) in policies {
                out.push((format!("{} {p}", r.address), doc.clone()));
            }
        }
    }
    out
}

#[test]
fn no_policy_grants_a_wildcard_action() {
    for (name, g) in variety() {
        let docs = policy_documents(&g);
        assert_eq!(
            docs.len(),
            4,
            "{name}: two roles, a trust and a policy each"
        );
        for (what, doc) in docs {
            for st in items(field(&doc, "Statement")) {
                assert_eq!(*field(st, "Effect"), Value::str("Allow"));
                let actions = match field(st, "Action") {
                    Value::String(s) => vec![s.clone()],
                    list => items(list).iter().map(|a| string(a).to_string()).collect(),
                };
                assert!(!actions.is_empty(), "{name}: {what}");
                for action in actions {
                    assert!(!action.contains('*'), "{name}: {what} grants {action}");
                }
            }
        }
    }
}

#[test]
fn the_instance_role_holds_only_the_agents_actions_scoped_to_the_cluster() {
    let g = expand(&hello(), &known_data());
    let role = res(&g, "iam_role.instance");
    assert_eq!(
        *field(&role.args["assume_role_policy"], "Statement"),
        Value::List(vec![Value::Map(BTreeMap::from([
            ("Effect".to_string(), Value::str("Allow")),
            (
                "Principal".to_string(),
                Value::Map(BTreeMap::from([(
                    "Service".to_string(),
                    Value::str("ec2.amazonaws.com")
                )]))
            ),
            ("Action".to_string(), Value::str("sts:AssumeRole")),
        ]))])
    );
    let doc = field(&role.args["inline_policies"], "ecs-agent");
    let mut scoped = Vec::new();
    for st in items(field(doc, "Statement")) {
        let actions: Vec<&str> = items(field(st, "Action")).iter().map(string).collect();
        assert!(actions.iter().all(|a| a.starts_with("ecs:")), "{actions:?}");
        if actions.contains(&"ecs:RegisterContainerInstance") {
            scoped.push(field(st, "Resource").clone());
        }
        if *field(st, "Resource") == Value::str("*") {
            for a in actions {
                assert!(
                    [
                        "ecs:DiscoverPollEndpoint",
                        "ecs:Poll",
                        "ecs:StartTelemetrySession",
                        "ecs:PutSystemLogEvents"
                    ]
                    .contains(&a),
                    "{a} on every resource"
                );
            }
        }
    }
    assert_eq!(
        scoped,
        vec![Value::List(vec![
            a("ecs_cluster.main").attr("arn"),
            Value::str("arn:aws:ecs:eu-west-2:123456789012:container-instance/hello/*"),
        ])]
    );
    assert_eq!(role.args["path"], Value::str("/ecsctl/"));
    assert_eq!(role.args["managed_policy_arns"], Value::List(vec![]));
    let profile = res(&g, "iam_instance_profile.instance");
    assert_eq!(profile.args["role_name"], a("iam_role.instance").attr("id"));

    // Without the account, the container instance ARN is not known yet.
    let g = expand(&hello(), &Data::default());
    let doc = field(
        &res(&g, "iam_role.instance").args["inline_policies"],
        "ecs-agent",
    )
    .clone();
    assert!(format!("{doc:?}").contains("Unknown"));
}

#[test]
fn the_execution_role_writes_only_to_the_stacks_log_groups() {
    let g = expand(&with_services(hello(), 2), &known_data());
    let role = res(&g, "iam_role.task_execution");
    let trust = items(field(&role.args["assume_role_policy"], "Statement"));
    assert_eq!(
        *field(field(&trust[0], "Principal"), "Service"),
        Value::str("ecs-tasks.amazonaws.com")
    );
    let doc = field(&role.args["inline_policies"], "task-execution");
    let logs: Vec<&Value> = items(field(doc, "Statement"))
        .iter()
        .filter(|st| items(field(st, "Action")).contains(&Value::str("logs:PutLogEvents")))
        .collect();
    assert_eq!(logs.len(), 1);
    assert_eq!(
        *field(logs[0], "Resource"),
        Value::List(vec![
            a("log_group.svc0").attr("arn"),
            a("log_group.svc1").attr("arn"),
            Value::str(
                "arn:aws:logs:eu-west-2:123456789012:log-group:/ecsctl/hello/svc0:log-stream:*"
            ),
            Value::str(
                "arn:aws:logs:eu-west-2:123456789012:log-group:/ecsctl/hello/svc1:log-stream:*"
            ),
        ])
    );
}

// ---- security groups ----

fn ingress(g: &Graph, sg: &str) -> Vec<Value> {
    items(&res(g, sg).args["ingress"]).to_vec()
}

#[test]
fn instances_admit_only_the_dynamic_ports_from_the_alb() {
    let g = expand(&hello(), &Data::default());
    let rules = ingress(&g, "security_group.instances");
    assert_eq!(rules.len(), 1, "{rules:?}");
    let r = &rules[0];
    assert_eq!(*field(r, "protocol"), Value::str("tcp"));
    assert_eq!(*field(r, "from_port"), Value::int(32768));
    assert_eq!(*field(r, "to_port"), Value::int(65535));
    assert_eq!(
        *field(r, "source_security_group_id"),
        a("security_group.alb").attr("id")
    );
    let Value::Map(m) = r else { unreachable!() };
    assert!(!m.contains_key("cidr_blocks"), "no CIDR in {r:?}");

    // Egress: everything, so instances reach ECS, ECR and the image registries via the NAT.
    let egress = items(&res(&g, "security_group.instances").args["egress"]).to_vec();
    assert_eq!(egress.len(), 1);
    assert_eq!(*field(&egress[0], "protocol"), Value::str("-1"));
    assert_eq!(
        *field(&egress[0], "cidr_blocks"),
        Value::list(["0.0.0.0/0"])
    );
}

#[test]
fn ssh_is_admitted_only_from_ssh_cidrs() {
    let mut stack = hello();
    stack.cluster.ssh_cidrs = vec![
        "203.0.113.0/24".parse().unwrap(),
        "198.51.100.7/32".parse().unwrap(),
    ];
    let g = expand(&stack, &Data::default());
    let rules = ingress(&g, "security_group.instances");
    assert_eq!(rules.len(), 2);
    let ssh = &rules[1];
    assert_eq!(*field(ssh, "from_port"), Value::int(22));
    assert_eq!(*field(ssh, "to_port"), Value::int(22));
    assert_eq!(
        *field(ssh, "cidr_blocks"),
        Value::list(["203.0.113.0/24", "198.51.100.7/32"])
    );
    // A key name alone opens nothing.
    let g = expand(&hello(), &Data::default());
    assert!(ingress(&g, "security_group.instances")
        .iter()
        .all(|r| *field(r, "from_port") != Value::int(22)));
}

#[test]
fn the_alb_admits_its_listeners_from_allowed_cidrs_and_does_not_reference_the_instances() {
    let mut stack = with_https(hello());
    stack.load_balancer.allowed_cidrs = vec!["192.0.2.0/24".parse().unwrap()];
    let g = expand(&stack, &Data::default());
    let rules = ingress(&g, "security_group.alb");
    let ports: Vec<&Value> = rules.iter().map(|r| field(r, "from_port")).collect();
    assert_eq!(ports, [&Value::int(80), &Value::int(443)]);
    for r in &rules {
        assert_eq!(*field(r, "cidr_blocks"), Value::list(["192.0.2.0/24"]));
    }
    let alb = res(&g, "security_group.alb");
    assert!(!alb.deps().contains(&a("security_group.instances")));
    let egress = items(&alb.args["egress"]);
    assert_eq!(egress.len(), 1);
    assert_eq!(
        *field(&egress[0], "cidr_blocks"),
        Value::list(["10.0.0.0/16"])
    );
    assert_eq!(*field(&egress[0], "from_port"), Value::int(32768));

    let plain = expand(&hello(), &Data::default());
    assert_eq!(ingress(&plain, "security_group.alb").len(), 1);
}

// ---- tags and names ----

#[test]
fn taggable_resources_carry_the_stack_tags_and_the_ecsctl_tags() {
    for (name, g) in variety() {
        for r in g.resources() {
            if !r.kind().schema().taggable {
                continue;
            }
            let tags = &r.args["tags"];
            assert_eq!(*field(tags, "ecsctl:stack"), Value::str("hello"), "{name}");
            assert_eq!(
                *field(tags, "ecsctl:address"),
                Value::String(r.address.to_string()),
                "{name}"
            );
            assert!(
                !string(field(tags, "Name")).is_empty(),
                "{name}: {}",
                r.address
            );
            assert_eq!(*field(tags, "Environment"), Value::str("dev"), "{name}");
        }
    }
}

#[test]
fn readable_names_use_the_az_when_known() {
    let name = |g: &Graph, s: &str| string(field(&res(g, s).args["tags"], "Name")).to_string();
    let g = expand(&hello(), &known_data());
    assert_eq!(name(&g, "subnet.private[0]"), "hello-private-eu-west-2a");
    assert_eq!(name(&g, "subnet.public[1]"), "hello-public-eu-west-2b");
    let g = expand(&hello(), &Data::default());
    assert_eq!(name(&g, "subnet.private[0]"), "hello-private-1");
    assert_eq!(name(&g, "vpc.main"), "hello");
}

fn aws_names(g: &Graph) -> Vec<(Address, String, String)> {
    let mut out = Vec::new();
    for r in g.resources() {
        for arg in ["name", "family"] {
            if let Some(Value::String(s)) = r.args.get(arg) {
                out.push((r.address.clone(), arg.to_string(), s.clone()));
            }
        }
    }
    out
}

#[test]
fn names_fit_aws_limits_for_the_longest_names() {
    let mut stack = with_services(hello(), 3);
    stack.name = "a-twenty-char-stack1".into(); // 20 characters, the maximum
    assert_eq!(stack.name.len(), 20);
    stack.services[0].name = "eleven-char".into(); // S-V = 32 characters, the maximum
    stack.services[1].name = "s".into();
    for data in [Data::default(), known_data()] {
        let g = expand(&stack, &data);
        let names = aws_names(&g);
        assert!(names.len() > 15);
        for (address, arg, n) in names {
            let alnum_hyphen = n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            let ok = match address.kind {
                Kind::Lb | Kind::LbTargetGroup => {
                    n.len() <= 32 && alnum_hyphen && !n.starts_with('-') && !n.ends_with('-')
                }
                Kind::IamRole => n.len() <= 64,
                Kind::IamInstanceProfile => n.len() <= 128,
                Kind::LaunchTemplate => (3..=128).contains(&n.len()),
                Kind::EcsCluster | Kind::EcsService | Kind::TaskDefinition => {
                    n.len() <= 255
                        && n.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                }
                Kind::LogGroup => n.len() <= 512,
                Kind::DnsRecord | Kind::HostedZone => n.len() <= 255 && n.ends_with('.'),
                _ => n.len() <= 255,
            };
            assert!(ok, "{address}.{arg} = {n:?} does not fit AWS's rules");
        }
        for r in g.resources().filter(|r| r.kind().schema().taggable) {
            let Value::Map(tags) = &r.args["tags"] else {
                panic!("tags of {} are not a map", r.address)
            };
            for (k, v) in tags {
                assert!(
                    k.len() <= 128 && string(v).len() <= 256,
                    "{}: {k}",
                    r.address
                );
            }
        }
    }
    let g = expand(&stack, &Data::default());
    // `S-V` is shortened to make room for the replacement suffix.
    assert_eq!(
        res(&g, "lb_target_group.eleven-char").args["name"],
        Value::str("a-twenty-char-stack1-eleven-ff7c")
    );
}

#[test]
fn names_follow_the_naming_scheme() {
    let g = expand(&hello(), &Data::default());
    let arg = |s: &str, k: &str| res(&g, s).args[k].clone();
    assert_eq!(arg("security_group.alb", "name"), Value::str("hello-alb"));
    assert_eq!(
        arg("security_group.instances", "name"),
        Value::str("hello-instances")
    );
    // IAM is global to the account: its names carry the region.
    assert_eq!(
        arg("iam_role.instance", "name"),
        Value::str("hello-eu-west-2-instance")
    );
    assert_eq!(
        arg("iam_role.task_execution", "name"),
        Value::str("hello-eu-west-2-task-execution")
    );
    assert_eq!(
        arg("iam_instance_profile.instance", "name"),
        Value::str("hello-eu-west-2-instance")
    );
    match &arg("iam_role.instance", "tags") {
        Value::Map(tags) => assert_eq!(tags["ecsctl:region"], Value::str("eu-west-2")),
        other => panic!("{other:?}"),
    }
    assert_eq!(arg("ecs_cluster.main", "name"), Value::str("hello"));
    assert_eq!(
        arg("launch_template.instances", "name"),
        Value::str("hello-instances")
    );
    assert_eq!(
        arg("autoscaling_group.instances", "name"),
        Value::str("hello-instances")
    );
    assert_eq!(
        arg("scaling_policy.instances", "name"),
        Value::str("hello-cpu-target")
    );
    assert_eq!(arg("lb.main", "name"), Value::str("hello"));
    assert_eq!(
        arg("lb_target_group.hello", "name"),
        Value::str("hello-hello-21a4")
    );
    assert_eq!(
        arg("log_group.hello", "name"),
        Value::str("/ecsctl/hello/hello")
    );
    assert_eq!(
        arg("task_definition.hello", "family"),
        Value::str("hello-hello")
    );
    assert_eq!(arg("ecs_service.hello", "name"), Value::str("hello"));
}

// ---- data known or not ----

#[test]
fn unknown_data_gives_unknown_azs_ami_and_region() {
    let mut stack = hello();
    stack.region = None;
    let g = expand(&stack, &Data::default());
    for i in 0..2 {
        let s = res(&g, &format!("subnet.private[{i}]"));
        assert_eq!(s.args["availability_zone"], Value::Unknown);
    }
    assert_eq!(
        res(&g, "launch_template.instances").args["image_id"],
        Value::Unknown
    );
    assert_eq!(
        res(&g, "hosted_zone.private").args["vpc_region"],
        Value::Unknown
    );
    let td = res(&g, "task_definition.hello");
    let c = &items(&td.args["container_definitions"])[0];
    let opts = field(field(c, "log_configuration"), "options");
    assert_eq!(*field(opts, "awslogs-region"), Value::Unknown);

    let g = expand(&stack, &known_data());
    assert_eq!(
        res(&g, "subnet.private[1]").args["availability_zone"],
        Value::str("eu-west-2b")
    );
    assert_eq!(
        res(&g, "launch_template.instances").args["image_id"],
        Value::str("ami-0123456789abcdef0")
    );
    assert_eq!(
        res(&g, "hosted_zone.private").args["vpc_region"],
        Value::str("eu-west-2")
    );
}

#[test]
fn explicit_azs_and_ami_ids_need_no_lookup() {
    let mut stack = with_three_named_azs(hello());
    stack.cluster.ami = Ami::Id("ami-0fedcba9876543210".into());
    let g = expand(&stack, &Data::default());
    assert_eq!(
        res(&g, "subnet.public[2]").args["availability_zone"],
        Value::str("eu-west-2c")
    );
    assert_eq!(
        res(&g, "launch_template.instances").args["image_id"],
        Value::str("ami-0fedcba9876543210")
    );
    // The stack's region wins over the looked-up one.
    let data = Data {
        region: Some("us-east-1".into()),
        ..Data::default()
    };
    let g = expand(&hello(), &data);
    assert_eq!(
        res(&g, "hosted_zone.private").args["vpc_region"],
        Value::str("eu-west-2")
    );
}

// ---- what runs on the instances ----

#[test]
fn the_launch_template_requires_imdsv2_encrypts_and_joins_the_cluster() {
    let g = expand(&hello(), &Data::default());
    let lt = res(&g, "launch_template.instances");
    assert_eq!(lt.args["metadata_http_tokens"], Value::str("required"));
    let root = &lt.args["root_volume"];
    assert_eq!(*field(root, "encrypted"), Value::Bool(true));
    assert_eq!(*field(root, "volume_type"), Value::str("gp3"));
    assert_eq!(*field(root, "device_name"), Value::str("/dev/xvda"));
    assert_eq!(*field(root, "size_gb"), Value::int(30));
    let user_data = string(&lt.args["user_data"]);
    assert!(user_data.contains("/etc/ecs/ecs.config"));
    assert!(user_data.lines().any(|l| l == "ECS_CLUSTER=hello"));
    assert_eq!(lt.args["key_name"], Value::str("eHa"));
    assert_eq!(
        lt.args["security_group_ids"],
        Value::List(vec![a("security_group.instances").attr("id")])
    );
    let mut stack = hello();
    stack.cluster.key_name = None;
    let g = expand(&stack, &Data::default());
    assert_eq!(
        res(&g, "launch_template.instances").args["key_name"],
        Value::Null
    );

    let asg = res(&g, "autoscaling_group.instances");
    assert_eq!(
        asg.args["launch_template_version"],
        a("launch_template.instances").attr("latest_version")
    );
    assert_eq!(asg.args["min_size"], Value::int(2));
    assert_eq!(asg.args["max_size"], Value::int(4));
    assert_eq!(asg.args["health_check_grace_period"], Value::int(60));
}

#[test]
fn task_definitions_use_bridge_networking_and_dynamic_host_ports() {
    let g = expand(&hello(), &known_data());
    let td = res(&g, "task_definition.hello");
    assert_eq!(td.args["network_mode"], Value::str("bridge"));
    assert_eq!(td.args["requires_compatibilities"], Value::list(["EC2"]));
    assert_eq!(td.args["task_role_arn"], Value::Null);
    let containers = items(&td.args["container_definitions"]);
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    assert_eq!(*field(c, "name"), Value::str("hello"));
    assert_eq!(*field(c, "essential"), Value::Bool(true));
    let pm = &items(field(c, "port_mappings"))[0];
    assert_eq!(*field(pm, "host_port"), Value::int(0));
    assert_eq!(*field(pm, "container_port"), Value::int(5000));
    let opts = field(field(c, "log_configuration"), "options");
    assert_eq!(
        *field(opts, "awslogs-group"),
        Value::str("/ecsctl/hello/hello")
    );
    assert_eq!(*field(opts, "awslogs-region"), Value::str("eu-west-2"));

    let svc = res(&g, "ecs_service.hello");
    assert_eq!(svc.args["launch_type"], Value::str("EC2"));
    let lb = &items(&svc.args["load_balancers"])[0];
    assert_eq!(
        *field(lb, "target_group_arn"),
        a("lb_target_group.hello").attr("arn")
    );
    assert_eq!(*field(lb, "container_port"), Value::int(5000));
    let breaker = field(&svc.args["deployment"], "circuit_breaker");
    assert_eq!(*field(breaker, "rollback"), Value::Bool(true));
}

// ---- DOT ----

#[test]
fn dot_output_is_stable_and_shows_every_node_and_edge() {
    for (name, g) in variety() {
        let dot = to_dot(&g);
        assert_eq!(dot, to_dot(&g.clone()), "{name}");
        for r in g.resources() {
            let node = format!("\"{0}\" [label=\"{0}\"", r.address);
            assert!(dot.contains(&node), "{name}: {node}");
        }
        let edges = g.edges();
        for (dependent, dep) in &edges {
            let edge = format!("  \"{dep}\" -> \"{dependent}\";\n");
            assert!(dot.contains(&edge), "{name}: {edge}");
        }
        assert_eq!(dot.matches(" -> ").count(), edges.len(), "{name}");
    }
}

#[test]
fn expansion_is_deterministic() {
    let stack = with_https(with_services(hello(), 5));
    assert_eq!(expand(&stack, &known_data()), expand(&stack, &known_data()));
    assert_eq!(
        to_dot(&expand(&stack, &Data::default())),
        to_dot(&expand(&stack, &Data::default()))
    );
}

// A target group's name changes with what forces AWS to replace it, so its replacement is
// created first (the listener moves to it) instead of deadlocking against the listener.
#[test]
fn a_target_group_is_renamed_by_what_replaces_it() {
    let name = |stack: &Stack| {
        res(&expand(stack, &Data::default()), "lb_target_group.hello").args["name"].clone()
    };
    let base = hello();
    let mut port = hello();
    port.services[0].container_port += 1;
    let mut cidr = hello();
    cidr.network.cidr = "10.1.0.0/16".parse().unwrap();
    let mut unrelated = hello();
    unrelated.services[0].health_check_path = "/health".into();
    assert_ne!(name(&base), name(&port));
    assert_ne!(name(&base), name(&cidr));
    assert_eq!(name(&base), name(&unrelated));
}
