//! The ELBv2 kinds (`lb`, `lb_target_group`, `lb_listener`, `lb_listener_rule`) against
//! moto, through the `Provider` methods; the load balancer's waiters against mocked
//! responses (moto is never `provisioning`).

use aws_sdk_elasticloadbalancingv2 as elbv2;
use aws_smithy_mocks::{mock, MockResponseInterceptor, Rule, RuleMode};
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use ecsctl_aws::{AwsProvider, Clients, RetrySettings};
use ecsctl_graph::{Address, Kind};
use ecsctl_provider::{
    Attrs, Call, ErrorClass, Live, Options, Progress, Provider, Quiet, ReadItem,
};
use ecsctl_testing::{next_account, AccountHeader, Moto};
use elbv2::types::{LoadBalancer, LoadBalancerState, LoadBalancerStateEnum};
use serde_json::{json, Value as Json};
use std::sync::Mutex;
use std::time::Duration;

const STACK: &str = "elbt";

async fn provider() -> AwsProvider {
    let conf = Moto::get().sdk_config().await;
    let clients = Clients::from_conf_settings(
        &conf,
        &RetrySettings::quick(),
        &[SharedInterceptor::new(AccountHeader(next_account()))],
    );
    AwsProvider::new(STACK, clients)
}

fn attrs(v: Json) -> Attrs {
    v.as_object().cloned().expect("an object")
}

fn tags(address: &str, extra: &[(&str, &str)]) -> Json {
    let mut t = json!({"Name": format!("{STACK}-{address}"), "ecsctl:stack": STACK, "ecsctl:address": address});
    for (k, v) in extra {
        t[*k] = json!(v);
    }
    t
}

/// Sets compare in any order (the plan normalises their order too).
fn normalised(mut a: Attrs) -> Attrs {
    for k in ["subnet_ids", "security_group_ids"] {
        if let Some(Json::Array(items)) = a.get_mut(k) {
            items.sort_by_key(|v| v.to_string());
        }
    }
    a
}

struct Env {
    p: AwsProvider,
    vpc: String,
    subnets: Vec<String>,
    groups: Vec<String>,
}

/// A VPC with three subnets in three zones and two security groups, made with plain SDK
/// calls (the prerequisites are not what this file tests).
async fn env() -> Env {
    let p = provider().await;
    let ec2 = &p.clients.ec2;
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .and_then(|v| v.vpc_id())
        .unwrap()
        .to_string();
    let mut subnets = Vec::new();
    for (i, az) in ["eu-west-2a", "eu-west-2b", "eu-west-2c"]
        .iter()
        .enumerate()
    {
        let s = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(format!("10.0.{i}.0/24"))
            .availability_zone(*az)
            .send()
            .await
            .unwrap();
        subnets.push(s.subnet().and_then(|s| s.subnet_id()).unwrap().to_string());
    }
    let mut groups = Vec::new();
    for name in ["alb", "alb2"] {
        let g = ec2
            .create_security_group()
            .group_name(format!("{STACK}-{name}"))
            .description("test")
            .vpc_id(&vpc)
            .send()
            .await
            .unwrap();
        groups.push(g.group_id().unwrap().to_string());
    }
    Env {
        p,
        vpc,
        subnets,
        groups,
    }
}

fn call<'a>(address: &'a Address, progress: &'a dyn Progress, options: &'a Options) -> Call<'a> {
    Call {
        address,
        progress,
        options,
    }
}

async fn read_one(p: &AwsProvider, address: &Address, id: &str, args: &Attrs) -> Option<Live> {
    let item = ReadItem {
        address: address.clone(),
        id: id.to_string(),
        args: args.clone(),
        outputs: Attrs::new(),
    };
    let mut got = p.read(address.kind, &[item]).await.unwrap();
    got.remove(address).expect("an entry for every item")
}

