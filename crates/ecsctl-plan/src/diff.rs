//! The diff of a desired graph against the state.
//!
//! Resources are visited in dependency order, so the action of every resource is known
//! before its dependents are compared. A dependent's reference to a resource that does not
//! change is replaced by the value the state records; a reference to one that changes is
//! not known before apply, which counts as a change, except where the referenced value
//! survives the change (see [`stable_under_update`]).

use crate::model::{Action, AttrDiff, Change, Plan, FORMAT_VERSION};
use crate::normalize::normalize;
use ecsctl_graph::{Address, CycleError, Graph, Kind, Ref, Resource, Value};
use ecsctl_state::{ResourceState, State};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("{0}; the stack expanded into resources that wait for each other, which is a bug in ecsctl: please report it with the stack file")]
    Cycle(#[from] CycleError),
}

/// Outputs that an in-place update changes: a launch template update makes a new version,
/// and a route table's associations are remade when its subnets change.
const VOLATILE_OUTPUTS: &[(Kind, &str)] = &[
    (Kind::LaunchTemplate, "latest_version"),
    (Kind::RouteTable, "association_ids"),
];

/// Whether attribute `attr` of a resource of `kind` keeps its recorded value through an
/// in-place update: `id` and `arn` always, and every other output except the volatile ones.
/// (Arguments are handled separately: after an update they equal their desired values.)
pub fn stable_under_update(kind: Kind, attr: &str) -> bool {
    if attr == "id" || attr == "arn" {
        return true;
    }
    kind.schema().outputs.contains(&attr) && !VOLATILE_OUTPUTS.contains(&(kind, attr))
}

/// What the diff knows about a resource visited earlier.
enum Visited {
    /// Not changing: references resolve to the state.
    Unchanged,
    /// Changing in place; its desired arguments as compared (known ones resolved).
    Updated(BTreeMap<String, Value>),
    /// Created or replaced: nothing it returns is known before apply.
    New,
}

/// The plan that makes `state` match `desired`. `stack_hash` binds it to the stack file.
///
/// In the graph but not the state: create (a resumed one if the state holds its pending
/// intent). In the state but not the graph: delete. In both: each desired argument is
/// compared, normalised, with the recorded one (arguments only the state records are not
/// compared); a difference in an argument the kind cannot change in place is a replace,
/// any other difference an update, none at all no change.
/// The plan records the state's data lookups; use [`Plan::with_data`] to record the ones
/// `desired` was expanded with.
pub fn plan(desired: &Graph, state: &State, stack_hash: &str) -> Result<Plan, PlanError> {
    let order = desired.topo_order()?;
    let mut visited: BTreeMap<Address, Visited> = BTreeMap::new();
    let mut upserts = Vec::new();
    for address in &order {
        let Some(resource) = desired.get(address) else {
            continue;
        };
        let (change, seen) = diff_one(resource, state, &visited);
        visited.insert(address.clone(), seen);
        upserts.extend(change);
    }

    let gone: BTreeSet<&Address> = state
        .resources
        .keys()
        .filter(|a| desired.get(a).is_none())
        .collect();
    let mut changes: Vec<Change> = delete_order(state)
        .into_iter()
        .filter(|a| gone.contains(a))
        .map(|a| {
            let st = &state.resources[&a];
            delete(&a, Some(st), &st.deps)
        })
        .collect();
    changes.extend(upserts);

    Ok(Plan {
        format_version: FORMAT_VERSION,
        stack: state.stack.clone(),
        stack_hash: stack_hash.to_string(),
        lineage: state.lineage.clone(),
        serial: state.serial,
        destroy: false,
        data: state.data.clone(),
        changes,
    })
}

