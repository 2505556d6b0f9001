//! Interruptions: the replacements in a plan that cannot keep serving while they happen,
//! each with why, so the user reads it before saying yes. Pure, like the rest of the plan.

use crate::executable::effective_cbd;
use crate::model::{Action, Plan};
use ecsctl_graph::{Address, Kind};
use serde::Serialize;

/// One replacement that interrupts service, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Interruption {
    pub address: Address,
    pub why: String,
}

/// The replacements of `plan` that interrupt service, in plan order.
pub fn interruptions(plan: &Plan) -> Vec<Interruption> {
    let cbd = effective_cbd(plan);
    plan.changes
        .iter()
        .zip(cbd)
        .filter(|(c, _)| c.action == Action::Replace)
        .filter_map(|(c, creates_first)| {
            let why = why(c.address.kind, creates_first)?;
            Some(Interruption {
                address: c.address.clone(),
                why: why.to_string(),
            })
        })
        .collect()
}

/// Why replacing an object of `kind` interrupts service (`None`: it does not).
fn why(kind: Kind, creates_first: bool) -> Option<&'static str> {
    Some(match (kind, creates_first) {
        (Kind::Lb, _) => {
            "the new load balancer has a new DNS name: requests fail until it is active, \
             and whatever points at the old name outside this stack must be changed"
        }
        (Kind::EcsService, false) => {
            "the old service's tasks stop before the new service's start: requests to it \
             fail until the new tasks pass their health checks"
        }
        (Kind::EcsCluster, _) => {
            "every service moves to the new cluster, which starts without instances: tasks \
             have nowhere to run until the instances join it"
        }
        (Kind::LbListener, false) => {
            "the port refuses connections between the old listener's delete and the new \
             one's create"
        }
        (Kind::HostedZone, _) => {
            "names in the private zone do not resolve until the new zone and its records \
             exist"
        }
        (Kind::NatGateway, false) => {
            "instances in private subnets cannot reach the internet (image pulls, AWS APIs) \
             until the new gateway is available, which takes minutes"
        }
        (Kind::DnsRecord, false) => "the name does not resolve between the delete and the create",
        (Kind::LbListenerRule, false) => {
            "its requests go to the listener's default action between the delete and the create"
        }
        _ => return None,
    })
}
