//! Counting what a stack left in the emulator, read directly from moto (not through a fault
//! proxy): every kind of resource the example stack makes, found by its `ecsctl:stack` tag
//! or, where the API lists no tags, by the names the stack gives. Shared by
//! `ecsctl-aws/tests/lost_reply.rs` and `tests/reliability.rs`.

#![allow(dead_code)]

use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use ecsctl_aws::{Clients, RetrySettings};
use ecsctl_testing::{AccountHeader, Moto};
use std::collections::BTreeMap;

/// Resource counts by kind name (`vpc`, `subnet`, …).
pub type Census = BTreeMap<&'static str, usize>;

/// What a clean apply of `stack.toml.example` (2 zones, one NAT, one service, DNS) makes.
pub fn example_stack() -> Census {
    [
        ("vpc", 1),
        ("subnet", 4),
        ("internet_gateway", 1),
        ("nat_gateway", 1),
        ("eip", 1),
        ("security_group", 2),
        ("route_table", 3),
        ("launch_template", 1),
        ("iam_role", 2),
        ("iam_instance_profile", 1),
        ("ecs_cluster", 1),
        ("task_definition_revision", 1),
        ("ecs_service", 1),
        ("autoscaling_group", 1),
        ("scaling_policy", 1),
        ("lb", 1),
        ("lb_target_group", 1),
        ("lb_listener", 1),
        ("lb_listener_rule", 0),
        ("log_group", 1),
        ("hosted_zone", 1),
        ("dns_record", 1),
    ]
    .into_iter()
    .collect()
}

/// The same kinds, none left.
pub fn nothing() -> Census {
    example_stack().into_keys().map(|k| (k, 0)).collect()
}

/// Clients straight to moto, in `account` (None: the default account, as the CLI uses).
pub async fn direct(account: Option<&str>) -> Clients {
    let conf = Moto::get().sdk_config().await;
    let interceptors: Vec<SharedInterceptor> = account
        .map(|a| SharedInterceptor::new(AccountHeader(a.to_string())))
        .into_iter()
        .collect();
    Clients::from_conf_settings(&conf, &RetrySettings::quick(), &interceptors)
}

fn stack_filter(stack: &str) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder()
        .name("tag:ecsctl:stack")
        .values(stack)
        .build()
}

fn has_stack_tag<'a>(mut pairs: impl Iterator<Item = (&'a str, &'a str)>, stack: &str) -> bool {
    pairs.any(|(k, v)| k == "ecsctl:stack" && v == stack)
}