/// The plan that deletes everything in `state`, dependents first, including what a create
/// that failed or was interrupted may have made (its intent is pending: the engine looks
/// it up first and deletes it if found; a failed wait leaves such objects running).
pub fn plan_destroy(state: &State, stack_hash: &str) -> Plan {
    let changes = delete_order(state)
        .into_iter()
        .map(|a| match state.resources.get(&a) {
            Some(st) => delete(&a, Some(st), &st.deps),
            None => delete(&a, None, &state.pending[&a].deps),
        })
        .collect();
    Plan {
        format_version: FORMAT_VERSION,
        stack: state.stack.clone(),
        stack_hash: stack_hash.to_string(),
        lineage: state.lineage.clone(),
        serial: state.serial,
        destroy: true,
        data: state.data.clone(),
        changes,
    }
}

/// The delete of the object at `address`: the recorded one, or (`before` unknown) what an
/// interrupted create may have made, looked up first (`resume`).
fn delete(address: &Address, before: Option<&ResourceState>, deps: &[Address]) -> Change {
    Change {
        address: address.clone(),
        action: Action::Delete,
        create_before_destroy: false,
        resume: before.is_none(),
        before: before.cloned(),
        after: None,
        diffs: vec![],
        replace_reasons: vec![],
        deps: deps.to_vec(),
    }
}

/// Compare one desired resource with its state; returns its change (if any) and what its
/// dependents need to know about it.
fn diff_one(
    resource: &Resource,
    state: &State,
    visited: &BTreeMap<Address, Visited>,
) -> (Option<Change>, Visited) {
    let address = &resource.address;
    let kind = resource.kind();
    // The desired arguments with references to unchanged resources resolved.
    let after: BTreeMap<String, Value> = resource
        .args
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                resolve(v, &|r| lookup_unchanged(r, state, visited)),
            )
        })
        .collect();
    let deps: Vec<Address> = resource.deps().into_iter().collect();
    let mut change = Change {
        address: address.clone(),
        action: Action::Create,
        create_before_destroy: false,
        resume: false,
        before: None,
        after: None,
        diffs: vec![],
        replace_reasons: vec![],
        deps,
    };

    let Some(st) = state.resources.get(address) else {
        change.resume = state.pending.contains_key(address);
        change.after = Some(after);
        return (Some(change), Visited::New);
    };

    // The arguments as compared: references whose values survive an update resolved too.
    let compared: BTreeMap<String, Value> = after
        .iter()
        .map(|(k, v)| (k.clone(), resolve(v, &|r| lookup_stable(r, state, visited))))
        .collect();
    for (name, value) in &compared {
        let recorded = st.args.get(name).unwrap_or(&Json::Null);
        let same = match value.to_json() {
            Some(j) => normalize(kind, name, &j) == normalize(kind, name, recorded),
            None => false,
        };
        if same {
            continue;
        }
        let forces_replace = kind.forces_replace(name);
        if forces_replace {
            change.replace_reasons.push(name.clone());
        }
        change.diffs.push(AttrDiff {
            name: name.clone(),
            before: Some(recorded.clone()).filter(|j| !j.is_null()),
            after: Some(after[name].clone()).filter(|v| *v != Value::Null),
            forces_replace,
        });
    }

    if change.diffs.is_empty() {
        return (None, Visited::Unchanged);
    }
    change.before = Some(st.clone());
    change.after = Some(after);
    if change.replace_reasons.is_empty() {
        change.action = Action::Update;
        (Some(change), Visited::Updated(compared))
    } else {
        change.action = Action::Replace;
        let changed: Vec<&str> = change.diffs.iter().map(|d| d.name.as_str()).collect();
        change.create_before_destroy = kind.replace_creates_first(&changed);
        (Some(change), Visited::New)
    }
}

/// The recorded value of `r` when its resource does not change (or is not desired at all,
/// which only a dangling reference can mean).
fn lookup_unchanged(r: &Ref, state: &State, visited: &BTreeMap<Address, Visited>) -> Option<Json> {
    match visited.get(&r.address) {
        Some(Visited::Unchanged) | None => state.lookup(r),
        Some(_) => None,
    }
}

/// The value `r` will have after apply when that is known now: for a resource updated in
/// place, its stable outputs (as recorded) and its arguments (as desired).
fn lookup_stable(r: &Ref, state: &State, visited: &BTreeMap<Address, Visited>) -> Option<Json> {
    match visited.get(&r.address)? {
        Visited::Updated(args) => {
            if let Some(v) = args.get(&r.attr) {
                return v.to_json();
            }
            if stable_under_update(r.address.kind, &r.attr) {
                return state.lookup(r);
            }
            None
        }
        Visited::Unchanged | Visited::New => None,
    }
}

