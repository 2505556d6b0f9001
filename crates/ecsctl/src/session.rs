//! What several commands share: reading the stack file, finding and locking the state,
//! building the AWS provider, looking up data (AZs, AMI) and caching it in state, reading
//! the live resources back (refresh, orphans) and making the plan.

use crate::cli::Global;
use anyhow::{anyhow, bail, Context, Result};
use ecsctl_aws::{AwsProvider, CallStats};
use ecsctl_graph::Data;
use ecsctl_provider::{DataQuery, Orphan, Provider};
use ecsctl_stack::{Ami, Azs, Stack};
use ecsctl_state::{Lock, State};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Read and validate the stack file; on problems print every one and fail.
pub fn load_stack(g: &Global) -> Result<Stack> {
    ecsctl_stack::load(&g.file).map_err(|d| {
        eprint!("{}", d.render());
        anyhow!(
            "{} has {} problem{}; fix {} and run the command again",
            g.file.display(),
            d.0.len(),
            if d.0.len() == 1 { "" } else { "s" },
            if d.0.len() == 1 { "it" } else { "them" }
        )
    })
}

pub fn state_path(g: &Global) -> PathBuf {
    g.state
        .clone()
        .unwrap_or_else(|| ecsctl_state::default_path(&g.file))
}

/// The stack, its state (new if there is none) and the lock held while they are used.
pub struct Session {
    pub stack: Stack,
    pub state_path: PathBuf,
    pub state: State,
    _lock: Lock,
}

impl Session {
    pub fn open(g: &Global, operation: &str) -> Result<Session> {
        let stack = load_stack(g)?;
        let state_path = state_path(g);
        let lock = Lock::acquire(&state_path, operation, g.lock_timeout)?;
        let state = ecsctl_state::read_or_new(&state_path, &stack.name)?;
        Ok(Session {
            stack,
            state_path,
            state,
            _lock: lock,
        })
    }

    /// The AWS provider from the standard chain; fails early without a region.
    pub async fn provider(&self) -> Result<Arc<AwsProvider>> {
        let settings = ecsctl_aws::RetrySettings::default();
        let p = AwsProvider::connect(&self.stack.name, self.stack.region.as_deref(), &settings)
            .await
            .map_err(|e| anyhow!("{}", e.message))?;
        if let Some(who) = &p.identity {
            same_place(&self.state, &self.state_path, &who.account, &who.region)?;
        }
        Ok(Arc::new(p))
    }

    /// Look up what the stack needs from the cloud (AZ names, the AMI, region, account)
    /// and remember it in state; without `refresh`, reuse what state remembers.
    pub async fn data(&mut self, provider: &dyn Provider, refresh: bool) -> Result<Data> {
        let cached = cached_data(&self.state);
        if !refresh && cached.region.is_some() {
            return Ok(cached);
        }
        let query = DataQuery {
            az_count: match &self.stack.network.azs {
                Azs::Count(n) => Some(*n),
                Azs::Names(_) => None,
            },
            ami_parameter: match &self.stack.cluster.ami {
                Ami::Ssm(p) => Some(p.clone()),
                Ami::Id(_) => None,
            },
            instance_type: Some(self.stack.cluster.instance_type.clone()),
            ami_id: match &self.stack.cluster.ami {
                Ami::Id(id) => Some(id.clone()),
                Ami::Ssm(_) => None,
            },
            key_name: self.stack.cluster.key_name.clone(),
            zone_names: match &self.stack.network.azs {
                Azs::Names(names) => names.clone(),
                Azs::Count(_) => Vec::new(),
            },
        };
        let data = provider.data(&query).await.context(
            "looking up availability zones, the instance type, the AMI and the key pair",
        )?;
        remember_data(&mut self.state, &data);
        Ok(data)
    }
}

/// A state that holds resources was applied in one account and region: refuse to plan,
/// apply or destroy it with credentials or a region that resolve elsewhere (a wrong
/// profile would otherwise plan to create everything again, or destroy nothing).
pub fn same_place(
    state: &State,
    path: &std::path::Path,
    account: &str,
    region: &str,
) -> Result<()> {
    if state.resources.is_empty() && state.deposed.is_empty() {
        return Ok(());
    }
    let recorded = cached_data(state);
    if let Some(a) = recorded.account_id.as_deref() {
        if !account.is_empty() && a != account {
            bail!(
                "the state {} was applied in AWS account {a}, but the credentials are for \
                 account {account}: use the profile or credentials of account {a} (AWS_PROFILE), \
                 or another state file (--state) for a stack in {account}",
                path.display()
            );
        }
    }
    if let Some(r) = recorded.region.as_deref() {
        if !region.is_empty() && r != region {
            bail!(
                "the state {} was applied in region {r}, but the region is now {region}: set \
                 `region = \"{r}\"` in [stack] or AWS_REGION={r}, or use another state file \
                 (--state) for the stack in {region}",
                path.display()
            );
        }
    }
    Ok(())
}

pub fn cached_data(state: &State) -> Data {
    let map: serde_json::Map<String, serde_json::Value> = state
        .data
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    serde_json::from_value(serde_json::Value::Object(map)).unwrap_or_default()
}

pub fn remember_data(state: &mut State, data: &Data) {
    if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(data) {
        for (k, v) in m {
            if !v.is_null() {
                state.data.insert(k, v);
            }
        }
    }
}

/// What a refresh found and what it cost.
pub struct Refreshed {
    pub drift: ecsctl_plan::drift::Drift,
    /// Resources tagged for the stack that the state does not track, when asked for: found
    /// in the refresh's own reads (its calls and time include the search).
    pub orphans: Option<Vec<Orphan>>,
    pub calls: CallStats,
    pub elapsed: Duration,
}

