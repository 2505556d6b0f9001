//! The Auto Scaling kinds (`autoscaling_group`, `scaling_policy`) against moto, through the
//! `Provider` methods; the group's delete waiter against mocked responses (moto deletes a
//! group and its instances at once).

use autoscaling::types::{AutoScalingGroup, Instance, LifecycleState};
use aws_sdk_autoscaling as autoscaling;
use aws_smithy_mocks::{mock, MockResponseInterceptor, Rule, RuleMode};
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use ecsctl_aws::{AwsProvider, Clients, RetrySettings};
use ecsctl_graph::{Address, Kind};
use ecsctl_provider::{
    Attrs, Call, ErrorClass, Live, Options, Progress, Provider, Quiet, ReadItem,
};
use ecsctl_testing::{next_account, AccountHeader, Moto};
use serde_json::{json, Value as Json};
use std::sync::Mutex;
use std::time::Duration;

const STACK: &str = "asgt";
/// An AMI moto knows.
const AMI: &str = "ami-12c6146b";

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

fn normalised(mut a: Attrs) -> Attrs {
    if let Some(Json::Array(items)) = a.get_mut("subnet_ids") {
        items.sort_by_key(|v| v.to_string());
    }
    a
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

struct Env {
    p: AwsProvider,
    subnets: Vec<String>,
    template: String,
}

/// Two subnets and a launch template with two versions, made with plain SDK calls.
async fn env() -> Env {
    let conf = Moto::get().sdk_config().await;
    let clients = Clients::from_conf_settings(
        &conf,
        &RetrySettings::quick(),
        &[SharedInterceptor::new(AccountHeader(next_account()))],
    );
    let p = AwsProvider::new(STACK, clients);
    let ec2 = &p.clients.ec2;
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.1.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .and_then(|v| v.vpc_id())
        .unwrap()
        .to_string();
    let mut subnets = Vec::new();
    for (i, az) in ["eu-west-2a", "eu-west-2b"].iter().enumerate() {
        let s = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(format!("10.1.{i}.0/24"))
            .availability_zone(*az)
            .send()
            .await
            .unwrap();
        subnets.push(s.subnet().and_then(|s| s.subnet_id()).unwrap().to_string());
    }
    let data = |t: &str| {
        aws_sdk_ec2::types::RequestLaunchTemplateData::builder()
            .image_id(AMI)
            .instance_type(aws_sdk_ec2::types::InstanceType::from(t))
            .build()
    };
    let template = ec2
        .create_launch_template()
        .launch_template_name(format!("{STACK}-instances"))
        .launch_template_data(data("t3.micro"))
        .send()
        .await
        .unwrap()
        .launch_template()
        .and_then(|t| t.launch_template_id())
        .unwrap()
        .to_string();
    ec2.create_launch_template_version()
        .launch_template_id(&template)
        .launch_template_data(data("t3.small"))
        .send()
        .await
        .unwrap();
    Env {
        p,
        subnets,
        template,
    }
}

#[tokio::test]
async fn group_and_scaling_policy_lifecycle() {
    let e = env().await;
    let p = &e.p;
    let options = Options::default();

    // --- autoscaling_group ---
    let addr = Address::new(Kind::AutoscalingGroup, "instances");
    let c = call(&addr, &Quiet, &options);
    let name = format!("{STACK}-instances");
    let args = attrs(json!({
        "name": name,
        "launch_template_id": e.template,
        "launch_template_version": "1",
        "min_size": 1,
        "max_size": 3,
        "desired_capacity": 1,
        "subnet_ids": [e.subnets[0], e.subnets[1]],
        "health_check_grace_period": 60,
        "tags": tags("autoscaling_group.instances", &[("Environment", "dev")]),
    }));
    let g = p.create(&c, &args, "tok-g").await.unwrap();
    assert_eq!(g.id, name);
    assert!(
        g.outputs["arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:autoscaling:"),
        "{:?}",
        g.outputs
    );
    let live = read_one(p, &addr, &g.id, &args).await.unwrap();
    assert_eq!(normalised(live.args), normalised(args.clone()));
    assert_eq!(live.outputs, g.outputs);
    assert_eq!(p.find(&c, &args, "tok-g").await.unwrap(), Some(g.clone()));
    let orphans = p.tagged(Kind::AutoscalingGroup, STACK).await.unwrap();
    assert!(
        orphans.iter().any(|o| o.address == addr && o.id == g.id),
        "{orphans:?}"
    );
    assert!(p
        .tagged(Kind::AutoscalingGroup, "other")
        .await
        .unwrap()
        .is_empty());

    // The group's tags reach its instances.
    let instances = p
        .clients
        .ec2
        .describe_instances()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:ecsctl:address")
                .values("autoscaling_group.instances")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let count: usize = instances
        .reservations()
        .iter()
        .map(|r| r.instances().len())
        .sum();
    assert_eq!(count, 1, "the group's one instance carries its tags");

    let mut new = args.clone();
    new.insert("launch_template_version".into(), json!("2"));
    new.insert("max_size".into(), json!(4));
    new.insert("desired_capacity".into(), json!(2));
    new.insert("subnet_ids".into(), json!([e.subnets[1]]));
    new.insert("health_check_grace_period".into(), json!(120));
    new.insert(
        "tags".into(),
        tags("autoscaling_group.instances", &[("Team", "platform")]),
    );
    let out = p.update(&c, &g.id, &args, &new, &g.outputs).await.unwrap();
    assert_eq!(out, g.outputs);
    let live = read_one(p, &addr, &g.id, &new).await.unwrap();
    assert_eq!(normalised(live.args), normalised(new.clone()));

    // --- scaling_policy ---
    let paddr = Address::new(Kind::ScalingPolicy, "instances");
    let pc = call(&paddr, &Quiet, &options);
    let pargs = attrs(json!({
        "name": format!("{STACK}-cpu-target"),
        "autoscaling_group_name": name,
        "target_cpu": 60,
    }));
    let pol = p.create(&pc, &pargs, "tok-p").await.unwrap();
    assert!(pol.id.starts_with("arn:aws:autoscaling:"), "{}", pol.id);
    assert_eq!(pol.outputs["arn"], json!(pol.id));
    let live = read_one(p, &paddr, &pol.id, &pargs).await.unwrap();
    assert_eq!(live.args, pargs);
    assert_eq!(
        p.find(&pc, &pargs, "tok-p").await.unwrap(),
        Some(pol.clone())
    );
    assert!(p
        .tagged(Kind::ScalingPolicy, STACK)
        .await
        .unwrap()
        .is_empty());

    let mut pnew = pargs.clone();
    pnew.insert("target_cpu".into(), json!(42.5));
    let pout = p
        .update(&pc, &pol.id, &pargs, &pnew, &pol.outputs)
        .await
        .unwrap();
    let live = read_one(p, &paddr, &pol.id, &pnew).await.unwrap();
    assert_eq!(live.args, pnew);
    assert_eq!(live.outputs, pout);

    p.delete(&pc, &pol.id, &pnew, &pout).await.unwrap();
    assert_eq!(read_one(p, &paddr, &pol.id, &pnew).await, None);
    p.delete(&pc, &pol.id, &pnew, &pout).await.unwrap();

    // --- delete the group; deleting again is a no-op ---
    p.delete(&c, &g.id, &new, &g.outputs).await.unwrap();
    assert_eq!(read_one(p, &addr, &g.id, &new).await, None);
    p.delete(&c, &g.id, &new, &g.outputs).await.unwrap();
    assert_eq!(p.find(&c, &new, "tok-g").await.unwrap(), None);
    // A policy of a group that is gone reads as gone.
    assert_eq!(read_one(p, &paddr, &pol.id, &pnew).await, None);
}

#[tokio::test]
async fn sizes_out_of_order_are_refused_before_any_call() {
    let e = env().await;
    let options = Options::default();
    let addr = Address::new(Kind::AutoscalingGroup, "instances");
    let args = attrs(json!({
        "name": "bad", "launch_template_id": e.template, "launch_template_version": "1",
        "min_size": 3, "max_size": 2, "desired_capacity": 2, "subnet_ids": [e.subnets[0]],
        "health_check_grace_period": 60, "tags": tags("autoscaling_group.instances", &[]),
    }));
    let err =
        e.p.create(&call(&addr, &Quiet, &options), &args, "t")
            .await
            .unwrap_err();
    assert_eq!(err.class, ErrorClass::InvalidInput);
    assert_eq!(err.address, Some(addr));
}

// ---- the delete waiter, against mocked responses ----

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
        .credentials_provider(autoscaling::config::Credentials::new(
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

fn group_with(
    instances: usize,
) -> autoscaling::operation::describe_auto_scaling_groups::DescribeAutoScalingGroupsOutput {
    let mut g = AutoScalingGroup::builder()
        .auto_scaling_group_name("g")
        .status("Delete in progress");
    for i in 0..instances {
        g = g.instances(
            Instance::builder()
                .instance_id(format!("i-{i}"))
                .lifecycle_state(LifecycleState::Terminating)
                .build(),
        );
    }
    autoscaling::operation::describe_auto_scaling_groups::DescribeAutoScalingGroupsOutput::builder()
        .auto_scaling_groups(g.build())
        .build()
}

fn no_group(
) -> autoscaling::operation::describe_auto_scaling_groups::DescribeAutoScalingGroupsOutput {
    autoscaling::operation::describe_auto_scaling_groups::DescribeAutoScalingGroupsOutput::builder()
        .set_auto_scaling_groups(Some(Vec::new()))
        .build()
}

fn delete_ok() -> Rule {
    mock!(autoscaling::Client::delete_auto_scaling_group).then_output(|| {
        autoscaling::operation::delete_auto_scaling_group::DeleteAutoScalingGroupOutput::builder()
            .build()
    })
}

#[tokio::test(start_paused = true)]
async fn delete_waits_while_instances_terminate() {
    let delete = delete_ok();
    let describe = mock!(autoscaling::Client::describe_auto_scaling_groups)
        .sequence()
        .output(|| group_with(2))
        .output(|| group_with(1))
        .output(no_group)
        .build();
    let p = AwsProvider::new("g", mocked(&[&delete, &describe]).await);
    let notes = Notes::default();
    let options = Options::default();
    let addr = Address::new(Kind::AutoscalingGroup, "instances");
    p.delete(
        &call(&addr, &notes, &options),
        "g",
        &Attrs::new(),
        &Attrs::new(),
    )
    .await
    .unwrap();
    assert_eq!(delete.num_calls(), 1);
    assert_eq!(describe.num_calls(), 3);
    let notes = notes.0.lock().unwrap().clone();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].contains("2 instances left"), "{notes:?}");
    assert!(notes[1].contains("1 instance left"), "{notes:?}");
}

#[tokio::test(start_paused = true)]
async fn delete_gives_up_at_the_deadline() {
    let delete = delete_ok();
    let describe =
        mock!(autoscaling::Client::describe_auto_scaling_groups).then_output(|| group_with(3));
    let p = AwsProvider::new("g", mocked(&[&delete, &describe]).await);
    let options = Options {
        wait_timeout: Duration::from_secs(1),
        ..Options::default()
    };
    let addr = Address::new(Kind::AutoscalingGroup, "instances");
    let err = p
        .delete(
            &call(&addr, &Quiet, &options),
            "g",
            &Attrs::new(),
            &Attrs::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Timeout, "{err}");
    assert!(err.message.contains("3 instances left"), "{err}");
}
