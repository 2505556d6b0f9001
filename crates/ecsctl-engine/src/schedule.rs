//! What waits for what: a plan's changes split into provider operations ("nodes") with the
//! ordering edges between them.
//!
//! - A create or update waits for the create/update of each of its dependencies.
//! - A delete waits for the deletes of everything whose recorded dependencies (in the state
//!   and in the plan's `before`) include it, and for the updates of resources that stop
//!   referencing it.
//! - A replace is a delete part and a create part. Destroy-then-create: the create waits
//!   for the delete. Create-before-destroy: the old object is deleted after the new one
//!   exists and after every dependent moved to it (was created or updated). A
//!   create-before-destroy replace that depends on a destroy-then-create replace is run as
//!   destroy-then-create: the old object of the dependency cannot be deleted while the old
//!   dependent lives, and the new dependent cannot be created before the new dependency.
//! - Old objects of create-before-destroy replaces left by an earlier run are deleted first
//!   (after the dependents that move away from them).
//! - Creates a previous run started but never confirmed, for addresses this plan does not
//!   create, are resolved first (adopted or forgotten).

use crate::Op;
use ecsctl_graph::{Address, Kind};
use ecsctl_plan::{effective_cbd, Action, Plan};
use ecsctl_state::State;
use std::collections::{BTreeSet, HashMap};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    Create,
    Update,
    Delete,
    /// Delete an old object kept in `state.deposed`.
    DeleteOld,
    /// Resolve a pending create for an address the plan does not create.
    Recover,
}

impl Part {
    pub fn op(self) -> Op {
        match self {
            Part::Create => Op::Create,
            Part::Update => Op::Update,
            Part::Delete => Op::Delete,
            Part::DeleteOld => Op::DeleteDeposed,
            Part::Recover => Op::Recover,
        }
    }