/// Count everything of `stack` in moto's `account`.
pub async fn census(account: Option<&str>, stack: &str) -> Census {
    let c = direct(account).await;
    let mut out = Census::new();
    let ec2 = &c.ec2;
    let f = || stack_filter(stack);

    let vpcs = ec2.describe_vpcs().filters(f()).send().await.expect("vpcs");
    out.insert("vpc", vpcs.vpcs().len());
    let subnets = ec2
        .describe_subnets()
        .filters(f())
        .send()
        .await
        .expect("subnets");
    out.insert("subnet", subnets.subnets().len());
    let igws = ec2
        .describe_internet_gateways()
        .filters(f())
        .send()
        .await
        .expect("igws");
    out.insert("internet_gateway", igws.internet_gateways().len());
    let nats = ec2
        .describe_nat_gateways()
        .filter(f())
        .send()
        .await
        .expect("nats");
    out.insert(
        "nat_gateway",
        nats.nat_gateways()
            .iter()
            // moto ignores the tag filter of DescribeNatGateways: check the tags here.
            .filter(|n| {
                has_stack_tag(
                    n.tags()
                        .iter()
                        .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))),
                    stack,
                ) && !matches!(
                    n.state().map(|s| s.as_str()),
                    Some("deleted") | Some("deleting")
                )
            })
            .count(),
    );
    let eips = ec2
        .describe_addresses()
        .filters(f())
        .send()
        .await
        .expect("eips");
    out.insert("eip", eips.addresses().len());
    let sgs = ec2
        .describe_security_groups()
        .filters(f())
        .send()
        .await
        .expect("sgs");
    out.insert("security_group", sgs.security_groups().len());
    let rts = ec2
        .describe_route_tables()
        .filters(f())
        .send()
        .await
        .expect("route tables");
    out.insert("route_table", rts.route_tables().len());
    let lts = ec2
        .describe_launch_templates()
        .filters(f())
        .send()
        .await
        .expect("launch templates");
    out.insert("launch_template", lts.launch_templates().len());

    let prefix = format!("{stack}-");
    let roles = c.iam.list_roles().send().await.expect("roles");
    out.insert(
        "iam_role",
        roles
            .roles()
            .iter()
            .filter(|r| r.role_name().starts_with(&prefix))
            .count(),
    );
    let profiles = c
        .iam
        .list_instance_profiles()
        .send()
        .await
        .expect("instance profiles");
    out.insert(
        "iam_instance_profile",
        profiles
            .instance_profiles()
            .iter()
            .filter(|p| p.instance_profile_name().starts_with(&prefix))
            .count(),
    );

    let clusters = c
        .ecs
        .describe_clusters()
        .clusters(stack)
        .include(aws_sdk_ecs::types::ClusterField::Tags)
        .send()
        .await
        .expect("clusters");
    let active: Vec<_> = clusters
        .clusters()
        .iter()
        .filter(|c| c.status() == Some("ACTIVE"))
        .collect();
    out.insert("ecs_cluster", active.len());
    let mut services = 0;
    for cluster in &active {
        let arn = cluster.cluster_arn().unwrap_or_default();
        let listed = c
            .ecs
            .list_services()
            .cluster(arn)
            .send()
            .await
            .expect("services");
        if listed.service_arns().is_empty() {
            continue;
        }
        let described = c
            .ecs
            .describe_services()
            .cluster(arn)
            .set_services(Some(listed.service_arns().to_vec()))
            .send()
            .await
            .expect("describe services");
        services += described
            .services()
            .iter()
            .filter(|s| s.status() == Some("ACTIVE"))
            .count();
    }
    out.insert("ecs_service", services);
    let tds = c
        .ecs
        .list_task_definitions()
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .expect("task definitions");
    out.insert(
        "task_definition_revision",
        tds.task_definition_arns()
            .iter()
            .filter(|a| a.contains(&format!("task-definition/{prefix}")))
            .count(),
    );

    let groups = c
        .autoscaling
        .describe_auto_scaling_groups()
        .send()
        .await
        .expect("asgs");
    let ours: Vec<String> = groups
        .auto_scaling_groups()
        .iter()
        .filter(|g| {
            has_stack_tag(
                g.tags()
                    .iter()
                    .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))),
                stack,
            )
        })
        .map(|g| g.auto_scaling_group_name().unwrap_or_default().to_string())
        .collect();
    out.insert("autoscaling_group", ours.len());
    let mut policies = 0;
    for g in &ours {
        let p = c
            .autoscaling
            .describe_policies()
            .auto_scaling_group_name(g)
            .send()
            .await
            .expect("policies");
        policies += p.scaling_policies().len();
    }
    out.insert("scaling_policy", policies);

    let lbs = c.elbv2.describe_load_balancers().send().await.expect("lbs");
    let lb_arns: Vec<String> = lbs
        .load_balancers()
        .iter()
        .filter_map(|l| l.load_balancer_arn().map(str::to_string))
        .collect();
    let ours_lb = elb_tagged(&c, &lb_arns, stack).await;
    out.insert("lb", ours_lb.len());
    let tgs = c
        .elbv2
        .describe_target_groups()
        .send()
        .await
        .expect("target groups");
    let tg_arns: Vec<String> = tgs
        .target_groups()
        .iter()
        .filter_map(|t| t.target_group_arn().map(str::to_string))
        .collect();
    out.insert(
        "lb_target_group",
        elb_tagged(&c, &tg_arns, stack).await.len(),
    );
    let mut listeners = 0;
    let mut rules = 0;
    for lb in &ours_lb {
        let ls = c
            .elbv2
            .describe_listeners()
            .load_balancer_arn(lb)
            .send()
            .await
            .expect("listeners");
        for l in ls.listeners() {
            listeners += 1;
            let rs = c
                .elbv2
                .describe_rules()
                .listener_arn(l.listener_arn().unwrap_or_default())
                .send()
                .await
                .expect("rules");
            rules += rs
                .rules()
                .iter()
                .filter(|r| r.is_default() != Some(true))
                .count();
        }
    }
    out.insert("lb_listener", listeners);
    out.insert("lb_listener_rule", rules);

    let logs = c
        .logs
        .describe_log_groups()
        .log_group_name_prefix(format!("/ecsctl/{stack}/"))
        .send()
        .await
        .expect("log groups");
    out.insert("log_group", logs.log_groups().len());

    let zones = c.route53.list_hosted_zones().send().await.expect("zones");
    let mut ours_zones = Vec::new();
    for z in zones.hosted_zones() {
        let id = z.id().trim_start_matches("/hostedzone/").to_string();
        let tags = c
            .route53
            .list_tags_for_resource()
            .resource_type(aws_sdk_route53::types::TagResourceType::Hostedzone)
            .resource_id(&id)
            .send()
            .await
            .expect("zone tags");
        let tagged = tags.resource_tag_set().is_some_and(|s| {
            has_stack_tag(
                s.tags()
                    .iter()
                    .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))),
                stack,
            )
        });
        if tagged {
            ours_zones.push(id);
        }
    }
    out.insert("hosted_zone", ours_zones.len());
    let mut records = 0;
    for id in &ours_zones {
        let sets = c
            .route53
            .list_resource_record_sets()
            .hosted_zone_id(id)
            .send()
            .await
            .expect("records");
        records += sets
            .resource_record_sets()
            .iter()
            .filter(|r| !matches!(r.r#type().as_str(), "SOA" | "NS"))
            .count();
    }
    out.insert("dns_record", records);
    out
}

/// The ELBv2 ARNs among `arns` tagged with `stack`.
async fn elb_tagged(c: &Clients, arns: &[String], stack: &str) -> Vec<String> {
    let mut out = Vec::new();
    for chunk in arns.chunks(20) {
        let tags = c
            .elbv2
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .expect("elb tags");
        for d in tags.tag_descriptions() {
            let ours = has_stack_tag(
                d.tags()
                    .iter()
                    .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))),
                stack,
            );
            if ours {
                out.push(d.resource_arn().unwrap_or_default().to_string());
            }
        }
    }
    out
}
