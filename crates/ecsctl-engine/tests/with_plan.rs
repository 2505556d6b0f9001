//! The executor on plans made by `ecsctl_plan`: apply, then plan again is empty; a stack
//! edit applies as the plan says; destroy leaves nothing.

mod common;

use common::*;
use ecsctl_graph::{Graph, Kind, Resource, Value};
use ecsctl_plan::{plan as make_plan, plan_destroy, Action};
use ecsctl_state::State;
use serde_json::json;

fn tags(a: &str) -> Value {
    let mut m = std::collections::BTreeMap::new();
    m.insert("Name".to_string(), Value::str(a));
    m.insert("ecsctl:stack".to_string(), Value::str("t"));
    m.insert("ecsctl:address".to_string(), Value::str(a));
    Value::Map(m)
}

fn stack(subnet_cidr: &str, role_path: &str) -> Graph {
    let vpc = addr("vpc.main");
    let mut g = Graph::new();
    g.add(
        Resource::new(vpc.clone())
            .arg("cidr_block", "10.0.0.0/16")
            .arg("enable_dns_support", true)
            .arg("enable_dns_hostnames", true)
            .arg("tags", tags("vpc.main")),
    );
    g.add(
        Resource::new(addr("subnet.private[0]"))
            .arg("vpc_id", vpc.attr("id"))
            .arg("cidr_block", subnet_cidr)
            .arg("availability_zone", "eu-west-2a")
            .arg("map_public_ip_on_launch", false)
            .arg("tags", tags("subnet.private[0]")),
    );
    g.add(
        Resource::new(addr("route_table.private[0]"))
            .arg("vpc_id", vpc.attr("id"))
            .arg("routes", Value::List(vec![]))
            .arg(
                "subnet_ids",
                Value::list([addr("subnet.private[0]").attr("id")]),
            )
            .arg("tags", tags("route_table.private[0]")),
    );
    g.add(
        Resource::new(addr("iam_role.instance"))
            .arg("name", "t-instance")
            .arg("path", role_path)
            .arg("assume_role_policy", Value::Map(Default::default()))
            .arg("inline_policies", Value::Map(Default::default()))
            .arg("managed_policy_arns", Value::List(vec![]))
            .arg("tags", tags("iam_role.instance")),
    );
    g
}

#[tokio::test(start_paused = true)]
async fn apply_then_plan_again_is_empty_then_edits_and_destroy_apply() {
    let mut run = Run::default();
    let desired = stack("10.0.1.0/24", "/ecsctl/t/");
    let p = make_plan(&desired, &State::new("t"), "h1").unwrap();
    assert_eq!(p.counts(), (4, 0, 0));
    let out = run.apply(&p, State::new("t")).await;
    assert!(out.is_success(), "{out:?}");
    let state = out.state;
    assert!(make_plan(&desired, &state, "h1").unwrap().is_empty());

    // A new role path replaces the role (destroy first); the subnet changes in place.
    let mut edited = stack("10.0.1.0/24", "/ecsctl/t2/");
    let subnet = addr("subnet.private[0]");
    let mut sub = edited.get(&subnet).unwrap().clone();
    sub.args
        .insert("map_public_ip_on_launch".into(), Value::Bool(true));
    edited.add(sub);
    let p = make_plan(&edited, &state, "h2").unwrap();
    let actions: std::collections::HashSet<(String, Action)> = p
        .changes
        .iter()
        .map(|c| (c.address.to_string(), c.action))
        .collect();
    assert_eq!(
        actions,
        std::collections::HashSet::from([
            ("subnet.private[0]".to_string(), Action::Update),
            ("iam_role.instance".to_string(), Action::Replace)
        ])
    );
    let old_role = state.resources[&addr("iam_role.instance")].id.clone();
    let out = run.apply(&p, state).await;
    assert!(out.is_success(), "{out:?}");
    let state = out.state;
    assert_ne!(state.resources[&addr("iam_role.instance")].id, old_role);
    assert!(run.provider.get(&old_role).is_none());
    assert_eq!(
        state.resources[&subnet].args["map_public_ip_on_launch"],
        json!(true)
    );
    assert!(make_plan(&edited, &state, "h2").unwrap().is_empty());
    assert_eq!(kind_count(&run.provider, Kind::IamRole), 1);

    let out = run.apply(&plan_destroy(&state, "h2"), state).await;
    assert!(out.is_success(), "{out:?}");
    assert!(out.state.resources.is_empty());
    assert!(run.provider.objects().is_empty());
}

// A create that made its object but failed (a wait that gave up, a lost reply) leaves an
// intent, not a resource; destroy looks the object up and deletes it, after nothing else
// needs it and before what it uses.
#[tokio::test(start_paused = true)]
async fn destroy_deletes_what_a_failed_create_made() {
    let mut run = Run::default();
    let desired = stack("10.0.1.0/24", "/ecsctl/t/");
    let table = addr("route_table.private[0]");
    run.provider.lose_reply(
        ecsctl_engine::memory::Target::Address(table.clone()),
        ecsctl_engine::memory::Method::Create,
    );
    let p = make_plan(&desired, &State::new("t"), "h1").unwrap();
    let out = run.apply(&p, State::new("t")).await;
    assert!(!out.is_success());
    let state = out.state;
    assert!(state.pending.contains_key(&table), "{state:?}");
    assert!(!state.resources.contains_key(&table));
    assert_eq!(kind_count(&run.provider, Kind::RouteTable), 1);

    let destroy = plan_destroy(&state, "h1");
    assert_eq!(destroy.counts(), (0, 0, 4));
    let out = run.apply(&destroy, state).await;
    assert!(out.is_success(), "{out:?}");
    assert!(out.state.resources.is_empty() && out.state.pending.is_empty());
    assert!(
        run.provider.objects().is_empty(),
        "{:?}",
        run.provider.objects()
    );
}
