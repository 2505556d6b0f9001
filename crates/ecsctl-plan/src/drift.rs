//! Drift: what changed in the cloud since ecsctl last wrote the state, found by comparing
//! what a refresh read back with what the state records. Pure: the reads happen in the
//! engine; this module merges them into the state, lists the differences and renders them.
//!
//! - [`refresh_state`] makes the refreshed state (live arguments and outputs replace the
//!   recorded ones, resources gone are removed) and the [`Drift`] between the two;
//! - [`keep_managed`] stops the plan from reverting arguments AWS manages once set (the
//!   desired capacity of a group under a target-tracking policy);
//! - [`human`] and [`json`] show the drift above the plan.
//!
//! Values are compared normalised ([`crate::normalize`]), so re-encoded policies,
//! reordered sets and alias TTLs are no drift. An argument the read does not report (absent
//! from the live arguments, or one of [`crate::normalize::not_reported`]) keeps its
//! recorded value.

use crate::normalize::{self, normalize};
use crate::render;
use ecsctl_graph::{Address, Graph, Kind, Value};
use ecsctl_state::{Attrs, State};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// What a refresh read for one resource.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    pub args: Attrs,
    pub outputs: Attrs,
}

/// Everything that changed outside ecsctl, in address order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// Resources that still exist with arguments other than the recorded ones.
    pub changed: Vec<ResourceDrift>,
    /// Resources the state records that no longer exist.
    pub deleted: Vec<Gone>,
    /// Not drift: arguments that now hold what an update of ecsctl's asked for, though that
    /// update failed (or its wait did), so the state still recorded the values before it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unfinished: Vec<ResourceDrift>,
}

impl Drift {
    /// No change made outside ecsctl (what [`Drift::unfinished`] holds is not drift).
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.deleted.is_empty()
    }
}

/// One resource changed outside ecsctl.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceDrift {
    pub address: Address,
    pub id: String,
    /// The arguments that differ, by name.
    pub attrs: Vec<AttrDrift>,
}

/// One argument changed outside ecsctl: what the state recorded and what lives now
/// (`None` when absent or null).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttrDrift {
    pub name: String,
    pub recorded: Option<Json>,
    pub live: Option<Json>,
}

/// A resource deleted outside ecsctl.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gone {
    pub address: Address,
    pub id: String,
}

/// The state as the cloud has it, and the drift from `recorded`. `live` holds what was read
/// per address (`None`: it no longer exists); addresses it does not hold (their kind was
/// not read) keep their recorded form.
pub fn refresh_state(
    recorded: &State,
    live: &BTreeMap<Address, Option<Observed>>,
) -> (State, Drift) {
    let mut state = recorded.clone();
    let mut drift = Drift::default();
    let scaled = scaled_groups(recorded);
    for (address, found) in live {
        let Some(before) = recorded.resources.get(address) else {
            continue;
        };
        let Some(found) = found else {
            state.resources.remove(address);
            drift.deleted.push(Gone {
                address: address.clone(),
                id: before.id.clone(),
            });
            continue;
        };
        let kind = address.kind;
        let managed = kind == Kind::AutoscalingGroup && scaled.contains(&before.id);
        let mut args = before.args.clone();
        let mut attrs = Vec::new();
        let mut unfinished = Vec::new();
        let attempted = recorded.unconfirmed.get(address);
        for (name, value) in &found.args {
            if normalize::not_reported(kind, name, value) {
                continue;
            }
            let old = before.args.get(name).unwrap_or(&Json::Null);
            let ignored = managed && name == "desired_capacity";
            if !ignored && !normalize::equal(kind, name, old, value) {
                let ours = attempted
                    .and_then(|m| m.get(name))
                    .is_some_and(|asked| normalize::equal(kind, name, asked, value));
                let entry = AttrDrift {
                    name: name.clone(),
                    recorded: Some(old.clone()).filter(|j| !j.is_null()),
                    live: Some(value.clone()).filter(|j| !j.is_null()),
                };
                if ours {
                    unfinished.push(entry);
                } else {
                    attrs.push(entry);
                }
            }
            args.insert(name.clone(), value.clone());
        }
        let resource = state
            .resources
            .get_mut(address)
            .expect("the address was read from this state");
        resource.args = args;
        for (name, value) in &found.outputs {
            resource.outputs.insert(name.clone(), value.clone());
        }
        for (list, attrs) in [
            (&mut drift.changed, attrs),
            (&mut drift.unfinished, unfinished),
        ] {
            if !attrs.is_empty() {
                list.push(ResourceDrift {
                    address: address.clone(),
                    id: before.id.clone(),
                    attrs,
                });
            }
        }
    }
    // What was read is what the state now records: an unfinished update is settled.
    for address in live.keys() {
        state.unconfirmed.remove(address);
    }
    (state, drift)
}

