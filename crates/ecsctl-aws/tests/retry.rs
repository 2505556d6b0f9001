//! What moto cannot show, with `aws-smithy-mocks` behind the real clients: throttling is
//! absorbed by the configured retry policy, the NAT gateway waiter polls through pending
//! states and stops at its deadline, and a create whose reply is lost is retried with the
//! same idempotency token.

use aws_sdk_ec2::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_ec2::operation::create_nat_gateway::CreateNatGatewayOutput;
use aws_sdk_ec2::operation::describe_nat_gateways::DescribeNatGatewaysOutput;
use aws_sdk_ec2::operation::describe_subnets::{DescribeSubnetsError, DescribeSubnetsOutput};
use aws_sdk_ec2::types::{NatGateway, NatGatewayState, Subnet};
use aws_smithy_mocks::{create_mock_http_client, mock, MockResponseInterceptor, Rule, RuleMode};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::ErrorMetadata;
use ecsctl_aws::{AwsProvider, Clients, RetrySettings};
use ecsctl_graph::{Address, Kind};
use ecsctl_provider::{Attrs, Call, ErrorClass, Options, Progress, Provider, Quiet, ReadItem};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Records the body of every request attempt.
#[derive(Debug, Clone, Default)]
struct Capture(Arc<Mutex<Vec<String>>>);

impl Intercept for Capture {
    fn name(&self) -> &'static str {
        "capture"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = ctx.request().body().bytes().unwrap_or_default();
        self.0
            .lock()
            .expect("lock")
            .push(String::from_utf8_lossy(body).into_owned());
        Ok(())
    }
}

impl Capture {
    fn bodies(&self) -> Vec<String> {
        self.0.lock().expect("lock").clone()
    }
}

/// Progress notes, kept.
#[derive(Default)]
struct Notes(Mutex<Vec<String>>);

impl Progress for Notes {
    fn note(&self, _: &Address, message: &str) {
        self.0.lock().expect("lock").push(message.to_string());
    }
}

fn tiny_backoff(max_attempts: u32) -> RetrySettings {
    RetrySettings {
        max_attempts,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
    }
}

fn provider(rules: &[&Rule], settings: &RetrySettings, capture: Option<&Capture>) -> AwsProvider {
    let mut mocks = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for r in rules {
        mocks = mocks.with_rule(r);
    }
    let conf = aws_types::SdkConfig::builder()
        .region(aws_config::Region::new("eu-west-2"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        )))
        .http_client(create_mock_http_client())
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let mut interceptors = vec![SharedInterceptor::new(mocks)];
    if let Some(c) = capture {
        interceptors.push(SharedInterceptor::new(c.clone()));
    }
    AwsProvider::new(
        "hello",
        Clients::from_conf_settings(&conf, settings, &interceptors),
    )
}

fn throttled(code: &'static str) -> impl Fn() -> DescribeSubnetsError {
    move || {
        DescribeSubnetsError::generic(
            ErrorMetadata::builder()
                .code(code)
                .message("Request limit exceeded.")
                .build(),
        )
    }
}

fn subnet_output() -> DescribeSubnetsOutput {
    DescribeSubnetsOutput::builder()
        .subnets(
            Subnet::builder()
                .subnet_id("subnet-1")
                .vpc_id("vpc-1")
                .cidr_block("10.0.0.0/24")
                .availability_zone("eu-west-2a")
                .map_public_ip_on_launch(true)
                .build(),
        )
        .build()
}

fn subnet_item() -> (Address, ReadItem) {
    let a = Address::indexed(Kind::Subnet, "public", 0);
    let item = ReadItem {
        address: a.clone(),
        id: "subnet-1".into(),
        args: Attrs::new(),
        outputs: Attrs::new(),
    };
    (a, item)
}

#[tokio::test]
async fn throttling_is_absorbed_by_the_retry_policy() {
    let rule = mock!(aws_sdk_ec2::Client::describe_subnets)
        .sequence()
        .error(throttled("RequestLimitExceeded"))
        .error(throttled("Throttling"))
        .output(subnet_output)
        .build();
    let p = provider(&[&rule], &tiny_backoff(5), None);
    let (a, item) = subnet_item();
    let got = p.read(Kind::Subnet, &[item]).await.expect("no error seen");
    let live = got[&a].clone().expect("the subnet");
    assert_eq!(live.args["cidr_block"], json!("10.0.0.0/24"));
    assert_eq!(rule.num_calls(), 3, "two throttled attempts and a success");
}

