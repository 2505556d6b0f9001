//! The AWS behaviour layer: rules that make the emulator answer as AWS does where moto
//! does not (validation it skips, ordering it does not enforce, eventual consistency it
//! never shows, side effects it does not have). Each rule names the AWS document or public
//! bug it comes from; [`CATALOG`] lists them all (docs/aws-behaviour.md repeats it with the
//! tests that cover each).
//!
//! A rule looks at a request before it is forwarded (and may refuse it with the error AWS
//! gives), or at a successful answer after (and may change the emulator's state as AWS
//! would, e.g. leave a deleted load balancer's network interfaces behind for a while). It
//! may ask the emulator about its state, as the caller's account and region.

mod agent;
mod ec2;
mod ecs;
mod elb;
mod limits;
pub(crate) mod request;
mod route53;
pub(crate) mod upstream;

use request::Req;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;
use upstream::Upstream;

/// An answer AWS would give instead of carrying out the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            status,
            code,
            message: message.into(),
        }
    }
}

/// One rule of the layer, for the documentation and the stats.
#[derive(Debug, Clone, Copy)]
pub struct RuleDoc {
    /// A short name, used in the stats.
    pub name: &'static str,
    /// The calls it looks at, `service:Action`.
    pub calls: &'static str,
    /// What AWS does.
    pub behaviour: &'static str,
    /// Where that is documented or was reported.
    pub source: &'static str,
}

/// Every rule of the layer.
pub const CATALOG: &[RuleDoc] = &[
    ec2::SG_TEXT,
    ec2::SG_NAME,
    ec2::TAGS,
    ec2::IN_USE_BY_ENI,
    ec2::LAUNCH_TEMPLATE_TAGS,
    elb::NAMES,
    elb::NEEDS_IGW,
    elb::ENIS_LINGER,
    elb::TAGS,
    ecs::SERVICE_LINKED_ROLE,
    ecs::TARGET_GROUP_ASSOCIATION,
    ecs::CLUSTER_WITH_INSTANCES,
    ecs::TAGS,
    route53::TAGS_PER_CALL,
    agent::ARCHITECTURE,
    agent::AGENT,
];

/// The layer's settings.
#[derive(Debug, Clone)]
pub struct RuleSettings {
    /// How long a deleted load balancer's network interfaces stay (AWS: minutes).
    pub eni_linger: Duration,
}

impl Default for RuleSettings {
    fn default() -> Self {
        RuleSettings {
            eni_linger: Duration::from_secs(2),
        }
    }
}

/// What the rules remember between calls, per emulated account.
#[derive(Debug, Default)]
pub(crate) struct Memory {
    /// Accounts whose ECS service-linked role exists (the first CreateCluster made it).
    pub service_linked_role: HashSet<String>,
    /// Target groups given to a listener or rule whose association ECS has not seen yet,
    /// by account.
    pub fresh_target_groups: HashSet<(String, String)>,
    /// Container instances left registered because their agent had no way out when their
    /// instance terminated: `(account, container instance ARN)`.
    pub stranded: Vec<(String, String)>,
    /// The agents running on each Auto Scaling group's instances, by `(account, group)`.
    pub agents: HashMap<(String, String), Vec<agent::Agent>>,
    /// Every refusal so far: `(rule, message)`.
    pub refused: Vec<(&'static str, String)>,
}

/// The rules with their memory.
#[derive(Debug, Default)]
pub struct Rules {
    pub(crate) settings: RuleSettings,
    pub(crate) memory: Mutex<Memory>,
}

impl Rules {
    pub fn new(settings: RuleSettings) -> Self {
        Rules {
            settings,
            memory: Mutex::default(),
        }
    }

    pub(crate) fn mem(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Container instances stranded so far (see [`Memory::stranded`]).
    pub fn stranded(&self) -> Vec<String> {
        self.mem().stranded.iter().map(|(_, a)| a.clone()).collect()
    }

    /// How many calls each rule refused.
    pub fn refusals(&self) -> HashMap<&'static str, u64> {
        let mut counts = HashMap::new();
        for (rule, _) in &self.mem().refused {
            *counts.entry(*rule).or_default() += 1;
        }
        counts
    }

    /// Every refusal so far, `(rule, message)`, oldest first.
    pub fn refused(&self) -> Vec<(&'static str, String)> {
        self.mem().refused.clone()
    }

    /// The answer AWS would give instead of carrying out `req`, if any.
    pub(crate) async fn before(&self, req: &Req<'_>, up: &Upstream) -> Option<Refusal> {
        let found = match req.call.service.as_str() {
            "ec2" => ec2::before(self, req, up).await,
            "elasticloadbalancing" => elb::before(self, req, up).await,
            "ecs" => ecs::before(self, req, up).await,
            "route53" => route53::before(req),
            "autoscaling" => agent::before(req, up).await,
            _ => None,
        };
        let (rule, refusal) = found?;
        self.mem().refused.push((rule, refusal.message.clone()));
        Some(refusal)
    }

    /// What AWS does beside answering `req` successfully with `answer`; and the answer AWS
    /// would give instead, where moto's differs (`None`: moto's stands).
    pub(crate) async fn after(&self, req: &Req<'_>, answer: &str, up: &Upstream) -> Option<String> {
        match req.call.service.as_str() {
            "elasticloadbalancing" => elb::after(self, req, answer, up).await,
            "autoscaling" => agent::after(self, req, up).await,
            "ec2" => return ec2::rewrite(req, answer, up).await,
            _ => {}
        }
        None
    }

    /// Facts a rule needs from the request before it is forwarded, to act after it (the
    /// load balancer's subnets before it is deleted, the group's instances before they
    /// terminate).
    pub(crate) async fn prepare(&self, req: &Req<'_>, up: &Upstream) -> Prepared {
        match req.key().as_str() {
            "elasticloadbalancing:DeleteLoadBalancer" => elb::prepare_delete(req, up).await,
            _ => Prepared::Nothing,
        }
    }

    pub(crate) async fn after_prepared(&self, prepared: Prepared, up: &Upstream) {
        match prepared {
            Prepared::Nothing => {}
            Prepared::LoadBalancer(lb) => elb::linger(self, lb, up.clone()).await,
        }
    }
}

/// What [`Rules::prepare`] found.
pub(crate) enum Prepared {
    Nothing,
    LoadBalancer(elb::Deleted),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_names_its_source_and_calls() {
        let mut names = HashSet::new();
        for r in CATALOG {
            assert!(names.insert(r.name), "duplicate rule {}", r.name);
            assert!(r.calls.contains(':'), "{}", r.name);
            assert!(
                r.source.starts_with("https://") || r.source.contains("API reference"),
                "{} has no source",
                r.name
            );
            assert!(!r.behaviour.is_empty());
        }
    }
}