/// Names of the Auto Scaling groups a scaling policy in `state` manages.
fn scaled_groups(state: &State) -> BTreeSet<String> {
    state
        .resources
        .iter()
        .filter(|(a, _)| a.kind == Kind::ScalingPolicy)
        .filter_map(|(_, r)| r.args.get("autoscaling_group_name")?.as_str())
        .map(str::to_string)
        .collect()
}

/// `desired` with the arguments AWS manages once they are set replaced by the values the
/// state holds, so the plan neither reports nor reverts them: an Auto Scaling group's
/// `desired_capacity` when a scaling policy of the graph targets it (target tracking moves
/// it), kept within the desired `min_size`..=`max_size`.
pub fn keep_managed(desired: &Graph, state: &State) -> Graph {
    let mut out = desired.clone();
    let policies: Vec<&Value> = desired
        .resources()
        .filter(|r| r.kind() == Kind::ScalingPolicy)
        .filter_map(|r| r.args.get("autoscaling_group_name"))
        .collect();
    for r in desired.resources() {
        if r.kind() != Kind::AutoscalingGroup {
            continue;
        }
        let targeted = policies.iter().any(|v| {
            v.refs().iter().any(|x| x.address == r.address)
                || (v.to_json().is_some()
                    && v.to_json() == r.args.get("name").and_then(Value::to_json))
        });
        let live = state
            .resources
            .get(&r.address)
            .and_then(|s| s.args.get("desired_capacity"))
            .and_then(Json::as_i64);
        let (true, Some(mut live)) = (targeted, live) else {
            continue;
        };
        let int = |name: &str| r.args.get(name).and_then(Value::to_json)?.as_i64();
        if let Some(max) = int("max_size") {
            live = live.min(max);
        }
        if let Some(min) = int("min_size") {
            live = live.max(min);
        }
        out.add(r.clone().arg("desired_capacity", Value::int(live)));
    }
    out
}

/// The drift for a terminal, or an empty string when there is none.
pub fn human(drift: &Drift, color: bool) -> String {
    let mut out = String::new();
    if !drift.is_empty() {
        out.push_str(&changed_outside(drift, color));
    }
    if !drift.unfinished.is_empty() {
        out.push_str(
            "Left by an earlier apply whose update failed (ecsctl's own change, not drift):\n\n",
        );
        out.push_str(&changed_text(&drift.unfinished, color));
        out.push_str(
            "\nValues are shown as recorded -> live. The state now records the live values; \
             the plan below finishes the update where they differ from the stack file.\n\n",
        );
    }
    out
}

/// Each resource of `changed` with its arguments as recorded -> live.
fn changed_text(changed: &[ResourceDrift], color: bool) -> String {
    let (yellow, reset) = if color {
        ("\x1b[33m", "\x1b[0m")
    } else {
        ("", "")
    };
    changed
        .iter()
        .map(|c| resource_text(c, yellow, reset))
        .collect()
}