    fn creates(self) -> bool {
        matches!(self, Part::Create | Part::Update)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub address: Address,
    pub part: Part,
    /// Index of the plan change this node is part of (none for cleanups of earlier runs).
    pub change: Option<usize>,
    /// For `DeleteOld`: the id of the old object (known up front for leftovers, set when
    /// the new object of a create-before-destroy replace is recorded).
    pub old_id: Option<String>,
    /// For `Create`: the create part of a create-before-destroy replace.
    pub before_destroy: bool,
    /// Dependencies of the desired object (creates and updates).
    pub new_deps: BTreeSet<Address>,
    /// Dependencies of the existing object (deletes and updates).
    pub old_deps: BTreeSet<Address>,
    /// Nodes that must be done before this one starts.
    pub waits_for: BTreeSet<usize>,
    /// Nodes that wait for this one.
    pub dependents: BTreeSet<usize>,
}

impl Node {
    fn new(address: &Address, part: Part, change: Option<usize>) -> Node {
        Node {
            address: address.clone(),
            part,
            change,
            old_id: None,
            before_destroy: false,
            new_deps: BTreeSet::new(),
            old_deps: BTreeSet::new(),
            waits_for: BTreeSet::new(),
            dependents: BTreeSet::new(),
        }
    }
}

/// Split `plan` into nodes and connect them.
pub(crate) fn build(plan: &Plan, state: &State) -> Vec<Node> {
    let cbd = effective_cbd(plan);
    let recorded_deps = |a: &Address| -> BTreeSet<Address> {
        state
            .resources
            .get(a)
            .map(|r| r.deps.iter().cloned().collect())
            .unwrap_or_default()
    };
    let mut nodes: Vec<Node> = Vec::new();

    for d in &state.deposed {
        let mut n = Node::new(&d.address, Part::DeleteOld, None);
        n.old_id = Some(d.resource.id.clone());
        n.old_deps = d.resource.deps.iter().cloned().collect();
        nodes.push(n);
    }
    // Pending intents the plan deals with: creates resume them, and a destroy's delete of
    // an interrupted create recovers it first (below).
    let created: BTreeSet<&Address> = plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Create | Action::Replace) || c.resume)
        .map(|c| &c.address)
        .collect();
    for a in state.pending.keys() {
        if !created.contains(a) {
            nodes.push(Node::new(a, Part::Recover, None));
        }
    }

    let mut create_node: HashMap<Address, usize> = HashMap::new();
    for (i, c) in plan.changes.iter().enumerate() {
        let new_deps: BTreeSet<Address> = c
            .deps
            .iter()
            .filter(|d| **d != c.address)
            .cloned()
            .collect();
        let mut old_deps = recorded_deps(&c.address);
        if let Some(b) = &c.before {
            old_deps.extend(b.deps.iter().cloned());
        }
        if c.action == Action::Delete {
            // For deletes the plan's deps are the recorded ones.
            old_deps.extend(c.deps.iter().cloned());
        }
        old_deps.remove(&c.address);
        let push = |nodes: &mut Vec<Node>, part: Part| {
            let mut n = Node::new(&c.address, part, Some(i));
            if part.creates() {
                n.new_deps = new_deps.clone();
            }
            if part != Part::Create {
                n.old_deps = old_deps.clone();
            }
            nodes.push(n);
            nodes.len() - 1
        };
        match c.action {
            Action::Create => {
                create_node.insert(c.address.clone(), push(&mut nodes, Part::Create));
            }
            Action::Update => {
                create_node.insert(c.address.clone(), push(&mut nodes, Part::Update));
            }
            Action::Delete if c.resume => {
                // Look the object up (and record it), then delete what was found.
                let rn = push(&mut nodes, Part::Recover);
                let dn = push(&mut nodes, Part::Delete);
                add_edge(&mut nodes, dn, rn);
            }
            Action::Delete => {
                push(&mut nodes, Part::Delete);
            }
            Action::Replace if cbd[i] => {
                let cn = push(&mut nodes, Part::Create);
                nodes[cn].before_destroy = true;
                create_node.insert(c.address.clone(), cn);
                let dn = push(&mut nodes, Part::DeleteOld);
                add_edge(&mut nodes, dn, cn);
            }
            Action::Replace => {
                let dn = push(&mut nodes, Part::Delete);
                let cn = push(&mut nodes, Part::Create);
                create_node.insert(c.address.clone(), cn);
                add_edge(&mut nodes, cn, dn);
            }
        }
    }

    let mut edges = Vec::new();
    for (n, node) in nodes.iter().enumerate() {
        let x = &node.address;
        match node.part {
            Part::Create | Part::Update => {
                for d in &node.new_deps {
                    if let Some(&m) = create_node.get(d) {
                        edges.push((n, m));
                    }
                }
            }
            Part::Delete | Part::DeleteOld => {
                for (m, other) in nodes.iter().enumerate() {
                    if other.address == *x {
                        continue;
                    }
                    let holds_old = other.old_deps.contains(x);
                    let wait = match other.part {
                        // A dependent that goes away goes first; but a service needs its
                        // listener rule only to be created (ECS wants the target group
                        // attached to the load balancer): the rule stops routing to it
                        // first (below).
                        Part::Delete | Part::DeleteOld => {
                            holds_old
                                && !(x.kind == Kind::LbListenerRule
                                    && other.address.kind == Kind::EcsService)
                        }
                        // A dependent that stops referencing this one moves first.
                        Part::Update => {
                            (holds_old && !other.new_deps.contains(x))
                                || (node.part == Part::DeleteOld && other.new_deps.contains(x))
                        }
                        // The old object of a create-before-destroy replace stays until
                        // every dependent uses the new one.
                        Part::Create => node.part == Part::DeleteOld && other.new_deps.contains(x),
                        Part::Recover => false,
                    };
                    if wait {
                        edges.push((n, m));
                    }
                }
            }
            Part::Recover => {}
        }
    }
    for (n, m) in edges {
        add_edge(&mut nodes, n, m);
    }
    // Traffic is handed over, not dropped (a renamed service, a path moved to another
    // service): a listener rule that goes away stays until the rules and services this plan
    // creates are in place, so the requests it matches are served until its successor
    // serves them (a new rule whose priority it holds is created behind it, at a parked
    // priority, and takes the priority over when it is deleted: AWS allows one rule per
    // priority per listener, PriorityInUse); a service that goes away stops after its rules
    // are gone; a rule whose priority moves waits for the rules deleted. An ordering that
    // would close a cycle with the dependencies is left out.
    let of = |kind: Kind, parts: &[Part]| -> Vec<usize> {
        nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.address.kind == kind && parts.contains(&n.part))
            .map(|(i, _)| i)
            .collect()
    };
    let rule_deletes = of(Kind::LbListenerRule, &[Part::Delete, Part::DeleteOld]);
    let successors: Vec<usize> = of(Kind::LbListenerRule, &[Part::Create])
        .into_iter()
        .chain(of(Kind::EcsService, &[Part::Create]))
        .collect();
    let service_deletes = of(Kind::EcsService, &[Part::Delete]);
    let priority_moves: Vec<usize> = of(Kind::LbListenerRule, &[Part::Update])
        .into_iter()
        .filter(|&n| {
            nodes[n]
                .change
                .is_some_and(|c| plan.changes[c].diffs.iter().any(|d| d.name == "priority"))
        })
        .collect();
    let mut handover = Vec::new();
    for &d in &rule_deletes {
        handover.extend(successors.iter().map(|&m| (d, m)));
        handover.extend(
            service_deletes
                .iter()
                .chain(&priority_moves)
                .map(|&n| (n, d)),
        );
    }
    for (n, m) in handover {
        if nodes[n].address != nodes[m].address && !waits_on(&nodes, m, n) {
            add_edge(&mut nodes, n, m);
        }
    }
    nodes
}