#[tokio::test]
async fn throttling_past_the_attempts_reaches_the_caller_as_throttled() {
    let rule = mock!(aws_sdk_ec2::Client::describe_subnets)
        .sequence()
        .error(throttled("RequestLimitExceeded"))
        .times(3)
        .output(subnet_output)
        .build();
    let p = provider(&[&rule], &tiny_backoff(2), None);
    let (_, item) = subnet_item();
    let e = p
        .read(Kind::Subnet, &[item])
        .await
        .expect_err("out of attempts");
    assert_eq!(e.class, ErrorClass::Throttled, "{e}");
    assert_eq!(e.code.as_deref(), Some("RequestLimitExceeded"));
    assert_eq!(rule.num_calls(), 2);
}

fn nat(state: NatGatewayState) -> NatGateway {
    NatGateway::builder()
        .nat_gateway_id("nat-1")
        .subnet_id("subnet-1")
        .state(state)
        .build()
}

fn nat_args() -> Attrs {
    json!({"subnet_id": "subnet-1", "allocation_id": "eipalloc-1", "tags": {"Name": "hello"}})
        .as_object()
        .cloned()
        .expect("object")
}

fn describe(state: NatGatewayState) -> impl Fn() -> DescribeNatGatewaysOutput {
    move || {
        DescribeNatGatewaysOutput::builder()
            .nat_gateways(nat(state.clone()))
            .build()
    }
}

fn created() -> CreateNatGatewayOutput {
    CreateNatGatewayOutput::builder()
        .nat_gateway(nat(NatGatewayState::Pending))
        .build()
}

#[tokio::test(start_paused = true)]
async fn nat_gateway_create_waits_through_pending_and_reports_progress() {
    let create = mock!(aws_sdk_ec2::Client::create_nat_gateway).then_output(created);
    let poll = mock!(aws_sdk_ec2::Client::describe_nat_gateways)
        .sequence()
        .output(describe(NatGatewayState::Pending))
        .times(2)
        .output(describe(NatGatewayState::Available))
        .build();
    let p = provider(&[&create, &poll], &tiny_backoff(3), None);
    let a = Address::indexed(Kind::NatGateway, "main", 0);
    let notes = Notes::default();
    let opts = Options::default();
    let call = Call {
        address: &a,
        progress: &notes,
        options: &opts,
    };
    let c = p
        .create(&call, &nat_args(), "tok-1")
        .await
        .expect("created");
    assert_eq!(c.id, "nat-1");
    assert_eq!(poll.num_calls(), 3);
    let notes = notes.0.lock().expect("lock").clone();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(
        notes
            .iter()
            .all(|n| n.starts_with("waiting for NAT gateway nat-1 to become available")),
        "{notes:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_nat_gateway_that_never_becomes_available_times_out_at_the_deadline() {
    let create = mock!(aws_sdk_ec2::Client::create_nat_gateway).then_output(created);
    let poll = mock!(aws_sdk_ec2::Client::describe_nat_gateways)
        .sequence()
        .output(describe(NatGatewayState::Pending))
        .repeatedly()
        .build();
    let p = provider(&[&create, &poll], &tiny_backoff(3), None);
    let a = Address::indexed(Kind::NatGateway, "main", 0);
    let opts = Options {
        wait_timeout: Duration::from_secs(120),
        ..Options::default()
    };
    let call = Call {
        address: &a,
        progress: &Quiet,
        options: &opts,
    };
    let start = tokio::time::Instant::now();
    let e = p
        .create(&call, &nat_args(), "tok-1")
        .await
        .expect_err("never available");
    let waited = start.elapsed();
    assert_eq!(e.class, ErrorClass::Timeout, "{e}");
    assert_eq!(e.address, Some(a));
    assert!(e.message.contains("nat-1"), "{e}");
    assert!(
        waited <= opts.wait_timeout && waited >= opts.wait_timeout - Duration::from_secs(20),
        "gave up after {waited:?}"
    );
    assert!(poll.num_calls() > 3);
}

#[tokio::test(start_paused = true)]
async fn nat_gateway_delete_waits_until_deleted() {
    let delete = mock!(aws_sdk_ec2::Client::delete_nat_gateway).then_output(|| {
        aws_sdk_ec2::operation::delete_nat_gateway::DeleteNatGatewayOutput::builder()
            .nat_gateway_id("nat-1")
            .build()
    });
    let poll = mock!(aws_sdk_ec2::Client::describe_nat_gateways)
        .sequence()
        .output(describe(NatGatewayState::Deleting))
        .times(2)
        .output(describe(NatGatewayState::Deleted))
        .build();
    let p = provider(&[&delete, &poll], &tiny_backoff(3), None);
    let a = Address::indexed(Kind::NatGateway, "main", 0);
    let notes = Notes::default();
    let opts = Options::default();
    let call = Call {
        address: &a,
        progress: &notes,
        options: &opts,
    };
    p.delete(&call, "nat-1", &nat_args(), &Attrs::new())
        .await
        .expect("deleted");
    assert_eq!(
        poll.num_calls(),
        3,
        "returns only once the gateway is deleted"
    );
    let notes = notes.0.lock().expect("lock").clone();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].starts_with("waiting for NAT gateway nat-1 to be deleted"));
}

