//! Call counters by service and action.

use crate::classify::Call;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// What happened to the calls of one action (or service, or all of them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Requests received.
    pub calls: u64,
    /// Answered with a throttling error without being forwarded.
    pub throttled: u64,
    /// Forwarded, carried out, then answered with a 500 as if the reply were lost
    /// (also counted in `forwarded`).
    pub lost: u64,
    /// Forwarded to the upstream (including lost replies).
    pub forwarded: u64,
    /// Forwarding failed (upstream unreachable); answered 502.
    pub upstream_errors: u64,
    /// Refused by an AWS behaviour rule without being forwarded.
    #[serde(default)]
    pub refused: u64,
}

/// The counts of one service, in total and per action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceStats {
    pub total: Counts,
    pub actions: BTreeMap<String, Counts>,
}

/// A snapshot of the proxy's counters, as served at `GET /__proxy/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub total: Counts,
    /// By signing name (`ec2`, `iam`, …; `unsigned` for requests without SigV4).
    pub services: BTreeMap<String, ServiceStats>,
}

impl Stats {
    /// The counts of one action (zero if it was never called).
    pub fn action(&self, service: &str, action: &str) -> Counts {
        self.services
            .get(service)
            .and_then(|s| s.actions.get(action))
            .copied()
            .unwrap_or_default()
    }

    /// The counts of one service (zero if it was never called).
    pub fn service(&self, service: &str) -> Counts {
        self.services
            .get(service)
            .map(|s| s.total)
            .unwrap_or_default()
    }
}

/// What the proxy did with a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Throttled,
    Forwarded,
    Lost,
    UpstreamError,
    Refused,
}

/// The shared counters.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    inner: Mutex<RecorderInner>,
}

#[derive(Debug, Default)]
struct RecorderInner {
    stats: Stats,
    /// How many times each `service:Action` was seen since start; never reset, so fault
    /// decisions do not repeat after a stats reset.
    seen: HashMap<String, u64>,
}

impl Recorder {
    /// Counts a received call and returns its occurrence index for its `service:Action`
    /// (0 for the first).
    pub(crate) fn begin(&self, call: &Call) -> u64 {
        let mut inner = self.lock();
        let seen = inner.seen.entry(call.key()).or_insert(0);
        let n = *seen;
        *seen += 1;
        bump(&mut inner.stats, call, |c| c.calls += 1);
        n
    }

    pub(crate) fn record(&self, call: &Call, outcome: Outcome) {
        let mut inner = self.lock();
        bump(&mut inner.stats, call, |c| match outcome {
            Outcome::Throttled => c.throttled += 1,
            Outcome::Forwarded => c.forwarded += 1,
            Outcome::Lost => {
                c.forwarded += 1;
                c.lost += 1;
            }
            Outcome::UpstreamError => c.upstream_errors += 1,
            Outcome::Refused => c.refused += 1,
        });
    }

    pub(crate) fn snapshot(&self) -> Stats {
        self.lock().stats.clone()
    }

    pub(crate) fn reset(&self) {
        self.lock().stats = Stats::default();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RecorderInner> {
        // A panic while holding the lock cannot leave the counters inconsistent in a way
        // that matters; keep counting.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn bump(stats: &mut Stats, call: &Call, f: impl Fn(&mut Counts)) {
    f(&mut stats.total);
    let service = stats.services.entry(call.service.clone()).or_default();
    f(&mut service.total);
    f(service.actions.entry(call.action.clone()).or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Protocol;

    fn call(service: &str, action: &str) -> Call {
        Call {
            service: service.into(),
            action: action.into(),
            protocol: Protocol::Ec2Query,
            mutating: true,
        }
    }

    #[test]
    fn counts_by_service_and_action() {
        let r = Recorder::default();
        let create = call("ec2", "CreateVpc");
        let role = call("iam", "CreateRole");
        assert_eq!(r.begin(&create), 0);
        r.record(&create, Outcome::Throttled);
        assert_eq!(r.begin(&create), 1);
        r.record(&create, Outcome::Lost);
        assert_eq!(r.begin(&role), 0);
        r.record(&role, Outcome::Forwarded);

        let s = r.snapshot();
        assert_eq!(
            s.action("ec2", "CreateVpc"),
            Counts {
                calls: 2,
                throttled: 1,
                lost: 1,
                forwarded: 1,
                upstream_errors: 0,
                refused: 0,
            }
        );
        assert_eq!(s.service("iam").forwarded, 1);
        assert_eq!(s.total.calls, 3);
        assert_eq!(s.total.forwarded, 2);
        assert_eq!(s.action("ecs", "CreateService"), Counts::default());
    }

    #[test]
    fn reset_clears_counts_but_not_occurrences() {
        let r = Recorder::default();
        let c = call("ec2", "CreateVpc");
        r.begin(&c);
        r.reset();
        assert_eq!(r.snapshot(), Stats::default());
        assert_eq!(r.begin(&c), 1);
    }

    #[test]
    fn stats_round_trip_through_json() {
        let r = Recorder::default();
        let c = call("ec2", "CreateVpc");
        r.begin(&c);
        r.record(&c, Outcome::Forwarded);
        let s = r.snapshot();
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(
            json["services"]["ec2"]["actions"]["CreateVpc"]["forwarded"],
            1
        );
        let back: Stats = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
    }
}
