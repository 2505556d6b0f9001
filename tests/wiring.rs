//! After `ecsctl apply` of the README's example stack, a platform engineer looking at the
//! (emulated) account finds a correctly wired stack: public subnets route to the internet
//! gateway, private ones to the NAT, the private zone is on the VPC with a record per
//! service, the listener forwards to the service's target group, the service is on that
//! target group, the ASG launches from the template into the private subnets, and the
//! instances admit only the dynamic port range, only from the load balancer.

use ecsctl_testing::{AwsLike, Moto};
use std::path::Path;
use std::process::{Command, Stdio};

const STACK: &str = "wired";

fn apply(dir: &Path) {
    let src = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../stack.toml.example"),
    )
    .unwrap();
    std::fs::write(
        dir.join("stack.toml"),
        src.replacen("name = \"hello\"", &format!("name = \"{STACK}\""), 1),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecsctl"));
    cmd.current_dir(dir)
        .args(["apply", "--auto-approve", "--no-wait"])
        .stdin(Stdio::null());
    for (k, v) in AwsLike::get().env() {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn state(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("stack.state.json")).unwrap()).unwrap()
}

fn id<'a>(state: &'a serde_json::Value, address: &str) -> &'a str {
    state["resources"][address]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{address} not in state"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_applied_example_is_wired_correctly() {
    let dir = tempfile::tempdir().unwrap();
    apply(dir.path());
    let st = state(dir.path());
    let conf = Moto::get().sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&conf);

    // Routes: public → internet gateway; every private table → the NAT gateway.
    let vpc = id(&st, "vpc.main");
    let igw = id(&st, "internet_gateway.main");
    let nat = id(&st, "nat_gateway.main[0]");
    let rt = |a: &str| id(&st, a).to_string();
    let tables = ec2
        .describe_route_tables()
        .route_table_ids(rt("route_table.public"))
        .route_table_ids(rt("route_table.private[0]"))
        .route_table_ids(rt("route_table.private[1]"))
        .send()
        .await
        .unwrap();
    for t in tables.route_tables() {
        assert_eq!(t.vpc_id(), Some(vpc));
        let default = t
            .routes()
            .iter()
            .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
            .expect("a default route");
        let public = t.route_table_id() == Some(id(&st, "route_table.public"));
        if public {
            assert_eq!(default.gateway_id(), Some(igw));
        } else {
            assert_eq!(default.nat_gateway_id(), Some(nat));
        }
        let subnets: Vec<&str> = t
            .associations()
            .iter()
            .filter_map(|a| a.subnet_id())
            .collect();
        let kind = if public { "public" } else { "private" };
        assert!(
            !subnets.is_empty()
                && subnets
                    .iter()
                    .all(|s| { (0..2).any(|i| *s == id(&st, &format!("subnet.{kind}[{i}]"))) }),
            "{kind} table associated with {subnets:?}"
        );
    }
    let igws = ec2
        .describe_internet_gateways()
        .internet_gateway_ids(igw)
        .send()
        .await
        .unwrap();
    assert_eq!(
        igws.internet_gateways()[0].attachments()[0].vpc_id(),
        Some(vpc)
    );
    let nats = ec2
        .describe_nat_gateways()
        .nat_gateway_ids(nat)
        .send()
        .await
        .unwrap();
    assert_eq!(
        nats.nat_gateways()[0].subnet_id(),
        Some(id(&st, "subnet.public[0]"))
    );

    // Instances admit only 32768-65535 from the load balancer's group; no SSH.
    let sgs = ec2
        .describe_security_groups()
        .group_ids(id(&st, "security_group.instances"))
        .send()
        .await
        .unwrap();
    let ingress = sgs.security_groups()[0].ip_permissions();
    assert_eq!(ingress.len(), 1, "{ingress:?}");
    assert_eq!(
        (ingress[0].from_port(), ingress[0].to_port()),
        (Some(32768), Some(65535))
    );
    assert!(ingress[0].ip_ranges().is_empty());
    assert_eq!(
        ingress[0].user_id_group_pairs()[0].group_id(),
        Some(id(&st, "security_group.alb"))
    );

    // The launch template: IMDSv2 only, encrypted root volume, joins the cluster.
    let lt = ec2
        .describe_launch_template_versions()
        .launch_template_id(id(&st, "launch_template.instances"))
        .versions("$Latest")
        .send()
        .await
        .unwrap();
    let data = lt.launch_template_versions()[0]
        .launch_template_data()
        .unwrap();
    assert_eq!(
        data.metadata_options()
            .and_then(|m| m.http_tokens())
            .map(|t| t.as_str()),
        Some("required")
    );
    // Bridge-mode containers are one hop from the instance: they cannot reach its role.
    assert_eq!(
        data.metadata_options()
            .and_then(|m| m.http_put_response_hop_limit()),
        Some(1)
    );
    assert_eq!(
        data.block_device_mappings()[0]
            .ebs()
            .and_then(|e| e.encrypted()),
        Some(true)
    );
    let user_data = aws_smithy_types::base64::decode(data.user_data().unwrap()).unwrap();
    assert!(String::from_utf8(user_data)
        .unwrap()
        .contains(&format!("ECS_CLUSTER={STACK}")));

    // The ASG launches from that template into the private subnets.
    let asg = aws_sdk_autoscaling::Client::new(&conf)
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(id(&st, "autoscaling_group.instances"))
        .send()
        .await
        .unwrap();
    let g = &asg.auto_scaling_groups()[0];
    assert_eq!(
        g.launch_template().and_then(|t| t.launch_template_id()),
        Some(id(&st, "launch_template.instances"))
    );
    let mut zones: Vec<&str> = g.vpc_zone_identifier().unwrap().split(',').collect();
    zones.sort();
    let mut private = vec![id(&st, "subnet.private[0]"), id(&st, "subnet.private[1]")];
    private.sort();
    assert_eq!(zones, private);

    // Listener → the service's target group; the service is on that target group.
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&conf);
    let tg = id(&st, "lb_target_group.hello");
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(id(&st, "lb.main"))
        .send()
        .await
        .unwrap();
    let http = &listeners.listeners()[0];
    assert_eq!(http.port(), Some(80));
    assert_eq!(http.default_actions()[0].target_group_arn(), Some(tg));
    let ecs = aws_sdk_ecs::Client::new(&conf);
    let svc = ecs
        .describe_services()
        .cluster(id(&st, "ecs_cluster.main"))
        .services(id(&st, "ecs_service.hello"))
        .send()
        .await
        .unwrap();
    let svc = &svc.services()[0];
    assert_eq!(svc.load_balancers()[0].target_group_arn(), Some(tg));
    assert_eq!(svc.load_balancers()[0].container_port(), Some(5000));
    assert_eq!(
        svc.task_definition(),
        Some(id(&st, "task_definition.hello"))
    );
    let td = ecs
        .describe_task_definition()
        .task_definition(id(&st, "task_definition.hello"))
        .send()
        .await
        .unwrap();
    let td = td.task_definition().unwrap();
    assert_eq!(td.network_mode().map(|m| m.as_str()), Some("bridge"));
    assert_eq!(
        td.container_definitions()[0].port_mappings()[0].host_port(),
        Some(0)
    );

    // The private zone is on the VPC and names the service.
    let r53 = aws_sdk_route53::Client::new(&conf);
    let zone = r53
        .get_hosted_zone()
        .id(id(&st, "hosted_zone.private"))
        .send()
        .await
        .unwrap();
    assert_eq!(zone.hosted_zone().unwrap().name(), "myorg.local.");
    assert_eq!(zone.vpcs()[0].vpc_id(), Some(vpc));
    let records = r53
        .list_resource_record_sets()
        .hosted_zone_id(id(&st, "hosted_zone.private"))
        .send()
        .await
        .unwrap();
    let hello = records
        .resource_record_sets()
        .iter()
        .find(|r| r.name().trim_end_matches('.') == "hello.myorg.local")
        .expect("a record for the service");
    let lb_dns = st["resources"]["lb.main"]["outputs"]["dns_name"]
        .as_str()
        .unwrap();
    assert_eq!(
        hello
            .alias_target()
            .map(|a| a.dns_name().trim_end_matches('.').to_lowercase()),
        Some(lb_dns.trim_end_matches('.').to_lowercase())
    );

    // Every taggable EC2 object carries the stack's tags.
    let vpcs = ec2.describe_vpcs().vpc_ids(vpc).send().await.unwrap();
    let tags: Vec<(&str, &str)> = vpcs.vpcs()[0]
        .tags()
        .iter()
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    assert!(tags.contains(&("ecsctl:stack", STACK)));
    assert!(tags.contains(&("ecsctl:address", "vpc.main")));
    assert!(tags.contains(&("Environment", "dev")));
}