#[tokio::test(start_paused = true)]
async fn a_failed_nat_gateway_fails_with_its_reason() {
    let create = mock!(aws_sdk_ec2::Client::create_nat_gateway).then_output(created);
    let poll = mock!(aws_sdk_ec2::Client::describe_nat_gateways).then_output(|| {
        DescribeNatGatewaysOutput::builder()
            .nat_gateways(
                NatGateway::builder()
                    .nat_gateway_id("nat-1")
                    .state(NatGatewayState::Failed)
                    .failure_code("Gateway.NotAttached")
                    .failure_message("Network vpc-1 has no Internet gateway attached")
                    .build(),
            )
            .build()
    });
    let p = provider(&[&create, &poll], &tiny_backoff(3), None);
    let a = Address::indexed(Kind::NatGateway, "main", 0);
    let opts = Options::default();
    let call = Call {
        address: &a,
        progress: &Quiet,
        options: &opts,
    };
    let e = p
        .create(&call, &nat_args(), "tok-1")
        .await
        .expect_err("failed");
    assert!(
        e.message.contains("has no Internet gateway attached"),
        "{e}"
    );
    assert_ne!(e.class, ErrorClass::Timeout);
}

#[tokio::test(start_paused = true)]
async fn a_lost_reply_is_retried_with_the_same_client_token() {
    let create = mock!(aws_sdk_ec2::Client::create_nat_gateway)
        .sequence()
        .http_status(500, None)
        .output(created)
        .build();
    let poll = mock!(aws_sdk_ec2::Client::describe_nat_gateways)
        .then_output(describe(NatGatewayState::Available));
    let capture = Capture::default();
    let p = provider(&[&create, &poll], &tiny_backoff(3), Some(&capture));
    let a = Address::indexed(Kind::NatGateway, "main", 0);
    let opts = Options::default();
    let call = Call {
        address: &a,
        progress: &Quiet,
        options: &opts,
    };
    let c = p
        .create(&call, &nat_args(), "0f6c2b9e-intent-42")
        .await
        .expect("the retry succeeds");
    assert_eq!(c.id, "nat-1");
    assert_eq!(create.num_calls(), 2);
    let tokens: Vec<String> = capture
        .bodies()
        .iter()
        .filter(|b| b.contains("Action=CreateNatGateway"))
        .map(|b| {
            b.split('&')
                .find_map(|kv| kv.strip_prefix("ClientToken="))
                .expect("a ClientToken on every attempt")
                .to_string()
        })
        .collect();
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    assert_eq!(tokens[0], tokens[1]);
    assert_eq!(tokens[0], "0f6c2b9e-intent-42");
}
