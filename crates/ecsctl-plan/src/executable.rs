//! Whether a plan can be carried out in one run. Some replacements cannot: the old object
//! must be deleted before its replacement exists (its name is taken, or it depends on
//! something replaced that way), while a resource that is only updated keeps using it and
//! can move to the replacement only once that exists; AWS refuses the delete while the
//! object is in use. Applying such a plan would delete what it can, then retry the refused
//! delete to its deadline: an outage and a stack that cannot move forward. It is refused
//! before anything changes instead.

use crate::{Action, Plan};
use ecsctl_graph::{Address, Kind};
use ecsctl_state::State;
use std::collections::HashMap;

/// Whether each change runs create-before-destroy: the kind's choice, except that a
/// create-before-destroy replace depending on a destroy-then-create replace runs destroy-
/// then-create (the old dependency cannot be deleted while the old dependent lives, and
/// the new dependent cannot be created before the new dependency).
pub fn effective_cbd(plan: &Plan) -> Vec<bool> {
    let by_addr: HashMap<&Address, usize> = plan
        .changes
        .iter()
        .enumerate()
        .map(|(i, c)| (&c.address, i))
        .collect();
    let mut cbd: Vec<bool> = plan
        .changes
        .iter()
        .map(|c| c.action == Action::Replace && c.create_before_destroy)
        .collect();
    loop {
        let mut changed = false;
        for (i, c) in plan.changes.iter().enumerate() {
            if !cbd[i] {
                continue;
            }
            let dtc_dep = c.deps.iter().any(|d| {
                by_addr.get(d).is_some_and(|&j| {
                    j != i && plan.changes[j].action == Action::Replace && !cbd[j]
                })
            });
            if dtc_dep {
                cbd[i] = false;
                changed = true;
            }
        }
        if !changed {
            return cbd;
        }
    }
}

/// Uses AWS refuses to delete the used object under: `(user, used)`.
const BLOCKING: &[(Kind, Kind)] = &[
    (Kind::Lb, Kind::Subnet),
    (Kind::Lb, Kind::SecurityGroup),
    (Kind::LbListener, Kind::LbTargetGroup),
    (Kind::LbListenerRule, Kind::LbTargetGroup),
    (Kind::LbListener, Kind::Lb),
    (Kind::AutoscalingGroup, Kind::Subnet),
    (Kind::LaunchTemplate, Kind::SecurityGroup),
    (Kind::SecurityGroup, Kind::SecurityGroup),
    (Kind::NatGateway, Kind::Subnet),
    (Kind::NatGateway, Kind::Eip),
    (Kind::Subnet, Kind::Vpc),
    (Kind::SecurityGroup, Kind::Vpc),
    (Kind::RouteTable, Kind::Vpc),
    (Kind::InternetGateway, Kind::Vpc),
    (Kind::LbTargetGroup, Kind::Vpc),
    (Kind::IamInstanceProfile, Kind::IamRole),
];

/// A replacement the plan cannot carry out in one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stuck {
    /// Replaced.
    pub replaced: Address,
    /// Why it is replaced.
    pub reasons: Vec<String>,
    /// Only updated, and cannot follow the replacement.
    pub user: Address,
    /// What stops it.
    pub why: String,
}

impl std::fmt::Display for Stuck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is replaced ({}), but {}: {}",
            self.replaced,
            self.reasons.join(", "),
            self.user,
            self.why
        )
    }
}

/// The destroy-then-create replacements of `plan` that an updated resource keeps using.
pub fn stuck(plan: &Plan, state: &State) -> Vec<Stuck> {
    let cbd = effective_cbd(plan);
    let mut out = Vec::new();
    for (i, x) in plan.changes.iter().enumerate() {
        if x.action != Action::Replace || cbd[i] {
            continue;
        }
        for d in &plan.changes {
            if d.action != Action::Update || !BLOCKING.contains(&(d.address.kind, x.address.kind)) {
                continue;
            }
            let holds_old = state
                .resources
                .get(&d.address)
                .is_some_and(|r| r.deps.contains(&x.address));
            if holds_old && d.deps.contains(&x.address) {
                out.push(Stuck {
                    replaced: x.address.clone(),
                    reasons: x.replace_reasons.clone(),
                    user: d.address.clone(),
                    why: format!(
                        "it uses the old one and can move only once the replacement exists, \
                         which is created after the old one is deleted; AWS refuses to \
                         delete {} while it is in use",
                        x.address
                    ),
                });
            }
        }
    }
    // A load balancer takes subnets of its own VPC only (ELBv2 SetSubnets): a new VPC needs
    // a new load balancer, and the old one holds the name (the stack's) until deleted.
    let vpc_replaced = plan
        .changes
        .iter()
        .find(|c| c.address.kind == Kind::Vpc && c.action == Action::Replace);
    if let Some(vpc) = vpc_replaced {
        for lb in plan
            .changes
            .iter()
            .filter(|c| c.address.kind == Kind::Lb && c.action == Action::Update)
        {
            out.push(Stuck {
                replaced: vpc.address.clone(),
                reasons: vpc.replace_reasons.clone(),
                user: lb.address.clone(),
                why: "a load balancer cannot move to another VPC's subnets, and its \
                      replacement cannot be created while it holds the name"
                    .to_string(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Change;
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
            replace_reasons: vec!["port".into()],
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

    fn state(entries: &[(&str, &[&str])]) -> State {
        let mut s = State::new("t");
        for (addr, deps) in entries {
            s.resources.insert(
                a(addr),
                ResourceState {
                    id: format!("id-{addr}"),
                    args: Default::default(),
                    outputs: Default::default(),
                    deps: deps.iter().map(|d| a(d)).collect(),
                },
            );
        }
        s
    }

    #[test]
    fn a_group_replaced_delete_first_under_an_updated_listener_is_stuck() {
        let s = state(&[
            ("lb_target_group.web", &[]),
            ("lb_listener.http", &["lb_target_group.web"]),
        ]);
        let p = plan(vec![
            change("lb_target_group.web", Action::Replace, &[]),
            change("lb_listener.http", Action::Update, &["lb_target_group.web"]),
        ]);
        let found = stuck(&p, &s);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].replaced, a("lb_target_group.web"));
        assert_eq!(found[0].user, a("lb_listener.http"));
        assert!(
            found[0].to_string().contains("refuses to delete"),
            "{}",
            found[0]
        );

        // Created first (a new name), the listener moves, then the old one goes.
        let mut cbd = p.clone();
        cbd.changes[0].create_before_destroy = true;
        assert!(stuck(&cbd, &s).is_empty());
    }

    #[test]
    fn a_use_aws_does_not_block_is_not_stuck() {
        // A DNS alias does not stop a load balancer's deletion.
        let s = state(&[("lb.main", &[]), ("dns_record.web", &["lb.main"])]);
        let p = plan(vec![
            change("lb.main", Action::Replace, &[]),
            change("dns_record.web", Action::Update, &["lb.main"]),
        ]);
        assert!(stuck(&p, &s).is_empty());
    }

    #[test]
    fn a_new_vpc_under_an_updated_load_balancer_is_stuck() {
        let s = state(&[("vpc.main", &[]), ("lb.main", &[])]);
        let mut vpc = change("vpc.main", Action::Replace, &[]);
        vpc.create_before_destroy = true;
        let p = plan(vec![vpc, change("lb.main", Action::Update, &[])]);
        let found = stuck(&p, &s);
        assert_eq!(found.len(), 1);
        assert!(found[0].to_string().contains("another VPC"), "{}", found[0]);
    }
}
