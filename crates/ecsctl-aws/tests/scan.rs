//! `Provider::scan` against the moto emulator: one listing by the stack tag reads the
//! state's resources and finds the orphans; a resource whose tag was removed by hand is
//! still read; calls shared between kinds are made once. Each test runs in an account of
//! its own.

use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use ecsctl_aws::{AwsProvider, Clients, RetrySettings};
use ecsctl_graph::{Address, Kind};
use ecsctl_provider::{Attrs, Call, Created, Options, Provider, Quiet, ReadItem};
use ecsctl_testing::{next_account, AccountHeader, Moto};
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;

fn attrs(v: Json) -> Attrs {
    v.as_object().cloned().expect("an object")
}

fn addr(s: &str) -> Address {
    s.parse().expect("address")
}

async fn provider(stack: &str, account: &str) -> AwsProvider {
    let conf = Moto::get().sdk_config().await;
    let clients = Clients::from_conf_settings(
        &conf,
        &RetrySettings::quick(),
        &[SharedInterceptor::new(AccountHeader(account.to_string()))],
    );
    AwsProvider::new(stack, clients)
}

fn vpc_args(stack: &str, address: &str, cidr: &str) -> Attrs {
    attrs(json!({
        "cidr_block": cidr,
        "enable_dns_support": true,
        "enable_dns_hostnames": true,
        "tags": {"ecsctl:stack": stack, "ecsctl:address": address, "Name": address},
    }))
}

async fn create(p: &AwsProvider, address: &str, args: &Attrs) -> Created {
    let a = addr(address);
    let opts = Options::default();
    let call = Call {
        address: &a,
        progress: &Quiet,
        options: &opts,
    };
    p.create(&call, args, &format!("token-{address}"))
        .await
        .expect("create")
}

fn item(address: &str, id: &str, args: &Attrs) -> ReadItem {
    ReadItem {
        address: addr(address),
        id: id.to_string(),
        args: args.clone(),
        outputs: Attrs::new(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_listing_reads_the_state_and_finds_the_orphans() {
    let account = next_account();
    let p = provider("scan", &account).await;
    let other = provider("elsewhere", &account).await;
    let main_args = vpc_args("scan", "vpc.main", "10.0.0.0/16");
    let main = create(&p, "vpc.main", &main_args).await;
    let left = create(&p, "vpc.left", &vpc_args("scan", "vpc.left", "10.1.0.0/16")).await;
    let theirs = create(
        &other,
        "vpc.main",
        &vpc_args("elsewhere", "vpc.main", "10.2.0.0/16"),
    )
    .await;

    let items = BTreeMap::from([(Kind::Vpc, vec![item("vpc.main", &main.id, &main_args)])]);
    let before = p.call_stats();
    let scan = p.scan(items.clone(), Some("scan")).await;
    let calls = p.call_stats().since(&before);

    let live = scan.live[&Kind::Vpc].as_ref().expect("read");
    let vpc = live[&addr("vpc.main")].as_ref().expect("vpc.main is there");
    assert_eq!(vpc.args["cidr_block"], "10.0.0.0/16");
    let mut tagged: Vec<(String, String)> = scan.tagged[&Kind::Vpc]
        .as_ref()
        .expect("listed")
        .iter()
        .map(|o| (o.address.to_string(), o.id.clone()))
        .collect();
    tagged.sort();
    assert_eq!(
        tagged,
        vec![
            ("vpc.left".to_string(), left.id.clone()),
            ("vpc.main".to_string(), main.id.clone()),
        ],
        "another stack's VPC ({}) is not this stack's",
        theirs.id
    );
    // One listing per EC2 kind (VPCs, gateways, subnets, route tables, addresses, NAT
    // gateways, security groups, launch templates): the VPC listing served the read too, so
    // only the VPC's two attributes come on top; no DescribeVpcs by id.
    assert_eq!(calls.by_service.get("ec2"), Some(&(8 + 2)), "{calls}");
    // Kinds with nothing in the state and nothing tagged are listed, not read.
    assert!(!scan.live.contains_key(&Kind::Subnet));
    assert_eq!(scan.tagged[&Kind::Subnet].as_ref().map(Vec::len), Ok(0));

    // Someone removes the stack tag: the listing misses it, the read by id does not.
    p.clients
        .ec2
        .delete_tags()
        .resources(&main.id)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("ecsctl:stack")
                .build(),
        )
        .send()
        .await
        .expect("untag");
    let scan = p.scan(items.clone(), Some("scan")).await;
    let vpc = scan.live[&Kind::Vpc].as_ref().expect("read")[&addr("vpc.main")]
        .clone()
        .expect("still read");
    assert!(vpc.args["tags"].get("ecsctl:stack").is_none(), "{vpc:?}");
    assert_eq!(vpc.args["tags"]["ecsctl:address"], "vpc.main");

    // Without a stack nothing is listed.
    let scan = p.scan(items, None).await;
    assert!(scan.tagged.is_empty());
    assert!(scan.live[&Kind::Vpc].as_ref().expect("read")[&addr("vpc.main")].is_some());
}
