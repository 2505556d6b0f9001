//! Lost replies, latency, reproducible throttling and call counting, against real moto.

mod common;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use common::{clients, direct, no_retries};
use ecsctl_faultproxy::FaultProxy;
use ecsctl_testing::{next_account, Moto};
use std::time::{Duration, Instant};

fn cidr_filter(cidr: &str) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder()
        .name("cidr")
        .values(cidr)
        .build()
}

#[tokio::test]
async fn lost_reply_creates_the_vpc_but_answers_an_error() {
    let proxy = FaultProxy::builder()
        .upstream(Moto::get().url())
        .lost_reply_rate(1.0)
        .seed(7)
        .start()
        .await
        .expect("start the proxy");
    let account = next_account();
    let c = clients(&proxy.url(), &account, no_retries()).await;

    let err = c
        .ec2
        .create_vpc()
        .cidr_block("10.41.0.0/16")
        .send()
        .await
        .expect_err("the reply is lost");
    assert_eq!(err.code(), Some("InternalError"), "{err:?}");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(500));

    let seen = direct(&account)
        .await
        .ec2
        .describe_vpcs()
        .filters(cidr_filter("10.41.0.0/16"))
        .send()
        .await
        .expect("describe directly");
    assert_eq!(seen.vpcs().len(), 1, "the VPC should exist: {seen:?}");

    // Reads are never lost.
    let through = c
        .ec2
        .describe_vpcs()
        .filters(cidr_filter("10.41.0.0/16"))
        .send()
        .await
        .expect("a read through the proxy");
    assert_eq!(through.vpcs().len(), 1);

    let stats = proxy.stats();
    let create = stats.action("ec2", "CreateVpc");
    assert_eq!((create.calls, create.forwarded, create.lost), (1, 1, 1));
    let describe = stats.action("ec2", "DescribeVpcs");
    assert_eq!(
        (describe.calls, describe.forwarded, describe.lost),
        (1, 1, 0)
    );
}

#[tokio::test]
async fn latency_delays_every_call() {
    let proxy = FaultProxy::builder()
        .upstream(Moto::get().url())
        .latency(Duration::from_millis(200))
        .start()
        .await
        .expect("start the proxy");
    let c = clients(&proxy.url(), &next_account(), no_retries()).await;
    // Warm the connection so only the proxy's delay is measured.
    c.ec2.describe_vpcs().send().await.expect("describe");
    let start = Instant::now();
    c.ec2.describe_vpcs().send().await.expect("describe");
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(200), "took {took:?}");
}

#[tokio::test]
async fn per_action_latency_overrides_the_default() {
    let proxy = FaultProxy::builder()
        .upstream(Moto::get().url())
        .action_latency("ec2:DescribeVpcs", Duration::from_millis(300))
        .start()
        .await
        .expect("start the proxy");
    let c = clients(&proxy.url(), &next_account(), no_retries()).await;
    let start = Instant::now();
    c.ec2.describe_vpcs().send().await.expect("describe");
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(300), "took {took:?}");
}

/// Fates depend on the seed only: two proxies with the same seed throttle the same calls.
#[tokio::test]
async fn seeded_throttling_is_reproducible() {
    async fn run(seed: u64) -> (Vec<bool>, ecsctl_faultproxy::Counts) {
        let proxy = FaultProxy::builder()
            .upstream(Moto::get().url())
            .throttle_rate(0.5)
            .seed(seed)
            .start()
            .await
            .expect("start the proxy");
        let c = clients(&proxy.url(), &next_account(), no_retries()).await;
        let mut throttled = Vec::new();
        for _ in 0..20 {
            match c.ec2.describe_vpcs().send().await {
                Ok(_) => throttled.push(false),
                Err(e) => {
                    assert_eq!(e.code(), Some("RequestLimitExceeded"), "{e:?}");
                    throttled.push(true);
                }
            }
        }
        (throttled, proxy.stats().action("ec2", "DescribeVpcs"))
    }
    let (first, counts) = run(7).await;
    let (again, _) = run(7).await;
    assert_eq!(first, again);
    let n = first.iter().filter(|t| **t).count() as u64;
    assert!(n > 0 && n < 20, "half of 20 calls, seeded: {first:?}");
    assert_eq!(counts.calls, 20);
    assert_eq!(counts.throttled, n);
    assert_eq!(counts.forwarded, 20 - n);
}

