//! Route53 private zones and alias records against the moto emulator, through the
//! `Provider` methods of `AwsProvider`. The VPCs are made with plain SDK calls. Moto never
//! leaves a change PENDING: the INSYNC waiter is tested with mocks.

mod common;
use common::{addr, attrs, Env};
use ecsctl_graph::{Address, Kind};
use ecsctl_provider::{Attrs, Live, Orphan, Provider};
use ecsctl_testing::REGION;
use serde_json::{json, Value as Json};

/// An alias DNS name as the plan compares it.
fn norm(v: &Json) -> String {
    v.as_str()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

impl Env {
    async fn vpc(&self, cidr: &str) -> String {
        let out = self
            .p
            .clients
            .ec2
            .create_vpc()
            .cidr_block(cidr)
            .send()
            .await
            .expect("vpc");
        out.vpc().and_then(|v| v.vpc_id()).expect("id").to_string()
    }

    async fn zone(&self, vpc: &str) -> (Address, Attrs, String) {
        let a = addr("hosted_zone.private");
        let args = attrs(json!({
            "name": format!("{}.local.", self.stack),
            "vpc_id": vpc,
            "vpc_region": REGION,
            "comment": "ecsctl stack",
            "tags": {
                "Name": format!("{}.local.", self.stack),
                "ecsctl:stack": self.stack,
                "ecsctl:address": a.to_string(),
            },
        }));
        let created = self
            .p
            .create(&self.call(&a), &args, "zone-intent")
            .await
            .expect("create zone");
        assert!(!created.id.starts_with('/'), "{}", created.id);
        assert_eq!(created.outputs["id"], json!(created.id));
        assert!(created.outputs["name_servers"].is_array());
        (a, args, created.id)
    }
}

#[tokio::test]
async fn hosted_zone_lifecycle() {
    let env = Env::new("zone").await;
    let vpc = env.vpc("10.2.0.0/16").await;
    let (a, args, id) = env.zone(&vpc).await;

    let live = env.read_one(&a, &id, &args).await.expect("exists");
    assert_eq!(live.args, args);
    let found = env
        .p
        .find(&env.call(&a), &args, "zone-intent")
        .await
        .expect("find");
    assert_eq!(found.map(|f| f.id), Some(id.clone()));
    // Another intent still finds it by its tags.
    let found = env
        .p
        .find(&env.call(&a), &args, "other-intent")
        .await
        .expect("find");
    assert_eq!(found.map(|f| f.id), Some(id.clone()));
    let tagged = env
        .p
        .tagged(Kind::HostedZone, "zone")
        .await
        .expect("tagged");
    assert_eq!(
        tagged,
        vec![Orphan {
            address: a.clone(),
            id: id.clone()
        }]
    );

    let other_vpc = env.vpc("10.3.0.0/16").await;
    let mut new = args.clone();
    new["comment"] = json!("moved");
    new["vpc_id"] = json!(other_vpc);
    new["tags"]["Team"] = json!("platform");
    env.p
        .update(&env.call(&a), &id, &args, &new, &Attrs::new())
        .await
        .expect("update");
    let live = env.read_one(&a, &id, &new).await.expect("exists");
    assert_eq!(live.args, new);

    env.p
        .delete(&env.call(&a), &id, &new, &Attrs::new())
        .await
        .expect("delete");
    assert_eq!(env.read_one(&a, &id, &new).await, None);
    env.p
        .delete(&env.call(&a), &id, &new, &Attrs::new())
        .await
        .expect("delete again");
}

fn record(zone: &str, name: &str, target: &str) -> Attrs {
    attrs(json!({
        "zone_id": zone,
        "name": name,
        "type": "A",
        "alias_target": {
            "dns_name": target,
            "hosted_zone_id": "ZHURV8PSTC4K8",
            "evaluate_target_health": false,
        },
    }))
}

/// The live record equals the arguments once the alias name is normalised.
fn assert_same(live: &Live, args: &Attrs) {
    let mut l = live.args.clone();
    let mut a = args.clone();
    assert_eq!(
        norm(&l["alias_target"]["dns_name"]),
        norm(&a["alias_target"]["dns_name"])
    );
    l["alias_target"]["dns_name"] = Json::Null;
    a["alias_target"]["dns_name"] = Json::Null;
    assert_eq!(l, a);
}

#[tokio::test]
async fn dns_record_lifecycle() {
    let env = Env::new("rec").await;
    let vpc = env.vpc("10.4.0.0/16").await;
    let (za, zargs, zone) = env.zone(&vpc).await;
    let web = addr("dns_record.web");
    let api = addr("dns_record.api");
    let web_args = record(
        &zone,
        "web.rec.local.",
        "rec-1.eu-west-2.elb.amazonaws.com.",
    );
    let api_args = record(
        &zone,
        "api.rec.local.",
        "rec-1.eu-west-2.elb.amazonaws.com.",
    );
    let w = env
        .p
        .create(&env.call(&web), &web_args, "w")
        .await
        .expect("create");
    assert_eq!(w.id, format!("{zone}/web.rec.local./A"));
    let r = env
        .p
        .create(&env.call(&api), &api_args, "a")
        .await
        .expect("create");

    let read = env
        .read(
            Kind::DnsRecord,
            &[(&web, &w.id, &web_args), (&api, &r.id, &api_args)],
        )
        .await;
    assert_same(read[&web].as_ref().expect("web"), &web_args);
    assert_same(read[&api].as_ref().expect("api"), &api_args);
    let found = env
        .p
        .find(&env.call(&web), &web_args, "w")
        .await
        .expect("find");
    assert_eq!(found.map(|f| f.id), Some(w.id.clone()));
    assert!(env
        .p
        .tagged(Kind::DnsRecord, "rec")
        .await
        .expect("tagged")
        .is_empty());

    let new = record(
        &zone,
        "web.rec.local.",
        "rec-2.eu-west-2.elb.amazonaws.com.",
    );
    env.p
        .update(&env.call(&web), &w.id, &web_args, &new, &w.outputs)
        .await
        .expect("update");
    assert_same(
        &env.read_one(&web, &w.id, &new).await.expect("exists"),
        &new,
    );

    env.p
        .delete(&env.call(&web), &w.id, &new, &w.outputs)
        .await
        .expect("delete");
    let read = env
        .read(
            Kind::DnsRecord,
            &[(&web, &w.id, &new), (&api, &r.id, &api_args)],
        )
        .await;
    assert_eq!(read[&web], None);
    assert!(read[&api].is_some(), "the other record is still there");
    env.p
        .delete(&env.call(&web), &w.id, &new, &w.outputs)
        .await
        .expect("delete again");
    assert_eq!(
        env.p.find(&env.call(&web), &new, "w").await.expect("find"),
        None
    );

    env.p
        .delete(&env.call(&api), &r.id, &api_args, &r.outputs)
        .await
        .expect("delete");
    env.p
        .delete(&env.call(&za), &zone, &zargs, &Attrs::new())
        .await
        .expect("delete zone");
    // The zone is gone and its records with it.
    assert_eq!(env.read_one(&api, &r.id, &api_args).await, None);
}