fn changed_outside(drift: &Drift, color: bool) -> String {
    let (yellow, red, reset) = if color {
        ("\x1b[33m", "\x1b[31m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    let mut out = String::from("Objects changed outside ecsctl:\n\n");
    let mut entries: Vec<(&Address, String)> = Vec::new();
    for c in &drift.changed {
        entries.push((&c.address, resource_text(c, yellow, reset)));
    }
    for g in &drift.deleted {
        entries.push((
            &g.address,
            format!(
                "{red}  -{reset} {} (id {}): deleted outside ecsctl\n",
                g.address, g.id
            ),
        ));
    }
    entries.sort_by(|a, b| a.0.cmp(b.0));
    for (_, text) in entries {
        out.push_str(&text);
    }
    let _ = writeln!(
        out,
        "\nValues are shown as recorded -> live. Unless the stack file is changed to match, \
         apply will undo these changes; deleted objects are created again.\n"
    );
    out
}

/// One resource's changed arguments, as recorded -> live.
fn resource_text(c: &ResourceDrift, yellow: &str, reset: &str) -> String {
    let mut text = format!("{yellow}  ~{reset} {} (id {})\n", c.address, c.id);
    let kind = c.address.kind;
    for a in &c.attrs {
        let recorded = a.recorded.as_ref().map(|j| normalize(kind, &a.name, j));
        let live = a.live.as_ref().map(|j| normalize(kind, &a.name, j));
        let mut lines = Vec::new();
        render::diff_lines(
            &a.name,
            recorded.as_ref().filter(|j| !j.is_null()),
            live.as_ref().filter(|j| !j.is_null()),
            &mut lines,
        );
        if lines.is_empty() {
            lines.push(format!("{}: (changed)", a.name));
        }
        for l in lines {
            let _ = writeln!(text, "      {l}");
        }
    }
    text
}

/// The drift for `--json`: `{"changed": [{address, id, attrs: [{name, recorded, live}]}],
/// "deleted": [{address, id}]}`.
pub fn json(drift: &Drift) -> Json {
    serde_json::to_value(drift).unwrap_or(Json::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecsctl_graph::Resource;
    use ecsctl_state::ResourceState;
    use serde_json::json;

    fn a(s: &str) -> Address {
        s.parse().unwrap()
    }

    fn attrs(j: Json) -> Attrs {
        match j {
            Json::Object(m) => m,
            _ => panic!("test attrs must be an object"),
        }
    }

    fn resource(id: &str, args: Json) -> ResourceState {
        ResourceState {
            id: id.into(),
            args: attrs(args),
            outputs: attrs(json!({"id": id})),
            deps: vec![],
        }
    }

    fn observed(args: Json) -> Option<Observed> {
        Some(Observed {
            args: attrs(args),
            outputs: Attrs::new(),
        })
    }

    fn recorded() -> State {
        let mut s = State::new("hello");
        s.resources.insert(
            a("vpc.main"),
            resource(
                "vpc-1",
                json!({"cidr_block": "10.0.0.0/16", "tags": {"Name": "hello", "ecsctl:stack": "hello"}}),
            ),
        );
        s.resources.insert(
            a("ecs_service.hello"),
            resource(
                "arn:svc",
                json!({"desired_count": 2, "health_check_grace_period": 30,
                       "deployment": {"minimum_healthy_percent": 50}, "placement_strategy": [{"type": "spread"}]}),
            ),
        );
        s.resources.insert(
            a("log_group.hello"),
            resource("/ecsctl/hello/hello", json!({"retention_in_days": 30})),
        );
        s.resources.insert(
            a("autoscaling_group.instances"),
            resource(
                "hello",
                json!({"name": "hello", "desired_capacity": 1, "min_size": 1, "max_size": 4}),
            ),
        );
        s.resources.insert(
            a("scaling_policy.instances"),
            resource(
                "arn:policy",
                json!({"name": "cpu", "autoscaling_group_name": "hello"}),
            ),
        );
        s
    }

    #[test]
    fn nothing_changed_is_no_drift_and_the_same_state() {
        let state = recorded();
        let live: BTreeMap<Address, Option<Observed>> = state
            .resources
            .iter()
            .map(|(k, r)| {
                (
                    k.clone(),
                    Some(Observed {
                        args: r.args.clone(),
                        outputs: r.outputs.clone(),
                    }),
                )
            })
            .collect();
        let (after, drift) = refresh_state(&state, &live);
        assert!(drift.is_empty(), "{drift:?}");
        assert_eq!(after, state);
        assert_eq!(human(&drift, false), "");
    }

    #[test]
    fn changed_and_deleted_resources_are_reported_and_merged() {
        let state = recorded();
        let live = BTreeMap::from([
            (
                a("vpc.main"),
                observed(
                    json!({"cidr_block": "10.0.0.0/16", "tags": {"Name": "hello", "ecsctl:stack": "hello", "Owner": "bob"}}),
                ),
            ),
            (
                a("ecs_service.hello"),
                observed(json!({"desired_count": 5})),
            ),
            (a("log_group.hello"), None),
        ]);
        let (after, drift) = refresh_state(&state, &live);
        assert_eq!(drift.deleted.len(), 1);
        assert_eq!(drift.deleted[0].address, a("log_group.hello"));
        assert!(!after.resources.contains_key(&a("log_group.hello")));
        let names: Vec<(String, Vec<&str>)> = drift
            .changed
            .iter()
            .map(|c| {
                (
                    c.address.to_string(),
                    c.attrs.iter().map(|x| x.name.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("vpc.main".to_string(), vec!["tags"]),
                ("ecs_service.hello".to_string(), vec!["desired_count"])
            ]
        );
        assert_eq!(
            after.resources[&a("ecs_service.hello")].args["desired_count"],
            json!(5)
        );
        // Arguments the read does not report keep their recorded value.
        assert_eq!(
            after.resources[&a("ecs_service.hello")].args["health_check_grace_period"],
            json!(30)
        );
        // Kinds that were not read are untouched.
        assert_eq!(
            after.resources[&a("autoscaling_group.instances")],
            state.resources[&a("autoscaling_group.instances")]
        );
        let text = human(&drift, false);
        assert!(
            text.starts_with("Objects changed outside ecsctl:\n\n"),
            "{text}"
        );
        assert!(
            text.contains("  ~ ecs_service.hello (id arn:svc)\n      desired_count: 2 -> 5\n"),
            "{text}"
        );
        assert!(
            text.contains("      tags.Owner: (none) -> \"bob\"\n") || text.contains("      tags: "),
            "{text}"
        );
        assert!(
            text.contains("  - log_group.hello (id /ecsctl/hello/hello): deleted outside ecsctl\n"),
            "{text}"
        );
        let j = json(&drift);
        assert_eq!(j["deleted"][0]["address"], "log_group.hello");
        assert_eq!(j["changed"][1]["attrs"][0]["live"], 5);
    }

    #[test]
    fn what_a_failed_update_of_ecsctl_changed_is_not_drift() {
        let mut state = recorded();
        // The last apply asked for 3 tasks and 60 s of grace; the update failed in its wait.
        state.unconfirmed.insert(
            a("ecs_service.hello"),
            attrs(json!({"desired_count": 3, "health_check_grace_period": 60})),
        );
        // AWS has the 3 tasks; someone else set the grace period to 90 meanwhile.
        let live = BTreeMap::from([(
            a("ecs_service.hello"),
            observed(json!({"desired_count": 3, "health_check_grace_period": 90})),
        )]);
        let (after, drift) = refresh_state(&state, &live);
        let names = |l: &[ResourceDrift]| -> Vec<String> {
            l.iter()
                .flat_map(|c| c.attrs.iter().map(|x| format!("{}.{}", c.address, x.name)))
                .collect()
        };
        assert_eq!(
            names(&drift.unfinished),
            ["ecs_service.hello.desired_count"]
        );
        assert_eq!(
            names(&drift.changed),
            ["ecs_service.hello.health_check_grace_period"]
        );
        assert!(after.unconfirmed.is_empty(), "the refresh settled it");
        assert_eq!(
            after.resources[&a("ecs_service.hello")].args["desired_count"],
            json!(3)
        );
        let text = human(&drift, false);
        let (outside, ours) = text
            .split_once("Left by an earlier apply whose update failed")
            .expect(&text);
        assert!(
            outside.contains("health_check_grace_period: 30 -> 90"),
            "{text}"
        );
        assert!(!outside.contains("desired_count"), "{text}");
        assert!(ours.contains("desired_count: 2 -> 3"), "{text}");
        assert_eq!(json(&drift)["unfinished"][0]["attrs"][0]["live"], 3);
    }

    #[test]
    fn settings_moto_drops_on_create_are_not_reported_when_read_as_empty() {
        let state = recorded();
        let live = BTreeMap::from([(
            a("ecs_service.hello"),
            observed(json!({"desired_count": 2, "deployment": null,
                            "health_check_grace_period": null, "placement_strategy": []})),
        )]);
        let (after, drift) = refresh_state(&state, &live);
        assert!(drift.is_empty(), "{drift:?}");
        assert_eq!(after, state);
        // A value that is read is compared.
        let live = BTreeMap::from([(
            a("ecs_service.hello"),
            observed(json!({"desired_count": 2, "health_check_grace_period": 60})),
        )]);
        let (_, drift) = refresh_state(&state, &live);
        assert_eq!(drift.changed[0].attrs[0].name, "health_check_grace_period");
    }

    #[test]
    fn a_scaled_groups_capacity_is_taken_but_not_reported() {
        let state = recorded();
        let live = BTreeMap::from([(
            a("autoscaling_group.instances"),
            observed(json!({"name": "hello", "desired_capacity": 3, "min_size": 1, "max_size": 4})),
        )]);
        let (after, drift) = refresh_state(&state, &live);
        assert!(drift.is_empty(), "{drift:?}");
        assert_eq!(
            after.resources[&a("autoscaling_group.instances")].args["desired_capacity"],
            json!(3)
        );
        // Without a policy it is drift like any other argument.
        let mut unscaled = recorded();
        unscaled.resources.remove(&a("scaling_policy.instances"));
        let (_, drift) = refresh_state(&unscaled, &live);
        assert_eq!(drift.changed[0].attrs[0].name, "desired_capacity");
    }

    #[test]
    fn the_plan_keeps_a_scaled_groups_live_capacity_within_bounds() {
        let mut g = Graph::new();
        let asg = g.add(
            Resource::new(a("autoscaling_group.instances"))
                .arg("name", "hello")
                .arg("min_size", 1i64)
                .arg("max_size", 4i64)
                .arg("desired_capacity", 1i64),
        );
        g.add(
            Resource::new(a("scaling_policy.instances"))
                .arg("name", "cpu")
                .arg("autoscaling_group_name", asg.attr("id")),
        );
        let mut state = recorded();
        let set = |state: &mut State, n: i64| {
            state
                .resources
                .get_mut(&a("autoscaling_group.instances"))
                .unwrap()
                .args
                .insert("desired_capacity".into(), json!(n));
        };
        let capacity = |g: &Graph| {
            g.get(&a("autoscaling_group.instances")).unwrap().args["desired_capacity"].clone()
        };
        set(&mut state, 3);
        assert_eq!(capacity(&keep_managed(&g, &state)), Value::int(3));
        set(&mut state, 9);
        assert_eq!(capacity(&keep_managed(&g, &state)), Value::int(4));
        // Not yet created: the stack's value.
        let empty = State::new("hello");
        assert_eq!(capacity(&keep_managed(&g, &empty)), Value::int(1));
        // No policy: the stack's value wins.
        let mut unscaled = Graph::new();
        unscaled.add(g.get(&a("autoscaling_group.instances")).unwrap().clone());
        assert_eq!(capacity(&keep_managed(&unscaled, &state)), Value::int(1));
    }
}