/// A plan and what was learnt from the cloud while making it.
pub struct Planned {
    pub plan: ecsctl_plan::Plan,
    /// `None` when the plan was made against the state as recorded (`--refresh=false`).
    pub refreshed: Option<Refreshed>,
}

/// The error for a plan that cannot be carried out in one run (nothing was changed).
pub fn refuse_stuck(plan: &ecsctl_plan::Plan, state: &State) -> Result<()> {
    let stuck = ecsctl_plan::stuck(plan, state);
    if stuck.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = stuck.iter().map(|s| format!("  - {s}")).collect();
    bail!(
        "this plan cannot be applied in one run; nothing was changed:\n{}\nhint: such a \
         change (a new network CIDR, for one) needs the stack rebuilt: `ecsctl destroy`, then \
         `ecsctl apply`; or apply it as a new stack (another `name`) and destroy this one \
         once traffic has moved",
        list.join("\n")
    )
}

/// What an orphan search found and what it cost.
pub struct Orphans {
    pub found: Vec<Orphan>,
    pub calls: CallStats,
    pub elapsed: Duration,
}

impl Session {
    /// Read every resource of the state back and make the in-memory state what lives: live
    /// arguments and outputs replace the recorded ones, resources gone are removed. Nothing
    /// is written; a failed read fails the whole refresh.
    /// With `find_orphans`, the same reads also look for resources tagged for the stack
    /// that the state does not track.
    pub async fn refresh(
        &mut self,
        provider: &Arc<AwsProvider>,
        find_orphans: bool,
    ) -> Result<Refreshed> {
        let before = provider.call_stats();
        let started = Instant::now();
        let dynp: Arc<dyn Provider> = provider.clone();
        let (outcome, orphans) = if find_orphans {
            let (outcome, search) =
                ecsctl_engine::refresh_and_find_orphans(&self.state, dynp, &self.stack.name).await;
            if let Some((kind, e)) = search.failed.first() {
                bail!(
                    "listing the {kind} resources tagged for stack {} failed: {e}; run the \
                     command again, or pass --find-orphans=false",
                    self.stack.name
                );
            }
            (outcome, Some(search.orphans))
        } else {
            (ecsctl_engine::refresh(&self.state, dynp).await, None)
        };
        if let Some((kind, e)) = outcome.failed.first() {
            let more = outcome.failed.len() - 1;
            bail!(
                "reading the live {kind} resources failed: {e}{}; check credentials and                  network and run the command again, or pass --refresh=false to use the state                  as recorded",
                if more > 0 {
                    format!(" (and {more} more kind{})", if more == 1 { "" } else { "s" })
                } else {
                    String::new()
                }
            );
        }
        let (state, drift) = ecsctl_plan::drift::refresh_state(&self.state, &outcome.observed());
        self.state = state;
        let refreshed = Refreshed {
            drift,
            orphans,
            calls: provider.call_stats().since(&before),
            elapsed: started.elapsed(),
        };
        tracing::info!(
            "refresh: {} API calls ({}) in {} ms for {} resources",
            refreshed.calls.total(),
            refreshed.calls,
            refreshed.elapsed.as_millis(),
            self.state.resources.len()
        );
        Ok(refreshed)
    }

    /// Resources tagged for this stack that the state does not track.
    pub async fn orphans(&self, provider: &Arc<AwsProvider>) -> Result<Orphans> {
        let before = provider.call_stats();
        let started = Instant::now();
        let dynp: Arc<dyn Provider> = provider.clone();
        let search = ecsctl_engine::find_orphans(&self.state, dynp, &self.stack.name).await;
        if let Some((kind, e)) = search.failed.first() {
            bail!(
                "listing the {kind} resources tagged for stack {} failed: {e}; run the command                  again, or pass --find-orphans=false",
                self.stack.name
            );
        }
        let orphans = Orphans {
            found: search.orphans,
            calls: provider.call_stats().since(&before),
            elapsed: started.elapsed(),
        };
        tracing::info!(
            "orphan discovery: {} API calls ({}) in {} ms",
            orphans.calls.total(),
            orphans.calls,
            orphans.elapsed.as_millis()
        );
        Ok(orphans)
    }

    /// Refresh (unless told not to), data lookups, expansion and the pure plan (or the
    /// destroy plan) against the refreshed state.
    /// With `find_orphans` (and refresh), the refresh also looks for orphans, even when the
    /// state is empty (a lost state file).
    pub async fn make_plan(
        &mut self,
        provider: &Arc<AwsProvider>,
        refresh: bool,
        destroy: bool,
        find_orphans: bool,
    ) -> Result<Planned> {
        let find_orphans = find_orphans && refresh && !destroy;
        let refreshed = if refresh && (find_orphans || !self.state.resources.is_empty()) {
            Some(self.refresh(provider, find_orphans).await?)
        } else {
            None
        };
        let hash = self.stack.source_hash.clone();
        let mut plan = if destroy {
            ecsctl_plan::plan_destroy(&self.state, &hash)
        } else {
            let data = self.data(&**provider, refresh).await?;
            let graph = ecsctl_graph::expand(&self.stack, &data);
            let graph = ecsctl_plan::drift::keep_managed(&graph, &self.state);
            ecsctl_plan::plan(&graph, &self.state, &hash)?
        };
        plan.data = self.state.data.clone();
        Ok(Planned { plan, refreshed })
    }
}