/// `v` with every reference `lookup` knows replaced by its value; the others stay.
fn resolve(v: &Value, lookup: &dyn Fn(&Ref) -> Option<Json>) -> Value {
    match v {
        Value::Ref(r) => match lookup(r) {
            Some(j) => Value::from(j),
            None => v.clone(),
        },
        Value::List(items) => Value::List(items.iter().map(|x| resolve(x, lookup)).collect()),
        Value::Map(m) => Value::Map(
            m.iter()
                .map(|(k, x)| (k.clone(), resolve(x, lookup)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Every address in the state, each before the resources it depends on (by the recorded
/// deps); ties by address. A recorded cycle (only a damaged state can hold one) is broken
/// at its smallest address rather than refused: deleting remains possible.
fn delete_order(state: &State) -> Vec<Address> {
    // Everything recorded, and what pending intents may have made.
    let all: BTreeMap<&Address, &Vec<Address>> = state
        .pending
        .iter()
        .map(|(a, p)| (a, &p.deps))
        .chain(state.resources.iter().map(|(a, r)| (a, &r.deps)))
        .collect();
    // dependents[a] = resources that depend on a and must therefore go first.
    let mut waiting_on: BTreeMap<&Address, BTreeSet<&Address>> =
        all.keys().map(|a| (*a, BTreeSet::new())).collect();
    for (a, deps) in &all {
        let a = *a;
        for d in deps.iter() {
            if let Some(dependents) = waiting_on.get_mut(d) {
                if d != a {
                    dependents.insert(a);
                }
            }
        }
    }
    let mut out = Vec::with_capacity(waiting_on.len());
    while !waiting_on.is_empty() {
        let mut ready: Vec<&Address> = waiting_on
            .iter()
            .filter(|(_, dependents)| dependents.is_empty())
            .map(|(a, _)| *a)
            .collect();
        if ready.is_empty() {
            if let Some(first) = waiting_on.keys().next() {
                ready.push(*first);
            }
        }
        for a in &ready {
            waiting_on.remove(a);
        }
        for dependents in waiting_on.values_mut() {
            for a in &ready {
                dependents.remove(a);
            }
        }
        out.extend(ready.into_iter().cloned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecsctl_state::Pending;
    use serde_json::{json, Map};

    fn a(s: &str) -> Address {
        s.parse().unwrap()
    }

    fn attrs(j: Json) -> Map<String, Json> {
        match j {
            Json::Object(m) => m,
            _ => panic!("test attrs must be an object"),
        }
    }

    /// A small network: vpc, subnet, security group referencing the vpc, a launch template
    /// referencing the group, an ASG referencing the template's id and latest version.
    fn desired(instance_type: &str, az: &str, sg_desc: &str) -> Graph {
        let mut g = Graph::new();
        let vpc = g.add(
            Resource::new(a("vpc.main"))
                .arg("cidr_block", "10.0.0.0/16")
                .arg("enable_dns_support", true)
                .arg("tags", Value::from(json!({"Name": "hello"}))),
        );
        let subnet = g.add(
            Resource::new(a("subnet.private[0]"))
                .arg("vpc_id", vpc.attr("id"))
                .arg("cidr_block", "10.0.50.0/24")
                .arg("availability_zone", az),
        );
        let sg = g.add(
            Resource::new(a("security_group.instances"))
                .arg("name", "hello-instances")
                .arg("description", sg_desc)
                .arg("vpc_id", vpc.attr("id")),
        );
        let lt = g.add(
            Resource::new(a("launch_template.instances"))
                .arg("name", "hello")
                .arg("instance_type", instance_type)
                .arg("security_group_ids", Value::list([sg.attr("id")])),
        );
        g.add(
            Resource::new(a("autoscaling_group.instances"))
                .arg("name", "hello")
                .arg("launch_template_id", lt.attr("id"))
                .arg("launch_template_version", lt.attr("latest_version"))
                .arg("subnet_ids", Value::list([subnet.attr("id")])),
        );
        g
    }

    fn resource(id: &str, args: Json, outputs: Json, deps: &[&str]) -> ResourceState {
        ResourceState {
            id: id.to_string(),
            args: attrs(args),
            outputs: attrs(outputs),
            deps: deps.iter().map(|d| a(d)).collect(),
        }
    }

    /// The state right after applying `desired("t3.small", "eu-west-2a", "instances")`.
    fn applied() -> State {
        let mut s = State::new("hello");
        s.serial = 4;
        let r = &mut s.resources;
        r.insert(
            a("vpc.main"),
            resource(
                "vpc-1",
                json!({"cidr_block": "10.0.0.0/16", "enable_dns_support": true, "tags": {"Name": "hello"}}),
                json!({}),
                &[],
            ),
        );
        r.insert(
            a("subnet.private[0]"),
            resource(
                "subnet-1",
                json!({"vpc_id": "vpc-1", "cidr_block": "10.0.50.0/24", "availability_zone": "eu-west-2a"}),
                json!({}),
                &["vpc.main"],
            ),
        );
        r.insert(
            a("security_group.instances"),
            resource(
                "sg-1",
                json!({"name": "hello-instances", "description": "instances", "vpc_id": "vpc-1"}),
                json!({}),
                &["vpc.main"],
            ),
        );
        r.insert(
            a("launch_template.instances"),
            resource(
                "lt-1",
                json!({"name": "hello", "instance_type": "t3.small", "security_group_ids": ["sg-1"]}),
                json!({"latest_version": "1"}),
                &["security_group.instances"],
            ),
        );
        r.insert(
            a("autoscaling_group.instances"),
            resource(
                "hello",
                json!({"name": "hello", "launch_template_id": "lt-1", "launch_template_version": "1", "subnet_ids": ["subnet-1"]}),
                json!({"arn": "arn:asg"}),
                &["launch_template.instances", "subnet.private[0]"],
            ),
        );
        s
    }

    fn actions(p: &Plan) -> Vec<(String, Action)> {
        p.changes
            .iter()
            .map(|c| (c.address.to_string(), c.action))
            .collect()
    }

    #[test]
    fn everything_is_created_against_an_empty_state_in_dependency_order() {
        let state = State::new("hello");
        let p = plan(&desired("t3.small", "eu-west-2a", "instances"), &state, "h").unwrap();
        let order: Vec<String> = p.changes.iter().map(|c| c.address.to_string()).collect();
        assert_eq!(
            order,
            [
                "vpc.main",
                "subnet.private[0]",
                "security_group.instances",
                "launch_template.instances",
                "autoscaling_group.instances"
            ]
        );
        assert!(p.changes.iter().all(|c| c.action == Action::Create));
        assert_eq!(p.counts(), (5, 0, 0));
        // References to resources being created stay references for the engine.
        let asg = p.change(&a("autoscaling_group.instances")).unwrap();
        let after = asg.after.as_ref().unwrap();
        assert_eq!(
            after["launch_template_id"],
            a("launch_template.instances").attr("id")
        );
        // Deps in address order (kinds in declaration order).
        assert_eq!(
            asg.deps,
            vec![a("subnet.private[0]"), a("launch_template.instances")]
        );
        assert_eq!(p.serial, 0);
        assert_eq!(p.lineage, state.lineage);
        assert_eq!(p.stack_hash, "h");
    }

    #[test]
    fn a_plan_right_after_apply_is_empty() {
        let p = plan(
            &desired("t3.small", "eu-west-2a", "instances"),
            &applied(),
            "h",
        )
        .unwrap();
        assert!(p.is_empty(), "{:#?}", p.changes);
        assert_eq!(p.counts(), (0, 0, 0));
    }

    #[test]
    fn an_in_place_change_is_an_update_and_ripples_only_through_volatile_outputs() {
        let p = plan(
            &desired("t3.large", "eu-west-2a", "instances"),
            &applied(),
            "h",
        )
        .unwrap();
        assert_eq!(
            actions(&p),
            [
                ("launch_template.instances".to_string(), Action::Update),
                ("autoscaling_group.instances".to_string(), Action::Update)
            ]
        );
        let lt = &p.changes[0];
        assert_eq!(lt.diffs.len(), 1);
        assert_eq!(lt.diffs[0].name, "instance_type");
        assert_eq!(lt.diffs[0].before, Some(json!("t3.small")));
        assert_eq!(lt.diffs[0].after, Some(Value::str("t3.large")));
        assert!(!lt.diffs[0].forces_replace);
        assert_eq!(lt.before.as_ref().unwrap().id, "lt-1");
        // The template's id survives its update; its latest version does not.
        let asg = &p.changes[1];
        let names: Vec<&str> = asg.diffs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["launch_template_version"]);
        assert_eq!(
            asg.diffs[0].after,
            Some(a("launch_template.instances").attr("latest_version"))
        );
        // The unchanged subnet's id is substituted in `after`.
        let after = asg.after.as_ref().unwrap();
        assert_eq!(after["subnet_ids"], Value::list(["subnet-1"]));
    }

    #[test]
    fn a_forcing_change_is_a_replace_and_dependents_see_a_new_id() {
        let p = plan(
            &desired("t3.small", "eu-west-2b", "instances"),
            &applied(),
            "h",
        )
        .unwrap();
        assert_eq!(
            actions(&p),
            [
                ("subnet.private[0]".to_string(), Action::Replace),
                ("autoscaling_group.instances".to_string(), Action::Update)
            ]
        );
        let subnet = &p.changes[0];
        assert_eq!(subnet.replace_reasons, ["availability_zone"]);
        assert!(
            !subnet.create_before_destroy,
            "the same CIDR cannot exist twice: the old subnet goes first"
        );
        assert_eq!(p.counts(), (1, 1, 1));
        let asg = &p.changes[1];
        assert_eq!(asg.diffs[0].name, "subnet_ids");
        assert_eq!(
            asg.diffs[0].after,
            Some(Value::list([a("subnet.private[0]").attr("id")]))
        );
    }

    #[test]
    fn a_replace_cascades_to_dependents_whose_forcing_args_reference_it() {
        // A new security group description replaces the group: the template that lists its
        // id is updated (security_group_ids is not a replace reason).
        let p = plan(&desired("t3.small", "eu-west-2a", "new"), &applied(), "h").unwrap();
        assert_eq!(
            actions(&p),
            [
                ("security_group.instances".to_string(), Action::Replace),
                ("launch_template.instances".to_string(), Action::Update),
                ("autoscaling_group.instances".to_string(), Action::Update)
            ]
        );
        assert_eq!(p.changes[0].replace_reasons, ["description"]);
    }

    #[test]
    fn create_before_destroy_comes_from_the_kind() {
        let mut g = Graph::new();
        g.add(Resource::new(a("task_definition.hello")).arg("family", "hello-2"));
        let mut s = State::new("hello");
        s.resources.insert(
            a("task_definition.hello"),
            resource("arn:td:1", json!({"family": "hello"}), json!({}), &[]),
        );
        let p = plan(&g, &s, "h").unwrap();
        assert_eq!(p.changes[0].action, Action::Replace);
        assert!(p.changes[0].create_before_destroy);
        assert_eq!(p.changes[0].symbol(), "+/-");
    }

    #[test]
    fn resources_no_longer_desired_are_deleted_dependents_first() {
        let mut g = desired("t3.small", "eu-west-2a", "instances");
        let mut keep = Graph::new();
        for r in g.resources() {
            if r.address.kind == Kind::Vpc || r.address.kind == Kind::Subnet {
                keep.add(r.clone());
            }
        }
        g = keep;
        let p = plan(&g, &applied(), "h").unwrap();
        assert_eq!(
            actions(&p),
            [
                ("autoscaling_group.instances".to_string(), Action::Delete),
                ("launch_template.instances".to_string(), Action::Delete),
                ("security_group.instances".to_string(), Action::Delete)
            ]
        );
        let asg = &p.changes[0];
        assert!(asg.after.is_none());
        assert_eq!(asg.before.as_ref().unwrap().id, "hello");
        assert_eq!(
            asg.deps,
            vec![a("launch_template.instances"), a("subnet.private[0]")]
        );
    }

    #[test]
    fn deletes_come_before_the_changes_of_what_they_depend_on() {
        // The ASG goes while the subnet it used is replaced: the delete comes first.
        let mut g = desired("t3.small", "eu-west-2b", "instances");
        let mut keep = Graph::new();
        for r in g.resources() {
            if r.address.kind != Kind::AutoscalingGroup {
                keep.add(r.clone());
            }
        }
        g = keep;
        let p = plan(&g, &applied(), "h").unwrap();
        assert_eq!(
            actions(&p),
            [
                ("autoscaling_group.instances".to_string(), Action::Delete),
                ("subnet.private[0]".to_string(), Action::Replace)
            ]
        );
    }

    #[test]
    fn destroy_deletes_everything_dependents_first() {
        let p = plan_destroy(&applied(), "h");
        assert!(p.destroy);
        assert_eq!(
            actions(&p),
            [
                ("autoscaling_group.instances".to_string(), Action::Delete),
                ("subnet.private[0]".to_string(), Action::Delete),
                ("launch_template.instances".to_string(), Action::Delete),
                ("security_group.instances".to_string(), Action::Delete),
                ("vpc.main".to_string(), Action::Delete)
            ]
        );
        assert_eq!(p.counts(), (0, 0, 5));
        assert!(plan_destroy(&State::new("x"), "h").is_empty());
    }

    #[test]
    fn a_damaged_state_with_a_dependency_cycle_can_still_be_destroyed() {
        let mut s = State::new("hello");
        s.resources.insert(
            a("security_group.alb"),
            resource("sg-1", json!({}), json!({}), &["security_group.instances"]),
        );
        s.resources.insert(
            a("security_group.instances"),
            resource("sg-2", json!({}), json!({}), &["security_group.alb"]),
        );
        s.resources
            .insert(a("vpc.main"), resource("vpc-1", json!({}), json!({}), &[]));
        let p = plan_destroy(&s, "h");
        assert_eq!(p.changes.len(), 3);
    }

    #[test]
    fn unknown_values_count_as_changes() {
        let mut g = Graph::new();
        g.add(Resource::new(a("launch_template.instances")).arg("image_id", Value::Unknown));
        let mut s = State::new("hello");
        s.resources.insert(
            a("launch_template.instances"),
            resource("lt-1", json!({"image_id": "ami-1"}), json!({}), &[]),
        );
        let p = plan(&g, &s, "h").unwrap();
        assert_eq!(p.changes[0].action, Action::Update);
        assert_eq!(p.changes[0].diffs[0].after, Some(Value::Unknown));
    }

    #[test]
    fn values_are_compared_normalised() {
        let mut g = Graph::new();
        g.add(
            Resource::new(a("lb.main"))
                .arg("subnet_ids", Value::list(["subnet-2", "subnet-1"]))
                .arg("idle_timeout", 60i64)
                .arg("tags", Value::from(json!({"b": "2", "a": "1"}))),
        );
        let mut s = State::new("hello");
        s.resources.insert(
            a("lb.main"),
            resource(
                "arn:lb",
                json!({"subnet_ids": ["subnet-1", "subnet-2"], "idle_timeout": 60.0, "tags": {"a": "1", "b": "2"}}),
                json!({}),
                &[],
            ),
        );
        assert!(plan(&g, &s, "h").unwrap().is_empty());
    }

    #[test]
    fn a_null_argument_equals_an_absent_one() {
        let mut g = Graph::new();
        g.add(Resource::new(a("launch_template.instances")).arg("key_name", Value::Null));
        let mut s = State::new("hello");
        s.resources.insert(
            a("launch_template.instances"),
            resource("lt-1", json!({}), json!({}), &[]),
        );
        assert!(plan(&g, &s, "h").unwrap().is_empty());
        // ... but a value that goes away is a change, recorded as None.
        s.resources
            .get_mut(&a("launch_template.instances"))
            .unwrap()
            .args
            .insert("key_name".into(), json!("eHa"));
        let p = plan(&g, &s, "h").unwrap();
        assert_eq!(p.changes[0].diffs[0].before, Some(json!("eHa")));
        assert_eq!(p.changes[0].diffs[0].after, None);
    }

    #[test]
    fn an_interrupted_create_is_resumed() {
        let mut g = Graph::new();
        g.add(Resource::new(a("ecs_cluster.main")).arg("name", "hello"));
        let mut s = State::new("hello");
        s.pending.insert(
            a("ecs_cluster.main"),
            Pending {
                token: "t".into(),
                since: "2024-01-01T00:00:00Z".into(),
                args: attrs(json!({"name": "hello"})),
                deps: vec![],
            },
        );
        let p = plan(&g, &s, "h").unwrap();
        assert_eq!(p.changes[0].action, Action::Create);
        assert!(p.changes[0].resume);
    }

    // A create whose wait failed (the group exists, its instances never joined) leaves an
    // intent, not a resource: destroy must still delete what it made, before what it uses.
    #[test]
    fn destroy_deletes_what_an_interrupted_create_made() {
        let mut s = State::new("hello");
        s.resources.insert(
            a("launch_template.instances"),
            resource("lt-1", json!({}), json!({}), &[]),
        );
        s.pending.insert(
            a("autoscaling_group.instances"),
            Pending {
                token: "t".into(),
                since: "2024-01-01T00:00:00Z".into(),
                args: attrs(json!({"name": "hello-instances"})),
                deps: vec![a("launch_template.instances")],
            },
        );
        let p = plan_destroy(&s, "h");
        assert_eq!(
            actions(&p),
            [
                ("autoscaling_group.instances".to_string(), Action::Delete),
                ("launch_template.instances".to_string(), Action::Delete),
            ]
        );
        assert!(p.changes[0].resume && p.changes[0].before.is_none());
        assert!(!p.changes[1].resume);
    }

    #[test]
    fn stable_outputs_of_an_updated_resource_are_used() {
        // The DNS record aliases the ALB; an ALB update keeps its DNS name.
        let mut g = Graph::new();
        let lb = g.add(Resource::new(a("lb.main")).arg("idle_timeout", 120i64));
        g.add(Resource::new(a("dns_record.hello")).arg(
            "alias_target",
            Value::Map(BTreeMap::from([(
                "dns_name".to_string(),
                lb.attr("dns_name"),
            )])),
        ));
        let mut s = State::new("hello");
        s.resources.insert(
            a("lb.main"),
            resource(
                "arn:lb",
                json!({"idle_timeout": 60}),
                json!({"dns_name": "hello-1.elb.amazonaws.com"}),
                &[],
            ),
        );
        s.resources.insert(
            a("dns_record.hello"),
            resource(
                "rec",
                json!({"alias_target": {"dns_name": "hello-1.elb.amazonaws.com."}}),
                json!({}),
                &["lb.main"],
            ),
        );
        let p = plan(&g, &s, "h").unwrap();
        assert_eq!(actions(&p), [("lb.main".to_string(), Action::Update)]);
        assert!(stable_under_update(Kind::Lb, "dns_name"));
        assert!(stable_under_update(Kind::IamRole, "arn"));
        assert!(!stable_under_update(Kind::LaunchTemplate, "latest_version"));
    }

    #[test]
    fn a_cycle_is_an_error() {
        let mut g = Graph::new();
        let x = a("security_group.alb");
        let y = a("security_group.instances");
        g.add(Resource::new(x.clone()).arg("vpc_id", y.attr("id")));
        g.add(Resource::new(y).arg("vpc_id", x.attr("id")));
        let err = plan(&g, &State::new("hello"), "h").unwrap_err();
        assert!(err
            .to_string()
            .starts_with("dependency cycle: security_group.alb -> security_group.instances"));
    }
}
