//! Nothing lost, nothing duplicated: the example stack applied through the fault proxy with
//! every reply of one action lost (the call takes effect, the SDK gets a 500), one action
//! per test. Each apply must succeed and leave exactly one of every resource, counted in
//! moto directly. Each test runs in an emulator account of its own.

mod census;

use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use ecsctl_aws::{AwsProvider, Clients, RetrySettings};
use ecsctl_engine::{ApplyOptions, Interrupt, Silent, StateStore};
use ecsctl_faultproxy::FaultProxy;
use ecsctl_provider::{DataQuery, Options, Provider};
use ecsctl_stack::{Ami, Azs};
use ecsctl_state::State;
use ecsctl_testing::{next_account, AccountHeader, Moto};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Keeps the last saved state.
struct Memory(State);

impl StateStore for Memory {
    fn save(&mut self, state: &mut State) -> Result<(), String> {
        state.serial += 1;
        self.0 = state.clone();
        Ok(())
    }
}

fn example(stack: &str) -> ecsctl_stack::Stack {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../stack.toml.example");
    let src = std::fs::read_to_string(path).expect("read stack.toml.example");
    let src = src.replacen("name = \"hello\"", &format!("name = \"{stack}\""), 1);
    ecsctl_stack::parse(&src, "stack.toml").unwrap_or_else(|d| panic!("{}", d.render()))
}

/// Apply the example stack (named `stack`) through a proxy that loses every reply of
/// `action`, in a fresh account; returns the account and how many replies were lost.
async fn apply_losing(action: &str, stack: &str) -> (String, u64) {
    let proxy = FaultProxy::builder()
        .upstream(Moto::get().url())
        .action_lost_reply_rate(action, 1.0)
        .seed(1)
        .start()
        .await
        .expect("start the proxy");
    let account = next_account();
    let conf = Moto::get()
        .sdk_config()
        .await
        .into_builder()
        .endpoint_url(proxy.url())
        .build();
    let settings = RetrySettings {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
    };
    let clients = Clients::from_conf_settings(
        &conf,
        &settings,
        &[SharedInterceptor::new(AccountHeader(account.clone()))],
    );
    let provider = Arc::new(AwsProvider::new(stack, clients));
    let s = example(stack);
    let query = DataQuery {
        az_count: match &s.network.azs {
            Azs::Count(n) => Some(*n),
            Azs::Names(_) => None,
        },
        ami_parameter: match &s.cluster.ami {
            Ami::Ssm(p) => Some(p.clone()),
            Ami::Id(_) => None,
        },
        ..DataQuery::default()
    };
    let data = provider.data(&query).await.expect("data lookups");
    let graph = ecsctl_graph::expand(&s, &data);
    let state = State::new(stack);
    let plan = ecsctl_plan::plan(&graph, &state, &s.source_hash).expect("plan");
    let opts = ApplyOptions {
        provider: Options {
            wait_for_services: false,
            ..Options::default()
        },
        backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        ..ApplyOptions::default()
    };
    let mut store = Memory(state.clone());
    let started = Instant::now();
    let outcome = ecsctl_engine::apply(
        &plan,
        state,
        provider,
        &mut store,
        Arc::new(Silent),
        &opts,
        Interrupt::new(),
    )
    .await;
    assert!(
        outcome.is_success(),
        "apply losing every {action} reply failed after {:?}: failed {:?}, skipped {:?}",
        started.elapsed(),
        outcome.failed,
        outcome.skipped
    );
    assert!(
        outcome.state.pending.is_empty(),
        "intents left: {:?}",
        outcome.state.pending
    );
    assert_eq!(outcome.state.resources.len(), plan.changes.len());
    let (service, name) = action.split_once(':').expect("service:Action");
    let lost = proxy.stats().action(service, name).lost;
    proxy.shutdown().await;
    (account, lost)
}

async fn exactly_one_of_each(action: &str) {
    let stack = format!(
        "lr-{}",
        action
            .split_once(':')
            .map(|(_, a)| a)
            .unwrap_or(action)
            .to_ascii_lowercase()
            .chars()
            .take(16)
            .collect::<String>()
    );
    let (account, lost) = apply_losing(action, &stack).await;
    assert!(
        lost > 0,
        "no {action} reply was lost: the test did not test it"
    );
    let found = census::census(Some(&account), &stack).await;
    assert_eq!(
        found,
        census::example_stack(),
        "after losing {lost} {action} replies"
    );
}

macro_rules! lost_reply_tests {
    ($($name:ident => $action:literal,)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            exactly_one_of_each($action).await;
        }
    )*};
}

lost_reply_tests! {
    create_vpc => "ec2:CreateVpc",
    modify_vpc_attribute => "ec2:ModifyVpcAttribute",
    create_subnet => "ec2:CreateSubnet",
    modify_subnet_attribute => "ec2:ModifySubnetAttribute",
    create_internet_gateway => "ec2:CreateInternetGateway",
    attach_internet_gateway => "ec2:AttachInternetGateway",
    allocate_address => "ec2:AllocateAddress",
    create_nat_gateway => "ec2:CreateNatGateway",
    create_route_table => "ec2:CreateRouteTable",
    create_route => "ec2:CreateRoute",
    associate_route_table => "ec2:AssociateRouteTable",
    create_security_group => "ec2:CreateSecurityGroup",
    authorize_ingress => "ec2:AuthorizeSecurityGroupIngress",
    authorize_egress => "ec2:AuthorizeSecurityGroupEgress",
    revoke_egress => "ec2:RevokeSecurityGroupEgress",
    create_launch_template => "ec2:CreateLaunchTemplate",
    create_role => "iam:CreateRole",
    create_instance_profile => "iam:CreateInstanceProfile",
    add_role_to_instance_profile => "iam:AddRoleToInstanceProfile",
    create_log_group => "logs:CreateLogGroup",
    create_cluster => "ecs:CreateCluster",
    register_task_definition => "ecs:RegisterTaskDefinition",
    create_service => "ecs:CreateService",
    create_auto_scaling_group => "autoscaling:CreateAutoScalingGroup",
    put_scaling_policy => "autoscaling:PutScalingPolicy",
    create_load_balancer => "elasticloadbalancing:CreateLoadBalancer",
    create_target_group => "elasticloadbalancing:CreateTargetGroup",
    create_listener => "elasticloadbalancing:CreateListener",
    create_hosted_zone => "route53:CreateHostedZone",
    change_resource_record_sets => "route53:ChangeResourceRecordSets",
}
