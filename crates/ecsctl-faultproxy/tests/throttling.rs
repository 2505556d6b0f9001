//! With every call throttled, the real SDK sees each protocol's real throttling error, and
//! its standard retry strategy treats it as retryable throttling.

mod common;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use common::{clients, direct, no_retries, standard_retries};
use ecsctl_faultproxy::{FaultProxy, RunningProxy};
use ecsctl_testing::{next_account, Moto};

async fn throttling_proxy() -> RunningProxy {
    FaultProxy::builder()
        .upstream(Moto::get().url())
        .throttle_rate(1.0)
        .seed(7)
        .start()
        .await
        .expect("start the proxy")
}

#[tokio::test]
async fn ec2_gets_request_limit_exceeded() {
    let proxy = throttling_proxy().await;
    let account = next_account();
    let c = clients(&proxy.url(), &account, no_retries()).await;
    let err = c
        .ec2
        .create_vpc()
        .cidr_block("10.40.0.0/16")
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(err.code(), Some("RequestLimitExceeded"), "{err:?}");
    assert_eq!(err.message(), Some("Request limit exceeded."));
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(503));
    // Rejected, not forwarded: nothing was created.
    let vpcs = direct(&account)
        .await
        .ec2
        .describe_vpcs()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("cidr")
                .values("10.40.0.0/16")
                .build(),
        )
        .send()
        .await
        .expect("describe directly");
    assert!(
        vpcs.vpcs().is_empty(),
        "a throttled CreateVpc created {vpcs:?}"
    );
    let stats = proxy.stats().action("ec2", "CreateVpc");
    assert_eq!((stats.calls, stats.throttled, stats.forwarded), (1, 1, 0));
}

#[tokio::test]
async fn iam_gets_throttling() {
    let proxy = throttling_proxy().await;
    let c = clients(&proxy.url(), &next_account(), no_retries()).await;
    let err = c
        .iam
        .get_role()
        .role_name("nobody")
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(err.code(), Some("Throttling"), "{err:?}");
    assert_eq!(err.message(), Some("Rate exceeded"));
    assert_eq!(proxy.stats().action("iam", "GetRole").throttled, 1);
}

#[tokio::test]
async fn ecs_gets_throttling_exception() {
    let proxy = throttling_proxy().await;
    let c = clients(&proxy.url(), &next_account(), no_retries()).await;
    let err = c
        .ecs
        .create_cluster()
        .cluster_name("throttled")
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(err.code(), Some("ThrottlingException"), "{err:?}");
    assert_eq!(proxy.stats().action("ecs", "CreateCluster").throttled, 1);
}

#[tokio::test]
async fn route53_gets_throttling() {
    let proxy = throttling_proxy().await;
    let c = clients(&proxy.url(), &next_account(), no_retries()).await;
    let err = c
        .route53
        .create_hosted_zone()
        .name("throttled.internal")
        .caller_reference("throttled-1")
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(err.code(), Some("Throttling"), "{err:?}");
    assert_eq!(
        proxy
            .stats()
            .action("route53", "CreateHostedZone")
            .throttled,
        1
    );
}

/// The SDK retries what it classifies as throttling: three attempts each. IAM, ECS and
/// Route53 answer 400, which the SDK retries only because the code is a throttling one.
#[tokio::test]
async fn standard_retry_sees_throttling_and_retries() {
    let proxy = throttling_proxy().await;
    let c = clients(&proxy.url(), &next_account(), standard_retries(3)).await;

    let err = c.ec2.describe_vpcs().send().await.expect_err("throttled");
    assert_eq!(err.code(), Some("RequestLimitExceeded"));
    let err = c.iam.list_roles().send().await.expect_err("throttled");
    assert_eq!(err.code(), Some("Throttling"));
    let err = c.ecs.list_clusters().send().await.expect_err("throttled");
    assert_eq!(err.code(), Some("ThrottlingException"));
    let err = c
        .route53
        .list_hosted_zones()
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(err.code(), Some("Throttling"));

    let stats = proxy.stats();
    for (service, action) in [
        ("ec2", "DescribeVpcs"),
        ("iam", "ListRoles"),
        ("ecs", "ListClusters"),
        ("route53", "ListHostedZones"),
    ] {
        let counts = stats.action(service, action);
        assert_eq!(
            (counts.calls, counts.throttled),
            (3, 3),
            "{service}:{action} {counts:?}"
        );
    }
    assert_eq!(stats.total.forwarded, 0);
}