#[tokio::test]
async fn load_balancer_target_group_listener_and_rule_lifecycle() {
    let e = env().await;
    let p = &e.p;
    let options = Options::default();

    // --- lb ---
    let lb_addr = Address::new(Kind::Lb, "main");
    let c = call(&lb_addr, &Quiet, &options);
    let lb_args = attrs(json!({
        "name": STACK,
        "internal": false,
        "type": "application",
        "subnet_ids": [e.subnets[0], e.subnets[1]],
        "security_group_ids": [e.groups[0]],
        "idle_timeout": 60,
        "tags": tags("lb.main", &[("Environment", "dev")]),
    }));
    let lb = p.create(&c, &lb_args, "tok-lb").await.unwrap();
    assert!(
        lb.id.starts_with("arn:aws:elasticloadbalancing:"),
        "{}",
        lb.id
    );
    assert_eq!(lb.outputs["arn"], json!(lb.id));
    assert!(!lb.outputs["dns_name"].as_str().unwrap().is_empty());
    assert!(!lb.outputs["zone_id"].as_str().unwrap().is_empty());
    let live = read_one(p, &lb_addr, &lb.id, &lb_args).await.unwrap();
    assert_eq!(normalised(live.args), normalised(lb_args.clone()));
    assert_eq!(live.outputs, lb.outputs);
    assert_eq!(
        p.find(&c, &lb_args, "tok-lb").await.unwrap(),
        Some(lb.clone())
    );

    // --- target group ---
    let tg_addr = Address::new(Kind::LbTargetGroup, "web");
    let tc = call(&tg_addr, &Quiet, &options);
    let tg_args = attrs(json!({
        "name": format!("{STACK}-web"),
        "port": 5000,
        "protocol": "HTTP",
        "vpc_id": e.vpc,
        "target_type": "instance",
        "health_check": {"path": "/", "matcher": "200-399", "interval": 15, "timeout": 5,
                         "healthy_threshold": 2, "unhealthy_threshold": 3},
        "deregistration_delay": 30,
        "tags": tags("lb_target_group.web", &[]),
    }));
    let tg = p.create(&tc, &tg_args, "tok-tg").await.unwrap();
    assert_eq!(tg.outputs["arn"], json!(tg.id));
    let live = read_one(p, &tg_addr, &tg.id, &tg_args).await.unwrap();
    assert_eq!(live.args, tg_args);
    assert_eq!(
        p.find(&tc, &tg_args, "tok-tg").await.unwrap(),
        Some(tg.clone())
    );

    // --- listener ---
    let l_addr = Address::new(Kind::LbListener, "http");
    let lc = call(&l_addr, &Quiet, &options);
    let l_args = attrs(json!({
        "load_balancer_arn": lb.id,
        "port": 80,
        "protocol": "HTTP",
        "certificate_arn": null,
        "default_action": {"type": "forward", "target_group_arn": tg.id},
        "tags": tags("lb_listener.http", &[]),
    }));
    let l = p.create(&lc, &l_args, "tok-l").await.unwrap();
    assert_eq!(l.outputs["arn"], json!(l.id));
    let live = read_one(p, &l_addr, &l.id, &l_args).await.unwrap();
    assert_eq!(live.args, l_args);
    assert_eq!(
        p.find(&lc, &l_args, "tok-l").await.unwrap(),
        Some(l.clone())
    );

    // --- listener rule (to a second target group) ---
    let tg2_addr = Address::new(Kind::LbTargetGroup, "api");
    let mut tg2_args = tg_args.clone();
    tg2_args.insert("name".into(), json!(format!("{STACK}-api")));
    tg2_args.insert("tags".into(), tags("lb_target_group.api", &[]));
    let tg2 = p
        .create(&call(&tg2_addr, &Quiet, &options), &tg2_args, "tok-tg2")
        .await
        .unwrap();
    let r_addr = Address::new(Kind::LbListenerRule, "api");
    let rc = call(&r_addr, &Quiet, &options);
    let r_args = attrs(json!({
        "listener_arn": l.id,
        "priority": 10,
        "path_patterns": ["/api/*"],
        "host_headers": [],
        "target_group_arn": tg2.id,
        "tags": tags("lb_listener_rule.api", &[]),
    }));
    let r = p.create(&rc, &r_args, "tok-r").await.unwrap();
    assert_eq!(r.outputs["arn"], json!(r.id));
    let live = read_one(p, &r_addr, &r.id, &r_args).await.unwrap();
    assert_eq!(live.args, r_args);
    assert_eq!(
        p.find(&rc, &r_args, "tok-r").await.unwrap(),
        Some(r.clone())
    );

    // --- a rule whose priority the stack's own rule holds parks behind it, and takes the
    // priority when the holder moves on (a service inserted before another) ---
    let s_addr = Address::new(Kind::LbListenerRule, "search");
    let notes = Notes::default();
    let mut s_args = r_args.clone();
    s_args.insert("path_patterns".into(), json!(["/search/*"]));
    s_args.insert("tags".into(), tags("lb_listener_rule.search", &[]));
    let parked = p
        .create(&call(&s_addr, &notes, &options), &s_args, "tok-s")
        .await
        .unwrap();
    assert!(
        notes.0.lock().unwrap()[0].contains("waiting at priority 45010 behind it"),
        "{:?}",
        notes.0.lock().unwrap()
    );
    let live = read_one(p, &s_addr, &parked.id, &s_args).await.unwrap();
    assert_eq!(live.args["priority"], json!(45010));
    let mut r_moved = r_args.clone();
    r_moved.insert("priority".into(), json!(20));
    p.update(&rc, &r.id, &r_args, &r_moved, &r.outputs)
        .await
        .unwrap();
    let live = read_one(p, &s_addr, &parked.id, &s_args).await.unwrap();
    assert_eq!(live.args["priority"], json!(10), "the parked rule took 10");
    // Back as the rest of the test expects: the search rule goes, the api rule returns to 10.
    p.delete(
        &call(&s_addr, &Quiet, &options),
        &parked.id,
        &s_args,
        &parked.outputs,
    )
    .await
    .unwrap();
    p.update(&rc, &r.id, &r_moved, &r_args, &r.outputs)
        .await
        .unwrap();
    assert_eq!(
        read_one(p, &r_addr, &r.id, &r_args).await.unwrap().args,
        r_args
    );

    // --- tagged lists each kind by its address ---
    for (kind, address, id) in [
        (Kind::Lb, &lb_addr, &lb.id),
        (Kind::LbTargetGroup, &tg_addr, &tg.id),
        (Kind::LbListener, &l_addr, &l.id),
        (Kind::LbListenerRule, &r_addr, &r.id),
    ] {
        let orphans = p.tagged(kind, STACK).await.unwrap();
        assert!(
            orphans.iter().any(|o| &o.address == address && &o.id == id),
            "{kind}: {orphans:?}"
        );
        assert!(p.tagged(kind, "other").await.unwrap().is_empty(), "{kind}");
    }

    // --- updates in place ---
    let mut lb_new = lb_args.clone();
    lb_new.insert("subnet_ids".into(), json!([e.subnets[1], e.subnets[2]]));
    lb_new.insert("security_group_ids".into(), json!([e.groups[1]]));
    lb_new.insert("idle_timeout".into(), json!(120));
    lb_new.insert("tags".into(), tags("lb.main", &[("Team", "platform")]));
    let out = p
        .update(&c, &lb.id, &lb_args, &lb_new, &lb.outputs)
        .await
        .unwrap();
    assert_eq!(out, lb.outputs);
    let live = read_one(p, &lb_addr, &lb.id, &lb_new).await.unwrap();
    assert_eq!(normalised(live.args), normalised(lb_new.clone()));

    let mut tg_new = tg_args.clone();
    tg_new.insert(
        "health_check".into(),
        json!({"path": "/health", "matcher": "200", "interval": 30, "timeout": 10,
               "healthy_threshold": 3, "unhealthy_threshold": 2}),
    );
    tg_new.insert("deregistration_delay".into(), json!(5));
    tg_new.insert(
        "tags".into(),
        tags("lb_target_group.web", &[("Team", "platform")]),
    );
    p.update(&tc, &tg.id, &tg_args, &tg_new, &tg.outputs)
        .await
        .unwrap();
    let live = read_one(p, &tg_addr, &tg.id, &tg_new).await.unwrap();
    assert_eq!(live.args, tg_new);

    let mut l_new = l_args.clone();
    l_new.insert("port".into(), json!(8080));
    l_new.insert(
        "default_action".into(),
        json!({"type": "redirect", "port": 443, "protocol": "HTTPS", "status_code": "HTTP_301"}),
    );
    p.update(&lc, &l.id, &l_args, &l_new, &l.outputs)
        .await
        .unwrap();
    let live = read_one(p, &l_addr, &l.id, &l_new).await.unwrap();
    assert_eq!(live.args, l_new);

    let mut r_new = r_args.clone();
    r_new.insert("priority".into(), json!(20));
    r_new.insert("host_headers".into(), json!(["api.example.com"]));
    r_new.insert(
        "tags".into(),
        tags("lb_listener_rule.api", &[("Team", "platform")]),
    );
    p.update(&rc, &r.id, &r_args, &r_new, &r.outputs)
        .await
        .unwrap();
    let live = read_one(p, &r_addr, &r.id, &r_new).await.unwrap();
    assert_eq!(live.args, r_new);

    // --- a target group in use cannot go: the engine retries a DependencyViolation ---
    let in_use = p
        .delete(
            &call(&tg2_addr, &Quiet, &options),
            &tg2.id,
            &tg2_args,
            &tg2.outputs,
        )
        .await
        .unwrap_err();
    assert_eq!(in_use.class, ErrorClass::DependencyViolation, "{in_use}");

    // --- deletes, in dependency order; a second delete is a no-op ---
    p.delete(&rc, &r.id, &r_new, &r.outputs).await.unwrap();
    assert_eq!(read_one(p, &r_addr, &r.id, &r_new).await, None);
    p.delete(&rc, &r.id, &r_new, &r.outputs).await.unwrap();

    p.delete(&lc, &l.id, &l_new, &l.outputs).await.unwrap();
    assert_eq!(read_one(p, &l_addr, &l.id, &l_new).await, None);
    p.delete(&lc, &l.id, &l_new, &l.outputs).await.unwrap();

    // Read both target groups after one is gone: the missing one does not hide the other.
    p.delete(&tc, &tg.id, &tg_new, &tg.outputs).await.unwrap();
    let both = p
        .read(
            Kind::LbTargetGroup,
            &[
                ReadItem {
                    address: tg_addr.clone(),
                    id: tg.id.clone(),
                    args: tg_new.clone(),
                    outputs: tg.outputs.clone(),
                },
                ReadItem {
                    address: tg2_addr.clone(),
                    id: tg2.id.clone(),
                    args: tg2_args.clone(),
                    outputs: tg2.outputs.clone(),
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(both[&tg_addr], None);
    assert_eq!(both[&tg2_addr].as_ref().map(|l| &l.args), Some(&tg2_args));
    p.delete(&tc, &tg.id, &tg_new, &tg.outputs).await.unwrap();
    p.delete(
        &call(&tg2_addr, &Quiet, &options),
        &tg2.id,
        &tg2_args,
        &tg2.outputs,
    )
    .await
    .unwrap();

    p.delete(&c, &lb.id, &lb_new, &lb.outputs).await.unwrap();
    assert_eq!(read_one(p, &lb_addr, &lb.id, &lb_new).await, None);
    p.delete(&c, &lb.id, &lb_new, &lb.outputs).await.unwrap();
    assert_eq!(p.find(&c, &lb_new, "tok-lb").await.unwrap(), None);
}

#[tokio::test]
async fn find_ignores_a_load_balancer_of_another_stack() {
    let e = env().await;
    let options = Options::default();
    let addr = Address::new(Kind::Lb, "main");
    let c = call(&addr, &Quiet, &options);
    let args = attrs(json!({
        "name": "shared-name",
        "internal": true,
        "type": "application",
        "subnet_ids": [e.subnets[0], e.subnets[1]],
        "security_group_ids": [e.groups[0]],
        "idle_timeout": 60,
        "tags": tags("lb.main", &[]),
    }));
    let lb = e.p.create(&c, &args, "t").await.unwrap();
    let live = read_one(&e.p, &addr, &lb.id, &args).await.unwrap();
    assert_eq!(live.args["internal"], json!(true));
    let mut theirs = args.clone();
    theirs["tags"]["ecsctl:stack"] = json!("someone-else");
    assert_eq!(e.p.find(&c, &theirs, "t").await.unwrap(), None);
    assert_eq!(
        e.p.find(&c, &args, "t").await.unwrap().map(|f| f.id),
        Some(lb.id)
    );
}

// ---- waiters, against mocked responses ----

/// Records progress notes.
#[derive(Default)]
struct Notes(Mutex<Vec<String>>);

impl Progress for Notes {
    fn note(&self, _: &Address, message: &str) {
        self.0.lock().unwrap().push(message.to_string());
    }
}

async fn mocked(rules: &[&Rule]) -> Clients {
    let mut icpt = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for r in rules {
        icpt = icpt.with_rule(r);
    }
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-west-2"))
        .credentials_provider(elbv2::config::Credentials::new(
            "a", "b", None, None, "mock",
        ))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .load()
        .await;
    Clients::from_conf_settings(
        &conf,
        &RetrySettings::quick(),
        &[SharedInterceptor::new(icpt)],
    )
}

const ARN: &str = "arn:aws:elasticloadbalancing:eu-west-2:123456789012:loadbalancer/app/w/1";

fn balancer(state: LoadBalancerStateEnum, reason: Option<&str>) -> LoadBalancer {
    LoadBalancer::builder()
        .load_balancer_arn(ARN)
        .load_balancer_name("w")
        .dns_name("w-1.eu-west-2.elb.amazonaws.com")
        .canonical_hosted_zone_id("ZHURV8PSTC4K8")
        .state(
            LoadBalancerState::builder()
                .code(state)
                .set_reason(reason.map(str::to_string))
                .build(),
        )
        .build()
}

fn lb_args() -> Attrs {
    attrs(json!({
        "name": "w", "internal": false, "type": "application",
        "subnet_ids": ["subnet-1", "subnet-2"], "security_group_ids": ["sg-1"],
        "idle_timeout": 60, "tags": tags("lb.main", &[]),
    }))
}

fn creation_rules() -> (Rule, Rule) {
    let create = mock!(elbv2::Client::create_load_balancer).then_output(|| {
        elbv2::operation::create_load_balancer::CreateLoadBalancerOutput::builder()
            .load_balancers(balancer(LoadBalancerStateEnum::Provisioning, None))
            .build()
    });
    let attrs = mock!(elbv2::Client::modify_load_balancer_attributes).then_output(|| {
        elbv2::operation::modify_load_balancer_attributes::ModifyLoadBalancerAttributesOutput::builder().build()
    });
    (create, attrs)
}

fn described(
    lb: LoadBalancer,
) -> elbv2::operation::describe_load_balancers::DescribeLoadBalancersOutput {
    elbv2::operation::describe_load_balancers::DescribeLoadBalancersOutput::builder()
        .load_balancers(lb)
        .build()
}

#[tokio::test(start_paused = true)]
async fn create_waits_while_the_load_balancer_provisions() {
    let (create, attrs) = creation_rules();
    let describe = mock!(elbv2::Client::describe_load_balancers)
        .sequence()
        .output(|| described(balancer(LoadBalancerStateEnum::Provisioning, None)))
        .times(2)
        .output(|| described(balancer(LoadBalancerStateEnum::Active, None)))
        .build();
    let p = AwsProvider::new("w", mocked(&[&create, &attrs, &describe]).await);
    let notes = Notes::default();
    let options = Options::default();
    let addr = Address::new(Kind::Lb, "main");
    let made = p
        .create(&call(&addr, &notes, &options), &lb_args(), "t")
        .await
        .unwrap();
    assert_eq!(made.id, ARN);
    assert_eq!(
        made.outputs["dns_name"],
        json!("w-1.eu-west-2.elb.amazonaws.com")
    );
    assert_eq!(made.outputs["zone_id"], json!("ZHURV8PSTC4K8"));
    assert_eq!(describe.num_calls(), 3);
    let notes = notes.0.lock().unwrap().clone();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(
        notes
            .iter()
            .all(|n| n.starts_with("waiting for load balancer to become active (provisioning)")),
        "{notes:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_load_balancer_is_a_clear_error() {
    let (create, attrs) = creation_rules();
    let describe = mock!(elbv2::Client::describe_load_balancers).then_output(|| {
        described(balancer(
            LoadBalancerStateEnum::Failed,
            Some("subnets must be in two availability zones"),
        ))
    });
    let p = AwsProvider::new("w", mocked(&[&create, &attrs, &describe]).await);
    let options = Options::default();
    let addr = Address::new(Kind::Lb, "main");
    let err = p
        .create(&call(&addr, &Quiet, &options), &lb_args(), "t")
        .await
        .unwrap_err();
    assert_eq!(err.address.as_ref(), Some(&addr));
    assert!(err.message.contains("failed to provision"), "{err}");
    assert!(
        err.message
            .contains("subnets must be in two availability zones"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn waiting_for_a_load_balancer_gives_up_at_the_deadline() {
    let (create, attrs) = creation_rules();
    let describe = mock!(elbv2::Client::describe_load_balancers)
        .then_output(|| described(balancer(LoadBalancerStateEnum::Provisioning, None)));
    let p = AwsProvider::new("w", mocked(&[&create, &attrs, &describe]).await);
    let options = Options {
        wait_timeout: Duration::from_secs(1),
        ..Options::default()
    };
    let addr = Address::new(Kind::Lb, "main");
    let err = p
        .create(&call(&addr, &Quiet, &options), &lb_args(), "t")
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Timeout, "{err}");
    assert!(err.message.contains("become active"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn delete_waits_until_the_load_balancer_is_gone() {
    let delete = mock!(elbv2::Client::delete_load_balancer).then_output(|| {
        elbv2::operation::delete_load_balancer::DeleteLoadBalancerOutput::builder().build()
    });
    let describe = mock!(elbv2::Client::describe_load_balancers)
        .sequence()
        .output(|| described(balancer(LoadBalancerStateEnum::Active, None)))
        .error(|| {
            elbv2::operation::describe_load_balancers::DescribeLoadBalancersError::LoadBalancerNotFoundException(
                elbv2::types::error::LoadBalancerNotFoundException::builder()
                    .message("One or more load balancers not found")
                    .meta(
                        aws_smithy_types::error::ErrorMetadata::builder()
                            .code("LoadBalancerNotFound")
                            .message("One or more load balancers not found")
                            .build(),
                    )
                    .build(),
            )
        })
        .build();
    // Its network interfaces linger after it is gone (they hold its subnets and groups).
    let interface = || {
        aws_sdk_ec2::operation::describe_network_interfaces::DescribeNetworkInterfacesOutput::builder()
            .network_interfaces(
                aws_sdk_ec2::types::NetworkInterface::builder()
                    .network_interface_id("eni-0lb")
                    .description("ELB app/w/1")
                    .build(),
            )
            .build()
    };
    let interfaces = mock!(aws_sdk_ec2::Client::describe_network_interfaces)
        .match_requests(|r| {
            r.filters()
                .iter()
                .any(|f| f.name() == Some("description") && f.values() == ["ELB app/w/1"])
        })
        .sequence()
        .output(interface)
        .output(|| {
            aws_sdk_ec2::operation::describe_network_interfaces::DescribeNetworkInterfacesOutput::builder().build()
        })
        .build();
    let p = AwsProvider::new("w", mocked(&[&delete, &describe, &interfaces]).await);
    let notes = Notes::default();
    let options = Options::default();
    let addr = Address::new(Kind::Lb, "main");
    p.delete(
        &call(&addr, &notes, &options),
        ARN,
        &lb_args(),
        &Attrs::new(),
    )
    .await
    .unwrap();
    assert_eq!(describe.num_calls(), 2);
    assert_eq!(interfaces.num_calls(), 2);
    let notes = notes.0.lock().unwrap().clone();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].contains("to be deleted"), "{notes:?}");
    assert!(notes[1].contains("eni-0lb"), "{notes:?}");
}
