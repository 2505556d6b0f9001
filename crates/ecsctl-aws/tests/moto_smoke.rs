//! The emulator harness works: a VPC created in one test account is invisible to another.

use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use ecsctl_aws::Clients;
use ecsctl_testing::{next_account, AccountHeader, Moto};

async fn clients(account: &str) -> Clients {
    let conf = Moto::get().sdk_config().await;
    Clients::from_conf_with(
        &conf,
        SharedInterceptor::new(AccountHeader(account.to_string())),
    )
}

#[tokio::test]
async fn accounts_are_isolated() {
    let (a, b) = (next_account(), next_account());
    let ca = clients(&a).await;
    let cb = clients(&b).await;
    let vpc = ca
        .ec2
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .send()
        .await
        .unwrap();
    let id = vpc.vpc().and_then(|v| v.vpc_id()).unwrap().to_string();
    let seen_a = ca.ec2.describe_vpcs().vpc_ids(&id).send().await;
    assert!(seen_a.is_ok());
    let seen_b = cb.ec2.describe_vpcs().vpc_ids(&id).send().await;
    assert!(seen_b.is_err(), "account {b} sees account {a}'s VPC");
}