/// Without faults everything goes through unchanged, and every call is counted under
/// its service and action.
#[tokio::test]
async fn clean_round_trip_through_every_protocol_and_counted() {
    let proxy = FaultProxy::builder()
        .upstream(Moto::get().url())
        .throttle_rate(0.0)
        .lost_reply_rate(0.0)
        .seed(1)
        .start()
        .await
        .expect("start the proxy");
    let c = clients(&proxy.url(), &next_account(), no_retries()).await;

    // EC2 (query protocol).
    let vpc = c
        .ec2
        .create_vpc()
        .cidr_block("10.42.0.0/16")
        .send()
        .await
        .expect("create vpc");
    let vpc_id = vpc
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("vpc id")
        .to_string();
    let subnet = c
        .ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.42.1.0/24")
        .send()
        .await
        .expect("create subnet");
    assert_eq!(
        subnet.subnet().and_then(|s| s.vpc_id()),
        Some(vpc_id.as_str())
    );
    let vpcs = c
        .ec2
        .describe_vpcs()
        .vpc_ids(&vpc_id)
        .send()
        .await
        .expect("describe vpcs");
    assert_eq!(
        vpcs.vpcs()[0].cidr_block(),
        Some("10.42.0.0/16"),
        "{vpcs:?}"
    );

    // IAM (awsQuery), with a URL-encoded JSON document in the form body.
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    c.iam
        .create_role()
        .role_name("proxied-role")
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("create role");
    let role = c
        .iam
        .get_role()
        .role_name("proxied-role")
        .send()
        .await
        .expect("get role");
    assert_eq!(role.role().map(|r| r.role_name()), Some("proxied-role"));

    // ECS (awsJson 1.1).
    c.ecs
        .create_cluster()
        .cluster_name("proxied")
        .send()
        .await
        .expect("create cluster");
    let clusters = c
        .ecs
        .describe_clusters()
        .clusters("proxied")
        .send()
        .await
        .expect("describe clusters");
    assert_eq!(clusters.clusters()[0].cluster_name(), Some("proxied"));

    // Route53 (REST-XML).
    let zone = c
        .route53
        .create_hosted_zone()
        .name("proxied.internal")
        .caller_reference("proxied-1")
        .send()
        .await
        .expect("create hosted zone");
    let zone_id = zone
        .hosted_zone()
        .map(|z| z.id().to_string())
        .expect("zone");
    let got = c
        .route53
        .get_hosted_zone()
        .id(&zone_id)
        .send()
        .await
        .expect("get hosted zone");
    assert_eq!(
        got.hosted_zone().map(|z| z.name()),
        Some("proxied.internal.")
    );
    use aws_sdk_route53::types::{
        Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
    };
    let record = ResourceRecordSet::builder()
        .name("api.proxied.internal")
        .r#type(RrType::A)
        .ttl(60)
        .resource_records(
            ResourceRecord::builder()
                .value("10.42.1.10")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    c.route53
        .change_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .change_batch(
            ChangeBatch::builder()
                .changes(
                    Change::builder()
                        .action(ChangeAction::Create)
                        .resource_record_set(record)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("change records");
    let records = c
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .send()
        .await
        .expect("list records");
    assert!(
        records
            .resource_record_sets()
            .iter()
            .any(|r| r.name().starts_with("api.proxied.internal")),
        "{records:?}"
    );

    let stats = proxy.stats();
    for (service, action) in [
        ("ec2", "CreateVpc"),
        ("ec2", "CreateSubnet"),
        ("ec2", "DescribeVpcs"),
        ("iam", "CreateRole"),
        ("iam", "GetRole"),
        ("ecs", "CreateCluster"),
        ("ecs", "DescribeClusters"),
        ("route53", "CreateHostedZone"),
        ("route53", "GetHostedZone"),
        ("route53", "ChangeResourceRecordSets"),
        ("route53", "ListResourceRecordSets"),
    ] {
        let counts = stats.action(service, action);
        assert_eq!(
            (
                counts.calls,
                counts.forwarded,
                counts.throttled,
                counts.lost
            ),
            (1, 1, 0, 0),
            "{service}:{action}: {stats:#?}"
        );
    }
    assert_eq!(stats.total.calls, 11, "{stats:#?}");
    assert_eq!(stats.service("ec2").calls, 3);
    assert_eq!(stats.service("route53").calls, 4);

    proxy.reset_stats();
    assert_eq!(proxy.stats().total.calls, 0);
    proxy.shutdown().await;
}

#[tokio::test]
async fn a_per_action_lost_reply_rate_targets_only_that_action() {
    let proxy = FaultProxy::builder()
        .upstream(Moto::get().url())
        .action_lost_reply_rate("ec2:CreateSubnet", 1.0)
        .seed(11)
        .start()
        .await
        .expect("start the proxy");
    let account = next_account();
    let c = clients(&proxy.url(), &account, no_retries()).await;
    let vpc = c
        .ec2
        .create_vpc()
        .cidr_block("10.42.0.0/16")
        .send()
        .await
        .expect("other actions answer normally");
    let vpc_id = vpc.vpc().and_then(|v| v.vpc_id()).expect("vpc id");
    let err = c
        .ec2
        .create_subnet()
        .vpc_id(vpc_id)
        .cidr_block("10.42.1.0/24")
        .send()
        .await
        .expect_err("the reply is lost");
    assert_eq!(err.code(), Some("InternalError"), "{err:?}");
    let subnets = direct(&account)
        .await
        .ec2
        .describe_subnets()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(vpc_id)
                .build(),
        )
        .send()
        .await
        .expect("describe directly");
    assert_eq!(subnets.subnets().len(), 1, "the subnet was made");
    let stats = proxy.stats();
    assert_eq!(stats.action("ec2", "CreateSubnet").lost, 1);
    assert_eq!(stats.action("ec2", "CreateVpc").lost, 0);
}

#[tokio::test]
async fn a_per_action_rate_is_checked() {
    let e = FaultProxy::builder()
        .upstream(Moto::get().url())
        .action_lost_reply_rate("CreateSubnet", 1.0)
        .start()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("service:Action"), "{e}");
    let e = FaultProxy::builder()
        .upstream(Moto::get().url())
        .action_lost_reply_rate("ec2:CreateSubnet", 1.5)
        .start()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("between 0 and 1"), "{e}");
}