/// Whether node `from` waits, directly or through others, for node `to`.
fn waits_on(nodes: &[Node], from: usize, to: usize) -> bool {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from];
    while let Some(n) = todo.pop() {
        if n == to {
            return true;
        }
        if seen.insert(n) {
            todo.extend(nodes[n].waits_for.iter().copied());
        }
    }
    false
}

/// Node `n` waits for node `m`.
fn add_edge(nodes: &mut [Node], n: usize, m: usize) {
    if n != m {
        nodes[n].waits_for.insert(m);
        nodes[m].dependents.insert(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecsctl_plan::Change;
    use ecsctl_state::ResourceState;
    use std::collections::BTreeMap;

    fn a(s: &str) -> Address {
        s.parse().unwrap()
    }

    fn change(addr: &str, action: Action, deps: &[&str]) -> Change {
        Change {
            address: a(addr),
            action,
            create_before_destroy: false,
            before: None,
            after: Some(BTreeMap::new()),
            resume: false,
            diffs: vec![],
            replace_reasons: vec![],
            deps: deps.iter().map(|d| a(d)).collect(),
        }
    }

    fn plan(changes: Vec<Change>) -> Plan {
        Plan {
            format_version: 1,
            stack: "t".into(),
            stack_hash: String::new(),
            lineage: String::new(),
            serial: 0,
            destroy: false,
            data: BTreeMap::new(),
            changes,
        }
    }

    fn find(nodes: &[Node], addr: &str, part: Part) -> usize {
        nodes
            .iter()
            .position(|n| n.address == a(addr) && n.part == part)
            .unwrap_or_else(|| panic!("no {part:?} node for {addr}"))
    }

    fn in_state(state: &mut State, addr: &str, deps: &[&str]) {
        state.resources.insert(
            a(addr),
            ResourceState {
                id: format!("id-{addr}"),
                args: Default::default(),
                outputs: Default::default(),
                deps: deps.iter().map(|d| a(d)).collect(),
            },
        );
    }

    #[test]
    fn creates_wait_for_their_dependencies_creates() {
        let p = plan(vec![
            change("vpc.main", Action::Create, &[]),
            change("subnet.a", Action::Create, &["vpc.main"]),
        ]);
        let nodes = build(&p, &State::new("t"));
        let vpc = find(&nodes, "vpc.main", Part::Create);
        let sub = find(&nodes, "subnet.a", Part::Create);
        assert_eq!(nodes[sub].waits_for, BTreeSet::from([vpc]));
        assert!(nodes[vpc].waits_for.is_empty());
    }

    // A renamed service: the old rule keeps routing until the new rule and service are in
    // place; the old service stops after its rule is gone.
    #[test]
    fn a_renamed_services_old_rule_goes_after_its_successor_is_in_place() {
        let mut s = State::new("t");
        in_state(&mut s, "lb_listener_rule.api", &[]);
        in_state(&mut s, "ecs_service.api", &[]);
        in_state(&mut s, "lb_listener_rule.web", &[]);
        in_state(&mut s, "lb_listener_rule.other", &[]);
        let p = plan(vec![
            change("lb_listener_rule.backend", Action::Create, &[]),
            change(
                "ecs_service.backend",
                Action::Create,
                &["lb_listener_rule.backend"],
            ),
            change("lb_listener_rule.api", Action::Delete, &[]),
            change("ecs_service.api", Action::Delete, &[]),
            moving("lb_listener_rule.web"),
            change("lb_listener_rule.other", Action::Update, &[]),
        ]);
        let nodes = build(&p, &s);
        let new_rule = find(&nodes, "lb_listener_rule.backend", Part::Create);
        let new_svc = find(&nodes, "ecs_service.backend", Part::Create);
        let old_rule = find(&nodes, "lb_listener_rule.api", Part::Delete);
        let old_svc = find(&nodes, "ecs_service.api", Part::Delete);
        let moved = find(&nodes, "lb_listener_rule.web", Part::Update);
        assert!(nodes[new_rule].waits_for.is_empty());
        assert_eq!(
            nodes[old_rule].waits_for,
            BTreeSet::from([new_rule, new_svc])
        );
        assert_eq!(nodes[old_svc].waits_for, BTreeSet::from([old_rule]));
        assert_eq!(nodes[moved].waits_for, BTreeSet::from([old_rule]));
        // A rule update that keeps its priority (new conditions, a new target) waits for
        // nothing: requests it takes over are not left to the default action meanwhile.
        let other = find(&nodes, "lb_listener_rule.other", Part::Update);
        assert!(nodes[other].waits_for.is_empty());
    }

    /// An update of a rule that moves it to another priority.
    fn moving(addr: &str) -> Change {
        let mut c = change(addr, Action::Update, &[]);
        c.diffs = vec![ecsctl_plan::AttrDiff {
            name: "priority".into(),
            before: Some(serde_json::json!(20)),
            after: Some(ecsctl_graph::Value::int(10)),
            forces_replace: false,
        }];
        c
    }

    // A handover that would close a cycle with the dependencies is left out.
    #[test]
    fn a_handover_never_makes_a_cycle() {
        let mut s = State::new("t");
        in_state(&mut s, "lb_target_group.x", &[]);
        in_state(&mut s, "lb_listener_rule.api", &["lb_target_group.x"]);
        // The group is replaced delete-first: its delete waits for the old rule that
        // forwards to it, and the new rule waits for the new group.
        let p = plan(vec![
            change("lb_target_group.x", Action::Replace, &[]),
            change(
                "lb_listener_rule.backend",
                Action::Create,
                &["lb_target_group.x"],
            ),
            change("lb_listener_rule.api", Action::Delete, &[]),
        ]);
        let nodes = build(&p, &s);
        let new_rule = find(&nodes, "lb_listener_rule.backend", Part::Create);
        let old_rule = find(&nodes, "lb_listener_rule.api", Part::Delete);
        assert!(waits_on(&nodes, new_rule, old_rule));
        assert!(!waits_on(&nodes, old_rule, new_rule));
    }

    #[test]
    fn deletes_wait_for_dependents_recorded_in_state() {
        let mut s = State::new("t");
        in_state(&mut s, "vpc.main", &[]);
        in_state(&mut s, "subnet.a", &["vpc.main"]);
        let p = plan(vec![
            change("subnet.a", Action::Delete, &[]),
            change("vpc.main", Action::Delete, &[]),
        ]);
        let nodes = build(&p, &s);
        let vpc = find(&nodes, "vpc.main", Part::Delete);
        let sub = find(&nodes, "subnet.a", Part::Delete);
        assert_eq!(nodes[vpc].waits_for, BTreeSet::from([sub]));
        assert!(nodes[sub].waits_for.is_empty());
    }

    #[test]
    fn a_delete_waits_for_dependents_that_stop_referencing_it() {
        let mut s = State::new("t");
        in_state(&mut s, "lb_target_group.old", &[]);
        in_state(&mut s, "lb_listener.http", &["lb_target_group.old"]);
        let p = plan(vec![
            change("lb_listener.http", Action::Update, &[]),
            change("lb_target_group.old", Action::Delete, &[]),
        ]);
        let nodes = build(&p, &s);
        let tg = find(&nodes, "lb_target_group.old", Part::Delete);
        let l = find(&nodes, "lb_listener.http", Part::Update);
        assert_eq!(nodes[tg].waits_for, BTreeSet::from([l]));
    }

    #[test]
    fn replace_parts_are_ordered_by_create_before_destroy() {
        let mut s = State::new("t");
        in_state(&mut s, "task_definition.web", &[]);
        in_state(&mut s, "ecs_service.web", &["task_definition.web"]);
        let mut td = change("task_definition.web", Action::Replace, &[]);
        td.create_before_destroy = true;
        let p = plan(vec![
            td,
            change("ecs_service.web", Action::Update, &["task_definition.web"]),
        ]);
        let nodes = build(&p, &s);
        let c = find(&nodes, "task_definition.web", Part::Create);
        let d = find(&nodes, "task_definition.web", Part::DeleteOld);
        let svc = find(&nodes, "ecs_service.web", Part::Update);
        assert!(nodes[c].before_destroy);
        assert_eq!(nodes[d].waits_for, BTreeSet::from([c, svc]));
        assert_eq!(nodes[svc].waits_for, BTreeSet::from([c]));

        let p = plan(vec![change("subnet.a", Action::Replace, &[])]);
        let nodes = build(&p, &State::new("t"));
        let c = find(&nodes, "subnet.a", Part::Create);
        let d = find(&nodes, "subnet.a", Part::Delete);
        assert_eq!(nodes[c].waits_for, BTreeSet::from([d]));
        assert!(nodes[d].waits_for.is_empty());
    }

    #[test]
    fn cbd_on_top_of_a_destroy_then_create_replace_becomes_destroy_then_create() {
        let mut s = State::new("t");
        in_state(&mut s, "log_group.web", &[]);
        in_state(&mut s, "task_definition.web", &["log_group.web"]);
        let mut td = change("task_definition.web", Action::Replace, &["log_group.web"]);
        td.create_before_destroy = true;
        let p = plan(vec![change("log_group.web", Action::Replace, &[]), td]);
        assert_eq!(effective_cbd(&p), vec![false, false]);
        let nodes = build(&p, &s);
        // No cycle: td delete, lg delete, lg create, td create.
        let td_d = find(&nodes, "task_definition.web", Part::Delete);
        let lg_d = find(&nodes, "log_group.web", Part::Delete);
        let lg_c = find(&nodes, "log_group.web", Part::Create);
        let td_c = find(&nodes, "task_definition.web", Part::Create);
        assert!(nodes[td_d].waits_for.is_empty());
        assert_eq!(nodes[lg_d].waits_for, BTreeSet::from([td_d]));
        assert_eq!(nodes[lg_c].waits_for, BTreeSet::from([lg_d]));
        assert_eq!(nodes[td_c].waits_for, BTreeSet::from([td_d, lg_c]));
    }

    #[test]
    fn leftovers_of_earlier_runs_come_first() {
        let mut s = State::new("t");
        s.deposed.push(ecsctl_state::Deposed {
            address: a("task_definition.web"),
            resource: ResourceState {
                id: "td-old".into(),
                args: Default::default(),
                outputs: Default::default(),
                deps: vec![],
            },
        });
        s.pending.insert(
            Address::new(Kind::Vpc, "gone"),
            ecsctl_state::Pending {
                token: "t".into(),
                since: "2024-01-01T00:00:00Z".into(),
                args: Default::default(),
                deps: vec![],
            },
        );
        let nodes = build(&plan(vec![]), &s);
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[0].part, Part::DeleteOld);
        assert_eq!(nodes[0].old_id.as_deref(), Some("td-old"));
        assert_eq!(nodes[1].part, Part::Recover);
    }
}
